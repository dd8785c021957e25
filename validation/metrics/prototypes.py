"""Self-supervised prototypes (Sorscher et al. 2022): a SimCLR-style network trained on the images alone,
spherical k-means on its embeddings, and the cosine distance to the nearest centroid.  It never sees a label.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from typing import Any, Sequence

import numpy as np
import optax

from ..model import ResNet
from ..trainer import augment, normalise
from ._common import _range

def nearest_centroid_distance(embeddings: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Cosine distance of each embedding to its nearest centroid."""
    e = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
    c = centroids / np.linalg.norm(centroids, axis=1, keepdims=True)
    return 1.0 - (e @ c.T).max(axis=1)


def spherical_kmeans(embeddings: np.ndarray, k: int, seed: int = 0, iterations: int = 50) -> np.ndarray:
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


def _color_jitter(key, x):
    k_b, k_c = jax.random.split(key)
    n = x.shape[0]
    brightness = jax.random.uniform(k_b, (n, 1, 1, 1), minval=-0.4, maxval=0.4)
    contrast = jax.random.uniform(k_c, (n, 1, 1, 1), minval=0.6, maxval=1.4)
    mean = x.mean(axis=(1, 2, 3), keepdims=True)
    return (x - mean) * contrast + mean + brightness


def _ssl_view(key, x):
    k_a, k_c = jax.random.split(key)
    return _color_jitter(k_c, augment(k_a, x))


def nt_xent(z1: jax.Array, z2: jax.Array, temperature: float) -> jax.Array:
    """SimCLR's normalised-temperature cross entropy for two views of a batch."""
    z = jnp.concatenate([z1, z2])
    z = z / jnp.linalg.norm(z, axis=1, keepdims=True)
    sim = z @ z.T / temperature
    n = z1.shape[0]
    sim = jnp.where(jnp.eye(2 * n, dtype=bool), -jnp.inf, sim)
    positives = jnp.concatenate([jnp.arange(n, 2 * n), jnp.arange(n)])
    return -jnp.mean(jax.nn.log_softmax(sim, axis=1)[jnp.arange(2 * n), positives])


def prototypes(x: np.ndarray, *, clusters: int, seed: int = 0, progress: bool = False, **network: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """Self-supervised prototype scores from the images alone (no labels in the signature)."""
    emb = ssl_embeddings(x, seed=seed, progress=progress, **network)
    centroids = spherical_kmeans(emb, clusters, seed=seed)
    return nearest_centroid_distance(emb, centroids), None


def knn_accuracy(embeddings: np.ndarray, labels: np.ndarray, k: int = 20) -> float:
    """Leave-one-out k-nearest-neighbour accuracy (cosine, majority vote) of an embedding: how much class
    structure the self-supervised network found, without ever training on a label."""
    e = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
    labels = np.asarray(labels)
    votes = []
    for start in range(0, len(e), 1000):
        sims = e[start : start + 1000] @ e.T
        sims[np.arange(sims.shape[0]), start + np.arange(sims.shape[0])] = -np.inf  # leave the example out
        nearest = np.argpartition(-sims, k, axis=1)[:, :k]
        votes.append([np.bincount(row, minlength=labels.max() + 1).argmax() for row in labels[nearest]])
    return float(np.mean(np.concatenate(votes) == labels))


def embedding_quality(x: np.ndarray, y: np.ndarray, *, k: int = 20, seed: int = 0, progress: bool = False,
                      **options: Any) -> dict:
    """The prototypes network's k-NN accuracy on ``(x, y)``, and the same for the untrained network (epochs = 0):
    the measured quality of the embedding the scores come from.  ``options`` as for the metric."""
    network = {name: v for name, v in options.items() if name != "clusters"}
    trained = knn_accuracy(ssl_embeddings(x, seed=seed, progress=progress, **network), y, k)
    untrained = knn_accuracy(ssl_embeddings(x, seed=seed, **(network | {"epochs": 0})), y, k)
    return dict(knn_accuracy=trained, untrained_knn_accuracy=untrained, k=k, chance=1.0 / len(np.unique(y)))


def ssl_embeddings(x: np.ndarray, *, epochs: int, embed_dim: int, temperature: float, batch_size: int, lr: float,
                   widths: Sequence[int], stem: int, seed: int = 0, progress: bool = False) -> np.ndarray:
    """The embeddings of a SimCLR-style network trained ``epochs`` passes on the images alone."""
    model = ResNet(widths=tuple(widths), stem=stem, num_classes=embed_dim)
    key = jax.random.PRNGKey(seed)
    key, k_init = jax.random.split(key)
    variables = model.init(k_init, jnp.zeros((1, *x.shape[1:])), train=False)
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
    return np.concatenate([np.asarray(embed(x[i : i + 1000])) for i in range(0, n, 1000)])
