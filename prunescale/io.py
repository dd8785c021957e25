"""Small shared helpers: atomic writes, JSON for numpy values, config keys.

Everything the toolkit writes goes through :func:`atomic_write`, so a crash
or a kill never leaves a half-written file: readers see the old file or the
new one.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np


def jsonable(x):
    """``json.dumps`` default: numpy arrays and scalars as plain Python."""
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, Path):
        return str(x)
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")


def atomic_write(path, data: bytes | str):
    """Write ``data`` to ``path`` via a temporary file in the same folder and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode() if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_json(record, path, indent=1):
    """Atomically write ``record`` as JSON (numpy values allowed)."""
    atomic_write(path, json.dumps(record, indent=indent, default=jsonable) + "\n")


def config_key(config: dict, length=16) -> str:
    """A stable hash of a JSON-able configuration, used to name cache entries."""
    text = json.dumps(config, sort_keys=True, default=jsonable)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def save_figure(fig, path, **savefig_kwargs):
    """Atomically save a matplotlib figure; the format follows the suffix."""
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format=Path(path).suffix.lstrip("."), **savefig_kwargs)
    atomic_write(path, buffer.getvalue())


def save_npz(path, **arrays):
    """Atomically write numpy arrays as an ``.npz`` file."""
    import io

    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write(path, buffer.getvalue())
