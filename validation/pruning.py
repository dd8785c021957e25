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
from typing import NamedTuple

import numpy as np

from prunescale import theory
from prunescale.store import checks, load_json

from .metrics import METRICS, score
from .selection import DEFAULTS as POLICY_DEFAULTS
from .selection import SELECTION_POLICIES, select

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
CAVEAT = (
    "qualitative: it fits the perceptron to the fair test's CIFAR-10 runs (equal steps, pools of 2.5k to 10k) with "
    "chi-square per degree of freedom far above 1, so read the direction, not the digits"
)


class Pruned(NamedTuple):
    kept: np.ndarray  # sorted indices of the kept examples
    scores: np.ndarray  # [n], higher = harder
    report: dict


def check_data(x, y=None, *, metric="el2n"):
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


def read_dataset(path):
    """``(x, y, class_names)`` from an ``.npz`` (``x``, optional ``y``) or an ImageFolder (one folder per class)."""
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
    return x, y, names


def _read_image_folder(root):
    from PIL import Image, UnidentifiedImageError

    classes = sorted(p for p in root.iterdir() if p.is_dir())
    if not classes:
        raise ValueError(f"--data {root} must hold one sub-folder of images per class (the ImageFolder layout)")
    images, labels, shape = [], [], None
    for label, folder in enumerate(classes):
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
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
    return np.stack(images).astype(np.uint8), np.array(labels), [c.name for c in classes]


def theory_view(n, theta=None, metric="el2n", calibration=None):
    """The keep fraction the perceptron would pick for a pool of ``n`` examples, read through a CIFAR-10
    calibration's effective dimension (a record of ``validation.calibrate``, or its JSON file); theta from the
    user, or the calibration's angle for the metric."""
    if calibration is None:
        return dict(available=False, why="no calibration given")
    if not isinstance(calibration, dict):
        calibration = load_json(calibration)
    d = calibration["scale"]["d"]
    source, interval = "command line", None
    if theta is None:
        pool = max(calibration["pools"], key=lambda p: p["pool_size"])
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
    x,
    y=None,
    keep_fraction=0.5,
    *,
    metric="el2n",
    policy="hard",
    class_balanced=False,
    seed=0,
    cache_dir=None,
    progress=False,
    theta=None,
    calibration=None,
    metric_options=None,
    **policy_options,
):
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
    fractions = [keep_fraction] if np.ndim(keep_fraction) == 0 else list(keep_fraction)
    if not fractions:
        raise ValueError("keep_fraction must hold at least one fraction")
    checks.keep_fraction(fractions)
    checks.one_of("policy", policy, SELECTION_POLICIES)
    unknown = set(policy_options) - set(POLICY_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown policy options {sorted(unknown)}; valid: {sorted(POLICY_DEFAULTS)}")
    settings = POLICY_DEFAULTS | policy_options
    x, y = check_data(x, y, metric=metric)
    if class_balanced and y is None:
        raise ValueError("class-balanced pruning needs labels y")
    options = dict(metric_options or {})
    if METRICS[metric].labels and "config" in METRICS[metric].defaults:
        preset = options.get("config", METRICS[metric].defaults["config"])
        preset = dict(preset) if isinstance(preset, dict) else {"preset": preset}
        options["config"] = preset | {"num_classes": int(y.max()) + 1}  # the head adapts to the classes
    started = time.perf_counter()
    s = score(metric, x, y, seed=seed, cache_dir=cache_dir, progress=progress, **options)
    scored = time.perf_counter() - started
    results = []
    for f in fractions:
        t = time.perf_counter()
        kept = select(s.scores, f, policy, seed=seed, labels=y if class_balanced else None, **settings)
        report = _report(s, kept, y, f, policy, class_balanced, settings, seed, scored, time.perf_counter() - t, theta, metric, calibration)
        results.append(Pruned(kept, s.scores, report))
    return results[0] if np.ndim(keep_fraction) == 0 else results


def _report(s, kept, y, f, policy, class_balanced, settings, seed, scored, selected, theta, metric, calibration):
    counts, edges = np.histogram(s.scores, bins=20)
    report = dict(
        n=int(s.scores.size),
        keep_fraction=float(f),
        kept=int(kept.size),
        metric=metric,
        score_config=s.config,
        policy=dict(name=policy, class_balanced=class_balanced, seed=seed)
        | ({"beta": settings["beta"], "strata": settings["strata"]} if policy == "ccs" else {})
        | ({"hard_share": settings["hard_share"]} if policy == "mixed" else {}),
        score_histogram=dict(counts=counts.tolist(), edges=edges.tolist()),
        seconds=dict(scoring=round(scored, 2), selection=round(selected, 4)),
        theory=theory_view(int(s.scores.size), theta, metric, calibration),
    )
    if y is not None:
        k = int(y.max()) + 1
        report["class_balance"] = dict(whole=np.bincount(y, minlength=k).tolist(), kept=np.bincount(y[kept], minlength=k).tolist())
    return report
