"""The 50k test: its reading rules and the theory's predictions for it (docs/validation.md, "The 50k test").

The runs are :func:`validation.plans.scale_plan`'s, in their own table (``figures/data/cifar10_50k/runs.csv``):
fresh seeds 3, 4 and 5, each pool scored by EL2N networks of its own seed (no two seeds share one).  The rules
below were fixed, and tested on synthetic tables, before any of those runs; every interval is a Student t
interval on per-seed paired differences.

- **Claim 1 on the whole data set**, at each budget (3,907 and 7,814 steps): keep-hard and random at f = 0.5
  against the whole 50k pool, with one-sided 95% bounds (lossless where the upper bound is below 0.5 pp, losing
  where the lower bound is above it, otherwise unresolved), and keep-hard minus random, two-sided
  (:func:`validation.verdicts.full_pool_comparison`).  **Reproduced** where keep-hard is lossless and random is
  not; **not reproduced** where keep-hard loses more than the tolerance, or where random is lossless too (no
  advantage); otherwise **undecided at this scale**.
- **The budget interaction**: for each policy, the loss at 7,814 steps minus the loss at 3,907, paired by seed,
  two-sided: does longer training change what pruning costs?
- **Claim 3 at scale**: keep-hard f = 0.5 across pools of 12.5k, 25k and 50k (kept sizes 6.25k to 25k) against
  the random curve over the same kept sizes, at 3,907 steps (:func:`validation.criteria.beats_power_law`):
  reproduced where steeper and below random at the largest kept size, not reproduced where flatter or above it.

A comparison whose paired runs trained on different CPU models is flagged (runs are bit-exact on one model only),
and where claim 3's curves join a seed's runs across CPU models, claim 3 is read again with the measured drift
between models added to the runs that mix (:func:`claim_3_under_drift`; a check added after the runs, not a rule).

The predictions (:func:`predictions`) come from the fair test's main table alone, through the warped
calibration (:class:`validation.calibrate.Warp`): the random curve's power law gives every random run, and one
EL2N angle, fitted to the main table's keep-hard and keep-easy curves, gives the keep-hard runs.  The theory
says nothing about training length, so the 7,814-step runs are not predicted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from . import calibrate, criteria
from .analysis import curves, pooled_stderr
from .verdicts import CLAIM_THRESHOLD, FULL_POOL, VERDICTS, FullPool, Verdict, full_pool_comparison, main_runs

if TYPE_CHECKING:
    from .jobs import Job

SEEDS = 3  # every point of the plan runs seeds 3, 4 and 5
SCALE_STEPS = 3907  # the budget the predictions are for (the theory says nothing about training length)
METRIC = "el2n"
CLAIM_3_POOLS = (12500, 25000, FULL_POOL)


# -- records: frozen inside the toolkit, JSON only where written (``store.to_json`` / ``store.from_json``) -----


@dataclass(frozen=True)
class ClaimAtBudget:
    """Claim 1 on the whole data set at one budget: the verdict, and the reading behind it or the points missing."""

    steps: int
    complete: bool  # False: points are missing, and the verdict waits for them
    verdict: Verdict
    missing: tuple[dict, ...] | None = None
    reading: FullPool | None = None


@dataclass(frozen=True)
class BudgetInteraction:
    """A policy's loss at f = 0.5 against the whole pool, at the larger budget minus the smaller, paired by seed."""

    policy: str
    complete: bool
    steps: tuple[int, int] | None = None
    change: float | None = None
    ci95: tuple[float, float] | None = None
    seeds: int | None = None
    outcome: str | None = None  # "grows", "shrinks" or "unresolved"


@dataclass(frozen=True)
class ClaimAtScale:
    """Claim 3 across kept sizes of 6.25k to 25k: the verdict, and :func:`criteria.beats_power_law`'s numbers."""

    steps: int
    complete: bool
    verdict: Verdict
    missing: tuple[dict, ...] | None = None
    details: Any = None


@dataclass(frozen=True)
class MixedMachines:
    """A comparison in which some seed's runs trained on more than one CPU model."""

    comparison: str
    seeds: tuple[int, ...]
    cpu_models: tuple[str, ...]


