"""The searches behind the frontier and the keep-fraction choices: one minimiser, one root finder, and the
domain each search may enter (private to ``theory``)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

from prunescale.store import checks

from .error import ALPHA_MAX, VERIFIED_EASY_KEPT, VERIFIED_POOL, solve

F_FLOOR = 1e-10  # smallest keep fraction searched
_GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0


def error_at(alpha_prune, keep_fraction, theta, policy):
    return solve(alpha_prune, keep_fraction, theta, policy).error


def search_error(alpha_prune, keep_fraction, theta, policy):
    """Error for the searches: a point where the solver cannot certify a
    maximum (only far from any optimum, e.g. f ~ 1e-6 at theta = 10) counts
    as +inf; the optimum itself is re-solved strictly by the caller."""
    err = solve(alpha_prune, keep_fraction, theta, policy, strict=False).error
    return np.where(np.isnan(err), np.inf, err)


SMALLEST_KEPT = 1e-3  # kept examples per dimension below which no keep fraction is searched


def checked_pool(alpha_tot):
    """A pool size the keep-fraction searches accept: a pool below SMALLEST_KEPT * N has no f to search."""
    at = float(checks.positive("alpha_tot", alpha_tot, upper=ALPHA_MAX))
    if at < SMALLEST_KEPT:
        raise ValueError(f"alpha_tot must lie in [{SMALLEST_KEPT:g}, {ALPHA_MAX:g}], got {at:g}")
    return at


def verified_policies(alpha_tot, theta):
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


def minimise(fun, lo, hi, grid=13, iters=30):
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


def smallest_within(at, th, policy, limit, f_start):
    """Smallest ``f <= f_start`` such that every keep fraction in
    ``[f, f_start]`` has error ``<= limit`` (grid scan, then Brent's method on the crossing)."""
    grid = np.geomspace(max(F_FLOOR, SMALLEST_KEPT / at), f_start, 49)
    ok = search_error(at * grid, grid, th, policy) <= limit
    broken = np.flatnonzero(~ok)
    first = broken[-1] + 1 if broken.size else 0
    if first >= grid.size:
        return float(f_start)
    if first == 0:
        return float(grid[0])
    lo, hi = np.log(grid[first - 1]), np.log(grid[first])

    def excess(log_f):  # an uncertified point (+inf) counts as above the limit, kept finite for Brent's steps
        return min(float(search_error(at * np.exp(log_f), np.exp(log_f), th, policy)), 1.0) - limit

    # Brent's method on the boundary, in log f: about 8 solves where bisection to the same 1e-12 took 40
    root = brentq(excess, lo, hi, xtol=1e-13, rtol=4 * np.finfo(float).eps)
    return float(np.exp(min(root + 2e-13, hi)))  # on the side within the limit
