"""Prune your own data set: scores, a kept set per keep fraction, and a report with the evidence beside it.

:func:`prune_dataset` is the Python side of ``prunescale prune``: it checks
the data, scores every example with a metric of the registry (cached in a
:class:`store.KeyedStore`, so a stopped scoring resumes), keeps
``round(f * n)`` examples per keep fraction by a policy of
:mod:`validation.selection`, and reports the score histogram, the kept sets'
class balance against the whole, the settings, the time taken, and the
theory's view: the keep fraction the perceptron would pick at this pool size
for a metric angle theta.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np

from prunescale import theory
from prunescale.store import PathLike, checks, load_json

from .metrics import METRICS, MetricName, score
from .selection import DEFAULTS as POLICY_DEFAULTS
from .selection import SELECTION_POLICIES, check_settings, select

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
CAVEAT = (
    "qualitative: it fits the perceptron to the fair test's CIFAR-10 runs (equal steps, pools of 2.5k to 10k) with "
    "chi-square per degree of freedom far above 1, so read the direction, not the digits"
)


class Pruned(NamedTuple):
    kept: np.ndarray  # sorted indices of the kept examples
    scores: np.ndarray  # [n], higher = harder
    report: dict


def check_data(x: np.ndarray, y: np.ndarray | None = None, *, metric: str = "el2n") -> tuple[np.ndarray, np.ndarray | None]:
    """``(x, y)`` as uint8 images and int labels, or a one-line error naming what is wrong."""
    x = np.asarray(x)
    if x.dtype != np.uint8:
        kind = "with NaN" if np.issubdtype(x.dtype, np.floating) and np.isnan(x).any() else f"of dtype {x.dtype}"
        raise ValueError(f"x must be uint8 images (N x H x W x C, 0-255); got an array {kind}")
    if x.ndim != 4 or x.shape[-1] not in (1, 3) or x.shape[0] < 2 or min(x.shape[1:3]) < 8:
        raise ValueError(f"x must have shape N x H x W x C with N >= 2, H and W >= 8, C 1 or 3; got {x.shape}")
    needs_labels = METRICS[checks.one_of("metric", metric, tuple(METRICS))].labels
    if y is None:
        if needs_labels:
            raise ValueError(f"metric {metric!r} needs labels y; only prototypes and random work without them")
        return x, None
    y = np.asarray(y)
    if y.shape != (x.shape[0],) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must be {x.shape[0]} integer labels, one per image; got {y.dtype} of shape {y.shape}")
    if y.min() < 0:
        raise ValueError(f"labels must be >= 0; got {y.min()}")
    empty = np.flatnonzero(np.bincount(y) == 0)
    if empty.size:
        raise ValueError(f"labels must name classes 0..{y.max()} with no gaps; class {empty[0]} has no example")
    return x, y.astype(np.int32)


class Dataset(NamedTuple):
    x: np.ndarray
    y: np.ndarray | None
    names: list | None  # class names
    skipped: list  # files of an image folder that are not images, left out (and counted in the report)


def read_dataset(path: PathLike) -> Dataset:
    """The data of an ``.npz`` (``x``, optional ``y``) or an ImageFolder (one folder per class)."""
    path = Path(path)
    if path.is_dir():
        return _read_image_folder(path)
    if not path.is_file():
        raise ValueError(f"--data {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as npz:
            if "x" not in npz.files:
                raise ValueError(f"--data {path} must hold an array 'x' (and 'y' for labels); it holds {npz.files}")
            x, y = npz["x"], (npz["y"] if "y" in npz.files else None)
    except (OSError, EOFError, __import__("zipfile").BadZipFile) as exc:
        raise ValueError(f"--data {path} is not a readable .npz file ({type(exc).__name__})") from None
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise ValueError(f"--data {path} is not an .npz file of arrays") from None
        raise
    names = None if y is None else [str(c) for c in range(int(np.max(y)) + 1)] if np.size(y) else []
    return Dataset(x, y, names, [])


def _read_image_folder(root):
    from PIL import Image, UnidentifiedImageError

    classes = sorted(p for p in root.iterdir() if p.is_dir())
    if not classes:
        raise ValueError(f"--data {root} must hold one sub-folder of images per class (the ImageFolder layout)")
    images, labels, shape = [], [], None
    skipped = [str(p) for p in sorted(root.iterdir()) if not p.is_dir()]
    for label, folder in enumerate(classes):
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        skipped += [str(p) for p in sorted(folder.iterdir()) if p not in files]
        if not files:
            raise ValueError(f"class folder {folder} holds no images ({', '.join(IMAGE_SUFFIXES)})")
        for f in files:
            try:
                with Image.open(f) as im:
                    a = np.asarray(im.convert("RGB"))
            except (UnidentifiedImageError, OSError) as exc:
                raise ValueError(f"image {f} cannot be read ({type(exc).__name__})") from None
            if shape is None:
                shape = a.shape
            if a.shape != shape:
                raise ValueError(f"image {f} is {a.shape[1]}x{a.shape[0]}; the others are {shape[1]}x{shape[0]}")
            images.append(a)
            labels.append(label)
    return Dataset(np.stack(images).astype(np.uint8), np.array(labels), [c.name for c in classes], skipped)


def theory_view(n: int, theta: float | None = None, metric: str = "el2n", calibration: PathLike | dict | None = None) -> dict:
    """The keep fraction the perceptron would pick for a pool of ``n`` examples, read through a CIFAR-10
    calibration's effective dimension (a record of ``validation.calibrate``, or its JSON file); theta from the
    user, or the calibration's angle for the metric."""
    if calibration is None:
        return dict(available=False, why="no calibration given")
    record = calibration if isinstance(calibration, dict) else load_json(calibration)
    d = record["scale"]["d"]
    source, interval = "command line", None
    if theta is None:
        pool = max(record["pools"], key=lambda p: p["pool_size"])
        joint = {c["metric"]: c for c in pool["crossover"]}
        if metric not in joint:
            return dict(available=False, why=f"the calibration has no angle for {metric!r}: pass --theta")
        theta, interval, source = joint[metric]["theta"], joint[metric]["theta_ci95"], "calibration"
    theta = float(checks.theta(theta))
    alpha_tot = n / d
    choice = theory.optimal_keep_fraction(alpha_tot, theta)
    view = dict(
        available=True,
        pool_size=n,
        effective_dimension=d,
        alpha_tot=alpha_tot,
        theta=theta,
        theta_source=source,
        theta_ci95=interval,
        policy=choice.policy,
        keep_fraction=choice.keep_fraction,
        caveat=CAVEAT,
    )
    if interval is not None:
        view["keep_fraction_over_theta_ci95"] = [
            theory.optimal_keep_fraction(alpha_tot, float(t)).keep_fraction for t in interval
        ]
    return view


