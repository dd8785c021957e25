"""A training run's state between epochs, so that a stopped run resumes where it stopped.

A checkpoint holds everything the rest of the run depends on: the network and optimiser state, the JAX key, the
data-order generator, the per-example records so far, the epoch and step, and the training seconds spent.  A run
resumed from it is bit-identical to one that was never stopped (tested).  It is written atomically at an epoch
boundary, and carries a fingerprint of the data, the seed, the config, the JAX version and the XLA flags: a
checkpoint of other work is ignored, never resumed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from prunescale.store import PathLike, digest, save_npz


class Progress(NamedTuple):
    """A run at the start of ``epoch``: ``step`` steps taken, in ``seconds`` of training."""

    state: Any  # the trainer's TrainState
    key: np.ndarray  # the JAX key, before the epoch's first split
    rng_state: dict  # the data-order generator's ``bit_generator.state``
    epoch: int
    step: int
    correct: np.ndarray
    loss: np.ndarray
    presented: np.ndarray
    seconds: float


def fingerprint(x_uint8: np.ndarray, labels: np.ndarray, config: dict, seed: int, xla_flags: str) -> str:
    """What a checkpoint must match to be resumed: the training data, the config, the seed, and the JAX version
    and XLA flags (a run is bit-exact only under one of each)."""
    arrays = [digest(np.ascontiguousarray(x_uint8)), digest(np.ascontiguousarray(labels))]
    return digest([*arrays, config, int(seed), jax.__version__, xla_flags])


def save(path: PathLike, mark: str, progress: Progress) -> None:
    """Write ``progress`` to ``path`` atomically (a stop mid-write leaves the previous checkpoint)."""
    leaves = jax.tree_util.tree_leaves(jax.device_get(progress.state))
    meta = dict(fingerprint=mark, rng_state=progress.rng_state, epoch=progress.epoch, step=progress.step,
                seconds=progress.seconds, leaves=len(leaves))
    save_npz(path, meta=np.array(json.dumps(meta)), key=np.asarray(progress.key), correct=progress.correct,
             loss=progress.loss, presented=progress.presented, **{f"leaf_{i}": np.asarray(v) for i, v in enumerate(leaves)})


def load(path: PathLike, mark: str, template: Any) -> Progress | None:
    """The progress saved at ``path``, with its state shaped as ``template``; None where there is none, or where
    it is another run's (its fingerprint, or its arrays' shapes, differ)."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        with np.load(path) as saved:
            meta = json.loads(str(saved["meta"]))
            leaves = [saved[f"leaf_{i}"] for i in range(meta["leaves"])]
            arrays = {name: saved[name] for name in ("key", "correct", "loss", "presented")}
    except (OSError, ValueError, KeyError):  # truncated or foreign: start afresh
        return None
    wanted, treedef = jax.tree_util.tree_flatten(template)
    if meta["fingerprint"] != mark or len(leaves) != len(wanted):
        return None
    if any(a.shape != np.shape(b) or a.dtype != np.asarray(b).dtype for a, b in zip(leaves, wanted)):
        return None
    state = jax.tree_util.tree_unflatten(treedef, [jnp.asarray(leaf) for leaf in leaves])
    return Progress(state, arrays["key"], meta["rng_state"], meta["epoch"], meta["step"], arrays["correct"],
                    arrays["loss"], arrays["presented"], float(meta["seconds"]))


def steps_taken(path: PathLike) -> int:
    """The steps of training a checkpoint at ``path`` holds (0 where there is none, or it cannot be read)."""
    try:
        with np.load(path) as saved:
            return int(json.loads(str(saved["meta"]))["step"])
    except (OSError, ValueError, KeyError):
        return 0
