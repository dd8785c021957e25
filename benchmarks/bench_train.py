"""Wall time, test accuracy and images per second of the CIFAR-10 trainer.

    python benchmarks/bench_train.py --config sweep     # the sweep config on all 50k (target: 85% in 10 min)
    python benchmarks/bench_train.py --config default   # the accuracy config (target: 90% in 30 min)
    python benchmarks/bench_train.py --throughput       # images/second only, a few steps per batch size
    python benchmarks/bench_train.py --side-by-side     # the flax trainer against the plain-JAX reference
    python benchmarks/bench_train.py --xla-flags        # the trainer's XLA setting against jaxlib's defaults,
                                                        # and the same net in PyTorch where torch is installed
    python benchmarks/bench_train.py --xla-flags --candidate=--xla_cpu_enable_fast_math=true
                                                        # also the setting plus candidate flags (repeatable)

Run it with the machine otherwise idle: a background job halves the figures.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np

from prunescale.validation import accuracy, get_config, load_cifar10, train, xla
from prunescale.validation.trainer import init, train_step

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "validation"))  # the reference lives there


def images_per_second(config, data, batch_size, steps):
    """The trainer's own step on one batch, timed after its compile."""
    cfg = get_config(config, batch_size=batch_size)
    state = init(cfg, jax.random.PRNGKey(0), 1000)
    x, y = data.x_train[:batch_size], data.y_train[:batch_size].astype(np.int32)
    state, loss, _ = train_step(state, x, y, jax.random.PRNGKey(0), cfg=cfg, total_steps=1000)
    jax.block_until_ready(loss)
    t = time.perf_counter()
    for i in range(steps):
        state, loss, _ = train_step(state, x, y, jax.random.PRNGKey(i), cfg=cfg, total_steps=1000)
    jax.block_until_ready(loss)
    return steps * batch_size / (time.perf_counter() - t)


def throughput(config, batch_sizes=(128, 250, 500), steps=5):
    xla.prefer_fast_cpu_convolutions()
    d = load_cifar10()
    for bs in batch_sizes:
        print(f"{config}: batch {bs}: {images_per_second(config, d, bs, steps):.0f} images/s")


def step_rate(config, batch_size=128, steps=10):
    """Images/second and the XLA flags, for :func:`xla_flags` (a fresh process: flags are fixed when XLA starts)."""
    flags = xla.prefer_fast_cpu_convolutions()
    print(f"{images_per_second(config, load_cifar10(), batch_size, steps):.1f} {flags or '(none)'}")


def torch_rate(config, batch_size=128, steps=10):
    """Images/second of the same net and step in PyTorch (eager, NCHW): conv stem, three stages, max pool,
    a bias-free head over a temperature, label smoothing, Nesterov SGD with weight decay, flips and shifts.
    Only where torch happens to be installed; it is not a dependency."""
    import torch
    from torch import nn

    cfg = get_config(config, batch_size=batch_size)

    def bn(c):
        return nn.BatchNorm2d(c, momentum=1 - cfg.bn_momentum, eps=cfg.bn_epsilon)

    class Stage(nn.Module):
        def __init__(self, c_in, c):
            super().__init__()
            self.conv, self.bn = nn.Conv2d(c_in, c, 3, padding=1, bias=False), bn(c)
            self.res, self.res_bn = nn.Conv2d(c, c, 3, padding=1, bias=False), bn(c)

        def forward(self, x):
            x = nn.functional.gelu(self.bn(nn.functional.max_pool2d(self.conv(x), 2)))
            return x + nn.functional.gelu(self.res_bn(self.res(x)))

    widths = (cfg.stem, *cfg.widths)
    net = nn.Sequential(
        nn.Conv2d(3, cfg.stem, 2, bias=False), bn(cfg.stem), nn.GELU(),
        *[Stage(a, b) for a, b in zip(widths, widths[1:])],
        nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(widths[-1], cfg.num_classes, bias=False),
    )
    opt = torch.optim.SGD(net.parameters(), lr=cfg.lr, momentum=cfg.momentum, nesterov=True, weight_decay=cfg.weight_decay)
    d = load_cifar10()
    x = torch.tensor(d.x_train[:batch_size], dtype=torch.float32).permute(0, 3, 1, 2).contiguous()
    y = torch.tensor(d.y_train[:batch_size], dtype=torch.long)

    def step():
        flip = torch.rand(batch_size) < 0.5
        xb = torch.where(flip[:, None, None, None], x.flip(3), x)
        dx, dy = torch.randint(0, 5, (2,))
        xb = nn.functional.pad(xb, (2, 2, 2, 2), mode="reflect")[:, :, dy : dy + 32, dx : dx + 32]
        loss = nn.functional.cross_entropy(net(xb) / cfg.logit_temperature, y, label_smoothing=cfg.label_smoothing)
        opt.zero_grad()
        loss.backward()
        opt.step()

    step()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    print(f"{steps * batch_size / (time.perf_counter() - t):.1f} torch-{torch.__version__}")


