"""The max-margin student on CPU: guess the support set, solve on it exactly, check every KKT condition.

The max-margin problem ``min |w|^2 / 2  s.t.  G w >= 1`` (rows ``g_mu = y_mu x_mu``)
is solved once its support set ``S`` (the examples with margin exactly 1) is
known: ``w = G_S^T a`` with ``G_S G_S^T a = 1``.  So the work is to find ``S``:

* ``P <= N``: a primal-dual active-set method on the dual, from the whole set.
  ``K = G G^T`` is positive definite there, and it converges in a handful of
  Cholesky solves.
* ``P > N``: a Mehrotra interior-point method in float32, used only to *guess*
  ``S``.  After two iterations it keeps only the constraints with the smallest
  ``s / lambda`` (4N, then 2.5N, then 1.5N of them); from the fifth it hands
  ``{lambda > s}`` to the exact float64 solve.  The same active-set method
  then repairs a wrong guess: a non-positive ``a`` leaves ``S``, a violated
  margin enters it.

An answer is accepted only when every ``a > 0`` and every one of the ``P``
margins is at least ``1 - MARGIN_TOL``: the full KKT conditions.  Anything else
(a cycle, a singular support, a non-separable problem) falls back to the
exact NNLS reference, so nothing unchecked is returned.  The caller applies
the duality-gap certificate of :mod:`sim.solver` on top.

Measured in ``benchmarks/bench_sim.py`` against looped scipy NNLS.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
from scipy.linalg import LinAlgError, cho_factor, cho_solve

Multipliers = tuple[np.ndarray, np.ndarray]  # (support, a): the support rows and their positive multipliers

MARGIN_TOL = 1e-10  # a margin of 1 - 1e-10 counts as satisfied (float64 round-off on P <= 2000 sums)
REPAIR_ROUNDS = 30  # active-set rounds before giving up on a guess
SHRINK = {2: 4.0, 3: 2.5, 4: 1.5}  # interior-point iteration -> constraints kept, in units of N
FIRST_GUESS = 5  # interior-point iteration from which its support is tried
MAX_INTERIOR_ITERATIONS = 25
LARGEST_ITERATE = 1e15
CONVERGED_MU = 1e-12  # complementarity at which the guesses stop changing


def solve_on_support(G: np.ndarray, support: np.ndarray, rounds: int = REPAIR_ROUNDS,
                     gram: np.ndarray | None = None) -> Multipliers | None:
    """Exact multipliers from a guessed support, repaired by active-set steps.

    Primal-dual active-set rounds first (:func:`primal_dual_active_set`), then,
    where they do not settle, Lawson-Hanson steps from their last positive set.

    Parameters
    ----------
    G : array [P, N], float64; support : integer array of row indices

    Returns
    -------
    (support, a) with ``a > 0`` and ``min(G @ G[support].T @ a) >= 1 - MARGIN_TOL``,
    or None where neither settles (the caller falls back to NNLS).
    """
    found, last = primal_dual_active_set(G, support, rounds, gram)
    return found if found is not None else _lawson_hanson_from(G, last, 2 * G.shape[1] + rounds)


def primal_dual_active_set(G: np.ndarray, support: np.ndarray, rounds: int = REPAIR_ROUNDS,
                           gram: np.ndarray | None = None) -> tuple[Multipliers | None, np.ndarray]:
    """Primal-dual active-set rounds: every ``a <= 0`` leaves the support, every violated margin enters.

    Fast (many changes a round) while the support holds at most N examples,
    where ``G_S G_S^T`` is positive definite.  Returns ``((support, a), support)``
    when the KKT check passes, else ``(None, last positive support)``.  ``gram``,
    the whole ``G G^T`` where it is cheap (P <= N), saves forming it each round.
    """
    P, N = G.shape
    support = np.unique(np.asarray(support, dtype=np.intp))
    for _ in range(rounds):
        a = _support_solve(G, support, gram) if 0 < support.size <= N else None
        if a is None:
            break
        violated = _violated(G, support, a, gram)
        positive = a > 0
        if positive.all() and violated.size == 0:
            return (support, a), support
        if positive.sum() + violated.size > N:  # would overfill the support
            return None, support[positive]
        support = np.union1d(support[positive], violated)
    return None, support


def _support_solve(G, support, gram=None):
    """``a`` with ``G_S G_S^T a = 1`` by Cholesky, or None where ``G_S G_S^T`` is singular."""
    K = G[support] @ G[support].T if gram is None else gram[np.ix_(support, support)]
    try:
        return cho_solve(cho_factor(K), np.ones(support.size))
    except LinAlgError:
        return None


def _violated(G, support, a, gram=None):
    """Rows outside the support whose margin under ``w = G_S^T a`` is below ``1 - MARGIN_TOL``, worst first."""
    margins = G @ (G[support].T @ a) if gram is None else gram[:, support] @ a
    margins[support] = 1.0  # exactly 1 on the support by construction
    violated = np.flatnonzero(margins < 1.0 - MARGIN_TOL)
    return violated[np.argsort(margins[violated])]


def _least_squares_on(G, passive):
    """``u`` with ``(G_F G_F^T + 1 1^T) u = 1``: the unconstrained least-distance step on the passive set."""
    GF = G[passive]
    return cho_solve(cho_factor(GF @ GF.T + 1.0), np.ones(passive.size))


def _lawson_hanson_from(G, passive, rounds):
    """Lawson-Hanson NNLS on the least-distance form (as :mod:`sim.solver`), started from a passive set.

    ``u`` solves ``(G_F G_F^T + 1 1^T) u = 1`` on the passive set ``F``; the
    multipliers are ``a = u / (1 - sum u)``.  The start shrinks ``F`` until that
    solution is positive, which gives the method's invariant (``u > 0`` on ``F``).
    """
    passive = np.asarray(passive, dtype=np.intp)
    try:
        while passive.size:
            u = _least_squares_on(G, passive)
            if (u > 0).all():
                break
            passive = passive[u > 0]
    except LinAlgError:  # a dependent starting set (more than N + 1 rows, say): start from nothing
        passive = passive[:0]
    if passive.size == 0:
        u = np.zeros(0)
    try:
        for _ in range(rounds):
            if u.sum() >= 1.0:
                return None  # not separable
            a = u / (1.0 - u.sum())
            violated = _violated(G, passive, a) if passive.size else np.arange(G.shape[0])
            if violated.size == 0:
                return passive, a
            passive, u = np.append(passive, violated[0]), np.append(u, 0.0)
            z = _least_squares_on(G, passive)
            if z[-1] <= 0:
                return None  # the entering example cannot enter: degenerate to round-off (NNLS takes over)
            while not (z > 0).all():  # step back to where the first coefficient reaches zero, drop it
                bad = z <= 0
                step = np.min(u[bad] / (u[bad] - z[bad]))
                u = u + step * (z - u)
                keep = ~bad | (u > 0)
                keep[np.argmin(np.where(bad, u, np.inf))] = False
                passive, u = passive[keep], u[keep]
                z = _least_squares_on(G, passive)
            u = z
    except LinAlgError:
        return None
    return None


def _max_step(v, dv):
    """Largest step in (0, 1] keeping ``v + step dv >= 0``."""
    shrinking = dv < 0
    return min(1.0, float(np.min(-v[shrinking] / dv[shrinking]))) if shrinking.any() else 1.0


def interior_point_supports(G: np.ndarray, iterations: int = MAX_INTERIOR_ITERATIONS) -> Iterator[np.ndarray]:
    """Support-set guesses from a Mehrotra predictor-corrector on ``min |w|^2/2, G w - s = 1, s >= 0``.

    In float32 (float64 once float32 runs out of digits), on a shrinking set of
    constraints: after two iterations only those with the smallest ``s / lambda``
    are kept, and a dropped constraint that the iterate violates is put back.
    Yields one guess, ``{lambda > s}``, per iteration from :data:`FIRST_GUESS` on.
    The guesses need not be right: :func:`solve_on_support` checks and repairs them.
    """
    P, N = G.shape
    everything = G.astype(np.float32)
    rows = np.arange(P)
    w, s, lam = np.zeros(N, np.float32), np.ones(P, np.float32), np.ones(P, np.float32)
    for it in range(iterations):
        if it in SHRINK and SHRINK[it] * N < rows.size:
            # Constraints with large s / lambda are far from active: keep only the likeliest.
            keep = np.argpartition(s / lam, int(SHRINK[it] * N))[: int(SHRINK[it] * N)]
            rows, s, lam = rows[keep], s[keep], lam[keep]
        mu = float(s @ lam) / rows.size
        if it >= FIRST_GUESS:
            dropped = np.ones(P, bool)
            dropped[rows] = False
            back = np.flatnonzero(dropped & (everything @ w < 1.0))
            if back.size:  # a violated constraint returns, on the central path
                centre = np.full(back.size, np.sqrt(mu), w.dtype)
                rows, s, lam = np.append(rows, back), np.append(s, centre), np.append(lam, centre)
            yield rows[lam > s]
            if mu < CONVERGED_MU:
                return  # converged: no sharper guess will come
        step = _mehrotra_step(everything[rows], w, s, lam, mu)
        if step is None and everything.dtype == np.float32:
            # float32 has run out of digits for the spread of lambda / s: finish in float64.
            everything, w, s, lam = G, w.astype(np.float64), s.astype(np.float64), lam.astype(np.float64)
            step = _mehrotra_step(everything[rows], w, s, lam, mu)
        if step is None:
            return
        w, s, lam = step


def _mehrotra_step(Gk, w, s, lam, mu):
    """One predictor-corrector step of the interior-point method, or None where it breaks down.

    It breaks down where its normal matrix is singular or the iterates leave the
    dtype's range (as on a non-separable problem): the caller stops guessing.
    """
    with np.errstate(all="ignore"):
        try:
            return _predictor_corrector(Gk, w, s, lam, mu)
        except (LinAlgError, ValueError):  # scipy's finiteness checks raise ValueError
            return None


def _predictor_corrector(Gk, w, s, lam, mu):
    r_dual = w - Gk.T @ lam
    r_primal = Gk @ w - s - 1.0
    D = lam / s
    factor = cho_factor(np.eye(w.size, dtype=w.dtype) + Gk.T @ (D[:, None] * Gk))

    def direction(r_comp):
        dw = cho_solve(factor, -r_dual - Gk.T @ (D * r_primal + r_comp / s))
        dlam = -D * (r_primal + Gk @ dw) - r_comp / s
        return dw, -(r_comp + s * dlam) / lam, dlam

    dw, ds, dlam = direction(s * lam)  # predictor (affine scaling)
    step = min(_max_step(s, ds), _max_step(lam, dlam))
    sigma = (float((s + step * ds) @ (lam + step * dlam)) / s.size / mu) ** 3
    dw, ds, dlam = direction(s * lam + ds * dlam - sigma * mu)  # corrector
    step = 0.99 * min(_max_step(s, ds), _max_step(lam, dlam))
    new = w + step * dw, s + step * ds, lam + step * dlam
    # Iterates this large mean a non-separable problem (lambda diverges); they would overflow float32.
    return new if all(np.isfinite(v).all() and np.abs(v).max(initial=0.0) < LARGEST_ITERATE for v in new) else None


def support_multipliers(G: np.ndarray) -> Multipliers | None:
    """``(support, a)`` of one problem ``G`` [P, N] (float64), or None where nothing passes the KKT check."""
    P, N = G.shape
    if P <= N:
        return solve_on_support(G, np.arange(P), gram=G @ G.T)
    last = None
    for guess in interior_point_supports(G):
        found, last = primal_dual_active_set(G, guess)
        if found is not None:
            return found
    return None if last is None else solve_on_support(G, last)
