"""The max-margin student: a batched, certified hard-margin SVM without bias.

Problem (docs/science.md, section 1): minimise ``|w|^2 / 2`` subject to
``y_mu w . x_mu >= 1``.  With ``g_mu = y_mu x_mu`` (rows of ``G``) it is a
least-distance problem, and Lawson and Hanson reduce that to non-negative
least squares:

    u = argmin_{u >= 0} |E u - e|,   E = [G^T; 1^T],   e = (0, ..., 0, 1),

with ``w = G^T u / (1 - sum u)`` and dual multipliers ``a = u / (1 - sum u)``.

:func:`max_margin` runs the Lawson-Hanson active-set method in JAX, for a
whole batch at once (vmap; the same code on CPU or GPU).  It adds the most
violated example, steps back while a coefficient turns negative, and keeps
the inverse of the passive set's Gram matrix ``E_F^T E_F`` by rank-one
updates, each followed by one step of iterative refinement.  A final exact
Cholesky solve on the passive set polishes the answer.

Every answer carries a certificate that needs no trust in the method:
``w / min(margin)`` is primal feasible, the clipped ``a`` is dual feasible,
and the gap between their objectives bounds the distance to the optimum
(strong convexity):  ``|w - w*| / |w| <= sqrt(relative gap)``.  A problem is
``certified`` when its relative gap is at most ``tol``.  Non-separable input
can never be certified: it is flagged (or raises), never returned silently.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple, Union

import jax
import jax.numpy as jnp
import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import nnls

Array = Union[jax.Array, np.ndarray]  # JAX arrays from the batched solver, numpy from the CPU one
DEFAULT_TOL = 1e-10  # relative duality gap; typical agreement with NNLS is 1e-12


class MaxMarginResult(NamedTuple):
    """Solution and certificate, one entry per problem.

    w : the student, scaled so that its smallest margin ``y w . x`` is 1.
    kappa : the geometric margin ``min y w . x / |w| = 1 / |w|``.
    gap : the relative duality gap; ``sqrt(gap)`` bounds ``|w - w*| / |w|``.
    min_margin : the smallest margin of the solver's iterate before scaling (1 at the optimum).
    certified : ``gap <= tol`` (False for non-separable input).
    steps : the number of active-set rounds.
    """

    w: Array
    kappa: Array
    gap: Array
    min_margin: Array
    certified: Array
    steps: Array


def _passive_rows(G, slots):
    """Rows of ``G`` in the passive-set slots (zero rows for empty slots, marked ``P``)."""
    P = G.shape[0]
    occupied = slots < P
    return G[jnp.minimum(slots, P - 1)] * occupied[:, None], occupied


def _refined_coefficients(GF, occupied, inverse):
    """``(E_F^T E_F)^{-1} 1_F`` from the running inverse, plus one refinement step."""
    ones = occupied.astype(GF.dtype)
    z = inverse @ ones
    residual = ones - (GF @ (GF.T @ z) + z.sum()) * occupied
    return z + inverse @ residual


def _residual(GF, u):
    """The NNLS objective ``|E u - e|^2 = |G_F^T u|^2 + (1 - sum u)^2``."""
    v = GF.T @ u
    return v @ v + (1.0 - u.sum()) ** 2


REFRESH_ROUNDS = 32  # rounds between exact refactorisations of the running inverse (its drift is reset)


class RoundState(NamedTuple):
    """One problem's Lawson-Hanson state between rounds (``k = min(P, N + 1)`` passive-set slots)."""

    slots: jax.Array  # [k] the example held in each slot; P marks an empty slot
    passive_rows: jax.Array  # [k, N] the rows of G in those slots (zero rows where empty)
    inverse: jax.Array  # [k, k] the inverse of the passive set's Gram matrix E_F^T E_F (zero where empty)
    u: jax.Array  # [k] the NNLS coefficients of the slots
    in_passive: jax.Array  # [P] whether each example is in the passive set
    retrying: jax.Array  # the last round's example was dropped at once: this round is its one retry
    rounds: jax.Array
    converged: jax.Array


class _Dropping(NamedTuple):
    slots: jax.Array
    passive_rows: jax.Array
    inverse: jax.Array
    u: jax.Array
    z: jax.Array  # the unconstrained solution on the passive set
    drops: jax.Array | int


