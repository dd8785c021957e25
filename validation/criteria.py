"""The pre-registered criteria of the fair CIFAR-10 test (docs/validation.md, "The fair test: protocol").

Each takes the runs table (one row per run: metric, policy, pool_size,
keep_fraction, n_train, seed, test_error, and the budget columns) and pairs
runs by seed: seed s fixes the pool, the initialisation and the data order,
so differences are taken seed by seed and their spread gives the interval.
The criteria were fixed, and tested on synthetic tables whose answer is
known, before the runs they judge.

0. :func:`pilot_budget`: the budget ``S`` from the pilot (the knee).
1. :func:`lossless`: the paired one-sided 95% upper bound of
   ``error(f) - error(1)`` is below ``tolerance`` (0.5 percentage points).
2. :func:`crossover`: the paired sign of ``error(hard) - error(easy)`` at a
   fixed keep fraction changes between pool sizes.
3. :func:`beats_power_law`: a fixed-f keep-hard curve across pool sizes is
   steeper in log-log than the random curve over the same kept sizes (the
   Student t interval of the per-seed slope differences excludes 0) and lies
   below it at the largest kept size (paired upper bound below 0).

A table that mixes budget rules, step counts, configs or devices within a
comparison is refused (:func:`check_comparable`).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats

LOSSLESS_TOLERANCE = 0.005  # 0.5 percentage points of test error
LEVEL = 0.95
COMPARABLE = ("budget", "steps", "config", "device")  # must be one value within a comparison


def check_comparable(frame: pd.DataFrame, by: Sequence[str] = ("pool_size",)) -> pd.DataFrame:
    """``frame`` if every comparison group shares its budget, steps, config and device; else a clear error.

    Steps may differ between pools only where ``by`` includes the pool."""
    for key, group in frame.groupby(list(by)):
        for column in COMPARABLE:
            if column in group and group[column].nunique() > 1:
                values = sorted(map(str, group[column].unique()))
                raise ValueError(f"runs for {dict(zip(by, np.atleast_1d(key)))} mix {column} {values}: not comparable")
    return frame


def paired_difference(frame: pd.DataFrame, a: dict, b: dict) -> tuple[float, float, int]:
    """Mean and standard error over seeds of ``error(a) - error(b)``, where ``a`` and ``b`` select one run per seed."""
    ea, eb = (by_seed(frame, sel) for sel in (a, b))
    seeds = sorted(set(ea.index) & set(eb.index))
    d = (ea[seeds] - eb[seeds]).to_numpy(float)
    se = d.std(ddof=1) / np.sqrt(d.size) if d.size > 1 else np.inf
    return float(d.mean()) if d.size else np.nan, float(se), d.size


def selected(frame: pd.DataFrame, selection: dict) -> pd.DataFrame:
    """The runs that match every ``column=value`` of ``selection`` (a float value matches to rounding)."""
    rows = frame
    for column, value in selection.items():
        rows = rows[np.isclose(rows[column], value)] if isinstance(value, float) else rows[rows[column] == value]
    return rows


def has_seeds(frame: pd.DataFrame, seeds: int = 2, /, **selection: Any) -> bool:
    """Whether the runs of ``selection`` cover at least ``seeds`` seeds."""
    return bool(selected(frame, selection).seed.nunique() >= seeds)


def by_seed(frame: pd.DataFrame, selection: dict, column: str = "test_error") -> pd.Series:
    """``column`` of the runs of ``selection``, one per seed and indexed by it (two runs of one seed are not a pair)."""
    rows = selected(frame, selection)
    if rows.seed.duplicated().any():
        raise ValueError(f"more than one run per seed for {selection}: duplicate runs are not pairs")
    return rows.set_index("seed")[column]


def upper_bound(mean: float, se: float, n: int, level: float = LEVEL) -> float:
    """One-sided upper bound of a paired mean (Student t with n - 1 degrees of freedom)."""
    return mean + stats.t.ppf(level, n - 1) * se if n > 1 else np.inf


def lower_bound(mean: float, se: float, n: int, level: float = LEVEL) -> float:
    """One-sided lower bound of a paired mean (Student t with n - 1 degrees of freedom)."""
    return mean - stats.t.ppf(level, n - 1) * se if n > 1 else -np.inf


def interval(mean: float, se: float, n: int, level: float = LEVEL) -> tuple[float, float]:
    """Two-sided interval of a paired mean (Student t with n - 1 degrees of freedom)."""
    half = stats.t.ppf(0.5 + level / 2, n - 1) * se if n > 1 else np.inf
    return mean - half, mean + half


def _full(pool):
    return dict(pool_size=pool, keep_fraction=1.0)


def lossless(frame: pd.DataFrame, pool: int, metric: str, policy: str, tolerance: float = LOSSLESS_TOLERANCE) -> dict:
    """Per keep fraction, the paired loss against keeping the whole pool and whether it is lossless.

    Returns ``{"points": [...], "smallest_lossless": f or None}``: the smallest f such that it and every
    larger f run are lossless."""
    check_comparable(frame[frame.pool_size == pool])
    rows = frame[(frame.pool_size == pool) & (frame.policy == policy) & (frame.keep_fraction < 1)]
    if policy != "random":
        rows = rows[rows.metric == metric]
    points = []
    for f in sorted(rows.keep_fraction.unique(), reverse=True):
        sel = dict(pool_size=pool, keep_fraction=float(f), policy=policy) | ({} if policy == "random" else {"metric": metric})
        mean, se, n = paired_difference(frame, sel, _full(pool))
        upper = upper_bound(mean, se, n)
        points.append(dict(keep_fraction=float(f), loss=mean, stderr=se, seeds=n, upper95=upper, lossless=bool(upper < tolerance)))
    smallest = None
    for p in points:  # from f near 1 down: lossless until the first loss
        if not p["lossless"]:
            break
        smallest = p["keep_fraction"]
    return dict(pool_size=pool, metric=metric, policy=policy, tolerance=tolerance, points=points, smallest_lossless=smallest)


def claim_lossless(frame: pd.DataFrame, pool: int, metric: str = "el2n", threshold: float = 0.5) -> dict:
    """Claim 1: keep-hard by ``metric`` is lossless at some f <= ``threshold`` where random pruning is not.

    Lossless at f means lossless at f and at every larger f run (``smallest_lossless``): a lone pass at small f
    below a failed larger f is noise, not a witness (tightened before any EL2N run of the fair plan)."""
    hard, rand = lossless(frame, pool, metric, "hard"), lossless(frame, pool, metric, "random")
    random_at = {p["keep_fraction"]: p["lossless"] for p in rand["points"]}
    floor = hard["smallest_lossless"]
    witnesses = [
        p["keep_fraction"]
        for p in hard["points"]
        if floor is not None
        and floor <= p["keep_fraction"] <= threshold
        and random_at.get(p["keep_fraction"]) is False
    ]
    return dict(holds=bool(witnesses), at=witnesses, hard=hard, random=rand)


def crossover(frame: pd.DataFrame, metric: str = "el2n") -> dict:
    """Per pool and keep fraction, the paired winner of keep-hard against keep-easy: hard, easy or unresolved
    (the two-sided 95% interval of the difference contains 0).  ``changes`` lists the keep fractions where a
    resolved winner differs between pools, and ``holds`` says whether any does."""
    rows = frame[(frame.metric == metric) & frame.policy.isin(["hard", "easy"])]
    table: list[dict[str, Any]] = []
    for (pool, f), _ in rows.groupby(["pool_size", "keep_fraction"]):
        check_comparable(frame[frame.pool_size == pool])
        sel = dict(pool_size=pool, keep_fraction=float(f), metric=metric)
        mean, se, n = paired_difference(frame, sel | {"policy": "hard"}, sel | {"policy": "easy"})
        lo, hi = interval(mean, se, n)
        winner = "hard" if hi < 0 else "easy" if lo > 0 else "unresolved"
        table.append(dict(pool_size=int(pool), keep_fraction=float(f), hard_minus_easy=mean, ci95=[lo, hi], winner=winner))
    changes = []
    for f in sorted({t["keep_fraction"] for t in table}):
        resolved = {t["winner"] for t in table if t["keep_fraction"] == f} - {"unresolved"}
        if len(resolved) == 2:
            changes.append(f)
    return dict(metric=metric, points=table, changes=changes, holds=bool(changes))


def _seed_sums(rows):
    """Per seed and kept size: the sum of the runs' errors and their count (a seed may hold two runs of one size)."""
    grouped = rows.groupby(["seed", "n_train"]).test_error
    sums, counts = grouped.sum().unstack(fill_value=0.0), grouped.count().unstack(fill_value=0)
    return sums, counts