@dataclass(frozen=True)
class DriftCheck:
    """Claim 3 at scale read again with random drift added to the runs trained on another CPU model than their
    seed's 50k pool (:func:`claim_3_under_drift`): how often the verdict stays the measured one."""

    steps: int
    moved_runs: int
    drift_sd: float  # standard deviation of the drift added to each moved run's test error
    draws: int
    verdict: Verdict  # the verdict on the runs as measured
    share_same: float  # share of the draws that give the same verdict


@dataclass(frozen=True)
class ScaleVerdicts:
    """Every reading of the 50k test from its runs table (:func:`verdicts`)."""

    claim_1: tuple[ClaimAtBudget, ...]
    budget_interaction: tuple[BudgetInteraction, ...]
    claim_3: ClaimAtScale
    mixed_machines: tuple[MixedMachines, ...]
    runs: int
    claim_3_drift: DriftCheck | None = None  # read only where some seed's curves mix CPU models


@dataclass(frozen=True)
class CurveFit:
    """How well the calibration fits one curve of the main table."""

    curve: str
    points: int
    chi2: float
    dof: int
    chi2_per_dof: float


@dataclass(frozen=True)
class PowerLaw:
    """The warp's random curve, ``amplitude * n ** exponent``, as :class:`calibrate.Warp` fitted it."""

    amplitude: float
    exponent: float
    cov: tuple[tuple[float, ...], ...]
    chi2: float
    points: int


@dataclass(frozen=True)
class WarpedCalibration:
    """The warp and the one EL2N angle fitted to the main table, with the fit of every curve."""

    warp: PowerLaw
    theta: float
    theta_ci95: tuple[float, float]
    chi2: float
    pruned_points: int
    per_curve: tuple[CurveFit, ...]


@dataclass(frozen=True)
class HeldOutPoint:
    """One run of the held-out pool: its measured error and the one predicted without its pool."""

    policy: str
    keep_fraction: float
    measured: float
    predicted: float


@dataclass(frozen=True)
class HeldOut:
    """The calibration fitted without one pool, predicting that pool's runs."""

    held_out_pool: int
    theta: float
    points: tuple[HeldOutPoint, ...]
    chi2_per_point: float


@dataclass(frozen=True)
class PredictedRun:
    """One planned run's predicted test error, with its 95% interval."""

    config_hash: str
    pool_size: int
    keep_fraction: float
    policy: str
    seed: int
    steps: int | None  # as the job has it (None: an epoch budget)
    n_train: int
    predicted: float
    interval95: tuple[float, float]


@dataclass(frozen=True)
class PredictedComparison:
    """One comparison's predicted size (a minus b, :data:`COMPARED`), its range, and its sign."""

    pool_size: int
    comparison: str
    predicted: float
    range: tuple[float, float]
    sign: str  # "negative" or "positive"
    sign_certain: bool  # the whole range has the sign


@dataclass(frozen=True)
class Predictions:
    """What ``figures/data/cifar10_50k/predictions.json`` holds: written by ``prunescale validate predict``."""

    calibration: WarpedCalibration
    relative_seed_spread: float
    runs: tuple[PredictedRun, ...]
    comparisons: tuple[PredictedComparison, ...]
    source: str | None = None  # the main table the calibration was fitted to
    held_out: tuple[HeldOut, ...] | None = None


@dataclass(frozen=True)
class MeasuredRun:
    """A predicted run that has been measured."""

    run: PredictedRun
    measured: float
    error: float  # measured minus predicted
    covered: bool  # inside the 95% interval


@dataclass(frozen=True)
class MeasuredComparison:
    """A predicted comparison with its measured paired mean over the seeds run so far."""

    comparison: PredictedComparison
    measured: float
    seeds: int
    sign_right: bool


@dataclass(frozen=True)
class AgainstPredictions:
    """The committed predictions against what was measured (:func:`predicted_against_measured`)."""

    runs: tuple[MeasuredRun, ...]
    comparisons: tuple[MeasuredComparison, ...]
    covered: int
    compared: int
    mean_absolute_error: float
    signs_right: int
    signs_compared: int


