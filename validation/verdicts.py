"""Plain verdicts on the paper's three claims from the fair test's table (docs/validation.md).

Each claim gets one of :data:`VERDICTS`, with the numbers and intervals behind it, from the
pre-registered criteria of :mod:`validation.criteria`:

1. Lossless pruning (pool ``LOSSLESS_POOL``): **reproduced** where
   :func:`criteria.claim_lossless` holds; **not reproduced** where EL2N keep-hard loses
   more than the tolerance at every tested f <= 0.5 (one-sided 95% lower bound above it),
   or where it is lossless only where random pruning is lossless too (no advantage);
   otherwise **undecided at this scale**.  Judged once random and keep-hard at
   ``CLAIM_1_FRACTIONS`` have the protocol's ``CLAIM_1_SEEDS`` seeds.
2. Crossover: **reproduced** where :func:`criteria.crossover` holds; **not reproduced**
   where, at every keep fraction run on two or more pools, every pool has the same
   resolved winner; otherwise undecided.
3. Beats the power law (f in ``POWER_LAW_FRACTIONS``): **reproduced** where
   :func:`criteria.beats_power_law` holds at one of them; **not reproduced** where at
   each the curve is flatter than random (the slope difference's interval lies above 0)
   or above random at the largest kept size (lower bound above 0); otherwise undecided.

Beside the claims, reported and never part of them: class-balanced against plain pruning, (in
its own table) each score-based policy against random at high compression (:func:`compression_comparison`), and
(in its own table, with its own budget) half of the whole 50k training set (:func:`full_pool_comparison`).

A claim whose runs are missing is undecided, with ``complete: False`` and the missing
runs named, so a partial table is never read as an answer. Claims 2 and 3, which compare pools, wait
until every pool in the table has its pruned runs with two seeds for each policy they read.  These rules were committed
before the EL2N runs of the fair plan that they judge.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Sequence

import numpy as np
import pandas as pd

from . import criteria

if TYPE_CHECKING:
    from .selection import SelectionPolicy

Verdict = Literal["reproduced", "not reproduced", "undecided at this scale"]
VERDICTS: tuple[Verdict, Verdict, Verdict] = ("reproduced", "not reproduced", "undecided at this scale")
LOSSLESS_POOL = 10000
POWER_LAW_FRACTIONS = (0.5, 0.3)
CLAIM_THRESHOLD = 0.5  # claim 1 is about keeping half of the data or less
CLAIM_1_FRACTIONS = (1.0, 0.7, CLAIM_THRESHOLD)  # the points that decide claim 1 (docs/validation.md, the protocol) ...
CLAIM_1_SEEDS = 3  # ... which the protocol runs with three seeds; everywhere else two


@dataclass(frozen=True)
class Claim:
    """One claim's verdict, the reason in words, and the evidence (the criteria's numbers, as
    :mod:`validation.criteria` gives them), or the runs still missing."""

    claim: str  # "1", "2" or "3"
    verdict: Verdict
    reason: str
    complete: bool  # False: runs are missing, and the verdict waits for them
    pool_size: int | None = None  # claim 1's pool
    missing: tuple[dict, ...] | None = None
    details: Any = None


@dataclass(frozen=True)
class AgainstRandom:
    """One policy minus random pruning to the same keep fraction, paired by seed, with its two-sided 95% interval
    and its outcome (:data:`COMPRESSION_OUTCOMES`)."""

    keep_fraction: float
    policy: str
    pool_size: int
    complete: bool
    minus_random: float | None = None
    ci95: tuple[float, float] | None = None
    seeds: int | None = None
    outcome: str | None = None


@dataclass(frozen=True)
class ClassBalance:
    """Class-balanced against plain pruning for one policy (``balanced_minus_plain``), or class-balanced keep-hard
    against class-balanced random (``policy`` "hard - random"), paired by seed."""

    policy: str
    complete: bool
    balanced_minus_plain: float | None = None
    balanced_hard_minus_balanced_random: float | None = None
    ci95: tuple[float, float] | None = None
    seeds: int | None = None


@dataclass(frozen=True)
class Loss:
    """A policy at the keep fraction against the whole pool, with one-sided 95% bounds and its outcome
    (:data:`LOSS_OUTCOMES`)."""

    policy: str
    complete: bool
    loss: float | None = None
    lower95: float | None = None
    upper95: float | None = None
    seeds: int | None = None
    outcome: str | None = None


@dataclass(frozen=True)
class FullPool:
    """The whole training set as the pool: each policy's loss at the keep fraction, and keep-hard against random."""

    pool_size: int
    keep_fraction: float
    tolerance: float
    losses: tuple[Loss, ...]
    hard_minus_random: AgainstRandom


