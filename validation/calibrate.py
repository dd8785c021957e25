"""Calibrate the replica theory to real pruning curves.

The perceptron's error is a function of examples per dimension.  A real
network's test error is mapped onto it with two numbers fitted on the
*random* curve: an effective dimension ``d`` (so ``alpha = n / d``) and a
scale ``A``:

    error_random(n) = A * eps(alpha = n / d, f = 1).

Where the random curve is a clean power law only the product ``A * d`` is
sharp (``eps ~ 0.5 d / n``); ``d`` itself comes from the curve's bend at
small ``n``.

Each pruning metric then gets one more number, its effective angle
``theta``, fitted on its pruned curve with ``A`` and ``d`` held fixed:

    error_pruned(n = f * pool) = A * eps(alpha_prune = n / d, f, theta, policy).

Confidence intervals come from the profile of the weighted chi-square
(``chi2 <= min + 1`` for 68%, ``+ 3.84`` for 95%): bracketed on a grid of
theta, then solved.  Where the perceptron fits worse than the seeds' errors
allow (``min chi2`` above its degrees of freedom, the usual case with two
seeds), both thresholds are scaled by ``min chi2 / dof`` (the Birge ratio,
as particle physics averages do), so a poor fit gets a wide interval rather
than a falsely sharp one.  They hold ``d`` and ``A`` fixed, so they leave
out the scale's own uncertainty.  With the calibrated theory,
:func:`theory_keep_fraction` gives the theory's best keep fraction for the
pool, to compare with the best one the runs show.

A metric's keep-easy and keep-hard curves can also be fitted with one
shared angle (the model has one theta per metric: ``policy`` may be given
per point).  With it, :func:`theory_crossover` says which policy the theory
expects to win at each keep fraction of the pool, and at which pool sizes
the winner changes, to compare with the winner the runs show.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import brentq, minimize

from prunescale import theory

THETA_GRID = np.linspace(0.0, 90.0, 91)


class Scale(NamedTuple):
    d: float  # effective dimension: alpha = n / d
    A: float  # error scale
    chi2: float

    def alpha(self, n: ArrayLike) -> np.ndarray:
        """Examples per dimension of ``n`` examples."""
        return np.asarray(n, float) / self.d


class Warp(NamedTuple):
    """The size axis warped through the observed random curve, ``error_random(n) = amplitude * n ** exponent``:
    ``alpha(n)`` is where the perceptron's random-pruning error equals it, so random pruning fits by
    construction (``A = 1``) whatever the network's exponent, and only the angle is left to fit.

    One scale ``alpha = n / d`` cannot fit a ResNet: its random curve falls as ``n ** -0.41`` where the
    perceptron's falls as ``alpha ** -1``."""

    amplitude: float
    exponent: float
    cov: tuple  # covariance of (log amplitude, exponent), scaled by the fit's chi2 / dof where that is above 1
    chi2: float
    points: int
    A: float = 1.0

    def random_error(self, n: ArrayLike) -> np.ndarray:
        return self.amplitude * np.asarray(n, float) ** self.exponent

    def alpha(self, n: ArrayLike) -> np.ndarray:
        return _alpha_at_random_error(self.random_error(n))


_ALPHA_TABLE = np.geomspace(1e-4, 1e5, 4000)


def _alpha_at_random_error(error):
    """The alpha at which the perceptron's random-pruning error is ``error`` (interpolated in log-log on a
    dense table; the error falls monotonically from 0.5 at alpha = 0)."""
    table = _random_error_table()
    error = np.asarray(error, float)
    if np.any((error <= table[-1]) | (error >= 0.5)):
        raise ValueError(f"a warped error must lie in ({table[-1]:.2e}, 0.5), got {error.min():.3g} to {error.max():.3g}")
    return np.exp(np.interp(-np.log(error), -np.log(table), np.log(_ALPHA_TABLE)))


def _random_error_table():
    if not hasattr(_random_error_table, "cache"):
        _random_error_table.cache = np.asarray(theory.test_error(_ALPHA_TABLE, 1.0), float)
    return _random_error_table.cache


