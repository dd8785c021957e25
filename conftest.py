"""Options and markers for the whole suite.

``slow`` tests (and the tutorial's doctest) run only with ``--runslow``; tests that need the real CIFAR-10 are
marked ``cifar10`` and are skipped where no file is found (``validation.find_cifar10``).

The suite's workers share one persistent XLA compilation cache for the run: nearly half of the suite's CPU
time is XLA compiling, and a program that another test or the other worker already compiled is read back
(measured: about 30 s of CPU saved). A cached executable is the same executable, so no number changes."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

COMPILATION_CACHE = "JAX_COMPILATION_CACHE_DIR"
SLOW_DOCUMENTS = {"docs/tutorial.md::tutorial.md"}  # the whole tutorial runs as one doctest (30-45 s): --runslow


def pytest_configure(config):
    # xdist gives every worker of one run the same testrunuid, so the workers find one folder
    run_id = getattr(config, "workerinput", {}).get("testrunuid", f"main-{os.getpid()}")
    folder = os.environ.setdefault(COMPILATION_CACHE, str(Path(tempfile.gettempdir()) / f"prunescale-xla-{run_id}"))
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
    config._prunescale_compilation_cache = folder  # subprocesses the tests start inherit the variables


def pytest_unconfigure(config):
    folder = getattr(config, "_prunescale_compilation_cache", "")
    if not hasattr(config, "workerinput") and Path(folder).name.startswith("prunescale-xla-"):
        shutil.rmtree(folder, ignore_errors=True)  # the controller removes the run's cache after its workers


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="also run tests marked slow")


def pytest_collection_modifyitems(config, items):
    skips = []
    if not config.getoption("--runslow"):
        skips.append(("slow", pytest.mark.skip(reason="slow: run with --runslow")))
    if not _cifar10_found():
        skips.append(("cifar10", pytest.mark.skip(reason="needs the real CIFAR-10 file (validation.find_cifar10)")))
    for item in items:
        if item.nodeid in SLOW_DOCUMENTS:
            item.add_marker(pytest.mark.slow)
        for keyword, skip in skips:
            if keyword in item.keywords:
                item.add_marker(skip)


def _cifar10_found():
    from validation import find_cifar10

    try:
        find_cifar10()
        return True
    except FileNotFoundError:
        return False
