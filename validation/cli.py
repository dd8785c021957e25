"""``prunescale validate ...``: CIFAR-10 training and pruning scores from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import typer

from theory.cli import JSON, emit

app = typer.Typer(
    help="Real networks on CIFAR-10: train a ResNet on a (pruned) subset, and score examples by pruning metrics.",
    no_args_is_help=True,
)

DATA = typer.Option(
    None,
    "--data",
    help="CIFAR-10 file (.npz or cifar-10-python.tar.gz); default $PRUNESCALE_CIFAR10, the cache, ../shared/data.",
)
TRAIN_SIZE = typer.Option(50000, "--train-size", help="Class-balanced training subset size, 1..50000.")
TEST_SIZE = typer.Option(10000, "--test-size", help="Test images used for accuracy (the first ones), 1..10000.")
SEED = typer.Option(0, "--seed", help="Seed for the subset, initialisation, data order and augmentation.")


def _subset(data, train_size, test_size, seed):
    from validation import class_balanced_subset

    if not 1 <= test_size <= len(data.y_test):
        raise ValueError(f"test-size must lie in [1, {len(data.y_test)}]; got {test_size}")
    idx = class_balanced_subset(data.y_train, train_size, seed=seed)
    return idx, data.x_test[:test_size], data.y_test[:test_size]


@app.command("train")
def train_cmd(
    config: str = typer.Option("sweep", "--config", help="default | sweep | toy (see validation.CONFIGS)."),
    epochs: float = typer.Option(None, "--epochs", help="Override the config's epochs."),
    train_size: int = TRAIN_SIZE,
    test_size: int = TEST_SIZE,
    seed: int = SEED,
    data: Path = DATA,
    as_json: bool = JSON,
):
    """Train one network and report test accuracy, wall time and images per second."""
    from validation import accuracy, load_cifar10, train

    d = load_cifar10(data)
    idx, x_test, y_test = _subset(d, train_size, test_size, seed)
    overrides = {} if epochs is None else {"epochs": epochs}
    r = train(d.x_train[idx], d.y_train[idx], config, seed=seed, progress=not as_json, **overrides)
    acc = accuracy(r, x_test, y_test)
    images = r.steps * min(r.config.batch_size, len(idx))
    record = dict(
        config=config,
        train_size=len(idx),
        test_size=len(y_test),
        seed=seed,
        steps=r.steps,
        test_accuracy=acc,
        train_seconds=round(r.seconds, 1),
        images_per_second=round(images / r.seconds, 1),
        hyperparameters=r.config.to_dict(),
    )
    emit(
        record,
        as_json,
        [
            f"config {config}: {len(idx)} training images, {r.steps} steps, {r.config.epochs:g} epochs ({r.config.budget} budget)",
            f"test accuracy {acc:.4f} on {len(y_test)} images; {r.seconds:.0f} s training, {record['images_per_second']:.0f} img/s",
        ],
    )


@app.command("score")
def score_cmd(
    metric: str = typer.Option(
        ..., "--metric", help="el2n | grand | forgetting | memorization | influence | prototypes | random."
    ),
    out: Path = typer.Option(
        ..., "--out", help="Where to write the scores (.npz with scores, stderr, indices; JSON config beside it)."
    ),
    options: str = typer.Option(
        "{}", "--options", help='Metric options as JSON, e.g. \'{"inits": 2, "config": "toy"}\'.'
    ),
    train_size: int = TRAIN_SIZE,
    test_size: int = typer.Option(1000, "--test-size", help="Test images for the influence metric, 1..10000."),
    seed: int = SEED,
    cache: Path = typer.Option(None, "--cache", help="Score cache folder (default: the prunescale cache directory)."),
    data: Path = DATA,
    as_json: bool = JSON,
):
    """Score every training example by a pruning metric (higher = harder), with a cache."""
    from prunescale.io import atomic_write, save_json
    from validation import load_cifar10, score
    from validation.data import cache_dir

    try:
        opts = json.loads(options)
    except json.JSONDecodeError as exc:
        raise ValueError(f"options must be a JSON object: {exc}") from None
    d = load_cifar10(data)
    idx, x_test, y_test = _subset(d, train_size, test_size, seed)
    extra = dict(x_test=x_test, y_test=y_test) if metric == "influence" else {}
    s = score(
        metric,
        d.x_train[idx],
        d.y_train[idx],
        seed=seed,
        progress=not as_json,
        cache_dir=cache or cache_dir() / "scores",
        **extra,
        **opts,
    )
    import io

    buffer = io.BytesIO()
    arrays = dict(scores=s.scores, indices=idx) | ({} if s.stderr is None else {"stderr": s.stderr})
    np.savez(buffer, **arrays)
    atomic_write(out, buffer.getvalue())
    save_json(s.config, out.with_suffix(".json"))
    record = dict(
        metric=metric,
        n=len(idx),
        out=str(out),
        config=s.config,
        summary=dict(
            mean=float(s.scores.mean()), std=float(s.scores.std()), min=float(s.scores.min()), max=float(s.scores.max())
        ),
    )
    emit(
        record,
        as_json,
        [
            f"{metric}: scored {len(idx)} examples (higher = harder); mean {s.scores.mean():.4g}, "
            f"range [{s.scores.min():.4g}, {s.scores.max():.4g}]",
            f"wrote {out} and {out.with_suffix('.json')}",
        ],
    )
