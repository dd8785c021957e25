"""The 50k test: its plan (independent scoring, the machine recorded), its reading rules on synthetic tables whose
answer is known, and the warped calibration behind its predictions."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from prunescale.validation import calibrate, largescale
from prunescale.validation.plans import full_pool_plan, gpu_plan, scale_plan

REPRODUCED, NOT_REPRODUCED, UNDECIDED = largescale.VERDICTS
SEEDS = (3, 4, 5)
BUDGETS = (3907, 7814)


def scale_table(hard_loss, random_loss=0.01, noise=0.0005, seed_effect=0.004, budgets=BUDGETS, cpu=None):
    """The plan's runs: the 50k pool at each budget, pools of 12.5k and 25k at the first. ``hard_loss(pool, steps)``
    is keep-hard f = 0.5's error above the whole pool's; random f = 0.5 loses ``random_loss``."""
    rng = np.random.default_rng(1)
    shift = dict(zip(SEEDS, rng.normal(0, seed_effect, len(SEEDS))))
    rows = []
    for steps in budgets:
        pools = (12500, 25000, 50000) if steps == budgets[0] else (50000,)
        for pool in pools:
            whole = 2.0 * pool**-0.4
            for s in SEEDS:
                base = dict(pool_size=pool, seed=s, budget="steps", steps=steps, config="default", device="cpu",
                            class_balanced=False, cpu_model=(cpu or {}).get(s, "cpu A"))
                for metric, policy, f, e in (("random", "random", 1.0, whole), ("random", "random", 0.5, whole + random_loss),
                                             ("el2n", "hard", 0.5, whole + hard_loss(pool, steps))):
                    rows.append(base | dict(metric=metric, policy=policy, keep_fraction=f, n_train=int(f * pool),
                                            test_error=e + shift[s] + rng.normal(0, noise)))
    return pd.DataFrame(rows)


def steeper_hard_curve(pool, steps):
    """Keep-hard's loss shrinks with the pool and turns into a gain at 50k: a steeper curve that crosses random."""
    return {12500: 0.03, 25000: 0.012, 50000: 0.0}[pool]


# -- the plan ------------------------------------------------------------------------------------------------


def scoring_seeds(job):
    return json.loads(job.metric_options).get("init_seeds")


@pytest.mark.parametrize("plan", [scale_plan, gpu_plan], ids=["scale", "gpu"])
def test_no_two_job_seeds_share_a_scoring_network(plan):
    scored = [j for j in plan() if j.policy != "random"]
    by_seed = {}
    for job in scored:
        assert len(scoring_seeds(job)) == json.loads(job.metric_options)["inits"]
        by_seed.setdefault(job.seed, set()).update(scoring_seeds(job))
    seeds = sorted(by_seed)
    assert len(seeds) == 3
    for i, a in enumerate(seeds):
        assert not by_seed[a] & set(seeds)  # nor any job's own training seed
        for b in seeds[i + 1 :]:
            assert not by_seed[a] & by_seed[b]


def test_the_older_plans_share_scoring_networks_between_seeds_which_is_why_the_50k_test_names_them():
    fair = [j for j in full_pool_plan() if j.policy != "random"]
    assert all(scoring_seeds(j) is None for j in fair)
    from prunescale.validation.metrics.el2n import scoring_seeds as networks

    assert len(set(networks(8, 0)) & set(networks(8, 1))) == 7


def test_the_scale_plan_runs_claim_1_at_both_budgets_first_and_then_the_smaller_pools():
    jobs = scale_plan()
    assert len(jobs) == 36 and {j.seed for j in jobs} == set(SEEDS)
    order = [(j.pool_size, j.steps) for j in jobs]
    assert order[:9] == [(50000, 3907)] * 9 and order[9:18] == [(50000, 7814)] * 9
    assert {p for p, _ in order[18:]} == {12500, 25000} and {s for _, s in order[18:]} == {3907}
    # one scoring per pool and seed serves both budgets: its options do not depend on the run's steps
    hard = [j for j in jobs if j.policy == "hard" and j.pool_size == 50000]
    assert len({(j.seed, j.metric_options) for j in hard}) == 3
    assert all(json.loads(j.metric_options)["steps"] == 3907 for j in hard)