def prune_dataset(
    x: np.ndarray,
    y: np.ndarray | None = None,
    keep_fraction: float | Sequence[float] = 0.5,
    *,
    metric: MetricName = "el2n",
    policy: str = "hard",
    class_balanced: bool = False,
    seed: int = 0,
    cache_dir: PathLike | None = None,
    progress: bool = False,
    theta: float | None = None,
    calibration: PathLike | None = None,
    metric_options: dict | None = None,
    **policy_options: float,
) -> Pruned | list[Pruned]:
    """Score ``(x, y)``, keep ``round(f * n)`` examples by ``policy``, and report.

    ``keep_fraction`` is a number (returns one :class:`Pruned`) or a list (returns a list, one scoring shared).
    ``metric_options`` override the metric's defaults (the training config included); ``policy_options`` are
    ``beta``, ``strata`` (ccs) and ``hard_share`` (mixed).  ``calibration`` (a calibration record or its JSON
    file) gives the report the theory's view; ``prunescale prune`` passes the committed CIFAR-10 one.

    Example
    -------
    >>> x = np.random.default_rng(0).integers(0, 255, (40, 16, 16, 3), dtype=np.uint8)
    >>> p = prune_dataset(x, None, 0.25, metric="random", policy="hard")
    >>> len(p.kept), p.report["kept"]
    (10, 10)
    """
    cost = _Cost()
    fractions = _fractions(keep_fraction)
    settings = _check_policy(policy, policy_options)
    x, y = check_data(x, y, metric=metric)
    if class_balanced and y is None:
        raise ValueError("class-balanced pruning needs labels y")
    options = dict(metric_options or {})
    if METRICS[metric].labels and "config" in METRICS[metric].defaults:
        preset = options.get("config", METRICS[metric].defaults["config"])
        preset = dict(preset) if isinstance(preset, dict) else {"preset": preset}
        assert y is not None  # check_data asks for labels where the metric trains on them
        options["config"] = preset | {"num_classes": int(y.max()) + 1}  # the head adapts to the classes
    s = score(metric, x, y, seed=seed, cache_dir=cache_dir, progress=progress, **options)
    scored = cost.seconds()
    results = _select(s.scores, y, fractions, policy, class_balanced, settings, seed, cost,
                      dict(metric=metric, score_config=s.config), scored, theta, calibration)
    return results[0] if np.ndim(keep_fraction) == 0 else results


