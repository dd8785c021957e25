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

A comparison whose paired runs trained on different CPU models is flagged (runs are bit-exact on one model only).

The predictions (:func:`predictions`) come from the fair test's main table alone, through the warped
calibration (:class:`validation.calibrate.Warp`): the random curve's power law gives every random run, and one
EL2N angle, fitted to the main table's keep-hard and keep-easy curves, gives the keep-hard runs.  The theory
says nothing about training length, so the 7,814-step runs are not predicted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from prunescale.store import to_json

from . import calibrate, criteria
from .analysis import curves, pooled_stderr
from .verdicts import CLAIM_THRESHOLD, FULL_POOL, VERDICTS, full_pool_comparison, main_runs

if TYPE_CHECKING:
    from .jobs import Job

SEEDS = 3  # every point of the plan runs seeds 3, 4 and 5
SCALE_STEPS = 3907  # the budget the predictions are for (the theory says nothing about training length)
METRIC = "el2n"
CLAIM_3_POOLS = (12500, 25000, FULL_POOL)


# -- reading rules -------------------------------------------------------------------------------------------


def claim_1_at_budget(frame: pd.DataFrame, steps: int) -> dict:
    """Claim 1 on the 50k pool at one budget (module docstring)."""
    runs = main_runs(frame)
    runs = runs[(runs.steps == steps) & (runs.pool_size == FULL_POOL)]
    points = [dict(policy="random", keep_fraction=f) for f in (1.0, CLAIM_THRESHOLD)]
    points.append(dict(policy="hard", keep_fraction=CLAIM_THRESHOLD, metric=METRIC))
    missing = [p for p in points if not criteria.has_seeds(runs, SEEDS, pool_size=FULL_POOL, **p)]
    if missing:
        return dict(steps=int(steps), complete=False, verdict=VERDICTS[2], missing=missing)
    reading = to_json(full_pool_comparison(runs, metric=METRIC))  # the 50k readings are plain records
    outcome = {p["policy"]: p["outcome"] for p in reading["losses"]}
    if outcome["hard"] == "lossless" and outcome["random"] != "lossless":
        verdict = VERDICTS[0]
    elif outcome["hard"] == "loses more than the tolerance" or outcome["random"] == "lossless":
        verdict = VERDICTS[1]
    else:
        verdict = VERDICTS[2]
    return dict(steps=int(steps), complete=True, verdict=verdict) | reading


def budget_interaction(frame: pd.DataFrame, policy: str, budgets: Sequence[int]) -> dict:
    """The loss of ``policy`` at f = 0.5 against the whole pool, at the larger budget minus the smaller, paired by
    seed, with its two-sided 95% interval: grows where the interval lies above 0, shrinks below, else unresolved."""
    runs = main_runs(frame)
    runs = runs[runs.pool_size == FULL_POOL]
    small, large = sorted(budgets)
    pruned = dict(policy=policy, keep_fraction=CLAIM_THRESHOLD) | ({"metric": METRIC} if policy != "random" else {})
    whole = dict(policy="random", keep_fraction=1.0)
    if not all(criteria.has_seeds(runs, SEEDS, steps=s, **p) for s in (small, large) for p in (pruned, whole)):
        return dict(policy=policy, complete=False)
    loss = {s: criteria.by_seed(runs[runs.steps == s], pruned) - criteria.by_seed(runs[runs.steps == s], whole) for s in (small, large)}
    change = (loss[large] - loss[small]).dropna()
    mean, se, n = float(change.mean()), float(change.std(ddof=1) / np.sqrt(change.size)), int(change.size)
    low, high = criteria.interval(mean, se, n)
    outcome = "grows" if low > 0 else "shrinks" if high < 0 else "unresolved"
    return dict(policy=policy, complete=True, steps=[int(small), int(large)], change=mean, ci95=[float(low), float(high)],
                seeds=n, outcome=outcome)


def claim_3_at_scale(frame: pd.DataFrame, steps: int) -> dict:
    """Claim 3 across kept sizes of 6.25k to 25k (module docstring)."""
    runs = main_runs(frame)
    runs = runs[(runs.steps == steps) & runs.pool_size.isin(CLAIM_3_POOLS)]
    needed = [dict(pool_size=p, policy=pol, keep_fraction=CLAIM_THRESHOLD) for p in CLAIM_3_POOLS for pol in ("random", "hard")]
    missing = [p for p in needed if not criteria.has_seeds(runs, SEEDS, **p)]
    if missing:
        return dict(steps=int(steps), complete=False, verdict=VERDICTS[2], missing=missing)
    result = criteria.beats_power_law(runs, CLAIM_THRESHOLD, metric=METRIC)
    flatter = result["slope_difference_ci95"][0] > 0
    above = criteria.lower_bound(result["difference_at_largest"], result["stderr_at_largest"], result["seeds_at_largest"]) > 0
    verdict = VERDICTS[0] if result["holds"] else VERDICTS[1] if flatter or above else VERDICTS[2]
    return dict(steps=int(steps), complete=True, verdict=verdict) | result


