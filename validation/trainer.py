"""Training on a (pruned) CIFAR-10 subset, with per-example records.

One visible configuration (:class:`TrainConfig`, presets in :data:`CONFIGS`)
holds every hyperparameter and the training-budget rule:

- ``"epochs"``: ``epochs`` passes over the subset (small subsets train less);
- ``"steps"``: a fixed number of optimiser steps, whatever the subset size;
- ``"full_data"``: the steps of ``epochs`` passes over ``full_size`` examples
  (each subset gets the compute of the full-data run).

The training step also returns, for free, each example's loss and whether
the network classified its augmented view correctly; :func:`train` keeps
them per epoch (the forgetting metric reads them).
"""

from __future__ import annotations

import dataclasses
import math
import time
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from prunescale.store import PathLike

from . import checkpoints, xla
from .model import ResNet

MEAN = np.array([125.306918046875, 122.950394140625, 113.86538318359375], np.float32)
STD = np.array([62.9932, 62.0887, 66.7049], np.float32)
BUDGETS = ("epochs", "steps", "full_data")


RESULTS_VERSION = 2  # bump when a change alters trained numbers (2: CPU convolutions moved off YNNPACK, xla.py)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Every training number, in one commented table (airbench-style).

    The field defaults are the ``default`` preset; :data:`CONFIGS` lists each
    other preset by the fields it changes.  The model reads its constants
    from here too, so a config names a network and its training completely.
    """

    # the network (validation.model.ResNet)
    widths: tuple = (32, 128, 128)  # channels of the three stages (full width, (64, 256, 256), is 3x slower)
    stem: int = 24  # channels of the 2x2 stem convolution
    bn_momentum: float = 0.9  # batch-norm running-average momentum (flax convention: weight of the old value)
    bn_epsilon: float = 1e-5
    logit_temperature: float = 9.0  # logits are divided by this (airbench's head scale)
    num_classes: int = 10  # outputs of the head (prune_dataset sets it from the labels)
    # the optimiser: SGD with Nesterov momentum, linear warm-up then linear decay to 0
    epochs: float = 10.0
    batch_size: int = 128
    lr: float = 0.15  # peak learning rate
    momentum: float = 0.9
    weight_decay: float = 5e-4
    label_smoothing: float = 0.2
    warmup: float = 0.2  # fraction of steps spent rising from lr / 10 to the peak
    # the budget rule (module docstring)
    budget: str = "epochs"
    steps: int = 0  # for budget="steps"
    full_size: int = 50000  # for budget="full_data"
    stop_after: float = 1.0  # fraction of the schedule's steps taken (EL2N reads a converged run's early state)
    # data handling
    augment: bool = True  # random 2-pixel translation (reflect) and horizontal flip
    tta: bool = True  # test accuracy averages the logits of each image and its mirror image
    eval_batch_size: int = 1000

    def total_steps(self, n_train: int) -> int:
        """The number of optimiser steps for a subset of ``n_train`` examples."""
        if self.budget == "steps":
            return self.steps
        n = n_train if self.budget == "epochs" else self.full_size
        return max(1, math.ceil(self.epochs * n / self.batch_size))

    def check(self) -> TrainConfig:
        if self.budget not in BUDGETS:
            raise ValueError(f"budget must be one of {', '.join(BUDGETS)}; got {self.budget!r}")
        if self.budget == "steps" and self.steps < 1:
            raise ValueError(f"steps must be >= 1 with budget='steps'; got {self.steps}")
        for name in ("epochs", "batch_size", "lr"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive finite number, got {value!r}")
        if not 0 < self.stop_after <= 1:
            raise ValueError(f"stop_after must lie in (0, 1], got {self.stop_after!r}")
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


CONFIGS = {
    # the accuracy configuration: 90.8% on all 50k images in 25 minutes on 2 CPU cores
    "default": TrainConfig(),
    # the short-budget sweep of figures/data/cifar10_runs.csv: the same net, 3.8 passes (87% on all 50k)
    "sweep": TrainConfig(epochs=3.8),
    # seconds on a few hundred images: the tests
    "toy": TrainConfig(widths=(8, 16, 16), stem=8, epochs=3.0, batch_size=50, lr=0.1, eval_batch_size=500),
}


def get_config(name_or_config: str | TrainConfig | dict, **overrides: Any) -> TrainConfig:
    """A preset (or a given config) with fields replaced, checked.

    Parameters
    ----------
    name_or_config : "default", "sweep", "toy" or a TrainConfig
    overrides : TrainConfig fields

    Returns
    -------
    TrainConfig

    Example
    -------
    >>> cfg = get_config("sweep", budget="full_data")
    >>> cfg.widths, cfg.total_steps(5000) == cfg.total_steps(50000)
    ((32, 128, 128), True)
    """
    if isinstance(name_or_config, dict):  # {"preset": name, **fields}: JSON-able, so it can sit in a cache key
        fields = dict(name_or_config)
        return get_config(fields.pop("preset", "default"), **fields, **overrides)
    if isinstance(name_or_config, TrainConfig):
        cfg = name_or_config
    elif isinstance(name_or_config, str) and name_or_config in CONFIGS:
        cfg = CONFIGS[name_or_config]
    else:
        raise ValueError(
            f"config must be one of {', '.join(CONFIGS)}, a dict of a preset and fields, or a TrainConfig; "
            f"got {name_or_config!r}"
        )
    unknown = set(overrides) - {f.name for f in dataclasses.fields(TrainConfig)}
    if unknown:
        raise ValueError(f"unknown training settings {sorted(unknown)}; valid: the fields of TrainConfig")
    return dataclasses.replace(cfg, **overrides).check()


class TrainState(NamedTuple):
    params: dict
    batch_stats: dict
    opt_state: optax.OptState


class TrainResult(NamedTuple):
    params: dict
    batch_stats: dict
    config: TrainConfig
    steps: int
    seconds: float
    correct: np.ndarray  # [epochs_seen, n_train] bool: augmented view classified right when presented
    loss: np.ndarray  # [epochs_seen, n_train] float32: its loss then
    presented: np.ndarray  # [epochs_seen, n_train] bool: presented in that epoch
    xla_flags: str = ""  # the XLA_FLAGS it trained under (validation.xla)
    resumed_seconds: float = 0.0  # of ``seconds``, those spent before a stop (0: trained in one go)


def normalise(x_uint8: np.ndarray | jax.Array) -> jax.Array:
    """CIFAR-10's per-channel statistics (their channel average for one-channel images)."""
    rgb = x_uint8.shape[-1] == 3
    return (jnp.asarray(x_uint8, jnp.float32) - (MEAN if rgb else MEAN.mean())) / (STD if rgb else STD.mean())


