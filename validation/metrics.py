"""Data-pruning metrics for CIFAR-10 (science.md, section 5).  Higher score = harder.

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
- ``prototypes``: a SimCLR-style contrastive network trained on the images alone,
  spherical k-means on its embeddings, and the cosine distance to the nearest centroid.
  It never sees a label.
- ``random``: uniform scores.

The defaults are scaled to a 2-core CPU (few inits, few epochs, few models),
far below the paper's (10 inits; 20 epochs; thousands of subset models).
:func:`score` caches every result on disk with its full configuration.
"""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .train import get_config, make_model, normalise, per_example_loss, predict, train

METRICS = ("el2n", "grand", "forgetting", "memorization", "influence", "prototypes", "random")
METRICS_VERSION = 1  # bump when a definition or default changes the scores
DEFAULTS = {
    "el2n": dict(inits=4, epochs=1.0, config="sweep"),
    "grand": dict(inits=2, epochs=1.0, config="sweep", chunk=64),
    "forgetting": dict(epochs=6.0, config="sweep"),
    "memorization": dict(models=8, subset_fraction=0.7, config="sweep"),
    "influence": dict(models=8, subset_fraction=0.7, config="sweep", reduce="max"),
    "prototypes": dict(epochs=4, clusters=10, embed_dim=64, temperature=0.2, batch_size=256, lr=2e-3),
    "random": dict(),
}


class Scores(NamedTuple):
    scores: np.ndarray  # [n], higher = harder
    stderr: np.ndarray | None  # [n] where the estimator has one (memorization, influence)
    config: dict  # everything that determined the scores


# -- definitions (pure, tested on toy inputs) ------------------------------------------


def el2n_from_probs(probs, labels):
    """``|p - onehot(y)|_2`` per example."""
    probs = np.asarray(probs, float)
    onehot = np.eye(probs.shape[-1])[np.asarray(labels)]
    return np.linalg.norm(probs - onehot, axis=-1)


def forgetting_counts(correct, presented=None):
    """Correct -> wrong transitions between consecutive presentations, per example.

    ``correct`` is [epochs, n] (bool).  Examples never classified correctly get
    ``epochs + 1``, more than any example that was learned can reach.
    """
    correct = np.asarray(correct, bool)
    presented = np.ones_like(correct) if presented is None else np.asarray(presented, bool)
    counts = np.zeros(correct.shape[1], int)
    previous = np.zeros(correct.shape[1], bool)
    for c, p in zip(correct, presented):
        counts += p & previous & ~c
        previous = np.where(p, c, previous)
    never = ~(correct & presented).any(axis=0)
    counts[never] = correct.shape[0] + 1
    return counts


def subset_estimator(in_subset, correct):
    """Feldman-Zhang estimator: ``P(correct | in) - P(correct | out)`` per column, and its standard error.

    ``in_subset`` [M, n] and ``correct`` [M, n] are per-run booleans.
    """
    inside = np.asarray(in_subset, float)
    c = np.asarray(correct, float)
    n_in, n_out = inside.sum(0), (1 - inside).sum(0)
    if (n_in < 1).any() or (n_out < 1).any():
        raise ValueError("every example must be both inside and outside at least one subset: use more models")
    p_in, p_out = (inside * c).sum(0) / n_in, ((1 - inside) * c).sum(0) / n_out
    se = np.sqrt(p_in * (1 - p_in) / n_in + p_out * (1 - p_out) / n_out)
    return p_in - p_out, se


