"""Pruning sweeps on CIFAR-10: job specs, one resumable runner (Dask or serial), and the results table.

A job trains one network on a pruned subset and reports its test error:
take a class-balanced pool of ``pool_size`` training images, score it by
``metric`` (cached), keep ``keep_fraction`` of it by ``policy``, train with
``config`` under the budget rule ``budget``, evaluate on the test set.

Each finished job is an entry of a :class:`store.KeyedStore` in
``<results>/jobs/``, keyed by the job's full configuration: the job, every
training hyperparameter's value, the metric's options and model, the data
checksum and the code version (:func:`job_config`).  Editing a preset or a
default therefore names new jobs: an old result is never mixed in.  A sweep
skips every job whose entry exists, so killing it (even ``kill -9``) loses
only the jobs in flight.  Jobs run through Dask (a ``LocalCluster`` by
default, or an existing cluster by address) or one after another in this
process (:func:`run_serial`, for a borrowed accelerator without Dask).
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path

import numpy as np

from prunescale.store import POLICIES, KeyedStore, atomic_write, checks, digest

from .data import CHECKSUM
from .selection import SELECTION_POLICIES
from .verdicts import CLAIM_1_FRACTIONS, CLAIM_THRESHOLD, COMPRESSION_FRACTIONS, COMPRESSION_POLICIES, FULL_POOL, LOSSLESS_POOL

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
JOB_VERSION = 2  # 2: keyed by the full config values (1: by the config's name)
POOLS = ("balanced", "nested")


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
    data: str = CHECKSUM  # the data set's checksum (validation.CIFAR10.checksum)
    steps: int | None = None  # for budget="steps": the optimiser steps of every run
    pool: str = "balanced"  # "balanced": class_balanced_subset; "nested": nested_pool (pools nest across sizes)
    class_balanced: bool = False  # prune within each class (prune(..., labels=))

    def train_config(self):
        """The job's training config, every value (the preset with the job's overrides)."""
        from .train import get_config

        overrides = dict(budget=self.budget) | ({} if self.epochs is None else {"epochs": self.epochs})
        overrides |= {} if self.steps is None else {"steps": self.steps}
        return get_config(self.config, **overrides)

    @property
    def key(self):
        return digest(job_config(self))


def job_config(job: Job) -> dict:
    """Everything a job's result depends on, by value: what its key and its stored entry hold."""
    from .metrics import DEFAULTS, METRICS_VERSION
    from .train import RESULTS_VERSION, get_config

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


def check_job(job: Job):
    """The job, if every field is valid: errors name the field and its valid values."""
    from .metrics import OPTIONS
    from .train import CONFIGS

    checks.one_of("metric", job.metric, tuple(OPTIONS))
    checks.one_of("policy", job.policy, SELECTION_POLICIES)
    if isinstance(job.pool_size, bool) or not float(job.pool_size).is_integer() or not 10 <= job.pool_size <= 50000:
        raise ValueError(f"pool_size must be an integer in [10, 50000], got {job.pool_size!r}")
    checks.keep_fraction(job.keep_fraction)
    checks.one_of("config", job.config, tuple(CONFIGS))
    checks.one_of("pool", job.pool, POOLS)
    try:
        options = json.loads(job.metric_options)
    except json.JSONDecodeError as exc:
        raise ValueError(f"metric_options must be a JSON object, got {job.metric_options!r} ({exc})") from None
    if not isinstance(options, dict):
        raise ValueError(f"metric_options must be a JSON object, got {job.metric_options!r}")
    unknown = set(options) - set(OPTIONS[job.metric])
    if unknown:
        raise ValueError(f"unknown options for {job.metric}: {sorted(unknown)}; valid: {sorted(OPTIONS[job.metric])}")
    job.train_config()  # checks budget, epochs
    return job


def grid(metrics, policies, pool_sizes, keep_fractions, seeds, **common):
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


def default_sweep():
    """Experiments A and B at CPU scale (about 8-9 CPU-hours with the sweep config; see docs/validation.md)."""
    fractions = (1.0, 0.8, 0.6, 0.4, 0.3, 0.2, 0.1)
    a = grid(("el2n", "forgetting", "prototypes"), POLICIES, (50000,), fractions, (0, 1))
    b = grid(("el2n",), POLICIES, (10000,), fractions, (0, 1))
    return sorted(dict.fromkeys(a + b), key=_curve_order)


