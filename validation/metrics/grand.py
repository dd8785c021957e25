"""GraNd (Paul et al. 2021): the norm of the per-example loss gradient over all parameters, averaged over ``inits``."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import functools
from typing import Callable

import numpy as np

from ..trainer import make_model, normalise, per_example_loss, train
from ._common import _range
from .el2n import schedule

@partial(jax.jit, static_argnames=("cfg",))
def _grad_norms(params, batch_stats, x_uint8, labels, *, cfg):
    model = make_model(cfg)

    def loss(p, xi, yi):
        logits = model.apply({"params": p, "batch_stats": batch_stats}, normalise(xi[None]), train=False)
        return per_example_loss(logits, yi[None], 0.0)[0]

    grads = jax.vmap(jax.grad(loss), in_axes=(None, 0, 0))(params, x_uint8, labels)
    squares = jax.tree_util.tree_map(lambda g: jnp.sum(g.reshape(g.shape[0], -1) ** 2, axis=1), grads)
    return jnp.sqrt(sum(jax.tree_util.tree_leaves(squares)))


def grand(x: np.ndarray, y: np.ndarray, *, inits: int, epochs: float, config: str, chunk: int, steps: int | None = None,
          stop_after: float = 1.0, seed: int = 0, progress: bool = False,
          unit: Callable[[int, Callable[[], np.ndarray]], np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    y, unit = np.asarray(y, np.int32), unit or (lambda k, compute: compute())

    def one(k):
        r = train(x, y, config, seed=seed + k, progress=progress, **schedule(epochs, steps, stop_after))
        norms = [
            np.asarray(_grad_norms(r.params, r.batch_stats, x[i : i + chunk], y[i : i + chunk], cfg=r.config))
            for i in range(0, len(y), chunk)
        ]
        return np.concatenate(norms)

    return np.mean([unit(k, functools.partial(one, k)) for k in _range(inits, progress, "grand inits")], axis=0), None
