"""Fixtures: a small fake data set in CIFAR-10's format, so the pipeline runs without the real file."""

import pytest
from fake_data import fake_cifar10

from prunescale.store import save_npz


@pytest.fixture(scope="session")
def fake_cifar10_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "fake_cifar10.npz"
    save_npz(path, **fake_cifar10())
    return path
