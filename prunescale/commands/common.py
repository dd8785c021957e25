"""Options and paths shared by the ``prunescale validate`` commands."""

from __future__ import annotations

from pathlib import Path

import typer

DATA = typer.Option(
    None,
    "--data",
    help="CIFAR-10 file (.npz or cifar-10-python.tar.gz); default $PRUNESCALE_CIFAR10, the cache, ../shared/data.",
)
TRAIN_SIZE = typer.Option(50000, "--train-size", help="Class-balanced training subset size, 1..50000.")
TEST_SIZE = typer.Option(10000, "--test-size", help="Test images used for accuracy (the first ones), 1..10000.")
SEED = typer.Option(0, "--seed", help="Seed for the subset, initialisation, data order and augmentation.")


RESULTS = Path("results/cifar10")
RESULTS_OPTION = typer.Option(
    RESULTS, "--results", help="Results folder: per-job results (resumable), runs.csv, fits.json, calibration.json."
)


def analysis_paths(results: Path, refresh_committed: bool) -> dict:
    """The runs table and the analysis files of a results folder, or the committed copies under figures/."""
    if refresh_committed:
        from prunescale.figures import cifar_figure

        return dict(runs=cifar_figure.RUNS, fits=cifar_figure.FITS, calibration=cifar_figure.CALIBRATION, figure=cifar_figure.FIGURE)
    return dict(
        runs=results / "runs.csv",
        fits=results / "fits.json",
        calibration=results / "calibration.json",
        figure=results / "cifar10.png",
    )


CSV_OPTION = typer.Option(None, "--csv", help="The runs table to read (default RESULTS/runs.csv).")
CLASS_BALANCED_SELECTION = typer.Option(
    None,
    "--class-balanced/--not-class-balanced",
    help="Read only the class-balanced runs, or only the others (needed where the table holds both).",
)
