"""``prunescale demo``: the project's question answered end to end, in minutes.

1. Theory: the best policy and keep fraction for a few pool sizes and metric
   qualities, and the error that results (against keeping everything).
2. Simulation: teacher-student runs at those optimal choices, with the
   theory's prediction, the simulated mean +- standard error, and z.
3. Figures: theory, simulation against theory, and the CIFAR-10 results,
   drawn from the committed records in ``figures/data/`` (when they exist).
4. A Markdown report with the tables and figures in the output folder.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import NamedTuple

from prunescale import theory
from prunescale.figures import DATA
from prunescale.store import atomic_write, claim_output_folder

from .options import table

POOLS = (2.0, 5.0, 20.0, 100.0, 1000.0)
THETAS = (0.0, 10.0, 30.0)
TIE_TOLERANCE = 1e-3  # relative: a smaller keep fraction within this of the best error is chosen (it costs less)


class Sizes(NamedTuple):
    pools: tuple  # pool sizes alpha_tot of the theory table
    thetas: tuple  # metric angles (degrees)
    N: int  # the simulation's dimension
    seeds: int
    sim_pools: tuple  # the pools simulated


SIZES = {
    "quick": Sizes((2.0, 5.0, 20.0, 1000.0), (0.0, 10.0), 100, 8, (5.0, 20.0)),
    "full": Sizes(POOLS, THETAS, 200, 24, POOLS),
}
CIFAR_RUNS = DATA / "cifar10_runs.csv"  # the committed table, shipped with the package


def theory_table(pools=POOLS, thetas=THETAS, progress=None):
    rows = []
    for theta in thetas:
        for pool in pools:
            ch = theory.optimal_keep_fraction(pool, theta, rtol=TIE_TOLERANCE)
            rows.append(
                dict(
                    alpha_tot=pool,
                    theta=theta,
                    policy=ch.policy,
                    keep_fraction=ch.keep_fraction,
                    error=ch.error,
                    full_error=ch.full_error,
                    saved=1.0 - ch.keep_fraction,
                )
            )
            if progress:
                progress.update(1)
    return rows


def simulation_table(rows, N, seeds, progress=None):
    """Simulate the optimal choice and keeping everything, for each theory row."""
    from prunescale.sim import compare_with_theory, simulate

    out = []
    for r in rows:
        res = simulate(N, r["alpha_tot"], [r["keep_fraction"], 1.0], r["theta"], r["policy"], seeds)
        cmp = compare_with_theory(res)
        out.append(
            dict(
                alpha_tot=r["alpha_tot"],
                theta=r["theta"],
                policy=r["policy"],
                keep_fraction=r["keep_fraction"],
                N=N,
                seeds=seeds,
                kept=int(res.kept[0]),
                theory=float(cmp.theory[0]),
                sim_mean=float(cmp.sim_mean[0]),
                sim_se=float(cmp.sim_se[0]),
                z=float(cmp.z[0]),
                theory_full=float(cmp.theory[1]),
                sim_full=float(cmp.sim_mean[1]),
                sim_full_se=float(cmp.sim_se[1]),
            )
        )
        if progress:
            progress.update(1)
    return out


def _markdown_table(rows, columns):
    head = "| " + " | ".join(name for name, _ in columns) + " |"
    rule = "|" + "---|" * len(columns)
    body = ["| " + " | ".join(fmt(r) for _, fmt in columns) + " |" for r in rows]
    return "\n".join([head, rule, *body])


THEORY_COLUMNS = [
    ("pool alpha_tot", lambda r: f"{r['alpha_tot']:g}"),
    ("metric angle", lambda r: f"{r['theta']:g} deg"),
    ("best policy", lambda r: f"keep {r['policy']}"),
    ("keep fraction f*", lambda r: f"{r['keep_fraction']:.3g}"),
    ("error at f*", lambda r: f"{r['error']:.4g}"),
    ("error keeping all", lambda r: f"{r['full_error']:.4g}"),
]
SIM_COLUMNS = [
    ("pool", lambda r: f"{r['alpha_tot']:g}"),
    ("angle", lambda r: f"{r['theta']:g}"),
    ("choice", lambda r: f"keep {r['policy']} f={r['keep_fraction']:.3g}"),
    ("theory", lambda r: f"{r['theory']:.4f}"),
    ("simulation", lambda r: f"{r['sim_mean']:.4f} +- {r['sim_se']:.4f}"),
    ("z", lambda r: f"{r['z']:+.1f}"),
    ("keep all: theory / sim", lambda r: f"{r['theory_full']:.4f} / {r['sim_full']:.4f}"),
]


class DemoStepError(RuntimeError):
    """A demo step failed; the message names the step."""


def _step(name):
    """Re-raise any failure inside a step with the step's name."""
    import contextlib

    @contextlib.contextmanager
    def guard():
        try:
            yield
        except Exception as exc:
            raise DemoStepError(f"demo step {name} failed: {exc}") from exc

    return guard()


