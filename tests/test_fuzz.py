"""Fuzz the public entry points: any accepted input gives numbers in range, never a crash or a NaN.

The theory's accepted domain is the one where its solver is verified (docs/theory.md, "Where the solver is
verified"); every policy is fuzzed on the whole of it, and a point outside it is refused by name."""

import math

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

from prunescale import sim
from prunescale import theory

log_uniform = lambda lo, hi: st.floats(math.log10(lo), math.log10(hi)).map(lambda e: 10.0**e)


@given(alpha_prune=log_uniform(1e-6, 1e12), keep_fraction=log_uniform(1e-9, 1.0))
@settings(max_examples=40, deadline=None)
def test_keep_hard_with_a_perfect_metric_converges_on_its_whole_domain(alpha_prune, keep_fraction):
    e = theory.test_error(alpha_prune, keep_fraction, 0.0, "hard")
    assert 0.0 <= e <= 0.5


@given(alpha_prune=log_uniform(1e-6, 1e12), keep_fraction=log_uniform(1e-9, 1.0), theta=st.floats(0, 90))
@settings(max_examples=30, deadline=None)
def test_random_pruning_converges_on_its_whole_domain(alpha_prune, keep_fraction, theta):
    e = theory.test_error(alpha_prune, keep_fraction, theta, "random")
    assert 0.0 <= e <= 0.5


@given(
    alpha_tot=log_uniform(1e-3, 1e6),
    keep_fraction=log_uniform(1e-9, 1.0),
    theta=st.one_of(st.just(0.0), st.floats(1e-6, 90.0)),
    policy=st.sampled_from(["hard", "easy"]),
)
@settings(max_examples=60, deadline=None)
def test_every_policy_and_metric_converges_on_its_whole_accepted_domain(alpha_tot, keep_fraction, theta, policy):
    alpha_prune = alpha_tot * keep_fraction
    if policy == "easy" and theta == 0 and keep_fraction < 1:
        alpha_prune = min(alpha_prune, theory.error.VERIFIED_EASY_KEPT)
    e = theory.test_error(alpha_prune, keep_fraction, theta, policy)
    assert 0.0 <= e <= 0.5


@given(
    alpha_prune=log_uniform(1e-6, 1e12),
    keep_fraction=log_uniform(1e-9, 0.999),
    theta=st.floats(0.0, 90.0),
    policy=st.sampled_from(["hard", "easy"]),
)
@settings(max_examples=60, deadline=None)
def test_outside_the_verified_domain_the_theory_refuses_by_name_and_inside_answers(alpha_prune, keep_fraction, theta, policy):
    outside = (theta > 0 and alpha_prune / keep_fraction > theory.error.VERIFIED_POOL) or (
        theta == 0 and policy == "easy" and alpha_prune > theory.error.VERIFIED_EASY_KEPT
    )
    if outside:
        with pytest.raises(ValueError, match="the domain where the solver is verified"):
            theory.test_error(alpha_prune, keep_fraction, theta, policy)
    else:
        assert 0.0 <= theory.test_error(alpha_prune, keep_fraction, theta, policy) <= 0.5


@given(
    N=st.integers(1, 12),
    alpha_tot=log_uniform(0.1, 20.0),
    keep_fraction=st.floats(0.01, 1.0),
    theta=st.floats(0.0, 90.0),
    policy=st.sampled_from(["hard", "easy", "random"]),
)
@settings(max_examples=6, deadline=None)  # each draw compiles its own shapes: about 3 s
def test_a_simulation_of_any_accepted_grid_point_gives_errors_in_range(N, alpha_tot, keep_fraction, theta, policy):
    if round(alpha_tot * N) < 1:
        return  # refused with a clear error (tested elsewhere)
    res = sim.simulate(N, alpha_tot, keep_fraction, theta, policy, seeds=2)
    assert np.all((res.error.values >= 0) & (res.error.values <= 1)) and not np.isnan(res.error.values).any()
    z = sim.compare_with_theory(res).z.values
    assert not np.isinf(z).any()


@settings(max_examples=60, deadline=None)
@given(
    P=st.integers(1, 60),
    N=st.integers(1, 12),
    spread=st.integers(1, 3),
    seed=st.integers(0, 2**31 - 1),
)
def test_the_cpu_solver_matches_nnls_or_refuses_on_degenerate_integer_data(P, N, spread, seed):
    """Small integers give ties, repeated rows and exactly dependent supports: the hard cases for active sets."""
    rng = np.random.default_rng(seed)
    X = rng.integers(-spread, spread + 1, size=(P, N)).astype(float)
    y = np.where(X @ rng.integers(-2, 3, size=N) >= 0, 1.0, -1.0)
    res = sim.max_margin(X, y, solver="active-set", strict=False)
    try:
        ref = sim.max_margin_reference(X, y)
    except ValueError:  # not separable (an all-zero row, or opposite labels on one point)
        assert not res.certified
        return
    assert res.certified
    assert np.linalg.norm(res.w - ref) <= 1e-6 * np.linalg.norm(ref)
