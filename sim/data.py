"""Teacher, probe and pruned pool for the teacher-student perceptron.

Pure JAX functions of a PRNG key and static sizes, so they jit and vmap
over seeds (docs/science.md, section 3).  Sizes are Python ints: the pool holds
``pool_size(N, alpha_tot)`` examples and pruning keeps exactly
``kept_size(...)`` of them.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from prunescale.store import checks
from prunescale.store.checks import Policy


def pool_size(N: int, alpha_tot: float) -> int:
    """Number of pool examples, ``round(alpha_tot * N)``.

    Parameters
    ----------
    N : int, alpha_tot : float

    Returns
    -------
    int

    Example
    -------
    >>> pool_size(200, 2.5)
    500
    """
    return int(round(alpha_tot * N))


def kept_size(N: int, alpha_tot: float, keep_fraction: float) -> int:
    """Number of kept examples, ``round(f * P)`` (at least 1), with ``P = pool_size(N, alpha_tot)``.

    Parameters
    ----------
    N : int, alpha_tot : float, keep_fraction : float in (0, 1]

    Returns
    -------
    int

    Example
    -------
    >>> kept_size(200, 2.5, 0.1)
    50
    """
    return max(int(round(keep_fraction * pool_size(N, alpha_tot))), 1)


def teacher_and_probe(key: jax.Array, N: int, theta_deg: float) -> tuple[jax.Array, jax.Array]:
    """A uniform unit teacher and a unit probe at exactly ``theta_deg`` to it.

    The probe is ``cos(theta) T + sin(theta) v`` with ``v`` a random unit
    vector orthogonal to ``T`` (Gram-Schmidt, so the angle is exact).

    Parameters
    ----------
    key : a JAX PRNG key; N : int; theta_deg : float in [0, 90]

    Returns
    -------
    (teacher, probe), unit vectors of shape [N]

    Example
    -------
    >>> with jax.enable_x64(True):
    ...     T, p = teacher_and_probe(jax.random.PRNGKey(0), 30, 60.0)
    ...     print(round(float(T @ p), 12))
    0.5
    """
    k_t, k_v = jax.random.split(key)
    teacher = jax.random.normal(k_t, (N,))
    teacher = teacher / jnp.linalg.norm(teacher)
    v = jax.random.normal(k_v, (N,))
    v = v - (v @ teacher) * teacher
    v = v / jnp.linalg.norm(v)
    th = jnp.deg2rad(theta_deg)
    return teacher, jnp.cos(th) * teacher + jnp.sin(th) * v


def kept_indices(key: jax.Array, margins: jax.Array, kept: int, policy: Policy) -> jax.Array:
    """Indices of the ``kept`` examples a policy keeps, given probe margins.

    hard: the smallest ``|m|``; easy: the largest; random: a random subset.
    """
    scores = {
        "hard": lambda: jnp.abs(margins),
        "easy": lambda: -jnp.abs(margins),
        "random": lambda: jax.random.uniform(key, margins.shape),
    }
    return jnp.argsort(scores[checks.policy(policy)]())[:kept]


@partial(jax.jit, static_argnames=("N", "pool", "kept", "policy"))
def draw_pruned(key: jax.Array, theta_deg: float, *, N: int, pool: int, kept: int,
                policy: Policy) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """One pruned training set: ``(X, y, teacher, probe)``.

    ``X`` has shape ``[kept, N]`` (rows are examples), ``y = sign(X @ teacher)``.
    vmap over ``key`` (and ``theta_deg``) for seeds.  Call it under
    ``jax.enable_x64(True)`` for float64, as :func:`draw` does: the max-margin
    student is checked to 1e-6, which float32 data cannot support.

    Parameters
    ----------
    key : JAX PRNG key; theta_deg : float; N, pool, kept : static ints; policy : "hard" | "easy" | "random"

    Returns
    -------
    (X [kept, N], y [kept], teacher [N], probe [N])

    Example
    -------
    >>> keys = jax.random.split(jax.random.PRNGKey(0), 4)
    >>> X, y, T, p = jax.vmap(lambda k: draw_pruned(k, 0.0, N=10, pool=40, kept=8, policy="hard"))(keys)
    >>> X.shape, y.shape
    ((4, 8, 10), (4, 8))
    """
    k_dir, k_x, k_r = jax.random.split(key, 3)
    teacher, probe = teacher_and_probe(k_dir, N, theta_deg)
    X = jax.random.normal(k_x, (pool, N))
    idx = kept_indices(k_r, X @ probe, kept, policy)
    X = X[idx]
    return X, jnp.sign(X @ teacher), teacher, probe


def draw(seed: int, N: int, alpha_tot: float, keep_fraction: float, theta: float = 0.0,
         policy: Policy = "hard") -> tuple[np.ndarray, ...]:
    """Convenience wrapper: one pruned set from an integer seed, as numpy arrays.

    Examples
    --------
    >>> X, y, T, p = draw(0, N=50, alpha_tot=4.0, keep_fraction=0.25, theta=10.0)
    >>> X.shape, round(float(T @ p), 6) == round(float(np.cos(np.deg2rad(10.0))), 6)
    ((50, 50), True)
    """
    with jax.enable_x64(True):
        out = draw_pruned(
            jax.random.PRNGKey(seed),
            theta,
            N=N,
            pool=pool_size(N, alpha_tot),
            kept=kept_size(N, alpha_tot, keep_fraction),
            policy=policy,
        )
        return tuple(np.asarray(a) for a in out)