# The fair test (docs/validation.md, "The fair test: protocol"): nested class-balanced pools, every run the
# same number of optimiser steps, seeds paired across keep fraction, policy and pool.
FAIR_POOLS = {10000: (1.0, 0.7, 0.5, 0.3), 5000: (1.0, 0.5, 0.3), 2500: (1.0, 0.5)}
PILOT_EPOCHS = (10, 20, 40)  # passes over the 10k pool tried by the budget pilot
FAIR_BATCH = 128  # the default config's batch size, for converting epochs of the pool to steps


def pilot_plan(seeds=(0, 1)):
    """The budget pilot: random f = 1 on the nested 10k pool at 10, 20 and 40 epochs' worth of steps."""
    steps = [math.ceil(e * 10000 / FAIR_BATCH) for e in PILOT_EPOCHS]
    return [
        Job("random", "random", 10000, 1.0, seed, config="default", budget="steps", steps=n, pool="nested")
        for seed in seeds
        for n in steps
    ]


def fair_plan(steps, seeds=(0, 1), claim_seeds=(2,)):
    """The CPU plan of the fair test, every run ``steps`` optimiser steps (chosen by the pilot).

    Random, EL2N keep-hard and keep-easy at f in {1, .7, .5, .3} on 10k, {1, .5, .3} on 5k, {1, .5} on 2.5k
    (nested pools), 2 seeds; a third seed for random and keep-hard at the claim-1 points of the 10k pool
    (f = 1, .7, .5); and class-balanced pruning at f = .5 of the 10k pool for every seed.  EL2N is scored from
    8 inits, each a run of ``steps`` steps read at 15% of it."""
    common = dict(config="default", budget="steps", steps=int(steps), pool="nested", metric_options=_el2n_options(steps))
    jobs = []
    for pool, fractions in FAIR_POOLS.items():
        jobs += grid(["el2n"], POLICIES, [pool], fractions, seeds, **common)
    # the points that decide claim 1 are the verdict's own, so the plan and the verdict cannot drift apart
    jobs += grid(["el2n"], ["random", "hard"], [LOSSLESS_POOL], CLAIM_1_FRACTIONS, claim_seeds, **common)
    balanced = grid(["el2n"], ["random", "hard"], [LOSSLESS_POOL], (CLAIM_THRESHOLD,), tuple(seeds) + tuple(claim_seeds), **common)
    jobs += [dataclasses.replace(j, class_balanced=True) for j in balanced if j.keep_fraction < 1]
    return sorted(dict.fromkeys(jobs), key=_largest_pool_first)


FULL_POOL_STEPS = math.ceil(10 * FULL_POOL / FAIR_BATCH)  # 3,907: the default config's 10 epochs of 50k (90.8%)
GPU_FRACTIONS = (1.0, 0.8, 0.6, 0.5, 0.4, 0.3)


EL2N_INITS = 8


def _el2n_options(steps, seed=None):
    """EL2N as the fair test defines it: 8 inits, each a ``steps``-step run read at 15% of it.  With ``seed``,
    the scoring networks are named (:func:`independent_scoring_seeds`), so no two job seeds share one."""
    options = dict(inits=EL2N_INITS, epochs=1.0, config="default", steps=int(steps), stop_after=0.15)
    if seed is not None:
        options["init_seeds"] = independent_scoring_seeds(seed)
    return json.dumps(options)


def independent_scoring_seeds(seed, inits=EL2N_INITS):
    """The scoring networks of job seed ``seed``: ``1000 (seed + 1) + k``, k < inits.  Disjoint across job
    seeds, and from every job's own training seed (below 1000).  (The older plans score job seed s with
    networks s, s + 1, ..., so seeds 0 and 1 share 7 of their 8.)"""
    if not 0 <= inits <= 1000:
        raise ValueError(f"inits must lie in [0, 1000] for disjoint scoring seeds, got {inits}")
    return [1000 * (int(seed) + 1) + k for k in range(inits)]


def _per_seed(seeds, make):
    """``make(seed)`` for each seed, concatenated: plans whose metric options name the seed's scoring networks."""
    return [job for seed in seeds for job in make(seed)]