def _lawson_hanson_rounds(G, margin_tol):
    """``(start, add_step)``: the :class:`RoundState` and one round of Lawson-Hanson NNLS for the least-distance
    form of one problem, adding the most violated example each round.

    The inverse of the passive set's Gram matrix is bordered by one column a
    round (a rank-one update); :func:`_refactored` recomputes it exactly every
    :data:`REFRESH_ROUNDS` rounds, since over hundreds of updates it drifts
    (at P = 2000 it left problems uncertified).
    """
    P, N = G.shape
    k = min(P, N + 1)  # the passive set of an LDP problem never exceeds N + 1
    dt = G.dtype

    def drop_step(s: _Dropping) -> _Dropping:
        """Step back to the boundary and drop the coefficient that hits zero."""
        occupied = s.slots < P
        bad = occupied & (s.z <= 0)
        ratio = jnp.where(bad, s.u / jnp.maximum(s.u - s.z, 1e-300), jnp.inf)
        q = jnp.argmin(ratio)
        u = jnp.where(occupied, s.u + ratio[q] * (s.z - s.u), 0.0).at[q].set(0.0)
        column = s.inverse[:, q]
        inverse = s.inverse - jnp.outer(column, column) / column[q]  # zeroes row and column q
        slots, rows = s.slots.at[q].set(P), s.passive_rows.at[q].set(0.0)
        return _Dropping(slots, rows, inverse, u, _refined_coefficients(rows, slots < P, inverse), s.drops + 1)

    def dropping(s: _Dropping) -> jax.Array:
        return jnp.any((s.slots < P) & (s.z <= 0)) & (s.drops < k)

    def bordered(s: RoundState, j: jax.Array, want: jax.Array) -> _Dropping:
        """The state with example ``j`` bordered into the first empty slot (where ``want``), then the drops.

        Written with [k, 1] and [1, 1] blocks and a 1 x 1 solve, not as vectors and a division: the arithmetic,
        to the last bit, that the committed simulations were certified with (a reordered rounding changes which
        of the hardest P = 2000 problems certify)."""
        occupied = s.slots < P
        slot = jnp.argmin(occupied)  # the first empty slot
        row = G[j][None, :] * want  # [1, N]
        border = (s.passive_rows @ row.T + 1.0) * (occupied[:, None] & want)  # [k, 1]
        corner = jnp.where(want, row @ row.T + 1.0, jnp.eye(1, dtype=dt))  # [1, 1]
        v = s.inverse @ border
        schur = corner - border.T @ v
        d = v - jnp.zeros((k, 1), dt).at[slot, 0].set(want.astype(dt))
        inverse = s.inverse + d @ jnp.linalg.solve(schur, d.T)
        slots = s.slots.at[slot].set(jnp.where(want, j, s.slots[slot]))
        rows = s.passive_rows.at[slot].set(jnp.where(want, G[j], s.passive_rows[slot]))
        z = _refined_coefficients(rows, slots < P, inverse)
        return jax.lax.while_loop(dropping, drop_step, _Dropping(slots, rows, inverse, s.u, z, 0))

    def add_step(s: RoundState) -> RoundState:
        w = s.passive_rows.T @ s.u / (1.0 - s.u.sum())
        margins = jnp.where(s.in_passive, jnp.inf, G @ w)
        j = jnp.argmin(margins)  # the most violated example
        want = (margins[j] < 1.0 - margin_tol) & ((s.slots < P).sum() < k)
        new = bordered(s, j, want)
        u = jnp.where(new.slots < P, new.z, 0.0)
        in_passive = jnp.zeros(P + 1, bool).at[new.slots].set(True)[:P]
        # If the added example is dropped at once, retry it once more: Lawson-Hanson
        # keeps it unless its violation is at round-off level; then stop (the
        # certificate judges the result).
        kept = want & in_passive[j]
        # Lawson-Hanson never increases the residual |E u - e|; a round that does
        # (nearly dependent columns) is undone.
        worse = _residual(new.passive_rows, u) > _residual(s.passive_rows, s.u) * (1 + 1e-12)
        converged = ~want | (s.retrying & (~kept | worse))
        keep_old = lambda new_value, old: jnp.where(converged | worse, old, new_value)
        return RoundState(keep_old(new.slots, s.slots), keep_old(new.passive_rows, s.passive_rows),
                          keep_old(new.inverse, s.inverse), keep_old(u, s.u), keep_old(in_passive, s.in_passive),
                          ~kept | worse, s.rounds + 1, converged)

    start = RoundState(jnp.full(k, P), jnp.zeros((k, N), dt), jnp.zeros((k, k), dt), jnp.zeros(k, dt),
                       jnp.zeros(P, bool), jnp.asarray(False), jnp.asarray(0), jnp.asarray(False))
    return start, add_step


