"""CIFAR-10: test error against examples kept, per metric and policy, and the easy/hard crossover.

Drawn from ``figures/data/cifar10_runs.csv`` (``prunescale validate sweep`` writes it) by
``prunescale validate figure``.  The caption states the scale: model, budget rule, epochs, seeds.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from prunescale.io import save_figure

RUNS = Path(__file__).parent / "data" / "cifar10_runs.csv"


def draw(out=Path("figures/cifar10.png"), csv=RUNS):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from validation.analysis import curves

    frame = pd.read_csv(csv)
    table = curves(frame)
    pools = sorted({k[0] for k in table})
    plt.rcParams.update({"font.size": 9, "axes.spines.top": False, "axes.spines.right": False})
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    styles = {"random": ":", "hard": "-", "easy": "--"}
    colors = {"random": "0.3", "hard": "tab:red", "easy": "tab:blue"}
    ax = axes[0]
    for (pool, metric, policy), s in sorted(table.items()):
        if pool != pools[-1]:
            continue
        label = "random" if policy == "random" else f"{metric}, keep {policy}"
        ax.errorbar(
            s.n_train, s["mean"], yerr=s.se.fillna(0), ls=styles[policy], marker="o", ms=3, capsize=2, label=label
        )
    ax.set(xscale="log", yscale="log", xlabel="training examples kept", ylabel="test error")
    ax.set_title(f"A. Pruning a pool of {pools[-1]} images")
    ax.legend(frameon=False, fontsize=7)
    ax = axes[1]
    for pool in pools:
        for policy in ("hard", "easy"):
            for (p, metric, pol), s in table.items():
                if p == pool and pol == policy:
                    f = s.n_train / pool
                    ax.errorbar(
                        f,
                        s["mean"],
                        yerr=s.se.fillna(0),
                        ls=styles[policy],
                        marker="o",
                        ms=3,
                        capsize=2,
                        label=f"pool {pool}, {metric}, keep {policy}",
                    )
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="keep fraction f",
        ylabel="test error",
        title="B. Easy or hard, small and large pools",
    )
    ax.legend(frameon=False, fontsize=7)
    seeds = frame.groupby(["metric", "policy", "pool_size", "keep_fraction"]).seed.nunique()
    fig.suptitle(
        f"CIFAR-10, airbench-style ResNet, budget '{', '.join(sorted(frame.budget.unique()))}' "
        f"({', '.join(f'{e:g}' for e in sorted(frame.epochs.unique()))} epochs), "
        f"{seeds.min()}{'' if seeds.min() == seeds.max() else f'-{seeds.max()}'} seed(s) per point, {len(frame)} runs",
        fontsize=9,
    )
    out = Path(out)
    save_figure(fig, out, dpi=150)
    save_figure(fig, out.with_suffix(".pdf"))
    plt.close(fig)
    return out
