"""CIFAR-10: a verified loader, and subsets as plain index arrays.

``load_cifar10(path)`` reads either the standard ``cifar-10-python.tar.gz``
or an ``.npz`` holding ``x_train, y_train, x_test, y_test``, and verifies the
sha256 of every array's raw bytes against the published dataset.  Without a
path it looks, in order, at ``$PRUNESCALE_CIFAR10`` (a file), the cache
directory (``$PRUNESCALE_CACHE`` or ``~/.cache/prunescale``), and
``../shared/data/cifar10.npz`` beside the repository (or beside the
working directory).  With
``download=True`` it fetches the canonical tarball into the cache, where a
network exists.

A pruned training set is the data plus an index array: see
:func:`class_balanced_subset` and :func:`random_pool`.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tarfile
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

from prunescale.store import PathLike, atomic_write, checks, digest
from prunescale.store.checks import Policy

CANONICAL_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
TARBALL_MD5 = "c58f30108f718f92721af3b95e74349a"
# sha256 of each array's raw bytes (C order) of the published data set
ARRAY_SHA256 = {
    "x_train": "47af8b02cfcfb6cdf3dbbd1969ad7f1b70f4413f6f80f437b020ee4e5bc8304a",
    "y_train": "2b7cd2f24487317614016b72ffd53071c3062f592f0eb300c18a770d41ae1253",
    "x_test": "f9b1e2130bab680db56eb06d886f7f1ad0f1183907ceff4659d1735c890f5b04",
    "y_test": "cec8a24a1e92aa2ecaa0bbd3dbfa86bf6cd8759fbd209a832824c8cf0afca9d5",
}
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
ENV_FILE = "PRUNESCALE_CIFAR10"
ENV_CACHE = "PRUNESCALE_CACHE"
_SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10.npz"


class CIFAR10(NamedTuple):
    x_train: np.ndarray  # uint8 [50000, 32, 32, 3]
    y_train: np.ndarray  # uint8 [50000]
    x_test: np.ndarray  # uint8 [10000, 32, 32, 3]
    y_test: np.ndarray  # uint8 [10000]

    @property
    def checksum(self) -> str:
        """One digest of the four arrays' digests: names the data in every sweep job's key.

        Verified CIFAR-10 always has :data:`CHECKSUM`."""
        return data_checksum({k: digest(getattr(self, k), None) for k in self._fields})


def data_checksum(array_digests: dict) -> str:
    """The data's name in cache keys, from the sha256 of each of its four arrays."""
    return digest("".join(array_digests[k] for k in CIFAR10._fields))


CHECKSUM = data_checksum(ARRAY_SHA256)  # of the published data set


def cache_dir() -> Path:
    """``$PRUNESCALE_CACHE`` or ``~/.cache/prunescale``."""
    return Path(os.environ.get(ENV_CACHE, Path.home() / ".cache" / "prunescale"))


def _candidates():
    if os.environ.get(ENV_FILE):
        yield Path(os.environ[ENV_FILE])  # a missing file named here is an error, not a fallback
        return
    for name in ("cifar10.npz", "cifar-10-python.tar.gz"):
        yield cache_dir() / name
    yield _SHARED  # beside a source checkout
    yield Path.cwd().resolve().parent / "shared" / "data" / "cifar10.npz"  # beside the working folder


def find_cifar10() -> Path:
    """The file :func:`load_cifar10` would read without a path, or a clear error."""
    tried = list(_candidates())
    for path in tried:
        if path.exists():
            return path
    raise FileNotFoundError(
        "CIFAR-10 not found. Tried: "
        + ", ".join(map(str, tried))
        + f". Pass path=..., set ${ENV_FILE} to the file (.npz or cifar-10-python.tar.gz), "
        f"or call load_cifar10(download=True) where a network exists."
    )


