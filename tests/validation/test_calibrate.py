"""Calibration recovers the effective dimension, scale and metric angle of curves made by the theory."""

import numpy as np
import pytest

from prunescale import theory
from prunescale.validation import calibrate

POOL = 20000.0
D, A, THETA = 500.0, 2.0, 15.0
F = np.array([0.8, 0.6, 0.4, 0.3, 0.2, 0.1])
CROSSING = np.array([0.6, 0.3, 0.1])  # keep-hard wins at the first two, keep-easy at the last (pool 40 d, 15 deg)


def _curve(n, f, theta, policy, rel=0.01, seed=0):
    rng = np.random.default_rng(seed)
    e = A * theory.test_error(n / D, f, theta, policy)
    return e * (1 + rel * rng.standard_normal(e.shape)), rel * e


def test_recovers_dimension_scale_and_angle():
    n_random = POOL * np.array([1.0, *F])
    e_r, se_r = _curve(n_random, 1.0, 0.0, "random")
    scale = calibrate.fit_scale(n_random, e_r, se_r)
    # In the power-law range only A * d is sharp (eps ~ 0.5 d / n); d itself comes from the curvature.
    assert scale.A * scale.d == pytest.approx(A * D, rel=0.02)
    assert scale.d == pytest.approx(D, rel=0.2)
    e_p, se_p = _curve(POOL * F, F, THETA, "hard", seed=1)
    angle = calibrate.fit_theta(POOL * F, e_p, se_p, F, "hard", scale)
    assert angle.ci95[0] <= THETA <= angle.ci95[1]
    assert angle.theta == pytest.approx(THETA, abs=3.0)
    best = calibrate.theory_keep_fraction(POOL, scale, angle.theta)
    truth = theory.optimal_keep_fraction(POOL / D, THETA)
    assert best["policy"] == truth.policy


def test_a_fit_worse_than_its_error_bars_gets_a_wider_interval():
    # The same curve twice, its scatter 5x the stated standard errors in the second: the chi-square per
    # degree of freedom scales the profile thresholds, so the interval widens instead of staying falsely sharp.
    scale = calibrate.Scale(D, A, 0.0)
    n = POOL * F
    truth = A * theory.test_error(n / D, F, THETA, "hard")
    noise = np.random.default_rng(3).standard_normal(F.shape)
    stated = 0.01 * truth
    honest = calibrate.fit_theta(n, truth + stated * noise, stated, F, "hard", scale)
    understated = calibrate.fit_theta(n, truth + 5 * stated * noise, stated, F, "hard", scale)
    width = [a.ci95[1] - a.ci95[0] for a in (honest, understated)]
    assert understated.chi2 / (F.size - 1) > 5
    assert width[1] > 2 * width[0]
    assert understated.ci95[0] <= THETA <= understated.ci95[1]


@pytest.mark.slow  # measured at 8-31 s; the default suite keeps to about five minutes
def test_one_angle_for_both_policies_predicts_the_winner_the_runs_show(tmp_path, monkeypatch):
    import pandas as pd

    monkeypatch.setattr(calibrate, "CROSSOVER_ALPHA", np.geomspace(0.05, 1e4, 50))  # a coarser scan suffices here

    from prunescale.validation.table import COLUMNS
    from prunescale.validation.analysis import calibrate_runs

    rows = []
    for seed in (0, 1):
        for policy, fractions in (("random", np.array([1.0, *CROSSING])), ("hard", CROSSING), ("easy", CROSSING)):
            e, _ = _curve(POOL * fractions, fractions, THETA if policy != "random" else 0.0, policy, seed=seed + 7)
            for f, err in zip(fractions, e):
                metric = "random" if policy == "random" else "el2n"
                rows.append(
                    dict.fromkeys(COLUMNS, 0)
                    | dict(
                        metric=metric,
                        policy=policy,
                        pool_size=int(POOL),
                        keep_fraction=f,
                        n_train=int(round(POOL * f)),
                        seed=seed,
                        budget="epochs",
                        test_error=err,
                    )
                )
    pd.DataFrame(rows, columns=list(COLUMNS)).to_csv(tmp_path / "runs.csv", index=False)
    (pool,) = calibrate_runs(tmp_path / "runs.csv")["pools"]
    (crossover,) = pool["crossover"]
    assert crossover["metric"] == "el2n" and crossover["points_fitted"] == 2 * CROSSING.size
    lo, hi = crossover["theta_ci95"]
    assert lo < crossover["theta"] < hi and crossover["theta"] == pytest.approx(THETA, abs=3.0)
    fractions = [p["keep_fraction"] for p in crossover["points"]]
    assert sorted(fractions) == sorted(CROSSING)
    truth, _, _ = theory.best_policy(POOL / D, fractions, THETA)
    assert set(truth) == {"hard", "easy"}  # the pool straddles a crossover
    for p, winner in zip(crossover["points"], truth):
        assert p["theory_winner"] == winner
        assert p["observed_winner"] in (winner, "unresolved") and p["agrees"] in (True, None)
    changes = [p["theory_winner_changes_at_pool"] for p in crossover["points"] if p["theory_winner"] == "easy"]
    assert all(any(n > POOL for n in c) for c in changes)  # easy wins here; hard wins in a larger pool


def test_calibrating_a_table_without_random_runs_is_a_clear_error(tmp_path):
    import pandas as pd

    from prunescale.validation.table import COLUMNS
    from prunescale.validation.analysis import calibrate_runs

    row = dict.fromkeys(COLUMNS, 0) | dict(metric="el2n", policy="hard", pool_size=100, keep_fraction=0.5)
    pd.DataFrame([row], columns=list(COLUMNS)).to_csv(tmp_path / "runs.csv", index=False)
    with pytest.raises(ValueError, match="no random-pruning runs"):
        calibrate_runs(tmp_path / "runs.csv")