def influence_from_runs(in_subset, test_correct, reduce="max"):
    """``infl(i, j) = P(j correct | i in) - P(j correct | i out)``, reduced over test examples j.

    Returns the per-training-example score (largest or total influence) and the
    standard error of the chosen entry (or of the sum, treating entries as independent).
    """
    inside = np.asarray(in_subset, float)  # [M, n_train]
    c = np.asarray(test_correct, float)  # [M, n_test]
    n_in, n_out = inside.sum(0)[:, None], (1 - inside).sum(0)[:, None]
    p_in = inside.T @ c / n_in
    p_out = (1 - inside).T @ c / n_out
    infl = p_in - p_out  # [n_train, n_test]
    var = p_in * (1 - p_in) / n_in + p_out * (1 - p_out) / n_out
    if reduce == "max":
        j = infl.argmax(1)
        rows = np.arange(infl.shape[0])
        return infl[rows, j], np.sqrt(var[rows, j])
    if reduce == "sum":
        return infl.sum(1), np.sqrt(var.sum(1))
    raise ValueError(f"reduce must be 'max' or 'sum'; got {reduce!r}")


def nearest_centroid_distance(embeddings, centroids):
    """Cosine distance of each embedding to its nearest centroid."""
    e = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
    c = centroids / np.linalg.norm(centroids, axis=1, keepdims=True)
    return 1.0 - (e @ c.T).max(axis=1)


def spherical_kmeans(embeddings, k, seed=0, iterations=50):
    """k-means on the unit sphere (cosine similarity), k-means++ initialisation."""
    rng = np.random.default_rng(seed)
    e = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
    centroids = [e[rng.integers(len(e))]]
    for _ in range(1, k):
        d = 1.0 - (e @ np.array(centroids).T).max(1)
        p = np.maximum(d, 0) ** 2
        centroids.append(e[rng.choice(len(e), p=p / p.sum())] if p.sum() > 0 else e[rng.integers(len(e))])
    c = np.array(centroids)
    for _ in range(iterations):
        assign = (e @ c.T).argmax(1)
        new = np.array([e[assign == j].sum(0) if (assign == j).any() else c[j] for j in range(k)])
        new /= np.linalg.norm(new, axis=1, keepdims=True)
        if np.allclose(new, c):
            break
        c = new
    return c


# -- the metrics ------------------------------------------------------------------------