# -- reading rules -------------------------------------------------------------------------------------------


def claim_1_at_budget(frame: pd.DataFrame, steps: int) -> ClaimAtBudget:
    """Claim 1 on the 50k pool at one budget (module docstring)."""
    runs = main_runs(frame)
    runs = runs[(runs.steps == steps) & (runs.pool_size == FULL_POOL)]
    points = [dict(policy="random", keep_fraction=f) for f in (1.0, CLAIM_THRESHOLD)]
    points.append(dict(policy="hard", keep_fraction=CLAIM_THRESHOLD, metric=METRIC))
    missing = [p for p in points if not criteria.has_seeds(runs, SEEDS, pool_size=FULL_POOL, **p)]
    if missing:
        return ClaimAtBudget(int(steps), False, VERDICTS[2], missing=tuple(missing))
    reading = full_pool_comparison(runs, metric=METRIC)
    outcome = {loss.policy: loss.outcome for loss in reading.losses}
    if outcome["hard"] == "lossless" and outcome["random"] != "lossless":
        verdict = VERDICTS[0]
    elif outcome["hard"] == "loses more than the tolerance" or outcome["random"] == "lossless":
        verdict = VERDICTS[1]
    else:
        verdict = VERDICTS[2]
    return ClaimAtBudget(int(steps), True, verdict, reading=reading)


def budget_interaction(frame: pd.DataFrame, policy: str, budgets: Sequence[int]) -> BudgetInteraction:
    """The loss of ``policy`` at f = 0.5 against the whole pool, at the larger budget minus the smaller, paired by
    seed, with its two-sided 95% interval: grows where the interval lies above 0, shrinks below, else unresolved."""
    runs = main_runs(frame)
    runs = runs[runs.pool_size == FULL_POOL]
    small, large = sorted(budgets)
    pruned = dict(policy=policy, keep_fraction=CLAIM_THRESHOLD) | ({"metric": METRIC} if policy != "random" else {})
    whole = dict(policy="random", keep_fraction=1.0)
    if not all(criteria.has_seeds(runs, SEEDS, steps=s, **p) for s in (small, large) for p in (pruned, whole)):
        return BudgetInteraction(policy, complete=False)
    loss = {s: criteria.by_seed(runs[runs.steps == s], pruned) - criteria.by_seed(runs[runs.steps == s], whole) for s in (small, large)}
    change = (loss[large] - loss[small]).dropna()
    mean, se, n = float(change.mean()), float(change.std(ddof=1) / np.sqrt(change.size)), int(change.size)
    low, high = criteria.interval(mean, se, n)
    outcome = "grows" if low > 0 else "shrinks" if high < 0 else "unresolved"
    return BudgetInteraction(policy, True, steps=(int(small), int(large)), change=mean, ci95=(float(low), float(high)),
                             seeds=n, outcome=outcome)


def claim_3_at_scale(frame: pd.DataFrame, steps: int) -> ClaimAtScale:
    """Claim 3 across kept sizes of 6.25k to 25k (module docstring)."""
    runs = main_runs(frame)
    runs = runs[(runs.steps == steps) & runs.pool_size.isin(CLAIM_3_POOLS)]
    needed = [dict(pool_size=p, policy=pol, keep_fraction=CLAIM_THRESHOLD) for p in CLAIM_3_POOLS for pol in ("random", "hard")]
    missing = [p for p in needed if not criteria.has_seeds(runs, SEEDS, **p)]
    if missing:
        return ClaimAtScale(int(steps), False, VERDICTS[2], missing=tuple(missing))
    result = criteria.beats_power_law(runs, CLAIM_THRESHOLD, metric=METRIC)
    flatter = result["slope_difference_ci95"][0] > 0
    above = criteria.lower_bound(result["difference_at_largest"], result["stderr_at_largest"], result["seeds_at_largest"]) > 0
    verdict = VERDICTS[0] if result["holds"] else VERDICTS[1] if flatter or above else VERDICTS[2]
    return ClaimAtScale(int(steps), True, verdict, details=result)


