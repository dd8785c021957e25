"""Data-pruning metrics for CIFAR-10 (docs/science.md, section 5).  Higher score = harder.

One file per metric; :data:`METRICS` is the registry ``{name: Metric(function, defaults, ...)}``.
Each metric is a pure function of the data, its options and a seed; the
definitions sit in small functions that the tests pin on toy inputs:

- ``el2n``: ``|softmax - onehot|_2`` after ``epochs`` of training, averaged over ``inits`` networks.
- ``grand``: the norm of the per-example loss gradient over *all* parameters
  (vmap over examples), after ``epochs``, averaged over ``inits``.
- ``forgetting``: the number of correct -> wrong transitions of an example over
  training (as presented in its minibatch); never learned = passes seen + 1, above any count.
- ``memorization`` (Feldman and Zhang): ``models`` networks on random subsets
  holding ``subset_fraction`` of the data (a balanced design: each example is in
  exactly ``round(subset_fraction * models)`` of them); ``mem(i) = P(correct i | i in) - P(correct i | i out)``,
  with its standard error.
- ``influence``: from the same runs, ``infl(i, j) = P(correct j | i in) - P(correct j | i out)``
  for test examples j; an example scores its largest (``reduce="max"``) or total influence.
- ``prototypes``: a SimCLR-style contrastive network (``widths``, ``stem``) trained on the
  images alone, spherical k-means on its embeddings, and the cosine distance to the nearest
  centroid.  It never sees a label.
- ``random``: uniform scores.

The defaults are scaled to a 2-core CPU (few inits, few epochs, few models),
far below the paper's (10 inits; 20 epochs; thousands of subset models).
:func:`score` caches every result in a :class:`store.KeyedStore`, keyed by its
full configuration (options, every training hyperparameter, data digests,
code version).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Literal, NamedTuple

import numpy as np

from prunescale.store import KeyedStore, PathLike, checks, digest

from .. import xla
from ..trainer import RESULTS_VERSION, get_config
from . import el2n, forgetting, grand, influence, memorization, prototypes, random_scores

METRICS_VERSION = 1  # bump when a definition or default changes the scores


class Metric(NamedTuple):
    function: Callable  # (x[, y], *, seed, progress, [x_test, y_test,] **options) -> (scores, stderr or None)
    defaults: dict  # every option, so every one enters the cache key
    labels: bool = True  # needs y
    test_set: bool = False  # needs x_test, y_test
    optional: tuple = ()  # options without a default: they enter the config (and every key) only when given
    units: bool = False  # made of independent units (inits), each cached as it finishes: a stopped scoring resumes


MetricName = Literal["el2n", "grand", "forgetting", "memorization", "influence", "prototypes", "random"]
METRICS: dict[str, Metric] = {
    # steps=None: train `epochs` passes; steps=S: a run of S steps, read at stop_after of it (the fair protocol)
    # init_seeds: the scoring networks' seeds, named so that replicates can be shown not to share any
    "el2n": Metric(el2n.el2n, dict(inits=4, epochs=1.0, config="sweep", steps=None, stop_after=1.0), optional=("init_seeds",), units=True),
    "grand": Metric(grand.grand, dict(inits=2, epochs=1.0, config="sweep", chunk=64, steps=None, stop_after=1.0), units=True),
    # steps=S: counted over an S-step run, the fair test's converged run itself (docs/validation.md)
    "forgetting": Metric(forgetting.forgetting, dict(epochs=6.0, config="sweep", steps=None)),
    "memorization": Metric(memorization.memorization, dict(models=8, subset_fraction=0.7, config="sweep")),
    "influence": Metric(influence.influence, dict(models=8, subset_fraction=0.7, config="sweep", reduce="max"), test_set=True),
    "prototypes": Metric(
        prototypes.prototypes,
        # the self-supervised network: (32, 64, 64) stages, a 16-channel stem, a 64-d embedding
        dict(epochs=4, clusters=10, embed_dim=64, temperature=0.2, batch_size=256, lr=2e-3, widths=(32, 64, 64), stem=16),
        labels=False,
    ),
    "random": Metric(random_scores.random_scores, {}, labels=False),
}
DEFAULTS = {name: m.defaults for name, m in METRICS.items()}
OPTIONS = {name: tuple(m.defaults) + m.optional for name, m in METRICS.items()}  # every option a metric accepts


class Scores(NamedTuple):
    scores: np.ndarray  # [n], higher = harder
    stderr: np.ndarray | None  # [n] where the estimator has one (memorization, influence)
    config: dict  # everything that determined the scores


COUNTS = ("inits", "models", "clusters", "embed_dim", "batch_size", "chunk")  # integers >= 1
AMOUNTS = ("epochs", "lr", "temperature")  # numbers > 0
SHARES = {"stop_after": "(0, 1]", "subset_fraction": "(0, 1)"}


def check_option_values(options: dict) -> None:
    """Every metric option in its valid range, in user terms, before any training; a one-line error naming it."""
    for name, value in options.items():
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if name in COUNTS and not (number and float(value).is_integer() and value >= 1):
            raise ValueError(f"option {name} must be an integer >= 1, got {value!r}")
        if name in AMOUNTS and not (number and np.isfinite(value) and value > 0):
            raise ValueError(f"option {name} must be a positive number, got {value!r}")
        if name == "steps" and value is not None and not (number and float(value).is_integer() and value >= 1):
            raise ValueError(f"option steps must be an integer >= 1 (or null for the epochs rule), got {value!r}")
        if name in SHARES:
            ok = number and 0 < value <= 1 if SHARES[name].endswith("]") else number and 0 < value < 1
            if not ok:
                raise ValueError(f"option {name} must lie in {SHARES[name]}, got {value!r}")


def metric_config(metric: str, x: np.ndarray, y: np.ndarray | None, *, seed: int = 0, x_test: np.ndarray | None = None,
                  y_test: np.ndarray | None = None, **options: Any) -> dict:
    """The full configuration that determines a metric's scores (what the cache stores and is keyed by)."""
    checks.one_of("metric", metric, tuple(METRICS))
    unknown = set(options) - set(OPTIONS[metric])
    if unknown:
        raise ValueError(f"unknown options for {metric}: {sorted(unknown)}; valid: {sorted(OPTIONS[metric])}")
    opts = {**DEFAULTS[metric], **options}
    check_option_values(opts)
    cfg = {"metric": metric, "options": opts, "seed": int(seed)}
    if "config" in opts:
        cfg["model"] = dataclasses.asdict(get_config(opts["config"]))
    # the dtypes ``score`` trains on, so a lookup with uint8 labels finds what ``score`` cached
    data = {"x": digest(np.asarray(x, np.uint8)), "n": len(x)}
    if METRICS[metric].labels:
        data["y"] = digest(np.asarray(y, np.int32))
    if METRICS[metric].test_set:
        data["x_test"], data["y_test"] = digest(x_test), digest(np.asarray(y_test))
    cfg["data"] = digest(data)
    cfg["code"] = f"validation results v{RESULTS_VERSION}, metrics v{METRICS_VERSION}"
    return cfg


