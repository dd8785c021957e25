"""Subset models for memorization and influence (Feldman and Zhang 2020): a balanced design and its runs."""

from __future__ import annotations

import numpy as np

from ..trainer import predict, train
from ._common import _range

def balanced_subsets(n: int, models: int, subset_fraction: float, seed: int = 0) -> np.ndarray:
    """[models, n] membership: each example is in exactly ``round(fraction * models)`` subsets.

    A balanced design, so every example has runs with and without it (the
    estimator needs both); each subset then holds about ``fraction * n`` examples.
    """
    k = int(round(subset_fraction * models))
    if models < 2 or not 1 <= k <= models - 1:
        raise ValueError(
            f"need models >= 2 and 1 <= round(subset_fraction * models) <= models - 1; "
            f"got models={models}, subset_fraction={subset_fraction}"
        )
    rng = np.random.default_rng(seed)
    order = np.argsort(rng.random((models, n)), axis=0)  # a random permutation of the models per example
    return order < k


def _subset_runs(x, y, x_eval, y_eval, models, subset_fraction, config, seed, progress):
    masks = balanced_subsets(len(y), models, subset_fraction, seed)
    correct_train, correct_eval = [], []
    for m in _range(models, progress, "subset models"):
        r = train(x[masks[m]], y[masks[m]], config, seed=seed + m)
        correct_train.append(predict(r, x).argmax(-1) == y)
        if x_eval is not None:
            correct_eval.append(predict(r, x_eval).argmax(-1) == y_eval)
    return masks, np.array(correct_train), (np.array(correct_eval) if x_eval is not None else None)