def augment(key: jax.Array, x: jax.Array) -> jax.Array:
    """Random translation by up to 2 pixels (reflect padding) and horizontal flip, per image."""
    k_shift, k_flip = jax.random.split(key)
    n = x.shape[0]
    padded = jnp.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)), mode="reflect")
    shifts = jax.random.randint(k_shift, (n, 2), 0, 5)
    crop = lambda img, s: jax.lax.dynamic_slice(img, (s[0], s[1], 0), x.shape[1:])
    x = jax.vmap(crop)(padded, shifts)
    flip = jax.random.bernoulli(k_flip, 0.5, (n,))
    return jnp.where(flip[:, None, None, None], x[:, :, ::-1], x)


def make_model(cfg: TrainConfig) -> ResNet:
    return ResNet(
        widths=tuple(cfg.widths),
        stem=cfg.stem,
        bn_momentum=cfg.bn_momentum,
        bn_epsilon=cfg.bn_epsilon,
        logit_temperature=cfg.logit_temperature,
        num_classes=cfg.num_classes,
    )


def init(cfg: TrainConfig, key: jax.Array, total_steps: int, image_shape: tuple[int, ...] = (32, 32, 3)) -> TrainState:
    model = make_model(cfg)
    variables = model.init(key, jnp.zeros((1, *image_shape)), train=False)
    opt = optimizer(cfg, total_steps)
    return TrainState(variables["params"], variables["batch_stats"], opt.init(variables["params"]))


