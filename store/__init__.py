"""The bottom layer: files, digests, a keyed store, and the parameter checks.

Every other package of the toolkit may import this one; it imports none of
them.  Public API::

    atomic_write(path, data), save_json(record, path), save_npz(path, **arrays), load_json(path)
    check_output_file(path), check_output_folder(path) -> fail before the work, not after it
    claim_output_folder(path, owner) -> the one rule for output folders: never replace another's results
    PathLike                     -> the type of a path as a user gives it (str or os.PathLike)
    OWNER_FILE                   -> the record in each output folder of the command and settings that wrote it
    normal_mode(directory=False) -> the file mode a plain ``open`` or ``mkdir`` gives (for folders built elsewhere)
    jsonable(x)                  -> ``json.dumps`` default for numpy values and paths
    digest(obj, length=16)       -> one stable hex digest of arrays, bytes or JSON-able values
    KeyedStore(root, kind)       -> entries keyed by their full config, the config saved beside each
    ConfigMismatch, CorruptEntry -> what the store refuses
    POLICIES and checks          -> one wording for every parameter error
    to_json(record), from_json(kind, data) -> typed records (frozen dataclasses) to JSON and back
"""

from . import checks
from .checks import POLICIES
from .digest import digest
from .files import (
    OWNER_FILE,
    PathLike,
    atomic_write,
    check_output_file,
    check_output_folder,
    claim_output_folder,
    jsonable,
    load_json,
    normal_mode,
    save_json,
    save_npz,
)
from .keyed import ConfigMismatch, CorruptEntry, KeyedStore
from .records import from_json, to_json

__all__ = [
    "OWNER_FILE",
    "POLICIES",
    "PathLike",
    "ConfigMismatch",
    "CorruptEntry",
    "KeyedStore",
    "atomic_write",
    "check_output_file",
    "check_output_folder",
    "claim_output_folder",
    "checks",
    "digest",
    "from_json",
    "jsonable",
    "load_json",
    "normal_mode",
    "save_json",
    "save_npz",
    "to_json",
]