def mixed_machines(frame: pd.DataFrame, comparisons: Sequence[tuple[str, dict, dict]]) -> list:
    """The comparisons (pairs of run selections) in which some seed's two runs trained on different CPU models."""
    if "cpu_model" not in frame:
        return []
    flagged = []
    for name, a, b in comparisons:
        models = [criteria.by_seed(frame, a, "cpu_model"), criteria.by_seed(frame, b, "cpu_model")]
        both = pd.concat(models, axis=1, join="inner").dropna()
        differ = both[both.iloc[:, 0] != both.iloc[:, 1]]
        if len(differ):
            flagged.append(dict(comparison=name, seeds=[int(s) for s in differ.index],
                                cpu_models=sorted(set(differ.iloc[:, 0]) | set(differ.iloc[:, 1]))))
    return flagged


def _comparisons(budgets):
    whole = dict(pool_size=FULL_POOL, policy="random", keep_fraction=1.0)
    half = lambda policy, pool=FULL_POOL: dict(pool_size=pool, policy=policy, keep_fraction=CLAIM_THRESHOLD)
    out = []
    for s in budgets:
        out += [(f"{s} steps: random f = 0.5 - f = 1", half("random") | {"steps": s}, whole | {"steps": s}),
                (f"{s} steps: keep-hard f = 0.5 - f = 1", half("hard") | {"steps": s}, whole | {"steps": s}),
                (f"{s} steps: keep-hard - random, f = 0.5", half("hard") | {"steps": s}, half("random") | {"steps": s})]
    for s in budgets[1:]:
        out.append((f"keep-hard f = 0.5, {s} against {budgets[0]} steps", half("hard") | {"steps": s}, half("hard") | {"steps": budgets[0]}))
    return out


def verdicts(frame: pd.DataFrame, budgets: Sequence[int] = (3907, 7814)) -> dict:
    """Every reading of the 50k test from its runs table (incomplete parts say so and name what is missing)."""
    budgets = tuple(int(b) for b in budgets)
    return dict(
        claim_1=[claim_1_at_budget(frame, s) for s in budgets],
        budget_interaction=[budget_interaction(frame, policy, budgets) for policy in ("random", "hard")],
        claim_3=claim_3_at_scale(frame, budgets[0]),
        mixed_machines=mixed_machines(main_runs(frame), _comparisons(budgets)),
        runs=int(len(frame)),
    )


# -- predictions ---------------------------------------------------------------------------------------------


def warped_calibration(frame: pd.DataFrame, metric: str = METRIC) -> dict:
    """The warp fitted to the random runs and one angle to ``metric``'s keep-hard and keep-easy curves, with the
    chi-square per degree of freedom of every curve (the random curve has two parameters, the pruned curves share
    one)."""
    warp, points = _fit_warp(frame)
    pruned = _pruned_points(frame, metric)
    angle = calibrate.fit_theta(pruned.n_train.values, pruned["mean"].values, pruned.se.values,
                                pruned.keep_fraction.values, pruned.policy.values, warp)
    predicted = predict_error(warp, angle.theta, pruned.n_train.values, pruned.keep_fraction.values, pruned.policy.values)
    pruned = pruned.assign(predicted=predicted, chi=(predicted - pruned["mean"].values) / pruned.se.values)
    per_curve = [dict(curve="random", points=int(len(points)), chi2=warp.chi2, dof=int(len(points) - 2),
                      chi2_per_dof=warp.chi2 / max(1, len(points) - 2))]
    for (pool, policy), rows in pruned.groupby(["pool_size", "policy"]):
        chi2 = float(np.sum(rows.chi**2))
        per_curve.append(dict(curve=f"pool {pool}, {metric} keep {policy}", points=int(len(rows)), chi2=chi2,
                              dof=int(len(rows)), chi2_per_dof=chi2 / len(rows)))
    return dict(
        warp=dict(amplitude=warp.amplitude, exponent=warp.exponent, cov=[list(r) for r in warp.cov], chi2=warp.chi2,
                  points=warp.points),
        theta=angle.theta, theta_ci95=list(angle.ci95), chi2=angle.chi2, pruned_points=int(len(pruned)),
        per_curve=per_curve,
    )