def mixed_machines(frame: pd.DataFrame, comparisons: Sequence[tuple]) -> tuple[MixedMachines, ...]:
    """The comparisons in which some seed's runs trained on more than one CPU model.  A comparison is a name and
    the run selections it pairs by seed: two for a difference, more for claim 3's curves."""
    if "cpu_model" not in frame:
        return ()
    flagged = []
    for name, *selections in comparisons:
        models = pd.concat([criteria.by_seed(frame, s, "cpu_model") for s in selections], axis=1, join="inner",
                           ignore_index=True).dropna()
        differ = models[models.nunique(axis=1) > 1]
        if len(differ):
            cpu_models = tuple(sorted(set(differ.to_numpy().ravel())))
            flagged.append(MixedMachines(name, tuple(int(s) for s in differ.index), cpu_models))
    return tuple(flagged)


_CLAIM_3_COLUMNS = ("seed", "pool_size", "policy", "metric", "keep_fraction", "n_train", "steps", "test_error",
                    "class_balanced", "cpu_model")  # what claim 3's reading looks at


def claim_3_under_drift(frame: pd.DataFrame, steps: int, drift_sd: float, draws: int = 1000, seed: int = 0) -> DriftCheck:
    """Claim 3 at scale with drift drawn from N(0, ``drift_sd``) added to each run whose CPU model differs from
    its seed's 50k-pool runs, ``draws`` times.

    A job re-run on another CPU model lands elsewhere, as a different draw of the same training noise rather than
    a shift of every run alike (docs/validation.md, "How far runs drift"), so a seed's curves that join two models
    carry that noise twice.  A verdict that survives nearly every draw is not decided by the mix."""
    if not np.isfinite(drift_sd) or drift_sd < 0:
        raise ValueError(f"drift_sd must be a finite standard deviation >= 0 (a fraction of test error), got {drift_sd}")
    if int(draws) < 1:
        raise ValueError(f"draws must be at least 1, got {draws}")
    draws = int(draws)
    runs = main_runs(frame)
    runs = runs[(runs.steps == steps) & runs.pool_size.isin(CLAIM_3_POOLS)].reset_index(drop=True)
    # only the columns the reading looks at: it runs once per draw, and pandas selects rows column by column
    runs = runs[[c for c in dict.fromkeys((*_CLAIM_3_COLUMNS, *criteria.COMPARABLE)) if c in runs]]
    measured = claim_3_at_scale(runs, steps)
    moved = _on_another_model(runs)
    if not measured.complete or not moved.any():  # nothing mixes, or nothing is decided: no draw can differ
        return DriftCheck(int(steps), int(moved.sum()), float(drift_sd), 0, measured.verdict, 1.0)
    rng = np.random.default_rng(seed)
    errors = runs.test_error.to_numpy(float)
    same = 0
    for _ in range(draws):
        drifted = errors + np.where(moved, rng.normal(0.0, drift_sd, errors.size), 0.0)
        same += claim_3_at_scale(runs.assign(test_error=drifted), steps).verdict == measured.verdict
    return DriftCheck(int(steps), int(moved.sum()), float(drift_sd), draws, measured.verdict, same / draws)


def _on_another_model(runs: pd.DataFrame) -> np.ndarray:
    """Which runs trained on another CPU model than their seed's runs on the whole pool."""
    if "cpu_model" not in runs:
        return np.zeros(len(runs), bool)
    whole_pool = runs[runs.pool_size == FULL_POOL].groupby("seed").cpu_model.agg(lambda m: m.mode().iloc[0])
    home = runs.seed.map(whole_pool)
    return (home.notna() & (runs.cpu_model != home)).to_numpy()


