"""A sweep's runs table: one row per finished job, in a fixed column order, read from the jobs' store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from prunescale.store import PathLike, atomic_write

from .jobs import Job, job_config, jobs_store

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = (
    "metric",
    "policy",
    "pool_size",
    "keep_fraction",
    "n_train",
    "seed",
    "budget",
    "epochs",
    "steps",
    "test_error",
    "wall_seconds",
    "device",
    "config_hash",
    "config",
    "xla_flags",
    "pool",
    "class_balanced",
    # the machine (validation.xla.Machine): CPU runs are bit-exact on one CPU model only
    "cpu_model",
    "cores",
    "threads",
    "jax_version",
    "jaxlib_version",
)


def collect(results_dir: PathLike, jobs: Sequence[Job] | None = None) -> pd.DataFrame:
    """The finished rows, as a pandas DataFrame in :data:`COLUMNS` order: of ``jobs`` (a plan), or of every job
    stored under ``results_dir``."""
    import pandas as pd

    store = jobs_store(results_dir)
    if jobs is None:
        rows = [e.value for e in store.entries()]
    else:
        rows = [e.value for e in (store.load(job_config(j)) for j in jobs) if e is not None]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def check_table(csv: PathLike | None, jobs: Sequence[Job]) -> None:
    """Refuse a ``csv`` that holds runs outside the plan ``jobs``: the plan's table is rewritten with the plan's
    runs only, so those rows would be lost.  ``None`` or a missing file is fine."""
    import pandas as pd

    if csv is None or not Path(csv).is_file():
        return
    try:
        hashes = pd.read_csv(csv, usecols=["config_hash"]).config_hash.astype(str)
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError):
        raise ValueError(f"csv {csv} exists and is not a runs table (no config_hash column); give a new file") from None
    foreign = sorted(set(hashes) - {j.key for j in jobs})
    if foreign:
        raise ValueError(
            f"csv {csv} holds {len(foreign)} runs that are not in this plan (config_hash {foreign[0]}, ...); "
            "writing this plan's table there would drop them: give a new file"
        )


def write_csv(frame: pd.DataFrame, path: PathLike) -> None:
    atomic_write(path, frame.sort_values(list(COLUMNS[:6])).to_csv(index=False, float_format="%.6g"))
