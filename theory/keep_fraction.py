"""The keep fraction a user should choose: the best one for a fixed pool, the smallest lossless one, and
the floor that an imperfect metric sets for large pools.

Each takes one pool (and one angle) at a time, or arrays of them: array arguments are broadcast against each
other, and the answer's fields are arrays of that shape.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from prunescale.store import checks

from ._search import F_FLOOR, SMALLEST_KEPT, checked_pool, error_at, minimise, search_error, smallest_within, verified_policies
from .error import ConvergenceError


def _one_pool_at_a_time(*array_arguments):
    """Let a function of one pool take arrays for ``array_arguments``: they are broadcast against each other, the
    function runs at each point, and every field of its answer becomes an array of the broadcast shape (a pair
    gains a last axis of 2; a per-policy dict holds one array per policy, NaN where a point did not search it)."""

    def wrap(function):
        signature = inspect.signature(function)

        @functools.wraps(function)
        def broadcasting(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            values = [bound.arguments[name] for name in array_arguments]
            if all(np.ndim(v) == 0 for v in values):
                return function(*bound.args, **bound.kwargs)
            try:
                grids = np.broadcast_arrays(*(np.asarray(v, float) for v in values))
            except ValueError:
                shapes = ", ".join(f"{n} {np.shape(v)}" for n, v in zip(array_arguments, values))
                raise ValueError(f"{' and '.join(array_arguments)} must broadcast together, got shapes {shapes}") from None
            points = zip(*(g.ravel().tolist() for g in grids))
            answers = [function(**(bound.arguments | dict(zip(array_arguments, point)))) for point in points]
            return _stacked(answers, grids[0].shape)

        return broadcasting

    return wrap


def _stacked(answers, shape):
    if not dataclasses.is_dataclass(answers[0]):
        return np.reshape(np.asarray(answers), shape)
    fields = {}
    for field in dataclasses.fields(answers[0]):
        values = [getattr(a, field.name) for a in answers]
        if isinstance(values[0], dict):
            keys = dict.fromkeys(k for v in values for k in v)
            fields[field.name] = {k: np.reshape([v.get(k, np.nan) for v in values], shape) for k in keys}
        else:
            array = np.asarray(values)
            fields[field.name] = np.reshape(array, shape + array.shape[1:])
    return type(answers[0])(**fields)

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


@_one_pool_at_a_time("alpha_tot", "theta")
def optimal_keep_fraction(alpha_tot: ArrayLike, theta: ArrayLike = 0.0, rtol: float = 1e-3) -> Choice:
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
    at = checked_pool(alpha_tot)
    th = float(checks.theta(theta))
    tol = float(checks.fraction_in("rtol", rtol, 0.0, 1.0))
    lo = np.log(max(F_FLOOR, SMALLEST_KEPT / at))
    best = {}
    for policy in verified_policies(at, th):

        def fun(logf, rows, policy=policy):
            f = np.exp(logf)
            return search_error(at * f, f, th, policy)

        logf, _ = minimise(fun, np.array([lo]), np.array([0.0]))
        f = float(np.exp(logf[0]))
        best[policy] = (f, float(error_at(at * f, f, th, policy)))
    full = float(error_at(at, 1.0, 0.0, "random"))
    min_error = min(full, *(e for _, e in best.values()))
    limit = min_error * (1.0 + tol)
    choices = {}
    for policy, (f, e) in best.items():
        f_top = 1.0 if full <= limit else f
        if min(e, full) <= limit:
            choices[policy] = smallest_within(at, th, policy, limit, f_top)
    policy = min(choices, key=lambda p: choices[p])
    f = choices[policy]
    f_high = 1.0 if full <= limit else best[policy][0]
    return Choice(
        alpha_tot=at,
        theta=th,
        policy=policy,
        keep_fraction=f,
        best_range=(f, f_high),
        error=float(error_at(at * f, f, th, policy)),
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


@_one_pool_at_a_time("alpha_tot", "theta")
def lossless_keep_fraction(alpha_tot: ArrayLike, theta: ArrayLike = 0.0, tolerance: float = 0.01) -> Lossless:
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
    at = checked_pool(alpha_tot)
    th = float(checks.theta(theta))
    tol = float(checks.fraction_in("tolerance", tolerance, 0.0, 1.0))
    full = float(error_at(at, 1.0, 0.0, "random"))
    limit = (1.0 + tol) * full
    by = {policy: smallest_within(at, th, policy, limit, 1.0) for policy in verified_policies(at, th)}
    policy = min(by, key=lambda p: by[p])
    f = by[policy]
    return Lossless(
        alpha_tot=at,
        theta=th,
        tolerance=tol,
        policy=policy,
        keep_fraction=f,
        lossless_range=(f, 1.0),
        error=float(error_at(at * f, f, th, policy)),
        full_error=full,
        by_policy=by,
    )


@_one_pool_at_a_time("theta")
def keep_fraction_floor(theta: ArrayLike, tolerance: float = 0.01) -> float | np.ndarray:
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
        limit = (1.0 + tol) * float(error_at(at, 1.0, 0.0, "random"))
        f = smallest_within(at, th, "hard", limit, 1.0)
        if previous is not None and abs(f / previous - 1.0) < 1e-4:
            return f
        previous = f
    raise ConvergenceError(f"the lossless keep fraction at theta={th:g} did not settle by alpha_tot=1e6")
