"""``prunescale validate ...``: CIFAR-10 training and pruning scores from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from prunescale.store import check_output_file, check_output_folder, claim_output_folder, save_json, save_npz

from ..options import JSON, REFRESH_COMMITTED, emit, floats, ints, json_object, words
from .largescale import is_scale_table, predict_cmd, scale_verdict

app = typer.Typer(rich_markup_mode=None, 
    help="Real networks on CIFAR-10: train a ResNet on a (pruned) subset, and score examples by pruning metrics.",
    no_args_is_help=True,
)
app.command("predict")(predict_cmd)

DATA = typer.Option(
    None,
    "--data",
    help="CIFAR-10 file (.npz or cifar-10-python.tar.gz); default $PRUNESCALE_CIFAR10, the cache, ../shared/data.",
)
TRAIN_SIZE = typer.Option(50000, "--train-size", help="Class-balanced training subset size, 1..50000.")
TEST_SIZE = typer.Option(10000, "--test-size", help="Test images used for accuracy (the first ones), 1..10000.")
SEED = typer.Option(0, "--seed", help="Seed for the subset, initialisation, data order and augmentation.")


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
    opts = json_object(options, "--options")
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


@app.command("sweep")
def sweep_cmd(
    results: Path = RESULTS_OPTION,
    plan: str = typer.Option(
        "default",
        "--plan",
        help="default (the short-budget experiments A and B) | pilot (the fair test's budget pilot) | "
        "fair (the fair test's CPU plan, with --steps) | compression (ccs and mixed at f = 0.3, 0.1, with --steps) | "
        "full-pool (the 50k pool, f 1 and 0.5; --steps default 3907) | gpu (the 50k plan for a lent GPU; --steps "
        "default 3907) | gpu-memorization (memorization and influence from 128 subset models on 2.5k, with --steps) | "
        "scale (the 50k test: 36 runs at 3,907 and 7,814 steps, seeds 3-5) | custom (the options below).",
    ),
    steps: int = typer.Option(
        None, "--steps", help="fair, compression, full-pool and gpu plans (and custom with --budget steps): steps of every run."
    ),
    metrics: str = typer.Option("el2n", "--metrics", help="custom plan: comma list of metrics."),
    policies: str = typer.Option("random,hard,easy", "--policies", help="custom plan: comma list of policies."),
    pool_sizes: str = typer.Option("10000", "--pool-sizes", help="custom plan: comma list of pool sizes."),
    keep_fractions: str = typer.Option(
        "1,0.8,0.6,0.4,0.3,0.2,0.1", "--keep-fractions", help="custom plan: keep fractions."
    ),
    seeds: int = typer.Option(2, "--seeds", help="custom plan: seeds 0..n-1, n >= 1."),
    config: str = typer.Option("sweep", "--config", help="custom plan: training config (default | sweep | toy)."),
    budget: str = typer.Option(
        "epochs", "--budget", help="custom plan: budget rule (epochs | steps | full_data), the same for every run."
    ),
    epochs: float = typer.Option(
        None, "--epochs", help="custom plan: passes over the subset (epochs rule) or the full pool (full_data rule)."
    ),
    metric_options: str = typer.Option(
        "{}", "--metric-options", help='custom plan: the metrics\' options as JSON, e.g. \'{"inits": 8}\'.'
    ),
    scheduler: str = typer.Option(
        None, "--scheduler", help="Address of an existing Dask scheduler (default: a LocalCluster)."
    ),
    workers: int = typer.Option(1, "--workers", help="LocalCluster worker processes, >= 1."),
    serial: bool = typer.Option(
        False, "--serial", help="Run the jobs one after another in this process, without Dask (a borrowed GPU)."
    ),
    deadline: float = typer.Option(None, "--deadline", help="With --serial: seconds after which no job starts."),
    csv: Path = typer.Option(
        None, "--csv", help="Where to write the table of the plan's finished runs (default RESULTS/runs.csv)."
    ),
    refresh_committed: bool = REFRESH_COMMITTED,
    score_cache: Path = typer.Option(
        None, "--score-cache", help="Folder of cached scores (default: the prunescale cache directory's scores/)."
    ),
    data: Path = DATA,
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Show the plan and what is done, curve by curve; run nothing."
    ),
):
    """Run a pruning sweep (Dask, or --serial); kill it any time and run it again to resume."""
    from prunescale.validation import sweep
    from prunescale.validation.data import cache_dir

    if plan == "default":
        jobs = sweep.default_sweep()
    elif plan == "pilot":
        jobs = sweep.pilot_plan()
    elif plan == "fair":
        if steps is None or steps < 1:
            raise ValueError("--plan fair needs --steps, a positive integer (the budget the pilot chose)")
        jobs = sweep.fair_plan(steps)
    elif plan == "compression":
        if steps is None or steps < 1:
            raise ValueError("--plan compression needs --steps, a positive integer (the fair test's budget)")
        jobs = sweep.high_compression_plan(steps)
    elif plan == "gpu-memorization":
        if steps is None or steps < 1:
            raise ValueError("--plan gpu-memorization needs --steps, a positive integer (the fair test's budget)")
        jobs = sweep.gpu_memorization_plan(steps)
    elif plan in ("full-pool", "gpu"):
        if steps is not None and steps < 1:
            raise ValueError(f"--steps must be a positive integer, got {steps}")
        make = sweep.full_pool_plan if plan == "full-pool" else sweep.gpu_plan
        jobs = make() if steps is None else make(steps)
    elif plan == "scale":
        if steps is not None:
            raise ValueError("--plan scale fixes its own budgets (3,907 and 7,814 steps): drop --steps")
        jobs = sweep.scale_plan()
    elif plan == "custom":
        if seeds < 1:
            raise ValueError(f"--seeds must be at least 1, got {seeds}")
        jobs = sweep.grid(
            words(metrics, "--metrics"),
            words(policies, "--policies"),
            ints(pool_sizes, "--pool-sizes"),
            floats(keep_fractions, "--keep-fractions"),
            list(range(seeds)),
            config=config,
            budget=budget,
            epochs=epochs,
            steps=steps,
            metric_options=metric_options,
        )
    else:
        raise ValueError(
            f"--plan must be default, pilot, fair, compression, full-pool, gpu, gpu-memorization, scale or custom, got {plan!r}"
        )
    if workers < 1:
        raise ValueError(f"--workers must be at least 1, got {workers}")
    csv = check_output_file(csv or analysis_paths(results, refresh_committed)["runs"], "--csv")
    check_output_folder(results, "--results")
    sweep.check_table(csv, jobs)  # before the dry run too: say now that this --csv would be refused
    typer.echo(f"{len(jobs)} jobs, {len(sweep.pending(jobs, results))} to run; results in {results}")
    if dry_run:
        table = sweep.progress(jobs, results)
        typer.echo(table.to_string(index=False))
        typer.echo(f"images left to train (steps x batch over pending jobs, scoring not counted): {table.images_left.sum()}")
        return
    common = dict(data_path=data, score_cache=score_cache or cache_dir() / "scores", csv=csv)
    try:
        if serial:
            frame = sweep.run_serial(jobs, results, deadline=deadline, **common)
        else:
            frame = sweep.run_sweep(jobs, results, scheduler=scheduler, workers=workers, **common)
    except sweep.SweepFailed as exc:
        typer.echo(f"wrote {csv} (the finished runs)", err=True)
        raise ValueError(str(exc)) from None
    typer.echo(f"wrote {csv} ({len(frame)} runs)")


CSV_OPTION = typer.Option(None, "--csv", help="The runs table to read (default RESULTS/runs.csv).")
CLASS_BALANCED_SELECTION = typer.Option(
    None,
    "--class-balanced/--not-class-balanced",
    help="Read only the class-balanced runs, or only the others (needed where the table holds both).",
)


@app.command("fit")
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

    paths = analysis_paths(results, refresh_committed)
    out = check_output_file(out or paths["fits"], "--out")
    summary = fit_curves(csv or paths["runs"], class_balanced)
    save_json(summary, out)
    lines = [
        f"{c['curve']}: best by AIC {c['best_aic']}, by held-out {c['best_heldout']}"
        + (f"; beats the power law: {c['beats']['verdict']}" if "beats" in c else "")
        for c in summary["curves"]
    ]
    emit(summary, as_json, lines + [f"wrote {out}"])


FAIR_RESULTS = Path("results/fair")


@app.command("verdict")
def verdict_cmd(
    csv: Path = typer.Option(None, "--csv", help="The fair test's runs table (default: the committed one)."),
    out: Path = typer.Option(
        None, "--out", help="Folder for verdicts.json (every number behind the verdicts) and cifar10_fair.png (default results/fair)."
    ),
    refresh_committed: bool = REFRESH_COMMITTED,
    kept_balance: bool = typer.Option(
        False, "--kept-balance", help="Also write kept_class_balance.csv: each finished run's kept set by class "
        "(reads CIFAR-10 and the cached scores beside the table; trains nothing)."
    ),
    data: Path = DATA,
    as_json: bool = JSON,
):
    """The fair test's verdict on each of the paper's three claims (reproduced, not reproduced or undecided), and its figure."""
    from prunescale.figures import fair_figure

    if refresh_committed and out is not None:
        raise ValueError("--refresh-committed writes the committed files: drop --out, or drop --refresh-committed")
    if csv is not None and is_scale_table(csv):
        return scale_verdict(csv, out, refresh_committed, as_json)
    if refresh_committed:
        record_path, figure_path = fair_figure.RECORD, fair_figure.FIGURE
    else:
        owner = dict(command="prunescale validate verdict", settings=dict(csv=str(csv or "the fair test's committed table")))
        folder = claim_output_folder(out or FAIR_RESULTS, owner)
        record_path, figure_path = folder / "verdicts.json", folder / "cifar10_fair.png"
    csv = csv or fair_figure.RUNS
    record = fair_figure.compute(csv)
    save_json(record, record_path)
    fair_figure.draw(record, figure_path)
    report = record["verdicts"]
    lines = [f"{report['runs']} runs in {record['source']}"]
    beside_claims = bool(report.get("compression") or report.get("full_pool"))
    side_table = beside_claims and not any(c["complete"] for c in report["claims"])
    if side_table:  # a compression or full-pool table: its runs sit beside the claims, which it cannot decide
        lines.append(
            "claims 1-3: undecided on this table alone (it holds none of a claim's complete plan); "
            "the claims are read on the main table: prunescale validate verdict"
        )
    for claim in [] if side_table else report["claims"]:
        state = "" if claim["complete"] else " (plan incomplete)"
        lines.append(f"claim {claim['claim']}: {claim['verdict']}{state}: {claim['reason']}")
        lines += [f"  still missing: {_described(m)}" for m in claim.get("missing", [])]
        lines += _evidence(claim) if claim["complete"] else []
    for c in report["class_balance"]:
        if c["complete"] and "balanced_hard_minus_balanced_random" in c:
            lo, hi = c["ci95"]
            lines.append(
                f"class-balanced keep-hard minus class-balanced random at f = 0.5: "
                f"{100 * c['balanced_hard_minus_balanced_random']:+.2f} pp (95% CI {100 * lo:+.2f} to {100 * hi:+.2f}, {c['seeds']} seeds)"
            )
        elif c["complete"]:
            lo, hi = c["ci95"]
            lines.append(
                f"class-balanced minus plain, {c['policy']} at f = 0.5: {100 * c['balanced_minus_plain']:+.2f} pp "
                f"(95% CI {100 * lo:+.2f} to {100 * hi:+.2f}, {c['seeds']} seeds)"
            )
    for c in report.get("compression", []):
        name = f"high compression, {c['policy']} minus random at f = {c['keep_fraction']:g}"
        lines.append(f"{name}: {_against_random_text(c)}")
    lines += _full_pool_lines(report.get("full_pool", {}))
    written = [f"wrote {record_path}, {figure_path} and its PDF"]
    if kept_balance:
        from prunescale.store import atomic_write

        balance = _kept_balance(csv, data)
        balance_path = record_path.with_name("kept_class_balance.csv")
        atomic_write(balance_path, balance.to_csv(index=False, float_format="%.6g"))
        for (policy, balanced), group in balance.groupby(["policy", "class_balanced"]):
            lines.append(
                f"kept sets, {policy}{' (class-balanced)' if balanced else ''}: class shares "
                f"{group.smallest_share.min():.3f} to {group.largest_share.max():.3f} over {len(group)} runs"
            )
        written.append(f"wrote {balance_path}")
    emit(record, as_json, lines + written)


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
    details = claim["details"]
    if claim["claim"] == "1":
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
    if claim["claim"] == "2":
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


def _full_pool_lines(comparison):
    """The 50k pool's comparison, reported beside claims 1 and 3 (never part of their verdicts)."""
    if not comparison:
        return []
    pool, f = comparison["pool_size"], comparison["keep_fraction"]
    lines = []
    for loss in comparison["losses"]:
        name = "random" if loss["policy"] == "random" else "EL2N keep-hard"
        lines.append(
            f"full pool ({pool}), {name} at f = {f:g} minus f = 1: "
            + (
                f"{_pp(loss['loss'])} (one-sided 95% bounds {_pp(loss['lower95'])} to {_pp(loss['upper95'])}, "
                f"{loss['seeds']} seeds): {loss['outcome']}"
                if loss["complete"]
                else "runs missing"
            )
        )
    against_random = _against_random_text(comparison["hard_minus_random"])
    lines.append(f"full pool ({pool}), keep-hard minus random at f = {f:g}: {against_random}")
    return lines


