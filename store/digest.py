"""One digest for everything the toolkit names by content: arrays, bytes and configurations."""

from __future__ import annotations

import hashlib
import json

import numpy as np

from .files import jsonable


def digest(obj: object, length: int | None = 16) -> str:
    """A stable sha256 hex digest, cut to ``length`` characters (``None``: all 64).

    Bytes are hashed as they are, a numpy array by its raw C-order bytes, and
    anything else as its canonical JSON (sorted keys), so a configuration and
    its JSON round trip have the same digest.

    Example
    -------
    >>> digest({"b": 1, "a": [1, 2]}) == digest({"a": [1, 2], "b": 1})
    True
    >>> digest(b"abc", None)[:12]
    'ba7816bf8f01'
    """
    if isinstance(obj, (bytes, bytearray, memoryview)):
        data = bytes(obj)
    elif isinstance(obj, np.ndarray):
        data = np.ascontiguousarray(obj).tobytes()
    else:
        data = json.dumps(obj, sort_keys=True, default=jsonable).encode()
    return hashlib.sha256(data).hexdigest()[:length]
