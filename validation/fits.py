"""Scaling-law fits to test error against training-set size, and the "beats the power law" test.

Three laws, fitted by weighted least squares (weights = 1 / standard error^2
over seeds) from several starts:

- ``power``:       ``e(n) = a n^-b + c``                    (power law with offset)
- ``exponential``: ``e(n) = a exp(-n / s) + c``
- ``broken``:      ``e(n) = a n^-b1`` below ``n_b``, ``a n_b^-b1 (n / n_b)^-b2`` above (continuous)

Model selection by AIC and by held-out extrapolation (fit the smaller sizes,
predict the larger ones).  Parameter confidence intervals by a bootstrap
over seeds.  :func:`beats_power_law` states the criterion, fixed before
seeing any CIFAR-10 data.
"""

from __future__ import annotations

import warnings
from typing import Callable, NamedTuple, Sequence

import numpy as np
from numpy.typing import ArrayLike

from scipy.optimize import curve_fit


def power(n: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
    return a * np.power(n, -b) + c


def exponential(n: np.ndarray, a: float, s: float, c: float) -> np.ndarray:
    return a * np.exp(-n / s) + c


def broken(n: np.ndarray, a: float, b1: float, b2: float, log_nb: float) -> np.ndarray:
    nb = np.exp(log_nb)
    return np.where(n < nb, a * np.power(n, -b1), a * nb ** (-b1) * np.power(n / nb, -b2))


LAWS: dict[str, tuple[Callable[..., np.ndarray], int]] = {"power": (power, 3), "exponential": (exponential, 3), "broken": (broken, 4)}
PARAMS = {"power": ("a", "b", "c"), "exponential": ("a", "s", "c"), "broken": ("a", "b1", "b2", "log_nb")}


class Fit(NamedTuple):
    law: str
    params: dict
    chi2: float  # weighted residual sum of squares
    aic: float
    n_points: int

    def predict(self, n: np.ndarray) -> np.ndarray:
        return LAWS[self.law][0](np.asarray(n, float), *self.params.values())


def misses_its_points(chi2: float, points: int, parameters: int, significance: float = 0.01) -> bool:
    """Whether a weighted least-squares fit misses its points beyond what the standard errors allow:
    the chance of a chi-square this large, on ``points - parameters`` degrees of freedom, is below
    ``significance``.  With no degree of freedom left nothing can be judged, so it says False.

    >>> misses_its_points(9.0, points=7, parameters=3), misses_its_points(40.0, points=7, parameters=3)
    (False, True)
    """
    from scipy.stats import chi2 as chi2_distribution

    dof = int(points) - int(parameters)
    return dof > 0 and float(chi2_distribution.sf(chi2, dof)) < significance


def _starts(law, n, e):
    lo, hi = float(n.min()), float(n.max())
    span = float(e.max() - e.min()) + 1e-12
    if law == "power":
        return [(e.max() * lo**b, b, c) for b in (0.3, 0.7, 1.2) for c in (0.0, 0.5 * e.min())]
    if law == "exponential":
        return [(span * np.exp(lo / s), s, c) for s in (0.2 * hi, 0.5 * hi, hi) for c in (0.0, 0.5 * e.min())]
    return [
        (e.max() * lo**b1, b1, b2, np.log(nb))
        for b1 in (0.3, 0.8)
        for b2 in (0.5, 1.5)
        for nb in (np.sqrt(lo * hi), lo + 0.7 * (hi - lo))
    ]


def _bounds(law, n):
    if law == "power":
        return ([0, 0, 0], [np.inf, 5, np.inf])
    if law == "exponential":
        return ([0, 1e-9, 0], [np.inf, np.inf, np.inf])
    return ([0, 0, 0, np.log(n.min())], [np.inf, 5, 5, np.log(n.max())])


def fit_law(n: ArrayLike, error: ArrayLike, stderr: ArrayLike | None = None, law: str = "power") -> Fit:
    """Weighted least-squares fit of one law; the best of several starts."""
    if law not in LAWS:
        raise ValueError(f"law must be one of {', '.join(LAWS)}; got {law!r}")
    n, e = np.asarray(n, float), np.asarray(error, float)
    se = np.ones_like(e) if stderr is None else np.maximum(np.asarray(stderr, float), 1e-12)
    f, k = LAWS[law]
    if n.size <= k:
        raise ValueError(f"law {law!r} has {k} parameters; need more than {k} sizes, got {n.size}")
    best = None
    for p0 in _starts(law, n, e):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                p, _ = curve_fit(f, n, e, p0=p0, sigma=se, absolute_sigma=True, bounds=_bounds(law, n), maxfev=20000)
        except (RuntimeError, ValueError):
            continue
        chi2 = float(np.sum(((f(n, *p) - e) / se) ** 2))
        if best is None or chi2 < best[1]:
            best = (p, chi2)
    if best is None:
        raise RuntimeError(f"fitting the {law} law failed from every start")
    p, chi2 = best
    return Fit(law, dict(zip(PARAMS[law], map(float, p))), chi2, chi2 + 2 * k, int(n.size))


def heldout_score(n: np.ndarray, error: np.ndarray, stderr: np.ndarray | None = None, law: str = "power",
                  train_fraction: float = 0.6) -> float:
    """Fit on the smallest sizes, predict the rest: mean squared log-ratio of prediction to data."""
    n, e = np.asarray(n, float), np.asarray(error, float)
    order = np.argsort(n)
    k = max(LAWS[law][1] + 1, int(round(train_fraction * n.size)))
    if k >= n.size:
        raise ValueError(f"too few sizes ({n.size}) to hold any out for the {law} law")
    train, test = order[:k], order[k:]
    se = None if stderr is None else np.asarray(stderr, float)[train]
    fitted = fit_law(n[train], e[train], se, law)
    pred = np.maximum(fitted.predict(n[test]), 1e-12)
    return float(np.mean(np.log(pred / e[test]) ** 2))


def compare_laws(n: np.ndarray, error: np.ndarray, stderr: np.ndarray | None = None,
                 laws: Sequence[str] = tuple(LAWS)) -> dict:
    """Every law's fit, AIC and held-out score; the best by each."""
    fits = {law: fit_law(n, error, stderr, law) for law in laws}
    held = {}
    for law in laws:
        try:
            held[law] = heldout_score(n, error, stderr, law)
        except ValueError:
            held[law] = float("nan")
    return dict(
        fits=fits,
        heldout=held,
        best_aic=min(fits, key=lambda k: fits[k].aic),
        best_heldout=min((k for k in held if np.isfinite(held[k])), key=lambda k: held[k], default=None),
    )


def bootstrap(n: np.ndarray, per_seed: Sequence[np.ndarray], law: str = "power", samples: int = 200, seed: int = 0,
              level: float = 0.95) -> dict[str, tuple[float, float]]:
    """Confidence intervals of a law's parameters by resampling seeds at each size.

    ``per_seed`` is a list (one entry per size) of arrays of per-seed errors.
    """
    rng = np.random.default_rng(seed)
    n = np.asarray(n, float)
    draws = []
    for _ in range(samples):
        means, ses = [], []
        for errs in per_seed:
            errs = np.asarray(errs, float)
            pick = errs[rng.integers(0, errs.size, errs.size)]
            means.append(pick.mean())
            ses.append(max(errs.std(ddof=1) / np.sqrt(errs.size), 1e-6) if errs.size > 1 else 1e-3)
        try:
            draws.append(list(fit_law(n, means, ses, law).params.values()))
        except RuntimeError:
            continue
    lo, hi = np.percentile(np.array(draws), [50 * (1 - level), 50 * (1 + level)], axis=0)
    return {name: (float(a), float(b)) for name, a, b in zip(PARAMS[law], lo, hi)}


def local_slopes(n: np.ndarray, error: np.ndarray) -> np.ndarray:
    """Log-log slope between consecutive sizes."""
    log_n, log_e = np.log(np.asarray(n, float)), np.log(np.asarray(error, float))
    order = np.argsort(log_n)
    return np.diff(log_e[order]) / np.diff(log_n[order])


def beats_power_law(n_random: np.ndarray, err_random: np.ndarray, se_random: np.ndarray, n_pruned: np.ndarray,
                    err_pruned: np.ndarray, se_pruned: np.ndarray, z: float = 2.0) -> dict:
    """The criterion, fixed in advance.  Pruning "beats the power law" when both hold:

    1. at the largest pruned size, the pruned error lies below the random
       curve's power-law-with-offset fit, extrapolated there, by more than
       ``z`` combined standard errors; and
    2. the pruned curve's log-log slope steepens with n: the slope over the
       upper half of sizes is more negative than over the lower half by more
       than ``z`` standard errors of the difference (weighted fits in log space).

    Returns a dict with both tests, their numbers, and the verdict.
    """
    rand = fit_law(n_random, err_random, se_random, "power")
    n_p, e_p, s_p = (np.asarray(a, float) for a in (n_pruned, err_pruned, se_pruned))
    top = np.argmax(n_p)
    predicted = float(rand.predict(n_p[top]))
    se_rand_at_top = float(
        np.interp(np.log(n_p[top]), np.log(np.sort(n_random)), np.asarray(se_random)[np.argsort(n_random)])
    )
    margin = (predicted - e_p[top]) / np.hypot(s_p[top], se_rand_at_top)
    order = np.argsort(n_p)
    half = max(3, (n_p.size + 1) // 2)

    def slope(rows):
        x, y, w = np.log(n_p[rows]), np.log(e_p[rows]), e_p[rows] / np.maximum(s_p[rows], 1e-12)
        coef, cov = np.polyfit(x, y, 1, w=w, cov="unscaled")
        return coef[0], np.sqrt(cov[0, 0])

    (lower, se_lower), (upper, se_upper) = slope(order[:half]), slope(order[-half:])
    below = bool(margin > z)
    steepens = bool(lower - upper > z * np.hypot(se_lower, se_upper))
    return dict(
        below_power_law=below,
        margin_in_se=float(margin),
        random_fit=rand.params,
        steepens=steepens,
        slope_lower=float(lower),
        slope_upper=float(upper),
        verdict=below and steepens,
    )