def held_out(frame: pd.DataFrame, metric: str = METRIC) -> list:
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
        points = [dict(policy=str(p), keep_fraction=float(n / pool), measured=float(m), predicted=float(q))
                  for p, n, m, q in zip(target.policy, target.n_train, target["mean"], predicted)]
        out.append(dict(held_out_pool=int(pool), theta=angle.theta, points=points, chi2_per_point=float(np.mean(chi**2))))
    return out


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


def predictions(frame: pd.DataFrame, jobs: Sequence[Job], metric: str = METRIC) -> dict:
    """Each planned run's predicted test error with a 95% interval, and each comparison's predicted size and sign.

    The interval joins the calibration's uncertainty (the power law's 95% band and the angle's 95% interval,
    every combination) with one run's seed-to-seed spread in the main table (the median relative standard
    deviation of a point over seeds, times 1.96)."""
    calibration = warped_calibration(frame, metric)
    warp, _ = _fit_warp(frame)
    theta, thetas = calibration["theta"], calibration["theta_ci95"]
    spread = _relative_seed_spread(main_runs(frame))
    runs = []
    for job in jobs:
        n, f, policy = round(job.keep_fraction * job.pool_size), job.keep_fraction, job.policy
        central = float(predict_error(warp, theta, n, f, policy))
        corners = [float(predict_error(w, t, n, f, policy)) for w in _warp_corners(warp, n) for t in thetas]
        low, high = min(corners + [central]), max(corners + [central])
        runs.append(dict(config_hash=job.key, pool_size=job.pool_size, keep_fraction=f, policy=policy, seed=job.seed,
                         steps=job.steps, n_train=n, predicted=central,
                         interval95=[low * (1 - 1.96 * spread), high * (1 + 1.96 * spread)]))
    return dict(calibration=calibration, relative_seed_spread=spread, runs=runs,
                comparisons=_predicted_comparisons(warp, theta, thetas, sorted({j.pool_size for j in jobs})))


COMPARED = {  # each predicted comparison as (selection a, selection b), measured as a minus b paired by seed
    "random f = 0.5 - f = 1": (dict(policy="random", keep_fraction=0.5), dict(policy="random", keep_fraction=1.0)),
    "keep-hard f = 0.5 - f = 1": (dict(policy="hard", metric=METRIC, keep_fraction=0.5), dict(policy="random", keep_fraction=1.0)),
    "keep-hard - random, f = 0.5": (dict(policy="hard", metric=METRIC, keep_fraction=0.5), dict(policy="random", keep_fraction=0.5)),
}


def predicted_against_measured(frame: pd.DataFrame, predicted: dict) -> dict:
    """The committed predictions (:func:`predictions`) against the runs measured so far: each run's measured minus
    predicted error and whether its 95% interval covered it; each comparison's measured paired mean (every seed
    run so far) and whether its sign is the predicted one; and the counts."""
    runs = main_runs(frame).set_index("config_hash")
    per_run = []
    for r in predicted["runs"]:
        if r["config_hash"] in runs.index:
            measured = float(runs.loc[r["config_hash"], "test_error"])
            low, high = r["interval95"]
            per_run.append(dict(r, measured=measured, error=measured - r["predicted"], covered=bool(low <= measured <= high)))
    per_comparison = []
    for c in predicted["comparisons"]:
        at = main_runs(frame)
        at = at[(at.pool_size == c["pool_size"]) & (at.steps == SCALE_STEPS)]
        a, b = COMPARED[c["comparison"]]
        mean, _, n = criteria.paired_difference(at, a, b) if len(at) else (np.nan, np.nan, 0)
        if n >= 1:
            sign = "negative" if mean < 0 else "positive"
            per_comparison.append(dict(c, measured=mean, seeds=n, sign_right=sign == c["sign"]))
    return dict(runs=per_run, comparisons=per_comparison,
                covered=sum(r["covered"] for r in per_run), compared=len(per_run),
                mean_absolute_error=float(np.mean([abs(r["error"]) for r in per_run])) if per_run else float("nan"),
                signs_right=sum(c["sign_right"] for c in per_comparison), signs_compared=len(per_comparison))


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
            out.append(dict(pool_size=int(pool), comparison=name, predicted=central, range=[min(corners), max(corners)],
                            sign="negative" if central < 0 else "positive",
                            sign_certain=bool(min(corners) > 0 or max(corners) < 0)))
    return out


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
