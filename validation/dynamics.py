"""Pruning scores from what a user already has: the logits recorded while training (any framework), embeddings,
or scores of their own.  Higher = harder throughout.

Training dynamics are ``logits`` of shape (epochs, N, C) or (runs, epochs, N, C), float16 or float32, and integer
``labels`` of shape (N,), in an ``.npz`` or a folder holding ``logits.npy`` and ``labels.npy`` (memory-mapped and
read in chunks of examples, so a file larger than memory works; :class:`Recorder` writes that folder).  From
them (:func:`dynamics_scores`):

- ``el2n``: the mean over runs of ``|softmax(logits[run, k, i]) - onehot(y_i)|_2`` at recorded epoch ``k``
  (0-based).  Default: the epoch at a tenth of those recorded, ``k = max(0, round(epochs / 10) - 1)``, since EL2N
  is read early in training (the paper: about 20 of 200 epochs).
- ``forgetting``: per run, the number of recorded epochs at which the example goes from correct (argmax equals
  the label) to incorrect, averaged over runs; an example never correct in a run counts ``epochs`` there, above
  any learned example's count (at most ``epochs // 2``).
- ``aum``: minus the mean over epochs and runs of the label's logit minus the largest other logit (the area under
  the margin, negated so that higher is harder).
- ``loss``: the mean cross-entropy over epochs and runs.
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

from prunescale.store import PathLike

DYNAMICS_METRICS = ("el2n", "forgetting", "aum", "loss")
CHUNK_BYTES = 32 * 2**20  # float32 working set per chunk of examples


class Dynamics(NamedTuple):
    """Recorded logits and labels: ``logits(start, stop)`` reads examples ``start:stop`` of every run and epoch as
    float32 (runs, epochs, stop - start, C)."""

    path: Path
    shape: tuple  # (runs, epochs, N, C)
    labels: np.ndarray  # int64 (N,)
    read: Callable[[int, int], np.ndarray]  # (start, stop) -> float32 (runs, epochs, n, C)

    @property
    def n(self) -> int:
        return self.shape[2]


def read_dynamics(path: PathLike) -> Dynamics:
    """The dynamics at ``path`` (an ``.npz`` or a folder with ``logits.npy`` and ``labels.npy``), checked: a clear
    one-line error names the file and what is wrong with it."""
    path = Path(path)
    if path.is_dir():
        logits_file, labels_file = path / "logits.npy", path / "labels.npy"
        for f in (logits_file, labels_file):
            if not f.is_file():
                raise ValueError(f"--dynamics folder {path} lacks {f.name} (it needs logits.npy and labels.npy)")
        logits = _open_npy(logits_file)
        labels = _open_npy(labels_file)[...]

        def read(start, stop, file=logits_file):
            mapped = np.load(file, mmap_mode="r")  # mapped anew per chunk: its pages leave memory with it
            return np.array(_as_4d(mapped)[:, :, start:stop], np.float32)

        shown = logits_file
    elif path.is_file():
        try:
            with np.load(path, allow_pickle=False) as npz:
                missing = {"logits", "labels"} - set(npz.files)
                if missing:
                    raise ValueError(f"--dynamics {path} lacks {sorted(missing)}; it holds {npz.files}")
                logits, labels = npz["logits"], npz["labels"]
        except (OSError, EOFError, zipfile.BadZipFile):
            raise ValueError(f"--dynamics {path} is not a readable .npz file or folder") from None
        read = lambda start, stop, a=logits: np.array(_as_4d(a)[:, :, start:stop], np.float32)
        shown = path
    else:
        raise ValueError(f"--dynamics {path} does not exist")
    shape = _check_logits(logits, shown)
    labels = check_labels(labels, shape[2], shape[3], path if path.is_file() else path / "labels.npy")
    dynamics = Dynamics(path, shape, labels, read)
    for start, stop in chunks(dynamics):
        if not np.isfinite(dynamics.read(start, stop)).all():
            raise ValueError(f"{shown} holds NaN or inf among the logits of examples {start} to {stop - 1}")
    return dynamics


def _open_npy(file):
    try:
        return np.load(file, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{file} is not a readable .npy array ({exc})") from None


def _as_4d(logits):
    return logits[None] if logits.ndim == 3 else logits


def _check_logits(logits, shown):
    if logits.ndim not in (3, 4):
        raise ValueError(f"{shown}: logits must have shape (epochs, N, C) or (runs, epochs, N, C); got {logits.shape}")
    if logits.dtype not in (np.float16, np.float32):
        raise ValueError(f"{shown}: logits must be float16 or float32; got {logits.dtype}")
    shape = tuple(int(s) for s in _as_4d(logits).shape)
    if min(shape) < 1 or shape[3] < 2:
        raise ValueError(f"{shown}: logits need at least one run, epoch and example and two classes; got {logits.shape}")
    return shape


def check_labels(labels: np.ndarray, n: int, classes: int | None = None, shown: object = "labels") -> np.ndarray:
    """``labels`` as int64 (n,), each in [0, classes); a one-line error otherwise."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.shape[0] != n:
        raise ValueError(f"{shown}: labels must have shape ({n},), one per example; got {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{shown}: labels must be integers; got {labels.dtype}")
    labels = labels.astype(np.int64)
    if n and (labels.min() < 0 or (classes is not None and labels.max() >= classes)):
        bad = labels.min() if labels.min() < 0 else labels.max()
        where = f"the logits' {classes} classes, 0 to {classes - 1}" if classes is not None else "0 or more"
        raise ValueError(f"{shown}: label {bad} lies outside {where}")
    return labels


