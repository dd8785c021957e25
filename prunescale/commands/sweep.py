"""``prunescale validate sweep``: run a registered plan (validation.plans.PLANS), resumably."""

from __future__ import annotations

from pathlib import Path

import typer

from prunescale.store import check_output_file, claim_output_folder
from prunescale.validation.plans import PLANS

from ..options import REFRESH_COMMITTED, floats, ints, words
from .common import DATA, RESULTS_OPTION, analysis_paths

# Any plan may share a results folder: each job is stored under the key of its whole configuration.  A folder
# with a job store and no owner record is a sweep's from before the record existed.
SWEEP_OWNER = dict(command="prunescale validate sweep", settings={})
PLAN_HELP = " | ".join(f"{name} ({plan.help}{'; needs --steps' if plan.steps == 'required' else ''})"
                       for name, plan in PLANS.items())


def sweep_cmd(
    results: Path = RESULTS_OPTION,
    plan: str = typer.Option("default", "--plan", help=PLAN_HELP + "."),
    steps: int = typer.Option(
        None, "--steps", help="Optimiser steps of every run, for the plans that take a budget (custom: with --budget steps)."
    ),
    metrics: str = typer.Option(None, "--metrics", help="custom plan: comma list of metrics (default el2n)."),
    policies: str = typer.Option(None, "--policies", help="custom plan: comma list of policies (default random,hard,easy)."),
    pool_sizes: str = typer.Option(None, "--pool-sizes", help="custom plan: comma list of pool sizes (default 10000)."),
    keep_fractions: str = typer.Option(
        None, "--keep-fractions", help="custom plan: keep fractions (default 1,0.8,0.6,0.4,0.3,0.2,0.1)."
    ),
    seeds: int = typer.Option(None, "--seeds", help="custom plan: seeds 0..n-1, n >= 1 (default 2)."),
    config: str = typer.Option(None, "--config", help="custom plan: training config (default | sweep | toy; default sweep)."),
    budget: str = typer.Option(
        None, "--budget", help="custom plan: budget rule (epochs | steps | full_data; default epochs), the same for every run."
    ),
    epochs: float = typer.Option(
        None, "--epochs", help="custom plan: passes over the subset (epochs rule) or the full pool (full_data rule)."
    ),
    metric_options: str = typer.Option(
        None, "--metric-options", help='custom plan: the metrics\' options as JSON, e.g. \'{"inits": 8}\'.'
    ),
    scheduler: str = typer.Option(None, "--scheduler", help="Address of an existing Dask scheduler (default: a LocalCluster)."),
    workers: int = typer.Option(1, "--workers", help="LocalCluster worker processes, >= 1."),
    serial: bool = typer.Option(
        False, "--serial", help="Run the jobs one after another in this process, without Dask (a borrowed GPU)."
    ),
    deadline: float = typer.Option(None, "--deadline", help="With --serial: seconds after which no job starts."),
    csv: Path = typer.Option(None, "--csv", help="Where to write the table of the plan's finished runs (default RESULTS/runs.csv)."),
    refresh_committed: bool = REFRESH_COMMITTED,
    score_cache: Path = typer.Option(
        None, "--score-cache", help="Folder of cached scores (default: the prunescale cache directory's scores/)."
    ),
    data: Path = DATA,
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the plan and what is done, curve by curve; run nothing."),
):
    """Run a pruning sweep (Dask, or --serial); kill it any time and run it again to resume.

    A results folder holds sweeps only: each job is stored under a key of its whole configuration, so plans share a
    folder safely and a rerun resumes."""
    lists = dict(metrics=(metrics, words), policies=(policies, words), pool_sizes=(pool_sizes, ints),
                 keep_fractions=(keep_fractions, floats))
    grid = {name: parse(text, "--" + name.replace("_", "-")) for name, (text, parse) in lists.items() if text is not None}
    given = dict(seeds=seeds, config=config, budget=budget, epochs=epochs, metric_options=metric_options)
    jobs = _plan_jobs(plan, steps, grid | {k: v for k, v in given.items() if v is not None})
    if workers < 1:
        raise ValueError(f"--workers must be at least 1, got {workers}")
    csv = check_output_file(csv or _default_table(plan, results, refresh_committed), "--csv")
    _run_plan(jobs, results, csv, dry_run, serial, deadline, scheduler, workers, data, score_cache)


def _plan_jobs(plan, steps, grid):
    if plan not in PLANS:
        raise ValueError(f"--plan must be one of {', '.join(PLANS)}, got {plan!r}")
    if grid and not PLANS[plan].custom:
        options = ", ".join("--" + k.replace("_", "-") for k in grid)
        raise ValueError(f"{options}: only --plan custom takes the grid options; --plan {plan} fixes its own")
    return PLANS[plan].jobs(plan, steps, **grid)


def _default_table(plan, results, refresh_committed):
    if not refresh_committed:
        return analysis_paths(results, False)["runs"]
    if PLANS[plan].table is None:
        raise ValueError(f"--plan {plan} has no committed table to refresh: drop --refresh-committed, or give --csv")
    from prunescale.figures import DATA as COMMITTED

    return COMMITTED / PLANS[plan].table


def _claim_results(results, dry_run):
    """The one folder rule, where a folder with a job store and no owner record is a sweep's from before the record
    (adopted, except on a dry run, which writes nothing)."""
    from prunescale.store import OWNER_FILE, save_json

    older = (Path(results) / "jobs").is_dir() and not (Path(results) / OWNER_FILE).exists()
    if older and dry_run:
        return
    if older:
        save_json(SWEEP_OWNER, Path(results) / OWNER_FILE)
    claim_output_folder(results, SWEEP_OWNER, "--results", write=not dry_run)


def _run_plan(jobs, results, csv, dry_run, serial, deadline, scheduler, workers, data, score_cache):
    from prunescale.validation import runner
    from prunescale.validation.data import cache_dir
    from prunescale.validation.jobs import pending
    from prunescale.validation.table import check_table

    _claim_results(results, dry_run)
    check_table(csv, jobs)  # before the dry run too: say now that this --csv would be refused
    typer.echo(f"{len(jobs)} jobs, {len(pending(jobs, results))} to run; results in {results}")
    if dry_run:
        table = runner.progress(jobs, results)
        typer.echo(table.to_string(index=False))
        typer.echo(f"images left to train (steps x batch over pending jobs, scoring not counted): {table.images_left.sum()}")
        return
    common = dict(data_path=data, score_cache=score_cache or cache_dir() / "scores", csv=csv)
    try:
        if serial:
            frame = runner.run_serial(jobs, results, deadline=deadline, **common)
        else:
            frame = runner.run_sweep(jobs, results, scheduler=scheduler, workers=workers, **common)
    except runner.SweepFailed as exc:
        typer.echo(f"wrote {csv} (the finished runs)", err=True)
        raise ValueError(str(exc)) from None
    typer.echo(f"wrote {csv} ({len(frame)} runs)")