def test_every_registered_plan_keeps_its_job_keys():
    """Every finished run of the committed tables stays found: the job keys of the plans are pinned (a plan that
    needs a budget at the fair test's 3,125 steps; the custom plan at its command-line defaults)."""
    from pathlib import Path

    from prunescale.validation.plans import PLANS

    pinned = json.loads((Path(__file__).parent / "data" / "plan_keys.json").read_text())
    registered = {name.replace("-", "_"): (name, plan) for name, plan in PLANS.items()}
    assert set(pinned) <= set(registered)  # a new plan is one registry entry; pin its keys once it has runs
    for key, (name, plan) in ((k, registered[k]) for k in pinned):
        assert [j.key for j in plan.jobs(name, 3125 if plan.steps == "required" else None)] == pinned[key], name


def test_init_seeds_must_name_one_distinct_seed_per_init():
    from prunescale.validation.metrics.el2n import scoring_seeds as networks

    assert networks(3, 5) == [5, 6, 7] and networks(2, 0, [40, 7]) == [40, 7]
    for bad in ([1], [1, 1], [1, -2], [1, 2.5]):
        with pytest.raises(ValueError, match="init_seeds must be 2 distinct non-negative integers"):
            networks(2, 0, bad)


# -- claim 1 at each budget ----------------------------------------------------------------------------------


def test_claim_1_is_reproduced_at_a_budget_where_keep_hard_is_lossless_and_random_is_not():
    result = largescale.verdicts(scale_table(lambda pool, steps: -0.002))
    assert [c.verdict for c in result.claim_1] == [REPRODUCED, REPRODUCED]


def test_claim_1_is_not_reproduced_where_keep_hard_loses_more_than_the_tolerance():
    result = largescale.verdicts(scale_table(lambda pool, steps: 0.002 if steps == 3907 else 0.02))
    assert [c.verdict for c in result.claim_1] == [REPRODUCED, NOT_REPRODUCED]


def test_claim_1_is_not_reproduced_where_random_pruning_is_lossless_too():
    result = largescale.verdicts(scale_table(lambda pool, steps: 0.0, random_loss=0.0))
    assert {c.verdict for c in result.claim_1} == {NOT_REPRODUCED}


def test_claim_1_is_undecided_where_a_loss_near_the_tolerance_is_within_the_noise():
    result = largescale.verdicts(scale_table(lambda pool, steps: 0.005, noise=0.004))
    assert {c.verdict for c in result.claim_1} == {UNDECIDED} and all(c.complete for c in result.claim_1)


def test_a_budget_without_all_its_runs_is_undecided_and_names_what_is_missing():
    frame = scale_table(lambda pool, steps: -0.002)
    frame = frame[~((frame.steps == 7814) & (frame.seed == 5) & (frame.policy == "hard"))]
    second = largescale.verdicts(frame).claim_1[1]
    assert second.verdict == UNDECIDED and not second.complete
    assert second.missing == (dict(policy="hard", keep_fraction=0.5, metric="el2n"),)


def test_the_budget_interaction_says_whether_longer_training_changes_the_loss():
    result = largescale.verdicts(scale_table(lambda pool, steps: 0.0 if steps == 3907 else 0.02))
    by_policy = {r.policy: r for r in result.budget_interaction}
    assert by_policy["hard"].outcome == "grows" and abs(by_policy["hard"].change - 0.02) < 0.003
    assert by_policy["random"].outcome == "unresolved"
    flat = largescale.verdicts(scale_table(lambda pool, steps: 0.01, noise=0.004))
    assert {r.outcome for r in flat.budget_interaction} == {"unresolved"}


# -- claim 3 at scale ----------------------------------------------------------------------------------------