def _slopes(weights, sums, counts):
    """Log-log slope of the seed-weighted mean curve, one per row of ``weights`` [B, seeds].

    A kept size that no chosen seed has drops out, as ``dropna`` would; the slope is the least-squares one."""
    total, n = weights @ sums.to_numpy(), weights @ counts.to_numpy()
    present = n > 0
    y = np.log(np.where(present, total, 1.0) / np.where(present, n, 1.0))
    x = np.broadcast_to(np.log(sums.columns.to_numpy(float)), y.shape)
    k = present.sum(-1)
    x_mean = np.where(present, x, 0.0).sum(-1) / k
    y_mean = np.where(present, y, 0.0).sum(-1) / k
    dx, dy = np.where(present, x - x_mean[:, None], 0.0), np.where(present, y - y_mean[:, None], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(k >= 2, (dx * dy).sum(-1) / (dx * dx).sum(-1), np.nan)


def beats_power_law(frame: pd.DataFrame, keep_fraction: float, metric: str = "el2n", policy: str = "hard") -> dict:
    """Claim 3 for one keep fraction: the fixed-f curve across pools against the random curve.

    The fixed-f curve is the error at kept size ``f * pool`` for every pool; the random curve is random
    pruning's error over the kept sizes in the same range.  Each seed gives both log-log slopes (a seed with a
    single kept size has none), and the per-seed slope differences give a Student t interval: two or three
    seeds are too few for a bootstrap, which could only return the seeds' own values."""
    check_comparable(frame, by=("pool_size",))
    f = float(keep_fraction)
    curve = frame[np.isclose(frame.keep_fraction, f) & (frame.metric == metric) & (frame.policy == policy)]
    if curve.pool_size.nunique() < 2:
        raise ValueError(f"the fixed-f curve at f = {f:g} needs runs on at least two pool sizes")
    lo, hi = curve.n_train.min(), curve.n_train.max()
    randoms = frame[(frame.policy == "random") & frame.n_train.between(lo, hi)]
    if randoms.n_train.nunique() < 2:
        raise ValueError(f"the random curve needs runs at two or more kept sizes in [{lo}, {hi}]")
    seeds = np.array(sorted(set(curve.seed) & set(randoms.seed)))
    # row 0: the mean curve over every seed; then one row per seed alone
    weights = np.vstack([np.ones(seeds.size), np.eye(seeds.size)])

    def slopes(rows):
        sums, counts = _seed_sums(rows)
        sums, counts = sums.reindex(seeds, fill_value=0.0), counts.reindex(seeds, fill_value=0)
        return _slopes(weights, sums, counts)

    curve_slopes, random_slopes = slopes(curve), slopes(randoms)
    per_seed = curve_slopes[1:] - random_slopes[1:]
    usable = np.isfinite(per_seed)
    d = per_seed[usable]
    se = d.std(ddof=1) / np.sqrt(d.size) if d.size > 1 else np.inf
    ci = [float(v) for v in interval(float(d.mean()) if d.size else np.nan, se, d.size)]
    pool = int(curve[curve.n_train == hi].pool_size.iloc[0])
    at_largest = paired_difference(  # against random pruning to the same kept size of the same pool
        frame,
        dict(keep_fraction=f, metric=metric, policy=policy, pool_size=pool),
        dict(policy="random", n_train=int(hi), pool_size=pool),
    )
    below = upper_bound(*at_largest) < 0
    steeper = ci[1] < 0
    return dict(
        keep_fraction=f,
        metric=metric,
        policy=policy,
        slope=float(curve_slopes[0]),
        random_slope=float(random_slopes[0]),
        per_seed_slope_differences=d.tolist(),
        slope_seeds=[int(x) for x in seeds[usable]],
        slope_difference_ci95=ci,
        steeper=bool(steeper),
        steeper_in_every_seed=bool(d.size > 0 and (d < 0).all()),
        largest_kept=int(hi),
        difference_at_largest=at_largest[0],
        stderr_at_largest=at_largest[1],
        seeds_at_largest=at_largest[2],
        upper95_at_largest=float(upper_bound(*at_largest)),
        below_random=bool(below),
        holds=bool(steeper and below),
    )


def pilot_budget(frame: pd.DataFrame, tolerance: float = LOSSLESS_TOLERANCE) -> dict:
    """The fair test's budget ``S``: the smallest pilot budget whose paired mean error is within ``tolerance`` of
    the next larger budget's (doubling the steps gains less than the lossless tolerance), else the largest.

    ``frame`` holds the pilot's runs: random, f = 1, one pool, budget rule ``steps``, several ``steps`` values and
    the same seeds at each.  Returns ``{"steps": S, "points": [...]}``."""
    runs = frame[(frame.policy == "random") & (frame.keep_fraction == 1.0)]
    if runs.pool_size.nunique() != 1 or set(runs.budget) != {"steps"}:
        raise ValueError("the pilot table must hold random f = 1 runs of one pool under the steps rule")
    budgets = sorted(runs.steps.unique())
    if len(budgets) < 2:
        raise ValueError("the pilot needs at least two budgets to compare")
    points = []
    for small, large in zip(budgets, budgets[1:]):
        gain, se, n = paired_difference(runs, dict(steps=int(small)), dict(steps=int(large)))
        points.append(dict(steps=int(small), next_steps=int(large), gain=gain, stderr=se, seeds=n, enough=bool(gain < tolerance)))
    chosen = next((p["steps"] for p in points if p["enough"]), int(budgets[-1]))
    return dict(steps=chosen, tolerance=tolerance, points=points)
