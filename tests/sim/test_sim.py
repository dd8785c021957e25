"""The simulation side: the certified max-margin solver, grids, and agreement with theory."""

import json

import numpy as np
import pytest

from prunescale import sim
from prunescale import theory
from prunescale.cli import main
from prunescale.sim import compare_with_theory, max_margin, max_margin_reference, simulate


def _random_separable(rng, P, N):
    """Gaussian inputs labelled by a random teacher: separable at any P."""
    X = rng.standard_normal((P, N))
    return X, np.sign(X @ rng.standard_normal(N))


# -- The solver ----------------------------------------------------------------------


SOLVERS = pytest.mark.parametrize("solver", ["jax", "active-set"])


@SOLVERS
@pytest.mark.parametrize(
    "P, N",
    [(1, 1), (5, 40), (39, 40), (40, 40), (41, 40), (120, 40), (800, 20), (400, 100)],
    ids=["P=N=1", "P<<N", "P=N-1", "P=N", "P=N+1", "P=3N", "P=40N", "P=4N"],
)
def test_agrees_with_the_exact_nnls_solver(P, N, solver):
    rng = np.random.default_rng(P * 1000 + N)
    batch = [_random_separable(rng, P, N) for _ in range(4)]
    X, y = np.stack([b[0] for b in batch]), np.stack([b[1] for b in batch])
    res = max_margin(X, y, solver=solver)
    for i in range(len(batch)):
        ref = max_margin_reference(X[i], y[i])
        assert np.linalg.norm(res.w[i] - ref) < 1e-6 * np.linalg.norm(ref)
    assert res.certified.all() and (res.gap < 1e-10).all()
    margins = np.einsum("bpn,bn->bp", X * y[..., None], res.w)
    assert margins.min() == pytest.approx(1.0, abs=1e-12)  # w is feasible and tight
    np.testing.assert_allclose(res.kappa, 1 / np.linalg.norm(res.w, axis=-1))


@SOLVERS
@pytest.mark.parametrize("policy, f", [("hard", 0.2), ("easy", 0.2), ("random", 0.5), ("hard", 1.0)])
def test_agrees_with_nnls_on_pruned_pools(policy, f, solver):
    X, y, _, _ = sim.draw(5, N=60, alpha_tot=8.0 / f, keep_fraction=f, theta=10.0, policy=policy)
    res = max_margin(X, y, solver=solver)
    ref = max_margin_reference(X, y)
    assert np.linalg.norm(res.w - ref) < 1e-6 * np.linalg.norm(ref)


def test_any_leading_batch_shape():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2, 3, 30, 10))
    y = np.sign(X @ rng.standard_normal(10))
    res = max_margin(X, y)
    assert res.w.shape == (2, 3, 10) and res.certified.shape == (2, 3)
    single = max_margin(X[1, 2], y[1, 2])
    np.testing.assert_allclose(single.w, res.w[1, 2], rtol=1e-10)


@SOLVERS
@pytest.mark.parametrize("P, N", [(50, 10), (6, 10)], ids=["P>N", "P<N"])
def test_non_separable_input_is_flagged_or_raises_never_answered(solver, P, N):
    rng = np.random.default_rng(1)
    X, y = _random_separable(rng, P, N)
    X_bad, y_bad = np.vstack([X, X[:1]]), np.append(y, -y[0])  # the same point with both labels
    X_good, y_good = np.vstack([X, X[:1]]), np.append(y, y[0])
    res = max_margin(np.stack([X_bad, X_good]), np.stack([y_bad, y_good]), strict=False, solver=solver)
    assert res.certified.tolist() == [False, True]
    assert np.isnan(res.w[0]).all() and np.isfinite(res.w[1]).all()
    with pytest.raises(ValueError, match="not certified"):
        max_margin(X_bad, y_bad, solver=solver)
    with pytest.raises(ValueError, match="not separable"):
        max_margin_reference(X_bad, y_bad)


@pytest.mark.parametrize(
    "X, y, match",
    [
        (np.ones((3, 2)), np.array([1.0, 0.0, 1.0]), "y must hold labels"),
        (np.ones((3, 2)), np.ones(4), "X must have shape"),
        (np.full((3, 2), np.nan), np.ones(3), "X must be finite"),
    ],
)
def test_bad_input_is_named(X, y, match):
    with pytest.raises(ValueError, match=match):
        max_margin(X, y)


