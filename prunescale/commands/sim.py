"""``prunescale sim ...``: teacher-student simulations from the command line."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import typer

from prunescale.store import atomic_write, claim_output_folder, save_json

from ..options import JSON, REFRESH_COMMITTED, emit, floats, ints, words

app = typer.Typer(rich_markup_mode=None, 
    help="Teacher-student simulations: prune a Gaussian pool, train the max-margin student, compare with theory.",
    no_args_is_help=True,
)

SOLVER = typer.Option(
    None,
    "--solver",
    help="jax (batched Lawson-Hanson, for GPUs), active-set (support-set solver, fastest on CPU) or nnls (the scipy baseline); default by backend.",
)
SEEDS = typer.Option(16, "--seeds", help="Number of seeds (0..n-1), >= 1; more seeds, smaller error bars.")


@app.command("run")
def run_cmd(
    N: int = typer.Option(200, "--N", help="Input dimension, >= 1."),
    alpha_tot: float = typer.Option(4.0, "--alpha-tot", help="Pool size per dimension, > 0."),
    keep_fraction: float = typer.Option(0.5, "--keep-fraction", help="Fraction of the pool kept, in (0, 1]."),
    theta: float = typer.Option(0.0, "--theta", help="Metric-teacher angle in degrees, [0, 90]."),
    policy: str = typer.Option("hard", "--policy", help="hard | easy | random."),
    seeds: int = SEEDS,
    solver: str = SOLVER,
    as_json: bool = JSON,
):
    """One grid point: mean test error over seeds, its standard error, and the theory value."""
    from prunescale.sim import compare_with_theory, simulate

    res = simulate(N, alpha_tot, keep_fraction, theta, policy, seeds, solver=solver)
    cmp = compare_with_theory(res)
    record = dict(
        N=N,
        alpha_tot=alpha_tot,
        keep_fraction=keep_fraction,
        theta=theta,
        policy=policy,
        seeds=seeds,
        kept=int(res.kept[0]),
        alpha_prune=float(res.alpha_prune[0]),
        error_mean=float(cmp.sim_mean[0]),
        error_se=float(cmp.sim_se[0]),
        theory=float(cmp.theory[0]),
        z=None if np.isnan(cmp.z[0]) else float(cmp.z[0]),  # JSON has no NaN: null where z is undefined
        errors=res.error.values[0].tolist(),
        reference_solves=int(res.reference.sum()),
    )
    lines = [
        f"N={N} pool={int(res.pool[0])} kept={record['kept']} (alpha_prune={record['alpha_prune']:.4g}) "
        f"theta={theta} policy={policy}, {seeds} seeds",
        f"simulated error  {record['error_mean']:.5f} +- {record['error_se']:.5f} (standard error)",
        f"theory (N=inf)   {record['theory']:.5f}    "
        + ("z = n/a (the seeds give no spread)" if record["z"] is None else f"z = {record['z']:+.2f}"),
        "per-seed errors  " + " ".join(f"{e:.4f}" for e in record["errors"]),
    ]
    emit(record, as_json, lines)


@app.command("grid")
def grid_cmd(
    out: Path = typer.Option(..., "--out", help="Output folder: results.csv, results.json, and a cache for resuming."),
    N: str = typer.Option("200", "--N", help="Comma list of input dimensions."),
    alpha_tot: str = typer.Option("4", "--alpha-tot", help="Comma list of pool sizes per dimension."),
    keep_fraction: str = typer.Option("0.1,0.25,0.5,1", "--keep-fraction", help="Comma list of keep fractions."),
    theta: str = typer.Option("0", "--theta", help="Comma list of metric angles, degrees."),
    policy: str = typer.Option("hard,easy", "--policy", help="Comma list of policies."),
    seeds: int = SEEDS,
    solver: str = SOLVER,
    as_json: bool = JSON,
):
    """A grid (all combinations) with theory comparison, written to OUT; a stopped grid resumes."""
    from prunescale.sim import compare_with_theory, simulate

    grid = dict(N=ints(N, "--N"), alpha_tot=floats(alpha_tot, "--alpha-tot"), keep_fraction=floats(keep_fraction, "--keep-fraction"),
                theta=floats(theta, "--theta"), policy=words(policy, "--policy"), seeds=seeds, solver=solver)
    claim_output_folder(out, dict(command="prunescale sim grid", settings=grid))
    started = time.time()
    res = simulate(grid["N"], grid["alpha_tot"], grid["keep_fraction"], grid["theta"], grid["policy"], seeds,
                   solver=solver, cache_dir=out / "cache", progress=True)
    table = compare_with_theory(res).to_dataframe().reset_index()[GRID_COLUMNS]
    meta = _write_grid(out, res, table, seeds, round(time.time() - started, 1))
    lines = [
        table.to_string(index=False, float_format=lambda x: f"{x:.4g}"),
        f"wrote {out / 'results.csv'} and {out / 'results.json'}",
    ]
    emit(dict(meta, results=json.loads(table.to_json(orient="records"))), as_json, lines)


GRID_COLUMNS = ["N", "alpha_tot", "keep_fraction", "theta", "policy", "pool", "kept", "alpha_prune", "sim_mean", "sim_se",
                "theory", "z"]


def _write_grid(out, res, table, seeds, seconds):
    """The summary, the per-seed table and the description of both; returns the description."""
    atomic_write(out / "results.csv", table.to_csv(index=False, float_format="%.8g"))
    per_seed = res[["error", "R", "rho", "kappa", "gap", "reference"]].to_dataframe().reset_index()
    atomic_write(out / "results_per_seed.csv", per_seed.to_csv(index=False, float_format="%.10g"))
    meta = dict(
        command="prunescale sim grid",
        seeds=seeds,
        points=int(res.sizes["point"]),
        reference_solves=int(res.reference.sum()),
        seconds=seconds,
        files=dict(summary="results.csv", per_seed="results_per_seed.csv"),
        columns=dict(
            sim_mean="mean test error arccos(R)/pi over seeds",
            sim_se="standard error of the mean",
            theory="replica-theory error at alpha_prune = kept/N and f = kept/pool",
            z="(sim_mean - theory) / sim_se",
        ),
        **res.attrs,
    )
    save_json(meta, out / "results.json")
    return meta


@app.command("figure")
def figure_cmd(
    out: Path = typer.Option(None, "--out", help="PNG to write, a PDF beside it (default results/figures/sim.png)."),
    recompute: bool = typer.Option(False, "--recompute", help="Simulate again instead of drawing the committed numbers."),
    quick: bool = typer.Option(False, "--quick", help="With --recompute: fewer seeds and points, for a fast preview."),
    refresh_committed: bool = REFRESH_COMMITTED,
):
    """Draw the simulation figure: simulated errors on the theory curves, and the finite-size trend."""
    from prunescale.figures import sim_figure

    from ..figure_files import draw_figure

    for path in draw_figure(sim_figure, "sim", out, recompute, quick, refresh_committed):
        typer.echo(f"wrote {path}")
