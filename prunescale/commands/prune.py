"""``prunescale prune``: prune your own data set, and keep the evidence beside the kept set."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import typer

from prunescale.store import OWNER_FILE, atomic_write, check_output_folder, checks, claim_output_folder, normal_mode, save_json

from ..options import JSON, emit, floats

CALIBRATION = "cifar10_fair/calibration.json"  # the theory fitted to the equal-compute CIFAR-10 runs


def prune_cmd(
    data: Path = typer.Option(None, "--data", help="An .npz with x (uint8, N x H x W x C) and y, or an ImageFolder: scored by training the toolkit's network."),
    dynamics: Path = typer.Option(None, "--dynamics", help="Recorded logits: an .npz or a folder of logits.npy (float16/32, (epochs, N, C) or (runs, epochs, N, C)) and labels.npy; --metric el2n | forgetting | aum | loss."),
    embeddings: Path = typer.Option(None, "--embeddings", help="Your embeddings, an .npy of shape (N, D), float16/32, memory-mapped: self-supervised prototypes (--metric prototypes)."),
    scores: Path = typer.Option(None, "--scores", help="Your own scores, an .npy of shape (N,), higher = harder."),
    labels: Path = typer.Option(None, "--labels", help="With --embeddings or --scores: integer labels (N,), for --class-balanced and the class table."),
    dedup: float = typer.Option(None, "--dedup", help="With --embeddings: first remove near-duplicates (cosine >= 1 - EPS within a cluster), one kept per group; EPS in (0, 1)."),
    scheduler: str = typer.Option(None, "--scheduler", help="With --embeddings: a Dask scheduler address; the assignment chunks run on its workers."),
    keep_fraction: str = typer.Option(..., "--keep-fraction", help="Fraction kept, in (0, 1]; a comma list shares one scoring."),
    metric: str = typer.Option(None, "--metric", help="--data: el2n (default) | grand | forgetting | memorization | influence | prototypes | random; --dynamics: el2n (default) | forgetting | aum | loss; --embeddings: prototypes."),
    policy: str = typer.Option("hard", "--policy", help="hard | easy | random | ccs | mixed."),
    class_balanced: bool = typer.Option(False, "--class-balanced", help="Each class keeps its share of the budget."),
    out: Path = typer.Option(..., "--out", help="A new folder for scores, kept sets and the report."),
    options: str = typer.Option("{}", "--options", help='Metric options as JSON: --data e.g. \'{"inits": 2, "config": "toy"}\'; --dynamics \'{"epoch": k}\' (el2n); --embeddings \'{"clusters": k, "sample": rows}\'.'),
    beta: float = typer.Option(0.1, "--beta", help="ccs: fraction of the hardest examples dropped first, in [0, 1)."),
    strata: int = typer.Option(50, "--strata", help="ccs: number of score strata, >= 1."),
    hard_share: float = typer.Option(0.5, "--hard-share", help="mixed: share of the budget kept by score, in [0, 1]."),
    theta: float = typer.Option(None, "--theta", help="Metric angle for the theory's view (default: the committed calibration's)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed for scoring and for the policy's random choices, >= 0."),
    cache: Path = typer.Option(None, "--cache", help="Score cache folder (default: the prunescale cache); a stopped scoring resumes."),
    as_json: bool = JSON,
):
    """Score every example (or read your own dynamics, embeddings or scores), keep a fraction by a policy, and write
    the kept indices with a report."""
    sources = {"--data": data, "--dynamics": dynamics, "--embeddings": embeddings, "--scores": scores}
    source = _one_source(sources, labels, dedup, scheduler)
    fractions = floats(keep_fraction, "--keep-fraction")
    owner = dict(command="prunescale prune", settings=dict(
        source=source, path=str(sources[source]), keep_fraction=fractions, metric=metric, policy=policy,
        class_balanced=class_balanced, options=options, beta=beta, strata=strata, hard_share=hard_share, theta=theta,
        seed=seed, labels=None if labels is None else str(labels), dedup=dedup))
    claim_output_folder(out, owner, write=False)  # the finished folder is moved into place whole, its owner inside
    if cache is not None:
        check_output_folder(cache, "--cache")
    settings = dict(policy=policy, class_balanced=class_balanced, seed=seed, beta=beta, strata=strata, hard_share=hard_share)
    extra = dict(labels=labels, dedup=dedup, scheduler=scheduler, cache=cache, theta=theta, progress=not as_json)
    results, names, skipped = _prune(source, sources[source], fractions, metric, checks.json_object("--options", options),
                                     settings, extra)
    _write_folder(out, results, owner, names, sources[source])
    named = lambda r: "your scores" if r.report["metric"] == "scores" else f"{r.report['metric']} scores"
    removed = lambda r: f" after {r.report['duplicates_removed']} near-duplicates" if "duplicates_removed" in r.report else ""
    lines = [f"left out {len(skipped)} files that are not images (e.g. {skipped[0]})"] if skipped else []
    lines += [
        f"{named(r)} of {r.report['n']} examples; keep {policy} f = {r.report['keep_fraction']:g}{removed(r)}: "
        f"{r.report['kept']} kept" for r in results
    ] + [f"wrote {out}/ (scores.npy, kept.npy, kept.csv, report.md, report.json)"]
    emit([r.report for r in results], as_json, lines)


def _one_source(sources, labels, dedup, scheduler):
    """The one source given, with the options that go with it; else a one-line error."""
    given = [name for name, value in sources.items() if value is not None]
    if len(given) != 1:
        raise ValueError(f"give exactly one of --data, --dynamics, --embeddings, --scores; got {', '.join(given) or 'none'}")
    source = given[0]
    if labels is not None and source not in ("--embeddings", "--scores"):
        raise ValueError(f"--labels goes with --embeddings or --scores; {source} has its own labels")
    if (dedup is not None or scheduler is not None) and source != "--embeddings":
        raise ValueError("--dedup and --scheduler go with --embeddings")
    return source


def _prune(source, path, fractions, metric, metric_options, settings, extra):
    """``(results, class names or None, skipped files)``: the source scored (or read) and pruned at each fraction."""
    from prunescale.figures import DATA
    from prunescale.validation import pruning
    from prunescale.validation.data import cache_dir

    if source == "--data":
        x, y, names, skipped = pruning.read_dataset(path)
        results = pruning.prune_dataset(
            x, y, fractions, metric=metric or "el2n", cache_dir=extra["cache"] or cache_dir() / "scores",
            progress=extra["progress"], theta=extra["theta"], calibration=DATA / CALIBRATION,
            metric_options=metric_options, **settings,
        )
        # files of the image folder that are not images: counted, never silently dropped
        more = {"skipped_files": len(skipped), "skipped_examples": skipped[:10]} if skipped else {}
        return [r._replace(report=r.report | more) for r in results], names, skipped
    if source == "--dynamics":
        _only_options(metric_options, {"epoch"}, "--dynamics")
        return pruning.prune_dynamics(path, fractions, metric=metric or "el2n", epoch=metric_options.get("epoch"),
                                      **settings), None, []
    if source == "--embeddings":
        if metric not in (None, "prototypes"):
            raise ValueError(f"--embeddings scores by --metric prototypes, got {metric!r}")
        _only_options(metric_options, {"clusters", "sample"}, "--embeddings")
        return pruning.prune_embeddings(path, fractions, labels=extra["labels"], dedup=extra["dedup"],
                                        scheduler=extra["scheduler"], clusters=metric_options.get("clusters", 100),
                                        sample=metric_options.get("sample"), **settings), None, []
    if metric is not None:
        raise ValueError("--scores are your own scores: drop --metric")
    from prunescale.validation.dynamics import read_array

    labels = None if extra["labels"] is None else read_array(extra["labels"], "labels", ndim=1, integers=True)
    return pruning.prune_scores(read_array(path, "scores", ndim=1), fractions, labels=labels, **settings), None, []


def _write_folder(out, results, owner, names, data):
    """Everything is written to a hidden sibling, then moved into place at once: never half-written."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    try:
        np.save(staging / "scores.npy", results[0].scores)
        save_json(results[0].report["score_config"], staging / "scores.json")
        for r in results:
            folder = staging if len(results) == 1 else staging / f"keep-{r.report['keep_fraction']:g}"
            folder.mkdir(exist_ok=True)
            np.save(folder / "kept.npy", r.kept)
            atomic_write(folder / "kept.csv", "index\n" + "".join(f"{i}\n" for i in r.kept))
            save_json(r.report | {"data": str(data), "class_names": names}, folder / "report.json")
            atomic_write(folder / "report.md", markdown(r.report, names, data))
        save_json(owner, staging / OWNER_FILE)
        os.chmod(staging, normal_mode(directory=True))
        if out.exists():  # an empty folder, or this same work's earlier results: replaced by the finished one
            old = out.with_name(f".{out.name}.old")
            os.replace(out, old)
            os.replace(staging, out)
            shutil.rmtree(old)
        else:
            os.replace(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _only_options(options, valid, source):
    unknown = set(options) - valid
    if unknown:
        raise ValueError(f"--options for {source} take {', '.join(sorted(valid))}; unknown: {', '.join(sorted(unknown))}")


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
        f"**{p['name']}** ({settings}), scored by **{report['metric']}** (higher = harder)."
        + (f" {report['duplicates_removed']} near-duplicates were removed first." if "duplicates_removed" in report else "")
        + (f" {report['skipped_files']} files in the folder are not images and were left out (for example "
           f"{', '.join(report['skipped_examples'][:3])})." if report.get("skipped_files") else ""),
        "",
        f"Time: scoring {report['seconds']['scoring']:.1f} s, selection {report['seconds']['selection']:.3f} s. "
        f"Cost of selection: {report['cost']['seconds']:.1f} s and {report['cost']['peak_memory_mib']:.0f} MiB of peak memory "
        f"above the start; it saves {100 * (1 - report['saves']['kept_share']):.1f}% of the examples, and so of the "
        f"compute per epoch.",
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