def run(out=Path("prunescale-report"), full=False, progress=True, echo=print):
    """Run the demo; return the path of the report."""
    from tqdm.auto import tqdm

    started = time.time()
    pools, thetas, N, seeds, sim_pools = SIZES["full" if full else "quick"]
    out = claim_output_folder(out, dict(command="prunescale demo", settings=dict(full=full, sizes=list(SIZES["full" if full else "quick"]))))

    echo("1/4 theory: the best keep fraction for each pool and metric quality")
    with _step("1/4 (theory)"), tqdm(total=len(pools) * len(thetas), desc="theory", disable=not progress) as bar:
        rows = theory_table(pools, thetas, bar)
    tie = f"a tie: within {TIE_TOLERANCE:g} relative of keeping everything, and cheaper"
    shown = [r | dict(note=tie if r["keep_fraction"] < 1 and r["error"] > r["full_error"] else "") for r in rows]
    columns = [("alpha_tot", "pool (N)", "g"), ("theta", "metric angle (deg)", "g"), ("policy", "keep", ""),
               ("keep_fraction", "f*", ".3g"), ("error", "error at f*", ".4g"), ("full_error", "all data", ".4g"),
               ("note", "", "")]
    for line in table(shown, columns):
        echo("  " + line)

    echo(f"2/4 simulation: N = {N}, {seeds} seeds, at the optimal choices")
    chosen = [r for r in rows if r["alpha_tot"] in sim_pools and r["alpha_tot"] * r["keep_fraction"] * N >= 20]
    with _step("2/4 (simulation)"), tqdm(total=len(chosen), desc="simulation", disable=not progress) as bar:
        sims = simulation_table(chosen, N, seeds, bar)
    for s in sims:
        echo(
            f"  pool {s['alpha_tot']:g}, {s['theta']:g} deg, keep {s['policy']} f={s['keep_fraction']:.3g}: theory {s['theory']:.4f},"
            f" simulation {s['sim_mean']:.4f} +- {s['sim_se']:.4f} (z = {s['z']:+.1f})"
        )
    agree = sum(abs(s["z"]) < 3 for s in sims)
    echo(f"  {agree} of {len(sims)} within 3 standard errors (finite N = {N} shifts the simulation slightly)")

    echo("3/4 figures")
    with _step("3/4 (figures)"):
        figures = _figures(out, sims)
    for f in figures:
        echo(f"  {out / f}")

    echo("4/4 report")
    report = out / "report.md"
    with _step("4/4 (report)"):
        atomic_write(report, _report(rows, sims, figures, N, seeds, time.time() - started))
        atomic_write(out / "results.json", json.dumps(dict(theory=rows, simulation=sims), indent=1))
    echo(f"report: {report.resolve()}")
    return report


def _figures(out, sims):
    from prunescale.figures import check_figure, load_record, sim_figure, theory_figure

    made = [
        check_figure.draw(sims, out / "check.png").name,
        theory_figure.draw(load_record(theory_figure.DATA), out / "theory.png").name,
        sim_figure.draw(load_record(sim_figure.DATA), out / "sim.png").name,
    ]
    if CIFAR_RUNS.exists():
        from prunescale.figures import cifar_figure

        made.append(cifar_figure.draw(cifar_figure.compute(), out / "cifar10.png").name)
    return made


def _sim_record():
    from prunescale.figures import load_record, sim_figure

    return load_record(sim_figure.DATA)


def _report(rows, sims, figures, N, seeds, seconds):
    cifar = (
        "![CIFAR-10](cifar10.png)"
        if "cifar10.png" in figures
        else "No CIFAR-10 results are committed yet (`figures/data/cifar10_runs.csv`); "
        "see `prunescale validate --help` to produce them."
    )
    return f"""# prunescale report

*Can we prune training data without hurting the model, and beat power-law scaling by doing so?*

## 1. Theory: how much to keep

The teacher-student perceptron (replica theory). A pool of `alpha_tot * N` examples is ranked by a metric
at angle `theta` to the truth (0 = perfect); we keep a fraction `f` of it. The best choice is the
smallest `f` whose error is within 0.1% of the best possible for that pool. Keeping everything (`f = 1`) is
always a candidate, so `f*` never costs more than 0.1% of error against it (where nothing beats the whole pool,
`f*` is the cheapest set that matches it to 0.1%).

{_markdown_table(rows, THEORY_COLUMNS)}

With little data, keep the easy examples; with much, keep the hard ones. A perfect metric lets a large
pool be pruned to a few percent without loss; an imperfect metric limits how far pruning helps.

## 2. Simulation confirms it

Teacher-student simulations at N = {N} with {seeds} seeds per point, the max-margin student solved
exactly; z = (simulation - theory) / standard error.

{_markdown_table(sims, SIM_COLUMNS)}

## 3. Figures

This run's own simulations against the theory, at the choices above:

![this run's check](check.png)

The paper's figures, drawn from the committed records in `figures/data/` (the simulation figure: N =
{_sim_record()['N']}, {_sim_record()['seeds']} seeds per point, more than this quick run):

![theory](theory.png)

![simulation](sim.png)

{cifar}

---
Made by `prunescale demo` in {seconds:.0f} s. Every number here can be recomputed with the commands in
the README; `docs/tutorial.md` explains the argument step by step.
"""
