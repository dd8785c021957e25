"""Teacher, probe and pruning for the simulations (docs/science.md, section 3)."""

import jax
import numpy as np
import pytest

from prunescale.sim.data import draw, draw_pruned, kept_size, pool_size


def test_probe_is_at_exactly_theta_and_everything_is_float64():
    for theta in (0.0, 10.0, 45.0, 90.0):
        X, y, T, p = draw(3, N=64, alpha_tot=3.0, keep_fraction=0.5, theta=theta)
        assert X.dtype == np.float64
        assert np.linalg.norm(T) == pytest.approx(1.0, abs=1e-14)
        assert np.linalg.norm(p) == pytest.approx(1.0, abs=1e-14)
        assert T @ p == pytest.approx(np.cos(np.deg2rad(theta)), abs=1e-14)


@pytest.mark.parametrize("f", [1.0, 0.37, 0.01])
def test_pruning_keeps_exactly_round_f_times_P(f):
    N, alpha_tot = 50, 7.3
    X, y, _, _ = draw(0, N=N, alpha_tot=alpha_tot, keep_fraction=f)
    assert X.shape == (max(round(f * round(alpha_tot * N)), 1), N) == (kept_size(N, alpha_tot, f), N)
    assert pool_size(N, alpha_tot) == 365


def test_hard_keeps_the_smallest_probe_margins_and_easy_the_largest():
    N, alpha_tot, f, theta = 40, 5.0, 0.3, 20.0
    with jax.enable_x64(True):
        key = jax.random.PRNGKey(7)
        P, k = pool_size(N, alpha_tot), kept_size(N, alpha_tot, f)
        hard = draw_pruned(key, theta, N=N, pool=P, kept=k, policy="hard")
        easy = draw_pruned(key, theta, N=N, pool=P, kept=k, policy="easy")
    m_hard = np.abs(np.asarray(hard[0]) @ np.asarray(hard[3]))
    m_easy = np.abs(np.asarray(easy[0]) @ np.asarray(easy[3]))
    assert m_hard.max() < m_easy.min()  # the same pool, split at the k-th margin


def test_labels_come_from_the_teacher():
    X, y, T, _ = draw(1, N=30, alpha_tot=2.0, keep_fraction=1.0)
    assert np.array_equal(y, np.sign(X @ T))


def test_same_seed_same_data_and_seeds_vmap():
    a = draw(5, N=20, alpha_tot=2.0, keep_fraction=0.5, theta=5.0, policy="random")
    b = draw(5, N=20, alpha_tot=2.0, keep_fraction=0.5, theta=5.0, policy="random")
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    with jax.enable_x64(True):
        keys = jax.random.split(jax.random.PRNGKey(0), 4)
        X, y, T, p = jax.vmap(lambda k: draw_pruned(k, 10.0, N=20, pool=40, kept=20, policy="hard"))(keys)
    assert X.shape == (4, 20, 20) and not np.allclose(X[0], X[1])


def test_unknown_policy_is_rejected():
    with pytest.raises(ValueError, match="policy must be one of hard, easy, random"):
        draw(0, N=10, alpha_tot=2.0, keep_fraction=0.5, policy="medium")
