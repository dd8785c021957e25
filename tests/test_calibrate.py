"""Calibration recovers the effective dimension, scale and metric angle of curves made by the theory."""

import numpy as np
import pytest

import theory
from validation import calibrate

POOL = 20000.0
D, A, THETA = 500.0, 2.0, 15.0
F = np.array([0.8, 0.6, 0.4, 0.3, 0.2, 0.1])


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
