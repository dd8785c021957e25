"""A sweep's unit of work: the :class:`Job` specification, its key, and its keyed store.

A job trains one network on a pruned subset and reports its test error:
take a pool of ``pool_size`` training images, score it by ``metric``
(cached), keep ``keep_fraction`` of it by ``policy``, train with ``config``
under the budget rule ``budget``, evaluate on the test set.

Each finished job is an entry of a :class:`store.KeyedStore` in
``<results>/jobs/``, keyed by the job's full configuration: the job, every
training hyperparameter's value, the metric's options and model, the data
checksum and the code version (:func:`job_config`).  Editing a preset or a
default therefore names new jobs: an old result is never mixed in.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from prunescale.store import KeyedStore, PathLike, checks, digest

from .data import CHECKSUM
from .selection import SELECTION_POLICIES

if TYPE_CHECKING:
    from .metrics import MetricName
    from .selection import SelectionPolicy
    from .trainer import TrainConfig

JOB_VERSION = 2  # 2: keyed by the full config values (1: by the config's name)
POOLS = ("balanced", "nested")


@dataclasses.dataclass(frozen=True)
class Job:
    metric: MetricName
    policy: SelectionPolicy
    pool_size: int
    keep_fraction: float
    seed: int = 0
    config: str = "sweep"
    budget: str = "epochs"
    epochs: float | None = None  # None: the config's
    metric_options: str = "{}"  # JSON, so the spec stays hashable
    test_size: int = 10000
    data: str = CHECKSUM  # the data set's checksum (validation.CIFAR10.checksum)
    steps: int | None = None  # for budget="steps": the optimiser steps of every run
    pool: str = "balanced"  # "balanced": class_balanced_subset; "nested": nested_pool (pools nest across sizes)
    class_balanced: bool = False  # prune within each class (prune(..., labels=))

    def train_config(self) -> TrainConfig:
        """The job's training config, every value (the preset with the job's overrides)."""
        from .trainer import get_config

        overrides = dict(budget=self.budget) | ({} if self.epochs is None else {"epochs": self.epochs})
        overrides |= {} if self.steps is None else {"steps": self.steps}
        return get_config(self.config, **overrides)

    @property
    def key(self) -> str:
        return digest(job_config(self))


def job_config(job: Job) -> dict:
    """Everything a job's result depends on, by value: what its key and its stored entry hold."""
    from .metrics import DEFAULTS, METRICS_VERSION
    from .trainer import RESULTS_VERSION, get_config

    options = {**DEFAULTS[job.metric], **json.loads(job.metric_options)}
    metric = {"options": options}
    if "config" in options:
        metric["model"] = get_config(options["config"]).to_dict()
    return dict(
        job=dataclasses.asdict(job),
        train=job.train_config().to_dict(),
        metric=metric,
        code=f"validation results v{RESULTS_VERSION}, metrics v{METRICS_VERSION}, jobs v{JOB_VERSION}",
    )


def check_job(job: Job) -> Job:
    """The job, if every field is valid: errors name the field and its valid values."""
    from .metrics import OPTIONS
    from .trainer import CONFIGS

    checks.one_of("metric", job.metric, tuple(OPTIONS))
    checks.one_of("policy", job.policy, SELECTION_POLICIES)
    if isinstance(job.pool_size, bool) or not float(job.pool_size).is_integer() or not 10 <= job.pool_size <= 50000:
        raise ValueError(f"pool_size must be an integer in [10, 50000], got {job.pool_size!r}")
    checks.keep_fraction(job.keep_fraction)
    checks.one_of("config", job.config, tuple(CONFIGS))
    checks.one_of("pool", job.pool, POOLS)
    options = checks.json_object("metric_options", job.metric_options)
    unknown = set(options) - set(OPTIONS[job.metric])
    if unknown:
        raise ValueError(f"unknown options for {job.metric}: {sorted(unknown)}; valid: {sorted(OPTIONS[job.metric])}")
    job.train_config()  # checks budget, epochs
    return job


def grid(metrics: Sequence[MetricName], policies: Sequence[SelectionPolicy], pool_sizes: Sequence[int], keep_fractions: Sequence[float],
         seeds: Sequence[int], **common: Any) -> list[Job]:
    """All combinations as jobs.  Random pruning ignores the metric, so it runs once per point."""
    jobs = []
    for pool in pool_sizes:
        for f in keep_fractions:
            for seed in seeds:
                if "random" in policies or f == 1.0:  # random pruning takes no metric options
                    jobs.append(Job("random", "random", pool, f, seed, **(common | {"metric_options": "{}"})))
                if f == 1.0:
                    continue  # keeping everything is the same for every metric and policy
                for metric in metrics:
                    for policy in policies:
                        if policy != "random":
                            jobs.append(Job(metric, policy, pool, f, seed, **common))
    return [check_job(j) for j in dict.fromkeys(jobs)]


def jobs_store(results_dir: PathLike) -> KeyedStore:
    return KeyedStore(Path(results_dir) / "jobs", prefix="job")


def stored_jobs(results_dir: PathLike) -> dict[str, Job]:
    """Every job with an entry under ``results_dir``, by key, rebuilt from the specification its entry holds."""
    rebuilt = (Job(**entry.config["job"]) for entry in jobs_store(results_dir).entries())
    return {job.key: job for job in rebuilt}


def is_done(job: Job, results_dir: PathLike) -> bool:
    """Whether an intact entry for exactly this job exists (a corrupt one is set aside and counts as not done)."""
    return jobs_store(results_dir).contains(job_config(job))


def pending(jobs: Sequence[Job], results_dir: PathLike) -> list[Job]:
    """The jobs without a finished result."""
    return [j for j in jobs if not is_done(j, results_dir)]


def describe(job: Job) -> str:
    """A job in a few words, for messages."""
    return f"job {job.key} (seed {job.seed}, pool {job.pool_size}, {job.metric} keep {job.policy}, f = {job.keep_fraction:g})"
