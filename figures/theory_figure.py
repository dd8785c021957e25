"""The paper's theory figure, drawn from the replica theory.

``compute()`` solves every number the figure shows and returns a record;
``draw(record, out)`` draws it.  The committed record is
``figures/data/theory_figure.json``; ``prunescale theory figure`` draws it
(``--recompute`` solves again, ``--refresh-committed`` updates the committed files).

Panels
  A  error vs alpha_prune at fixed keep fraction f, keep hard (solid) and
     keep easy (dashed), perfect metric; the random power law and the
     frontier for a pool of at most ``MAX_POOL``.
  B  error vs keep fraction at fixed pool alpha_tot (the paper's other view).
  C  the easy/hard crossover in the (alpha_tot, f) plane.
  D  the frontier for theta = 0, 10, 20, 30 degrees against the power law.
  E  the optimal keep fraction f_opt(alpha_tot) of a fixed pool (the cheapest
     f within 0.1% of the best error, either policy) for theta = 0, 10, 20,
     30 degrees, and each metric's floor f_min(theta) (dashed).
  F  the scale-invariant excess c(alpha_prune) of keep-hard pruning (sympy
     limit and the solver at f = 1e-9), diverging at the capacity 2.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from prunescale import theory

from . import DATA as DATA_DIR, FOLDER, WINNER_MAP, house_style
from . import draw_panels

DATA = DATA_DIR / "theory_figure.json"
FIGURE = FOLDER / "theory.png"
MAX_POOL = 1e3
FRACTIONS = [1.0, 0.8, 0.6, 0.4, 0.2, 0.1]
POOLS = [2.0, 5.0, 20.0, 100.0, 1000.0]
THETAS = [0.0, 10.0, 20.0, 30.0]
F_OPT_RTOL = 1e-3  # optimal_keep_fraction's tie tolerance, used for its floor too


def compute(quick=False, progress=True):
    """All the numbers the figure shows, as a JSON-ready dict."""
    from tqdm import tqdm

    n = 16 if quick else 60
    alpha = np.geomspace(0.3, 30, n)
    out = {"max_pool": MAX_POOL, "alpha_prune": alpha.tolist(), "quick": quick}
    out["fixed_f"] = {
        policy: {str(f): theory.test_error(alpha, f, 0.0, policy).tolist() for f in FRACTIONS}
        for policy in ("hard", "easy")
    }
    out["random"] = theory.test_error(alpha, 1.0).tolist()
    keep = np.geomspace(1e-3, 1.0, n)
    out["fixed_pool"] = {
        "keep_fraction": keep.tolist(),
        **{
            policy: {str(p): theory.test_error(p * keep, keep, 0.0, policy).tolist() for p in POOLS}
            for policy in ("hard", "easy")
        },
    }
    c_alpha = np.geomspace(2.05, 8.0, 10 if quick else 30)
    out["excess"] = {
        "alpha_prune": c_alpha.tolist(),
        "sympy": theory.hard_pruning_excess(c_alpha).tolist(),
        "solver": (theory.test_error(c_alpha, 1e-9) / theory.test_error(c_alpha / 1e-9, 1.0)).tolist(),
    }
    at = np.geomspace(0.5, 200, 12 if quick else 40)
    ff = np.geomspace(0.02, 1.0, 12 if quick else 40)
    _, hard, easy = theory.best_policy(at[None, :], ff[:, None])
    out["crossover"] = {
        "alpha_tot": at.tolist(),
        "keep_fraction": ff.tolist(),
        "hard": hard.tolist(),
        "easy": easy.tolist(),
    }
    front_alpha = np.geomspace(2.2, 30, 5 if quick else 12)
    out["frontier"] = {}
    for th in tqdm(THETAS, desc="frontier per theta", disable=not progress):
        pool = MAX_POOL if th == 0 else None
        a = front_alpha if th == 0 else np.geomspace(1.0, 1000, 4 if quick else 10)
        fr = theory.pareto_frontier(a, th, "hard", max_pool=pool)
        out["frontier"][str(th)] = {
            "alpha_prune": fr.alpha_prune.tolist(),
            "keep_fraction": fr.keep_fraction.tolist(),
            "alpha_tot": fr.alpha_tot.tolist(),
            "error": fr.error.tolist(),
        }
    pools = np.geomspace(1.0, 1e4, 6 if quick else 17)
    out["f_opt"] = {"alpha_tot": pools.tolist(), "rtol": F_OPT_RTOL}
    for th in tqdm(THETAS, desc="f_opt per theta", disable=not progress):
        choices = [theory.optimal_keep_fraction(p, th, rtol=F_OPT_RTOL) for p in pools]
        out["f_opt"][str(th)] = {
            "keep_fraction": [c.keep_fraction for c in choices],
            "policy": [c.policy for c in choices],
            "floor": theory.keep_fraction_floor(th, tolerance=F_OPT_RTOL),
        }
    return out


def _perfect_metric_panel(ax, record):
    from matplotlib import colormaps

    a = np.array(record["alpha_prune"])
    colors = colormaps["viridis"](np.linspace(0, 0.9, len(FRACTIONS)))
    for color, f in zip(colors, FRACTIONS):
        ax.loglog(a, record["fixed_f"]["hard"][str(f)], color=color, lw=1.4, label=f"f = {f:g}")
        ax.loglog(a, record["fixed_f"]["easy"][str(f)], color=color, lw=1.2, ls="--")
    ax.loglog(a, record["random"], color="k", lw=1.0, ls=":", label="random (power law)")
    fr0 = record["frontier"]["0.0"]
    ax.loglog(
        fr0["alpha_prune"], fr0["error"], color="crimson", lw=2.2, label=f"frontier, pool <= {record['max_pool']:g}N"
    )
    ax.set(xlabel=r"$\alpha_{prune}$ (kept examples per dimension)", ylabel="test error")
    ax.set_title("A. Perfect metric: keep hard (solid), easy (dashed)")
    ax.legend(fontsize=7, frameon=False, loc="lower left")


def _fixed_pool_panel(ax, record):
    from matplotlib import colormaps

    fp = record["fixed_pool"]
    keep = np.array(fp["keep_fraction"])
    colors = colormaps["cividis"](np.linspace(0, 0.9, len(POOLS)))
    for color, p in zip(colors, POOLS):
        ax.loglog(keep, fp["hard"][str(p)], color=color, lw=1.4, label=rf"$\alpha_{{tot}}$ = {p:g}")
        ax.loglog(keep, fp["easy"][str(p)], color=color, lw=1.2, ls="--")
    ax.set(xlabel="keep fraction f", ylabel="test error", title="B. Fixed pool: hard (solid), easy (dashed)")
    ax.legend(fontsize=7, frameon=False)


def _crossover_panel(ax, record):
    from matplotlib.colors import TwoSlopeNorm

    cr = record["crossover"]
    at, ff = np.array(cr["alpha_tot"]), np.array(cr["keep_fraction"])
    ratio = np.log10(np.array(cr["easy"]) / np.array(cr["hard"]))
    lim = np.nanmax(np.abs(ratio))
    mesh = ax.pcolormesh(at, ff, ratio, cmap=WINNER_MAP, norm=TwoSlopeNorm(0.0, -lim, lim), shading="nearest")
    ax.contour(at, ff[ff < 0.95], ratio[ff < 0.95], levels=[0.0], colors="k", linewidths=1.5)
    ax.set(xscale="log", yscale="log", xlabel=r"$\alpha_{tot}$ (pool per dimension)", ylabel="keep fraction f")
    ax.set_title("C. Crossover: keep hard wins (blue), keep easy (red)")
    ax.figure.colorbar(mesh, ax=ax, label=r"$\log_{10}$ (error easy / error hard): blue, keep hard wins")


def _theta_colors():
    from matplotlib import colormaps

    return colormaps["plasma"](np.linspace(0, 0.8, len(THETAS)))


def _frontier_panel(ax, record):
    ax.loglog(record["alpha_prune"], record["random"], color="k", lw=1.0, ls=":", label="random (power law)")
    for color, th in zip(_theta_colors(), THETAS):
        fr = record["frontier"][str(th)]
        lab = rf"$\theta$ = {th:g}$^\circ$" + (f" (pool <= {record['max_pool']:g}N)" if th == 0 else "")
        ax.loglog(fr["alpha_prune"], fr["error"], "o-", ms=3, color=color, label=lab)
    big = np.geomspace(30, 1000, 10)
    ax.loglog(big, 0.5005 / big, color="k", lw=1.0, ls=":")
    ax.set(xlabel=r"$\alpha_{prune}$", ylabel="frontier test error", title="D. Frontier: imperfect metrics vs the power law")
    ax.legend(fontsize=7, frameon=False)


def _optimal_keep_fraction_panel(ax, record):
    fo = record["f_opt"]
    pools = np.array(fo["alpha_tot"])
    for color, th in zip(_theta_colors(), THETAS):
        row = fo[str(th)]
        f_opt, easy = np.array(row["keep_fraction"]), np.array(row["policy"]) == "easy"
        ax.loglog(pools, f_opt, "-", color=color, lw=1.4, label=rf"$\theta$ = {th:g}$^\circ$")
        ax.loglog(pools[easy], f_opt[easy], "o", ms=4, mfc="white", color=color)
        ax.loglog(pools[~easy], f_opt[~easy], "o", ms=3, color=color)
        if row["floor"] > 0:
            ax.axhline(row["floor"], color=color, lw=1.0, ls="--")
    ax.set(
        xlabel=r"$\alpha_{tot}$ (pool per dimension)",
        ylabel=r"$f_{opt}$ (open: keep easy, filled: keep hard)",
        title=r"E. Optimal keep fraction $f_{opt}(\alpha_{tot})$, floors $f_{min}(\theta)$ dashed",
    )
    ax.legend(fontsize=7, frameon=False, loc="lower left")


def _excess_panel(ax, record):
    ex = record["excess"]
    ax.semilogy(ex["alpha_prune"], np.array(ex["sympy"]) - 1, color="k", lw=1.5, label="sympy limit (f -> 0)")
    ax.semilogy(ex["alpha_prune"], np.array(ex["solver"]) - 1, "o", ms=3, color="crimson", label="solver at f = 1e-9")
    ax.axvline(2.0, color="gray", ls="--", lw=1)
    ax.text(2.05, 1e-6, "capacity 2", fontsize=7, color="gray")
    ax.set(
        xlabel=r"$\alpha_{prune}$",
        ylabel=r"$c(\alpha_{prune}) - 1$",
        title="F. Keep hard, huge pool: error = c x error(whole pool)",
    )
    ax.legend(fontsize=7, frameon=False)


PANELS = (_perfect_metric_panel, _fixed_pool_panel, _crossover_panel, _frontier_panel, _optimal_keep_fraction_panel,
          _excess_panel)


@house_style
def draw(record, out):
    """Draw ``record`` (from :func:`compute`) to ``out`` (PNG) and a PDF beside it; write nothing else."""
    draw_panels(record, out, PANELS, rows=2, figsize=(14, 8.2), dpi=200, fontsize=10,
                title="Replica theory of data pruning (teacher-student perceptron, max-margin student)")
    return Path(out)
