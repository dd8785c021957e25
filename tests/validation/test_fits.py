"""The scaling-law fitter recovers known laws, and the "beats the power law" criterion decides right."""

import numpy as np
import pytest

from prunescale.validation import fits

N = np.geomspace(1e3, 5e4, 9)


def _noisy(truth, rel=0.02, seeds=4, seed=0):
    rng = np.random.default_rng(seed)
    per_seed = truth[:, None] * (1 + rel * rng.standard_normal((truth.size, seeds)))
    return per_seed.mean(1), per_seed.std(1, ddof=1) / np.sqrt(seeds), list(per_seed)


def test_recovers_a_power_law_with_offset():
    truth = fits.power(N, 8.0, 0.55, 0.03)
    mean, se, _ = _noisy(truth)
    fit = fits.fit_law(N, mean, se, "power")
    assert fit.params["b"] == pytest.approx(0.55, abs=0.1)
    assert fit.params["c"] == pytest.approx(0.03, abs=0.01)
    assert np.allclose(fit.predict(N), truth, rtol=0.03)


def test_recovers_an_exponential_and_prefers_it_to_a_power_law():
    truth = fits.exponential(N, 0.5, 1.2e4, 0.02)
    mean, se, _ = _noisy(truth, rel=0.01)
    result = fits.compare_laws(N, mean, se, laws=("power", "exponential"))
    assert result["best_aic"] == "exponential"
    assert result["fits"]["exponential"].params["s"] == pytest.approx(1.2e4, rel=0.15)


def test_recovers_a_broken_power_law_break():
    truth = fits.broken(N, 5.0, 0.3, 1.2, np.log(8e3))
    mean, se, _ = _noisy(truth, rel=0.01)
    fit = fits.fit_law(N, mean, se, "broken")
    assert np.exp(fit.params["log_nb"]) == pytest.approx(8e3, rel=0.3)
    assert fit.params["b2"] == pytest.approx(1.2, abs=0.2)
    assert fits.compare_laws(N, mean, se)["best_aic"] == "broken"


def test_bootstrap_intervals_cover_the_truth():
    truth = fits.power(N, 8.0, 0.55, 0.03)
    _, _, per_seed = _noisy(truth, rel=0.03, seeds=6, seed=3)
    ci = fits.bootstrap(N, per_seed, "power", samples=60)
    assert ci["b"][0] < 0.55 < ci["b"][1]


def test_heldout_extrapolation_favours_the_true_law():
    truth = fits.exponential(N, 0.5, 1.2e4, 0.02)
    mean, se, _ = _noisy(truth, rel=0.01)
    assert fits.heldout_score(N, mean, se, "exponential") < fits.heldout_score(N, mean, se, "power")


def test_the_criterion_says_yes_to_an_exponential_and_no_to_a_shifted_power_law():
    rand = fits.power(N, 3.0, 0.5, 0.0)
    r_mean, r_se, _ = _noisy(rand, rel=0.01)
    exp_curve = fits.exponential(N, 0.2, 1.5e4, 0.0) + 1e-4
    e_mean, e_se, _ = _noisy(exp_curve, rel=0.01, seed=1)
    yes = fits.beats_power_law(N, r_mean, r_se, N, e_mean, e_se)
    assert yes["verdict"] and yes["below_power_law"] and yes["steepens"]
    shifted = fits.power(N, 2.0, 0.5, 0.0)  # lower, but the same slope: not beating the law
    s_mean, s_se, _ = _noisy(shifted, rel=0.01, seed=2)
    no = fits.beats_power_law(N, r_mean, r_se, N, s_mean, s_se)
    assert no["below_power_law"] and not no["verdict"]


def test_bad_requests_are_named():
    with pytest.raises(ValueError, match="law must be one of"):
        fits.fit_law(N, N, None, "cubic")
    with pytest.raises(ValueError, match="need more than 3 sizes"):
        fits.fit_law(N[:3], N[:3], None, "power")


