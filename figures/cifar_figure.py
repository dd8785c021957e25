"""CIFAR-10: scaling with pruning (with fits), the easy/hard crossover, and theory versus CIFAR.

Drawn from ``figures/data/cifar10_runs.csv`` (``prunescale validate sweep`` writes it) by
``prunescale validate figure``, with the fits of ``prunescale validate fit`` and the calibration of
``prunescale validate calibrate`` where those were made from the same table (same number of runs).
The caption states the scale: model, budget rule, epochs, seeds.

Panels
  A  test error against examples kept (log-log) for every curve of the largest pool, each with its
     best law by AIC (thin line).
  B  test error against keep fraction for keep-hard and keep-easy, in every pool, for the metrics
     run on more than one pool (experiment B): which policy wins with little data and with much.
  C  the calibrated theory, ``A * eps(n / d, f, theta, policy)`` with each curve's fitted theta,
     against the runs of the largest calibrated pool.

Colour names the metric (grey: random pruning), line style the policy, in every panel.  A fitted
line that misses its points (chi-square beyond its 1% tail) is drawn faint, and its legend entry
says so with its chi2/dof.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from . import DATA, FOLDER, house_style, save_png_and_pdf

FIGURE = FOLDER / "cifar10.png"
LAW_NAMES = {"power": "power law", "exponential": "exponential", "broken": "broken power law"}
RUNS = DATA / "cifar10_runs.csv"
FITS = DATA / "cifar10_fits.json"
CALIBRATION = DATA / "cifar10_calibration.json"
STYLES = {"random": ":", "hard": "-", "easy": "--"}
MARKERS = {"random": "o", "hard": "o", "easy": "s"}
METRIC_ORDER = ("el2n", "forgetting", "prototypes", "grand", "memorization", "influence")
POOL_COLORS = ("tab:purple", "tab:olive", "tab:cyan", "tab:pink")


def _metric_color(metric):
    if metric == "random":
        return "0.35"
    known = METRIC_ORDER.index(metric) if metric in METRIC_ORDER else len(METRIC_ORDER)
    return f"C{known % 10}"


def _readable_log_axes(ax):
    """Plain tick labels (5k, 10k, 0.2, 0.3) instead of crowded powers of ten on short log ranges."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    lo, hi = ax.get_xlim()
    decades = 10.0 ** np.arange(np.floor(np.log10(lo)), np.ceil(np.log10(hi)) + 1)
    ticks = [t for t in np.outer(decades, [1, 2, 5]).ravel() if lo <= t <= hi]
    if len(ticks) >= 2:
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:g}k" if v >= 1000 else f"{v:g}"))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}" if _mantissa(v) in (2, 3, 4, 6, 8) else ""))


def _mantissa(v):
    return round(v / 10 ** np.floor(np.log10(v)), 6) if v > 0 else 0


def _matching(path, frame):
    """The JSON at ``path`` if it was made from a table of this many runs, else None."""
    path = Path(path)
    if not path.exists():
        return None
    record = json.loads(path.read_text())
    return record if record.get("runs") == len(frame) else None


def _miss_note(chi2, points, parameters):
    return f"; misses its points, chi2/dof {chi2 / (points - parameters):.0f}"


def _line_weight(misses):
    """A line that misses its points is drawn faint, and its legend entry says so."""
    return dict(lw=0.8, alpha=0.45) if misses else dict(lw=1.2)


def _label(metric, policy):
    return "random" if policy == "random" else f"{metric}, keep {policy}"


def _scaling_panel(ax, table, pool, fits):
    from prunescale.validation.fits import LAWS, misses_its_points

    by_curve = {(c["pool_size"], c["metric"], c["policy"]): c for c in (fits or {}).get("curves", [])}
    for (p, metric, policy), s in sorted(table.items()):
        if p != pool:
            continue
        color = _metric_color(metric)
        ax.errorbar(
            s.n_train, s["mean"], yerr=s.se.fillna(0), ls="none", marker=MARKERS[policy], ms=3, capsize=2, color=color
        )
        fit = by_curve.get((p, metric, policy), {})
        law = fit.get("best_aic")
        note = ""
        if law:
            best = fit["fits"][law]
            misses = misses_its_points(best["chi2"], best["n_points"], LAWS[law][1])
            note = f" ({LAW_NAMES[law]}{_miss_note(best['chi2'], best['n_points'], LAWS[law][1]) if misses else ''})"
            n = np.geomspace(s.n_train.min(), s.n_train.max(), 100)
            ax.plot(
                n, LAWS[law][0](n, *best["params"].values()), color=color, ls=STYLES[policy], **_line_weight(misses)
            )
        ax.plot([], [], color=color, ls=STYLES[policy], marker=MARKERS[policy], ms=3, label=_label(metric, policy) + note)
    ax.set(xscale="log", yscale="log", xlabel="training examples kept", ylabel="test error")
    _readable_log_axes(ax)
    ax.set_title(
        f"A. Pruning a pool of {pool} images; best law by AIC" if fits else f"A. Pruning a pool of {pool} images"
    )
    ax.legend(frameon=False, fontsize=7)


