"""The keep-fraction choices take arrays of pools and angles, as the package says, and agree with one-at-a-time."""

import numpy as np
import pytest

from prunescale import theory


def test_optimal_keep_fraction_broadcasts_and_matches_each_pool_alone():
    many = theory.optimal_keep_fraction([5.0], theta=[[0.0], [10.0]])
    assert many.keep_fraction.shape == (2, 1) and many.best_range.shape == (2, 1, 2)
    for i, theta in enumerate((0.0, 10.0)):
        one = theory.optimal_keep_fraction(5.0, theta)
        assert many.policy[i, 0] == one.policy
        assert many.keep_fraction[i, 0] == one.keep_fraction and many.error[i, 0] == one.error


@pytest.mark.slow  # measured at 8-31 s; the default suite keeps to about five minutes
def test_lossless_keep_fraction_and_floor_broadcast():
    many = theory.lossless_keep_fraction([100.0, 1000.0], 10.0)
    assert many.keep_fraction.tolist() == [theory.lossless_keep_fraction(a, 10.0).keep_fraction for a in (100.0, 1000.0)]
    assert set(many.by_policy) == {"hard", "easy"}
    floors = theory.keep_fraction_floor(np.array([0.0, 10.0]))
    assert floors.shape == (2,) and floors[0] == 0.0 and floors[1] == theory.keep_fraction_floor(10.0)


def test_shapes_that_do_not_broadcast_are_named():
    with pytest.raises(ValueError, match=r"alpha_tot and theta must broadcast together, got shapes alpha_tot \(2,\), theta \(3,\)"):
        theory.optimal_keep_fraction([5.0, 10.0], [1.0, 2.0, 3.0])
