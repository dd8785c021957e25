"""Files written whole or not at all, and JSON that takes numpy values.

Everything the toolkit writes goes through :func:`atomic_write`, so a crash
or a kill never leaves a half-written file: readers see the old file or the
new one.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Union

import numpy as np
from numpy.typing import ArrayLike

PathLike = Union[str, "os.PathLike[str]"]  # a path as a user gives it


def jsonable(x: object) -> object:
    """``json.dumps`` default: numpy arrays and scalars as plain Python, paths as strings."""
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, Path):
        return str(x)
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")


def normal_mode(directory: bool = False) -> int:
    """The mode a plain ``open`` or ``mkdir`` gives: 0666 or 0777 less the umask (temporary files get 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return (0o777 if directory else 0o666) & ~mask


def atomic_write(path: PathLike, data: bytes | str) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and ``os.replace``.

    The file gets the mode a plain ``open`` would give it (0666 less the umask),
    not the 0600 of a temporary file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode() if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, normal_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_json(record: object, path: PathLike, indent: int = 1) -> None:
    """Atomically write ``record`` as JSON (numpy values allowed)."""
    atomic_write(path, json.dumps(record, indent=indent, default=jsonable) + "\n")


def load_json(path: PathLike) -> Any:
    """Read a JSON file; a truncated or foreign file is a ValueError that names it."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is not valid JSON ({exc})") from None


def save_npz(path: PathLike, **arrays: ArrayLike) -> None:
    """Atomically write numpy arrays as an ``.npz`` file."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]  # numpy's stub reads **kwds as its own keywords
    atomic_write(path, buffer.getvalue())


def check_output_folder(path: PathLike, name: str = "out") -> Path:
    """``path`` as a Path if a folder can be made or written there; else a one-line error, before any work."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{name} {path} is a file, not a folder")
    _check_creatable(path, name)
    return path


def check_output_file(path: PathLike, name: str = "out") -> Path:
    """``path`` as a Path if a file can be written there; else a one-line error, before any work."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{name} {path} is a folder, not a file")
    _check_creatable(path.parent, name)
    return path


def _check_creatable(folder: Path, name: str) -> None:
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"{name} {folder}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{name} {folder}: {existing} is not writable")


OWNER_FILE = ".prunescale.json"  # in every output folder: which command wrote it, with which settings


def claim_output_folder(path: PathLike, owner: dict, name: str = "--out", write: bool = True) -> Path:
    """The one rule for output folders: ``path`` as a Path once it is this work's, else a one-line error, before
    any work.

    A new or empty folder is claimed (``OWNER_FILE`` records ``owner``: the command and every setting that shapes
    its results; a folder holding that record alone counts as empty).  A folder claimed by the same command with the same settings is this work's own, to resume or
    redo.  A folder claimed by other work, or holding files prunescale did not write, is refused, naming the
    difference: a command never silently replaces results it did not make.  ``write=False`` checks alone (for a
    command that builds its folder elsewhere and moves it into place, with :data:`OWNER_FILE` inside)."""
    path = check_output_folder(path, name)
    owner = json.loads(json.dumps(owner, default=jsonable))  # as it will read back
    marker = path / OWNER_FILE
    results = [p for p in path.iterdir() if p.name != OWNER_FILE] if path.is_dir() else []
    if marker.is_file() and results:  # a marker alone guards nothing (work stopped before its first result)
        held = load_json(marker)
        if held != owner:
            raise ValueError(f"{name} {path} holds the results of other work ({_difference(held, owner)}): "
                             "choose another folder, or remove that one")
        return path
    if results:
        found = sorted(p.name for p in results)
        raise ValueError(f"{name} {path} holds files prunescale did not write there ({', '.join(found[:3])}"
                         f"{', ...' if len(found) > 3 else ''}): choose a new or empty folder")
    if write:
        save_json(owner, marker)
    return path


def _difference(held, wanted):
    if held.get("command") != wanted.get("command"):
        return f"it was written by {held.get('command')!r}, this is {wanted.get('command')!r}"
    a, b = held.get("settings", {}), wanted.get("settings", {})
    keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    return ", ".join(f"{k} {a.get(k)!r} there, {b.get(k)!r} here" for k in keys[:3]) + (", ..." if len(keys) > 3 else "")
