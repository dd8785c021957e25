"""The fair CIFAR-10 test: one panel per claim, each with its verdict.

Drawn from the fair test's runs table (``figures/data/cifar10_fair/runs.csv``) by
``prunescale validate verdict``; the record holds the verdicts of :mod:`validation.verdicts`
and the numbers of every panel, so a partial table draws what it has.

Panels
  A  claim 1: the paired loss ``error(f) - error(f = 1)`` on the 10k pool, per policy, with its
     95% interval, against the 0.5 pp tolerance.
  B  claim 3: fixed-f keep-hard curves across the pools (kept size ``f x pool``) against the
     random curve, log-log, with standard errors.
  C  claim 2: the sign map: the paired winner of keep-hard against keep-easy per pool and f.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from prunescale.store import from_json, to_json

from . import DATA, FOLDER, POLICY_COLORS as COLORS, WINNER_MAP, draw_panels, house_style

RUNS = DATA / "cifar10_fair" / "runs.csv"
RECORD = DATA / "cifar10_fair_verdicts.json"
FIGURE = FOLDER / "cifar10_fair.png"
WINNER_CODES = {"easy": -1, "unresolved": 0, "hard": 1}


def _losses(frame, pool):
    """Per policy and f < 1, the paired loss against f = 1 with its two-sided 95% interval (two seeds or more)."""
    from prunescale.validation import criteria

    out = []
    for (policy, f), _ in frame[(frame.pool_size == pool) & (frame.keep_fraction < 1)].groupby(["policy", "keep_fraction"]):
        selection = dict(pool_size=pool, keep_fraction=float(f), policy=policy)
        mean, se, n = criteria.paired_difference(frame, selection, dict(pool_size=pool, keep_fraction=1.0))
        if n >= 2:
            lo, hi = criteria.interval(mean, se, n)
            out.append(dict(policy=policy, keep_fraction=float(f), loss=mean, ci95=[lo, hi], seeds=n))
    return out


def _means(frame):
    """Mean test error and its standard error per (policy, f, pool), with the kept size."""
    rows = []
    for (policy, f, pool), group in frame.groupby(["policy", "keep_fraction", "pool_size"]):
        errors = group.test_error.to_numpy(float)
        se = errors.std(ddof=1) / np.sqrt(errors.size) if errors.size > 1 else float("nan")
        rows.append(
            dict(policy=policy, keep_fraction=float(f), pool_size=int(pool), n_train=int(group.n_train.iloc[0]),
                 mean=float(errors.mean()), se=float(se), seeds=int(errors.size))
        )
    return rows


def compute(csv=RUNS):
    """The record of the figure: the verdicts and the numbers of each panel, from one runs table."""
    from prunescale.validation import criteria, verdicts
    from prunescale.validation.analysis import read_runs

    frame = read_runs(csv)
    report = verdicts.verdicts(frame)
    main = verdicts.main_runs(frame)
    # the sign map shows every pool that has keep-hard / keep-easy pairs; the panel's title says whether that
    # already decides claim 2
    paired = main[main.policy.isin(["hard", "easy"])].groupby(["pool_size", "keep_fraction"]).policy.nunique().eq(2).any()
    winners = criteria.crossover(main)["points"] if paired else []
    return dict(
        source=_shown(csv),
        verdicts=to_json(report),  # the typed record, as JSON at the boundary
        losses=_losses(main, verdicts.LOSSLESS_POOL),
        means=_means(main),
        winners=winners,
        tolerance=criteria.LOSSLESS_TOLERANCE,
        steps=sorted(int(s) for s in frame.steps.dropna().unique()),
        devices=sorted(frame.device.unique()) if "device" in frame else [],
    )


def _shown(path):
    """The table's path as a reader should see it: a committed table by its place in the repository
    (``figures/data/...``, installed or not), another relative to the working folder where it lies inside it."""
    path, data, here = Path(path).resolve(), Path(DATA).resolve(), Path.cwd().resolve()
    if path.is_relative_to(data):
        return str(Path("figures", "data", path.relative_to(data)))
    return str(path.relative_to(here)) if path.is_relative_to(here) else str(path)


def _claim(record, index):
    from prunescale.validation.verdicts import Verdicts

    return from_json(Verdicts, record["verdicts"]).claims[index]


def _label(ax, xlabel, ylabel, claim, title, legend=True):
    """Axis labels, the legend, and a title that states the claim's verdict."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if legend:
        ax.legend(fontsize=8)
    state = "" if claim.complete else " (plan incomplete)"
    ax.set_title(f"{title}\nclaim {claim.claim}: {claim.verdict}{state}", fontsize=9)


