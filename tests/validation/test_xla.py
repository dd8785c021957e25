"""The trainer's XLA setting: added where safe, never over a user's own, and recorded."""

import os

import pytest

from prunescale.validation import xla


@pytest.fixture
def fresh(monkeypatch):
    """As before JAX starts a backend, with a jaxlib that knows the flag."""
    monkeypatch.setattr(xla, "_backend_started", lambda: False)
    monkeypatch.setattr(xla, "jaxlib_accepts", lambda flags: True)
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    monkeypatch.delenv(xla.DISABLE, raising=False)
    return monkeypatch


def test_the_flag_is_added_and_a_users_other_flags_are_kept(fresh):
    fresh.setenv("XLA_FLAGS", "--xla_dump_to=/tmp/x")
    assert xla.prefer_fast_cpu_convolutions() == f"--xla_dump_to=/tmp/x {xla.FAST_CPU_CONVOLUTIONS}"


def test_a_users_own_setting_of_the_option_is_left_alone(fresh):
    fresh.setenv("XLA_FLAGS", f"{xla.FLAG_NAME}=default")
    assert xla.prefer_fast_cpu_convolutions() == f"{xla.FLAG_NAME}=default"


@pytest.mark.parametrize("why", ["jaxlib refuses it", "backend already started", "turned off"])
def test_nothing_changes_where_it_is_not_safe_or_not_wanted(fresh, why):
    if why == "jaxlib refuses it":
        fresh.setattr(xla, "jaxlib_accepts", lambda flags: False)
    elif why == "backend already started":
        fresh.setattr(xla, "_backend_started", lambda: True)
    else:
        fresh.setenv(xla.DISABLE, "1")
    flags = xla.prefer_fast_cpu_convolutions()
    assert "XLA_FLAGS" not in os.environ  # nothing added
    assert flags == xla.effective_flags()  # and it reports what the backend runs (or will run) with
    if why != "backend already started":
        assert flags == ""


def test_an_unknown_flag_is_caught_in_a_child_process_not_by_an_abort_here():
    assert xla.jaxlib_accepts("--xla_no_such_flag_for_prunescale_tests=1") is False


def test_every_training_run_records_its_flags():
    import numpy as np

    from prunescale.validation import train

    x = np.zeros((8, 16, 16, 3), np.uint8)
    r = train(x, np.arange(8) % 2, "toy", epochs=1.0)
    assert r.xla_flags == xla.effective_flags()