def optimizer(cfg: TrainConfig, total_steps: int) -> optax.GradientTransformation:
    warm = max(1, int(cfg.warmup * total_steps))
    schedule = optax.join_schedules(
        [
            optax.linear_schedule(cfg.lr * 0.1, cfg.lr, warm),
            optax.linear_schedule(cfg.lr, 0.0, max(1, total_steps - warm)),
        ],
        [warm],
    )
    return optax.chain(
        optax.add_decayed_weights(cfg.weight_decay),
        optax.sgd(schedule, momentum=cfg.momentum, nesterov=True),
    )


def per_example_loss(logits: jax.Array, labels: jax.Array, smoothing: float) -> jax.Array:
    targets = optax.smooth_labels(jax.nn.one_hot(labels, logits.shape[-1]), smoothing)
    return optax.softmax_cross_entropy(logits, targets)


@partial(jax.jit, static_argnames=("cfg", "total_steps"), donate_argnums=(0,))
def train_step(state: TrainState, x_uint8: jax.Array, labels: jax.Array, key: jax.Array, *, cfg: TrainConfig,
               total_steps: int) -> tuple[TrainState, jax.Array, jax.Array]:
    """One SGD step; also returns each example's loss and correctness (the hooks)."""
    model = make_model(cfg)
    x = normalise(x_uint8)
    if cfg.augment:
        x = augment(key, x)

    def loss_fn(params):
        logits, updates = model.apply(
            {"params": params, "batch_stats": state.batch_stats}, x, train=True, mutable=["batch_stats"]
        )
        losses = per_example_loss(logits, labels, cfg.label_smoothing)
        return losses.mean(), (losses, logits, updates["batch_stats"])

    grads, (losses, logits, batch_stats) = jax.grad(loss_fn, has_aux=True)(state.params)
    updates, opt_state = optimizer(cfg, total_steps).update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    correct = jnp.argmax(logits, -1) == labels
    return TrainState(params, batch_stats, opt_state), losses, correct


@partial(jax.jit, static_argnames=("cfg",))
def _logits(params, batch_stats, x_uint8, *, cfg):
    return make_model(cfg).apply({"params": params, "batch_stats": batch_stats}, normalise(x_uint8), train=False)


def predict(result_or_params: TrainResult | dict, x_uint8: np.ndarray, cfg: TrainConfig | None = None,
            batch_stats: dict | None = None) -> np.ndarray:
    """Logits (eval mode, no augmentation) for uint8 images, in batches.

    Parameters
    ----------
    result_or_params : a TrainResult (or params, with ``cfg`` and ``batch_stats``)
    x_uint8 : uint8 [n, 32, 32, 3]

    Returns
    -------
    numpy array [n, 10]
    """
    if isinstance(result_or_params, TrainResult):
        params, batch_stats, cfg = result_or_params.params, result_or_params.batch_stats, result_or_params.config
    else:
        params = result_or_params
    if cfg is None:
        raise ValueError("predict needs cfg (and batch_stats) with bare params; a TrainResult carries its own")
    out = [
        np.asarray(_logits(params, batch_stats, x_uint8[i : i + cfg.eval_batch_size], cfg=cfg))
        for i in range(0, len(x_uint8), cfg.eval_batch_size)
    ]
    return np.concatenate(out)


def accuracy(result: TrainResult, x_uint8: np.ndarray, labels: np.ndarray) -> float:
    """Test accuracy; with ``config.tta`` the logits of each image and its mirror image are averaged."""
    logits = predict(result, x_uint8)
    if result.config.tta:
        logits = logits + predict(result, np.ascontiguousarray(x_uint8[:, :, ::-1]))
    return float(np.mean(logits.argmax(-1) == np.asarray(labels)))


CHECKPOINT_SECONDS = 60.0  # with a checkpoint, the state is saved at the first epoch boundary this long after the last


