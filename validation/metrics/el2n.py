"""EL2N (Paul et al. 2021): ``|softmax - onehot|_2`` after ``epochs`` of training, averaged over ``inits`` networks."""

from __future__ import annotations

import functools
from typing import Callable, Sequence

import numpy as np

from ..trainer import predict, train
from ._common import _range, _softmax

def el2n_from_probs(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``|p - onehot(y)|_2`` per example."""
    probs = np.asarray(probs, float)
    onehot = np.eye(probs.shape[-1])[np.asarray(labels)]
    return np.linalg.norm(probs - onehot, axis=-1)


def schedule(epochs: float, steps: int | None, stop_after: float) -> dict:
    """The scoring runs' training: ``epochs`` passes, or a run of ``steps`` steps read at ``stop_after`` of it
    (data_diet reads EL2N early in a full run, not at the end of a short one)."""
    rule = dict(budget="epochs", epochs=epochs) if steps is None else dict(budget="steps", steps=int(steps))
    return rule | dict(stop_after=stop_after)


def scoring_seeds(inits: int, seed: int = 0, init_seeds: Sequence[int] | None = None) -> list[int]:
    """The seeds of the ``inits`` scoring networks: ``init_seeds`` where given (independent replicates name
    disjoint ones), else ``seed, seed + 1, ...`` (so job seeds s and s + 1 share all networks but one)."""
    if init_seeds is None:
        return [int(seed) + k for k in range(int(inits))]
    seeds = list(init_seeds)
    if len(seeds) != inits or len(set(seeds)) != len(seeds) or not all(isinstance(s, int) and s >= 0 for s in seeds):
        raise ValueError(f"init_seeds must be {inits} distinct non-negative integers (one per init), got {init_seeds!r}")
    return seeds


def el2n(x: np.ndarray, y: np.ndarray, *, inits: int, epochs: float, config: str, steps: int | None = None,
         stop_after: float = 1.0, seed: int = 0, init_seeds: Sequence[int] | None = None, progress: bool = False,
         unit: Callable[[int, Callable[[], np.ndarray]], np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """``unit(k, compute)`` returns init k's scores, from a cache where it holds them (``score`` passes one)."""
    seeds, unit = scoring_seeds(inits, seed, init_seeds), unit or (lambda k, compute: compute())

    def one(k):
        net = train(x, y, config, seed=seeds[k], progress=progress, **schedule(epochs, steps, stop_after))
        return el2n_from_probs(_softmax(predict(net, x)), y)

    return np.mean([unit(k, functools.partial(one, k)) for k in _range(inits, progress, "el2n inits")], axis=0), None
