"""Random scores: uniform, seeded (the baseline every metric is judged against)."""

from __future__ import annotations

import numpy as np

def random_scores(x: np.ndarray, *, seed: int = 0, progress: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    return np.random.default_rng(seed).random(len(x)), None
