"""Throughput of the batched JAX max-margin solver against looped scipy NNLS.

Both solve the same instances in this process: N = 200 and P from 200 to
2000, drawn by the simulation (pools pruned hard, easy and at random).  The
baseline is ``sim.max_margin_reference``, scipy NNLS on the least-distance
form, one problem at a time.  Printed: problems per second for each, their
ratio, the largest relative difference of the students (equal precision:
both are exact to round-off), the certified fraction, and the peak memory.

    python benchmarks/bench_sim.py              # B = 32 problems per size
    python benchmarks/bench_sim.py --batch 128  # more problems per batch
    python benchmarks/bench_sim.py --batch auto # the batches simulate uses (on a GPU: a quarter of its memory)
    python benchmarks/bench_sim.py --trend      # finite-size trend N = 50..400
"""

import argparse
import resource
import time

import jax
import jax.numpy as jnp
import numpy as np

from sim.data import draw_pruned, kept_size, pool_size
from sim.grid import batch_size
from sim.solver import max_margin, max_margin_reference


def problem_sizes(P, N, policy, f):
    """The static sizes of a pool pruned by ``policy`` to P kept examples of N dimensions."""
    alpha_tot = P / N / f
    return dict(N=N, pool=pool_size(N, alpha_tot), kept=kept_size(N, alpha_tot, f), policy=policy)


def instances(P, N, batch, policy, f):
    """``batch`` pruned sets with P kept of N dimensions, drawn in one vmapped call (seeds 0..batch-1)."""
    sizes = problem_sizes(P, N, policy, f)
    with jax.enable_x64(True):
        keys = jax.vmap(jax.random.PRNGKey)(jnp.arange(batch))
        X, y, _, _ = jax.vmap(lambda k: draw_pruned(k, 0.0, **sizes))(keys)
        return np.asarray(X), np.asarray(y)


def throughput(P, N, batch, policy, f):
    """Problems per second: JAX (the batch, plus NNLS re-solving what it could not certify, as ``simulate``
    does, so both sides reach the same precision) and the NNLS loop; the students' largest relative gap."""
    X, y = instances(P, N, batch, policy, f)
    max_margin(X[:batch], y[:batch], strict=False)  # compile
    t = time.perf_counter()
    res = max_margin(X, y, strict=False)
    t_jax = time.perf_counter() - t
    n_ref = min(batch, 16)
    t = time.perf_counter()
    refs = [max_margin_reference(X[i], y[i]) for i in range(n_ref)]
    t_ref = (time.perf_counter() - t) / n_ref  # per problem
    diff = max(np.linalg.norm(res.w[i] - refs[i]) / np.linalg.norm(refs[i]) for i in range(n_ref) if res.certified[i])
    certified = float(np.mean(res.certified))
    t_total = t_jax + (1.0 - certified) * batch * t_ref
    return batch / t_total, 1.0 / t_ref, diff, certified


def trend(seeds=96):
    from figures.sim_figure import TREND
    from sim import compare_with_theory, simulate

    T = TREND
    cmp = compare_with_theory(
        simulate(T["N"], T["alpha_tot"], T["keep_fraction"], T["theta"], T["policy"], seeds, progress=True)
    )
    print(
        f"finite-size trend at alpha_tot = {T['alpha_tot']}, f = {T['keep_fraction']}, keep {T['policy']}, theta = {T['theta']}:"
    )
    for n, m, se, th in zip(cmp.N.values, cmp.sim_mean.values, cmp.sim_se.values, cmp.theory.values):
        print(f"  N = {n:4d}: sim {m:.5f} +- {se:.5f}, theory {th:.5f}, gap {m - th:+.5f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", default="32", help="problems per size, or 'auto': what simulate batches")
    parser.add_argument("--trend", action="store_true")
    args = parser.parse_args()
    if args.trend:
        return trend()
    N = 200
    print(f"device: {jax.devices()[0].device_kind}; baseline: scipy NNLS on this machine's CPU")
    print(f"N = {N}, batch = {args.batch} problems per size; problems/second (higher is better)")
    print("jax: the batched solver plus NNLS re-solves of the problems it leaves uncertified")
    print(
        f"{'P':>5} {'policy':>7} {'batch':>6} {'jax':>9} {'nnls':>9} {'ratio':>7} {'max rel diff':>13} {'certified':>10}"
    )
    jax_time = ref_time = 0.0
    for P in (200, 500, 1000, 2000):
        for policy, f in (("random", 1.0), ("hard", 0.5), ("easy", 0.5)):
            sizes = problem_sizes(P, N, policy, f)
            batch = batch_size(N, sizes["pool"], sizes["kept"]) if args.batch == "auto" else int(args.batch)
            q_jax, q_ref, diff, cert = throughput(P, N, batch, policy, f)
            jax_time += batch / q_jax
            ref_time += batch / q_ref
            print(
                f"{P:5d} {policy:>7} {batch:6d} {q_jax:9.1f} {q_ref:9.1f} {q_jax / q_ref:7.2f} {diff:13.1e} {cert:10.2f}"
            )
    print(f"all sizes together: jax / nnls throughput ratio = {ref_time / jax_time:.2f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {peak:.0f} MiB (batch {args.batch}, P up to 2000, N = {N})")
    stats = jax.devices()[0].memory_stats() or {}
    if "peak_bytes_in_use" in stats:
        print(f"peak {jax.devices()[0].device_kind} memory: {stats['peak_bytes_in_use'] / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