def _refactored(G: jax.Array, state: RoundState) -> RoundState:
    """The round's state with the passive set's inverse Gram matrix recomputed exactly (empty slots stay zero)."""
    occupied = state.slots < G.shape[0]
    both = occupied[:, None] & occupied[None, :]
    rows = state.passive_rows
    gram = jnp.where(both, rows @ rows.T + 1.0, 0.0) + jnp.diag(jnp.where(occupied, 0.0, 1.0))
    return state._replace(inverse=jnp.where(both, jnp.linalg.inv(gram), 0.0))


def _lawson_hanson_batch(G, max_rounds, margin_tol, refresh=REFRESH_ROUNDS):
    """Lawson-Hanson on a batch [B, P, N], one round for every problem at a time, so that the exact
    refactorisation every ``refresh`` rounds is a real branch (under vmap a per-problem branch runs both sides).
    A problem that has converged keeps its state."""
    start = jax.vmap(lambda g: _lawson_hanson_rounds(g, margin_tol)[0])(G)
    step = jax.vmap(lambda g, s: _lawson_hanson_rounds(g, margin_tol)[1](s))

    def body(carry):
        t, state = carry
        new = step(G, state)
        new = jax.lax.cond((t + 1) % refresh == 0, jax.vmap(_refactored), lambda g, s: s, G, new)
        done = state.converged  # converged before this round: nothing changes, not even its round count
        keep = lambda old, value: jnp.where(done.reshape(done.shape + (1,) * (value.ndim - 1)), old, value)
        return t + 1, jax.tree_util.tree_map(keep, state, new)

    def running(carry):
        t, state = carry
        return jnp.any(~state.converged) & (t < max_rounds)

    _, final = jax.lax.while_loop(running, body, (0, start))
    return jax.vmap(_polish)(G, final.slots, final.u), final.slots, final.rounds


def _polish(G, slots, u):
    """Solve ``E_F^T E_F z = 1`` on the final passive set by Cholesky."""
    GF, occupied = _passive_rows(G, slots)
    both = occupied[:, None] & occupied[None, :]
    gram = jnp.where(both, GF @ GF.T + 1.0, 0.0) + jnp.diag(jnp.where(occupied, 0.0, 1.0))
    chol = jnp.linalg.cholesky(gram)
    z = jax.scipy.linalg.cho_solve((chol, True), occupied.astype(G.dtype)[:, None])[:, 0]
    return jnp.where(occupied & (z > 0), z, u)


def _certify(G, GF, a, xp=jnp):
    """Feasible primal point, dual bound and their relative gap, from multipliers ``a >= 0``.

    ``xp`` is the array module: ``jax.numpy`` inside the batched solver, ``numpy`` for the CPU one.
    """
    w = GF.T @ a
    min_margin = xp.min(G @ w)
    separable = min_margin > 0
    w_feasible = w / xp.where(separable, min_margin, 1.0)
    primal = 0.5 * (w_feasible @ w_feasible)
    dual = xp.sum(a) - 0.5 * (w @ w)
    gap = xp.where(separable, (primal - dual) / xp.where(separable, primal, 1.0), xp.inf)
    return w_feasible, gap, min_margin


def _certified_answer(G, u, slots):
    """The student, its relative duality gap and smallest margin, from one problem's NNLS solution ``u``."""
    GF, _ = _passive_rows(G, slots)
    denominator = 1.0 - u.sum()
    a = jnp.maximum(u, 0.0) / jnp.where(denominator > 0, denominator, jnp.inf)
    return _certify(G, GF, a)