def _against_random_text(c):
    """One policy minus random pruning to the same f: the paired difference, its 95% CI and outcome."""
    if not c["complete"]:
        return "runs missing"
    low, high = c["ci95"]
    return f"{_pp(c['minus_random'])} (95% CI {_pp(low)} to {_pp(high)}, {c['seeds']} seeds): {c['outcome']}"


def _described(selection):
    """One missing point of a verdict, as ``pool_size 10000, keep_fraction 0.5, policy hard, seeds 3``."""
    return ", ".join(f"{key} {value}" for key, value in selection.items())


def _kept_balance(csv, data):
    """The kept sets' class balance for the runs of a fair-test table, from the job entries and scores beside it."""
    import pandas as pd

    from prunescale.validation import sweep

    folder = Path(csv).parent
    table = pd.read_csv(csv)
    plans = (sweep.fair_plan, sweep.high_compression_plan, sweep.full_pool_plan, sweep.gpu_plan, sweep.gpu_memorization_plan)
    jobs = {j.key: j for s in table.steps.dropna().unique() for plan in plans for j in plan(int(s))}
    ran = [jobs[key] for key in table.config_hash if key in jobs]
    return sweep.kept_class_balance(ran, folder, data_path=data, score_cache=folder / "scores")


@app.command("calibrate")
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

    paths = analysis_paths(results, refresh_committed)
    out = check_output_file(out or paths["calibration"], "--out")
    result = calibrate_runs(csv or paths["runs"], class_balanced)
    save_json(result, out)
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
    emit(result, as_json, lines + [f"wrote {out}"])


@app.command("figure")
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