def test_claim_3_is_reproduced_where_keep_hard_falls_faster_and_ends_below_random():
    result = largescale.verdicts(scale_table(steeper_hard_curve))
    claim = result.claim_3
    assert claim.verdict == REPRODUCED and claim.details["seeds_at_largest"] == 3 and claim.details["largest_kept"] == 25000


def test_claim_3_is_not_reproduced_where_keep_hard_stays_above_random_at_the_largest_kept_size():
    result = largescale.verdicts(scale_table(lambda pool, steps: 0.03))
    assert result.claim_3.verdict == NOT_REPRODUCED


def test_claim_3_reads_slopes_seed_by_seed_with_a_t_interval():
    claim = largescale.verdicts(scale_table(steeper_hard_curve)).claim_3.details
    assert len(claim["per_seed_slope_differences"]) == 3
    low, high = claim["slope_difference_ci95"]
    assert low < np.mean(claim["per_seed_slope_differences"]) < high < 0


# -- machines ------------------------------------------------------------------------------------------------


MOVED_TO_CPU_B = {  # runs of seed 4 moved to another CPU model, and the comparisons that must be flagged
    "a 7,814-step hard half": (lambda t: (t.policy == "hard") & (t.steps == 7814),
                               {"7814 steps: keep-hard f = 0.5 - f = 1",
                                "7814 steps: keep-hard - random, f = 0.5",
                                "keep-hard f = 0.5, 7814 against 3907 steps"}),
    "the 12.5k pool's halves": (lambda t: (t.pool_size == 12500) & (t.keep_fraction == 0.5),
                                {"pool 12500, 3907 steps: random f = 0.5 - f = 1",
                                 "pool 12500, 3907 steps: keep-hard f = 0.5 - f = 1",
                                 "claim 3 at scale, 3907 steps: every run of a seed's two curves"}),
}


@pytest.mark.parametrize("moved", MOVED_TO_CPU_B)
def test_a_comparison_whose_runs_span_cpu_models_is_flagged(moved):
    frame = scale_table(lambda pool, steps: 0.0)
    assert largescale.verdicts(frame).mixed_machines == ()
    runs, expected = MOVED_TO_CPU_B[moved]
    frame.loc[(frame.seed == 4) & runs(frame), "cpu_model"] = "cpu B"
    flagged = largescale.verdicts(frame).mixed_machines
    assert {f.comparison for f in flagged} == expected
    assert all(f.seeds == (4,) and f.cpu_models == ("cpu A", "cpu B") for f in flagged)


def with_seed_5_smaller_pools_on_cpu_b():
    frame = scale_table(steeper_hard_curve)
    frame.loc[(frame.seed == 5) & (frame.pool_size < 50000), "cpu_model"] = "cpu B"
    return frame


def test_claim_3_is_read_under_drift_only_where_a_seeds_curves_mix_cpu_models():
    one_model = scale_table(steeper_hard_curve)
    assert largescale.verdicts(one_model, drift_sd=0.003).claim_3_drift is None
    assert largescale.claim_3_under_drift(one_model, 3907, 0.003).draws == 0  # nothing to move, nothing drawn
    drift = largescale.claim_3_under_drift(with_seed_5_smaller_pools_on_cpu_b(), 3907, 0.003, draws=20)
    assert drift.moved_runs == 6 and drift.verdict == REPRODUCED  # seed 5's runs on the 12.5k and 25k pools


@pytest.mark.parametrize("drift_sd, survives", [(0.0005, True), (0.05, False)])
def test_a_verdict_survives_drift_well_below_its_margin_and_not_drift_far_above_it(drift_sd, survives):
    drift = largescale.claim_3_under_drift(with_seed_5_smaller_pools_on_cpu_b(), 3907, drift_sd, draws=100)
    assert drift.draws == 100 and (drift.share_same == 1.0) == survives
    assert survives or drift.share_same < 0.8


