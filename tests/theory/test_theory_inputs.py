"""Bad input gets a ValueError naming the parameter and its range, in the API and the CLI."""

import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prunescale import theory
from prunescale.cli import main

outside_unit = st.one_of(
    st.floats(max_value=0.0), st.floats(min_value=1.0, exclude_min=True), st.just(np.nan), st.just(np.inf)
)
outside_angle = st.one_of(
    st.floats(max_value=0.0, exclude_max=True), st.floats(min_value=90.0, exclude_min=True), st.just(np.nan)
)


@settings(max_examples=40, deadline=None)
@given(outside_unit)
def test_keep_fraction_outside_unit_interval_is_rejected(f):
    with pytest.raises(ValueError, match="keep_fraction"):
        theory.solve(2.0, f)


@settings(max_examples=40, deadline=None)
@given(outside_angle)
def test_theta_outside_0_90_is_rejected(theta):
    with pytest.raises(ValueError, match=r"theta"):
        theory.solve(2.0, 0.5, theta)


@settings(max_examples=40, deadline=None)
@given(st.one_of(st.floats(max_value=0.0), st.just(np.nan), st.just(-np.inf), st.floats(min_value=1.01e12)))
def test_alpha_prune_outside_range_is_rejected(alpha):
    with pytest.raises(ValueError, match="alpha_prune"):
        theory.solve(alpha, 0.5)


def test_messages_name_the_valid_range():
    with pytest.raises(ValueError, match=r"keep_fraction must lie in \(0, 1\]"):
        theory.test_error(2.0, 1.5)
    with pytest.raises(ValueError, match=r"theta \(degrees\) must lie in \[0, 90\]"):
        theory.test_error(2.0, 0.5, theta=91)
    with pytest.raises(ValueError, match="policy must be one of hard, easy, random"):
        theory.test_error(2.0, 0.5, policy="medium")
    with pytest.raises(ValueError, match="tolerance"):
        theory.lossless_keep_fraction(100.0, tolerance=0.0)
    with pytest.raises(ValueError, match="target_error"):
        theory.kept_size_for_error(0.7, max_pool=100)
    with pytest.raises(ValueError, match=r"theta \(degrees\) must lie in \[0, 90\]"):
        theory.keep_fraction_floor(-5.0)
    with pytest.raises(ValueError, match="tolerance"):
        theory.keep_fraction_floor(10.0, tolerance=1.5)


def test_public_api_is_pinned():
    assert sorted(theory.__all__) == sorted(
        [
            "Choice",
            "ConvergenceError",
            "Frontier",
            "Lossless",
            "TheoryResult",
            "best_policy",
            "capacity_threshold",
            "hard_pruning_excess",
            "keep_fraction_floor",
            "kept_size_for_error",
            "lossless_keep_fraction",
            "no_pruning_coefficient",
            "optimal_keep_fraction",
            "pareto_frontier",
            "solve",
            "test_error",
        ]
    )


# -- CLI ------------------------------------------------------------------------------


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "prunescale", *args], capture_output=True, text=True)


def test_cli_error_json(capsys):
    main(["theory", "error", "--alpha-prune", "2", "--keep-fraction", "1", "--json"])
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["error"] == pytest.approx(theory.test_error(2.0, 1.0), rel=1e-12)


def test_cli_frontier_and_optimal_tables(capsys):
    main(["theory", "frontier", "--alpha-prune", "3,10", "--max-pool", "1e4"])
    out = capsys.readouterr().out
    assert "pool-limited" in out and "yes" in out
    main(["theory", "optimal", "--alpha-tot", "5", "--json"])
    rec = json.loads(capsys.readouterr().out)
    assert rec["optimal"]["policy"] == "easy"


