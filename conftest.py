"""Options, markers and doctest collection for the whole suite.

The library packages sit side by side in the repository and install as
``prunescale.store``, ``prunescale.theory``, ...  Their docstring examples are
collected under those installed names, never by file path (which would import
``theory/error.py`` a second time as ``theory.error``, with a second
``ConvergenceError``), and the bare names cannot be imported during the run.

``slow`` tests (and the tutorial's doctest) run only with ``--runslow``; tests that need the real CIFAR-10 are
marked ``cifar10`` and are skipped where no file is found (``validation.find_cifar10``).

The suite's workers share one persistent XLA compilation cache for the run: nearly half of the suite's CPU
time is XLA compiling, and a program that another test or the other worker already compiled is read back
(measured: about 30 s of CPU saved). A cached executable is the same executable, so no number changes."""

import importlib
import importlib.abc
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
from _pytest.doctest import DoctestModule

COMPILATION_CACHE = "JAX_COMPILATION_CACHE_DIR"
SLOW_DOCUMENTS = {"docs/tutorial.md::tutorial.md"}  # the whole tutorial runs as one doctest (30-45 s): --runslow
DOCTESTED = ("store", "theory", "sim", "validation")  # the library packages whose docstring examples run
BARE_NAMES = ("store", "theory", "sim", "validation", "figures")


class _OneImportRoot(importlib.abc.MetaPathFinder):
    """Refuses ``import theory`` and the like, which would give a second copy of a ``prunescale`` module."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname in BARE_NAMES:
            raise ImportError(f"import prunescale.{fullname}, not {fullname}: the toolkit has one import root")
        return None


sys.meta_path.insert(0, _OneImportRoot())


def installed_name(path, root):
    """``prunescale.theory.error`` for ``theory/error.py``; None outside the doctested packages."""
    parts = Path(path).relative_to(root).with_suffix("").parts
    if parts[0] not in DOCTESTED or parts[-1] in ("__main__", "conftest"):
        return None
    return ".".join(("prunescale",) + (parts[:-1] if parts[-1] == "__init__" else parts))


class InstalledDoctestModule(DoctestModule):
    """A module's docstring examples, with the module imported by its installed name."""

    def _getobj(self):
        return importlib.import_module(installed_name(self.path, self.config.rootpath))


def _in_library(path, root):
    return Path(path).is_relative_to(root) and Path(path).relative_to(root).parts[:1] in [(d,) for d in DOCTESTED]


def pytest_collect_directory(path, parent):
    # a plain folder, not a Package: pytest would import a package's __init__.py by path, as ``theory``
    if _in_library(path, parent.config.rootpath):
        return pytest.Dir.from_parent(parent, path=path)
    return None


def pytest_collect_file(file_path, parent):
    explicit = parent.session.isinitpath(file_path)  # a file named on the command line: see the hook below
    if file_path.suffix == ".py" and not explicit and installed_name(file_path, parent.config.rootpath):
        return InstalledDoctestModule.from_parent(parent, path=file_path)
    return None


def pytest_pycollect_makemodule(module_path, parent):
    # a library file named on the command line (``pytest theory/error.py``): its doctests, by the installed name
    if installed_name(module_path, parent.config.rootpath):
        return InstalledDoctestModule.from_parent(parent, path=module_path)
    return None


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
    from prunescale.validation import find_cifar10

    try:
        find_cifar10()
        return True
    except FileNotFoundError:
        return False