def test_the_running_inverse_is_refactorised_exactly_on_the_passive_set():
    """Drift is reset by recomputing the inverse Gram matrix of the occupied slots; empty slots stay zero."""
    import jax
    import jax.numpy as jnp

    from prunescale.sim import solver

    rng = np.random.default_rng(0)
    with jax.enable_x64(True):
        G = jnp.asarray(rng.standard_normal((30, 8)))
        start, add_step = solver._lawson_hanson_rounds(G, 1e-13)
        state = start
        for _ in range(5):
            state = add_step(state)
        refactored = solver._refactored(G, state)
        slots, GF, inverse = refactored.slots, refactored.passive_rows, refactored.inverse
        occupied = np.asarray(slots) < 30
        gram = np.asarray(GF @ GF.T + 1.0)[np.ix_(occupied, occupied)]
        np.testing.assert_allclose(np.asarray(inverse)[np.ix_(occupied, occupied)] @ gram, np.eye(occupied.sum()), atol=1e-10)
        assert not np.asarray(inverse)[~occupied].any() and occupied.sum() >= 2


@pytest.mark.slow
@pytest.mark.xfail(strict=False, reason="rounding differs between CPU models: on Xeon family 6 model 207 (2026-12-07) "
                   "problem 1 stays at gap 3e-3 with the refactorisation as without it, with the solver of 70c5569 as "
                   "with today's (bit-identical); sim's grid re-solves such a problem exactly with NNLS")