@dataclass(frozen=True)
class Verdicts:
    """Everything read from one runs table; ``store.to_json`` writes it, ``store.from_json(Verdicts, ...)`` reads it."""

    claims: tuple[Claim, ...]
    class_balance: tuple[ClassBalance, ...]
    compression: tuple[AgainstRandom, ...]
    runs: int
    full_pool: FullPool | None = None  # None where the table has no run on the whole training set


def main_runs(frame: pd.DataFrame) -> pd.DataFrame:
    """The runs the claims are judged on: class-balanced pruning is a separate, reported comparison."""
    return frame[~frame.class_balanced.astype(bool)] if "class_balanced" in frame else frame


def claim_1(frame: pd.DataFrame, pool: int = LOSSLESS_POOL, metric: str = "el2n", threshold: float = CLAIM_THRESHOLD) -> Claim:
    """Verdict on "about half of the data can be pruned without loss" (see the module docstring)."""
    frame = main_runs(frame)
    needed = [
        dict(pool_size=pool, keep_fraction=f, policy=p)
        for f in CLAIM_1_FRACTIONS
        for p in (("random",) if f == 1 else ("random", "hard"))
    ]
    missing = [n | dict(seeds=CLAIM_1_SEEDS) for n in needed if not criteria.has_seeds(frame, CLAIM_1_SEEDS, **n)]
    if missing:
        return _pending("1", missing)
    result = criteria.claim_lossless(frame, pool, metric, threshold)
    small = [p for p in result["hard"]["points"] if p["keep_fraction"] <= threshold]
    for p in small:
        p["lower95"] = float(criteria.lower_bound(p["loss"], p["stderr"], p["seeds"]))
    random_lossless = {p["keep_fraction"] for p in result["random"]["points"] if p["lossless"]}
    if result["holds"]:
        verdict, why = VERDICTS[0], f"keep-hard is lossless at f = {result['at']} where random pruning is not"
    elif all(p["lower95"] > result["hard"]["tolerance"] for p in small):
        verdict, why = VERDICTS[1], "keep-hard loses more than the tolerance at every f <= 0.5 (95% lower bound)"
    elif any(p["lossless"] and p["keep_fraction"] in random_lossless for p in small):
        verdict, why = VERDICTS[1], "keep-hard is lossless only where random pruning is lossless too"
    else:
        verdict, why = VERDICTS[2], "the intervals neither exclude nor establish a loss of 0.5 pp at f <= 0.5"
    result["hard_minus_random"] = [  # reported beside the rule, never part of it
        dict(keep_fraction=p["keep_fraction"]) | _minus_random(frame, pool, p["keep_fraction"], "hard", metric)
        for p in result["hard"]["points"]
    ]
    return Claim("1", verdict, why, complete=True, pool_size=pool, details=result)


def _minus_random(frame, pool, keep_fraction, policy, metric):
    """``policy`` minus random pruning to the same f of ``pool``, paired by seed, with its two-sided 95% interval."""
    at = dict(pool_size=pool, keep_fraction=float(keep_fraction))
    scored, random = at | dict(metric=metric, policy=policy), at | dict(policy="random")
    if not (criteria.has_seeds(frame, **scored) and criteria.has_seeds(frame, **random)):
        return dict(complete=False)
    mean, se, n = criteria.paired_difference(frame, scored, random)
    return dict(complete=True, minus_random=mean, ci95=[float(c) for c in criteria.interval(mean, se, n)], seeds=n)


def claim_2(frame: pd.DataFrame, metric: str = "el2n") -> Claim:
    """Verdict on "keep easy examples when data is scarce, hard ones when it is plentiful"."""
    frame = main_runs(frame)
    rows = frame[(frame.metric == metric) & frame.policy.isin(["hard", "easy"])]
    both = rows.groupby(["keep_fraction", "pool_size"]).policy.nunique().eq(2)  # pools with both policies at f
    pools_per_f = both[both].reset_index().groupby("keep_fraction").pool_size.nunique()
    missing = _unfinished(frame, ("hard", "easy"), metric)
    if pools_per_f.empty or pools_per_f.max() < 2:
        missing.append(dict(policy="hard and easy", note="at one keep fraction on two or more pools"))
    if missing:
        return _pending("2", missing)
    result = criteria.crossover(frame, metric)
    shared = pools_per_f[pools_per_f >= 2].index
    settled = all(
        len({p["winner"] for p in result["points"] if np.isclose(p["keep_fraction"], f)}) == 1
        and all(p["winner"] != "unresolved" for p in result["points"] if np.isclose(p["keep_fraction"], f))
        for f in shared
    )
    if result["holds"]:
        verdict, why = VERDICTS[0], f"the paired winner changes with the pool at f = {result['changes']}"
    elif settled:
        verdict, why = VERDICTS[1], "the same resolved winner on every pool at every keep fraction"
    else:
        verdict, why = VERDICTS[2], "some winners are unresolved (their 95% interval contains 0)"
    return Claim("2", verdict, why, complete=True, details=result)