@pytest.mark.parametrize(
    "args, needle",
    [
        (["theory", "error", "--alpha-prune", "2", "--keep-fraction", "1.5"], "keep_fraction must lie in (0, 1]"),
        (
            ["theory", "error", "--alpha-prune", "x", "--keep-fraction", "1"],
            "--alpha-prune must be a comma-separated list",
        ),
        (
            ["theory", "error", "--alpha-prune", "2", "--keep-fraction", "0.5", "--theta", "100"],
            "theta (degrees) must lie in [0, 90]",
        ),
        (["theory", "frontier", "--alpha-prune", "3"], "max_pool is required"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(args, needle):
    proc = run_cli(*args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0]
    assert "Traceback" not in proc.stderr


# -- The verified domain (docs/theory.md, "Where the solver is verified") ------------------


@pytest.mark.parametrize(
    "alpha_prune, f, theta, policy, match",
    [
        (1e5, 0.01, 10.0, "hard", "alpha_tot = alpha_prune / keep_fraction must be at most 1e\\+06"),
        (1e3, 1e-4, 30.0, "easy", "alpha_tot = alpha_prune / keep_fraction must be at most 1e\\+06"),
        (2e5, 0.5, 0.0, "easy", "alpha_prune must be at most 100000 for keep-easy"),
    ],
)
def test_a_point_outside_the_verified_domain_is_refused_with_the_rule_and_the_values(alpha_prune, f, theta, policy, match):
    with pytest.raises(ValueError, match=match):
        theory.test_error(alpha_prune, f, theta, policy)


@pytest.mark.parametrize("theta, policy", [(10.0, "hard"), (45.0, "easy"), (0.0, "easy")])
def test_keeping_everything_is_no_pruning_for_any_policy_and_metric_at_any_pool(theta, policy):
    pools = np.array([1e3, 1e7, 1e11])
    np.testing.assert_allclose(theory.test_error(pools, 1.0, theta, policy), theory.test_error(pools, 1.0), rtol=1e-12)


def test_the_frontier_stays_inside_the_verified_domain():
    with pytest.raises(ValueError, match="alpha_prune must be at most 1e\\+06 for policy='hard' at theta=10"):
        theory.pareto_frontier(1e12, theta=10.0)
    fr = theory.pareto_frontier([1.32894, 10.0, 1e3], theta=10.0)  # at 1.32894, exp(log(f)) used to round the
    assert (fr.alpha_tot <= theory.error.VERIFIED_POOL * (1 + 1e-9)).all()  # searched pool past 1e6: refused
    with pytest.raises(ValueError, match="alpha_tot must be at most 1e\\+06 for a metric with theta > 0"):
        theory.optimal_keep_fraction(1e7, theta=10.0)


def test_beyond_a_pool_of_1e5_keep_easy_cannot_beat_keeping_everything_so_it_is_not_searched():
    """With a perfect metric the searches drop keep-easy for pools above 1e5 (its kept sets leave the verified
    domain there).  Nothing is lost: already at 1e5 every keep-easy subset is worse than the whole pool, which
    (f = 1) stays a candidate."""
    at = theory.error.VERIFIED_EASY_KEPT
    f = np.geomspace(1e-3, 0.99, 25)
    assert (theory.test_error(at * f, f, 0.0, "easy") > theory.test_error(at, 1.0)).all()
    assert theory.optimal_keep_fraction(1e8).policy == "hard"


@pytest.mark.parametrize("alpha_tot, theta", [(5.0, 10.0), (5.0, 0.0), (200.0, 20.0), (1e4, 0.0)])
def test_the_chosen_keep_fraction_is_never_worse_than_keeping_everything_beyond_the_tie_tolerance(alpha_tot, theta):
    """f = 1 is always a candidate, so the best error is never above the whole pool's, and the cheapest f within
    rtol of the best is never more than rtol worse than keeping everything."""
    rtol = 1e-3
    choice = theory.optimal_keep_fraction(alpha_tot, theta, rtol=rtol)
    assert choice.min_error <= choice.full_error
    assert choice.error <= (1 + rtol) * choice.min_error * (1 + 1e-12) <= (1 + rtol) * choice.full_error * (1 + 1e-12)


def test_an_unpruned_student_overlaps_the_probe_by_R_cos_theta():
    for policy, f in (("random", 0.3), ("hard", 1.0), ("easy", 1.0)):
        r = theory.solve(3.0, f, 30.0, policy)
        assert float(r.rho) == pytest.approx(float(r.R) * np.cos(np.deg2rad(30.0)), rel=1e-12)