def train(x_uint8: np.ndarray, labels: np.ndarray, config: str | TrainConfig = "sweep", *, seed: int = 0,
          progress: bool = False, checkpoint: PathLike | None = None, **overrides: Any) -> TrainResult:
    """Train a fresh network on ``(x_uint8, labels)``; everything is seeded.

    Parameters
    ----------
    x_uint8 : uint8 [n, height, width, 1 or 3]; labels : int [n], in [0, num_classes)
        The (pruned) training set: index the data first, ``x[idx], y[idx]``.
    config : name in :data:`CONFIGS` or a :class:`TrainConfig`; ``overrides`` replace fields.
    seed : int
        Initialisation, data order and augmentation.
    checkpoint : path of an ``.npz`` file, optional
        Where the run's state is kept between epochs (:mod:`validation.checkpoints`), and at its end: a stopped
        run given the same path, data, config and seed resumes there, bit-identically.  The caller removes it
        once the result is safe.

    Returns
    -------
    TrainResult, with per-epoch, per-example ``correct`` and ``loss`` records.

    Example
    -------
    >>> from prunescale.validation import load_cifar10
    >>> d = load_cifar10()
    >>> r = train(d.x_train[:100], d.y_train[:100], "toy", seed=0)
    >>> r.steps, r.correct.shape
    (6, (3, 100))
    """
    flags = xla.prefer_fast_cpu_convolutions()  # before the first JAX computation starts a backend
    cfg = get_config(config, **overrides)
    x_uint8 = np.asarray(x_uint8, np.uint8)
    labels = np.asarray(labels, np.int32)
    n = len(labels)
    if n < 1 or x_uint8.ndim != 4 or x_uint8.shape[0] != n or x_uint8.shape[-1] not in (1, 3):
        raise ValueError(
            f"x must have shape [n, height, width, 1 or 3] matching labels [n]; got {x_uint8.shape} and {labels.shape}"
        )
    if labels.min() < 0 or labels.max() >= cfg.num_classes:
        raise ValueError(f"labels must lie in [0, {cfg.num_classes - 1}] (num_classes = {cfg.num_classes})")
    total = cfg.total_steps(n)
    stop = max(1, math.ceil(cfg.stop_after * total))  # the schedule runs to ``total``; training stops here
    bs = min(cfg.batch_size, n)
    steps_per_epoch = max(1, n // bs)
    epochs_seen = math.ceil(stop / steps_per_epoch)
    key = jax.random.PRNGKey(seed)
    key, k_init = jax.random.split(key)
    state = init(cfg, k_init, total, x_uint8.shape[1:])
    correct = np.zeros((epochs_seen, n), bool)
    loss = np.zeros((epochs_seen, n), np.float32)
    presented = np.zeros((epochs_seen, n), bool)
    rng = np.random.default_rng(seed)
    first_epoch, step, earlier = 0, 0, 0.0
    mark = checkpoints.fingerprint(x_uint8, labels, cfg.to_dict(), seed, flags) if checkpoint else ""
    saved = checkpoints.load(checkpoint, mark, state) if checkpoint else None
    if saved:
        state, key, first_epoch, step, earlier = saved.state, jnp.asarray(saved.key), saved.epoch, saved.step, saved.seconds
        correct, loss, presented = saved.correct, saved.loss, saved.presented
        rng.bit_generator.state = saved.rng_state
    from tqdm.auto import tqdm

    bar = tqdm(total=stop, initial=step, desc="training", unit="step", disable=not progress)
    started = last_save = time.perf_counter()

    def keep(epoch):
        nonlocal last_save
        elapsed = earlier + time.perf_counter() - started
        progress_ = checkpoints.Progress(state, np.asarray(key), rng.bit_generator.state, epoch, step, correct, loss,
                                         presented, elapsed)
        checkpoints.save(checkpoint, mark, progress_)
        last_save = time.perf_counter()

    for epoch in range(first_epoch, epochs_seen):
        if checkpoint and epoch > first_epoch and time.perf_counter() - last_save >= CHECKPOINT_SECONDS:
            keep(epoch)
        order = rng.permutation(n)
        for b in range(steps_per_epoch):
            if step == stop:
                break
            idx = order[b * bs : (b + 1) * bs]
            key, k = jax.random.split(key)
            state, l, c = train_step(state, x_uint8[idx], labels[idx], k, cfg=cfg, total_steps=total)
            loss[epoch, idx], correct[epoch, idx], presented[epoch, idx] = np.asarray(l), np.asarray(c), True
            step += 1
            bar.update(1)
    jax.block_until_ready(state.params)
    bar.close()
    if checkpoint and not (saved and saved.epoch == epochs_seen):
        keep(epochs_seen)  # the finished run: asked again, it returns at once
    seconds = earlier + time.perf_counter() - started
    return TrainResult(state.params, state.batch_stats, cfg, stop, seconds, correct, loss, presented, flags, earlier)