def claim_3(frame: pd.DataFrame, fractions: Sequence[float] = POWER_LAW_FRACTIONS, metric: str = "el2n") -> Claim:
    """Verdict on "pruning beats power-law scaling": fixed-f keep-hard curves across pools against random."""
    frame = main_runs(frame)
    results, missing = [], []
    for f in fractions:
        curve = frame[np.isclose(frame.keep_fraction, f) & (frame.metric == metric) & (frame.policy == "hard")]
        gaps = [g for g in _unfinished(frame, ("hard", "random"), metric, (f,)) if g not in missing]
        if curve.groupby("pool_size").seed.nunique().ge(2).sum() < 2:
            gaps.append(dict(keep_fraction=f, policy="hard", note="two or more pools, two or more seeds"))
        if gaps:
            missing += gaps
            continue
        try:
            results.append(criteria.beats_power_law(frame, f, metric))
        except ValueError as error:  # the random curve or its pairs are not there yet
            missing.append(dict(keep_fraction=f, note=str(error)))
    if missing:
        return _pending("3", missing, details=results)
    against = [
        r["slope_difference_ci95"][0] > 0
        or criteria.lower_bound(r["difference_at_largest"], r["stderr_at_largest"], r["seeds_at_largest"]) > 0
        for r in results
    ]
    if any(r["holds"] for r in results):
        held = [r["keep_fraction"] for r in results if r["holds"]]
        verdict, why = VERDICTS[0], f"steeper than random and below it at the largest size, at f = {held}"
    elif all(against):
        verdict, why = VERDICTS[1], "at every f the curve is flatter than random or above it (95% intervals)"
    else:
        verdict, why = VERDICTS[2], "the slope intervals include equal slopes, or the largest-size gap includes 0"
    return Claim("3", verdict, why, complete=True, details=results)


def _unfinished(frame, policies, metric, fractions=None):
    """The points a claim reads that are not yet run with the two seeds the protocol runs everywhere.

    At every pool and pruned keep fraction (of ``fractions``, or all) where the table has a run, each of
    ``policies`` needs two or more seeds; a pool whose runs are all at f = 1 has not started its pruned runs.
    So a claim across pools is never read from a pool run with one seed, or with a pool missing."""
    missing = []
    for pool, runs in frame.groupby("pool_size"):
        pruned = sorted({float(f) for f in runs.keep_fraction if f < 1})
        if not pruned:
            missing.append(dict(pool_size=int(pool), note="no pruned run yet"))
        for f in pruned if fractions is None else [f for f in pruned if np.isclose(f, fractions).any()]:
            for policy in policies:
                point = dict(pool_size=int(pool), keep_fraction=f, policy=policy)
                if not criteria.has_seeds(frame, 2, **point, **({} if policy == "random" else {"metric": metric})):
                    missing.append(point | dict(seeds=2))
    return missing


def _pending(claim: str, missing: list[dict], details: Any = None) -> Claim:
    return Claim(claim, VERDICTS[2], "runs missing: the plan is not complete", complete=False, missing=tuple(missing),
                 details=details)


def class_balance_comparison(frame: pd.DataFrame, pool: int = LOSSLESS_POOL, keep_fraction: float = CLAIM_THRESHOLD,
                             metric: str = "el2n") -> tuple[ClassBalance, ...]:
    """Class-balanced against plain pruning at the claim-1 point, paired by seed, per policy; and keep-hard
    against random with both class-balanced (``policy`` "hard - random")."""
    out: list[ClassBalance] = []
    for policy in ("random", "hard"):
        sel = dict(pool_size=pool, keep_fraction=float(keep_fraction), policy=policy)
        sel |= {} if policy == "random" else {"metric": metric}
        if not (criteria.has_seeds(frame, **sel, class_balanced=True) and criteria.has_seeds(frame, **sel, class_balanced=False)):
            out.append(ClassBalance(policy, complete=False))
            continue
        mean, se, n = criteria.paired_difference(frame, sel | {"class_balanced": True}, sel | {"class_balanced": False})
        out.append(ClassBalance(policy, True, balanced_minus_plain=mean, ci95=criteria.interval(mean, se, n), seeds=n))
    hard = dict(pool_size=pool, keep_fraction=float(keep_fraction), class_balanced=True)
    if criteria.has_seeds(frame, **hard, policy="hard", metric=metric) and criteria.has_seeds(frame, **hard, policy="random"):
        mean, se, n = criteria.paired_difference(frame, hard | {"policy": "hard", "metric": metric}, hard | {"policy": "random"})
        out.append(ClassBalance("hard - random", True, balanced_hard_minus_balanced_random=mean,
                                ci95=criteria.interval(mean, se, n), seeds=n))
    return tuple(out)


