"""``prunescale validate verdict``: the fair test's verdict on each claim (the 50k test's in largescale.py)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from prunescale.store import claim_output_folder, from_json, save_json

from ..options import JSON, REFRESH_COMMITTED, emit
from .common import DATA
from .largescale import is_scale_table, scale_verdict

if TYPE_CHECKING:
    from prunescale.validation.verdicts import AgainstRandom, ClassBalance, FullPool, Verdicts

FAIR_RESULTS = Path("results/fair")


def verdict_cmd(
    csv: Path = typer.Option(
        None, "--csv", help="A runs table: the fair test's (default: the committed one) or the 50k test's "
        "(figures/data/cifar10_50k/runs.csv), each read by its own pre-registered rules."
    ),
    out: Path = typer.Option(
        None, "--out", help="Folder for verdicts.json (every number behind the verdicts) and the figure (default results/fair, "
        "or results/cifar10_50k for the 50k test's table)."
    ),
    refresh_committed: bool = REFRESH_COMMITTED,
    kept_balance: bool = typer.Option(
        False, "--kept-balance", help="Also write kept_class_balance.csv: each finished run's kept set by class "
        "(reads CIFAR-10 and the cached scores beside the table; trains nothing)."
    ),
    data: Path = DATA,
    as_json: bool = JSON,
):
    """Each claim's verdict (reproduced, not reproduced or undecided) from the fair test's or the 50k test's runs, and its figure."""
    from prunescale.figures import fair_figure

    if refresh_committed and out is not None:
        raise ValueError("--refresh-committed writes the committed files: drop --out, or drop --refresh-committed")
    if kept_balance:  # the data file is needed only for the kept sets: fail before the verdicts, not after them
        from prunescale.validation import find_cifar10

        if data is None:
            find_cifar10()  # a clear error naming every place it looked
        elif not Path(data).is_file():
            raise FileNotFoundError(f"CIFAR-10 file {data} does not exist (--data)")
    if csv is not None and is_scale_table(csv):
        record, record_path, lines = scale_verdict(csv, out, refresh_committed)
    else:
        record, record_path, lines = _fair_verdict(csv, out, refresh_committed)
    if kept_balance:
        balance_path = record_path.with_name("kept_class_balance.csv")
        lines += _write_kept_balance(csv or fair_figure.RUNS, data, balance_path) + [f"wrote {balance_path}"]
    emit(record, as_json, lines)


def _fair_verdict(csv, out, refresh_committed):
    """The fair test's reading saved and drawn: the record, where it was written, and the lines to print."""
    from prunescale.figures import fair_figure
    from prunescale.validation.verdicts import Verdicts

    if refresh_committed:
        record_path, figure_path = fair_figure.RECORD, fair_figure.FIGURE
    else:
        owner = dict(command="prunescale validate verdict", settings=dict(csv=str(csv or "the fair test's committed table")))
        folder = claim_output_folder(out or FAIR_RESULTS, owner)
        record_path, figure_path = folder / "verdicts.json", folder / "cifar10_fair.png"
    record = fair_figure.compute(csv or fair_figure.RUNS)
    save_json(record, record_path)
    fair_figure.draw(record, figure_path)
    report = from_json(Verdicts, record["verdicts"])
    lines = [f"{report.runs} runs in {record['source']}", *_verdict_lines(report)]
    return record, record_path, lines + [f"wrote {record_path}, {figure_path} and its PDF"]


def _verdict_lines(report: Verdicts) -> list[str]:
    """Each claim's verdict with its evidence, then the comparisons reported beside the claims."""
    lines = []
    beside_claims = bool(report.compression or report.full_pool)
    side_table = beside_claims and not any(c.complete for c in report.claims)
    if side_table:  # a compression or full-pool table: its runs sit beside the claims, which it cannot decide
        lines.append(
            "claims 1-3: undecided on this table alone (it holds none of a claim's complete plan); "
            "the claims are read on the main table: prunescale validate verdict"
        )
    for claim in () if side_table else report.claims:
        state = "" if claim.complete else " (plan incomplete)"
        lines.append(f"claim {claim.claim}: {claim.verdict}{state}: {claim.reason}")
        lines += [f"  still missing: {_described(m)}" for m in claim.missing or ()]
        lines += _evidence(claim) if claim.complete else []
    lines += [_class_balance_line(c) for c in report.class_balance if c.complete]
    for c in report.compression:
        name = f"high compression, {c.policy} minus random at f = {c.keep_fraction:g}"
        lines.append(f"{name}: {_against_random_text(c)}")
    return lines + _full_pool_lines(report.full_pool)


def _class_balance_line(c: ClassBalance) -> str:
    lo, hi = c.ci95 or (float("nan"), float("nan"))
    interval = f"(95% CI {100 * lo:+.2f} to {100 * hi:+.2f}, {c.seeds} seeds)"
    if c.balanced_hard_minus_balanced_random is not None:
        return ("class-balanced keep-hard minus class-balanced random at f = 0.5: "
                f"{100 * c.balanced_hard_minus_balanced_random:+.2f} pp {interval}")
    return f"class-balanced minus plain, {c.policy} at f = 0.5: {100 * (c.balanced_minus_plain or 0):+.2f} pp {interval}"


