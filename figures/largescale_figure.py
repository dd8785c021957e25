"""The 50k test: the paired differences by budget, and claim 3's fixed-f curves, with the predictions marked.

Drawn from the 50k test's runs table (``figures/data/cifar10_50k/runs.csv``) and the predictions committed before
its runs (``figures/data/cifar10_50k/predictions.json``) by ``prunescale validate verdict --csv`` on that table.

Panels
  A  claim 1 on the whole data set: at each budget, random f = 0.5 minus f = 1, keep-hard f = 0.5 minus f = 1 and
     keep-hard minus random, paired by seed, with 95% t intervals; the predictions (3,907 steps only) as open
     diamonds with their range.
  B  claim 3 at scale: keep-hard f = 0.5 across the 12.5k, 25k and 50k pools (kept 6.25k to 25k) and the random
     curve, at 3,907 steps, log-log, with the predicted errors as open symbols.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from prunescale.store import from_json, to_json

from . import DATA, FOLDER, POLICY_COLORS, draw_panels, house_style

RUNS = DATA / "cifar10_50k" / "runs.csv"
PREDICTIONS = DATA / "cifar10_50k" / "predictions.json"
RECORD = DATA / "cifar10_50k" / "verdicts.json"
DRIFT = DATA / "cifar10_fair" / "rerun_drift.json"  # committed jobs re-run on other machines
FIGURE = FOLDER / "cifar10_50k.png"
COMPARISONS = (  # (name, (policy, f), (policy, f)) at the 50k pool
    ("random 0.5 - 1", ("random", 0.5), ("random", 1.0)),
    ("hard 0.5 - 1", ("hard", 0.5), ("random", 1.0)),
    ("hard - random, 0.5", ("hard", 0.5), ("random", 0.5)),
)
PREDICTED_NAMES = {"random 0.5 - 1": "random f = 0.5 - f = 1", "hard 0.5 - 1": "keep-hard f = 0.5 - f = 1",
                   "hard - random, 0.5": "keep-hard - random, f = 0.5"}


def measured_drift_sd(path=DRIFT) -> float:
    """The root mean square of the measured re-run drifts (test error, a fraction): each re-run against the
    committed run of its job, on another machine with the same commit, jax and flags."""
    import json

    measured = json.loads(Path(path).read_text())
    committed = {r["seed"]: r["committed_test_error"] for r in measured["runs"]}
    drifts = [r["rerun_test_error"] - r["committed_test_error"] for r in measured["runs"]]
    if "elsewhere" in measured:
        drifts.append(measured["elsewhere"]["test_error"] - committed[measured["elsewhere"]["seed"]])
    return float(np.sqrt(np.mean(np.square(drifts))))


def compute(csv=RUNS, predictions=PREDICTIONS):
    """The record: the 50k test's verdicts, every paired difference by budget, the curves' means, the predictions
    (JSON-ready; :func:`readings` gives its typed readings back)."""
    import json

    from prunescale.validation import criteria, largescale
    from prunescale.validation.analysis import read_runs

    frame = largescale.main_runs(read_runs(csv))
    predicted = from_json(largescale.Predictions, json.loads(Path(predictions).read_text())) if Path(predictions).is_file() else None
    differences = []
    for steps in sorted(frame.steps.unique()):
        at = frame[(frame.steps == steps) & (frame.pool_size == largescale.FULL_POOL)]
        for name, (pa, fa), (pb, fb) in COMPARISONS:
            mean, se, n = criteria.paired_difference(at, dict(policy=pa, keep_fraction=fa), dict(policy=pb, keep_fraction=fb))
            if n >= 2:
                low, high = criteria.interval(mean, se, n)
                differences.append(dict(steps=int(steps), comparison=name, mean=mean, ci95=[float(low), float(high)], seeds=n))
    means = []
    for (steps, policy, f, pool), group in frame.groupby(["steps", "policy", "keep_fraction", "pool_size"]):
        e = group.test_error.to_numpy(float)
        means.append(dict(steps=int(steps), policy=policy, keep_fraction=float(f), pool_size=int(pool),
                          n_train=int(group.n_train.iloc[0]), mean=float(e.mean()), seeds=int(e.size),
                          se=float(e.std(ddof=1) / np.sqrt(e.size)) if e.size > 1 else float("nan")))
    against = largescale.predicted_against_measured(frame, predicted) if predicted else None
    return dict(verdicts=to_json(largescale.verdicts(frame, drift_sd=measured_drift_sd())), differences=differences, means=means,
                predicted_runs=to_json(predicted.runs) if predicted else [],
                predicted_comparisons=to_json(predicted.comparisons) if predicted else [],
                predicted_against_measured=to_json(against), runs=int(len(frame)))


def readings(record):
    """The typed readings in ``record`` (from :func:`compute`): the verdicts, and the predictions against what was
    measured (None where no predictions were found)."""
    from prunescale.validation.largescale import AgainstPredictions, ScaleVerdicts

    return from_json(ScaleVerdicts, record["verdicts"]), from_json(AgainstPredictions, record["predicted_against_measured"])


def _differences_panel(ax, record):
    names = [c[0] for c in COMPARISONS]
    budgets = sorted({d["steps"] for d in record["differences"]}) or [3907]
    for k, steps in enumerate(budgets):
        rows = [d for d in record["differences"] if d["steps"] == steps]
        x = np.array([names.index(d["comparison"]) for d in rows]) + 0.15 * (k - (len(budgets) - 1) / 2)
        y = np.array([100 * d["mean"] for d in rows])
        err = np.array([[100 * (d["mean"] - d["ci95"][0]), 100 * (d["ci95"][1] - d["mean"])] for d in rows]).T.reshape(2, -1)
        ax.errorbar(x, y, yerr=err, fmt="os"[k % 2], color=f"C{k + 2}", capsize=3, label=f"measured, {steps} steps")
    for c in record["predicted_comparisons"]:
        if c["pool_size"] != 50000:
            continue
        name = next(n for n, full in PREDICTED_NAMES.items() if full == c["comparison"])
        i = names.index(name) + 0.3
        low, high = (100 * v for v in c["range"])
        ax.errorbar([i], [100 * c["predicted"]], yerr=[[100 * c["predicted"] - low], [high - 100 * c["predicted"]]],
                    fmt="D", mfc="none", color="k", capsize=3, label="predicted (3,907 steps)" if name == names[0] else None)
    ax.axhline(0, color="k", lw=0.5)
    ax.axhline(0.5, color="k", lw=0.8, ls="--", label="lossless tolerance (0.5 pp)")
    ax.set_xticks(range(len(names)), names)
    ax.set_ylabel("paired difference in test error, pp (95% CI)")
    claim = readings(record)[0].claim_1
    ax.set_title("A  half of CIFAR-10 (50k pool)\n" + "; ".join(f"{c.steps} steps: {c.verdict}" for c in claim), fontsize=9)
    ax.legend(fontsize=7)


def _curves_panel(ax, record):
    first = min((m["steps"] for m in record["means"]), default=3907)
    means = [m for m in record["means"] if m["steps"] == first]
    by_size = {}
    for m in (m for m in means if m["policy"] == "random"):  # a kept size two pools share is one point
        by_size.setdefault(m["n_train"], []).append(m)
    randoms = [dict(n_train=n, mean=float(np.mean([m["mean"] for m in ms])), se=_largest_finite([m["se"] for m in ms]))
               for n, ms in sorted(by_size.items())]
    hard = sorted((m for m in means if m["policy"] == "hard"), key=lambda m: m["n_train"])
    for rows, policy, label in ((randoms, "random", "random"), (hard, "hard", "keep-hard f = 0.5, across pools")):
        if rows:
            ax.errorbar([m["n_train"] for m in rows], [m["mean"] for m in rows], yerr=[m["se"] for m in rows],
                        fmt="o-", color=POLICY_COLORS[policy], capsize=2, label=label)
    for policy, marker in (("random", "o"), ("hard", "s")):
        predicted = {r["n_train"]: r["predicted"] for r in record["predicted_runs"] if r["policy"] == policy}
        if predicted:
            n = sorted(predicted)
            ax.plot(n, [predicted[k] for k in n], marker, mfc="none", color=POLICY_COLORS[policy], ls=":",
                    label=f"predicted, {'random' if policy == 'random' else 'keep-hard'}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("examples kept")
    ax.set_ylabel(f"test error (mean +- SE over seeds), {first} steps")
    claim = readings(record)[0].claim_3
    ax.set_title(f"B  beating the power law, 6.25k to 25k kept\nclaim 3: {claim.verdict}"
                 + ("" if claim.complete else " (plan incomplete)"), fontsize=9)
    ax.legend(fontsize=7)


@house_style
def draw(record, out):
    """Draw ``record`` (from :func:`compute`) to ``out`` (PNG) and a PDF beside it; touches no global state."""
    title = f"The 50k test: {record['runs']} of 36 runs, seeds 3-5, independent EL2N scoring per seed"
    return draw_panels(record, out, [_differences_panel, _curves_panel], figsize=(11, 4.6), title=title)


def _largest_finite(values):
    """The largest finite value, or NaN where there is none (one seed has no standard error)."""
    finite = [v for v in values if np.isfinite(v)]
    return float(max(finite)) if finite else float("nan")

