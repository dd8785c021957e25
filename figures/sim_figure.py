"""The paper's simulation figure: teacher-student simulations on the theory curves.

``compute()`` simulates every point and returns a record; ``draw(record, out)``
draws it.  The committed record is ``figures/data/sim_figure.json``;
``prunescale sim figure`` draws it (``--recompute`` simulates again, ``--quick``
with fewer seeds and points, ``--refresh-committed`` updates the committed files).

Panels
  A-D  test error against alpha_prune (kept examples per dimension) for keep
       fractions f, keep hard and keep easy, perfect metric (theta = 0) and
       an imperfect one (theta = 10 degrees): replica theory (lines) and the
       simulation at N = 200 (points, mean +- standard error over seeds).
  E    the finite-size trend: |simulation - theory| shrinks as N grows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from prunescale import theory

from . import DATA as DATA_DIR, FOLDER, house_style
from . import save_png_and_pdf

DATA = DATA_DIR / "sim_figure.json"
FIGURE = FOLDER / "sim.png"
N = 200
ALPHA_PRUNE = [1.0, 2.0, 3.0, 4.0, 6.0]
FRACTIONS = [1.0, 0.5, 0.2]
PANELS = [(0.0, "hard"), (0.0, "easy"), (10.0, "hard"), (10.0, "easy")]
TREND = dict(
    alpha_tot=10.0, keep_fraction=0.2, theta=0.0, policy="hard", N=[50, 100, 200, 400]
)  # at the threshold alpha_prune = 2, where finite N matters most


def compute(quick=False, progress=True):
    """Simulate every point the figure shows; return a JSON-ready dict."""
    from prunescale.sim import compare_with_theory, simulate

    seeds = 6 if quick else 16
    alphas = ALPHA_PRUNE[::2] if quick else ALPHA_PRUNE
    record = {"quick": quick, "N": N, "seeds": seeds, "panels": {}}
    for theta, policy in PANELS:
        rows = {}
        for f in FRACTIONS:
            res = simulate(N, [a / f for a in alphas], f, theta, policy, seeds, progress=progress)
            cmp = compare_with_theory(res)
            rows[str(f)] = {
                "alpha_prune": res.alpha_prune.values.tolist(),
                "sim_mean": cmp.sim_mean.values.tolist(),
                "sim_se": cmp.sim_se.values.tolist(),
                "theory_at_points": cmp.theory.values.tolist(),
            }
        record["panels"][f"{theta}-{policy}"] = rows
    trend_seeds = 12 if quick else 96
    res = simulate(
        TREND["N"],
        TREND["alpha_tot"],
        TREND["keep_fraction"],
        TREND["theta"],
        TREND["policy"],
        trend_seeds,
        progress=progress,
    )
    cmp = compare_with_theory(res)
    record["trend"] = dict(
        TREND,
        seeds=trend_seeds,
        sim_mean=cmp.sim_mean.values.tolist(),
        sim_se=cmp.sim_se.values.tolist(),
        theory=float(cmp.theory.values[-1]),
    )
    return record


@house_style
def draw(record, out):
    """Draw ``record`` (from :func:`compute`) to ``out`` (PNG) and a PDF beside it; write nothing else."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure  # a Figure of its own: no pyplot, no backend switch, no global state

    fig = Figure(figsize=(12, 7.6), constrained_layout=True)
    axes = fig.subplots(2, 3).ravel()  # four theory panels and the finite-size trend, in a grid; the last cell is empty
    axes[5].set_visible(False)
    grid = np.geomspace(0.8, 7.0, 60)
    colors = colormaps["viridis"](np.linspace(0, 0.85, len(FRACTIONS)))
    for ax, (theta, policy) in zip(axes, PANELS):
        rows = record["panels"][f"{theta}-{policy}"]
        for color, f in zip(colors, FRACTIONS):
            ax.plot(grid, theory.test_error(grid, f, theta, policy), color=color, lw=1.4, label=f"f = {f:g}")
            r = rows[str(f)]
            ax.errorbar(r["alpha_prune"], r["sim_mean"], yerr=r["sim_se"], fmt="o", ms=3.5, color=color, capsize=2)
        ax.set(xlabel=r"$\alpha_{prune}$", ylabel="test error", yscale="log")
        metric = "perfect metric" if theta == 0 else rf"$\theta$ = {theta:g}°"
        ax.set_title(f"keep {policy}, {metric}")
    axes[0].legend(frameon=False, fontsize=8, title=f"theory (lines), N = {record['N']} (points)", title_fontsize=7)
    t = record["trend"]
    ax = axes[4]
    gap = np.abs(np.array(t["sim_mean"]) - t["theory"])
    ax.errorbar(t["N"], gap, yerr=t["sim_se"], fmt="o-", color="crimson", capsize=2)
    ax.set(xscale="log", yscale="log", xlabel="N (input dimension)", ylabel="|simulation - theory|")
    ax.set_xticks(t["N"], [f"{n:g}" for n in t["N"]])  # the sizes simulated, not log-axis minor labels that collide
    ax.minorticks_off()
    ax.set_title(
        rf"finite size: $\alpha_{{tot}}$={t['alpha_tot']:g}, f={t['keep_fraction']:g}, keep {t['policy']}", fontsize=8
    )
    fig.suptitle(
        f"Teacher-student simulation (max-margin student, {record['seeds']} seeds per point) against replica theory",
        fontsize=10,
    )
    save_png_and_pdf(fig, out, dpi=160)
    return Path(out)
