"""From the runs table to curves, fits and verdicts (the analysis behind ``prunescale validate fit``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from prunescale.store import PathLike

from . import fits

CROSSOVER_SIGMAS = 2.0  # a policy wins where the error difference exceeds this many standard errors


RUN_COLUMNS = ("metric", "policy", "pool_size", "keep_fraction", "n_train", "seed", "budget", "test_error")


def read_runs(csv: PathLike, class_balanced: bool | None = None) -> pd.DataFrame:
    """The runs table written by a sweep, or a one-line error naming the file and what is wrong with it.

    ``class_balanced`` True or False keeps only the runs pruned that way (a table may hold both: the fair
    plan runs its claim-1 points both ways, and a curve never mixes them); None keeps every run."""
    from pathlib import Path

    path = Path(csv)
    if not path.is_file():
        raise ValueError(f"runs table {path} does not exist (prunescale validate sweep writes it)")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValueError(f"runs table {path} is not a CSV file ({exc})") from None
    missing = [c for c in RUN_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"runs table {path} lacks the columns {', '.join(missing)}")
    if class_balanced is not None:
        if "class_balanced" not in frame:
            raise ValueError(f"runs table {path} has no class_balanced column to select on")
        frame = frame[frame.class_balanced.astype(str) == str(bool(class_balanced))].reset_index(drop=True)
        if frame.empty:
            raise ValueError(f"runs table {path} holds no runs with class_balanced={bool(class_balanced)}")
    return frame


def curves(frame: pd.DataFrame) -> dict[tuple, pd.DataFrame]:
    """Mean test error and its standard error per (pool, metric, policy, kept size), over seeds.

    Keeping everything (f = 1, run once as "random") belongs to every curve of its pool.
    """
    full = frame[frame.keep_fraction == 1.0]
    out = {}
    for (pool, metric, policy), group in frame[frame.keep_fraction < 1.0].groupby(["pool_size", "metric", "policy"]):
        group = pd.concat([group, full[full.pool_size == pool]])
        _check_one_rule(group, f"pool {pool}, {metric}, keep {policy}")
        stats = group.groupby("n_train").test_error.agg(["mean", "std", "count"]).reset_index()
        stats["se"] = (stats["std"] / np.sqrt(stats["count"])).fillna(np.nan)
        out[(int(pool), metric, policy)] = stats
    return out


SAME_WITHIN_A_CURVE = ("budget", "config", "epochs", "class_balanced", "pool")


def _check_one_rule(group, curve):
    """A curve mixes no budget rules, configs or training lengths (steps differ only under the epochs rule)."""
    columns = SAME_WITHIN_A_CURVE + (("steps",) if set(group.get("budget", [])) == {"steps"} else ())
    for column in columns:
        if column in group and group[column].nunique() > 1:
            select = "select its rows first"
            if column == "class_balanced":
                select = "--class-balanced or --not-class-balanced selects one"
            raise ValueError(
                f"curve {curve} mixes {column} {sorted(map(str, group[column].unique()))}: one table per rule ({select})"
            )


def pooled_stderr(stats: pd.DataFrame) -> np.ndarray:
    """Standard errors with a floor: the curve's median relative standard error times the error.

    Two or three seeds give erratic standard errors (some near zero, which
    would dominate a weighted fit); pooling the relative error along the
    curve is steadier.  With one seed (no spread at all) the floor is 5%.
    """
    e, se = stats["mean"].values, stats.se.values
    rel = se / e
    pooled = np.nanmedian(rel) if np.isfinite(rel).any() else 0.05
    return np.maximum(np.where(np.isfinite(se), se, 0.0), pooled * e)


def fit_curves(csv: PathLike, class_balanced: bool | None = None) -> dict:
    """Per curve: every law's fit and AIC, held-out scores, and for pruned curves the criterion.

    ``class_balanced``: as in :func:`read_runs`."""
    frame = read_runs(csv, class_balanced)
    table = curves(frame)
    summary: dict[str, Any] = {"runs": int(len(frame)), "budget": sorted(frame.budget.unique().tolist()), "curves": []}
    for (pool, metric, policy), stats in table.items():
        n, e = stats.n_train.values.astype(float), stats["mean"].values
        se = pooled_stderr(stats)
        entry = {
            "curve": f"pool {pool}, {metric}, keep {policy}",
            "pool_size": pool,
            "metric": metric,
            "policy": policy,
            "n_train": n.tolist(),
            "test_error": e.tolist(),
            "stderr": se.tolist(),
        }
        laws = [law for law, (_, k) in fits.LAWS.items() if n.size > k]
        if laws:
            result = fits.compare_laws(n, e, se, laws)
            entry["fits"] = {k: dict(v._asdict()) for k, v in result["fits"].items()}
            entry["heldout"] = result["heldout"]
            entry["best_aic"], entry["best_heldout"] = result["best_aic"], result["best_heldout"]
        else:
            entry["best_aic"] = entry["best_heldout"] = None
        random_key = (pool, "random", "random")
        pruned = n < pool  # the shared keep-everything point says nothing about pruning
        if policy != "random" and random_key in table and pruned.sum() >= 4:
            r = table[random_key]
            if r.n_train.size > 3:
                entry["beats"] = fits.beats_power_law(
                    r.n_train.values, r["mean"].values, pooled_stderr(r), n[pruned], e[pruned], se[pruned]
                )
        summary["curves"].append(entry)
    return summary


def calibrate_runs(csv: PathLike, class_balanced: bool | None = None) -> dict:
    """Fit (d, A) on the random runs, then theta per metric and policy in each pool; compare best keep fractions.

    The effective dimension and scale belong to the network and the data, not
    to the pool (a random subset of n images is the same whichever pool it was
    drawn from), so one ``(d, A)`` is fitted to the random runs of every pool.
    Where a metric has both a keep-easy and a keep-hard curve, one angle is
    also fitted to both, and the runs' winner at each keep fraction is set
    against the theory's (``crossover``)."""
    from . import calibrate

    frame = read_runs(csv, class_balanced)  # class_balanced: as in read_runs
    table = curves(frame)
    randoms = [s.assign(se=pooled_stderr(s)) for (_, _, pol), s in sorted(table.items()) if pol == "random"]
    if not randoms:
        raise ValueError(f"{csv} holds no random-pruning runs: the scale (d, A) is fitted on them")
    r = pd.concat(randoms)
    scale = calibrate.fit_scale(r.n_train.values, r["mean"].values, r.se.values)
    out: dict[str, Any] = {
        "runs": int(len(frame)),
        "scale": {"d": scale.d, "A": scale.A, "A_times_d": scale.A * scale.d, "chi2": scale.chi2, "points": len(r)},
        "pools": [],
    }
    for pool in sorted({k[0] for k in table}):
        entry = {"pool_size": pool, "metrics": []}
        for (p, metric, policy), s in table.items():
            if p != pool or policy == "random":
                continue
            pruned = s[s.n_train < pool]
            if len(pruned) < 2:
                continue
            f = pruned.n_train.values / pool
            angle = calibrate.fit_theta(
                pruned.n_train.values, pruned["mean"].values, pooled_stderr(pruned), f, policy, scale
            )
            observed = s.loc[s["mean"].idxmin()]
            entry["metrics"].append(
                dict(
                    metric=metric,
                    policy=policy,
                    theta=angle.theta,
                    theta_ci68=angle.ci68,
                    theta_ci95=angle.ci95,
                    chi2=angle.chi2,
                    points=int(len(pruned)),
                    observed_best_keep_fraction=float(observed.n_train / pool),
                    observed_best_error=float(observed["mean"]),
                    theory=calibrate.theory_keep_fraction(pool, scale, angle.theta),
                )
            )
        entry["crossover"] = [_crossover(table, pool, metric, scale) for metric in _metrics_with_both(table, pool)]
        out["pools"].append(entry)
    return out