def fit_warp(n: ArrayLike, error: ArrayLike, stderr: ArrayLike) -> Warp:
    """The random curve as a power law, weighted least squares in log-log (the relative error of each point
    is ``stderr / error``)."""
    n, e, se = (np.asarray(a, float) for a in (n, error, stderr))
    if n.size < 3:
        raise ValueError(f"the warp needs random runs at three or more kept sizes, got {n.size}")
    X, y, w = np.column_stack([np.ones_like(n), np.log(n)]), np.log(e), (e / se) ** 2
    cov = np.linalg.inv(X.T @ (w[:, None] * X))
    beta = cov @ X.T @ (w * y)
    chi2 = float(np.sum(w * (y - X @ beta) ** 2))
    cov = cov * max(1.0, chi2 / (n.size - 2))  # a poor fit widens its own uncertainty (Birge ratio)
    return Warp(float(np.exp(beta[0])), float(beta[1]), tuple(map(tuple, cov.tolist())), chi2, int(n.size))


def warp_band(warp: Warp, n: ArrayLike, sigmas: float = 1.96) -> tuple[np.ndarray, np.ndarray]:
    """The random curve's ``(low, high)`` at ``n`` from the fit's parameter uncertainty alone."""
    x = np.column_stack([np.ones_like(np.asarray(n, float)), np.log(np.asarray(n, float))])
    sd = np.sqrt(np.einsum("ij,jk,ik->i", x, np.asarray(warp.cov), x))
    central = np.log(warp.random_error(n))
    return np.exp(central - sigmas * sd), np.exp(central + sigmas * sd)


class Angle(NamedTuple):
    theta: float
    ci68: tuple
    ci95: tuple
    chi2: float
    profile: list  # (theta, chi2) on the grid


def fit_scale(n: ArrayLike, error: ArrayLike, stderr: ArrayLike) -> Scale:
    """``(d, A)`` such that ``A * eps_random(n / d)`` matches the random curve (weighted)."""
    n, e, se = (np.asarray(a, float) for a in (n, error, stderr))

    def chi2(p):
        d, A = np.exp(p)
        alpha = n / d
        if not np.all((alpha > 0) & (alpha <= theory.error.ALPHA_MAX)):  # a flat curve walks d off the theory's domain
            return np.inf
        return float(np.sum(((A * theory.test_error(alpha, 1.0) - e) / se) ** 2))

    best = min(
        (
            minimize(chi2, np.log([d0, A0]), method="Nelder-Mead", options=dict(xatol=1e-6, fatol=1e-9, maxiter=4000))
            for d0 in (n.min() / 10, n.min(), n.max() / 10)
            for A0 in (1.0, 3.0)
        ),
        key=lambda r: r.fun,
    )
    d, A = np.exp(best.x)
    return Scale(float(d), float(A), float(best.fun))


