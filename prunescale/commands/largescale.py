"""``prunescale validate predict`` and the 50k test's reading in ``prunescale validate verdict``."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from prunescale.store import check_output_file, save_json, to_json

from ..options import JSON, REFRESH_COMMITTED, emit

PREDICTIONS = "cifar10_50k/predictions.json"  # under figures/data/: committed before any run of the 50k test
RUNS = "cifar10_50k/runs.csv"
MAIN_TABLE = "cifar10_fair/runs.csv"  # the fair test's main table: the predictions' only input

if TYPE_CHECKING:
    from prunescale.validation.largescale import AgainstPredictions, Predictions, ScaleVerdicts


def predict_cmd(
    csv: Path = typer.Option(None, "--csv", help="The main table the calibration is fitted to (default: the fair test's)."),
    out: Path = typer.Option(None, "--out", help="Where to write predictions.json (default results/cifar10_50k/)."),
    refresh_committed: bool = REFRESH_COMMITTED,
    as_json: bool = JSON,
):
    """The theory's predictions for the 50k test's 3,907-step runs, from the warped calibration of the main table."""

    from prunescale.figures import DATA
    from prunescale.validation import largescale
    from prunescale.validation.plans import SCALE_BUDGETS, scale_plan

    if refresh_committed and out is not None:
        raise ValueError("--refresh-committed writes the committed file: drop --out, or drop --refresh-committed")
    out = check_output_file(DATA / PREDICTIONS if refresh_committed else out or Path("results/cifar10_50k/predictions.json"), "--out")
    table = Path(csv) if csv else DATA / MAIN_TABLE
    from prunescale.validation.analysis import read_runs

    frame = read_runs(table)
    jobs = [j for j in scale_plan() if j.steps == SCALE_BUDGETS[0]]
    source = str(table) if csv else f"figures/data/{MAIN_TABLE}"
    record = dataclasses.replace(largescale.predictions(frame, jobs), source=source, held_out=largescale.held_out(frame))
    save_json(to_json(record), out)
    emit(to_json(record), as_json, [*predict_lines(record), f"wrote {out}"])


def predict_lines(record: Predictions) -> list[str]:
    """The calibration, its fit per curve and held out, and the predictions for one seed (all of them are in the JSON)."""
    cal = record.calibration
    first_seed = record.runs[0].seed
    return [
        f"warp: random error = {cal.warp.amplitude:.3g} n^{cal.warp.exponent:.3f}; "
        f"EL2N angle {cal.theta:.1f} deg (95% {cal.theta_ci95[0]:.1f} to {cal.theta_ci95[1]:.1f})",
        *(f"  chi2/dof {c.chi2_per_dof:.1f} ({c.points} points): {c.curve}" for c in cal.per_curve),
        *(f"  held out pool {h.held_out_pool}: chi2 per point {h.chi2_per_point:.1f}" for h in record.held_out or ()),
        *(f"pool {r.pool_size}, {r.policy} f = {r.keep_fraction:g}, seed {r.seed}: {r.predicted:.4f} "
          f"(95% {r.interval95[0]:.4f} to {r.interval95[1]:.4f})" for r in record.runs if r.seed == first_seed),
        *(f"pool {c.pool_size}, {c.comparison}: {100 * c.predicted:+.2f} pp ({c.sign}"
          f"{'' if c.sign_certain else ', sign not certain'})" for c in record.comparisons),
    ]


def verdict_lines(report: ScaleVerdicts) -> list[str]:
    """The 50k test's reading, one line per comparison (all of it is in the JSON)."""
    pp = lambda x: f"{100 * x:+.2f} pp"
    incomplete = lambda missing: f"undecided (plan incomplete; {len(missing)} point{'' if len(missing) == 1 else 's'} missing)"
    lines = []
    for c in report.claim_1:
        if not c.complete or c.reading is None:
            lines.append(f"claim 1 at 50k, {c.steps} steps: {incomplete(c.missing or ())}")
            continue
        lines.append(f"claim 1 at 50k, {c.steps} steps: {c.verdict}")
        for loss in c.reading.losses:
            lines.append(f"  {loss.policy} f = 0.5 against f = 1: {pp(loss.loss)} (one-sided 95% bounds "
                         f"{pp(loss.lower95)} to {pp(loss.upper95)}, {loss.seeds} seeds): {loss.outcome}")
        h = c.reading.hard_minus_random
        low, high = h.ci95 or (float("nan"),) * 2
        lines.append(f"  keep-hard minus random: {pp(h.minus_random)} (95% CI {pp(low)} to {pp(high)}): {h.outcome}")
    for b in report.budget_interaction:
        if b.complete and b.steps and b.ci95:
            lines.append(f"budget: {b.policy} f = 0.5 loss at {b.steps[1]} minus at {b.steps[0]} steps "
                         f"{pp(b.change)} (95% CI {pp(b.ci95[0])} to {pp(b.ci95[1])}): {b.outcome}")
    c3 = report.claim_3
    if c3.complete:
        d = c3.details
        lo, hi = d["slope_difference_ci95"]
        lines.append(f"claim 3 at scale: {c3.verdict}: slope {d['slope']:.3f} against random {d['random_slope']:.3f}, "
                     f"per-seed differences {', '.join(f'{x:+.3f}' for x in d['per_seed_slope_differences'])} "
                     f"(95% CI {lo:+.3f} to {hi:+.3f}); at {d['largest_kept']} kept, hard minus random "
                     f"{pp(d['difference_at_largest'])}")
    else:
        lines.append(f"claim 3 at scale: {incomplete(c3.missing or ())}")
    lines += [f"different CPU models within a comparison: {m.comparison}, seeds {list(m.seeds)}: {', '.join(m.cpu_models)}"
              for m in report.mixed_machines]
    if (drift := report.claim_3_drift) is not None:
        lines.append(f"claim 3 at scale under CPU-model drift: {drift.verdict} in {100 * drift.share_same:.1f}% of "
                     f"{drift.draws} draws (the {drift.moved_runs} runs trained on another CPU model than their seed's "
                     f"50k pool moved by N(0, {100 * drift.drift_sd:.2f} pp), the measured re-run drift)")
    return lines


