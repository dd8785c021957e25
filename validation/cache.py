"""A disk cache of per-example scores, keyed by their full configuration.

Each entry is two files, ``<key>.npz`` (the arrays) and ``<key>.json`` (the
configuration that produced them: metric, options, model, seed, data
checksum, code version), written atomically, the JSON last.  An entry
whose stored configuration differs from the one asked for is refused with
an error, never returned.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from prunescale.io import config_key, jsonable, save_json, save_npz


class ConfigMismatch(ValueError):
    """A cache entry exists under this key, made under another configuration."""


class ScoreCache:
    def __init__(self, root):
        self.root = Path(root)

    def paths(self, config):
        key = config_key(config)
        return self.root / f"{config['metric']}-{key}.npz", self.root / f"{config['metric']}-{key}.json"

    def load(self, config):
        """The stored arrays for exactly this configuration, or None."""
        data, meta = self.paths(config)
        if not (data.exists() and meta.exists()):
            return None
        stored = json.loads(meta.read_text())
        wanted = json.loads(json.dumps(config, default=jsonable))
        if stored != wanted:
            raise ConfigMismatch(f"cache entry {meta} was made under another configuration; refusing to mix it in")
        with np.load(data) as npz:
            return {k: npz[k] for k in npz.files}

    def save(self, config, arrays):
        data, meta = self.paths(config)
        save_npz(data, **arrays)
        save_json(config, meta)  # last: an entry counts only once both files exist
        return data