@pytest.mark.parametrize("drift_sd", [-0.001, float("nan")])
def test_a_drift_that_is_not_a_standard_deviation_is_refused_by_name(drift_sd):
    with pytest.raises(ValueError, match="drift_sd must be a finite standard deviation >= 0"):
        largescale.claim_3_under_drift(with_seed_5_smaller_pools_on_cpu_b(), 3907, drift_sd)


# -- the warped calibration ----------------------------------------------------------------------------------


def theory_table(theta, amplitude=5.6, exponent=-0.4, pools=(2500, 5000, 10000), fractions=(1.0, 0.7, 0.5, 0.3)):
    """Runs whose errors are the warped theory's own, at angle ``theta``, with 1% noise; six seeds, so that each
    point's standard error is itself steady enough for a chi-square."""
    warp = calibrate.Warp(amplitude, exponent, ((0.0, 0.0), (0.0, 0.0)), 0.0, 0)
    rng = np.random.default_rng(0)
    rows = []
    for pool in pools:
        for f in fractions:
            n = int(round(f * pool))
            policies = [("random", "random")] + ([("el2n", "hard"), ("el2n", "easy")] if f < 1 else [])
            for metric, policy in policies:
                e = float(largescale.predict_error(warp, theta, n, f, policy))
                for s in range(6):
                    rows.append(dict(metric=metric, policy=policy, pool_size=pool, keep_fraction=f, n_train=n, seed=s,
                                     budget="steps", steps=3125, test_error=e * (1 + rng.normal(0, 0.01)),
                                     class_balanced=False))
    return pd.DataFrame(rows)


def test_the_warp_fits_random_pruning_by_construction():
    n = np.array([1000.0, 3000.0, 10000.0, 30000.0])
    warp = calibrate.fit_warp(n, 3.0 * n**-0.35, 0.01 * 3.0 * n**-0.35)
    assert warp.exponent == pytest.approx(-0.35) and warp.chi2 < 1e-12
    from prunescale import theory

    assert np.allclose(theory.test_error(warp.alpha(n), 1.0), warp.random_error(n), rtol=1e-5)


def test_the_warped_calibration_recovers_a_planted_angle_and_fits_every_curve():
    cal = largescale.warped_calibration(theory_table(theta=30.0))
    assert cal.theta == pytest.approx(30.0, abs=1.0)
    low, high = cal.theta_ci95
    assert low <= 30.0 <= high
    assert cal.per_curve[0].chi2_per_dof < 3  # the random curve, a power law by construction
    # the pruned curves near their noise (their chi-square leaves out the fitted warp's own uncertainty); the fair
    # test's real curves give 30 to 450 per degree of freedom
    assert cal.chi2 / (cal.pruned_points - 1) < 5


@pytest.mark.slow  # about 20 s: three calibrations
def test_the_held_out_pool_is_predicted_from_the_other_two():
    for check in largescale.held_out(theory_table(theta=30.0)):
        for point in check.points:
            assert point.predicted == pytest.approx(point.measured, rel=0.02)


@pytest.mark.slow  # about 12 s
def test_predictions_give_each_planned_run_an_interval_and_each_comparison_a_sign():
    frame = theory_table(theta=30.0)
    jobs = [j for j in scale_plan() if j.steps == 3907]
    result = largescale.predictions(frame, jobs)
    assert len(result.runs) == len(jobs)
    for run in result.runs:
        low, high = run.interval95
        assert 0 < low < run.predicted < high < 0.5
    signs = {(c.pool_size, c.comparison): c.sign for c in result.comparisons}
    assert signs[(50000, "random f = 0.5 - f = 1")] == "positive"  # random pruning always costs something


# -- the predictions against what was measured -------------------------------------------------------------------