COMPRESSION_FRACTIONS = (0.3, 0.1)
COMPRESSION_POLICIES: tuple[SelectionPolicy, ...] = ("hard", "ccs", "mixed")
COMPRESSION_OUTCOMES = ("better than random", "worse than random", "unresolved")


def compression_comparison(frame: pd.DataFrame, pool: int = LOSSLESS_POOL, fractions: Sequence[float] = COMPRESSION_FRACTIONS,
                           metric: str = "el2n") -> tuple[AgainstRandom, ...]:
    """High compression (fixed in commit 2849acd, 2026-12-02, before its runs): each score-based policy minus random pruning to the
    same f, paired by seed, with its two-sided 95% interval: better than random where the interval lies below
    0, worse where it lies above, otherwise unresolved."""
    frame = main_runs(frame)
    return tuple(_against_random(frame, pool, f, policy, metric) for f in fractions for policy in COMPRESSION_POLICIES)


def _against_random(frame: pd.DataFrame, pool: int, keep_fraction: float, policy: str, metric: str) -> AgainstRandom:
    """:func:`_minus_random` with its outcome: better than random where the two-sided 95% interval lies below 0,
    worse where it lies above, otherwise unresolved."""
    found = _minus_random(frame, pool, keep_fraction, policy, metric)
    point = AgainstRandom(float(keep_fraction), policy, pool, found["complete"])
    if not found["complete"]:
        return point
    low, high = found["ci95"]
    better, worse, unresolved = COMPRESSION_OUTCOMES
    return dataclasses.replace(point, minus_random=found["minus_random"], ci95=(low, high), seeds=found["seeds"],
                               outcome=better if high < 0 else worse if low > 0 else unresolved)


FULL_POOL = 50000  # the whole CIFAR-10 training set: its own table and budget (`--plan full-pool`)
LOSS_OUTCOMES = ("lossless", "loses more than the tolerance", "unresolved")


def full_pool_comparison(frame: pd.DataFrame, pool: int = FULL_POOL, keep_fraction: float = CLAIM_THRESHOLD,
                         metric: str = "el2n") -> FullPool:
    """The 50k pool (fixed in commit ff47373, 2026-12-03, before any of its runs): reported beside claims 1 and 3, never part of
    their verdicts, which are read on the equal-compute pools of the main table.

    - Beside claim 1 (half of the full CIFAR-10): for random and keep-hard, the paired loss of f = ``keep_fraction``
      against the whole pool, with one-sided 95% bounds: lossless where the upper bound is below the tolerance
      (0.5 pp, claim 1's), losing where the lower bound is above it, otherwise unresolved.
    - Beside claim 3 (does keep-hard cross below random at a larger pool?): keep-hard minus random at that f, its
      two-sided 95% interval, and its outcome as in :func:`compression_comparison`."""
    frame = main_runs(frame)
    whole, tolerance = dict(pool_size=pool, keep_fraction=1.0), criteria.LOSSLESS_TOLERANCE
    losses: list[Loss] = []
    for policy in ("random", "hard"):
        point = dict(pool_size=pool, keep_fraction=float(keep_fraction), policy=policy)
        point |= {} if policy == "random" else {"metric": metric}
        if not (criteria.has_seeds(frame, **point) and criteria.has_seeds(frame, **whole, policy="random")):
            losses.append(Loss(policy, complete=False))
            continue
        mean, se, n = criteria.paired_difference(frame, point, whole)
        upper = float(criteria.upper_bound(mean, se, n))
        lower = float(criteria.lower_bound(mean, se, n))
        lossless, losing, unresolved = LOSS_OUTCOMES
        outcome = lossless if upper < tolerance else losing if lower > tolerance else unresolved
        losses.append(Loss(policy, True, loss=mean, lower95=lower, upper95=upper, seeds=n, outcome=outcome))
    hard_minus_random = _against_random(frame, pool, keep_fraction, "hard", metric)
    return FullPool(pool, float(keep_fraction), tolerance, tuple(losses), hard_minus_random)


def verdicts(frame: pd.DataFrame) -> Verdicts:
    """All three claims, the class-balance comparison and, where their runs are in the table, the high-compression
    and the full-pool comparisons, from one runs table."""
    return Verdicts(
        claims=(claim_1(frame), claim_2(frame), claim_3(frame)),
        class_balance=class_balance_comparison(frame) if "class_balanced" in frame else (),
        compression=compression_comparison(frame) if frame.policy.isin(["ccs", "mixed"]).any() else (),
        runs=int(len(frame)),
        full_pool=full_pool_comparison(frame) if (frame.pool_size == FULL_POOL).any() else None,
    )
