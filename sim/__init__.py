"""Teacher-student pruning simulations in JAX (issue "sim", in progress).

Done: the data side, pure JAX functions of a PRNG key that jit and vmap::

    draw(seed, N, alpha_tot, keep_fraction, theta, policy) -> (X, y, teacher, probe)
    draw_pruned(key, theta, N=, pool=, kept=, policy=)      -> the same, jittable
    teacher_and_probe(key, N, theta)                        -> probe at exactly theta
    pool_size(N, alpha_tot), kept_size(N, alpha_tot, f)     -> the static sizes

Planned (see the issue): ``max_margin`` (batched, certified), ``simulate``
and ``compare_with_theory``.
"""

from .data import draw, draw_pruned, kept_size, pool_size, teacher_and_probe

__all__ = ["draw", "draw_pruned", "kept_size", "pool_size", "teacher_and_probe"]