def xla_flags(config, batch_size=128, rounds=3, candidates=()):
    """The trainer's XLA setting against jaxlib's defaults: the same step, fresh processes, interleaved.

    Each of ``candidates`` (an ``XLA_FLAGS`` string) runs as a further variant: the setting plus those flags
    (the trainer appends its setting to a user's flags).  A flag this jaxlib does not know aborts XLA: that
    variant is reported as rejected."""
    import importlib.util

    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    variants = {"jaxlib defaults": dict(env, **{xla.DISABLE: "1"}), "the trainer's setting": env}
    variants |= {f"setting + {c}": dict(env, XLA_FLAGS=c) for c in candidates}
    if importlib.util.find_spec("torch") is not None:
        variants["PyTorch, same net"] = dict(env, PRUNESCALE_BENCH_TORCH="1")
    rates = {name: [] for name in variants}
    flags = {}
    for _ in range(rounds):  # interleaved, so drifts in machine load hit both alike
        for name, child_env in list(variants.items()):
            cmd = [sys.executable, __file__, "--step-rate", "--config", config, "--batch-size", str(batch_size)]
            run = subprocess.run(cmd, env=child_env, capture_output=True, text=True)
            if run.returncode != 0:
                print(f"  {name}: rejected by this jaxlib ({run.stderr.strip().splitlines()[-1:]})")
                del variants[name], rates[name]
                continue
            rate, *used = run.stdout.strip().splitlines()[-1].split()  # "<images/s> <flags or torch version>"
            rates[name].append(float(rate))
            flags[name] = " ".join(used)
    base = statistics.median(rates["jaxlib defaults"])
    print(f"{config} config, batch {batch_size}, median of {rounds} interleaved rounds (fresh process each):")
    for name, r in rates.items():
        med = statistics.median(r)
        print(f"  {name:22s} {med:6.0f} images/s  ({med / base:.2f}x jaxlib defaults; {flags[name]})")
        print(f"  {'':22s} rounds: {', '.join(f'{v:.0f}' for v in r)}")
    if "PyTorch, same net" in rates:
        ratio = statistics.median(rates["the trainer's setting"]) / statistics.median(rates["PyTorch, same net"])
        print(f"  JAX with the setting / PyTorch: {ratio:.2f}x (target: at least 0.8x)")


def side_by_side(config, batch_size=128, steps=8, rounds=3):
    """Images/second of the flax/optax step and of the plain-JAX reference of the same
    net and step (channels-last and channels-first), interleaved on the same batch."""
    import reference_net as reference

    xla.prefer_fast_cpu_convolutions()
    d = load_cifar10()
    cfg = get_config(config, batch_size=batch_size)
    x, y = d.x_train[:batch_size], d.y_train[:batch_size].astype(np.int32)
    total = 1000
    state = init(cfg, jax.random.PRNGKey(0), total)
    params, stats = jax.tree.map(np.array, state.params), jax.tree.map(np.array, state.batch_stats)
    ref = {layout: [params, stats, reference.init_momentum(params)] for layout in reference.LAYOUTS}

    def run_flax(i):
        nonlocal state
        state, loss, _ = train_step(state, x, y, jax.random.PRNGKey(i), cfg=cfg, total_steps=total)
        return loss

    def run_ref(layout):
        def step(i):
            r = ref[layout]
            r[0], r[1], r[2], loss = reference.train_step(
                r[0], r[1], r[2], i, x, y, jax.random.PRNGKey(i), cfg=cfg, total_steps=total, layout=layout
            )
            return loss

        return step

    runs = {"flax + optax (the trainer)": run_flax} | {f"plain JAX, {k}": run_ref(k) for k in reference.LAYOUTS}
    best = {name: 0.0 for name in runs}
    for name, fn in runs.items():  # compile
        jax.block_until_ready(fn(0))
    for _ in range(rounds):  # interleaved, so drifts in machine load hit every variant alike
        for name, fn in runs.items():
            t = time.perf_counter()
            for i in range(steps):
                loss = fn(i + 1)
            jax.block_until_ready(loss)
            best[name] = max(best[name], steps * batch_size / (time.perf_counter() - t))
    base = best["flax + optax (the trainer)"]
    print(f"{config} config, batch {batch_size}, best of {rounds} rounds of {steps} steps:")
    for name, rate in best.items():
        print(f"  {name:28s} {rate:6.0f} images/s  ({rate / base:.2f}x the trainer)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="sweep")
    parser.add_argument("--epochs", type=float, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--throughput", action="store_true")
    parser.add_argument("--side-by-side", action="store_true")
    parser.add_argument("--xla-flags", action="store_true")
    parser.add_argument("--candidate", action="append", default=[], help="with --xla-flags: XLA_FLAGS to try on top")
    parser.add_argument("--rounds", type=int, default=3, help="with --xla-flags: interleaved rounds")
    parser.add_argument("--step-rate", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step_rate:
        if os.environ.get("PRUNESCALE_BENCH_TORCH") == "1":
            return torch_rate(args.config, batch_size=args.batch_size or 128)
        return step_rate(args.config, batch_size=args.batch_size or 128)
    if args.xla_flags:
        return xla_flags(args.config, batch_size=args.batch_size or 128, rounds=args.rounds, candidates=args.candidate)
    if args.throughput:
        return throughput(args.config)
    if args.side_by_side:
        return side_by_side(args.config, batch_size=args.batch_size or 128)
    d = load_cifar10()
    overrides = {} if args.epochs is None else {"epochs": args.epochs}
    overrides |= {} if args.batch_size is None else {"batch_size": args.batch_size}
    r = train(d.x_train, d.y_train, args.config, seed=0, progress=True, **overrides)
    acc = accuracy(r, d.x_test, d.y_test)
    images = r.steps * r.config.batch_size
    print(
        f"config {args.config} ({r.config.epochs:g} epochs, {r.steps} steps): test accuracy {acc:.4f}, "
        f"{r.seconds:.0f} s, {images / r.seconds:.0f} images/s"
    )


if __name__ == "__main__":
    main()
