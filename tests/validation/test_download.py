"""The download path of ``load_cifar10``, against a small archive in the canonical format served on 127.0.0.1."""

import hashlib
import http.server
import io
import pickle
import tarfile
import threading

import numpy as np
import pytest

from prunescale.validation import data


def canonical_archive(per_batch=4, seed=0):
    """A ``cifar-10-python.tar.gz`` with the canonical layout (five training batches and a test batch, each a
    pickled dict of ``data`` rows in CHW order and ``labels``), ``per_batch`` images each."""
    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            batch = {b"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8), b"labels": list(rng.integers(0, 10, per_batch))}
            blob = pickle.dumps(batch)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return buffer.getvalue()


@pytest.fixture
def served(tmp_path, monkeypatch):
    """The archive on a local HTTP server; no CIFAR-10 anywhere else, an empty cache."""
    blob = canonical_archive()
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "cifar-10-python.tar.gz").write_bytes(blob)
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path / "www"), **k)
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(data, "CANONICAL_URL", f"http://127.0.0.1:{server.server_port}/cifar-10-python.tar.gz")
    monkeypatch.setattr(data, "TARBALL_MD5", hashlib.md5(blob).hexdigest())
    monkeypatch.setattr(data, "_candidates", lambda: iter([tmp_path / "cache" / "cifar10.npz"]))
    monkeypatch.setenv(data.ENV_CACHE, str(tmp_path / "cache"))
    yield blob
    server.shutdown()
    server.server_close()


def test_a_download_is_checked_saved_in_the_cache_and_read(served, tmp_path):
    with pytest.raises(FileNotFoundError, match="CIFAR-10 not found"):
        data.load_cifar10()  # no download unless asked
    d = data.load_cifar10(download=True, verify=False)  # the small archive is not the published data set
    assert d.x_train.shape == (20, 32, 32, 3) and d.x_test.shape == (4, 32, 32, 3)
    assert d.x_train.dtype == np.uint8 and d.y_train.dtype == np.uint8
    saved = tmp_path / "cache" / "cifar-10-python.tar.gz"
    assert saved.read_bytes() == served
    first = pickle.loads(tarfile.open(saved).extractfile("cifar-10-batches-py/data_batch_1").read())
    assert np.array_equal(d.x_train[0], first[b"data"][0].reshape(3, 32, 32).transpose(1, 2, 0))  # CHW -> HWC


def test_a_wrong_checksum_is_refused_and_leaves_nothing_in_the_cache(served, tmp_path, monkeypatch):
    monkeypatch.setattr(data, "TARBALL_MD5", "0" * 32)
    with pytest.raises(ValueError, match="fails its md5 check"):
        data.load_cifar10(download=True, verify=False)
    cache = tmp_path / "cache"
    assert not cache.exists() or not any(cache.rglob("*"))


def test_the_published_checksums_refuse_a_foreign_archive(served):
    with pytest.raises(ValueError, match="fails its sha256 check"):
        data.load_cifar10(download=True)


def test_an_unreachable_server_names_the_local_alternatives(served, monkeypatch):
    monkeypatch.setattr(data, "CANONICAL_URL", "http://127.0.0.1:9/cifar-10-python.tar.gz")
    with pytest.raises(FileNotFoundError, match="Pass a local file instead"):
        data.load_cifar10(download=True)
