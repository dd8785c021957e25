"""Pruning from your own dynamics and embeddings: time and peak memory against plain baselines, in one run.

    python benchmarks/bench_prune.py                         # the issue's sizes: 1M x 768 embeddings, k = 1,000;
                                                             # 1M x 20 epochs x 10 classes of float16 logits
    python benchmarks/bench_prune.py --rows 200000 --subset 50000   # smaller, for a quick look

Every measurement runs in a fresh process, which reports its wall time and its peak resident memory above what it
held once its imports were done (so the numbers are the work's own).  The data are synthetic and written once to
a scratch folder (``--scratch``, default a temporary one): clustered unit vectors (``--rows`` x ``--dim``, float32,
memory-mapped) and logits of a run that learns (float16).

Prototypes: prunescale (faiss spherical k-means on a sample, then chunked assignment) on all rows, against
scikit-learn's ``KMeans`` and a plain JAX Lloyd's k-means on a ``--subset`` of the rows (at full size the baseline
takes hours on 2 cores), each at the same k and iterations, with the clustering quality (mean 1 - cosine to the
nearest centroid, on the subset) printed beside the time.  Dynamics: ``dynamics_scores`` on the memory-mapped
folder, against loading the whole array into numpy and computing the same scores at once.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CHILD = "--child"


def write_embeddings(path, rows, dim, centers, seed=0):
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(centers, dim)).astype(np.float32)
    means /= np.linalg.norm(means, axis=1, keepdims=True)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, dim))
    for s in range(0, rows, 65536):
        e = min(rows, s + 65536)
        block = means[rng.integers(0, centers, e - s)] + rng.normal(scale=0.6 / np.sqrt(dim), size=(e - s, dim))
        out[s:e] = block
    out.flush()


def write_dynamics(folder, rows, epochs, classes, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    labels = rng.integers(0, classes, rows)
    np.save(folder / "labels.npy", labels)
    out = np.lib.format.open_memmap(folder / "logits.npy", mode="w+", dtype=np.float16, shape=(epochs, rows, classes))
    for e in range(epochs):
        for s in range(0, rows, 262144):
            t = min(rows, s + 262144)
            z = rng.normal(size=(t - s, classes)).astype(np.float32)
            z[np.arange(t - s), labels[s:t]] += 3.0 * e / epochs
            out[e, s:t] = z
    out.flush()


# -- the measured work, each in its own process ---------------------------------------------------------------


def _quality(data, centroids):
    x = data / np.linalg.norm(data, axis=1, keepdims=True)
    c = centroids / np.linalg.norm(centroids, axis=1, keepdims=True)
    return float(np.mean(1.0 - (x @ c.T).max(1)))


def work(name, args):
    if name == "prototypes":
        from prunescale.validation.embeddings import prototype_scores

        started = time.perf_counter()
        scores, _ = prototype_scores(args.embeddings, args.k, seed=0)  # the path: mapped afresh for each read
        seconds = time.perf_counter() - started
        return dict(seconds=seconds, mean_score=float(scores.mean()))
    if name.endswith("-subset"):
        subset = np.array(np.load(args.embeddings, mmap_mode="r")[: args.subset], np.float32)
        subset /= np.linalg.norm(subset, axis=1, keepdims=True)
    if name == "faiss-subset":
        from prunescale.validation.embeddings import train_centroids

        started = time.perf_counter()
        centroids = train_centroids(subset, args.k, seed=0, sample=subset.shape[0])
        return dict(seconds=time.perf_counter() - started, quality=_quality(subset, centroids))
    if name == "sklearn-subset":
        from sklearn.cluster import KMeans

        started = time.perf_counter()
        km = KMeans(n_clusters=args.k, n_init=1, max_iter=20, tol=0.0, random_state=0, algorithm="lloyd").fit(subset)
        return dict(seconds=time.perf_counter() - started, quality=_quality(subset, km.cluster_centers_))
    if name == "jax-subset":
        import jax
        import jax.numpy as jnp

        @jax.jit
        def step(c, x):
            nearest = jnp.argmax(x @ c.T, axis=1)
            sums = jax.ops.segment_sum(x, nearest, num_segments=c.shape[0])
            sums = jnp.where(jnp.linalg.norm(sums, axis=1, keepdims=True) > 0, sums, c)
            return sums / jnp.linalg.norm(sums, axis=1, keepdims=True)

        from prunescale.validation.embeddings import SEEDING, greedy_kmeans_plus_plus

        started = time.perf_counter()  # the same seeding as prunescale's, so the comparison is of the iterations
        c = jnp.asarray(greedy_kmeans_plus_plus(subset[: SEEDING * args.k], args.k, np.random.default_rng(0)))
        x = jnp.asarray(subset)
        for _ in range(20):
            c = step(c, x)
        c = np.asarray(c)
        return dict(seconds=time.perf_counter() - started, quality=_quality(subset, c))
    if name == "dynamics":
        from prunescale.validation.dynamics import dynamics_scores, read_dynamics

        started = time.perf_counter()
        scores = dynamics_scores(read_dynamics(args.dynamics), "el2n")
        return dict(seconds=time.perf_counter() - started, mean_score=float(scores.mean()))
    if name == "dynamics-numpy":
        from prunescale.validation.dynamics import SCORES, default_epoch

        started = time.perf_counter()
        logits = np.load(Path(args.dynamics) / "logits.npy").astype(np.float32)[None]
        labels = np.load(Path(args.dynamics) / "labels.npy")
        scores = SCORES["el2n"](logits, labels, default_epoch(logits.shape[1]))
        return dict(seconds=time.perf_counter() - started, mean_score=float(scores.mean()))
    raise ValueError(name)


def child(name, args):
    from prunescale.validation.pruning import peak_memory_mib, reset_peak_memory  # the imports are not the work's

    if name.startswith("jax"):
        import jax  # noqa: F401
    baseline = reset_peak_memory()  # Linux: the peak from here on is the work's own
    result = work(name, args)
    print(json.dumps(result | dict(peak_mib_above_baseline=peak_memory_mib() - baseline)))


def measure(name, args):
    cmd = [sys.executable, __file__, CHILD, name] + [f"--{k.replace('_', '-')}={v}" for k, v in vars(args).items() if v is not None and k != "child"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(CHILD, dest="child", default=None)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--k", type=int, default=1000)
    parser.add_argument("--subset", type=int, default=100_000)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--scratch", default=None)
    parser.add_argument("--embeddings", default=None)
    parser.add_argument("--dynamics", default=None)
    parser.add_argument("--only", default="prototypes,dynamics", help="prototypes, dynamics, or both")
    args = parser.parse_args()
    if args.child:
        return child(args.child, args)
    scratch = Path(args.scratch or tempfile.mkdtemp(prefix="bench-prune-"))
    scratch.mkdir(parents=True, exist_ok=True)
    args.embeddings = args.embeddings or str(scratch / f"embeddings-{args.rows}x{args.dim}.npy")
    args.dynamics = args.dynamics or str(scratch / f"dynamics-{args.rows}x{args.epochs}")
    parts = args.only.split(",")
    if "prototypes" in parts:
        if not Path(args.embeddings).exists():
            write_embeddings(args.embeddings, args.rows, args.dim, centers=args.k)
        full = measure("prototypes", args)
        print(f"prototypes, {args.rows:,} x {args.dim} float32 (memory-mapped), k = {args.k}: {full['seconds']:.1f} s, "
              f"peak {full['peak_mib_above_baseline']:.0f} MiB above the process's baseline")
        subset = {name: measure(name, args) for name in ("faiss-subset", "sklearn-subset", "jax-subset")}
        ours = subset["faiss-subset"]
        print(f"clustering {args.subset:,} rows, k = {args.k}, 20 iterations (quality: mean 1 - cosine, lower is better):")
        for name, r in subset.items():
            print(f"  {name:15s} {r['seconds']:8.1f} s  quality {r['quality']:.5f}  "
                  f"({r['seconds'] / ours['seconds']:.1f}x faiss's time, quality {100 * (r['quality'] / ours['quality'] - 1):+.2f}%)")
    if "dynamics" in parts:
        if not Path(args.dynamics).exists():
            write_dynamics(Path(args.dynamics), args.rows, args.epochs, 10)
        ours, plain = measure("dynamics", args), measure("dynamics-numpy", args)
        print(f"dynamics, {args.rows:,} x {args.epochs} epochs x 10 classes float16, el2n: chunked {ours['seconds']:.1f} s, "
              f"peak {ours['peak_mib_above_baseline']:.0f} MiB; whole array in numpy {plain['seconds']:.1f} s, peak "
              f"{plain['peak_mib_above_baseline']:.0f} MiB; speed ratio {plain['seconds'] / ours['seconds']:.2f}x")


if __name__ == "__main__":
    main()
