"""Influence (Feldman and Zhang 2020): ``P(correct j | i in) - P(correct j | i out)`` for test examples j, reduced."""

from __future__ import annotations

import numpy as np

from ._subsets import _subset_runs

def influence_from_runs(in_subset: np.ndarray, test_correct: np.ndarray, reduce: str = "max") -> tuple[np.ndarray, np.ndarray]:
    """``infl(i, j) = P(j correct | i in) - P(j correct | i out)``, reduced over test examples j.

    Returns the per-training-example score (largest or total influence) and the
    standard error of the chosen entry (or of the sum, treating entries as independent).
    """
    inside = np.asarray(in_subset, float)  # [M, n_train]
    c = np.asarray(test_correct, float)  # [M, n_test]
    n_in, n_out = inside.sum(0)[:, None], (1 - inside).sum(0)[:, None]
    p_in = inside.T @ c / n_in
    p_out = (1 - inside).T @ c / n_out
    infl = p_in - p_out  # [n_train, n_test]
    var = p_in * (1 - p_in) / n_in + p_out * (1 - p_out) / n_out
    if reduce == "max":
        j = infl.argmax(1)
        rows = np.arange(infl.shape[0])
        return infl[rows, j], np.sqrt(var[rows, j])
    if reduce == "sum":
        return infl.sum(1), np.sqrt(var.sum(1))
    raise ValueError(f"reduce must be 'max' or 'sum'; got {reduce!r}")


def influence(x: np.ndarray, y: np.ndarray, *, x_test: np.ndarray, y_test: np.ndarray, models: int, subset_fraction: float,
              config: str, reduce: str, seed: int = 0, progress: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    masks, _, test_correct = _subset_runs(x, y, x_test, y_test, models, subset_fraction, config, seed, progress)
    return influence_from_runs(masks, test_correct, reduce)
