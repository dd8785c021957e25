"""Grids of teacher-student pruning experiments.

:func:`simulate` runs every grid point (N, alpha_tot, keep_fraction, theta,
policy) for every seed: draw, prune, solve the max-margin student, record the
error.  Seeds of one grid point run as one jitted, vmapped batch (sharded
over the devices when there are several; chunked to fit memory).  A problem
the JAX solver cannot certify is re-solved by the exact NNLS reference, so
no uncertified number enters a result.

The result is an ``xarray.Dataset`` with dimensions ``point`` and ``seed``.
"""

from __future__ import annotations

import itertools
from functools import partial
from pathlib import Path
from typing import Any, Callable, Sequence, Union

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from prunescale.store import KeyedStore, PathLike, checks
from prunescale.store.checks import Policy


from .data import draw_pruned, kept_size, pool_size

Axis = Union[float, Sequence[float]]  # one value of a grid axis, or several
from .solver import default_solver, max_margin_reference, solve_batch, solve_batch_cpu

FIELDS = ("error", "R", "rho", "kappa", "gap")
MEMORY_BUDGET = 2**30  # bytes per batch on CPU; larger seed sets are chunked
ACCELERATOR_MEMORY_SHARE = 0.25  # of the device's memory per batch: batches large enough to fill a GPU
CACHE_VERSION = 1  # bump when a change alters simulated numbers


def _as_list(name, value):
    values = list(np.atleast_1d(np.asarray(value, dtype=object)).tolist())
    if not values:
        raise ValueError(f"{name} must hold at least one value; got an empty list")
    return values


def _numbers(name, value):
    values = _as_list(name, value)
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ValueError(f"{name} must be a number or a list of numbers, got {v!r}")
    return values


def check_grid(N: Axis, alpha_tot: Axis, keep_fraction: Axis, theta: Axis, policy: Policy | Sequence[str],
               seeds: int | Sequence[int]) -> tuple[list, ...]:
    """Validate the grid's axes; return them as lists.  Errors name the parameter (store.checks wording)."""
    Ns = _numbers("N", N)
    for n in Ns:
        if not float(n).is_integer() or n < 1:
            raise ValueError(f"N must be a positive integer, got {n!r}")
    alphas, fractions, thetas = (_numbers(k, v) for k, v in (("alpha_tot", alpha_tot), ("keep_fraction", keep_fraction), ("theta", theta)))
    checks.positive("alpha_tot", alphas)
    checks.keep_fraction(fractions)
    checks.theta(thetas)
    policies = [checks.policy(p) for p in _as_list("policy", policy)]
    seed_list = list(range(seeds)) if isinstance(seeds, (int, np.integer)) else [int(s) for s in seeds]
    if not seed_list or any(s < 0 for s in seed_list):
        raise ValueError(f"seeds must be a positive count or a list of non-negative integers; got {seeds!r}")
    if len(set(seed_list)) < len(seed_list):
        raise ValueError(f"seeds must be distinct (a repeated seed repeats its problem and fakes a small error); got {seeds!r}")
    for n in Ns:
        for a in alphas:
            if pool_size(int(n), a) < 1:
                raise ValueError(f"alpha_tot * N must be at least 1 example; got alpha_tot={a}, N={n}")
            check_fits(int(n), pool_size(int(n), a), max(kept_size(int(n), a, f) for f in fractions))
    return [int(n) for n in Ns], alphas, fractions, thetas, policies, seed_list


@partial(jax.jit, static_argnames=("N", "pool", "kept", "policy"))
def _draw_batch(keys, theta, *, N, pool, kept, policy):
    return jax.vmap(lambda k: draw_pruned(k, theta, N=N, pool=pool, kept=kept, policy=policy))(keys)


def _overlaps(w, teacher, probe):
    """Per-seed (error, R, rho) of students ``w`` [B, N]."""
    norm = jnp.linalg.norm(w, axis=-1)
    R = jnp.clip(jnp.sum(w * teacher, -1) / norm, -1.0, 1.0)
    return jnp.arccos(R) / jnp.pi, R, jnp.sum(w * probe, -1) / norm


@partial(jax.jit, static_argnames=("N", "pool", "kept", "policy"))
def _run_batch(keys, theta, *, N, pool, kept, policy):
    """Draw, prune and solve one batch of seeds in JAX: (error, R, rho, kappa, gap, certified, by_nnls)."""
    X, y, teacher, probe = _draw_batch(keys, theta, N=N, pool=pool, kept=kept, policy=policy)
    res = solve_batch(X * y[..., None])
    return (*_overlaps(res.w, teacher, probe), res.kappa, res.gap, res.certified, jnp.zeros_like(res.certified))


def _run_batch_active_set(keys, theta, *, N, pool, kept, policy):
    """The same with the CPU support-set solver (:func:`sim.solver.solve_batch_cpu`)."""
    X, y, teacher, probe = (np.asarray(a) for a in _draw_batch(keys, theta, N=N, pool=pool, kept=kept, policy=policy))
    res = solve_batch_cpu(X * y[..., None])
    return (*_overlaps(res.w, teacher, probe), res.kappa, res.gap, res.certified, res.steps == 1)