def _comparisons(budgets):
    whole = lambda pool=FULL_POOL: dict(pool_size=pool, policy="random", keep_fraction=1.0)
    half = lambda policy, pool=FULL_POOL: dict(pool_size=pool, policy=policy, keep_fraction=CLAIM_THRESHOLD)
    out = []
    for s in budgets:
        out += [(f"{s} steps: random f = 0.5 - f = 1", half("random") | {"steps": s}, whole() | {"steps": s}),
                (f"{s} steps: keep-hard f = 0.5 - f = 1", half("hard") | {"steps": s}, whole() | {"steps": s}),
                (f"{s} steps: keep-hard - random, f = 0.5", half("hard") | {"steps": s}, half("random") | {"steps": s})]
    for s in budgets[1:]:
        out.append((f"keep-hard f = 0.5, {s} against {budgets[0]} steps", half("hard") | {"steps": s}, half("hard") | {"steps": budgets[0]}))
    # claim 3 at the first budget: each smaller pool's own pairs, then every run on a seed's two curves
    at = {"steps": budgets[0]}
    smaller = [p for p in CLAIM_3_POOLS if p != FULL_POOL]
    for p in smaller:
        out += [(f"pool {p}, {budgets[0]} steps: random f = 0.5 - f = 1", half("random", p) | at, whole(p) | at),
                (f"pool {p}, {budgets[0]} steps: keep-hard f = 0.5 - f = 1", half("hard", p) | at, whole(p) | at),
                (f"pool {p}, {budgets[0]} steps: keep-hard - random, f = 0.5",
                 half("hard", p) | at, half("random", p) | at)]
    curves = [half(policy, p) | at for p in CLAIM_3_POOLS for policy in ("hard", "random")]
    curves += [whole(p) | at for p in smaller]
    out.append((f"claim 3 at scale, {budgets[0]} steps: every run of a seed's two curves", *curves))
    return out


def verdicts(frame: pd.DataFrame, budgets: Sequence[int] = (3907, 7814), drift_sd: float | None = None) -> ScaleVerdicts:
    """Every reading of the 50k test from its runs table (incomplete parts say so and name what is missing).
    With ``drift_sd``, claim 3 is also read under drift where some seed's curves mix CPU models
    (:func:`claim_3_under_drift`)."""
    budgets = tuple(int(b) for b in budgets)
    drift = claim_3_under_drift(frame, budgets[0], drift_sd) if drift_sd is not None else None
    return ScaleVerdicts(
        claim_1=tuple(claim_1_at_budget(frame, s) for s in budgets),
        budget_interaction=tuple(budget_interaction(frame, policy, budgets) for policy in ("random", "hard")),
        claim_3=claim_3_at_scale(frame, budgets[0]),
        mixed_machines=mixed_machines(main_runs(frame), _comparisons(budgets)),
        runs=int(len(frame)),
        claim_3_drift=drift if drift is not None and drift.draws else None,  # None where nothing was drawn
    )


# -- predictions ---------------------------------------------------------------------------------------------


def warped_calibration(frame: pd.DataFrame, metric: str = METRIC) -> WarpedCalibration:
    """The warp fitted to the random runs and one angle to ``metric``'s keep-hard and keep-easy curves, with the
    chi-square per degree of freedom of every curve (the random curve has two parameters, the pruned curves share
    one)."""
    warp, points = _fit_warp(frame)
    pruned = _pruned_points(frame, metric)
    angle = calibrate.fit_theta(pruned.n_train.values, pruned["mean"].values, pruned.se.values,
                                pruned.keep_fraction.values, pruned.policy.values, warp)
    predicted = predict_error(warp, angle.theta, pruned.n_train.values, pruned.keep_fraction.values, pruned.policy.values)
    pruned = pruned.assign(predicted=predicted, chi=(predicted - pruned["mean"].values) / pruned.se.values)
    per_curve = [CurveFit("random", int(len(points)), warp.chi2, int(len(points) - 2), warp.chi2 / max(1, len(points) - 2))]
    for (pool, policy), rows in pruned.groupby(["pool_size", "policy"]):
        chi2 = float(np.sum(rows.chi**2))
        per_curve.append(CurveFit(f"pool {pool}, {metric} keep {policy}", int(len(rows)), chi2, int(len(rows)), chi2 / len(rows)))
    law = PowerLaw(warp.amplitude, warp.exponent, tuple(tuple(r) for r in warp.cov), warp.chi2, warp.points)
    return WarpedCalibration(law, angle.theta, tuple(angle.ci95), angle.chi2, int(len(pruned)), tuple(per_curve))


