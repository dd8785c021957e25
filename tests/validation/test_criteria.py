"""The pre-registered criteria, on synthetic tables whose answer is known: each passes where it should and,
as importantly, fails where it should."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from prunescale.validation import criteria

from synthetic_runs import full, random_error, table


# -- 1. lossless ----------------------------------------------------------------------


def test_keep_hard_that_matches_the_whole_pool_down_to_half_is_lossless_there_and_random_is_not():
    frame = table(hard=lambda n, f: full(n / f) + (0.0 if f >= 0.5 else 0.03))
    verdict = criteria.claim_lossless(frame, 10000)
    assert verdict["holds"] and verdict["at"] == [0.5]
    assert verdict["hard"]["smallest_lossless"] == 0.5 and verdict["random"]["smallest_lossless"] is None


def test_a_loss_of_one_point_at_half_is_not_lossless():
    frame = table(hard=lambda n, f: full(n / f) + 0.01)
    assert not criteria.claim_lossless(frame, 10000)["holds"]
    assert criteria.lossless(frame, 10000, "el2n", "hard")["smallest_lossless"] is None


def test_a_lone_pass_at_small_f_below_a_loss_at_larger_f_is_no_witness():
    frame = table(hard=lambda n, f: full(n / f) + {0.7: 0.02, 0.5: 0.02, 0.3: 0.0}[f])
    verdict = criteria.claim_lossless(frame, 10000)
    assert [p["lossless"] for p in verdict["hard"]["points"]] == [False, False, True]
    assert not verdict["holds"] and verdict["hard"]["smallest_lossless"] is None


def test_two_noisy_seeds_cannot_claim_lossless():
    frame = table(hard=lambda n, f: full(n / f), noise=0.004)
    frame = frame[frame.seed < 2]
    points = criteria.lossless(frame, 10000, "el2n", "hard")["points"]
    assert all(p["upper95"] > p["loss"] for p in points) and not all(p["lossless"] for p in points)


# -- 2. crossover ----------------------------------------------------------------------


def test_a_winner_that_changes_with_the_pool_is_a_crossover():
    hard = lambda n, f: random_error(n) * (0.9 if n / f >= 10000 else 1.1)
    easy = lambda n, f: random_error(n)
    verdict = criteria.crossover(table(hard, easy))
    assert verdict["holds"] and verdict["changes"] == [0.3, 0.5, 0.7]
    assert {p["winner"] for p in verdict["points"] if p["pool_size"] == 2500} == {"easy"}


def test_the_same_winner_everywhere_is_no_crossover():
    verdict = criteria.crossover(table(lambda n, f: 0.9 * random_error(n), lambda n, f: random_error(n)))
    assert not verdict["holds"] and {p["winner"] for p in verdict["points"]} == {"hard"}


# -- 3. beats the power law ---------------------------------------------------------------


def test_a_fixed_f_curve_steeper_than_random_and_below_it_beats_the_power_law():
    frame = table(hard=lambda n, f: random_error(2500) * (n / 2500) ** -0.8 * 0.95)
    verdict = criteria.beats_power_law(frame, 0.5)
    assert verdict["holds"] and verdict["slope"] < verdict["random_slope"]


def test_a_curve_catastrophic_at_small_f_that_recovers_near_f_1_does_not():
    """The old criterion's blind spot: over f at one pool this curve 'steepens'; across pools at fixed f it
    runs parallel to random pruning, above it."""
    frame = table(hard=lambda n, f: random_error(n) * (1 + 5 * max(0.0, 0.8 - f)))
    for f in (0.3, 0.5, 0.7):
        verdict = criteria.beats_power_law(frame, f)
        assert not verdict["holds"] and not verdict["below_random"]


def test_steeper_but_above_random_at_the_largest_size_does_not():
    frame = table(hard=lambda n, f: random_error(2500) * 3 * (n / 2500) ** -0.5)
    verdict = criteria.beats_power_law(frame, 0.5)
    assert verdict["steeper"] and not verdict["below_random"] and not verdict["holds"]


def test_a_third_seed_run_on_the_largest_pool_alone_has_no_slope_and_is_left_out_of_the_interval():
    """As in the fair plan, which runs seed 2 on the 10k pool only."""
    frame = table(hard=lambda n, f: random_error(2500) * 3 * (n / 2500) ** -0.5, noise=0.002)
    frame = frame[(frame.seed < 2) | (frame.pool_size == 10000)]
    verdict = criteria.beats_power_law(frame, 0.5)
    assert verdict["slope_seeds"] == [0, 1] and len(verdict["per_seed_slope_differences"]) == 2
    assert all(np.isfinite(verdict["slope_difference_ci95"]))


def test_the_slope_interval_is_a_t_interval_on_the_per_seed_slope_differences():
    frame = table(hard=lambda n, f: random_error(2500) * 3 * (n / 2500) ** -0.5, noise=0.004)
    verdict = criteria.beats_power_law(frame, 0.5)
    d = np.array(verdict["per_seed_slope_differences"])
    half = stats.t.ppf(0.975, d.size - 1) * d.std(ddof=1) / np.sqrt(d.size)
    assert verdict["slope_difference_ci95"] == pytest.approx([d.mean() - half, d.mean() + half])
    for seed, difference in zip(verdict["slope_seeds"], d):  # each seed's own least-squares slopes
        rows = frame[frame.seed == seed]
        hard = rows[(rows.policy == "hard") & (rows.keep_fraction == 0.5)]
        rand = rows[(rows.policy == "random") & rows.n_train.between(hard.n_train.min(), hard.n_train.max())]
        rand = rand.groupby("n_train").test_error.mean()
        fit = lambda n, e: np.polyfit(np.log(n), np.log(e), 1)[0]
        assert difference == pytest.approx(fit(hard.n_train, hard.test_error) - fit(rand.index, rand.values), rel=1e-9)


# -- comparability ------------------------------------------------------------------------


def test_a_table_that_mixes_budgets_or_devices_within_a_pool_is_refused():
    frame = table(hard=lambda n, f: random_error(n))
    mixed = frame.copy()
    mixed.loc[(mixed.pool_size == 10000) & (mixed.keep_fraction == 0.5), "device"] = "NVIDIA H200"
    with pytest.raises(ValueError, match="mix device"):
        criteria.claim_lossless(mixed, 10000)
    mixed = frame.copy()
    mixed.loc[mixed.keep_fraction == 0.3, "budget"] = "epochs"
    with pytest.raises(ValueError, match="mix budget"):
        criteria.crossover(mixed)


def test_duplicate_runs_are_not_taken_for_pairs():
    frame = table(hard=lambda n, f: random_error(n))
    with pytest.raises(ValueError, match="more than one run per seed"):
        criteria.lossless(pd.concat([frame, frame]), 10000, "el2n", "hard")


def _pilot(errors):
    return pd.DataFrame(
        [
            dict(metric="random", policy="random", pool_size=10000, keep_fraction=1.0, n_train=10000, seed=s,
                 budget="steps", steps=steps, config="default", device="cpu", test_error=e + 0.001 * s)
            for steps, e in errors.items()
            for s in (0, 1)
        ]
    )


def test_the_pilot_takes_the_knee_where_doubling_the_steps_gains_less_than_half_a_point():
    assert criteria.pilot_budget(_pilot({782: 0.12, 1563: 0.095, 3125: 0.092}))["steps"] == 1563
    assert criteria.pilot_budget(_pilot({782: 0.094, 1563: 0.092, 3125: 0.091}))["steps"] == 782


def test_a_pilot_still_improving_at_its_largest_budget_takes_the_largest():
    assert criteria.pilot_budget(_pilot({782: 0.2, 1563: 0.15, 3125: 0.1}))["steps"] == 3125


def test_each_slope_is_the_least_squares_slope_of_its_seed_weighted_mean_curve():
    rng = np.random.default_rng(1)
    rows = pd.DataFrame(
        [dict(seed=s, n_train=n, test_error=float(rng.uniform(0.1, 0.5))) for s in (0, 1, 2) for n in (100, 300, 1000)]
        + [dict(seed=1, n_train=300, test_error=0.2)]  # a seed with two runs of one size counts both
    ).query("not (seed == 2 and n_train == 1000)")  # a size that seed 2 lacks
    sums, counts = criteria._seed_sums(rows)
    weights = np.array([[1.0, 1.0, 1.0], [2.0, 0.0, 1.0], [0.0, 0.0, 3.0]])
    for w, slope in zip(weights, criteria._slopes(weights, sums, counts)):
        weight = rows.seed.map(dict(zip(sums.index, w)))
        mean = ((rows.test_error * weight).groupby(rows.n_train).sum() / weight.groupby(rows.n_train).sum()).dropna()
        assert slope == pytest.approx(np.polyfit(np.log(mean.index), np.log(mean.values), 1)[0], rel=1e-12)