@pytest.mark.slow  # measured at 8-31 s; the default suite keeps to about five minutes
def test_runs_table_to_fits_and_figure(tmp_path, capsys):
    """The analysis and figure commands on a synthetic runs table with a known answer."""
    import json

    import pandas as pd

    from prunescale.cli import main
    from prunescale.validation.table import COLUMNS

    rng = np.random.default_rng(0)
    rows = []
    pool = 5000
    for f in (1.0, 0.8, 0.6, 0.4, 0.3, 0.2, 0.1):
        n = int(pool * f)
        for seed in (0, 1, 2):
            noise = lambda: 1 + 0.01 * rng.standard_normal()
            base = dict(
                pool_size=pool,
                keep_fraction=f,
                n_train=n,
                seed=seed,
                budget="epochs",
                epochs=3.5,
                steps=1,
                wall_seconds=1.0,
                config_hash="synthetic",
            )
            rows.append(dict(base, metric="random", policy="random", test_error=3 * n**-0.4 * noise()))
            if f < 1:  # pruned: a power law at small n turning into an exponential fall
                rows.append(
                    dict(base, metric="el2n", policy="hard", test_error=(3 * n**-0.4) * np.exp(-n / 3000) * noise())
                )
    csv = tmp_path / "runs.csv"
    pd.DataFrame(rows, columns=list(COLUMNS)).to_csv(csv, index=False)
    main(["validate", "fit", "--csv", str(csv), "--out", str(tmp_path / "fits.json"), "--json"])
    summary = json.loads(capsys.readouterr().out)
    by_curve = {c["policy"]: c for c in summary["curves"]}
    assert by_curve["random"]["best_aic"] in ("power", "broken")
    assert by_curve["hard"]["beats"]["verdict"] is True
    main(["validate", "calibrate", "--csv", str(csv), "--out", str(tmp_path / "cal.json"), "--json"])
    calibration = json.loads(capsys.readouterr().out)
    (hard,) = calibration["pools"][0]["metrics"]
    assert hard["metric"] == "el2n" and 0.0 <= hard["theta_ci95"][0] <= hard["theta"] <= hard["theta_ci95"][1] <= 90.0
    main(
        [
            "validate",
            "figure",
            "--csv",
            str(csv),
            "--out",
            str(tmp_path / "cifar.png"),
            "--fits",
            str(tmp_path / "fits.json"),
            "--calibration",
            str(tmp_path / "cal.json"),
        ]
    )
    assert (tmp_path / "cifar.png").stat().st_size > 20_000


def test_the_figure_of_a_table_without_pruned_runs_is_a_clear_error(tmp_path, capsys):
    import pandas as pd

    from prunescale.cli import main
    from prunescale.validation.table import COLUMNS

    row = dict.fromkeys(COLUMNS, 0) | dict(metric="random", policy="random", pool_size=100, keep_fraction=1.0)
    pd.DataFrame([row], columns=list(COLUMNS)).to_csv(tmp_path / "runs.csv", index=False)
    with pytest.raises(SystemExit) as stop:
        main(["validate", "figure", "--csv", str(tmp_path / "runs.csv"), "--out", str(tmp_path / "c.png")])
    assert stop.value.code == 2 and "no pruned runs yet" in capsys.readouterr().err


def test_a_table_that_mixes_budgets_in_one_curve_is_refused():
    import pandas as pd

    from prunescale.validation.analysis import curves

    rows = [
        dict(metric="random", policy="random", pool_size=100, keep_fraction=f, n_train=int(100 * f), seed=0,
             budget=b, epochs=3.0, test_error=0.5)
        for f, b in ((1.0, "epochs"), (0.5, "epochs"), (0.5, "full_data"))
    ]
    with pytest.raises(ValueError, match=r"curve pool 100, random, keep random mixes budget \['epochs', 'full_data'\]"):
        curves(pd.DataFrame(rows))


def test_a_table_with_both_kinds_of_pruning_is_read_one_kind_at_a_time(tmp_path, capsys):
    import pandas as pd

    from prunescale.cli import main
    from prunescale.validation.analysis import curves, read_runs

    rows = [
        dict(metric="random", policy="random", pool_size=100, keep_fraction=f, n_train=int(100 * f), seed=s,
             budget="steps", epochs=10, test_error=0.5 - 0.2 * f + 0.01 * s, class_balanced=balanced)
        for f, balanced in ((1.0, False), (0.5, False), (0.5, True), (0.3, False))
        for s in (0, 1)
    ]
    pd.DataFrame(rows).to_csv(tmp_path / "runs.csv", index=False)
    with pytest.raises(ValueError, match="mixes class_balanced .*--class-balanced or --not-class-balanced selects one"):
        curves(read_runs(tmp_path / "runs.csv"))
    assert read_runs(tmp_path / "runs.csv", class_balanced=True).class_balanced.all()
    plain = read_runs(tmp_path / "runs.csv", class_balanced=False)
    assert len(plain) == 6 and not plain.class_balanced.any()
    (curve,) = curves(plain).values()
    assert curve.n_train.tolist() == [30, 50, 100]
    with pytest.raises(SystemExit) as stop:  # the commands take the same choice
        main(["validate", "fit", "--csv", str(tmp_path / "runs.csv"), "--out", str(tmp_path / "fits.json")])
    assert stop.value.code == 2 and "--not-class-balanced" in capsys.readouterr().err
    main(["validate", "fit", "--csv", str(tmp_path / "runs.csv"), "--not-class-balanced", "--out", str(tmp_path / "fits.json")])
    assert '"runs": 6' in (tmp_path / "fits.json").read_text()
