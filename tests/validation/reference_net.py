"""A plain JAX reference of the trainer's network and step: no flax, no optax.

The same net as :class:`validation.model.ResNet`, written with ``jax.lax``
convolutions, hand-written batch norm and a hand-written Nesterov SGD step,
and reading flax's own parameter tree, so the two can be checked against
each other number for number (tests) and timed side by side
(``benchmarks/bench_train.py --side-by-side``).  ``layout`` runs the
convolutions channels-last (``"NHWC"``, what flax does) or channels-first
(``"NCHW"``), to measure what the layout costs on XLA:CPU.  Not part of the
public API (it lives with the tests): the trainer is :func:`validation.train`.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from jax import lax

from prunescale.validation.trainer import augment, normalise

LAYOUTS = ("NHWC", "NCHW")


def _channel_axis(layout):
    return -1 if layout == "NHWC" else 1


def _conv(x, kernel, padding, layout):
    # flax stores kernels HWIO whatever the activation layout
    return lax.conv_general_dilated(x, kernel, (1, 1), padding, dimension_numbers=(layout, "HWIO", layout))


def _max_pool(x, layout):
    window = (1, 2, 2, 1) if layout == "NHWC" else (1, 1, 2, 2)
    return lax.reduce_window(x, -jnp.inf, lax.max, window, window, "VALID")


def _batch_norm(x, p, stats, train, layout, momentum=0.9, eps=1e-5):
    """Batch norm as flax computes it (variance as E[x^2] - E[x]^2); returns (y, new stats)."""
    axis = _channel_axis(layout) % x.ndim
    reduce = tuple(i for i in range(x.ndim) if i != axis)
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    if train:
        mean = jnp.mean(x, reduce)
        var = jnp.maximum(jnp.mean(jnp.square(x), reduce) - jnp.square(mean), 0.0)
        stats = {
            "mean": momentum * stats["mean"] + (1 - momentum) * mean,
            "var": momentum * stats["var"] + (1 - momentum) * var,
        }
    else:
        mean, var = stats["mean"], stats["var"]
    y = (x - mean.reshape(shape)) * lax.rsqrt(var.reshape(shape) + eps)
    return y * p["scale"].reshape(shape) + p["bias"].reshape(shape), stats


def forward(params, batch_stats, x, train, layout="NHWC"):
    """Logits and updated batch statistics; ``x`` is normalised NHWC float32."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}; got {layout!r}")
    if layout == "NCHW":
        x = jnp.transpose(x, (0, 3, 1, 2))
    new_stats = {}
    x = _conv(x, params["Conv_0"]["kernel"], "VALID", layout)
    x, new_stats["BatchNorm_0"] = _batch_norm(x, params["BatchNorm_0"], batch_stats["BatchNorm_0"], train, layout)
    x = jax.nn.gelu(x)
    stages = sorted((k for k in params if k.startswith("Stage_")), key=lambda k: int(k.split("_")[1]))
    for name in stages:
        p, s = params[name], batch_stats[name]
        x = _max_pool(_conv(x, p["Conv_0"]["kernel"], "SAME", layout), layout)
        x, s0 = _batch_norm(x, p["BatchNorm_0"], s["BatchNorm_0"], train, layout)
        x = jax.nn.gelu(x)
        h, s1 = _batch_norm(
            _conv(x, p["Conv_1"]["kernel"], "SAME", layout), p["BatchNorm_1"], s["BatchNorm_1"], train, layout
        )
        x = jax.nn.gelu(h) + x
        new_stats[name] = {"BatchNorm_0": s0, "BatchNorm_1": s1}
    x = jnp.max(x, axis=(1, 2) if layout == "NHWC" else (2, 3))
    return x @ params["Dense_0"]["kernel"] / 9.0, new_stats


def learning_rate(cfg, step, total_steps):
    """The trainer's schedule: linear warm-up from lr/10 to lr, then linear decay to 0."""
    warm = max(1, int(cfg.warmup * total_steps))
    rise = cfg.lr * (0.1 + 0.9 * jnp.minimum(step, warm) / warm)
    fall = cfg.lr * (1.0 - jnp.clip(step - warm, 0, None) / max(1, total_steps - warm))
    return jnp.where(step < warm, rise, fall)


def init_momentum(params):
    return jax.tree.map(jnp.zeros_like, params)


@partial(jax.jit, static_argnames=("cfg", "total_steps", "layout"), donate_argnums=(0, 1, 2))
def train_step(params, batch_stats, momentum, step, x_uint8, labels, key, *, cfg, total_steps, layout="NHWC"):
    """One step of the same training as :func:`validation.trainer.train_step`."""
    x = normalise(x_uint8)
    if cfg.augment:
        x = augment(key, x)
    n_classes = params["Dense_0"]["kernel"].shape[-1]
    targets = jax.nn.one_hot(labels, n_classes) * (1 - cfg.label_smoothing) + cfg.label_smoothing / n_classes

    def loss_fn(p):
        logits, stats = forward(p, batch_stats, x, True, layout)
        losses = -jnp.sum(targets * jax.nn.log_softmax(logits), axis=-1)
        return losses.mean(), (losses, stats)

    grads, (losses, batch_stats) = jax.grad(loss_fn, has_aux=True)(params)
    lr = learning_rate(cfg, step, total_steps)

    def sgd(p, g, m):  # weight decay, then Nesterov momentum
        g = g + cfg.weight_decay * p
        m = g + cfg.momentum * m
        return p - lr * (g + cfg.momentum * m), m

    pairs = jax.tree.map(sgd, params, grads, momentum)
    params = jax.tree.map(lambda t: t[0], pairs, is_leaf=lambda t: isinstance(t, tuple))
    momentum = jax.tree.map(lambda t: t[1], pairs, is_leaf=lambda t: isinstance(t, tuple))
    return params, batch_stats, momentum, losses
