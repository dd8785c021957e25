"""Teacher-student pruning simulations in JAX (docs/science.md, sections 1 and 3).

Public API::

    simulate(N, alpha_tot, keep_fraction, theta, policy, seeds)  -> xarray.Dataset
    compare_with_theory(result)                                  -> theory, mean, SE, z
    max_margin(X, y, solver=None)     -> batched, certified max-margin students ("active-set" on CPU,
                                         "jax" on accelerators: the fastest certified solver per backend)
    max_margin_reference(X, y)        -> one problem, exact scipy NNLS (the baseline)
    draw(seed, N, alpha_tot, keep_fraction, theta, policy)       -> one pruned set (numpy)
    draw_pruned(key, theta, N=, pool=, kept=, policy=)           -> the same, jittable
    teacher_and_probe(key, N, theta)                             -> probe at exactly theta
    pool_size(N, alpha_tot), kept_size(N, alpha_tot, f)          -> the static sizes

Everything is float64: the students are checked to 1e-6 and below.
"""

from .data import draw, draw_pruned, kept_size, pool_size, teacher_and_probe
from .compare import compare_with_theory
from .grid import simulate
from .solver import MaxMarginResult, max_margin, max_margin_reference

__all__ = [
    "MaxMarginResult",
    "compare_with_theory",
    "draw",
    "draw_pruned",
    "kept_size",
    "max_margin",
    "max_margin_reference",
    "pool_size",
    "simulate",
    "teacher_and_probe",
]