def held_out(frame: pd.DataFrame, metric: str = METRIC) -> tuple[HeldOut, ...]:
    """Fit on all pools but one, predict the held-out pool's runs: per pool, each point's predicted and
    measured error, and the held-out chi-square per point."""
    out = []
    for pool in sorted(frame.pool_size.unique()):
        train, test = frame[frame.pool_size != pool], frame[frame.pool_size == pool]
        warp, _ = _fit_warp(train)
        pruned = _pruned_points(train, metric)
        angle = calibrate.fit_theta(pruned.n_train.values, pruned["mean"].values, pruned.se.values,
                                    pruned.keep_fraction.values, pruned.policy.values, warp)
        target = pd.concat([_random_points(test).assign(policy="random"), _pruned_points(test, metric)])
        predicted = np.atleast_1d(predict_error(warp, angle.theta, target.n_train.values, target.n_train.values / pool,
                                                target.policy.values))
        chi = (predicted - target["mean"].values) / target.se.values
        points = tuple(HeldOutPoint(str(p), float(n / pool), float(m), float(q))
                       for p, n, m, q in zip(target.policy, target.n_train, target["mean"], predicted))
        out.append(HeldOut(int(pool), angle.theta, points, float(np.mean(chi**2))))
    return tuple(out)


def predict_error(warp: calibrate.Warp, theta: float, n_kept: ArrayLike, keep_fraction: ArrayLike,
                  policy: str | Sequence[str]) -> float | np.ndarray:
    """The calibrated theory's test error for runs that keep ``n_kept`` examples, a fraction ``keep_fraction`` of
    their pool, by ``policy`` (random pruning is the warp's power law itself)."""
    from prunescale import theory

    n, f = np.broadcast_arrays(np.atleast_1d(np.asarray(n_kept, float)), np.atleast_1d(np.asarray(keep_fraction, float)))
    policies = np.broadcast_to(np.asarray(policy, dtype=object), n.shape)
    error = np.array(warp.random_error(n), float)
    for pol in ("hard", "easy"):
        m = policies == pol
        if m.any():
            error[m] = theory.test_error(warp.alpha(n[m]), f[m], theta=theta, policy=pol)
    return error if np.ndim(n_kept) or np.ndim(keep_fraction) else float(error[0])


def predictions(frame: pd.DataFrame, jobs: Sequence[Job], metric: str = METRIC) -> Predictions:
    """Each planned run's predicted test error with a 95% interval, and each comparison's predicted size and sign.

    The interval joins the calibration's uncertainty (the power law's 95% band and the angle's 95% interval,
    every combination) with one run's seed-to-seed spread in the main table (the median relative standard
    deviation of a point over seeds, times 1.96)."""
    calibration = warped_calibration(frame, metric)
    warp, _ = _fit_warp(frame)
    theta, thetas = calibration.theta, calibration.theta_ci95
    spread = _relative_seed_spread(main_runs(frame))
    runs = []
    for job in jobs:
        n, f, policy = round(job.keep_fraction * job.pool_size), job.keep_fraction, job.policy
        central = float(predict_error(warp, theta, n, f, policy))
        corners = [float(predict_error(w, t, n, f, policy)) for w in _warp_corners(warp, n) for t in thetas]
        low, high = min(corners + [central]), max(corners + [central])
        runs.append(PredictedRun(job.key, job.pool_size, f, policy, job.seed, job.steps, n, central,
                                 (low * (1 - 1.96 * spread), high * (1 + 1.96 * spread))))
    return Predictions(calibration, spread, tuple(runs),
                       _predicted_comparisons(warp, theta, thetas, sorted({j.pool_size for j in jobs})))


COMPARED = {  # each predicted comparison as (selection a, selection b), measured as a minus b paired by seed
    "random f = 0.5 - f = 1": (dict(policy="random", keep_fraction=0.5), dict(policy="random", keep_fraction=1.0)),
    "keep-hard f = 0.5 - f = 1": (dict(policy="hard", metric=METRIC, keep_fraction=0.5), dict(policy="random", keep_fraction=1.0)),
    "keep-hard - random, f = 0.5": (dict(policy="hard", metric=METRIC, keep_fraction=0.5), dict(policy="random", keep_fraction=0.5)),
}


