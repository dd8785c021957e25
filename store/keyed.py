"""A disk store of entries keyed by their full configuration (after TRAK's checked metadata).

An entry is ``<root>/<prefix>-<key>.json``, holding the configuration that
made it, a JSON value, and the digest of its content; where it has arrays,
they sit beside it in ``<prefix>-<key>.npz``, written first, so an entry
counts only once its JSON exists.  ``key`` is the digest of the whole
configuration, so changing any value (a hyperparameter, the data, the code
version) names a different entry.

On read the store checks both halves:

- the configuration saved in the entry must equal the one asked for, or the
  entry is refused with :class:`ConfigMismatch` (never mixed in);
- the content must match its digest.  A truncated, unreadable or tampered
  entry is reported by path, set aside as ``*.corrupt`` and treated as
  missing, so it is recomputed: never used, never counted as done, never fatal.
"""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path
from typing import Any, Iterator, NamedTuple

import numpy as np

from .digest import digest
from .files import PathLike, atomic_write, jsonable, save_json


class ConfigMismatch(ValueError):
    """An entry exists under this key, made under another configuration."""


class CorruptEntry(UserWarning):
    """An entry failed its digest check or could not be read; it was set aside."""


class Entry(NamedTuple):
    config: dict
    value: Any
    arrays: dict


def _canonical(config):
    return json.loads(json.dumps(config, default=jsonable))


def _content_digest(value, arrays):
    parts = {"value": value, "arrays": {k: [str(a.dtype), list(a.shape), digest(a, None)] for k, a in arrays.items()}}
    return digest(parts, None)


class KeyedStore:
    """Entries under ``root``, named ``<prefix>-<digest of config>``."""

    def __init__(self, root: PathLike, prefix: str = "entry") -> None:
        self.root = Path(root)
        self.prefix = prefix

    def key(self, config: object) -> str:
        return digest(config)

    def paths(self, config: object) -> tuple[Path, Path]:
        stem = self.root / f"{self.prefix}-{self.key(config)}"
        return stem.with_suffix(".json"), stem.with_suffix(".npz")

    def load(self, config: object) -> Entry | None:
        """The entry made under exactly ``config``, or None (missing, or corrupt and set aside)."""
        meta, _ = self.paths(config)
        entry = self._read(meta)
        if entry is None:
            return None
        if entry.config != _canonical(config):
            raise ConfigMismatch(f"store entry {meta} was made under another configuration; refusing to mix it in")
        return entry

    def contains(self, config: object) -> bool:
        return self.load(config) is not None

    def save(self, config: object, value: object = None, arrays: dict | None = None) -> Path:
        meta, data = self.paths(config)
        arrays = {k: np.asarray(v) for k, v in (arrays or {}).items()}
        value = _canonical(value)
        if arrays:
            buffer = io.BytesIO()
            np.savez(buffer, **arrays)
            atomic_write(data, buffer.getvalue())
        record = dict(config=_canonical(config), value=value, digest=_content_digest(value, arrays), arrays=sorted(arrays))
        save_json(record, meta)  # last: an entry counts only once its JSON exists
        return meta

    def entries(self) -> Iterator[Entry]:
        """Every readable, intact entry (corrupt ones are set aside), in file-name order."""
        for meta in sorted(self.root.glob(f"{self.prefix}-*.json")):
            entry = self._read(meta)
            if entry is not None:
                yield entry

    def _read(self, meta: Path) -> Entry | None:
        if not meta.exists():
            return None
        try:
            record = json.loads(meta.read_text())
            arrays = {}
            if record["arrays"]:
                with np.load(meta.with_suffix(".npz"), allow_pickle=False) as npz:
                    arrays = {k: npz[k] for k in record["arrays"]}
            intact = record["digest"] == _content_digest(record["value"], arrays)
        except Exception as exc:  # any unreadable entry is set aside, whatever broke it
            self._set_aside(meta, f"is unreadable ({type(exc).__name__}: {exc})")
            return None
        if not intact:
            self._set_aside(meta, "does not match its digest")
            return None
        return Entry(record["config"], record["value"], arrays)

    def _set_aside(self, meta: Path, why: str) -> None:
        for path in (meta, meta.with_suffix(".npz")):
            if path.exists():
                path.replace(path.with_name(path.name + ".corrupt"))
        warnings.warn(f"store entry {meta} {why}; set aside as {meta.name}.corrupt and recomputed", CorruptEntry, 2)
