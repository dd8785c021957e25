"""Throughput of the max-margin solvers against looped scipy NNLS (the baseline), in one run.

All solve the same instances in this process: N = 200 and P from 200 to
2000, drawn by the simulation (pools pruned hard, easy and at random).  The
baseline is ``sim.max_margin_reference``, scipy NNLS on the least-distance
form, one problem at a time.  Printed per P and pool: problems per second of
the baseline, of the CPU support-set solver (``solver="active-set"``) and of
the batched JAX solver, their ratios to the baseline, the largest relative
difference of the students from NNLS, the certified fraction, how many
problems fell back to NNLS, and at the end the time-weighted ratio over the
mix, the smallest ratio, and the peak memory.

    python benchmarks/bench_sim.py                # 16 problems per row
    python benchmarks/bench_sim.py --batch 64     # more problems per row
    python benchmarks/bench_sim.py --batch auto   # the JAX batches simulate uses (on a GPU: a quarter of its memory)
    python benchmarks/bench_sim.py --no-jax       # skip the JAX solver (slow on CPU, compiles per shape)
    python benchmarks/bench_sim.py --processes 2  # also the support-set solver spread over 2 worker processes
    python benchmarks/bench_sim.py --trend        # finite-size trend N = 50..400
"""

import argparse
import multiprocessing
import resource
import time
from concurrent.futures import ProcessPoolExecutor

import jax
import jax.numpy as jnp
import numpy as np

from prunescale.sim.data import draw_pruned, kept_size, pool_size
from prunescale.sim.grid import batch_size
from prunescale.sim.solver import max_margin, max_margin_reference, solve_batch_cpu

N = 200
SIZES = (200, 500, 1000, 2000)
POOLS = (("random", 1.0), ("hard", 0.5), ("easy", 0.5))


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


def seconds(run):
    start = time.perf_counter()
    out = run()
    return time.perf_counter() - start, out


def _solve_part(G):
    return solve_batch_cpu(G).w


def measure(X, y, pool_of_processes=None, with_jax=True):
    """Seconds per problem of each solver on one row of instances, and the checks of the support-set answers."""
    G = X * y[..., None]
    solve_batch_cpu(G[:1]), max_margin_reference(X[0], y[0])  # first calls load libraries: not timed
    t_nnls, refs = seconds(lambda: [max_margin_reference(Xi, yi) for Xi, yi in zip(X, y)])
    t_cpu, res = seconds(lambda: solve_batch_cpu(G))
    row = dict(nnls=t_nnls, cpu=t_cpu)
    scale = np.linalg.norm(refs, axis=-1)
    row["diff"] = float(np.max(np.linalg.norm(res.w - np.stack(refs), axis=-1) / scale))
    row["certified"] = float(np.mean(res.certified))
    row["fallbacks"] = int(res.steps.sum())
    if pool_of_processes is not None:
        parts = np.array_split(G, 2 * pool_of_processes._max_workers)
        row["processes"], _ = seconds(lambda: list(pool_of_processes.map(_solve_part, parts)))
    if with_jax:
        max_margin(X, y, strict=False, solver="jax")  # compile for this shape
        t_jax, jres = seconds(lambda: max_margin(X, y, strict=False, solver="jax"))
        # what simulate does: NNLS re-solves the problems the batch leaves uncertified
        row["jax"] = t_jax + (1.0 - float(np.mean(jres.certified))) * t_nnls
        row["jax_certified"] = float(np.mean(jres.certified))
    return row


def trend(seeds=96):
    from prunescale.figures.sim_figure import TREND
    from prunescale.sim import compare_with_theory, simulate

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
    parser.add_argument("--batch", default="16", help="problems per row, or 'auto': the JAX batches simulate uses")
    parser.add_argument("--no-jax", action="store_true", help="skip the batched JAX solver")
    parser.add_argument("--processes", type=int, default=0, help="also time the support-set solver over this many processes")
    parser.add_argument("--trend", action="store_true")
    args = parser.parse_args()
    if args.trend:
        return trend()
    workers = None
    if args.processes:
        workers = ProcessPoolExecutor(args.processes, mp_context=multiprocessing.get_context("spawn"))
        list(workers.map(_solve_part, [np.ones((1, 1, 1))] * args.processes))  # start them before timing
    print(f"device: {jax.devices()[0].device_kind}; baseline: looped scipy NNLS on this machine's CPU")
    print(f"N = {N}; problems per second (higher is better); ratio = solver / NNLS throughput")
    print("active-set: sim.active_set, one process, one BLAS thread; jax: batched Lawson-Hanson + NNLS for the uncertified")
    head = f"{'P':>5} {'pool':>6} {'batch':>5} {'nnls':>7} {'active':>7} {'ratio':>6}"
    head += f" {'2-proc':>7} {'ratio':>6}" if workers else ""
    head += f" {'jax':>7} {'ratio':>6} {'jax cert':>8}" if not args.no_jax else ""
    print(head + f" {'max rel diff':>12} {'certified':>9} {'fallbacks':>9}")
    totals = {"nnls": 0.0, "cpu": 0.0, "processes": 0.0, "jax": 0.0}
    ratios = {"cpu": [], "processes": [], "jax": []}
    for P in SIZES:
        for policy, f in POOLS:
            sizes = problem_sizes(P, N, policy, f)
            batch = batch_size(N, sizes["pool"], sizes["kept"]) if args.batch == "auto" else int(args.batch)
            row = measure(*instances(P, N, batch, policy, f), workers, not args.no_jax)
            line = f"{P:5d} {policy:>6} {batch:5d} {batch / row['nnls']:7.1f}"
            for name in ("cpu", "processes", "jax"):
                if name in row:
                    totals[name] += row[name]
                    ratios[name].append(row["nnls"] / row[name])
                    line += f" {batch / row[name]:7.1f} {row['nnls'] / row[name]:6.2f}"
                    line += f" {row['jax_certified']:8.2f}" if name == "jax" else ""
            totals["nnls"] += row["nnls"]
            print(line + f" {row['diff']:12.1e} {row['certified']:9.2f} {row['fallbacks']:9d}", flush=True)
    for name, label in (("cpu", "active-set"), ("processes", f"active-set, {args.processes} processes"), ("jax", "jax")):
        if ratios[name]:
            print(
                f"{label}: time-weighted ratio over the mix {totals['nnls'] / totals[name]:.2f}, "
                f"smallest row {min(ratios[name]):.2f}, largest {max(ratios[name]):.2f}"
            )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {peak:.0f} MiB (batch {args.batch}, P up to {SIZES[-1]}, N = {N})")
    stats = jax.devices()[0].memory_stats() or {}
    if "peak_bytes_in_use" in stats:
        print(f"peak {jax.devices()[0].device_kind} memory: {stats['peak_bytes_in_use'] / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