def _run_batch_reference(keys, theta, *, N, pool, kept, policy):
    """The same with the NNLS reference solving each problem (exact, certified by construction)."""
    X, y, teacher, probe = (np.asarray(a) for a in _draw_batch(keys, theta, N=N, pool=pool, kept=kept, policy=policy))
    w = np.stack([max_margin_reference(Xi, yi) for Xi, yi in zip(X, y)])
    kappa = 1.0 / np.linalg.norm(w, axis=-1)
    return (*_overlaps(w, teacher, probe), kappa, np.zeros(len(w)), np.ones(len(w), bool), np.ones(len(w), bool))


def _seed_key(seed):
    return jax.random.PRNGKey(seed)


RUNNERS: dict[str, Callable[..., Any]] = {"jax": _run_batch, "active-set": _run_batch_active_set, "nnls": _run_batch_reference}
SOLVER_DESCRIPTIONS = {
    "jax": "sim.max_margin (JAX Lawson-Hanson, duality-gap certified); uncertified problems re-solved by scipy NNLS",
    "active-set": "sim.active_set (support guess, exact solve, KKT check; NNLS where it finds none), duality-gap certified",
    "nnls": "scipy NNLS (sim.max_margin_reference), one problem at a time",
}


def memory_budget() -> int:
    """Bytes one batch of seeds may take: :data:`MEMORY_BUDGET` on CPU, a share of the device's memory on an
    accelerator (a GPU is latency-bound at small batches: its throughput grows with the batch)."""
    devices = jax.devices()
    limit = (devices[0].memory_stats() or {}).get("bytes_limit") if devices[0].platform != "cpu" else None
    return int(ACCELERATOR_MEMORY_SHARE * limit * len(devices)) if limit else MEMORY_BUDGET  # batches are sharded


def problem_bytes(N: int, pool: int, kept: int) -> int:
    """Memory one problem takes while it is drawn and solved (float64 pool, kept set and working set)."""
    return 8 * (3 * pool * N + 4 * kept * N + 6 * min(kept, N + 1) ** 2)


def check_fits(N: int, pool: int, kept: int) -> None:
    """A one-line error, before anything is allocated, where one problem alone exceeds the memory budget
    (seeds are chunked to fit it; a single problem cannot be)."""
    need, limit = problem_bytes(N, pool, kept), memory_budget()
    if need > limit:
        raise ValueError(
            f"one problem at N = {N} with a pool of {pool} examples needs {need / 2**30:.3g} GiB; "
            f"the limit per batch is {limit / 2**30:.3g} GiB: lower N or alpha_tot"
        )


def batch_size(N: int, pool: int, kept: int) -> int:
    """Problems per batch that fit :func:`memory_budget`."""
    return max(1, memory_budget() // problem_bytes(N, pool, kept))


def _shard(keys):
    """Spread a batch of keys over all devices when there are several."""
    devices = jax.devices()
    if len(devices) == 1 or keys.shape[0] % len(devices):
        return keys
    mesh = jax.sharding.Mesh(np.array(devices), ("seeds",))
    return jax.device_put(keys, jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("seeds")))


def run_point(N: int, alpha_tot: float, keep_fraction: float, theta: float, policy: Policy, seeds: Sequence[int],
              solver: str = "jax") -> dict:
    """All seeds of one grid point: dict of per-seed arrays (and how many needed the reference)."""
    pool = pool_size(N, alpha_tot)
    kept = kept_size(N, alpha_tot, keep_fraction)
    seed_array = np.asarray(seeds)
    size = batch_size(N, pool, kept)
    out = {name: np.empty(len(seed_array)) for name in FIELDS}
    out["reference"] = np.zeros(len(seed_array), bool)
    with jax.enable_x64(True):
        for start in range(0, len(seed_array), size):
            chunk = seed_array[start : start + size]
            keys = _shard(jax.vmap(_seed_key)(jnp.asarray(chunk)))
            run = RUNNERS[solver]
            sizes = dict(N=N, pool=pool, kept=kept, policy=policy)
            *numbers, certified, by_nnls = (np.asarray(v) for v in run(keys, jnp.float64(theta), **sizes))
            if not certified.all():  # re-solve exactly what the solver could not certify
                redo = np.flatnonzero(~certified)
                fixed = _run_batch_reference(keys[redo], jnp.float64(theta), **sizes)[: len(numbers)]
                for values, replacement in zip(numbers, fixed):
                    values[redo] = np.asarray(replacement)
            for name, v in zip(FIELDS, numbers):
                out[name][start : start + len(chunk)] = v
            out["reference"][start : start + len(chunk)] = by_nnls | ~certified
    return out


