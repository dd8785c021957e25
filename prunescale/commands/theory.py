"""``prunescale theory ...``: the replica theory from the command line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer

from prunescale import theory

from ..options import JSON, REFRESH_COMMITTED, THETA, emit, floats, table

app = typer.Typer(rich_markup_mode=None, 
    help="Replica theory of data pruning: errors, the Pareto frontier and the best keep fraction.",
    no_args_is_help=True,
)

@app.command("error")
def error_cmd(
    alpha_prune: str = typer.Option(
        ..., "--alpha-prune", help="Kept examples per dimension (comma list allowed), > 0."
    ),
    keep_fraction: str = typer.Option(
        ..., "--keep-fraction", help="Fraction of the pool kept (comma list allowed), in (0, 1]."
    ),
    theta: float = THETA,
    policy: str = typer.Option("hard", "--policy", help="hard | easy | random."),
    as_json: bool = JSON,
):
    """Test error of the max-margin student on a pruned pool."""
    a = np.array(floats(alpha_prune, "--alpha-prune"))
    f = np.array(floats(keep_fraction, "--keep-fraction"))
    res = theory.solve(a[:, None], f[None, :], theta, policy)
    rows = []
    for i, ai in enumerate(a):
        for j, fj in enumerate(f):
            rows.append(
                dict(
                    alpha_prune=ai,
                    keep_fraction=fj,
                    alpha_tot=ai / fj,
                    theta=theta,
                    policy=policy,
                    error=res.error[i, j],
                    R=res.R[i, j],
                    rho=res.rho[i, j],
                    kappa=res.kappa[i, j],
                    converged=bool(res.converged[i, j]),
                )
            )
    columns = [("alpha_prune", "alpha_prune", ".6g"), ("keep_fraction", "f", ".4g"), ("alpha_tot", "alpha_tot", ".6g"),
               ("error", "error", ".8g"), ("R", "R", ".15f")]
    emit(rows, as_json, table(rows, columns))


@app.command("frontier")
def frontier_cmd(
    alpha_prune: str = typer.Option(
        "2.5,3,4,6,10,20", "--alpha-prune", help="Comma list of kept-set sizes per dimension."
    ),
    theta: float = THETA,
    policy: str = typer.Option("hard", "--policy", help="hard | easy."),
    max_pool: float = typer.Option(
        None, "--max-pool", help="Largest pool alpha_tot available (required for theta=0, hard)."
    ),
    as_json: bool = JSON,
):
    """Pareto frontier: the lowest error for each kept-set size, and the keep fraction that reaches it."""
    fr = theory.pareto_frontier(floats(alpha_prune, "--alpha-prune"), theta, policy, max_pool)
    rows = [
        dict(alpha_prune=a, keep_fraction=f, alpha_tot=t, error=e, random_error=r, pool_limited=bool(p))
        for a, f, t, e, r, p in zip(
            fr.alpha_prune, fr.keep_fraction, fr.alpha_tot, fr.error, fr.random_error, fr.pool_limited
        )
    ]
    record = dict(theta=theta, policy=policy, max_pool=max_pool, frontier=rows)
    columns = [("alpha_prune", "alpha_prune", ".6g"), ("keep_fraction", "best f", ".4g"), ("alpha_tot", "alpha_tot", ".4g"),
               ("error", "error", ".4g"), ("random_error", "random", ".4g"), ("limited", "pool-limited", "")]
    emit(record, as_json, table([r | dict(limited="yes" if r["pool_limited"] else "no") for r in rows], columns))


@app.command("optimal")
def optimal_cmd(
    alpha_tot: float = typer.Option(..., "--alpha-tot", help="Pool size per dimension, > 0."),
    theta: float = THETA,
    tolerance: float = typer.Option(
        0.01, "--tolerance", help="Relative error increase that counts as lossless, in (0, 1)."
    ),
    as_json: bool = JSON,
):
    """Best policy and keep fraction for a fixed pool, and how much of it can be pruned without loss."""
    ch = theory.optimal_keep_fraction(alpha_tot, theta)
    ll = theory.lossless_keep_fraction(alpha_tot, theta, tolerance)
    record = dict(
        alpha_tot=alpha_tot,
        theta=theta,
        optimal=dict(policy=ch.policy, keep_fraction=ch.keep_fraction, error=ch.error, best_range=ch.best_range),
        full_error=ch.full_error,
        lossless=dict(
            policy=ll.policy,
            keep_fraction=ll.keep_fraction,
            error=ll.error,
            tolerance=tolerance,
            by_policy=ll.by_policy,
        ),
        floor=theory.keep_fraction_floor(theta, tolerance),
    )
    lines = [
        f"pool alpha_tot = {alpha_tot:g}, metric angle theta = {theta:g} deg",
        f"  whole pool:  error {ch.full_error:.6g}",
        f"  optimal:     keep {ch.policy} f = {ch.keep_fraction:.4g} (alpha_prune = {ch.keep_fraction * alpha_tot:.4g}), error {ch.error:.6g}",
        f"  lossless:    keep {ll.policy} f >= {ll.keep_fraction:.4g} stays within {tolerance:.0%} of the whole pool (error {ll.error:.6g})",
    ]
    if theta > 0:
        lines.append(
            f"  floor:       however large the pool, keeping less than f_min = {record['floor']:.4g} loses more than {tolerance:.0%}"
        )
    emit(record, as_json, lines)


@app.command("budget")
def budget_cmd(
    target_error: float = typer.Option(..., "--target-error", help="Test error to reach, in (0, 0.5)."),
    theta: float = THETA,
    policy: str = typer.Option("hard", "--policy", help="hard | easy."),
    max_pool: float = typer.Option(
        None, "--max-pool", help="Largest pool alpha_tot available (required for theta=0, hard)."
    ),
    as_json: bool = JSON,
):
    """Smallest kept set (examples per dimension) that reaches a target error."""
    a, f = theory.kept_size_for_error(target_error, theta, policy, max_pool)
    record = dict(
        target_error=target_error,
        theta=theta,
        policy=policy,
        max_pool=max_pool,
        alpha_prune=a,
        keep_fraction=f,
        alpha_tot=a / f,
    )
    emit(
        record,
        as_json,
        [
            f"keep alpha_prune = {a:.4g} per dimension (f = {f:.4g} of a pool of {a / f:.4g}) to reach error {target_error:g}"
        ],
    )


@app.command("asymptotics")
def asymptotics_cmd(as_json: bool = JSON):
    """Closed-form limits derived with sympy: the 0.5/alpha law, c(alpha_prune) and the capacity threshold."""
    a = [2.2, 2.5, 3.0, 4.0, 6.0]
    c = theory.hard_pruning_excess(a)
    record = dict(
        no_pruning_coefficient=theory.no_pruning_coefficient(),
        capacity_threshold=float(theory.capacity_threshold()),
        hard_pruning_excess=dict(zip(map(str, a), c.tolist())),
    )
    lines = [
        f"no pruning: alpha * error -> {record['no_pruning_coefficient']:.10f}",
        f"keep hard, f -> 0: error = c(alpha_prune) * error_full(alpha_tot), finite for alpha_prune > {record['capacity_threshold']:g}",
    ] + [f"  c({ai:g}) = {ci:.6f}" for ai, ci in zip(a, c)]
    emit(record, as_json, lines)


@app.command("figure")
def figure_cmd(
    out: Path = typer.Option(
        None, "--out", help="PNG to write, a PDF beside it (default results/figures/theory.png)."
    ),
    recompute: bool = typer.Option(
        False, "--recompute", help="Solve everything again instead of drawing the committed numbers."
    ),
    quick: bool = typer.Option(False, "--quick", help="With --recompute: coarser grids, for a fast preview."),
    refresh_committed: bool = REFRESH_COMMITTED,
):
    """Draw the paper's theory figure (error curves, frontier, crossover map, imperfect metric)."""
    from prunescale.figures import theory_figure

    from ..figure_files import draw_figure

    for path in draw_figure(theory_figure, "theory", out, recompute, quick, refresh_committed):
        typer.echo(f"wrote {path}")
