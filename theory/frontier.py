"""The frontier of pruning: the lowest error reachable at each kept size, the kept size a target error
needs, and which policy wins where (the keep fraction to choose is :mod:`.keep_fraction`'s).

Vocabulary: ``alpha_tot`` is the pool size per dimension, ``alpha_prune =
f * alpha_tot`` the kept set (what training costs), ``f`` the keep fraction.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import brentq

from prunescale.store import checks
from prunescale.store.checks import Policy

from ._search import F_FLOOR, error_at, minimise, search_error
from .error import ALPHA_MAX, VERIFIED_EASY_KEPT, VERIFIED_POOL, solve


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
    policy: Policy
    max_pool: float | None

    @functools.cached_property
    def f_min(self) -> float:
        from .keep_fraction import keep_fraction_floor  # which builds on the frontier's searches

        return keep_fraction_floor(self.theta) if self.policy == "hard" else float("nan")


def pareto_frontier(alpha_prune: ArrayLike, theta: float = 0.0, policy: Policy = "hard", max_pool: float | None = None) -> Frontier:
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
        return search_error(a[rows], np.exp(logf), th, policy)

    logf, _ = minimise(fun, lo, hi)
    f = np.exp(logf)
    err = error_at(a, f, th, policy)
    limited = (logf - lo) < 1e-6 * np.maximum(1.0, -lo)
    return Frontier(
        alpha_prune=a,
        keep_fraction=f,
        alpha_tot=a / f,
        error=err,
        random_error=error_at(a, 1.0, 0.0, "random"),
        pool_limited=limited & (max_pool is not None),
        theta=th,
        policy=policy,
        max_pool=None if max_pool is None else float(max_pool),
    )


def kept_size_for_error(target_error: float, theta: float = 0.0, policy: Policy = "hard",
                        max_pool: float | None = None) -> tuple[float, float]:
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


def best_policy(alpha_tot: ArrayLike, keep_fraction: ArrayLike, theta: ArrayLike = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