def test_refactorising_certifies_the_keep_hard_problems_the_drifting_inverse_left_uncertified():
    """At P = 2000 keep-hard (seeds 0-15, the benchmark's instances, batch 16) the rank-one-updated inverse
    alone left one problem uncertified on this machine (gap 3e-3); with the refactorisation every one is."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
    from bench_sim import instances

    X, y = instances(2000, 200, 16, "hard", 0.5)
    assert max_margin(X, y, strict=False, solver="jax").certified.all()


def test_an_unknown_solver_is_named():
    with pytest.raises(ValueError, match="solver must be one of 'jax', 'active-set'"):
        max_margin(np.ones((1, 1)), np.ones(1), solver="cvxpy")


# -- The CPU support-set solver (sim.active_set) ---------------------------------------


def _support_of(G, w):
    return np.flatnonzero(G @ w < 1 + 1e-9)


@pytest.mark.parametrize("P, N", [(30, 10), (400, 40), (40, 40)])
def test_any_wrong_support_guess_is_repaired_to_the_exact_answer(P, N):
    """Guesses with members missing, extra members, nothing right, or everything: all end at NNLS's answer."""
    from prunescale.sim.active_set import solve_on_support

    rng = np.random.default_rng(P + N)
    X, y = _random_separable(rng, P, N)
    G = X * y[:, None]
    ref = max_margin_reference(X, y)
    true = _support_of(G, ref)
    outside = np.setdiff1d(np.arange(P), true)
    guesses = [true[: len(true) // 2], np.union1d(true, outside[:5]), outside[:N], np.arange(min(P, N)), true]
    for guess in guesses:
        support, a = solve_on_support(G, guess)
        w = G[support].T @ a
        assert (a > 0).all() and (G @ w).min() > 1 - 1e-10  # the KKT conditions it promises
        assert np.linalg.norm(w - ref) < 1e-9 * np.linalg.norm(ref)


def test_the_interior_point_guesses_converge_to_the_true_support():
    from prunescale.sim.active_set import interior_point_supports

    X, y, _, _ = sim.draw(2, N=40, alpha_tot=20.0, keep_fraction=0.5, theta=0.0, policy="easy")
    G = X * y[:, None]
    *_, last = interior_point_supports(G)
    np.testing.assert_array_equal(np.sort(last), _support_of(G, max_margin_reference(X, y)))


def test_where_no_guess_passes_nnls_answers_and_is_marked(monkeypatch):
    from prunescale.sim import active_set

    monkeypatch.setattr(active_set, "support_multipliers", lambda G: None)
    rng = np.random.default_rng(3)
    X, y = _random_separable(rng, 80, 20)
    res = max_margin(X, y, solver="active-set")
    assert res.certified and res.steps == 1
    ref = max_margin_reference(X, y)
    assert np.linalg.norm(res.w - ref) < 1e-9 * np.linalg.norm(ref)


# -- Grids -----------------------------------------------------------------------------


def test_simulate_labels_every_point_and_is_reproducible():
    kwargs = dict(N=30, alpha_tot=4.0, keep_fraction=[0.25, 1.0], theta=[0.0, 20.0], policy=["hard", "easy"], seeds=3)
    a, b = simulate(**kwargs), simulate(**kwargs)
    assert a.error.shape == (8, 3)
    assert list(a.kept.values) == [30] * 4 + [120] * 4
    np.testing.assert_array_equal(a.error.values, b.error.values)
    # at f = 1 nothing is pruned: policy and theta cannot matter
    full = a.error.values[a.keep_fraction.values == 1.0]
    np.testing.assert_allclose(full, np.broadcast_to(full[0], full.shape), rtol=1e-9)  # rows differ only in order
    se = a.error.std("seed", ddof=1) / np.sqrt(3)
    np.testing.assert_allclose(a.error_se, se)


@pytest.mark.slow  # measured at 8-31 s; the default suite keeps to about five minutes
def test_every_solver_gives_the_same_grid():
    kwargs = dict(N=40, alpha_tot=6.0, keep_fraction=[0.3, 1.0], theta=10.0, policy="hard", seeds=3)
    a, b, c = (simulate(**kwargs, solver=s) for s in ("jax", "nnls", "active-set"))
    for other in (b, c):
        np.testing.assert_allclose(a.error.values, other.error.values, rtol=1e-9)
        np.testing.assert_allclose(a.kappa.values, other.kappa.values, rtol=1e-9)
    assert b.reference.all() and not a.reference.any() and not c.reference.any()
    assert "active-set" in c.attrs["solver"]


@pytest.mark.slow  # measured at 8-31 s; the default suite keeps to about five minutes
def test_seeds_are_chunked_to_the_memory_budget_with_the_same_numbers(monkeypatch):
    from prunescale.sim import grid

    kwargs = dict(N=40, alpha_tot=6.0, keep_fraction=0.5, theta=10.0, policy="easy", seeds=5, solver="jax")
    whole = simulate(**kwargs)
    assert grid.batch_size(40, 240, 120) >= 5
    monkeypatch.setattr(grid, "memory_budget", lambda: grid.problem_bytes(40, 240, 120))  # one seed per batch
    assert grid.batch_size(40, 240, 120) == 1
    np.testing.assert_allclose(simulate(**kwargs).error.values, whole.error.values, rtol=1e-12)


def test_a_stopped_grid_resumes_from_its_cache(tmp_path, monkeypatch):
    kwargs = dict(N=20, alpha_tot=3.0, keep_fraction=[0.5, 1.0], seeds=2, cache_dir=tmp_path)
    first = simulate(**kwargs)
    assert len(list((tmp_path / "points").glob("*.json"))) == 2

    def must_not_run(*args):
        raise AssertionError("a cached point was recomputed")

    monkeypatch.setattr(sim.grid, "run_point", must_not_run)
    again = simulate(**kwargs)
    np.testing.assert_array_equal(first.error.values, again.error.values)
    with pytest.raises(AssertionError, match="recomputed"):
        simulate(**dict(kwargs, seeds=3))  # another configuration is never mixed in


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(N=-5), "N must be a positive integer"),
        (dict(N=10.5), "N must be a positive integer"),
        (dict(keep_fraction=0.0), r"keep_fraction must lie in \(0, 1\]"),
        (dict(keep_fraction=1.2), r"keep_fraction must lie in \(0, 1\]"),
        (dict(theta=91.0), r"theta \(degrees\) must lie in \[0, 90\]"),
        (dict(alpha_tot=-1.0), r"alpha_tot must lie in \(0, inf\)"),
        (dict(alpha_tot=float("nan")), "alpha_tot must be finite"),
        (dict(policy="middle"), "policy must be one of"),
        (dict(seeds=0), "seeds must be"),
        (dict(solver="cvxpy"), "solver must be"),
    ],
)
def test_simulate_rejects_bad_grids_by_name(kwargs, match):
    args = dict(N=20, alpha_tot=2.0, keep_fraction=0.5, theta=0.0, policy="hard", seeds=2) | kwargs
    with pytest.raises(ValueError, match=match):
        simulate(**args)


# -- Agreement with theory -------------------------------------------------------------


@pytest.mark.parametrize(
    "alpha_prune, f, theta, policy, seeds",
    [
        (3.0, 0.2, 0.0, "hard", 24),
        (3.0, 0.2, 0.0, "easy", 24),
        (3.0, 0.1, 10.0, "hard", 16),
        (2.0, 0.5, 30.0, "easy", 24),
        (4.0, 0.8, 10.0, "hard", 16),
    ],
)
def test_agrees_with_theory_at_N_200(alpha_prune, f, theta, policy, seeds):
    res = simulate(200, alpha_prune / f, f, theta, policy, seeds)
    cmp = compare_with_theory(res).isel(point=0)
    # within 4 standard errors plus a finite-size allowance of 8% at N = 200
    assert abs(float(cmp.sim_mean - cmp.theory)) < 4 * float(cmp.sim_se) + 0.08 * float(cmp.theory)
    assert float(cmp.theory) == pytest.approx(theory.test_error(alpha_prune, f, theta, policy), rel=0.02)


