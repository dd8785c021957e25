"""Wall time, test accuracy and images per second of the CIFAR-10 trainer.

    python benchmarks/bench_train.py --config sweep     # the sweep config on all 50k (target: 85% in 10 min)
    python benchmarks/bench_train.py --config default   # the accuracy config (target: 90% in 30 min)
    python benchmarks/bench_train.py --throughput       # images/second only, a few steps per batch size

Run it with the machine otherwise idle: a background job halves the figures.
"""

import argparse
import time

import jax
import numpy as np

from validation import accuracy, get_config, load_cifar10, train
from validation.train import init, train_step


def throughput(config, batch_sizes=(128, 250, 500), steps=5):
    d = load_cifar10()
    for bs in batch_sizes:
        cfg = get_config(config, batch_size=bs)
        state = init(cfg, jax.random.PRNGKey(0), 100)
        x, y = d.x_train[:bs], d.y_train[:bs].astype(np.int32)
        state, loss, _ = train_step(state, x, y, jax.random.PRNGKey(1), cfg=cfg, total_steps=100)
        jax.block_until_ready(loss)
        t = time.perf_counter()
        for i in range(steps):
            state, loss, _ = train_step(state, x, y, jax.random.PRNGKey(i), cfg=cfg, total_steps=100)
        jax.block_until_ready(loss)
        print(f"{config}: batch {bs}: {steps * bs / (time.perf_counter() - t):.0f} images/s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="sweep")
    parser.add_argument("--epochs", type=float, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--throughput", action="store_true")
    args = parser.parse_args()
    if args.throughput:
        return throughput(args.config)
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
