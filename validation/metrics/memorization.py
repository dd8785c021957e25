"""Memorization (Feldman and Zhang 2020): ``P(correct i | i in) - P(correct i | i out)`` over subset models."""

from __future__ import annotations

import numpy as np

from ._subsets import _subset_runs

def subset_estimator(in_subset: np.ndarray, correct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Feldman-Zhang estimator: ``P(correct | in) - P(correct | out)`` per column, and its standard error.

    ``in_subset`` [M, n] and ``correct`` [M, n] are per-run booleans.
    """
    inside = np.asarray(in_subset, float)
    c = np.asarray(correct, float)
    n_in, n_out = inside.sum(0), (1 - inside).sum(0)
    if (n_in < 1).any() or (n_out < 1).any():
        raise ValueError("every example must be both inside and outside at least one subset: use more models")
    p_in, p_out = (inside * c).sum(0) / n_in, ((1 - inside) * c).sum(0) / n_out
    se = np.sqrt(p_in * (1 - p_in) / n_in + p_out * (1 - p_out) / n_out)
    return p_in - p_out, se


def memorization(x: np.ndarray, y: np.ndarray, *, models: int, subset_fraction: float, config: str, seed: int = 0,
                 progress: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    masks, correct, _ = _subset_runs(x, y, None, None, models, subset_fraction, config, seed, progress)
    return subset_estimator(masks, correct)