def prune_scores(scores: np.ndarray, keep_fraction: float | Sequence[float] = 0.5, *, labels: np.ndarray | None = None,
                 policy: str = "hard", class_balanced: bool = False, seed: int = 0, source: str = "scores",
                 **policy_options: float) -> Pruned | list[Pruned]:
    """Keep ``round(f * n)`` examples by your own ``scores`` (one finite number per example, higher = harder).

    The same policies and report as :func:`prune_dataset`; ``labels`` (integers) allow class-balanced pruning and
    the class-balance table.

    Example
    -------
    >>> p = prune_scores(np.arange(10.0), 0.3, policy="hard")
    >>> p.kept.tolist(), p.report["kept"], p.report["metric"]
    ([7, 8, 9], 3, 'scores')
    """
    from .dynamics import check_labels

    cost = _Cost()
    scores = np.asarray(scores, float)
    if scores.ndim != 1 or scores.size < 1:
        raise ValueError(f"scores must be a 1-d array with one score per example; got shape {scores.shape}")
    if not np.isfinite(scores).all():
        raise ValueError(f"scores hold NaN or inf (the first at index {int(np.flatnonzero(~np.isfinite(scores))[0])})")
    labels = None if labels is None else check_labels(labels, scores.size, shown="labels")
    fractions, settings = _fractions(keep_fraction), _check_policy(policy, policy_options)
    if class_balanced and labels is None:
        raise ValueError("class-balanced pruning needs labels")
    results = _select(scores, labels, fractions, policy, class_balanced, settings, seed, cost,
                      dict(metric=source, score_config={"source": source}), 0.0, None, None)
    return results[0] if np.ndim(keep_fraction) == 0 else results


def prune_dynamics(path: PathLike, keep_fraction: float | Sequence[float] = 0.5, *, metric: str = "el2n",
                   epoch: int | None = None, policy: str = "hard", class_balanced: bool = False, seed: int = 0,
                   **policy_options: float) -> Pruned | list[Pruned]:
    """Score the examples from recorded training dynamics (``validation.dynamics``: an ``.npz`` or a folder of
    ``logits.npy`` and ``labels.npy``, memory-mapped) by ``metric`` (el2n, forgetting, aum or loss), then prune as
    :func:`prune_scores` does."""
    from .dynamics import default_epoch, dynamics_scores, read_dynamics

    cost = _Cost()
    fractions, settings = _fractions(keep_fraction), _check_policy(policy, policy_options)
    dynamics = read_dynamics(path)
    scores = dynamics_scores(dynamics, metric, epoch=epoch)
    config = dict(source="dynamics", path=str(path), shape=list(dynamics.shape), metric=metric,
                  epoch=None if metric != "el2n" else (epoch if epoch is not None else default_epoch(dynamics.shape[1])))
    results = _select(scores, dynamics.labels, fractions, policy, class_balanced, settings, seed, cost,
                      dict(metric=metric, score_config=config), cost.seconds(), None, None)
    return results[0] if np.ndim(keep_fraction) == 0 else results


def prune_embeddings(path: PathLike, keep_fraction: float | Sequence[float] = 0.5, *, clusters: int = 100,
                     labels: PathLike | np.ndarray | None = None, dedup: float | None = None, policy: str = "hard",
                     class_balanced: bool = False, seed: int = 0, sample: int | None = None, scheduler: str | None = None,
                     **policy_options: float) -> Pruned | list[Pruned]:
    """Self-supervised prototypes from your own embeddings (an ``.npy`` of shape (N, D), memory-mapped):
    spherical k-means, score 1 minus the cosine to the nearest centroid (``validation.embeddings``).  With
    ``dedup`` (eps), near-duplicates are removed first, one example kept per group; the keep fraction applies to
    what is left, and the report counts the removed duplicates.  ``scheduler``: a Dask address for the chunked
    assignment."""
    from .dynamics import check_labels, read_array
    from .embeddings import near_duplicates, prototype_scores

    cost = _Cost()
    fractions, settings = _fractions(keep_fraction), _check_policy(policy, policy_options)
    embeddings = read_array(path, "embeddings", ndim=2)
    n = embeddings.shape[0]
    label_array = None
    if labels is not None:
        given = labels if isinstance(labels, np.ndarray) else read_array(labels, "labels", ndim=1, integers=True)
        label_array = check_labels(given, n, shown="--labels")
    if class_balanced and label_array is None:
        raise ValueError("class-balanced pruning needs --labels")
    source = str(path)  # mapped afresh for each read, so resident memory stays near one chunk's
    scores, cluster = prototype_scores(source, clusters, seed=seed, sample=sample, scheduler=scheduler)
    removed = near_duplicates(source, cluster, dedup) if dedup is not None else np.array([], dtype=np.int64)
    config = dict(source="embeddings", path=str(path), shape=list(embeddings.shape), metric="prototypes",
                  clusters=int(clusters), seed=int(seed), dedup=dedup)
    results = _select(scores, label_array, fractions, policy, class_balanced, settings, seed, cost,
                      dict(metric="prototypes", score_config=config), cost.seconds(), None, None, removed=removed)
    return results[0] if np.ndim(keep_fraction) == 0 else results