def _softmax(logits):
    z = logits - logits.max(-1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(-1, keepdims=True)


def el2n(x, y, *, inits, epochs, config, seed=0, progress=False):
    scores = [
        el2n_from_probs(_softmax(predict(train(x, y, config, seed=seed + k, epochs=epochs, budget="epochs"), x)), y)
        for k in _range(inits, progress, "el2n inits")
    ]
    return np.mean(scores, axis=0), None


@partial(jax.jit, static_argnames=("cfg",))
def _grad_norms(params, batch_stats, x_uint8, labels, *, cfg):
    model = make_model(cfg)

    def loss(p, xi, yi):
        logits = model.apply({"params": p, "batch_stats": batch_stats}, normalise(xi[None]), train=False)
        return per_example_loss(logits, yi[None], 0.0)[0]

    grads = jax.vmap(jax.grad(loss), in_axes=(None, 0, 0))(params, x_uint8, labels)
    squares = jax.tree_util.tree_map(lambda g: jnp.sum(g.reshape(g.shape[0], -1) ** 2, axis=1), grads)
    return jnp.sqrt(sum(jax.tree_util.tree_leaves(squares)))


def grand(x, y, *, inits, epochs, config, chunk, seed=0, progress=False):
    y = np.asarray(y, np.int32)
    out = []
    for k in _range(inits, progress, "grand inits"):
        r = train(x, y, config, seed=seed + k, epochs=epochs, budget="epochs")
        norms = [
            np.asarray(_grad_norms(r.params, r.batch_stats, x[i : i + chunk], y[i : i + chunk], cfg=r.config))
            for i in range(0, len(y), chunk)
        ]
        out.append(np.concatenate(norms))
    return np.mean(out, axis=0), None


def forgetting(x, y, *, epochs, config, seed=0, progress=False):
    r = train(x, y, config, seed=seed, epochs=epochs, budget="epochs", progress=progress)
    return forgetting_counts(r.correct, r.presented).astype(float), None


def balanced_subsets(n, models, subset_fraction, seed=0):
    """[models, n] membership: each example is in exactly ``round(fraction * models)`` subsets.

    A balanced design, so every example has runs with and without it (the
    estimator needs both); each subset then holds about ``fraction * n`` examples.
    """
    k = int(round(subset_fraction * models))
    if models < 2 or not 1 <= k <= models - 1:
        raise ValueError(
            f"need models >= 2 and 1 <= round(subset_fraction * models) <= models - 1; "
            f"got models={models}, subset_fraction={subset_fraction}"
        )
    rng = np.random.default_rng(seed)
    order = np.argsort(rng.random((models, n)), axis=0)  # a random permutation of the models per example
    return order < k


def _subset_runs(x, y, x_eval, y_eval, models, subset_fraction, config, seed, progress):
    masks = balanced_subsets(len(y), models, subset_fraction, seed)
    correct_train, correct_eval = [], []
    for m in _range(models, progress, "subset models"):
        r = train(x[masks[m]], y[masks[m]], config, seed=seed + m)
        correct_train.append(predict(r, x).argmax(-1) == y)
        if x_eval is not None:
            correct_eval.append(predict(r, x_eval).argmax(-1) == y_eval)
    return masks, np.array(correct_train), (np.array(correct_eval) if x_eval is not None else None)


def memorization(x, y, *, models, subset_fraction, config, seed=0, progress=False):
    masks, correct, _ = _subset_runs(x, y, None, None, models, subset_fraction, config, seed, progress)
    return subset_estimator(masks, correct)


def influence(x, y, *, x_test, y_test, models, subset_fraction, config, reduce, seed=0, progress=False):
    masks, _, test_correct = _subset_runs(x, y, x_test, y_test, models, subset_fraction, config, seed, progress)
    return influence_from_runs(masks, test_correct, reduce)


def _color_jitter(key, x):
    k_b, k_c = jax.random.split(key)
    n = x.shape[0]
    brightness = jax.random.uniform(k_b, (n, 1, 1, 1), minval=-0.4, maxval=0.4)
    contrast = jax.random.uniform(k_c, (n, 1, 1, 1), minval=0.6, maxval=1.4)
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    return (x - mean) * contrast + mean + brightness


def _ssl_view(key, x):
    from .train import augment

    k_a, k_c = jax.random.split(key)
    return _color_jitter(k_c, augment(k_a, x))


def nt_xent(z1, z2, temperature):
    """SimCLR's normalised-temperature cross entropy for two views of a batch."""
    z = jnp.concatenate([z1, z2])
    z = z / jnp.linalg.norm(z, axis=1, keepdims=True)
    sim = z @ z.T / temperature
    n = z1.shape[0]
    sim = jnp.where(jnp.eye(2 * n, dtype=bool), -jnp.inf, sim)
    positives = jnp.concatenate([jnp.arange(n, 2 * n), jnp.arange(n)])
    return -jnp.mean(jax.nn.log_softmax(sim, axis=1)[jnp.arange(2 * n), positives])


def prototypes(x, *, epochs, clusters, embed_dim, temperature, batch_size, lr, seed=0, progress=False):
    """Self-supervised prototype scores from the images alone (no labels in the signature)."""
    from .model import ResNet

    model = ResNet(widths=(32, 64, 64), stem=16, num_classes=embed_dim)
    key = jax.random.PRNGKey(seed)
    key, k_init = jax.random.split(key)
    variables = model.init(k_init, jnp.zeros((1, 32, 32, 3)), train=False)
    params, batch_stats = variables["params"], variables["batch_stats"]
    opt = optax.adam(lr)
    opt_state = opt.init(params)

    @jax.jit
    def step(params, batch_stats, opt_state, xb, key):
        k1, k2 = jax.random.split(key)
        xb = normalise(xb)
        views = jnp.concatenate([_ssl_view(k1, xb), _ssl_view(k2, xb)])

        def loss_fn(p):
            z, updates = model.apply(
                {"params": p, "batch_stats": batch_stats}, views, train=True, mutable=["batch_stats"]
            )
            return nt_xent(z[: xb.shape[0]], z[xb.shape[0] :], temperature), updates["batch_stats"]

        (loss, batch_stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
        updates, opt_state = opt.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), batch_stats, opt_state, loss

    n = len(x)
    bs = min(batch_size, n)
    rng = np.random.default_rng(seed)
    for _ in _range(epochs, progress, "self-supervised epochs"):
        order = rng.permutation(n)
        for b in range(max(1, n // bs)):
            key, k = jax.random.split(key)
            params, batch_stats, opt_state, _ = step(params, batch_stats, opt_state, x[order[b * bs : (b + 1) * bs]], k)
    embed = jax.jit(lambda xb: model.apply({"params": params, "batch_stats": batch_stats}, normalise(xb), train=False))
    emb = np.concatenate([np.asarray(embed(x[i : i + 1000])) for i in range(0, n, 1000)])
    centroids = spherical_kmeans(emb, clusters, seed=seed)
    return nearest_centroid_distance(emb, centroids), None


def random_scores(n, seed=0):
    return np.random.default_rng(seed).random(n), None


def _range(n, progress, desc):
    from tqdm.auto import trange

    return trange(int(n), desc=desc, disable=not progress, leave=False)


# -- the entry point, with the cache --------------------------------------------------


def metric_config(metric, x, y, *, seed=0, x_test=None, y_test=None, **options):
    """The full configuration that determines a metric's scores (what the cache stores)."""
    import prunescale
    from prunescale.io import config_key

    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}; got {metric!r}")
    unknown = set(options) - set(DEFAULTS[metric])
    if unknown:
        raise ValueError(f"unknown options for {metric}: {sorted(unknown)}; valid: {sorted(DEFAULTS[metric])}")
    opts = {**DEFAULTS[metric], **options}
    cfg = {"metric": metric, "options": opts, "seed": int(seed)}
    if "config" in opts:
        cfg["model"] = dataclasses.asdict(get_config(opts["config"]))
    data = {"x": _digest(x), "n": len(x)}
    if metric != "prototypes":
        data["y"] = _digest(np.asarray(y))
    if metric == "influence":
        data["x_test"], data["y_test"] = _digest(x_test), _digest(np.asarray(y_test))
    cfg["data"] = config_key(data)
    cfg["code"] = f"prunescale {prunescale.__version__}, metrics v{METRICS_VERSION}"
    return cfg


def _digest(a):
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]


def score(metric, x, y=None, *, seed=0, cache_dir=None, progress=False, x_test=None, y_test=None, **options) -> Scores:
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
    if metric == "influence" and (x_test is None or y_test is None):
        raise ValueError("metric 'influence' needs x_test and y_test")
    x = np.asarray(x, np.uint8)
    if metric not in ("prototypes", "random"):
        if y is None:
            raise ValueError(f"metric {metric!r} needs labels y")
        y = np.asarray(y, np.int32)
    cfg = metric_config(metric, x, y, seed=seed, x_test=x_test, y_test=y_test, **options)
    if cache_dir is not None:
        from .cache import ScoreCache

        hit = ScoreCache(cache_dir).load(cfg)
        if hit is not None:
            return Scores(hit["scores"], hit.get("stderr"), cfg)
    opts = dict(cfg["options"])
    if metric == "random":
        s, se = random_scores(len(x), seed)
    elif metric == "prototypes":
        s, se = prototypes(x, seed=seed, progress=progress, **opts)
    elif metric == "influence":
        s, se = influence(
            x, y, x_test=np.asarray(x_test, np.uint8), y_test=np.asarray(y_test), seed=seed, progress=progress, **opts
        )
    else:
        s, se = {"el2n": el2n, "grand": grand, "forgetting": forgetting, "memorization": memorization}[metric](
            x, y, seed=seed, progress=progress, **opts
        )
    result = Scores(np.asarray(s, float), None if se is None else np.asarray(se, float), cfg)
    if cache_dir is not None:
        arrays = {"scores": result.scores} | ({} if se is None else {"stderr": result.stderr})
        ScoreCache(cache_dir).save(cfg, arrays)
    return result
