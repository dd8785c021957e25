"""Helpers shared by the metrics: softmax, and a progress-bar range."""

from __future__ import annotations

import numpy as np

def _softmax(logits):
    z = logits - logits.max(-1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(-1, keepdims=True)


def _range(n, progress, desc):
    from tqdm.auto import trange

    return trange(int(n), desc=desc, disable=not progress, leave=False)