def _read_tarball(path: Path) -> dict[str, np.ndarray]:
    xs: dict[str, list] = {"train": [], "test": []}
    ys: dict[str, list] = {"train": [], "test": []}
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    with tarfile.open(path, "r:gz") as tar:
        members = {Path(m.name).name: m for m in tar.getmembers()}
        for name in names:
            if name not in members:
                raise ValueError(f"{path} is not cifar-10-python.tar.gz: it lacks {name}")
            member = tar.extractfile(members[name])
            if member is None:
                raise ValueError(f"{path} is not cifar-10-python.tar.gz: its {name} is not a file")
            batch = pickle.load(member, encoding="bytes")
            split = "test" if name == "test_batch" else "train"
            xs[split].append(np.asarray(batch[b"data"], np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
            ys[split].append(np.asarray(batch[b"labels"], np.uint8))
    return {f"{v}_{s}": np.concatenate(d[s]) for v, d in (("x", xs), ("y", ys)) for s in ("train", "test")}


def _download(dest: Path) -> None:
    """Fetch :data:`CANONICAL_URL` into ``dest``, only if its md5 is :data:`TARBALL_MD5` (else nothing is saved)."""
    import urllib.request

    url, expected = CANONICAL_URL, TARBALL_MD5  # read at call time: a test serves a small archive of its own
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            blob = response.read()
    except OSError as exc:
        raise FileNotFoundError(
            f"could not download CIFAR-10 from {url} ({exc}). Pass a local file instead: "
            f"load_cifar10(path=...) or ${ENV_FILE}."
        ) from None
    if hashlib.md5(blob).hexdigest() != expected:
        raise ValueError(f"the file downloaded from {url} fails its md5 check (expected {expected}); nothing was saved")
    atomic_write(dest, blob)


def load_cifar10(path: PathLike | None = None, *, download: bool = False, verify: bool = True) -> CIFAR10:
    """CIFAR-10 as uint8 arrays, verified against the published checksums.

    Parameters
    ----------
    path : str or Path, optional
        An ``.npz`` with ``x_train, y_train, x_test, y_test`` or the standard
        ``cifar-10-python.tar.gz``.  Default: see :func:`find_cifar10`.
    download : bool
        If no file is found, fetch the canonical tarball into :func:`cache_dir`.
    verify : bool
        Check the sha256 of every array (about a second).

    Returns
    -------
    CIFAR10
        ``x_train`` uint8 [50000, 32, 32, 3], ``y_train`` uint8 [50000],
        ``x_test`` [10000, 32, 32, 3], ``y_test`` [10000].

    Raises
    ------
    FileNotFoundError : no file; ValueError : a corrupted or foreign file.

    Example
    -------
    >>> d = load_cifar10()
    >>> d.x_train.shape, d.x_train.dtype, CLASSES[d.y_test[0]]
    ((50000, 32, 32, 3), dtype('uint8'), 'cat')
    """
    if path is None:
        try:
            path = find_cifar10()
        except FileNotFoundError:
            if not download:
                raise
            path = cache_dir() / "cifar-10-python.tar.gz"
            _download(path)
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"CIFAR-10 file {path} does not exist")
    try:
        if path.name.endswith((".tar.gz", ".tgz")):
            arrays = _read_tarball(path)
        else:
            with np.load(path, allow_pickle=False) as npz:
                missing = set(ARRAY_SHA256) - set(npz.files)
                if missing:
                    raise ValueError(f"{path} lacks the arrays {sorted(missing)}")
                arrays = {k: npz[k] for k in ARRAY_SHA256}
    except (OSError, EOFError, ValueError, tarfile.TarError, zipfile.BadZipFile, pickle.UnpicklingError, KeyError) as exc:
        if isinstance(exc, ValueError) and "lacks" in str(exc):
            raise
        why = "not an .npz file" if "allow_pickle" in str(exc) else f"{type(exc).__name__}: {exc}"  # never advise pickle
        raise ValueError(f"{path} is corrupted or not CIFAR-10 ({why})") from None
    if verify:
        for name, expected in ARRAY_SHA256.items():
            if digest(arrays[name], None) != expected:
                raise ValueError(f"{path}: array {name} fails its sha256 check (corrupted or not CIFAR-10)")
    return CIFAR10(**{k: arrays[k] for k in CIFAR10._fields})


def class_balanced_subset(labels: np.ndarray, size: int, seed: int = 0, num_classes: int = 10) -> np.ndarray:
    """Sorted indices of ``size`` examples, as equal per class as possible, drawn at random.

    Example
    -------
    >>> labels = np.repeat(np.arange(10), 100)
    >>> idx = class_balanced_subset(labels, 25, seed=0)
    >>> len(idx), np.bincount(labels[idx]).tolist()
    (25, [2, 2, 3, 3, 3, 2, 3, 3, 2, 2])
    """
    labels = np.asarray(labels)
    if not 1 <= size <= labels.size:
        raise ValueError(f"size must lie in [1, {labels.size}]; got {size}")
    rng = np.random.default_rng(seed)
    per_class = np.full(num_classes, size // num_classes)
    per_class[rng.permutation(num_classes)[: size % num_classes]] += 1
    picked = []
    for c in range(num_classes):
        members = np.flatnonzero(labels == c)
        if per_class[c] > members.size:
            raise ValueError(f"class {c} has only {members.size} examples; cannot take {per_class[c]}")
        picked.append(rng.choice(members, per_class[c], replace=False))
    return np.sort(np.concatenate(picked))


def nested_pool(labels: np.ndarray, size: int, seed: int = 0, num_classes: int = 10) -> np.ndarray:
    """Sorted indices of a class-balanced pool of ``size``, nested across sizes for one seed.

    Each class's examples are put in a random order fixed by ``seed``; a pool
    takes the first ``size / num_classes`` of every class, so the 2.5k pool of a
    seed lies inside its 5k pool, which lies inside its 10k pool.  ``size`` must
    be a multiple of ``num_classes``.

    Example
    -------
    >>> labels = np.repeat(np.arange(10), 100)
    >>> small, large = nested_pool(labels, 20, seed=3), nested_pool(labels, 50, seed=3)
    >>> bool(np.isin(small, large).all()), np.bincount(labels[large]).tolist()
    (True, [5, 5, 5, 5, 5, 5, 5, 5, 5, 5])
    """
    labels = np.asarray(labels)
    if size % num_classes or not num_classes <= size <= labels.size:
        raise ValueError(f"size must be a multiple of {num_classes} in [{num_classes}, {labels.size}]; got {size}")
    rng = np.random.default_rng(seed)
    per_class = size // num_classes
    picked = []
    for c in range(num_classes):
        members = np.flatnonzero(labels == c)
        if per_class > members.size:
            raise ValueError(f"class {c} has only {members.size} examples; cannot take {per_class}")
        picked.append(members[rng.permutation(members.size)][:per_class])
    return np.sort(np.concatenate(picked))


def random_pool(n_total: int, size: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of a uniformly random pool of ``size`` out of ``n_total`` examples.

    Example
    -------
    >>> random_pool(10, 3, seed=0).tolist()
    [5, 6, 9]
    """
    if not 1 <= size <= n_total:
        raise ValueError(f"size must lie in [1, {n_total}]; got {size}")
    return np.sort(np.random.default_rng(seed).choice(n_total, size, replace=False))


def prune(scores: np.ndarray, pool: np.ndarray, keep_fraction: float, policy: Policy, seed: int = 0,
          labels: np.ndarray | None = None) -> np.ndarray:
    """Indices kept from ``pool`` (an index array) by ``scores`` (higher = harder), sorted.

    Keeps exactly ``round(keep_fraction * len(pool))``: the highest scores
    (hard), the lowest (easy), or a random subset (random).  Ties break by a
    seeded random order, so equal scores never bias the choice.  With
    ``labels`` (indexed like ``scores``) pruning is class-balanced: each
    class of the pool keeps its share, rounded so the total stays exact, and
    the policy picks within each class.

    Example
    -------
    >>> scores = np.array([0.9, 0.1, 0.5, 0.7, 0.3])
    >>> prune(scores, np.arange(5), 0.4, "hard").tolist(), prune(scores, np.arange(5), 0.4, "easy").tolist()
    ([0, 3], [1, 4])
    """
    pool = np.asarray(pool)
    keep_fraction = float(checks.keep_fraction(keep_fraction))
    checks.policy(policy)
    n_keep = max(1, int(round(keep_fraction * pool.size)))
    rng = np.random.default_rng(seed)
    tiebreak = rng.permutation(pool.size)
    s = np.asarray(scores, float)[pool]
    order = tiebreak if policy == "random" else np.lexsort((tiebreak, -s if policy == "hard" else s))
    if labels is None:
        return np.sort(pool[order[:n_keep]])
    classes = np.asarray(labels)[pool][order]
    quota = _class_quotas(np.bincount(classes), n_keep)
    rank_in_class = np.zeros(order.size, int)
    for c in np.unique(classes):
        rank_in_class[classes == c] = np.arange((classes == c).sum())
    return np.sort(pool[order[rank_in_class < quota[classes]]])


def _class_quotas(counts, n_keep):
    """Each class's share of ``n_keep``, by largest remainder, so the shares sum to ``n_keep`` exactly."""
    share = counts * n_keep / counts.sum()
    quota = np.floor(share).astype(int)
    quota[np.argsort(-(share - quota), kind="stable")[: n_keep - quota.sum()]] += 1
    return quota
