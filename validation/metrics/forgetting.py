"""Forgetting (Toneva et al. 2019): correct -> wrong transitions of an example over training, as presented.

Never learned = passes seen + 1, above any count.
"""

from __future__ import annotations

import numpy as np

from ..train import train

def forgetting_counts(correct, presented=None):
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


def forgetting(x, y, *, epochs, config, seed=0, progress=False):
    r = train(x, y, config, seed=seed, epochs=epochs, budget="epochs", progress=progress)
    return forgetting_counts(r.correct, r.presented).astype(float), None