def chunks(dynamics: Dynamics, chunk_bytes: int = CHUNK_BYTES) -> list[tuple[int, int]]:
    """``(start, stop)`` over the examples, each chunk's float32 block at most about ``chunk_bytes``."""
    runs, epochs, n, classes = dynamics.shape
    size = max(1, chunk_bytes // (4 * runs * epochs * classes))
    return [(s, min(n, s + size)) for s in range(0, n, size)]


def default_epoch(epochs: int) -> int:
    """EL2N's default recorded epoch: a tenth of the way in, ``max(0, round(epochs / 10) - 1)``."""
    return max(0, round(epochs / 10) - 1)


def dynamics_scores(dynamics: Dynamics, metric: str, *, epoch: int | None = None, chunk_bytes: int = CHUNK_BYTES) -> np.ndarray:
    """One score per example (higher = harder) by ``metric`` (module docstring), read chunk by chunk."""
    if metric not in DYNAMICS_METRICS:
        raise ValueError(f"--metric must be one of {', '.join(DYNAMICS_METRICS)} for --dynamics, got {metric!r}")
    runs, epochs, n, _ = dynamics.shape
    if epoch is None:
        epoch = default_epoch(epochs)
    elif metric != "el2n":
        raise ValueError(f"the option epoch applies to el2n only, not {metric}")
    elif isinstance(epoch, bool) or not float(epoch).is_integer() or not 0 <= epoch < epochs:
        raise ValueError(f"epoch must be an integer in [0, {epochs - 1}] (0-based, {epochs} epochs recorded), got {epoch!r}")
    scores = np.empty(n)
    for start, stop in chunks(dynamics, chunk_bytes):
        block, y = dynamics.read(start, stop), dynamics.labels[start:stop]
        scores[start:stop] = SCORES[metric](block, y, int(epoch))
    return scores


def _el2n(logits, y, epoch):
    probs = _softmax(logits[:, epoch])  # (runs, n, C)
    probs[:, np.arange(y.size), y] -= 1.0
    return np.linalg.norm(probs, axis=-1).mean(axis=0)


def _forgetting(logits, y, epoch):
    correct = logits.argmax(-1) == y  # (runs, epochs, n)
    forgotten = (correct[:, :-1] & ~correct[:, 1:]).sum(axis=1)
    never = ~correct.any(axis=1)
    return np.where(never, correct.shape[1], forgotten).mean(axis=0)


def _aum(logits, y, epoch):
    label = np.take_along_axis(logits, y[None, None, :, None], axis=-1)[..., 0]
    others = logits.copy()
    np.put_along_axis(others, np.broadcast_to(y[None, None, :, None], others.shape[:-1] + (1,)), -np.inf, axis=-1)
    return -(label - others.max(-1)).mean(axis=(0, 1))


def _loss(logits, y, epoch):
    top = logits.max(-1, keepdims=True)
    logsumexp = np.log(np.exp(logits - top).sum(-1)) + top[..., 0]
    label = np.take_along_axis(logits, y[None, None, :, None], axis=-1)[..., 0]
    return (logsumexp - label).mean(axis=(0, 1))


def _softmax(z):
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)


