"""Replica theory of data pruning for the teacher-student perceptron.

After Sorscher et al., "Beyond neural scaling laws: beating power law scaling
via data pruning" (NeurIPS 2022).  A pool of ``alpha_tot * N`` Gaussian
examples is ranked by a probe at angle ``theta`` to the teacher; a fraction
``f`` is kept (``alpha_prune = f * alpha_tot`` per dimension) and the
max-margin student is trained on it.

Public API::

    solve(alpha_prune, keep_fraction, theta=0, policy="hard")  -> TheoryResult
    test_error(...)                                            -> error only
    pareto_frontier(alpha_prune, theta, policy, max_pool)      -> Frontier
    optimal_keep_fraction(alpha_tot, theta)                    -> Choice
    lossless_keep_fraction(alpha_tot, theta, tolerance)        -> Lossless
    keep_fraction_floor(theta, tolerance)                      -> f_min(theta), large pools
    kept_size_for_error(target_error, theta, policy, max_pool) -> (alpha_prune, f)
    best_policy(alpha_tot, keep_fraction, theta)               -> easy/hard crossover
    hard_pruning_excess(alpha_prune)                           -> c(alpha_prune), f -> 0
    no_pruning_coefficient()                                   -> lim alpha * eps (~0.5005)
    capacity_threshold()                                       -> 2

theta is in degrees.  ``solve``, ``test_error``, ``best_policy`` and
``hard_pruning_excess`` broadcast over numpy arrays, elementwise;
``optimal_keep_fraction``, ``lossless_keep_fraction`` and
``keep_fraction_floor`` take arrays of pools and angles too, solving one pool
at a time (each field of the answer is then an array);
``pareto_frontier`` takes an array of kept sizes for one angle and pool
limit; ``kept_size_for_error`` takes one target error.
"""

from .asymptotics import capacity_threshold, hard_pruning_excess, no_pruning_coefficient
from .error import ConvergenceError, TheoryResult, solve, test_error
from .frontier import Frontier, best_policy, kept_size_for_error, pareto_frontier
from .keep_fraction import Choice, Lossless, keep_fraction_floor, lossless_keep_fraction, optimal_keep_fraction

__all__ = [
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
