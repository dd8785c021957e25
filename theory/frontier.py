"""What the theory tells a user: the frontier, the best keep fraction, and
how much of a pool can be pruned without loss.

Vocabulary: ``alpha_tot`` is the pool size per dimension, ``alpha_prune =
f * alpha_tot`` the kept set (what training costs), ``f`` the keep fraction.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from prunescale.store import checks
from .error import ALPHA_MAX, VERIFIED_EASY_KEPT, VERIFIED_POOL, ConvergenceError, solve

F_FLOOR = 1e-10  # smallest keep fraction searched
_GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0


def _error(alpha_prune, keep_fraction, theta, policy):
    return solve(alpha_prune, keep_fraction, theta, policy).error


def _search_error(alpha_prune, keep_fraction, theta, policy):
    """Error for the searches: a point where the solver cannot certify a
    maximum (only far from any optimum, e.g. f ~ 1e-6 at theta = 10) counts
    as +inf; the optimum itself is re-solved strictly by the caller."""
    err = solve(alpha_prune, keep_fraction, theta, policy, strict=False).error
    return np.where(np.isnan(err), np.inf, err)


SMALLEST_KEPT = 1e-3  # kept examples per dimension below which no keep fraction is searched


def _pool(alpha_tot):
    """A pool size the keep-fraction searches accept: a pool below SMALLEST_KEPT * N has no f to search."""
    at = float(checks.positive("alpha_tot", alpha_tot, upper=ALPHA_MAX))
    if at < SMALLEST_KEPT:
        raise ValueError(f"alpha_tot must lie in [{SMALLEST_KEPT:g}, {ALPHA_MAX:g}], got {at:g}")
    return at


def _verified_policies(alpha_tot, theta):
    """The policies a fixed pool can be searched under, within the solver's verified domain (theory.error).

    With ``theta > 0`` the pool must be at most VERIFIED_POOL; with a perfect metric keep-easy is searched
    only for pools up to VERIFIED_EASY_KEPT, where its kept sets stay verified (beyond, no keep-easy subset
    beats the whole pool, which f = 1 covers: tested at the boundary)."""
    if theta > 0 and alpha_tot > VERIFIED_POOL:
        raise ValueError(
            f"alpha_tot must be at most {VERIFIED_POOL:g} for a metric with theta > 0, the domain where the "
            f"solver is verified (docs/theory.md); got alpha_tot={alpha_tot:g}, theta={theta:g}"
        )
    return ("hard",) if theta == 0 and alpha_tot > VERIFIED_EASY_KEPT else ("hard", "easy")


def _minimise(fun, lo, hi, grid=13, iters=30):
    """Vectorized minimisation of ``fun(x, rows)`` on ``[lo, hi]`` (1-D arrays).

    ``fun`` gets points ``x`` for the problems ``rows`` (an index array).  A
    grid scan from ``hi`` down finds the best cell; a problem stops scanning
    once its value has risen well above its best (the far end of the range
    is the slowest to solve and is never the answer there).  Golden-section
    search then refines the cell to ~1e-6 of the grid step.  Returns
    ``(x, fun(x))``.
    """
    lo, hi = np.broadcast_arrays(np.asarray(lo, float), np.asarray(hi, float))
    n = lo.shape[0]
    xs = lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, grid)
    vals = np.full((n, grid), np.inf)
    active = np.ones(n, bool)
    for j in range(grid - 1, -1, -1):
        rows = np.flatnonzero(active)
        if rows.size == 0:
            break
        vals[rows, j] = fun(xs[rows, j], rows)
        best = np.min(vals[rows, j:], axis=-1)
        if j < grid - 1:
            active[rows] = ~((vals[rows, j] > 3.0 * best) & (vals[rows, j] > vals[rows, j + 1]))
    i = np.argmin(vals, axis=-1)
    every = np.arange(n)

    def take(j):
        return xs[every, np.clip(j, 0, grid - 1)]

    a, b = take(i - 1), take(i + 1)
    best_x, best_v = take(i), vals[every, i]
    c = b - _GOLDEN * (b - a)
    d = a + _GOLDEN * (b - a)
    fc, fd = fun(c, every), fun(d, every)
    for _ in range(iters):
        left = fc < fd
        b = np.where(left, d, b)
        a = np.where(left, a, c)
        new_c, new_d = b - _GOLDEN * (b - a), a + _GOLDEN * (b - a)
        x_new = np.where(left, new_c, new_d)
        f_new = fun(x_new, every)
        fd, fc = np.where(left, fc, f_new), np.where(left, f_new, fd)
        c, d = np.where(left, x_new, d), np.where(left, c, x_new)
    x = np.where(fc < fd, c, d)
    v = np.minimum(fc, fd)
    better = best_v < v
    return np.where(better, best_x, x), np.where(better, best_v, v)


@dataclass(frozen=True)
class Frontier:
    """The Pareto frontier: the lowest error for each kept-set size.

    Attributes
    ----------
    alpha_prune : kept examples per dimension.
    keep_fraction : the best keep fraction ``f*`` at each ``alpha_prune``.
    alpha_tot : the pool this draws from, ``alpha_prune / f*``.
    error : the frontier error.
    random_error : the power law of random pruning (no pruning) at ``alpha_prune``.
    pool_limited : True where ``f*`` sits at the smallest fraction the largest
        pool allows: a bigger pool would lower the error further.
    f_min : the floor :func:`keep_fraction_floor` of the metric (1% tolerance;
        computed on first use, 0.0 for a perfect metric).  It bounds how hard
        a given large pool can be pruned without loss; ``f*`` itself keeps
        falling with ``alpha_prune`` because the frontier draws on ever larger
        pools (docs/theory.md, "Imperfect metric").
    """

    alpha_prune: np.ndarray
    keep_fraction: np.ndarray
    alpha_tot: np.ndarray
    error: np.ndarray
    random_error: np.ndarray
    pool_limited: np.ndarray
    theta: float
    policy: str
    max_pool: float | None

    @functools.cached_property
    def f_min(self):
        return keep_fraction_floor(self.theta) if self.policy == "hard" else float("nan")


def pareto_frontier(alpha_prune, theta=0.0, policy="hard", max_pool=None):
    """Lowest test error reachable with ``alpha_prune`` kept examples per dimension.

    For each ``alpha_prune`` the keep fraction is optimised continuously (in
    ``log f``, down to ``alpha_prune / max_pool`` or 1e-10).

    Parameters
    ----------
    alpha_prune : float or 1-D array, in (0, 1e12]; at most 1e6 where ``theta > 0``, and 1e5 for keep-easy
        at ``theta = 0`` (the solver's verified domain: docs/theory.md).
    theta : float
        Metric quality, degrees in [0, 90].
    policy : {"hard", "easy"}
    max_pool : float, optional
        Largest pool ``alpha_tot`` available.  With a perfect metric
        (``theta = 0``, keep hard) the error keeps falling as the pool grows,
        so the frontier is set by the pool: ``max_pool`` is then required.

    Returns
    -------
    Frontier

    Examples
    --------
    >>> fr = pareto_frontier([3.0, 6.0], max_pool=1e4)
    >>> bool(fr.pool_limited.all()), bool((fr.error < fr.random_error).all())
    (True, True)
    """
    th = float(checks.theta(theta))
    policy = checks.policy(policy, ("hard", "easy"))
    a = np.atleast_1d(checks.positive("alpha_prune", alpha_prune, upper=ALPHA_MAX)).ravel()
    if max_pool is None:
        if th == 0 and policy == "hard":
            raise ValueError(
                "max_pool is required for theta=0 with policy='hard': with a perfect metric the "
                "error keeps falling as the pool grows, so the frontier is set by the largest pool"
            )
        f_lo = np.full_like(a, F_FLOOR)
    else:
        pool = float(checks.positive("max_pool", max_pool, upper=ALPHA_MAX / F_FLOOR))
        if np.any(a > pool):
            raise ValueError(f"alpha_prune must not exceed max_pool={pool:g}")
        f_lo = np.maximum(a / pool, F_FLOOR)
    if th > 0 or policy == "easy":  # stay inside the solver's verified domain (theory.error)
        limit, name = (VERIFIED_POOL, "pool alpha_prune / f") if th > 0 else (VERIFIED_EASY_KEPT, "kept set")
        if np.any(a > limit):
            raise ValueError(
                f"alpha_prune must be at most {limit:g} for policy={policy!r} at theta={th:g}: the {name} is "
                f"verified up to {limit:g} (docs/theory.md); got alpha_prune={a.max():g}"
            )
        if th > 0:  # a hair above a / VERIFIED_POOL: exp(log(f)) may round the pool just past the bound
            f_lo = np.maximum(f_lo, a / VERIFIED_POOL * (1.0 + 1e-12))
    lo, hi = np.log(f_lo), np.zeros_like(a)

    def fun(logf, rows):
        return _search_error(a[rows], np.exp(logf), th, policy)

    logf, _ = _minimise(fun, lo, hi)
    f = np.exp(logf)
    err = _error(a, f, th, policy)
    limited = (logf - lo) < 1e-6 * np.maximum(1.0, -lo)
    return Frontier(
        alpha_prune=a,
        keep_fraction=f,
        alpha_tot=a / f,
        error=err,
        random_error=_error(a, 1.0, 0.0, "random"),
        pool_limited=limited & (max_pool is not None),
        theta=th,
        policy=policy,
        max_pool=None if max_pool is None else float(max_pool),
    )


def _smallest_within(at, th, policy, limit, f_start):
    """Smallest ``f <= f_start`` such that every keep fraction in
    ``[f, f_start]`` has error ``<= limit`` (grid scan, then Brent's method on the crossing)."""
    grid = np.geomspace(max(F_FLOOR, SMALLEST_KEPT / at), f_start, 49)
    ok = _search_error(at * grid, grid, th, policy) <= limit
    broken = np.flatnonzero(~ok)
    first = broken[-1] + 1 if broken.size else 0
    if first >= grid.size:
        return float(f_start)
    if first == 0:
        return float(grid[0])
    lo, hi = np.log(grid[first - 1]), np.log(grid[first])

    def excess(log_f):  # an uncertified point (+inf) counts as above the limit, kept finite for Brent's steps
        return min(float(_search_error(at * np.exp(log_f), np.exp(log_f), th, policy)), 1.0) - limit

    # Brent's method on the boundary, in log f: about 8 solves where bisection to the same 1e-12 took 40
    root = brentq(excess, lo, hi, xtol=1e-13, rtol=4 * np.finfo(float).eps)
    return float(np.exp(min(root + 2e-13, hi)))  # on the side within the limit


@dataclass(frozen=True)
class Choice:
    """The best way to prune a fixed pool.

    Attributes
    ----------
    alpha_tot, theta : the inputs.
    policy : "hard" or "easy".
    keep_fraction : the smallest f whose error is within ``rtol`` of the
        lowest error any f and policy reach (the minimum is often flat).
    best_range : ``(f_low, f_high)``, the keep fractions around the minimum
        that are within ``rtol`` of it.
    error : the error at ``keep_fraction``.
    min_error : the lowest error over f and policy.
    full_error : the error of training on the whole pool (f = 1).
    """

    alpha_tot: float
    theta: float
    policy: str
    keep_fraction: float
    best_range: tuple
    error: float
    min_error: float
    full_error: float


def optimal_keep_fraction(alpha_tot, theta=0.0, rtol=1e-3):
    """Best policy and keep fraction for a fixed pool of ``alpha_tot * N`` examples.

    The error is minimised over ``f`` and the policy.  The minimum is often
    flat (with a perfect metric keep-hard matches the whole pool far below
    f = 1), so the answer is the smallest f within ``rtol`` of the minimum:
    the cheapest training set that is as good as the best.  With little data
    keep-easy beats the whole pool (``min_error < full_error``).

    Parameters
    ----------
    alpha_tot : float, in (0, 1e12]; at most 1e6 where ``theta > 0`` (the solver's verified domain).
    theta : float, degrees in [0, 90].
    rtol : float, in (0, 1)
        Relative error difference that counts as a tie (default 0.1%).  Without
        it, tiny real gains (keep-easy at f = 0.997 of a pool of 500 is better
        by 3e-6) would decide the answer.

    Examples
    --------
    >>> ch = optimal_keep_fraction(5.0)
    >>> ch.policy, bool(ch.min_error < ch.full_error)
    ('easy', True)
    """
    at = _pool(alpha_tot)
    th = float(checks.theta(theta))
    tol = float(checks.fraction_in("rtol", rtol, 0.0, 1.0))
    lo = np.log(max(F_FLOOR, SMALLEST_KEPT / at))
    best = {}
    for policy in _verified_policies(at, th):

        def fun(logf, rows, policy=policy):
            f = np.exp(logf)
            return _search_error(at * f, f, th, policy)

        logf, _ = _minimise(fun, np.array([lo]), np.array([0.0]))
        f = float(np.exp(logf[0]))
        best[policy] = (f, float(_error(at * f, f, th, policy)))
    full = float(_error(at, 1.0, 0.0, "random"))
    min_error = min(full, *(e for _, e in best.values()))
    limit = min_error * (1.0 + tol)
    choices = {}
    for policy, (f, e) in best.items():
        f_top = 1.0 if full <= limit else f
        if min(e, full) <= limit:
            choices[policy] = _smallest_within(at, th, policy, limit, f_top)
    policy = min(choices, key=choices.get)
    f = choices[policy]
    f_high = 1.0 if full <= limit else best[policy][0]
    return Choice(
        alpha_tot=at,
        theta=th,
        policy=policy,
        keep_fraction=f,
        best_range=(f, f_high),
        error=float(_error(at * f, f, th, policy)),
        min_error=min_error,
        full_error=full,
    )


@dataclass(frozen=True)
class Lossless:
    """How much of a pool can be pruned without hurting the model.

    Attributes
    ----------
    alpha_tot, theta, tolerance : the inputs.
    policy : the policy that allows the smallest lossless keep fraction.
    keep_fraction : the smallest f whose error is within ``tolerance``
        (relative) of training on the whole pool.
    lossless_range : ``(f_low, 1.0)``: every f in it is lossless.
    error : the error at ``keep_fraction``.
    full_error : the error of the whole pool.
    by_policy : {policy: smallest lossless f}.
    """

    alpha_tot: float
    theta: float
    tolerance: float
    policy: str
    keep_fraction: float
    lossless_range: tuple
    error: float
    full_error: float
    by_policy: dict


def lossless_keep_fraction(alpha_tot, theta=0.0, tolerance=0.01):
    """Smallest keep fraction whose error is within ``tolerance`` of the full pool.

    This answers "how much of my data can I prune without hurting the
    model?".  Every f between the answer and 1 is lossless too.

    Parameters
    ----------
    alpha_tot : float
        Pool size per dimension, in (0, 1e12]; at most 1e6 where ``theta > 0`` (the solver's verified domain).
    theta : float
        Metric quality in degrees, [0, 90].
    tolerance : float
        Allowed relative increase of the error, in (0, 1).

    Returns
    -------
    Lossless

    Examples
    --------
    >>> ll = lossless_keep_fraction(1000.0)
    >>> ll.policy, bool(ll.keep_fraction < 0.01)
    ('hard', True)
    """
    at = _pool(alpha_tot)
    th = float(checks.theta(theta))
    tol = float(checks.fraction_in("tolerance", tolerance, 0.0, 1.0))
    full = float(_error(at, 1.0, 0.0, "random"))
    limit = (1.0 + tol) * full
    by = {policy: _smallest_within(at, th, policy, limit, 1.0) for policy in _verified_policies(at, th)}
    policy = min(by, key=by.get)
    f = by[policy]
    return Lossless(
        alpha_tot=at,
        theta=th,
        tolerance=tol,
        policy=policy,
        keep_fraction=f,
        lossless_range=(f, 1.0),
        error=float(_error(at * f, f, th, policy)),
        full_error=full,
        by_policy=by,
    )


def keep_fraction_floor(theta, tolerance=0.01):
    """The floor ``f_min(theta)``: pruning a large pool harder than this loses.

    With a metric at angle ``theta > 0``, keep-hard is lossless (error within
    ``tolerance`` of the whole pool) down to a keep fraction that stops
    falling as the pool grows: the support vectors of a large pool lie near
    the teacher's boundary, where the probe's margin still spreads as
    ``sin(theta)``, and the kept band must cover that spread.  This is the
    large-pool limit of :func:`lossless_keep_fraction`, found by growing
    ``alpha_tot`` tenfold from 1e3 until the answer changes by less than
    1e-4 (relative).  With a perfect metric (``theta = 0``) there is no
    floor: the lossless fraction falls as ``4 / alpha_tot``, and 0.0 is
    returned.

    Examples
    --------
    >>> f10 = keep_fraction_floor(10.0)
    >>> bool(0.3 < f10 < keep_fraction_floor(20.0) < 1.0)
    True
    """
    th = float(checks.theta(theta))
    tol = float(checks.fraction_in("tolerance", tolerance, 0.0, 1.0))
    if th == 0:
        return 0.0
    previous = None
    for at in (1e3, 1e4, 1e5, 1e6):
        limit = (1.0 + tol) * float(_error(at, 1.0, 0.0, "random"))
        f = _smallest_within(at, th, "hard", limit, 1.0)
        if previous is not None and abs(f / previous - 1.0) < 1e-4:
            return f
        previous = f
    raise ConvergenceError(f"the lossless keep fraction at theta={th:g} did not settle by alpha_tot=1e6")


def kept_size_for_error(target_error, theta=0.0, policy="hard", max_pool=None):
    """Budget view: the smallest kept set ``alpha_prune`` whose frontier error
    reaches ``target_error`` (given the largest pool ``max_pool``).

    Returns ``(alpha_prune, keep_fraction)``; raises ValueError if the target
    cannot be reached for alpha_prune <= ``max_pool`` (or 1e4 without a pool).

    Examples
    --------
    A perfect metric and a pool of 1e4 N need only about 2N kept examples
    (just above capacity) for an error of 1e-3 (about 8 s; the same call is
    run by tests/theory/test_theory.py and docs/tutorial.md, so not here):

    >>> a, f = kept_size_for_error(1e-3, max_pool=1e4)  # doctest: +SKIP
    >>> bool(2.0 < a < 2.1)  # doctest: +SKIP
    True
    """
    target = float(checks.fraction_in("target_error", target_error, 0.0, 0.5))
    if max_pool is not None:
        max_pool = float(checks.positive("max_pool", max_pool, upper=ALPHA_MAX / F_FLOOR))
    upper = max_pool if max_pool is not None else 1e4

    def frontier_error(a):
        fr = pareto_frontier([a], theta, policy, max_pool)
        return float(fr.error[0]), float(fr.keep_fraction[0])

    if frontier_error(upper)[0] > target:
        raise ValueError(
            f"target_error={target:g} is not reachable with alpha_prune <= {upper:g} "
            f"(theta={theta}, policy={policy}, max_pool={max_pool})"
        )
    # The frontier error falls with the kept size: Brent's method on log(error / target) over log(alpha_prune)
    # finds the crossing to 1e-10 in about ten frontier evaluations (bisection needed thirty).
    log_excess = lambda log_a: np.log(frontier_error(min(np.exp(log_a), upper))[0] / target)
    root = brentq(log_excess, np.log(0.01), np.log(upper), xtol=1e-10, rtol=1e-14)
    a = float(min(np.exp(root + 1e-10), upper))  # on the reached side of the crossing
    return a, frontier_error(a)[1]


TIE_RTOL = 1e-9  # above the solver's round-off (about 1e-11 relative), below real gaps (1e-8 at theta = 89.99)


def best_policy(alpha_tot, keep_fraction, theta=0.0):
    """The easy/hard crossover: which policy gives the lower error at each
    ``(alpha_tot, keep_fraction)``.

    Returns ``(policy, hard_error, easy_error)`` with ``policy`` an array of
    "hard", "easy" or "tie".  A tie is a relative gap below :data:`TIE_RTOL`:
    keeping everything (f = 1), or a metric blind to the teacher
    (theta = 90), where both policies give the same error and only round-off
    would pick one.

    Examples
    --------
    >>> p, _, _ = best_policy([2.0, 200.0], 0.3)
    >>> p.tolist()
    ['easy', 'hard']
    >>> best_policy(20.0, [0.3, 1.0], theta=[90.0, 0.0])[0].tolist()
    ['tie', 'tie']
    """
    at = checks.positive("alpha_tot", alpha_tot, upper=ALPHA_MAX)
    f = checks.keep_fraction(keep_fraction)
    hard = solve(at * f, f, theta, "hard").error
    easy = solve(at * f, f, theta, "easy").error
    tie = np.abs(easy - hard) <= TIE_RTOL * np.maximum(easy, hard)
    return np.where(tie, "tie", np.where(easy < hard, "easy", "hard")), hard, easy
