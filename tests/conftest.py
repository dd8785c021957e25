"""Options and markers for the whole suite.

``slow`` tests run only with ``--runslow``; tests that need the real CIFAR-10 are marked ``cifar10`` and are
skipped where no file is found (``validation.find_cifar10``)."""

import pytest


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="also run tests marked slow")


def pytest_collection_modifyitems(config, items):
    skips = []
    if not config.getoption("--runslow"):
        skips.append(("slow", pytest.mark.skip(reason="slow: run with --runslow")))
    if not _cifar10_found():
        skips.append(("cifar10", pytest.mark.skip(reason="needs the real CIFAR-10 file (validation.find_cifar10)")))
    for item in items:
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
