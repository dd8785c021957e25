"""XLA settings for CPU training, applied before JAX starts its backend, and recorded with every run.

jaxlib 0.10 sends every convolution on the CPU to YNNPACK, which is slower
here than XLA's own (Eigen) convolutions: measured 1.40x faster training
with convolutions moved back to Eigen (docs/validation.md, "Trainer
speed"), at the same accuracy but not bit for bit the same numbers.

:func:`prefer_fast_cpu_convolutions` adds that flag to ``XLA_FLAGS`` where it
is safe:

- never over a user's own choice: a ``XLA_FLAGS`` that already sets
  ``--xla_cpu_experimental_ynn_fusion_type`` is left alone, and other flags are kept;
- only where the installed jaxlib knows the flag (XLA aborts the process on an
  unknown one, and this one is experimental): checked once per process in a
  child process, and skipped silently where it fails;
- only before JAX has started a backend (flags are read once, then).

:func:`effective_flags` is what the backend runs with; the trainer records it.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from typing import NamedTuple

FLAG_NAME = "--xla_cpu_experimental_ynn_fusion_type"
FAST_CPU_CONVOLUTIONS = f"{FLAG_NAME}=-individual_convolution"  # convolutions to Eigen; YNNPACK keeps the rest
DISABLE = "PRUNESCALE_DEFAULT_XLA"  # set to 1 to train with jaxlib's defaults


def _backend_started() -> bool:
    try:
        from jax._src import xla_bridge  # private: where a newer jax moves it, assume started and touch nothing

        return xla_bridge.backends_are_initialized()
    except (ImportError, AttributeError):
        return True


@functools.lru_cache(maxsize=None)
def jaxlib_accepts(flags: str) -> bool:
    """Whether a fresh process starts JAX's CPU backend with ``XLA_FLAGS=flags`` (an unknown flag aborts it)."""
    env = dict(os.environ, XLA_FLAGS=flags, JAX_PLATFORMS="cpu")
    try:
        done = subprocess.run(
            [sys.executable, "-c", "import jax; jax.devices()"], env=env, capture_output=True, timeout=120
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def prefer_fast_cpu_convolutions() -> str:
    """Add :data:`FAST_CPU_CONVOLUTIONS` to ``XLA_FLAGS`` where safe (module docstring); return the flags."""
    flags = os.environ.get("XLA_FLAGS", "")
    if os.environ.get(DISABLE) == "1" or FLAG_NAME in flags or _backend_started():
        return effective_flags()
    wanted = f"{flags} {FAST_CPU_CONVOLUTIONS}".strip()
    if jaxlib_accepts(wanted):
        os.environ["XLA_FLAGS"] = wanted
    return effective_flags()


_flags_at_start: list = []  # XLA_FLAGS when the first backend started (filled by the hook below)


def _record_flags(_backend):
    if not _flags_at_start:
        _flags_at_start.append(os.environ.get("XLA_FLAGS", ""))


def effective_flags() -> str:
    """The ``XLA_FLAGS`` the backend runs with: as they were when it started (or will start with)."""
    if _backend_started() and _flags_at_start:
        return _flags_at_start[0]
    return os.environ.get("XLA_FLAGS", "")


def _register():
    try:
        from jax._src import xla_bridge
    except ImportError:
        return
    register = getattr(xla_bridge, "register_backend_initialization_hook", None)
    if register is not None:
        register(_record_flags)  # runs now too, if a backend has started


_register()


class Machine(NamedTuple):
    """Where a run trained.  CPU runs are bit-exact only on one CPU model: the same job at the same commit, jax
    and flags gave 0.1849 on one machine against 0.1816 on another, so every run records its machine."""

    cpu_model: str  # the model name with its family, model and stepping numbers
    cores: int  # logical CPUs of the machine
    threads: int  # CPUs this process may run on (XLA's CPU thread pool uses them)
    jax_version: str
    jaxlib_version: str
    xla_flags: str  # as the backend runs with them


def cpu_model() -> str:
    """``Intel(R) Xeon(R) Processor (family 6, model 207, stepping 2)`` from ``/proc/cpuinfo``, else what
    :mod:`platform` knows."""
    import platform

    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                key, _, value = line.partition(":")
                if not line.strip():
                    break  # the first processor's block is enough
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    name = fields.get("model name") or platform.processor() or platform.machine()
    numbers = ", ".join(f"{k.split()[-1]} {fields[k]}" for k in ("cpu family", "model", "stepping") if k in fields)
    return f"{name} ({numbers})" if numbers else name


def machine() -> Machine:
    """This process's :class:`Machine`."""
    import jax
    import jaxlib

    threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0
    return Machine(cpu_model(), os.cpu_count() or 0, threads, jax.__version__, jaxlib.__version__, effective_flags())
