"""Forgetting (Toneva et al. 2019): correct -> wrong transitions of an example over training, as presented.

Never learned = passes seen + 1, above any count.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..trainer import train

def forgetting_counts(correct: np.ndarray, presented: np.ndarray | None = None) -> np.ndarray:
    """Correct -> wrong transitions between consecutive presentations, per example.

    ``correct`` is [epochs, n] (bool).  Examples never classified correctly get
    ``epochs + 1``, more than any example that was learned can reach.
    """
    correct = np.asarray(correct, bool)
    presented = np.ones_like(correct) if presented is None else np.asarray(presented, bool)
    counts = np.zeros(correct.shape[1], int)
    previous = np.zeros(correct.shape[1], bool)
    for c, p in zip(correct, presented):
        counts += p & previous & ~c
        previous = np.where(p, c, previous)
    never = ~(correct & presented).any(axis=0)
    counts[never] = correct.shape[0] + 1
    return counts


def forgetting(x: np.ndarray, y: np.ndarray, *, epochs: float, config: str, steps: int | None = None, seed: int = 0,
               progress: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """Counts over one training run: ``epochs`` passes, or a run of ``steps`` steps.  With the fair test's config
    and steps and the job's seed, that run is the job's own converged f = 1 run (same data, order and init)."""
    rule: dict[str, Any] = dict(budget="epochs", epochs=epochs) if steps is None else dict(budget="steps", steps=int(steps))
    r = train(x, y, config, seed=seed, progress=progress, **rule)
    return forgetting_counts(r.correct, r.presented).astype(float), None
