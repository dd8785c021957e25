"""``prunescale validate ...``: CIFAR-10 training and pruning scores from the command line."""

from __future__ import annotations

from pathlib import Path

import typer

from prunescale.store import check_output_file, checks, save_json, save_npz

from ..options import JSON, emit
from .analysis import calibrate_cmd, figure_cmd, fit_cmd
from .common import DATA, SEED, TEST_SIZE, TRAIN_SIZE
from .largescale import predict_cmd
from .sweep import sweep_cmd
from .verdict import verdict_cmd

app = typer.Typer(
    rich_markup_mode=None,
    help="Real networks on CIFAR-10: train a ResNet on a (pruned) subset, and score examples by pruning metrics.",
    no_args_is_help=True,
)

def _subset(data, train_size, test_size, seed):
    from prunescale.validation import class_balanced_subset

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
    from prunescale.validation import accuracy, get_config, load_cifar10, train

    overrides = {} if epochs is None else {"epochs": epochs}
    get_config(config, **overrides)  # bad settings fail before the data is read
    d = load_cifar10(data)
    idx, x_test, y_test = _subset(d, train_size, test_size, seed)
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
        xla_flags=r.xla_flags,
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
        None,
        "--out",
        help="Where to write the scores (.npz with scores, stderr, indices; JSON config beside it). "
        "Default results/scores/METRIC.npz.",
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
    from prunescale.validation import load_cifar10, score
    from prunescale.validation.data import cache_dir

    out = check_output_file(out or Path("results") / "scores" / f"{metric}.npz", "--out")
    opts = checks.json_object("--options", options)
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
    arrays = dict(scores=s.scores, indices=idx) | ({} if s.stderr is None else {"stderr": s.stderr})
    save_npz(out, **arrays)
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


for name, command in (("sweep", sweep_cmd), ("fit", fit_cmd), ("calibrate", calibrate_cmd), ("figure", figure_cmd),
                      ("verdict", verdict_cmd), ("predict", predict_cmd)):
    app.command(name)(command)