def full_pool_plan(steps=FULL_POOL_STEPS, seeds=(0, 1)):
    """The CPU plan's last part: all 50k training images as the pool, at the default config's converged budget
    (10 epochs of 50k in steps, for every run), f in {1, 0.5}, random and EL2N keep-hard, 2 seeds: 6 runs."""
    common = dict(config="default", budget="steps", steps=int(steps), pool="nested", metric_options=_el2n_options(steps))
    jobs = grid(["el2n"], ["random", "hard"], [FULL_POOL], (1.0, 0.5), seeds, **common)
    return sorted(dict.fromkeys(jobs), key=_curve_order)


def gpu_plan(steps=FULL_POOL_STEPS, seeds=(0, 1, 2)):
    """The plan for a lent GPU: the 50k pool under equal compute, f in {1, .8, .6, .5, .4, .3} x {random, EL2N
    hard, EL2N easy} x 3 seeds (48 runs), each seed scored by its own networks.  The f in {1, .5} x {random,
    keep-hard} runs of every seed come first.  One device for the whole table: never mix its rows with CPU rows."""

    def of_seed(seed):
        common = dict(config="default", budget="steps", steps=int(steps), pool="nested", metric_options=_el2n_options(steps, seed))
        return grid(["el2n"], POLICIES, [FULL_POOL], GPU_FRACTIONS, [seed], **common)

    first = lambda j: (j.keep_fraction not in (1.0, 0.5) or j.policy not in ("random", "hard"),) + _curve_order(j)
    return sorted(dict.fromkeys(_per_seed(seeds, of_seed)), key=first)


# The 50k test (docs/validation.md, "The 50k test: protocol"): fresh seeds, each scored by its own networks.
SCALE_SEEDS = (3, 4, 5)
SCALE_BUDGETS = (FULL_POOL_STEPS, 2 * FULL_POOL_STEPS)  # 10 and 20 epochs of 50k: 3,907 and 7,814 steps
SCALE_POOLS = (12500, 25000)  # nested in each seed's 50k pool, for claim 3 across kept sizes 6.25k to 25k


def scale_plan(seeds=SCALE_SEEDS):
    """The 50k test, 36 runs in the order they run.  (a) Claim 1 on the whole data set: the 50k pool, random
    f = 1 and 0.5 and EL2N keep-hard f = 0.5, at 3,907 steps, then the same at 7,814; (b) claim 3 at scale: pools
    of 12.5k and 25k, the same three runs at 3,907 steps.  One EL2N scoring per pool and seed, its networks
    3,907-step runs read at 15% whatever the run's budget, so the budget contrast isolates training length."""

    def of_seed(seed, pools, steps):
        common = dict(config="default", budget="steps", steps=int(steps), pool="nested",
                      metric_options=_el2n_options(SCALE_BUDGETS[0], seed))
        return grid(["el2n"], ["random", "hard"], pools, (1.0, 0.5), [seed], **common)

    a = [_per_seed(seeds, lambda s, n=steps: of_seed(s, [FULL_POOL], n)) for steps in SCALE_BUDGETS]
    b = _per_seed(seeds, lambda s: of_seed(s, sorted(SCALE_POOLS, reverse=True), SCALE_BUDGETS[0]))
    return [j for part in a + [b] for j in sorted(part, key=_curve_order)]


SUBSET_MODELS = 128  # per-example standard error of memorization at most 0.1: sqrt(0.25/90 + 0.25/38) = 0.096


def gpu_memorization_plan(steps, seeds=(0, 1)):
    """The GPU plan's second part: memorization and influence from 128 subset models each (70% subsets, the
    default config) on the nested 2.5k pool, keep-hard and keep-easy at f = 0.5, against random at f = 1 and 0.5,
    every run ``steps`` steps: 12 runs on one device."""
    common = dict(config="default", budget="steps", steps=int(steps), pool="nested")
    options = dict(models=SUBSET_MODELS, subset_fraction=0.7, config="default")
    jobs = grid(["random"], ["random"], [2500], (1.0, 0.5), seeds, **common)
    for metric in ("memorization", "influence"):
        metric_options = json.dumps(options | ({"reduce": "max"} if metric == "influence" else {}))
        jobs += grid([metric], ["hard", "easy"], [2500], (0.5,), seeds, metric_options=metric_options, **common)
    return sorted(dict.fromkeys(jobs), key=_curve_order)


