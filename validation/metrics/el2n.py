"""EL2N (Paul et al. 2021): ``|softmax - onehot|_2`` after ``epochs`` of training, averaged over ``inits`` networks."""

from __future__ import annotations

import numpy as np

from ..train import predict, train
from ._common import _range, _softmax

def el2n_from_probs(probs, labels):
    """``|p - onehot(y)|_2`` per example."""
    probs = np.asarray(probs, float)
    onehot = np.eye(probs.shape[-1])[np.asarray(labels)]
    return np.linalg.norm(probs - onehot, axis=-1)


def el2n(x, y, *, inits, epochs, config, seed=0, progress=False):
    scores = [
        el2n_from_probs(_softmax(predict(train(x, y, config, seed=seed + k, epochs=epochs, budget="epochs"), x)), y)
        for k in _range(inits, progress, "el2n inits")
    ]
    return np.mean(scores, axis=0), None