def _loss_panel(ax, record):
    losses = pd.DataFrame(record["losses"])
    for i, (policy, group) in enumerate(losses.groupby("policy") if len(losses) else []):
        group = group.sort_values("keep_fraction")
        x = group.keep_fraction + (i - 1) * 0.01  # side by side where fractions coincide
        lo, hi = zip(*group.ci95)
        yerr = [100 * (group.loss - np.array(lo)), 100 * (np.array(hi) - group.loss)]
        ax.errorbar(x, 100 * group.loss, yerr=yerr, fmt="o-", color=COLORS.get(policy), capsize=3, label=f"keep {policy}" if policy != "random" else "random")
    ax.axhline(100 * record["tolerance"], color="k", lw=0.8, ls="--", label="lossless tolerance (0.5 pp)")
    ax.axhline(0, color="k", lw=0.5)
    _label(ax, "keep fraction f (10k pool)", "error(f) - error(f = 1), pp (paired, 95% CI)", _claim(record, 0), "A  lossless pruning")


def _curves_panel(ax, record):
    means = pd.DataFrame(record["means"])
    if len(means):
        randoms = means[means.policy == "random"].groupby("n_train").agg(mean=("mean", "mean"), se=("se", "max")).reset_index()
        ax.errorbar(randoms.n_train, randoms["mean"], yerr=randoms.se, fmt="o:", color=COLORS["random"], label="random (every pool)")
        for f, marker in ((0.5, "s"), (0.3, "^")):
            curve = means[(means.policy == "hard") & np.isclose(means.keep_fraction, f)].sort_values("n_train")
            if len(curve):
                ax.errorbar(curve.n_train, curve["mean"], yerr=curve.se, fmt=f"{marker}-", color=COLORS["hard"], label=f"keep-hard, f = {f:g}, across pools")
        ax.set_xscale("log")
        ax.set_yscale("log")
    _label(ax, "examples kept", "test error (mean +- SE over seeds)", _claim(record, 2), "B  beating the power law")


def _sign_panel(ax, record):
    winners = pd.DataFrame(record["winners"])
    if len(winners):
        pools = sorted(winners.pool_size.unique())
        fractions = sorted(winners.keep_fraction.unique())
        grid = np.full((len(pools), len(fractions)), np.nan)
        for w in record["winners"]:
            i, j = pools.index(w["pool_size"]), fractions.index(w["keep_fraction"])
            grid[i, j] = WINNER_CODES[w["winner"]]
            ax.text(j, i, f"{w['winner']}\n{100 * w['hard_minus_easy']:+.1f} pp", ha="center", va="center", fontsize=7)
        ax.imshow(grid, cmap=WINNER_MAP, vmin=-1.5, vmax=1.5, origin="lower", aspect="auto")
        ax.set_xticks(range(len(fractions)), [f"{f:g}" for f in fractions])
        ax.set_yticks(range(len(pools)), [f"{p / 1000:g}k" for p in pools])
    else:
        ax.text(0.5, 0.5, "no keep-hard / keep-easy pairs yet", ha="center", va="center", transform=ax.transAxes)
    _label(ax, "keep fraction f", "pool", _claim(record, 1), "C  the winner, hard minus easy (paired)", legend=False)


@house_style
def draw(record, out):
    """Draw ``record`` (from :func:`compute`) to ``out`` (PNG) and a PDF beside it; write nothing else."""
    title = (
        f"The fair CIFAR-10 test: every run {', '.join(map(str, record['steps']))} optimiser steps, paired seeds, "
        f"device {', '.join(record['devices'])}, {record['verdicts']['runs']} runs ({record['source']})"
    )
    draw_panels(record, out, [_loss_panel, _curves_panel, _sign_panel], figsize=(16, 4.8), title=title)
    return Path(out)