def fit_theta(n: ArrayLike, error: ArrayLike, stderr: ArrayLike, keep_fraction: ArrayLike, policy: str | Sequence[str],
              scale: Scale | Warp, grid: np.ndarray = THETA_GRID) -> Angle:
    """The effective metric angle of pruned curves, with profile-likelihood intervals.

    ``policy`` is "hard" or "easy", or one of them per point (a metric's two
    curves fitted with one angle)."""
    n, e, se, f = (np.asarray(a, float) for a in (n, error, stderr, keep_fraction))
    policies = np.broadcast_to(np.asarray(policy, dtype=object), n.shape)
    if not set(policies.tolist()) <= {"hard", "easy"}:
        raise ValueError(f"policy must be 'hard' or 'easy'; got {sorted(set(policies.tolist()) - {'hard', 'easy'})}")
    groups = [(pol, policies == pol) for pol in ("hard", "easy") if (policies == pol).any()]

    def chi2(th):
        pred = np.empty_like(e)
        for pol, m in groups:
            pred[m] = scale.A * theory.solve(scale.alpha(n[m]), f[m], th, pol, strict=False).error
        return float(np.nansum(((pred - e) / se) ** 2))

    profile = _profile(n, e, se, f, groups, scale, np.asarray(grid, float))
    i = int(np.argmin(profile))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    res = minimize(
        lambda t: chi2(float(np.clip(t[0], 0, 90))),
        [grid[i]],
        method="Nelder-Mead",
        options=dict(xatol=1e-3, initial_simplex=[[lo], [hi]]),
    )
    theta_hat = float(np.clip(res.x[0], 0, 90))
    best = min(res.fun, profile[i])

    def edge(level, outward):
        # Walk the grid outward from theta_hat to the first point above the level, then solve between them.
        outside = np.flatnonzero(grid > theta_hat) if outward > 0 else np.flatnonzero(grid < theta_hat)[::-1]
        inner = theta_hat
        for k in outside:
            if profile[k] > level:
                return float(brentq(lambda x: chi2(x) - level, inner, grid[k], xtol=1e-3))
            inner = grid[k]
        return float(grid[-1] if outward > 0 else grid[0])

    birge = max(1.0, best / max(1, n.size - 1))  # chi2 per degree of freedom, one parameter fitted

    def interval(delta):
        return (edge(best + delta * birge, -1), edge(best + delta * birge, +1))

    return Angle(
        theta_hat, interval(1.0), interval(3.84), float(best), [(float(t), float(c)) for t, c in zip(grid, profile)]
    )


def _profile(n: np.ndarray, e: np.ndarray, se: np.ndarray, f: np.ndarray, groups: list, scale: Scale | Warp,
             grid: np.ndarray) -> np.ndarray:
    """The chi-square at every grid angle, in one broadcast theory call per policy (the per-angle loop's
    numbers to about 1e-12: the solver's array operations round by chunk)."""
    pred = np.empty((grid.size, e.size))
    for pol, m in groups:
        shape = (grid.size, int(m.sum()))
        alpha, keep = (np.broadcast_to(a[m], shape) for a in (scale.alpha(n), f))
        pred[:, m] = scale.A * theory.solve(alpha, keep, grid[:, None], pol, strict=False).error
    return np.nansum(((pred - e) / se) ** 2, axis=1)


def theory_keep_fraction(pool_size: int, scale: Scale, theta: float) -> dict:
    """The calibrated theory's best policy and keep fraction for a pool of ``pool_size`` examples."""
    ch = theory.optimal_keep_fraction(pool_size / scale.d, theta)
    return dict(policy=ch.policy, keep_fraction=ch.keep_fraction, best_range=list(ch.best_range))


CROSSOVER_ALPHA = np.geomspace(0.05, 1e4, 200)  # pool sizes scanned for a change of winner, in units of d


def theory_crossover(pool_size: int, keep_fraction: ArrayLike, scale: Scale, theta: float) -> list[dict]:
    """The calibrated theory's easy/hard comparison at each keep fraction of a pool.

    Per keep fraction: the predicted errors ``A * eps`` of both policies at
    this pool, the winner, and the pool sizes (in examples) at which the
    winner changes, scanned from ``0.05 d`` to ``1e4 d``."""
    f = np.atleast_1d(np.asarray(keep_fraction, float))
    winner, hard, easy = theory.best_policy(pool_size / scale.d, f, theta)
    rows = []
    for i, fi in enumerate(f):
        scan, _, _ = theory.best_policy(CROSSOVER_ALPHA, fi, theta)
        change = np.flatnonzero(scan[1:] != scan[:-1])
        rows.append(
            dict(
                keep_fraction=float(fi),
                winner=str(winner[i]),
                hard_error=float(scale.A * hard[i]),
                easy_error=float(scale.A * easy[i]),
                winner_changes_at_pool=[
                    float(scale.d * np.sqrt(CROSSOVER_ALPHA[j] * CROSSOVER_ALPHA[j + 1])) for j in change
                ],
            )
        )
    return rows