def test_predictions_are_scored_run_by_run_and_comparison_by_comparison():
    """Coverage counts the runs inside their interval; a sign is right where the measured paired mean agrees."""
    frame = scale_table(lambda pool, steps: 0.004, random_loss=0.01, noise=0.0, seed_effect=0.0)
    first = frame[(frame.steps == 3907) & (frame.pool_size == 50000) & (frame.seed == 3)].reset_index(drop=True)
    first["config_hash"] = ["whole", "random-half", "hard-half"]
    whole, half, hard = first.test_error
    run = lambda key, policy, f, centre: largescale.PredictedRun(key, 50000, f, policy, 3, 3907, int(50000 * f), centre,
                                                                (centre - 0.001, centre + 0.001))
    comparison = lambda pool, name: largescale.PredictedComparison(pool, name, 0.02, (0.01, 0.03), "positive", True)
    predicted = largescale.Predictions(
        calibration=None,  # type: ignore[arg-type]  # not read here
        relative_seed_spread=0.01,
        runs=(run("whole", "random", 1.0, whole + 0.0005), run("random-half", "random", 0.5, half + 0.01),
              run("not-run", "random", 1.0, 0.1)),
        comparisons=(comparison(50000, "keep-hard - random, f = 0.5"), comparison(50000, "random f = 0.5 - f = 1"),
                     comparison(12500, "random f = 0.5 - f = 1")),
    )
    report = largescale.predicted_against_measured(first, predicted)
    assert [r.covered for r in report.runs] == [True, False]  # the run not yet made is not scored
    assert report.compared == 2 and report.covered == 1
    assert report.mean_absolute_error == pytest.approx((0.0005 + 0.01) / 2)
    signs = {c.comparison.comparison: c.sign_right for c in report.comparisons}
    assert signs == {"keep-hard - random, f = 0.5": False, "random f = 0.5 - f = 1": True}  # hard - random = -0.006
    assert report.signs_right == 1 and report.signs_compared == 2  # the pool not yet run is not compared


# -- the committed predictions -------------------------------------------------------------------------------


def test_the_committed_predictions_read_back_as_typed_records_and_write_back_unchanged():
    from prunescale.figures.largescale_figure import PREDICTIONS
    from prunescale.store import from_json, to_json

    committed = json.loads(PREDICTIONS.read_text())
    record = from_json(largescale.Predictions, committed)
    assert len(record.runs) == 27 and record.calibration.warp.exponent < 0 and len(record.held_out) == 3
    assert to_json(record) == committed


@pytest.mark.slow  # about 15 s: four calibrations
def test_the_committed_predictions_are_reproduced_from_the_main_table_alone():
    from prunescale.figures import DATA
    from prunescale.figures.largescale_figure import PREDICTIONS
    from prunescale.store import to_json
    from prunescale.validation.analysis import read_runs

    frame = read_runs(DATA / "cifar10_fair" / "runs.csv")
    jobs = [j for j in scale_plan() if j.steps == 3907]
    again = to_json(dataclasses.replace(largescale.predictions(frame, jobs), held_out=largescale.held_out(frame)))
    committed = json.loads(PREDICTIONS.read_text())
    committed.pop("source")
    assert _close(again, committed)


def _close(a, b, rel=1e-9):
    """Nested JSON values equal, floats to ``rel`` (another BLAS may move the last digits)."""
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k], rel) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_close(x, y, rel) for x, y in zip(a, b))
    if isinstance(a, float):
        return a == pytest.approx(b, rel=rel)
    return a == b


def test_the_committed_50k_record_holds_what_the_committed_table_gives_for_every_complete_budget():
    """A budget's reading of claim 1 is final once all its runs are in, so runs added later (the other budget, the
    smaller pools) cannot move it: each complete reading in the committed record must be exactly what the committed
    table gives. The 3,907-step reading is complete, so this always checks at least one."""
    from prunescale.figures.largescale_figure import RECORD, RUNS, readings
    from prunescale.validation.analysis import read_runs

    complete = [c for c in readings(json.loads(RECORD.read_text()))[0].claim_1 if c.complete]
    assert 3907 in [c.steps for c in complete]
    frame = read_runs(RUNS)
    for committed in complete:
        assert largescale.claim_1_at_budget(frame, committed.steps) == committed