@partial(jax.jit, static_argnames=("tol", "max_rounds"))
def solve_batch(G: jax.Array, *, tol: float = DEFAULT_TOL, max_rounds: int | None = None) -> MaxMarginResult:
    """Jittable core: ``G = y[..., None] * X`` of shape [B, P, N] -> :class:`MaxMarginResult`.

    Pure JAX, so it composes with vmap, jit and sharding.  Uncertified
    problems come back with NaN in ``w`` and ``kappa``.
    """
    P, N = G.shape[-2:]
    max_rounds = 4 * (N + 1) + P if max_rounds is None else max_rounds
    u, slots, steps = _lawson_hanson_batch(G, max_rounds, 1e-13)
    w, gap, min_margin = jax.vmap(_certified_answer)(G, u, slots)
    certified = gap <= tol
    w = jnp.where(certified[:, None], w, jnp.nan)
    kappa = 1.0 / jnp.linalg.norm(w, axis=-1)
    return MaxMarginResult(w, kappa, gap, min_margin, certified, steps)


def solve_batch_cpu(G: np.ndarray, *, tol: float = DEFAULT_TOL) -> MaxMarginResult:
    """The CPU core: ``G`` [B, P, N] (numpy float64) -> :class:`MaxMarginResult` (numpy).

    Each problem by :func:`sim.active_set.support_multipliers` (support guess,
    exact solve, full KKT check), where that finds nothing by scipy NNLS; then
    the same duality-gap certificate as :func:`solve_batch`.  ``steps`` is 1
    where NNLS had to step in, else 0.  BLAS runs one thread: these matrices
    are small, and extra BLAS threads only contend (measured 30x slower beside
    a busy core).
    """
    from threadpoolctl import threadpool_limits

    from .active_set import support_multipliers

    B, P, N = G.shape
    w, gap, min_margin = np.full((B, N), np.nan), np.full(B, np.inf), np.zeros(B)
    steps = np.zeros(B, np.int64)
    with threadpool_limits(limits=1, user_api="blas"):
        for b in range(B):
            found = support_multipliers(G[b])
            if found is None:
                found, steps[b] = _nnls_multipliers(G[b]), 1
            if found is not None:
                support, a = found
                w[b], gap[b], min_margin[b] = _certify(G[b], G[b][support], a, xp=np)
    certified = gap <= tol
    w[~certified] = np.nan
    return MaxMarginResult(w, 1.0 / np.linalg.norm(w, axis=-1), gap, min_margin, certified, steps)


def _least_distance_nnls(G):
    """Lawson and Hanson's NNLS for the least-distance form: ``(E, target, u)`` with ``E = [G^T; 1^T]``."""
    P, N = G.shape
    E = np.vstack([G.T, np.ones((1, P))])
    target = np.eye(N + 1)[N]
    u, _ = nnls(E, target, maxiter=50 * P)
    return E, target, u


def _nnls_multipliers(G):
    """``(support, a)`` from scipy NNLS on the least-distance form, or None where it is not separable."""
    _, _, u = _least_distance_nnls(G)
    if u.sum() >= 1.0 - 1e-12:
        return None
    support = np.flatnonzero(u > 0)
    return support, u[support] / (1.0 - u.sum())


SOLVERS = ("jax", "active-set")


def default_solver() -> str:
    """ "active-set" on CPU, where it is fastest (benchmarks/bench_sim.py); "jax" on accelerators."""
    return "active-set" if jax.default_backend() == "cpu" else "jax"