def simulate(
    N: Axis,
    alpha_tot: Axis,
    keep_fraction: Axis,
    theta: Axis = 0.0,
    policy: Policy | Sequence[str] = "hard",
    seeds: int | Sequence[int] = 16,
    *,
    solver: str | None = None,
    cache_dir: PathLike | None = None,
    progress: bool = False,
) -> xr.Dataset:
    """Simulate the teacher-student pruning experiment over a grid.

    Parameters
    ----------
    N : int or sequence of int
        Input dimension(s).
    alpha_tot : float or sequence
        Pool size per dimension; the pool holds ``round(alpha_tot * N)`` examples.
    keep_fraction : float or sequence, in (0, 1]
        Fraction kept; exactly ``round(f * pool)`` examples are kept.
    theta : float or sequence, degrees in [0, 90]
        Angle between the probe (pruning metric) and the teacher.
    policy : "hard", "easy", "random" or a sequence of them
    seeds : int or sequence of int
        A count (seeds 0..n-1) or explicit seeds.  Seed s gives the same
        teacher, probe and pool at every grid point with the same N and pool.
    solver : "jax", "active-set", "nnls" or None
        Who solves the max-margin problems: the batched JAX Lawson-Hanson
        (fastest on a GPU), the CPU support-set solver (fastest on CPU), or
        the scipy NNLS reference one problem at a time (the baseline).  All
        are exact and certified; None picks the fastest for the backend.
    cache_dir : path, optional
        Store each finished grid point there and reuse it, so a stopped
        grid resumes where it left off.
    progress : bool
        Show a progress bar over grid points.

    Returns
    -------
    xarray.Dataset
        Dimensions ``point`` (the grid, in the order of ``itertools.product``
        over N, alpha_tot, keep_fraction, theta, policy) and ``seed``.
        Per-seed ``error``, ``R``, ``rho``, ``kappa``, ``gap`` (the solver's
        certificate) and ``reference`` (True where the NNLS reference solved
        it: all of them with ``solver="nnls"``); per-point ``error_mean``, ``error_se`` (standard error over
        seeds) and the realised ``pool``, ``kept``, ``alpha_prune = kept / N``.

    Example
    -------
    >>> res = simulate(N=40, alpha_tot=3.0, keep_fraction=[0.5, 1.0], seeds=4)
    >>> res.error.shape, res.kept.values.tolist()
    ((2, 4), [60, 120])
    """
    Ns, alphas, fractions, thetas, policies, seed_list = check_grid(N, alpha_tot, keep_fraction, theta, policy, seeds)
    solver = default_solver() if solver is None else solver
    if solver not in RUNNERS:
        raise ValueError(f"solver must be one of {', '.join(map(repr, RUNNERS))} or None; got {solver!r}")
    grid = list(itertools.product(Ns, alphas, fractions, thetas, policies))
    rows = []
    bar = _progress(len(grid), progress)
    for n, a, f, t, p in grid:
        config = {
            "N": n,
            "alpha_tot": a,
            "keep_fraction": f,
            "theta": t,
            "policy": p,
            "seeds": seed_list,
            "version": CACHE_VERSION,
        }
        rows.append(_cached(config, cache_dir, lambda: run_point(n, a, f, t, p, seed_list, solver)))
        bar.update(1)
    bar.close()
    return _dataset(grid, seed_list, rows, solver)


def _progress(total, enabled):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="grid points", unit="pt", disable=not enabled)


def _cached(config, cache_dir, compute):
    """One grid point's per-seed values, from the point store under ``cache_dir`` or computed and stored."""
    if cache_dir is None:
        return compute()
    points = KeyedStore(Path(cache_dir) / "points", prefix="point")
    hit = points.load(config)
    if hit is not None:
        return hit.arrays
    values = compute()
    points.save(config, arrays=values)
    return values


def _dataset(grid, seed_list, rows, solver):
    n, a, f, t, p = (list(axis) for axis in zip(*grid))
    pool = [pool_size(ni, ai) for ni, ai in zip(n, a)]
    kept = [kept_size(ni, ai, fi) for ni, ai, fi in zip(n, a, f)]
    coords = {
        "N": ("point", np.array(n)),
        "alpha_tot": ("point", np.array(a, float)),
        "keep_fraction": ("point", np.array(f, float)),
        "theta": ("point", np.array(t, float)),
        "policy": ("point", np.array(p)),
        "pool": ("point", np.array(pool)),
        "kept": ("point", np.array(kept)),
        "alpha_prune": ("point", np.array(kept) / np.array(n)),
        "seed": ("seed", np.array(seed_list)),
    }
    data = {name: (("point", "seed"), np.stack([r[name] for r in rows])) for name in (*FIELDS, "reference")}
    ds = xr.Dataset(data, coords=coords)
    ds["error_mean"] = ds.error.mean("seed")
    ds["error_se"] = (
        ds.error.std("seed", ddof=1) / np.sqrt(ds.sizes["seed"]) if ds.sizes["seed"] > 1 else ds.error_mean * np.nan
    )
    ds.attrs.update(
        description="prunescale teacher-student pruning simulation (max-margin student, error = arccos(R)/pi)",
        solver=f"{solver}: {SOLVER_DESCRIPTIONS[solver]}",
    )
    return ds