SCORES = {"el2n": _el2n, "forgetting": _forgetting, "aum": _aum, "loss": _loss}


class Recorder:
    """Record the logits of a training run, batch by batch, into a folder that ``prunescale prune --dynamics``
    reads: ``logits.npy`` (float16, (epochs, N, C), or (runs, epochs, N, C) with ``runs``) and ``labels.npy``.

    Needs numpy alone, so any training loop can call it::

        recorder = Recorder("dynamics", labels=train_labels, epochs=20, num_classes=10)
        for epoch in range(20):
            for indices, x, y in loader:           # indices: the examples' positions in the data set
                logits = model(x)
                recorder.record(indices, logits)   # anything numpy can read: a torch tensor after .cpu()
            recorder.next_epoch()

    Examples never recorded in an epoch keep NaN there, which ``read_dynamics`` refuses: every example must be
    seen once per epoch.  ``run`` selects the run with ``runs > 1``."""

    def __init__(self, folder, labels, epochs, num_classes, runs=1, dtype=np.float16, run=0):
        labels = np.asarray(labels)
        labels = check_labels(labels, labels.shape[0] if labels.ndim == 1 else -1, num_classes)
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        shape = (epochs, labels.size, num_classes) if runs == 1 else (runs, epochs, labels.size, num_classes)
        file = self.folder / "logits.npy"
        if file.exists():
            self.logits = np.load(file, mmap_mode="r+")
            if self.logits.shape != shape:
                raise ValueError(f"{file} exists with shape {self.logits.shape}, not {shape}: choose another folder")
        else:
            self.logits = np.lib.format.open_memmap(file, mode="w+", dtype=dtype, shape=shape)
            self.logits[...] = np.nan
        np.save(self.folder / "labels.npy", labels)
        self.epoch, self.run, self.epochs = 0, run, epochs

    def record(self, indices: np.ndarray, logits: np.ndarray) -> None:
        """Store one batch: ``logits[i]`` is example ``indices[i]``'s, at the current epoch."""
        if self.epoch >= self.epochs:
            raise ValueError(f"all {self.epochs} epochs are recorded; next_epoch was called {self.epoch} times")
        indices, logits = np.asarray(indices), np.asarray(logits, np.float32)
        target = self.logits[self.epoch] if self.logits.ndim == 3 else self.logits[self.run, self.epoch]
        target[indices] = logits

    def next_epoch(self) -> None:
        """Close the current epoch: its logits are flushed to disk."""
        self.logits.flush()
        self.epoch += 1


def read_array(path: PathLike, name: str, *, ndim: int, integers: bool = False) -> np.ndarray:
    """An ``.npy`` (memory-mapped) of ``ndim`` dimensions, floats with only finite values (or ``integers``), or a
    one-line error naming ``--name`` and the file."""
    path = Path(path)
    shown = f"--{name} {path}"
    if not path.is_file():
        raise ValueError(f"{shown} does not exist")
    array = _open_npy(path)
    if array.ndim != ndim:
        raise ValueError(f"{shown} must have {ndim} dimension{'s' if ndim > 1 else ''}; got shape {array.shape}")
    if integers:
        if not np.issubdtype(array.dtype, np.integer):
            raise ValueError(f"{shown} must hold integers; got {array.dtype}")
        return array
    if not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"{shown} must hold floats (float16 or float32); got {array.dtype}")
    step = max(1, 2**24 // max(1, math.prod(array.shape[1:])))
    for start in range(0, array.shape[0], step):
        block = np.load(path, mmap_mode="r")[start : start + step]  # mapped per block: its pages leave with it
        if not np.isfinite(block).all():
            raise ValueError(f"{shown} holds NaN or inf (rows {start} to {min(array.shape[0], start + step) - 1})")
        del block
    return np.load(path, mmap_mode="r")
