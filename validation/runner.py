"""Running a plan: each job trains, is stored as it finishes, and is never run twice.

One runner path serves Dask (a ``LocalCluster`` by default, or an existing
cluster by address: :func:`run_sweep`) and this process alone
(:func:`run_serial`, for a borrowed accelerator without Dask).  A sweep
skips every job whose entry exists, and a job in flight resumes from its last checkpoint, so killing it
(even ``kill -9``) loses only the training since each job in flight last saved its state (a minute or two).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

import numpy as np

from prunescale.store import POLICIES, PathLike

from .data import CHECKSUM
from .jobs import Job, check_job, describe, is_done, job_config, jobs_store, pending
from .table import check_table, collect, write_csv

PARTIAL = "partial"  # under a sweep's results folder: each job in flight's training checkpoint

if TYPE_CHECKING:
    import pandas as pd

    from .data import CIFAR10


def run_job(job: Job, results_dir: PathLike, data_path: PathLike | None = None, score_cache: PathLike | None = None,
            progress: bool = False, say: Callable[[str], object] | None = None) -> dict:
    """Run one job and store its result; return the result row.

    A job whose entry exists returns that row without training: Dask may run
    a task again (a worker lost after its result was written).  A job stopped mid-training resumes from its
    checkpoint (``partial/<key>.npz`` under ``results_dir``, removed once the row is stored).  ``say(text)``
    hears each phase as it starts; ``progress`` shows the scoring's and the training's own bars."""
    from .data import load_cifar10
    from .trainer import accuracy, train
    from .xla import machine, prefer_fast_cpu_convolutions

    prefer_fast_cpu_convolutions()
    config = job_config(job)
    done = jobs_store(results_dir).load(config)
    if done is not None:
        return done.value
    started = time.time()
    verify = job.data == CHECKSUM  # verified data has this checksum by construction
    d = load_cifar10(data_path, verify=verify)
    if not verify and d.checksum != job.data:
        raise ValueError(f"job {job.key} was planned for data {job.data}, but {data_path or 'the data file'} is {d.checksum}")
    say = say or (lambda text: None)
    if job.policy != "random":
        say(f"scoring by {job.metric} (pool {job.pool_size}, seed {job.seed})")
    kept = kept_set(job, d, score_cache, progress=progress)
    assert kept is not None  # scored here where the cache lacks it (only cached_only gives None)
    x_test, y_test = d.x_test[: job.test_size], d.y_test[: job.test_size]
    cfg = job.train_config()
    partial = _checkpoint(job, results_dir)
    say(f"training on {kept.size} images, seed {job.seed}" + (" (resuming)" if partial.is_file() else ""))
    net = train(d.x_train[kept], d.y_train[kept], cfg, seed=job.seed, progress=progress, checkpoint=partial)
    row = dict(
        metric=job.metric,
        policy=job.policy,
        pool_size=job.pool_size,
        keep_fraction=job.keep_fraction,
        n_train=int(kept.size),
        seed=job.seed,
        budget=cfg.budget,
        epochs=cfg.epochs,
        steps=net.steps,
        test_error=1.0 - accuracy(net, x_test, y_test),
        wall_seconds=round(time.time() - started + net.resumed_seconds, 1),  # a resumed run counts its earlier training
        device=device_name(),
        config_hash=job.key,
        config=job.config,
        xla_flags=net.xla_flags,
        pool=job.pool,
        class_balanced=job.class_balanced,
    ) | {k: v for k, v in machine()._asdict().items() if k != "xla_flags"}  # the flags the net trained with, above
    jobs_store(results_dir).save(config, row)
    partial.unlink(missing_ok=True)
    return row


def kept_set(job: Job, d: CIFAR10, score_cache: PathLike | None = None, cached_only: bool = False,
             progress: bool = False) -> np.ndarray | None:
    """The training-set indices a job keeps: its pool, scored (from the cache where it holds them) and pruned.

    With ``cached_only``, None where the scores are not in the cache (nothing is trained)."""
    from prunescale.store import KeyedStore

    from .data import class_balanced_subset, nested_pool, prune
    from .metrics import metric_config, score

    draw_pool = class_balanced_subset if job.pool == "balanced" else nested_pool
    pool = draw_pool(d.y_train, job.pool_size, seed=job.seed)
    scores = np.zeros(len(d.y_train))
    if job.policy != "random":
        test = dict(x_test=d.x_test[: job.test_size], y_test=d.y_test[: job.test_size]) if job.metric == "influence" else {}
        args = (job.metric, d.x_train[pool], d.y_train[pool])
        options = dict(seed=job.seed, **test, **json.loads(job.metric_options))
        if cached_only and (score_cache is None or KeyedStore(score_cache, prefix=job.metric).load(metric_config(*args, **options)) is None):
            return None
        scores[pool] = score(*args, cache_dir=score_cache, progress=progress, **options).scores
    labels = d.y_train if job.class_balanced else None
    if job.policy in POLICIES:
        return prune(scores, pool, job.keep_fraction, job.policy, seed=job.seed, labels=labels)
    from .selection import select  # ccs, mixed, with their default settings

    return pool[select(scores[pool], job.keep_fraction, job.policy, seed=job.seed, labels=None if labels is None else labels[pool])]


def kept_class_balance(jobs: Sequence[Job], results_dir: PathLike, data_path: PathLike | None = None,
                       score_cache: PathLike | None = None) -> pd.DataFrame:
    """Per finished job, how its kept set spreads over the classes: the smallest and largest class share and the
    counts (the fair test reports them; scores come from the cache, nothing is trained)."""
    import pandas as pd

    from .data import load_cifar10

    d = load_cifar10(data_path)
    rows = []
    for job in jobs:
        kept = kept_set(job, d, score_cache, cached_only=True) if is_done(job, results_dir) else None
        if kept is not None:
            counts = np.bincount(d.y_train[kept], minlength=10)
            shares = counts / counts.sum()
            rows.append(dict(config_hash=job.key, metric=job.metric, policy=job.policy, pool_size=job.pool_size,
                             keep_fraction=job.keep_fraction, seed=job.seed, class_balanced=job.class_balanced,
                             smallest_share=float(shares.min()), largest_share=float(shares.max()),
                             counts=" ".join(map(str, counts))))
    return pd.DataFrame(rows)


def device_name() -> str:
    """Where XLA runs, for the runs table: ``cpu`` or the accelerator's kind (``NVIDIA H200``).

    Wall seconds are comparable only between runs on the same device, and a
    GPU does not round like a CPU, so each run says where it trained."""
    import jax

    d = jax.devices()[0]
    return "cpu" if d.platform == "cpu" else d.device_kind


def progress(jobs: Sequence[Job], results_dir: PathLike) -> pd.DataFrame:
    """Per curve (seed, pool, metric, policy, in plan order): jobs done and planned, and the images still to train.

    ``images_left`` sums, over pending jobs, the images their training
    presents (steps times batch) less those a stopped job's checkpoint holds: the work that remains, under any
    budget rule (scoring comes on top)."""
    import pandas as pd

    rows = []
    for j in jobs:
        done = is_done(j, results_dir)
        rows.append(
            dict(
                seed=j.seed,
                pool_size=j.pool_size,
                metric=j.metric,
                policy=j.policy,
                done=int(done),
                planned=1,
                images_left=0 if done else _images_to_train(j, results_dir),
            )
        )
    frame = pd.DataFrame(rows, columns=["seed", "pool_size", "metric", "policy", "done", "planned", "images_left"])
    keys = ["seed", "pool_size", "metric", "policy"]
    return frame.groupby(keys, sort=False)[["done", "planned", "images_left"]].sum().reset_index()


def _images_to_train(job, results_dir):
    from .checkpoints import steps_taken

    cfg = job.train_config()
    kept = max(1, int(round(job.keep_fraction * job.pool_size)))
    steps = cfg.total_steps(kept) - steps_taken(_checkpoint(job, results_dir))
    return steps * min(cfg.batch_size, kept)


def _checkpoint(job, results_dir):
    """Where ``job`` keeps its training state until its row is stored."""
    return Path(results_dir) / PARTIAL / f"{job.key}.npz"


class SweepFailed(RuntimeError):
    """Some jobs raised; the others finished and were stored."""


def run_sweep(jobs: Sequence[Job], results_dir: PathLike, *, scheduler: str | None = None, workers: int = 1,
              data_path: PathLike | None = None, score_cache: PathLike | None = None, csv: PathLike | None = None,
              progress: bool = True) -> pd.DataFrame:
    """Run the pending jobs through Dask, in the given order, and return the plan's results (finished before or now).

    ``scheduler`` is the address of an existing Dask cluster; by default a
    ``LocalCluster`` of ``workers`` processes is started and closed.  Each
    worker runs one job at a time (XLA already uses every core).  With
    ``csv``, the table of the plan's finished runs is rewritten after every job and at the end.
    A job that raises does not stop the others; :class:`SweepFailed` names each failed job and its error.
    """
    if scheduler is None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be a positive integer, got {workers!r}")

    def on_dask(todo, bar):
        from dask.distributed import Client, LocalCluster, as_completed

        cluster = None if scheduler else LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                                      dashboard_address=":0")
        try:
            with Client(scheduler or cluster) as client:
                submit = lambda i, j: client.submit(run_job, j, results_dir, data_path, score_cache, key=f"job-{j.key}",
                                                    pure=False, priority=-i)
                futures = {submit(i, j): j for i, j in enumerate(todo)}
                bar.set_postfix_str("on Dask workers: a job scores its pool, then trains; the bar moves as jobs finish")
                for future in as_completed(futures):
                    yield futures[future], future.exception() if future.status == "error" else None
        finally:
            if cluster is not None:
                cluster.close()

    return _run(jobs, results_dir, csv, progress, on_dask)


def run_serial(jobs: Sequence[Job], results_dir: PathLike, *, deadline: float | None = None, data_path: PathLike | None = None,
               score_cache: PathLike | None = None, csv: PathLike | None = None, progress: bool = True) -> pd.DataFrame:
    """The same as :func:`run_sweep`, one job after another in this process (no Dask).

    For a borrowed accelerator with a fixed lease: no job starts after
    ``deadline`` seconds; a job in flight when the process is killed is lost,
    the finished ones are not.  With ``progress``, the bar names each job's phase (scoring, training), and the
    scoring and training show their own progress beneath it."""
    started = time.time()

    def in_this_process(todo, bar):
        for job in todo:
            if deadline is not None and time.time() - started > deadline:
                return
            try:
                run_job(job, results_dir, data_path, score_cache, progress=progress, say=bar.set_postfix_str)
                yield job, None
            except Exception as exc:  # reported with the others at the end; the next job still runs
                yield job, exc

    return _run(jobs, results_dir, csv, progress, in_this_process)


def _run(jobs: Sequence[Job], results_dir: PathLike, csv: PathLike | None, progress: bool,
         execute: Callable[[list[Job], Any], Iterator[tuple[Job, BaseException | None]]]) -> pd.DataFrame:
    """The one path of both runners: check, run the pending jobs through ``execute(todo, bar)`` (which yields
    each finished job with its exception or None), keep the table current, and report the failures together."""
    from tqdm.auto import tqdm

    todo = pending([check_job(j) for j in jobs], results_dir)
    check_table(csv, jobs)
    failures = []
    with tqdm(total=len(jobs), initial=len(jobs) - len(todo), desc="jobs", disable=not progress) as bar:
        for job, exc in execute(todo, bar) if todo else ():
            if exc is not None:
                failures.append((job, exc))
            bar.update(1)
            if csv is not None:
                write_csv(collect(results_dir, jobs), csv)
    frame = collect(results_dir, jobs)
    if csv is not None:
        write_csv(frame, csv)
    if failures:
        lines = [f"{describe(j)}: {type(e).__name__}: {e}" for j, e in failures]
        raise SweepFailed(f"{len(failures)} of {len(jobs)} jobs failed: " + "; ".join(lines))
    return frame