def _fractions(keep_fraction):
    fractions = [keep_fraction] if np.ndim(keep_fraction) == 0 else list(keep_fraction)
    if not fractions:
        raise ValueError("keep_fraction must hold at least one fraction")
    checks.keep_fraction(fractions)
    return fractions


def _check_policy(policy, policy_options):
    checks.one_of("policy", policy, SELECTION_POLICIES)
    unknown = set(policy_options) - set(POLICY_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown policy options {sorted(unknown)}; valid: {sorted(POLICY_DEFAULTS)}")
    settings = POLICY_DEFAULTS | policy_options
    check_settings(**settings)  # before any scoring
    return settings


class _Cost:
    """Seconds since the entry point began, and the process's peak memory above what it held then (Linux resets
    the peak, so the figure is this work's own; elsewhere it is the process's whole peak)."""

    def __init__(self):
        self.started, self.baseline = time.perf_counter(), reset_peak_memory()

    def seconds(self):
        return time.perf_counter() - self.started

    def peak_mib(self):
        return max(0.0, peak_memory_mib() - self.baseline)


def reset_peak_memory() -> float:
    """Reset the process's peak resident memory to what it holds now (Linux), and return that, in MiB."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return _status_mib("VmRSS")
    except OSError:
        return 0.0


def peak_memory_mib() -> float:
    """The process's peak resident memory since the last reset, in MiB."""
    try:
        return _status_mib("VmHWM")
    except OSError:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _status_mib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise OSError(f"no {field} in /proc/self/status")


def _select(scores, labels, fractions, policy, class_balanced, settings, seed, cost, scoring, scored, theta, calibration,
            removed=None):
    """One :class:`Pruned` per keep fraction; ``removed`` (duplicates) are taken out before the fraction applies."""
    removed = np.asarray([] if removed is None else removed, dtype=np.int64)
    candidates = np.setdiff1d(np.arange(scores.size), removed)
    results = []
    for f in fractions:
        t = time.perf_counter()
        sub_labels = None if labels is None or not class_balanced else labels[candidates]
        kept = candidates[select(scores[candidates], f, policy, seed=seed, labels=sub_labels, **settings)]
        report = _report(scores, kept, labels, f, policy, class_balanced, settings, seed, scored, time.perf_counter() - t,
                         theta, scoring, calibration, removed, cost)
        results.append(Pruned(kept, scores, report))
    return results


def _report(scores, kept, y, f, policy, class_balanced, settings, seed, scored, selected, theta, scoring, calibration,
            removed, cost):
    counts, edges = np.histogram(scores, bins=20)
    n = int(scores.size)
    report = dict(
        n=n,
        keep_fraction=float(f),
        kept=int(kept.size),
        metric=scoring["metric"],
        score_config=scoring["score_config"],
        policy=dict(name=policy, class_balanced=class_balanced, seed=seed)
        | ({"beta": settings["beta"], "strata": settings["strata"]} if policy == "ccs" else {})
        | ({"hard_share": settings["hard_share"]} if policy == "mixed" else {}),
        score_histogram=dict(counts=counts.tolist(), edges=edges.tolist()),
        seconds=dict(scoring=round(scored, 2), selection=round(selected, 4)),
        # what selection cost beside what it saves: the kept share is the share of compute per epoch
        cost=dict(seconds=round(cost.seconds(), 2), peak_memory_mib=round(cost.peak_mib(), 1)),
        saves=dict(kept_share=kept.size / n, compute_per_epoch=kept.size / n),
        theory=theory_view(n, theta, scoring["metric"], calibration),
    )
    if removed.size:
        report["duplicates_removed"] = int(removed.size)
    if y is not None:
        k = int(y.max()) + 1
        report["class_balance"] = dict(whole=np.bincount(y, minlength=k).tolist(), kept=np.bincount(y[kept], minlength=k).tolist())
    return report