@pytest.mark.slow
@pytest.mark.parametrize("theta, policy", [(0.0, "hard"), (20.0, "easy")])
def test_agrees_with_a_larger_simulation_without_finite_size_allowance(theta, policy):
    cmp = compare_with_theory(simulate(400, 15.0, 0.2, theta, policy, 32)).isel(point=0)
    assert abs(float(cmp.z)) < 3.5 + 0.03 * float(cmp.sim_mean / cmp.sim_se)


@pytest.mark.slow
def test_the_finite_size_gap_shrinks_as_N_grows():
    from prunescale.figures.sim_figure import TREND  # the threshold alpha_prune = 2, where finite N matters most

    res = simulate(TREND["N"], TREND["alpha_tot"], TREND["keep_fraction"], TREND["theta"], TREND["policy"], 96)
    cmp = compare_with_theory(res)
    gap = np.abs(cmp.sim_mean - cmp.theory).values
    assert gap[-1] < gap[0]  # N = 400 closer than N = 50
    assert np.polyfit(np.log(res.N.values), np.log(gap + cmp.sim_se.values), 1)[0] < 0


# -- CLI -----------------------------------------------------------------------------


def test_cli_run_prints_the_mean_its_error_the_seeds_and_the_theory(capsys):
    main(["sim", "run", "--N", "40", "--alpha-tot", "4", "--keep-fraction", "0.5", "--seeds", "4", "--json"])
    record = json.loads(capsys.readouterr().out)
    assert len(record["errors"]) == 4
    assert record["error_mean"] == pytest.approx(np.mean(record["errors"]))
    assert record["theory"] == pytest.approx(theory.test_error(2.0, 0.5))


def test_cli_grid_writes_csv_and_metadata_and_resumes(tmp_path, capsys):
    args = [
        "sim",
        "grid",
        "--out",
        str(tmp_path),
        "--N",
        "20",
        "--alpha-tot",
        "3",
        "--keep-fraction",
        "0.5,1",
        "--policy",
        "hard",
        "--seeds",
        "2",
    ]
    main(args)
    first = (tmp_path / "results.csv").read_text()
    assert first.splitlines()[0].startswith("N,alpha_tot,keep_fraction,theta,policy")
    assert len(first.splitlines()) == 3
    meta = json.loads((tmp_path / "results.json").read_text())
    assert meta["points"] == 2 and "theory" in meta["columns"]
    main(args)
    assert (tmp_path / "results.csv").read_text() == first


def test_cli_bad_input_exits_2_naming_the_option(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["sim", "run", "--N", "20", "--theta", "120"])
    assert exc.value.code == 2
    assert "theta (degrees) must lie in [0, 90]" in capsys.readouterr().err


def test_the_theory_comparison_is_one_broadcast_call_per_policy_with_the_per_point_numbers():
    """Broadcasting changes only the last bits (the solver's array operations round by chunk): 1e-13."""
    from prunescale import theory

    res = simulate(N=20, alpha_tot=3.0, keep_fraction=[0.4, 1.0], theta=[0.0, 10.0], policy=["hard", "easy"], seeds=2)
    cmp = compare_with_theory(res)
    one_by_one = [
        theory.test_error(k / n, k / p, theta=float(t), policy=str(pol))
        for k, n, p, t, pol in zip(res.kept.values, res.N.values, res.pool.values, res.theta.values, res.policy.values)
    ]
    np.testing.assert_allclose(cmp.theory.values, one_by_one, rtol=1e-13, atol=0)


def test_a_truncated_grid_point_is_set_aside_and_recomputed(tmp_path):
    from prunescale.store import CorruptEntry

    kwargs = dict(N=20, alpha_tot=3.0, keep_fraction=0.5, seeds=2, cache_dir=tmp_path)
    first = simulate(**kwargs)
    (point,) = (tmp_path / "points").glob("*.json")
    point.write_text(point.read_text()[:10])
    with pytest.warns(CorruptEntry):
        again = simulate(**kwargs)
    np.testing.assert_array_equal(first.error.values, again.error.values)


def test_repeated_seeds_are_refused_and_no_spread_gives_no_z():
    with pytest.raises(ValueError, match="seeds must be distinct"):
        simulate(N=20, alpha_tot=3.0, keep_fraction=0.5, seeds=[0, 0])
    cmp = compare_with_theory(simulate(N=20, alpha_tot=3.0, keep_fraction=0.5, seeds=1))
    assert np.isnan(cmp.z.values).all() and not np.isinf(cmp.z.values).any()
