"""Kept sets from scores (higher = harder), with the policies that hold up when most data is removed.

- ``hard``, ``easy``, ``random``: :func:`validation.prune` (the highest, the lowest, or a random subset).
- ``ccs``: coverage-centric selection (Zheng et al., ICLR 2023).  Drop the hardest ``beta`` fraction (likely
  mislabelled), split the remaining score range into ``strata`` equal-width strata, and fill the budget with an
  equal share from each stratum, the smallest strata first (a stratum smaller than its share gives all it has,
  and the rest is shared among the larger ones).
- ``mixed``: keep-hard mixed with random (after Ayed and Hayou 2023): ``hard_share`` of the budget goes to the
  highest scores, the rest is drawn uniformly from the other examples.

Every policy is seeded and keeps exactly ``round(keep_fraction * n)`` examples (at least 1).  With ``labels``
each class keeps its share of the budget (largest remainder), and the policy runs within each class.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from prunescale.store import POLICIES, checks

from .data import _class_quotas, prune

SelectionPolicy = Literal["hard", "easy", "random", "ccs", "mixed"]
SELECTION_POLICIES: tuple[SelectionPolicy, ...] = POLICIES + ("ccs", "mixed")
DEFAULTS = dict(beta=0.1, strata=50, hard_share=0.5)


def check_settings(*, beta: float, strata: int, hard_share: float) -> None:
    """The policies' settings, each in its valid range, or a one-line error naming it."""
    checks.fraction_in("beta", beta, 0.0, 1.0, closed="low")
    checks.fraction_in("hard_share", hard_share, 0.0, 1.0, closed="both")
    if isinstance(strata, bool) or not float(strata).is_integer() or strata < 1:
        raise ValueError(f"strata must be a positive integer, got {strata!r}")


def kept_count(n: int, keep_fraction: float) -> int:
    """``round(keep_fraction * n)``, at least 1."""
    return max(1, int(round(float(checks.keep_fraction(keep_fraction)) * n)))


def select(scores: np.ndarray, keep_fraction: float, policy: SelectionPolicy = "hard", *, seed: int = 0, labels: np.ndarray | None = None,
           beta: float = 0.1, strata: int = 50, hard_share: float = 0.5) -> np.ndarray:
    """Sorted indices of the kept examples of ``scores`` (one per example, higher = harder).

    Example
    -------
    >>> scores = np.arange(10.0)
    >>> select(scores, 0.3, "hard").tolist(), select(scores, 0.3, "mixed", hard_share=1.0).tolist()
    ([7, 8, 9], [7, 8, 9])
    >>> len(select(scores, 0.4, "ccs", beta=0.2, strata=4))
    4
    """
    scores = np.asarray(scores, float)
    if scores.ndim != 1 or scores.size < 1 or not np.isfinite(scores).all():
        raise ValueError(f"scores must be a non-empty 1-d array of finite numbers; got shape {scores.shape}")
    checks.one_of("policy", policy, SELECTION_POLICIES)
    check_settings(beta=beta, strata=strata, hard_share=hard_share)
    n_keep = kept_count(scores.size, keep_fraction)
    rng = np.random.default_rng(seed)
    if labels is None:
        return np.sort(_select(scores, n_keep, policy, rng, beta, int(strata), hard_share))
    labels = np.asarray(labels)
    classes, counts = np.unique(labels, return_counts=True)
    kept = []
    for c, quota in zip(classes, _class_quotas(counts, n_keep)):
        members = np.flatnonzero(labels == c)
        if quota:
            kept.append(members[_select(scores[members], quota, policy, rng, beta, int(strata), hard_share)])
    return np.sort(np.concatenate(kept))


def _select(scores, n_keep, policy, rng, beta, strata, hard_share):
    if policy in POLICIES:
        return prune(scores, np.arange(scores.size), n_keep / scores.size, policy, seed=int(rng.integers(2**31)))
    if policy == "mixed":
        return _mixed(scores, n_keep, rng, hard_share)
    return _ccs(scores, n_keep, rng, beta, strata)


def _by_hardness(scores, rng):
    """Indices from hardest to easiest; ties broken at random."""
    return np.lexsort((rng.permutation(scores.size), -scores))


def _mixed(scores, n_keep, rng, hard_share):
    order = _by_hardness(scores, rng)
    n_hard = int(round(hard_share * n_keep))
    rest = order[n_hard:]
    return np.concatenate([order[:n_hard], rng.choice(rest, n_keep - n_hard, replace=False)])


def _ccs(scores, n_keep, rng, beta, strata):
    order = _by_hardness(scores, rng)
    dropped = min(int(round(beta * scores.size)), scores.size - n_keep)  # never drop below the budget
    keep_from = order[dropped:]
    s = scores[keep_from]
    edges = np.linspace(s.min(), s.max(), strata + 1)
    which = np.clip(np.searchsorted(edges, s, side="right") - 1, 0, strata - 1)
    groups = sorted((g for g in (keep_from[which == k] for k in range(strata)) if g.size), key=len)
    kept, budget = [], n_keep
    for i, group in enumerate(groups):  # the smallest strata first: each takes an equal share of what is left
        share = min(group.size, budget // (len(groups) - i))
        kept.append(rng.choice(group, share, replace=False))
        budget -= share
    kept = np.concatenate(kept)
    if budget:  # rounding left a few: the largest strata give them
        leftover = np.setdiff1d(keep_from, kept)
        kept = np.concatenate([kept, rng.choice(leftover, budget, replace=False)])
    return kept
