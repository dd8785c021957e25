"""GraNd (Paul et al. 2021): the norm of the per-example loss gradient over all parameters, averaged over ``inits``."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
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


def grand(x, y, *, inits, epochs, config, chunk, steps=None, stop_after=1.0, seed=0, progress=False, unit=None):
    y, unit = np.asarray(y, np.int32), unit or (lambda k, compute: compute())

    def one(k):
        r = train(x, y, config, seed=seed + k, progress=progress, **schedule(epochs, steps, stop_after))
        norms = [
            np.asarray(_grad_norms(r.params, r.batch_stats, x[i : i + chunk], y[i : i + chunk], cfg=r.config))
            for i in range(0, len(y), chunk)
        ]
        return np.concatenate(norms)

    return np.mean([unit(k, lambda k=k: one(k)) for k in _range(inits, progress, "grand inits")], axis=0), None