def prediction_lines(report: AgainstPredictions | None) -> list[str]:
    """The committed predictions against what was measured so far: per run, per comparison, and the counts."""
    if report is None:
        return ["predicted against measured: the predictions file was not found"]
    if not report.compared:
        return ["predicted against measured: no predicted run has finished yet"]
    lines = [f"predicted against measured (3,907 steps): {report.covered} of {report.compared} runs inside their "
             f"95% interval, mean |measured - predicted| {100 * report.mean_absolute_error:.2f} pp; "
             f"signs right {report.signs_right} of {report.signs_compared} comparisons"]
    for m in report.runs:
        r = m.run
        lines.append(f"  pool {r.pool_size}, {r.policy} f = {r.keep_fraction:g}, seed {r.seed}: measured {m.measured:.4f}, "
                     f"predicted {r.predicted:.4f} (95% {r.interval95[0]:.4f} to {r.interval95[1]:.4f})"
                     f"{'' if m.covered else ', outside'}")
    for mc in report.comparisons:
        c = mc.comparison
        lines.append(f"  pool {c.pool_size}, {c.comparison}: measured {100 * mc.measured:+.2f} pp "
                     f"({mc.seeds} seed{'' if mc.seeds == 1 else 's'}), predicted {100 * c.predicted:+.2f} pp: "
                     f"sign {'right' if mc.sign_right else 'wrong'}")
    return lines


def is_scale_table(csv) -> bool:
    """Whether ``csv`` holds runs of the 50k test's plan (and only those)."""
    import pandas as pd

    from prunescale.validation.plans import scale_plan

    try:
        hashes = set(pd.read_csv(csv, usecols=["config_hash"]).config_hash.astype(str))
    except (OSError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return False  # the fair-test path reports what is wrong with the file
    return bool(hashes) and hashes <= {j.key for j in scale_plan()}


def scale_verdict(csv: Path, out, refresh_committed: bool) -> tuple[dict, Path, list[str]]:
    """``prunescale validate verdict --csv <the 50k test's table>``: its reading saved and drawn; the record, where
    it was written, and the lines to print."""
    from prunescale.figures import largescale_figure as figure
    from prunescale.store import claim_output_folder

    if refresh_committed:
        record_path, figure_path = figure.RECORD, figure.FIGURE
    else:
        owner = dict(command="prunescale validate verdict", settings=dict(csv=str(csv)))
        folder = claim_output_folder(out or Path("results/cifar10_50k"), owner)
        record_path, figure_path = folder / "verdicts.json", folder / "cifar10_50k.png"
    record = figure.compute(csv) | {"source": str(csv)}
    save_json(record, record_path)
    figure.draw(record, figure_path)
    verdicts, against = figure.readings(record)
    lines = [f"the 50k test: {record['runs']} of 36 runs in {csv}", *verdict_lines(verdicts), *prediction_lines(against)]
    return record, record_path, lines + [f"wrote {record_path}, {figure_path} and its PDF"]