def predicted_against_measured(frame: pd.DataFrame, predicted: Predictions) -> AgainstPredictions:
    """The committed predictions (:func:`predictions`) against the runs measured so far: each run's measured minus
    predicted error and whether its 95% interval covered it; each comparison's measured paired mean (every seed
    run so far) and whether its sign is the predicted one; and the counts."""
    runs = main_runs(frame).set_index("config_hash")
    per_run = []
    for r in predicted.runs:
        if r.config_hash in runs.index:
            measured = float(runs.loc[r.config_hash, "test_error"])
            low, high = r.interval95
            per_run.append(MeasuredRun(r, measured, measured - r.predicted, bool(low <= measured <= high)))
    per_comparison = []
    for c in predicted.comparisons:
        at = main_runs(frame)
        at = at[(at.pool_size == c.pool_size) & (at.steps == SCALE_STEPS)]
        a, b = COMPARED[c.comparison]
        mean, _, n = criteria.paired_difference(at, a, b) if len(at) else (np.nan, np.nan, 0)
        if n >= 1:
            sign = "negative" if mean < 0 else "positive"
            per_comparison.append(MeasuredComparison(c, mean, n, sign == c.sign))
    return AgainstPredictions(
        tuple(per_run), tuple(per_comparison), covered=sum(r.covered for r in per_run), compared=len(per_run),
        mean_absolute_error=float(np.mean([abs(r.error) for r in per_run])) if per_run else float("nan"),
        signs_right=sum(c.sign_right for c in per_comparison), signs_compared=len(per_comparison))


def _predicted_comparisons(warp, theta, thetas, pools):
    out = []
    for pool in pools:
        half = pool * CLAIM_THRESHOLD
        for name, (a, b) in {
            "random f = 0.5 - f = 1": (("random", half, 0.5), ("random", pool, 1.0)),
            "keep-hard f = 0.5 - f = 1": (("hard", half, 0.5), ("random", pool, 1.0)),
            "keep-hard - random, f = 0.5": (("hard", half, 0.5), ("random", half, 0.5)),
        }.items():
            diff = lambda w, t: float(predict_error(w, t, a[1], a[2], a[0]) - predict_error(w, t, b[1], b[2], b[0]))
            central = diff(warp, theta)
            corners = [diff(w, t) for w in _warp_corners(warp, half) for t in thetas] + [central]
            out.append(PredictedComparison(int(pool), name, central, (min(corners), max(corners)),
                                           "negative" if central < 0 else "positive",
                                           bool(min(corners) > 0 or max(corners) < 0)))
    return tuple(out)


def _warp_corners(warp, n):
    """Warps whose power law passes through the low and the high end of the 95% band at ``n``."""
    low, high = calibrate.warp_band(warp, np.atleast_1d(n))
    central = warp.random_error(n)
    return [warp._replace(amplitude=warp.amplitude * float(np.ravel(edge / central)[0])) for edge in (low, high)]


def _relative_seed_spread(frame):
    spread = frame.groupby(["pool_size", "metric", "policy", "keep_fraction"]).test_error.agg(["std", "mean", "count"])
    spread = spread[spread["count"] > 1]
    return float(np.median(spread["std"] / spread["mean"]))


def _random_points(frame):
    """Random pruning's mean error per kept size (a kept size two pools share is one point)."""
    runs = main_runs(frame)
    stats = runs[runs.policy == "random"].groupby("n_train").test_error.agg(["mean", "std", "count"]).reset_index()
    stats["se"] = stats["std"] / np.sqrt(stats["count"])
    return stats.assign(se=pooled_stderr(stats))


def _fit_warp(frame):
    points = _random_points(frame)
    return calibrate.fit_warp(points.n_train.values, points["mean"].values, points.se.values), points


def _pruned_points(frame, metric):
    rows = []
    for (pool, m, policy), stats in curves(main_runs(frame)).items():
        if m == metric and policy in ("hard", "easy"):
            pruned = stats[stats.n_train < pool]
            rows.append(pruned.assign(se=pooled_stderr(pruned), pool_size=pool, policy=policy,
                                      keep_fraction=pruned.n_train / pool))
    return pd.concat(rows, ignore_index=True)
