"""Pruning sweeps on CIFAR-10: job specs, a resumable Dask runner, and the results table.

A job trains one network on a pruned subset and reports its test error:
take a class-balanced pool of ``pool_size`` training images, score it by
``metric`` (cached), keep ``keep_fraction`` of it by ``policy``, train with
``config`` under the budget rule ``budget``, evaluate on the test set.

Each finished job is written atomically to ``<results>/jobs/<key>.json``
(its full spec beside its result), by the worker that ran it.  A sweep
skips every job whose file exists, so killing it (even ``kill -9``) loses
only the jobs in flight.  Jobs run through Dask: a ``LocalCluster`` by
default, or an existing cluster by address.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from prunescale.io import config_key, save_json

POLICIES = ("random", "hard", "easy")
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
)
JOB_VERSION = 1


@dataclasses.dataclass(frozen=True)
class Job:
    metric: str
    policy: str
    pool_size: int
    keep_fraction: float
    seed: int = 0
    config: str = "sweep"
    budget: str = "epochs"
    epochs: float | None = None  # None: the config's
    metric_options: str = "{}"  # JSON, so the spec stays hashable
    test_size: int = 10000

    def spec(self):
        return dataclasses.asdict(self) | {"version": JOB_VERSION}

    @property
    def key(self):
        return config_key(self.spec())


def check_job(job: Job):
    from .metrics import METRICS

    if job.metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}; got {job.metric!r}")
    if job.policy not in POLICIES:
        raise ValueError(f"policy must be one of {', '.join(POLICIES)}; got {job.policy!r}")
    if not 10 <= job.pool_size <= 50000:
        raise ValueError(f"pool_size must lie in [10, 50000]; got {job.pool_size}")
    if not 0 < job.keep_fraction <= 1:
        raise ValueError(f"keep_fraction must lie in (0, 1]; got {job.keep_fraction}")
    return job


def grid(metrics, policies, pool_sizes, keep_fractions, seeds, **common):
    """All combinations as jobs.  Random pruning ignores the metric, so it runs once per point."""
    jobs = []
    for pool in pool_sizes:
        for f in keep_fractions:
            for seed in seeds:
                if "random" in policies or f == 1.0:
                    jobs.append(Job("random", "random", pool, f, seed, **common))
                if f == 1.0:
                    continue  # keeping everything is the same for every metric and policy
                for metric in metrics:
                    for policy in policies:
                        if policy != "random":
                            jobs.append(Job(metric, policy, pool, f, seed, **common))
    return [check_job(j) for j in dict.fromkeys(jobs)]


def default_sweep():
    """Experiments A and B at CPU scale (about 8-9 CPU-hours with the sweep config; see docs/validation.md)."""
    fractions = (1.0, 0.8, 0.6, 0.4, 0.3, 0.2, 0.1)
    a = grid(("el2n", "forgetting", "prototypes"), POLICIES, (50000,), fractions, (0, 1))
    b = grid(("el2n",), POLICIES, (10000,), fractions, (0, 1))
    return sorted(dict.fromkeys(a + b), key=_curve_order)


def _curve_order(job):
    # Seed by seed, curve by curve, so a stopped sweep leaves whole curves behind: random first (the
    # baseline every curve is judged against), then metric by metric, large f first.
    return (job.seed, -job.pool_size, job.policy != "random", job.metric, job.policy, -job.keep_fraction)


def run_job(job: Job, results_dir, data_path=None, score_cache=None):
    """Run one job and write its result file; return the result row.

    A job whose result file exists returns that row without training: Dask
    may run a task again (a worker lost after its result was written)."""
    done = job_path(results_dir, job)
    if done.exists():
        return json.loads(done.read_text())["result"]
    from .data import class_balanced_subset, load_cifar10, prune
    from .metrics import score
    from .train import accuracy, get_config, train

    started = time.time()
    d = load_cifar10(data_path)
    pool = class_balanced_subset(d.y_train, job.pool_size, seed=job.seed)
    x_test, y_test = d.x_test[: job.test_size], d.y_test[: job.test_size]
    options = json.loads(job.metric_options)
    if job.policy == "random":
        scores = np.zeros(len(d.y_train))
    else:
        extra = dict(x_test=x_test, y_test=y_test) if job.metric == "influence" else {}
        s = score(
            job.metric, d.x_train[pool], d.y_train[pool], seed=job.seed, cache_dir=score_cache, **extra, **options
        )
        scores = np.zeros(len(d.y_train))
        scores[pool] = s.scores
    kept = prune(scores, pool, job.keep_fraction, job.policy, seed=job.seed)
    overrides = dict(budget=job.budget) | ({} if job.epochs is None else {"epochs": job.epochs})
    cfg = get_config(job.config, **overrides)
    net = train(d.x_train[kept], d.y_train[kept], cfg, seed=job.seed)
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
        wall_seconds=round(time.time() - started, 1),
        device=device_name(),
        config_hash=job.key,
    )
    save_json(dict(job=job.spec(), model=cfg.to_dict(), result=row), job_path(results_dir, job))
    return row


def device_name():
    """Where XLA runs, for the runs table: ``cpu`` or the accelerator's kind (``NVIDIA H200``).

    Wall seconds are comparable only between runs on the same device, and a
    GPU does not round like a CPU, so each run says where it trained."""
    import jax

    d = jax.devices()[0]
    return "cpu" if d.platform == "cpu" else d.device_kind


def job_path(results_dir, job):
    return Path(results_dir) / "jobs" / f"{job.key}.json"


def pending(jobs, results_dir):
    """The jobs without a finished result file."""
    return [j for j in jobs if not job_path(results_dir, j).exists()]


def progress(jobs, results_dir):
    """Per curve (seed, pool, metric, policy, in plan order): jobs done and planned, and the images still to train.

    Under the ``epochs`` rule training cost grows with the kept set, so
    ``images_left`` (kept images summed over pending jobs) measures the work
    that remains better than a count of jobs does."""
    import pandas as pd

    rows = []
    for j in jobs:
        done = job_path(results_dir, j).exists()
        rows.append(
            dict(
                seed=j.seed,
                pool_size=j.pool_size,
                metric=j.metric,
                policy=j.policy,
                done=int(done),
                planned=1,
                images_left=0 if done else int(round(j.keep_fraction * j.pool_size)),
            )
        )
    frame = pd.DataFrame(rows, columns=["seed", "pool_size", "metric", "policy", "done", "planned", "images_left"])
    keys = ["seed", "pool_size", "metric", "policy"]
    return frame.groupby(keys, sort=False)[["done", "planned", "images_left"]].sum().reset_index()


def collect(results_dir):
    """Every finished job's row, as a pandas DataFrame in :data:`COLUMNS` order."""
    import pandas as pd

    rows = [json.loads(p.read_text())["result"] for p in sorted(Path(results_dir).glob("jobs/*.json"))]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def run_sweep(
    jobs, results_dir, *, scheduler=None, workers=1, data_path=None, score_cache=None, csv=None, progress=True
):
    """Run the pending jobs through Dask, in the given order, and return all results (finished before or now).

    ``scheduler`` is the address of an existing Dask cluster; by default a
    ``LocalCluster`` of ``workers`` processes is started and closed.  Each
    worker runs one job at a time (XLA already uses every core).  With
    ``csv``, the table of finished runs is rewritten after every job and at the end.
    """
    from dask.distributed import Client, LocalCluster, as_completed
    from tqdm.auto import tqdm

    todo = pending([check_job(j) for j in jobs], results_dir)
    if todo:
        cluster = (
            None
            if scheduler
            else LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0")
        )
        with Client(scheduler or cluster) as client:
            futures = [
                client.submit(
                    run_job, j, results_dir, data_path, score_cache, key=f"job-{j.key}", pure=False, priority=-i
                )
                for i, j in enumerate(todo)
            ]
            with tqdm(total=len(jobs), initial=len(jobs) - len(todo), desc="jobs", disable=not progress) as bar:
                for _ in as_completed(futures):
                    bar.update(1)
                    if csv is not None:
                        write_csv(collect(results_dir), csv)
        if cluster is not None:
            cluster.close()
    frame = collect(results_dir)
    if csv is not None:
        write_csv(frame, csv)
    return frame


def write_csv(frame, path):
    from prunescale.io import atomic_write

    atomic_write(path, frame.sort_values(list(COLUMNS[:6])).to_csv(index=False, float_format="%.6g"))