def high_compression_plan(steps, seeds=(0, 1)):
    """High compression, after the fair plan: ccs and mixed against random and keep-hard at f = 0.3 and 0.1
    of the nested 10k pool, under the same steps, seeds and EL2N scores as :func:`fair_plan`."""
    common = dict(config="default", budget="steps", steps=int(steps), pool="nested", metric_options=_el2n_options(steps))
    jobs = grid(["el2n"], ("random",) + COMPRESSION_POLICIES, [LOSSLESS_POOL], COMPRESSION_FRACTIONS, seeds, **common)
    return sorted(dict.fromkeys(jobs), key=_curve_order)


def _largest_pool_first(job):
    # The 10k pool for every seed first: claim 1 (can I prune without loss?) is judged on it alone, so a
    # stopped sweep can decide the user's first question before the smaller pools that claims 2 and 3 need.
    return (-job.pool_size,) + _curve_order(job)


def _curve_order(job):
    # Seed by seed, curve by curve, so a stopped sweep leaves whole curves behind: random first (the
    # baseline every curve is judged against), then metric by metric, large f first.
    return (job.seed, -job.pool_size, job.policy != "random", job.metric, job.policy, -job.keep_fraction)


def jobs_store(results_dir) -> KeyedStore:
    return KeyedStore(Path(results_dir) / "jobs", prefix="job")


def run_job(job: Job, results_dir, data_path=None, score_cache=None):
    """Run one job and store its result; return the result row.

    A job whose entry exists returns that row without training: Dask may run
    a task again (a worker lost after its result was written)."""
    from .data import load_cifar10
    from .train import accuracy, train
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
    kept = kept_set(job, d, score_cache)
    x_test, y_test = d.x_test[: job.test_size], d.y_test[: job.test_size]
    cfg = job.train_config()
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
        config=job.config,
        xla_flags=net.xla_flags,
        pool=job.pool,
        class_balanced=job.class_balanced,
    ) | {k: v for k, v in machine()._asdict().items() if k != "xla_flags"}  # the flags the net trained with, above
    jobs_store(results_dir).save(config, row)
    return row


def kept_set(job: Job, d, score_cache=None, cached_only=False):
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
        scores[pool] = score(*args, cache_dir=score_cache, **options).scores
    labels = d.y_train if job.class_balanced else None
    if job.policy in POLICIES:
        return prune(scores, pool, job.keep_fraction, job.policy, seed=job.seed, labels=labels)
    from .selection import select  # ccs, mixed, with their default settings

    return pool[select(scores[pool], job.keep_fraction, job.policy, seed=job.seed, labels=None if labels is None else labels[pool])]


def kept_class_balance(jobs, results_dir, data_path=None, score_cache=None) -> pd.DataFrame:
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


def device_name():
    """Where XLA runs, for the runs table: ``cpu`` or the accelerator's kind (``NVIDIA H200``).

    Wall seconds are comparable only between runs on the same device, and a
    GPU does not round like a CPU, so each run says where it trained."""
    import jax

    d = jax.devices()[0]
    return "cpu" if d.platform == "cpu" else d.device_kind


def is_done(job, results_dir) -> bool:
    """Whether an intact entry for exactly this job exists (a corrupt one is set aside and counts as not done)."""
    return jobs_store(results_dir).contains(job_config(job))


def pending(jobs, results_dir):
    """The jobs without a finished result."""
    return [j for j in jobs if not is_done(j, results_dir)]


def progress(jobs, results_dir):
    """Per curve (seed, pool, metric, policy, in plan order): jobs done and planned, and the images still to train.

    ``images_left`` sums, over pending jobs, the images their training
    presents (steps times batch): the work that remains, under any budget
    rule (scoring comes on top)."""
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
                images_left=0 if done else _images_to_train(j),
            )
        )
    frame = pd.DataFrame(rows, columns=["seed", "pool_size", "metric", "policy", "done", "planned", "images_left"])
    keys = ["seed", "pool_size", "metric", "policy"]
    return frame.groupby(keys, sort=False)[["done", "planned", "images_left"]].sum().reset_index()


