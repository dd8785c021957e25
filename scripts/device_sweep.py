"""Run pending jobs of the default CIFAR-10 sweep one after another, without Dask, until a deadline.

For a borrowed accelerator machine (no Dask there, a fixed lease): the jobs
are the same ``validation.sweep`` jobs, written by the same ``run_job`` into
the same ``<results>/jobs/<key>.json`` files (each row records its device),
so the results folder merges with the CPU sweep's: copy the new files in,
and the CPU sweep skips them.

    python scripts/device_sweep.py --data cifar10.npz --results results/cifar10 \\
        --score-cache scores --seeds 1,0 --deadline 420

``--seeds 1,0``: every job of seed 1 first, then seed 0's, each in plan
order.  No job starts after ``--deadline`` seconds; a job in flight when the
process is killed is lost, the finished ones are not.
"""

import argparse
import time

from validation import sweep


def plan(results_dir, seeds, pools):
    """The default plan's pending jobs of these seeds and pools: seed by seed, pool by pool, in the given
    orders, plan order within each."""
    todo = [j for j in sweep.pending(sweep.default_sweep(), results_dir) if j.seed in seeds and j.pool_size in pools]
    return sorted(todo, key=lambda j: (seeds.index(j.seed), pools.index(j.pool_size)))  # stable


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--results", required=True)
    parser.add_argument("--score-cache", required=True)
    parser.add_argument("--seeds", default="0,1", help="seeds in the order to run them")
    parser.add_argument("--pools", default="50000,10000", help="pool sizes in the order to run them")
    parser.add_argument("--deadline", type=float, default=float("inf"), help="seconds after which no job starts")
    args = parser.parse_args()
    started = time.time()
    seeds = [int(s) for s in args.seeds.split(",")]
    pools = [int(p) for p in args.pools.split(",")]
    todo = plan(args.results, seeds, pools)
    print(f"device: {sweep.device_name()}; {len(todo)} jobs to run", flush=True)
    for i, job in enumerate(todo):
        if time.time() - started > args.deadline:
            print(f"deadline reached: {len(todo) - i} jobs left", flush=True)
            break
        row = sweep.run_job(job, args.results, args.data, args.score_cache)
        print(
            f"[{time.time() - started:6.0f}s] {job.seed} {job.pool_size} {job.metric:>10} {job.policy:>6} "
            f"f={job.keep_fraction:<4} error {row['test_error']:.4f} ({row['wall_seconds']} s)",
            flush=True,
        )


if __name__ == "__main__":
    main()