def max_margin(X: ArrayLike, y: ArrayLike, *, tol: float = DEFAULT_TOL, strict: bool = True,
               solver: str | None = None) -> MaxMarginResult:
    """Max-margin (hard-margin SVM, no bias) students for a batch of problems.

    Parameters
    ----------
    X : array [..., P, N]
        Inputs, one row per example.  Computed in float64.
    y : array [..., P]
        Labels, +1 or -1.
    tol : float
        Largest relative duality gap accepted as a solution, in (0, 1).
        ``sqrt(tol)`` bounds ``|w - w*| / |w|`` rigorously; in practice the
        solutions agree with the NNLS reference to about 1e-12.
    strict : bool
        If True (default) raise ``ValueError`` when any problem is not
        certified (for example, non-separable input).  If False, flag it:
        ``certified`` is False and ``w`` is NaN for that problem.
    solver : "jax", "active-set" or None
        The batched JAX Lawson-Hanson (:func:`solve_batch`; fastest on a GPU)
        or the CPU support-set solver (:func:`solve_batch_cpu`; fastest on
        CPU).  Both are certified the same way; None picks by backend.

    Returns
    -------
    MaxMarginResult
        ``w`` [..., N] and ``kappa``, ``gap``, ``min_margin``, ``certified``, ``steps`` [...].

    Example
    -------
    >>> X = np.array([[1.0, 0.0], [0.0, 2.0], [-1.0, -1.0]])
    >>> y = np.array([1.0, 1.0, -1.0])
    >>> res = max_margin(X, y)
    >>> res.w.round(12).tolist(), res.kappa.round(6).item(), bool(res.certified)
    ([1.0, 0.5], 0.894427, True)
    """
    solver = default_solver() if solver is None else solver
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {', '.join(map(repr, SOLVERS))} or None; got {solver!r}")
    X = np.asarray(X, np.float64)
    y = np.asarray(y, np.float64)
    if X.ndim < 2 or y.shape != X.shape[:-1]:
        raise ValueError(f"X must have shape [..., P, N] and y shape [..., P]; got X {X.shape}, y {y.shape}")
    if not np.all(np.abs(y) == 1.0):
        raise ValueError("y must hold labels +1 or -1")
    if not np.all(np.isfinite(X)):
        raise ValueError("X must be finite")
    if not 0.0 < tol < 1.0:
        raise ValueError(f"tol must lie in (0, 1); got {tol}")
    *batch, P, N = X.shape
    if P < 1 or N < 1:
        raise ValueError(f"X needs at least one example and one dimension; got shape {X.shape}")
    G = (X * y[..., None]).reshape(-1, P, N)
    if solver == "jax":
        with jax.enable_x64(True):
            res = solve_batch(jnp.asarray(G), tol=tol)
    else:
        res = solve_batch_cpu(G, tol=tol)
    res = MaxMarginResult(*(np.asarray(a).reshape(tuple(batch) + a.shape[1:]) for a in res))
    if strict and not res.certified.all():
        bad = [tuple(i) for i in np.argwhere(~res.certified)[:5].tolist()]
        where = f" at batch index {', '.join(map(str, bad))}" if bad and bad[0] else ""
        raise ValueError(
            f"max_margin: {np.size(res.certified) - res.certified.sum()} problem(s) not certified{where}: "
            f"not separable, or duality gap above tol={tol}. Pass strict=False to flag them instead."
        )
    return res


def max_margin_reference(X: ArrayLike, y: ArrayLike) -> np.ndarray:
    """The exact reference: one problem, scipy NNLS on the least-distance form.

    Lawson and Hanson: with ``E = [G^T; 1^T]`` and ``u = argmin_{u>=0}
    |E u - e_{N+1}|``, the residual ``r = E u - e_{N+1}`` gives
    ``w = -r[:N] / r[N]``.

    Parameters
    ----------
    X : array [P, N]; y : array [P] of +1 / -1

    Returns
    -------
    w : array [N], scaled to minimum margin 1.

    Raises ``ValueError`` if the problem is not separable.

    Example
    -------
    >>> X = np.array([[1.0, 0.0], [0.0, 2.0], [-1.0, -1.0]])
    >>> max_margin_reference(X, np.array([1.0, 1.0, -1.0])).round(12).tolist()
    [1.0, 0.5]
    """
    X = np.asarray(X, np.float64)
    G = X * np.asarray(y, np.float64)[:, None]
    N = G.shape[1]
    E, target, u = _least_distance_nnls(G)
    r = E @ u - target
    if abs(r[N]) < 1e-12:
        raise ValueError("max_margin_reference: the problem is not separable")
    w = -r[:N] / r[N]
    min_margin = np.min(G @ w)
    if not min_margin > 1 - 1e-6:
        raise ValueError("max_margin_reference: the problem is not separable (or NNLS did not converge)")
    return w / min_margin