def _images_to_train(job):
    cfg = job.train_config()
    kept = max(1, int(round(job.keep_fraction * job.pool_size)))
    return cfg.total_steps(kept) * min(cfg.batch_size, kept)


def collect(results_dir, jobs=None):
    """The finished rows, as a pandas DataFrame in :data:`COLUMNS` order: of ``jobs`` (a plan), or of every job
    stored under ``results_dir``."""
    import pandas as pd

    store = jobs_store(results_dir)
    if jobs is None:
        rows = [e.value for e in store.entries()]
    else:
        rows = [e.value for e in (store.load(job_config(j)) for j in jobs) if e is not None]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def check_table(csv, jobs):
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


class SweepFailed(RuntimeError):
    """Some jobs raised; the others finished and were stored."""


def run_sweep(
    jobs, results_dir, *, scheduler=None, workers=1, data_path=None, score_cache=None, csv=None, progress=True
):
    """Run the pending jobs through Dask, in the given order, and return the plan's results (finished before or now).

    ``scheduler`` is the address of an existing Dask cluster; by default a
    ``LocalCluster`` of ``workers`` processes is started and closed.  Each
    worker runs one job at a time (XLA already uses every core).  With
    ``csv``, the table of the plan's finished runs is rewritten after every job and at the end.
    A job that raises does not stop the others; :class:`SweepFailed` names each failed job and its error.
    """
    from dask.distributed import Client, LocalCluster, as_completed

    if scheduler is None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    todo = pending([check_job(j) for j in jobs], results_dir)
    check_table(csv, jobs)
    failures = []
    if todo:
        cluster = (
            None
            if scheduler
            else LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0")
        )
        with Client(scheduler or cluster) as client:
            futures = {
                client.submit(
                    run_job, j, results_dir, data_path, score_cache, key=f"job-{j.key}", pure=False, priority=-i
                ): j
                for i, j in enumerate(todo)
            }
            with _bar(jobs, todo, progress) as bar:
                for future in as_completed(futures):
                    if future.status == "error":
                        failures.append((futures[future], future.exception()))
                    bar.update(1)
                    if csv is not None:
                        write_csv(collect(results_dir, jobs), csv)
        if cluster is not None:
            cluster.close()
    return _finish(jobs, results_dir, csv, failures)


def run_serial(jobs, results_dir, *, deadline=None, data_path=None, score_cache=None, csv=None, progress=True):
    """The same as :func:`run_sweep`, one job after another in this process (no Dask).

    For a borrowed accelerator with a fixed lease: no job starts after
    ``deadline`` seconds; a job in flight when the process is killed is lost,
    the finished ones are not."""
    started = time.time()
    todo = pending([check_job(j) for j in jobs], results_dir)
    check_table(csv, jobs)
    failures = []
    with _bar(jobs, todo, progress) as bar:
        for job in todo:
            if deadline is not None and time.time() - started > deadline:
                break
            try:
                run_job(job, results_dir, data_path, score_cache)
            except Exception as exc:  # reported with the others at the end; the next job still runs
                failures.append((job, exc))
            bar.update(1)
            if csv is not None:
                write_csv(collect(results_dir, jobs), csv)
    return _finish(jobs, results_dir, csv, failures)


def _bar(jobs, todo, enabled):
    from tqdm.auto import tqdm

    return tqdm(total=len(jobs), initial=len(jobs) - len(todo), desc="jobs", disable=not enabled)


def _finish(jobs, results_dir, csv, failures):
    frame = collect(results_dir, jobs)
    if csv is not None:
        write_csv(frame, csv)
    if failures:
        lines = [f"{describe(j)}: {type(e).__name__}: {e}" for j, e in failures]
        raise SweepFailed(f"{len(failures)} of {len(jobs)} jobs failed: " + "; ".join(lines))
    return frame


def describe(job: Job) -> str:
    """A job in a few words, for messages."""
    return f"job {job.key} (seed {job.seed}, pool {job.pool_size}, {job.metric} keep {job.policy}, f = {job.keep_fraction:g})"


def write_csv(frame, path):
    atomic_write(path, frame.sort_values(list(COLUMNS[:6])).to_csv(index=False, float_format="%.6g"))