def _write_kept_balance(csv, data, path):
    from prunescale.store import atomic_write

    balance = _kept_balance(csv, data)
    atomic_write(path, balance.to_csv(index=False, float_format="%.6g"))
    return [
        f"kept sets, {policy}{' (class-balanced)' if balanced else ''}: class shares "
        f"{group.smallest_share.min():.3f} to {group.largest_share.max():.3f} over {len(group)} runs"
        for (policy, balanced), group in balance.groupby(["policy", "class_balanced"])
    ]


def _pp(x):
    return f"{100 * x:+.2f} pp"


def _slope_reading(r):
    """``steeper``, ``flatter``, or ``steeper in every seed, unresolved`` and the like."""
    low, high = r["slope_difference_ci95"]
    if high < 0 or low > 0:
        return "steeper" if high < 0 else "flatter"
    d = r["per_seed_slope_differences"]
    every = "steeper in every seed, " if all(x < 0 for x in d) else "flatter in every seed, " if all(x > 0 for x in d) else ""
    return every + "unresolved"


def _evidence(claim):
    """The numbers and intervals behind a complete claim's verdict, one line each (all in verdicts.json)."""
    details = claim.details
    if claim.claim == "1":
        return [
            f"  {policy} at f = {p['keep_fraction']:g}: loss against f = 1 {_pp(p['loss'])} ("
            + (f"lower 95% {_pp(p['lower95'])}, " if "lower95" in p else "")
            + f"upper 95% {_pp(p['upper95'])}, {p['seeds']} seeds){', lossless' if p['lossless'] else ''}"
            for policy in ("random", "hard")
            for p in details[policy]["points"]
        ] + [
            "  smallest lossless f: "
            + ", ".join(f"{policy} {details[policy]['smallest_lossless'] or 'none'}" for policy in ("random", "hard"))
        ] + [
            f"  hard minus random at f = {p['keep_fraction']:g}: {_pp(p['minus_random'])} "
            f"(95% CI {_pp(p['ci95'][0])} to {_pp(p['ci95'][1])}, {p['seeds']} seeds)"
            for p in details.get("hard_minus_random", [])
            if p["complete"]
        ]
    if claim.claim == "2":
        return [
            f"  pool {p['pool_size']}, f = {p['keep_fraction']:g}: hard minus easy {_pp(p['hard_minus_easy'])} "
            f"(95% CI {_pp(p['ci95'][0])} to {_pp(p['ci95'][1])}): {p['winner']}"
            for p in details["points"]
        ]
    return [
        f"  f = {r['keep_fraction']:g}: slope {r['slope']:.3f} against random {r['random_slope']:.3f}; per-seed "
        f"differences {', '.join(f'{d:+.3f}' for d in r['per_seed_slope_differences'])} (95% CI "
        f"{r['slope_difference_ci95'][0]:+.3f} to {r['slope_difference_ci95'][1]:+.3f}: {_slope_reading(r)}); "
        f"at kept size {r['largest_kept']}, hard minus random {_pp(r['difference_at_largest'])} "
        f"(upper 95% {_pp(r['upper95_at_largest'])})"
        for r in details
    ]


def _full_pool_lines(comparison: FullPool | None) -> list[str]:
    """The 50k pool's comparison, reported beside claims 1 and 3 (never part of their verdicts)."""
    if comparison is None:
        return []
    pool, f = comparison.pool_size, comparison.keep_fraction
    lines = []
    for loss in comparison.losses:
        name = "random" if loss.policy == "random" else "EL2N keep-hard"
        bounds = (f"{_pp(loss.loss)} (one-sided 95% bounds {_pp(loss.lower95)} to {_pp(loss.upper95)}, "
                  f"{loss.seeds} seeds): {loss.outcome}")
        lines.append(f"full pool ({pool}), {name} at f = {f:g} minus f = 1: " + (bounds if loss.complete else "runs missing"))
    against_random = _against_random_text(comparison.hard_minus_random)
    lines.append(f"full pool ({pool}), keep-hard minus random at f = {f:g}: {against_random}")
    return lines


def _against_random_text(c: AgainstRandom) -> str:
    """One policy minus random pruning to the same f: the paired difference, its 95% CI and outcome."""
    if not c.complete or c.ci95 is None:
        return "runs missing"
    low, high = c.ci95
    return f"{_pp(c.minus_random)} (95% CI {_pp(low)} to {_pp(high)}, {c.seeds} seeds): {c.outcome}"


def _described(selection):
    """One missing point of a verdict, as ``pool_size 10000, keep_fraction 0.5, policy hard, seeds 3``."""
    return ", ".join(f"{key} {value}" for key, value in selection.items())


def _kept_balance(csv, data):
    """The kept sets' class balance for the runs of a table, from the job entries and scores beside it."""
    import pandas as pd

    from prunescale.validation.jobs import stored_jobs
    from prunescale.validation.runner import kept_class_balance

    folder = Path(csv).parent
    stored = stored_jobs(folder)
    ran = [stored[key] for key in pd.read_csv(csv).config_hash if key in stored]
    return kept_class_balance(ran, folder, data_path=data, score_cache=folder / "scores")