def _metrics_with_both(table, pool):
    return sorted({m for (p, m, pol) in table if p == pool and pol == "hard" and (p, m, "easy") in table})


def _crossover(table, pool, metric, scale):
    """One metric's easy/hard comparison in one pool: the runs' winner per keep fraction against the theory's,
    with one angle fitted to both curves."""
    from . import calibrate

    hard, easy = (table[(pool, metric, pol)] for pol in ("hard", "easy"))
    hard, easy = (s[s.n_train < pool].assign(se=pooled_stderr(s[s.n_train < pool])) for s in (hard, easy))
    both = pd.concat([hard.assign(policy="hard"), easy.assign(policy="easy")])
    angle = calibrate.fit_theta(
        both.n_train.values, both["mean"].values, both.se.values, both.n_train.values / pool, both.policy.values, scale
    )
    paired = hard.merge(easy, on="n_train", suffixes=("_hard", "_easy"))
    f = paired.n_train.values / pool
    predicted = calibrate.theory_crossover(pool, f, scale, angle.theta)
    points = []
    for row, theory_row in zip(paired.itertuples(), predicted):
        diff = row.mean_hard - row.mean_easy
        se = float(np.hypot(row.se_hard, row.se_easy))
        observed = "hard" if diff < -CROSSOVER_SIGMAS * se else "easy" if diff > CROSSOVER_SIGMAS * se else "unresolved"
        points.append(
            dict(
                keep_fraction=theory_row.pop("keep_fraction"),
                observed_hard_error=float(row.mean_hard),
                observed_easy_error=float(row.mean_easy),
                observed_difference_se=se,
                observed_winner=observed,
                agrees=None if observed == "unresolved" else observed == theory_row["winner"],
            )
            | {f"theory_{k}": v for k, v in theory_row.items()}
        )
    return dict(
        metric=metric,
        theta=angle.theta,
        theta_ci95=angle.ci95,
        chi2=angle.chi2,
        points_fitted=int(len(both)),
        points=points,
    )