def _crossover_panel(ax, table, pools):
    pruned = [k for k in table if k[2] != "random"]
    shared = {m for (_, m, _) in pruned if len({p for (p, mm, _) in pruned if mm == m}) > 1}
    for i, pool in enumerate(pools):
        for (p, metric, policy), s in sorted(table.items()):
            if p == pool and policy != "random" and (metric in shared or not shared):
                ax.errorbar(
                    s.n_train / pool,
                    s["mean"],
                    yerr=s.se.fillna(0),
                    ls=STYLES[policy],
                    marker=MARKERS[policy],
                    ms=3,
                    capsize=2,
                    color=POOL_COLORS[i % len(POOL_COLORS)] if shared else _metric_color(metric),
                    label=f"pool {pool}, {metric}, keep {policy}",
                )
    ax.set(xscale="log", yscale="log", xlabel="keep fraction f", ylabel="test error")
    _readable_log_axes(ax)
    ax.set_title("B. Easy or hard, small and large pools")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(frameon=False, fontsize=7)


def _say_instead(ax, text):
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()


def _theory_panel(ax, table, calibration):
    from prunescale import theory
    from prunescale.validation.fits import misses_its_points

    pools = [p for p in (calibration or {}).get("pools", []) if p["metrics"]]
    if not pools:
        return _say_instead(ax, "no calibration for this table:\nrun prunescale validate calibrate")
    entry = max(pools, key=lambda p: p["pool_size"])
    pool, d, A = entry["pool_size"], calibration["scale"]["d"], calibration["scale"]["A"]
    f = np.geomspace(0.05, 1.0, 40)
    scale = calibration["scale"]
    misses = misses_its_points(scale["chi2"], scale["points"], 2)
    ax.plot(
        f * pool,
        A * theory.test_error(f * pool / d, 1.0),
        color="0.35",
        ls=":",
        label=f"theory, random (d = {d:.3g}, A = {A:.2g})"
        + (_miss_note(scale["chi2"], scale["points"], 2) if misses else ""),
        **_line_weight(misses),
    )
    if (pool, "random", "random") in table:
        s = table[(pool, "random", "random")]
        ax.errorbar(s.n_train, s["mean"], yerr=s.se.fillna(0), ls="none", marker="o", ms=3, capsize=2, color="0.35")
    for m in entry["metrics"]:
        s = table[(pool, m["metric"], m["policy"])]
        color = _metric_color(m["metric"])
        ax.errorbar(
            s.n_train,
            s["mean"],
            yerr=s.se.fillna(0),
            ls="none",
            marker=MARKERS[m["policy"]],
            ms=3,
            capsize=2,
            color=color,
        )
        model = A * theory.solve(f * pool / d, f, m["theta"], m["policy"], strict=False).error
        lo, hi = m["theta_ci95"]
        misses = misses_its_points(m["chi2"], m["points"], 1)
        ax.plot(
            f * pool,
            model,
            color=color,
            ls=STYLES[m["policy"]],
            label=f"{m['metric']}, keep {m['policy']}: theta = {m['theta']:.0f} deg (95% CI {lo:.0f}-{hi:.0f})"
            + (_miss_note(m["chi2"], m["points"], 1) if misses else ""),
            **_line_weight(misses),
        )
    ax.set(xscale="log", yscale="log", xlabel="training examples kept", ylabel="test error")
    _readable_log_axes(ax)
    ax.set_title(f"C. Theory calibrated on the pool of {pool}")
    ax.legend(frameon=False, fontsize=7)


def compute(csv=RUNS, fits=FITS, calibration=CALIBRATION):
    """The record the figure is drawn from: the runs, and the fits and calibration made from the same table."""
    from prunescale.validation.analysis import read_runs

    frame = read_runs(csv)
    return dict(
        source=str(csv),
        runs=frame.to_dict(orient="records"),
        fits=_matching(fits, frame),
        calibration=_matching(calibration, frame),
    )


@house_style
def draw(record, out):
    """Draw ``record`` (from :func:`compute`) to ``out`` (PNG) and a PDF beside it; write nothing else."""
    from matplotlib.figure import Figure  # a Figure of its own: no pyplot, no backend switch, no global state

    from prunescale.validation.analysis import curves

    frame = pd.DataFrame(record["runs"])
    table = curves(frame)
    if not table:
        raise ValueError(f"{record['source']} holds no pruned runs yet (keep_fraction < 1): nothing to draw")
    pools = sorted({k[0] for k in table})
    fig = Figure(figsize=(16, 4.6), constrained_layout=True)
    axes = fig.subplots(1, 3)
    _scaling_panel(axes[0], table, pools[-1], record["fits"])
    _crossover_panel(axes[1], table, pools)
    _theory_panel(axes[2], table, record["calibration"])
    seeds = frame.groupby(["metric", "policy", "pool_size", "keep_fraction"]).seed.nunique()
    fig.suptitle(
        f"CIFAR-10, airbench-style ResNet, budget '{', '.join(sorted(frame.budget.unique()))}' "
        f"({', '.join(f'{e:g}' for e in sorted(frame.epochs.unique()))} epochs), "
        f"{seeds.min()}{'' if seeds.min() == seeds.max() else f'-{seeds.max()}'} seed(s) per point, {len(frame)} runs",
        fontsize=9,
    )
    save_png_and_pdf(fig, out, dpi=150)
    return Path(out)