def _unit_cache(store, cfg):
    """``unit(k, compute)``: unit k's scores from ``store`` (keyed by the scoring's config and k), or computed and
    stored as soon as they are, so a killed scoring resumes after its last finished unit."""

    def unit(k, compute):
        key = cfg | {"unit": int(k)}
        hit = store.load(key)
        if hit is not None:
            return hit.arrays["scores"]
        scores = np.asarray(compute(), float)
        store.save(key, arrays={"scores": scores})
        return scores

    return unit


def score(metric: MetricName, x: np.ndarray, y: np.ndarray | None = None, *, seed: int = 0, cache_dir: PathLike | None = None,
          progress: bool = False, x_test: np.ndarray | None = None, y_test: np.ndarray | None = None,
          **options: Any) -> Scores:
    """Score every example of ``(x, y)`` by ``metric`` (higher = harder).

    Parameters
    ----------
    metric : one of :data:`METRICS`
    x : uint8 [n, 32, 32, 3]; y : int [n] (ignored by "prototypes" and "random")
    seed : int
    cache_dir : path, optional
        Reuse scores computed under the identical configuration; store new ones.
        An entry whose stored configuration differs is refused, never mixed in.
    x_test, y_test : needed by "influence".
    options : override :data:`DEFAULTS` for the metric.

    Returns
    -------
    Scores(scores [n], stderr [n] or None, config)

    Example
    -------
    >>> x = np.zeros((4, 32, 32, 3), np.uint8)
    >>> s = score("random", x, seed=0)
    >>> s.scores.round(3).tolist(), s.config["metric"]
    ([0.637, 0.27, 0.041, 0.017], 'random')
    """
    checks.one_of("metric", metric, tuple(METRICS))
    xla.prefer_fast_cpu_convolutions()  # before any metric's first JAX computation
    entry = METRICS[metric]
    if entry.test_set and (x_test is None or y_test is None):
        raise ValueError(f"metric {metric!r} needs x_test and y_test")
    x = np.asarray(x, np.uint8)
    if entry.labels:
        if y is None:
            raise ValueError(f"metric {metric!r} needs labels y")
        y = np.asarray(y, np.int32)
    cfg = metric_config(metric, x, y, seed=seed, x_test=x_test, y_test=y_test, **options)
    cache = None if cache_dir is None else KeyedStore(cache_dir, prefix=metric)
    hit = None if cache is None else cache.load(cfg)
    if hit is not None:
        return Scores(hit.arrays["scores"], hit.arrays.get("stderr"), cfg)
    args = (x, y) if entry.labels else (x,)
    extra = dict(x_test=np.asarray(x_test, np.uint8), y_test=np.asarray(y_test)) if entry.test_set else {}
    if entry.units and cache_dir is not None:
        extra["unit"] = _unit_cache(KeyedStore(cache_dir, prefix=f"{metric}-unit"), cfg)
    s, se = entry.function(*args, seed=seed, progress=progress, **extra, **cfg["options"])
    result = Scores(np.asarray(s, float), None if se is None else np.asarray(se, float), cfg)
    if not np.all(np.isfinite(result.scores)):
        raise ValueError(f"metric {metric!r} gave non-finite scores under options {cfg['options']}; nothing cached")
    if cache is not None:
        cache.save(cfg, arrays={"scores": result.scores} | ({} if se is None else {"stderr": result.stderr}))
    return result
