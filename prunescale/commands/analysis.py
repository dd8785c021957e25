"""``prunescale validate fit | calibrate | figure``: read a runs table, fit it, draw it."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from prunescale.store import check_output_file, save_json

from ..options import JSON, REFRESH_COMMITTED, emit
from .common import CLASS_BALANCED_SELECTION, CSV_OPTION, RESULTS_OPTION, analysis_paths


def fit_cmd(
    results: Path = RESULTS_OPTION,
    csv: Path = CSV_OPTION,
    out: Path = typer.Option(None, "--out", help="Where to write the fit summaries (default RESULTS/fits.json)."),
    class_balanced: Optional[bool] = CLASS_BALANCED_SELECTION,
    refresh_committed: bool = REFRESH_COMMITTED,
    as_json: bool = JSON,
):
    """Fit power, exponential and broken power laws to each curve; say whether pruning beats the power law."""
    from prunescale.validation.analysis import fit_curves

    _analyse(fit_curves, "fits", _fit_lines, results, csv, out, class_balanced, refresh_committed, as_json)


def _analyse(compute, kind, describe, results, csv, out, class_balanced, refresh_committed, as_json):
    """The one path of fit and calibrate: resolve the paths, compute from the runs table, save, print."""
    paths = analysis_paths(results, refresh_committed)
    out = check_output_file(out or paths[kind], "--out")
    record = compute(csv or paths["runs"], class_balanced)
    save_json(record, out)
    emit(record, as_json, describe(record) + [f"wrote {out}"])


def _fit_lines(summary):
    return [
        f"{c['curve']}: best by AIC {c['best_aic']}, by held-out {c['best_heldout']}"
        + (f"; beats the power law: {c['beats']['verdict']}" if "beats" in c else "")
        for c in summary["curves"]
    ]


def calibrate_cmd(
    results: Path = RESULTS_OPTION,
    csv: Path = CSV_OPTION,
    out: Path = typer.Option(
        None, "--out", help="Where to write the calibration (default RESULTS/calibration.json)."
    ),
    class_balanced: Optional[bool] = CLASS_BALANCED_SELECTION,
    refresh_committed: bool = REFRESH_COMMITTED,
    as_json: bool = JSON,
):
    """Fit the theory to the runs: effective dimension and scale, and an effective metric angle theta with CIs."""
    from prunescale.validation.analysis import calibrate_runs

    _analyse(calibrate_runs, "calibration", _calibration_lines, results, csv, out, class_balanced, refresh_committed, as_json)


def _calibration_lines(result):
    sc = result["scale"]
    lines = [f"random runs: d = {sc['d']:.4g}, A = {sc['A']:.3g} (A*d = {sc['A_times_d']:.4g}), {sc['points']} points"]
    for pool in result["pools"]:
        lines.append(f"pool {pool['pool_size']}:")
        for m in pool["metrics"]:
            lines.append(
                f"  {m['metric']}, keep {m['policy']}: theta = {m['theta']:.1f} deg (95% CI {m['theta_ci95'][0]:.0f}-{m['theta_ci95'][1]:.0f}, "
                f"chi2/dof {m['chi2'] / max(1, m['points'] - 1):.3g}); "
                f"best f observed {m['observed_best_keep_fraction']:.2f}, theory {m['theory']['policy']} f* = {m['theory']['keep_fraction']:.3g}"
            )
        for c in pool["crossover"]:
            winners = ", ".join(
                f"f {p['keep_fraction']:.2g} {p['observed_winner']}/{p['theory_winner']}" for p in c["points"]
            )
            theta = (
                f"one theta for both policies = {c['theta']:.1f} deg "
                f"(95% CI {c['theta_ci95'][0]:.0f}-{c['theta_ci95'][1]:.0f}, chi2/dof {c['chi2'] / max(1, c['points_fitted'] - 1):.3g})"
            )
            lines.append(f"  {c['metric']}, {theta}; winner observed/theory: {winners}")
    return lines


def figure_cmd(
    results: Path = RESULTS_OPTION,
    csv: Path = CSV_OPTION,
    out: Path = typer.Option(None, "--out", help="PNG to write, a PDF beside it (default RESULTS/cifar10.png)."),
    fits: Path = typer.Option(None, "--fits", help="Fit summaries (validate fit; default RESULTS/fits.json)."),
    calibration: Path = typer.Option(
        None, "--calibration", help="Calibration (validate calibrate; default RESULTS/calibration.json)."
    ),
    refresh_committed: bool = REFRESH_COMMITTED,
):
    """Draw the scaling curves with their fits, the easy/hard crossover, and the calibrated theory against the runs.

    Fits and calibration are drawn only if they were made from the same table (same number of runs)."""
    from prunescale.figures import cifar_figure

    paths = analysis_paths(results, refresh_committed)
    out = check_output_file(out or paths["figure"], "--out")
    record = cifar_figure.compute(csv or paths["runs"], fits or paths["fits"], calibration or paths["calibration"])
    typer.echo(f"wrote {cifar_figure.draw(record, out)}")
