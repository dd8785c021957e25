"""``prunescale prune``: prune your own data set, and keep the evidence beside the kept set."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import typer

from prunescale.store import atomic_write, check_output_folder, save_json
from prunescale.store.files import normal_mode

from ..options import JSON, emit, floats, json_object

CALIBRATION = "cifar10_fair/calibration.json"  # the theory fitted to the equal-compute CIFAR-10 runs


def prune_cmd(
    data: Path = typer.Option(..., "--data", help="An .npz with x (uint8, N x H x W x C) and y, or an ImageFolder."),
    keep_fraction: str = typer.Option(..., "--keep-fraction", help="Fraction kept, in (0, 1]; a comma list shares one scoring."),
    metric: str = typer.Option("el2n", "--metric", help="el2n | grand | forgetting | prototypes (no labels needed) | random."),
    policy: str = typer.Option("hard", "--policy", help="hard | easy | random | ccs | mixed."),
    class_balanced: bool = typer.Option(False, "--class-balanced", help="Each class keeps its share of the budget."),
    out: Path = typer.Option(..., "--out", help="A new folder for scores, kept sets and the report."),
    options: str = typer.Option("{}", "--options", help='Metric options as JSON, e.g. \'{"inits": 2, "config": "toy"}\'.'),
    beta: float = typer.Option(0.1, "--beta", help="ccs: fraction of the hardest examples dropped first, in [0, 1)."),
    strata: int = typer.Option(50, "--strata", help="ccs: number of score strata, >= 1."),
    hard_share: float = typer.Option(0.5, "--hard-share", help="mixed: share of the budget kept by score, in [0, 1]."),
    theta: float = typer.Option(None, "--theta", help="Metric angle for the theory's view (default: the committed calibration's)."),
    seed: int = typer.Option(0, "--seed", help="Seed for scoring and for the policy's random choices."),
    cache: Path = typer.Option(None, "--cache", help="Score cache folder (default: the prunescale cache); a stopped scoring resumes."),
    as_json: bool = JSON,
):
    """Score every example, keep a fraction by a policy, and write the kept indices with a report."""
    from prunescale.figures import DATA
    from prunescale.validation.data import cache_dir
    from prunescale.validation.pruning import prune_dataset, read_dataset

    fractions = floats(keep_fraction, "--keep-fraction")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"--out {out} already exists and is not an empty folder: choose a new one (nothing is overwritten)")
    check_output_folder(out, "--out")
    metric_options = json_object(options, "--options")
    x, y, names = read_dataset(data)
    results = prune_dataset(
        x, y, fractions, metric=metric, policy=policy, class_balanced=class_balanced, seed=seed,
        cache_dir=cache or cache_dir() / "scores", progress=not as_json, theta=theta, calibration=DATA / CALIBRATION, metric_options=metric_options,
        beta=beta, strata=strata, hard_share=hard_share,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    try:  # everything is written to a hidden sibling, then moved into place at once: never half-written
        np.save(staging / "scores.npy", results[0].scores)
        save_json(results[0].report["score_config"], staging / "scores.json")
        for r in results:
            folder = staging if len(results) == 1 else staging / f"keep-{r.report['keep_fraction']:g}"
            folder.mkdir(exist_ok=True)
            np.save(folder / "kept.npy", r.kept)
            atomic_write(folder / "kept.csv", "index\n" + "".join(f"{i}\n" for i in r.kept))
            save_json(r.report | {"data": str(data), "class_names": names}, folder / "report.json")
            atomic_write(folder / "report.md", markdown(r.report, names, data))
        os.chmod(staging, normal_mode(directory=True))
        if out.exists():
            out.rmdir()  # an empty folder the user made: replaced by the finished one
        os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    lines = [
        f"{r.report['metric']} scores of {r.report['n']} examples; keep {policy} f = {r.report['keep_fraction']:g}: "
        f"{r.report['kept']} kept" for r in results
    ] + [f"wrote {out}/ (scores.npy, kept.npy, kept.csv, report.md, report.json)"]
    emit([r.report for r in results], as_json, lines)


def markdown(report, names, data):
    """The report for people: settings, the score histogram, the class balance, the time, the theory's view."""
    p = report["policy"]
    settings = ", ".join(f"{k} = {v}" for k, v in p.items() if k != "name")
    counts, edges = report["score_histogram"]["counts"], report["score_histogram"]["edges"]
    bars = "\n".join(
        f"{lo:10.4g} - {hi:<10.4g} {c:7d} {'#' * round(40 * c / max(1, max(counts)))}"
        for lo, hi, c in zip(edges[:-1], edges[1:], counts)
    )
    lines = [
        f"# Pruning report: {data}",
        "",
        f"Kept **{report['kept']} of {report['n']}** examples (f = {report['keep_fraction']:g}) by policy "
        f"**{p['name']}** ({settings}), scored by **{report['metric']}** (higher = harder).",
        "",
        f"Time: scoring {report['seconds']['scoring']:.1f} s, selection {report['seconds']['selection']:.3f} s.",
        "",
        "## Scores",
        "",
        "```",
        bars,
        "```",
    ]
    if "class_balance" in report:
        cb = report["class_balance"]
        labels = names or [str(i) for i in range(len(cb["whole"]))]
        lines += ["", "## Class balance", "", "| class | whole | kept | kept share |", "|---|---|---|---|"]
        lines += [f"| {n} | {w} | {k} | {k / w:.3f} |" for n, w, k in zip(labels, cb["whole"], cb["kept"])]
    t = report["theory"]
    lines += ["", "## The theory's view", ""]
    if not t["available"]:
        lines.append(f"Not available: {t['why']}.")
    else:
        ci = f", 95% interval {t['theta_ci95'][0]:.0f}-{t['theta_ci95'][1]:.0f} deg" if t["theta_ci95"] else ""
        spread = (
            f"; over the interval, f = {t['keep_fraction_over_theta_ci95'][0]:.3g} to {t['keep_fraction_over_theta_ci95'][1]:.3g}"
            if "keep_fraction_over_theta_ci95" in t
            else ""
        )
        lines.append(
            f"A perceptron with a metric at theta = {t['theta']:.0f} deg (from the {t['theta_source']}{ci}) and a pool of "
            f"{t['pool_size']} examples ({t['alpha_tot']:.3g} per effective dimension, d = {t['effective_dimension']:.3g}) "
            f"would keep **{t['policy']}, f = {t['keep_fraction']:.3g}**{spread}. The calibration is {t['caveat']}."
        )
    return "\n".join(lines) + "\n"
