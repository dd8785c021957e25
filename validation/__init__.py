"""Real networks on CIFAR-10: data, a fast JAX ResNet trainer, and the pruning metrics.

Public API::

    load_cifar10(path=None)                   -> CIFAR10(x_train, y_train, x_test, y_test), verified
    class_balanced_subset(labels, size, seed) -> index array
    random_pool(n_total, size, seed)          -> index array
    prune(scores, pool, keep_fraction, policy, seed) -> the kept indices (higher score = harder)
    TrainConfig, CONFIGS, get_config          -> every hyperparameter and the budget rule
    train(x, y, config, seed, checkpoint=)   -> TrainResult with per-example records (a stopped run resumes)
    predict(result, x), accuracy(result, x, y)
    score(metric, x, y, seed, cache_dir, **options) -> Scores(scores, stderr, config)
    METRICS                                   -> the registry {name: Metric(function, defaults, ...)}:
                                                 el2n, grand, forgetting, memorization,
                                                 influence, prototypes, random
    Job, grid, default_sweep                  -> sweep plans; a job is keyed by its full config
    PLANS, Plan                               -> the registry of experiment plans {name: Plan}
    run_sweep(jobs, results_dir) (Dask), run_serial(jobs, results_dir, deadline=) -> the runs table
    prune_dataset(x, y, keep_fraction, metric=, policy=) -> Pruned(kept, scores, report): your own data
                                                 (policies hard, easy, random, ccs, mixed)
    prune_dynamics(path, keep_fraction, metric=)  -> Pruned, from recorded logits (el2n, forgetting, aum, loss)
    prune_embeddings(path, keep_fraction, clusters=, dedup=) -> Pruned, by self-supervised prototypes
    prune_scores(scores, keep_fraction, labels=)  -> Pruned, from scores of your own
    Recorder(folder, labels, epochs, num_classes) -> records a training loop's logits (numpy only)

Public modules, for the command line and the figures (imported on first use)::

    analysis, calibrate, criteria, fits, verdicts, largescale -> reading runs tables: fits, the theory's
                                                 calibration, the pre-registered criteria and verdicts
    data, dynamics, pruning                   -> the data set and pruning from your own records
    jobs, plans, runner, table                -> the sweep: a job, the plans, running them, the runs table
"""

import importlib


# Names resolve on first use, so that a light part (the plans, the runs table) imports without JAX: the console
# script reads the plans registry at start-up, and JAX alone takes seconds to import.
_HOME = {
    "Recorder": "dynamics",
    "Pruned": "pruning", "prune_dataset": "pruning", "prune_dynamics": "pruning", "prune_embeddings": "pruning",
    "prune_scores": "pruning",
    "CIFAR10": "data", "class_balanced_subset": "data", "find_cifar10": "data", "load_cifar10": "data", "prune": "data",
    "random_pool": "data",
    "Job": "jobs", "grid": "jobs",
    "PLANS": "plans", "Plan": "plans", "default_sweep": "plans",
    "SweepFailed": "runner", "run_serial": "runner", "run_sweep": "runner",
    "METRICS": "metrics", "Scores": "metrics", "score": "metrics",
    "CONFIGS": "trainer", "TrainConfig": "trainer", "TrainResult": "trainer", "accuracy": "trainer",
    "get_config": "trainer", "predict": "trainer", "train": "trainer",
}
PUBLIC_MODULES = ("analysis", "calibrate", "criteria", "data", "dynamics", "fits", "jobs", "largescale", "plans",
                  "pruning", "runner", "table", "verdicts")


def __getattr__(name):
    if name in PUBLIC_MODULES:
        return importlib.import_module(f".{name}", __name__)
    if name == "METRIC_DEFAULTS":
        return importlib.import_module(".metrics", __name__).DEFAULTS
    if name in _HOME:
        return getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(__all__)


__all__ = [
    *PUBLIC_MODULES,
    "PLANS",
    "Plan",
    "CIFAR10",
    "CONFIGS",
    "Job",
    "METRICS",
    "METRIC_DEFAULTS",
    "Pruned",
    "Recorder",
    "Scores",
    "SweepFailed",
    "TrainConfig",
    "TrainResult",
    "accuracy",
    "class_balanced_subset",
    "default_sweep",
    "find_cifar10",
    "get_config",
    "grid",
    "load_cifar10",
    "predict",
    "prune",
    "prune_dataset",
    "prune_dynamics",
    "prune_embeddings",
    "prune_scores",
    "random_pool",
    "run_serial",
    "run_sweep",
    "score",
    "train",
]
