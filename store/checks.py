"""Parameter checks shared by every package and the CLI: one wording for each error.

Every message names the parameter and its valid range, so a user never meets
a NaN or a traceback from deep inside a solver.
"""

from __future__ import annotations

from typing import Literal, Sequence, TypeVar

import numpy as np
from numpy.typing import ArrayLike

T = TypeVar("T")

Policy = Literal["hard", "easy", "random"]  # keep the highest scores, the lowest, or a random subset
POLICIES: tuple[Policy, ...] = ("hard", "easy", "random")


def as_array(name: str, value: ArrayLike) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number or an array of numbers, got {value!r}") from None
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {_show(arr[~np.isfinite(arr)])}")
    return arr


def positive(name: str, value: ArrayLike, upper: float | None = None) -> np.ndarray:
    arr = as_array(name, value)
    bad = arr <= 0 if upper is None else (arr <= 0) | (arr > upper)
    if np.any(bad):
        rng = "(0, inf)" if upper is None else f"(0, {upper:g}]"
        raise ValueError(f"{name} must lie in {rng}, got {_show(arr[bad])}")
    return arr


def keep_fraction(value: ArrayLike, name: str = "keep_fraction") -> np.ndarray:
    arr = as_array(name, value)
    bad = (arr <= 0) | (arr > 1)
    if np.any(bad):
        raise ValueError(f"{name} must lie in (0, 1], got {_show(arr[bad])}")
    return arr


def theta(value: ArrayLike, name: str = "theta") -> np.ndarray:
    arr = as_array(name, value)
    bad = (arr < 0) | (arr > 90)
    if np.any(bad):
        raise ValueError(f"{name} (degrees) must lie in [0, 90], got {_show(arr[bad])}")
    return arr


def policy(value: str, allowed: Sequence[Policy] = POLICIES) -> Policy:
    """``value`` as a :data:`Policy` if it is one of ``allowed``, else an error that lists them."""
    return one_of("policy", value, allowed)  # type: ignore[arg-type]  # value is a str until checked


def one_of(name: str, value: T, allowed: Sequence[T]) -> T:
    """``value`` if it is one of ``allowed``, else an error that lists them."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(str, allowed))}; got {value!r}")
    return value


def fraction_in(name: str, value: ArrayLike, low: float, high: float,
                closed: Literal["neither", "low", "high", "both"] = "neither") -> np.ndarray:
    """A scalar between ``low`` and ``high``; ``closed`` says which ends are allowed ("neither", "low", "high",
    "both"), and the message writes the interval as the user may give it, e.g. ``[0, 1)``."""
    arr = as_array(name, value)
    low_ok, high_ok = closed in ("low", "both"), closed in ("high", "both")
    bad = ((arr < low) if low_ok else (arr <= low)) | ((arr > high) if high_ok else (arr >= high))
    if np.any(bad):
        interval = f"{'[' if low_ok else '('}{low:g}, {high:g}{']' if high_ok else ')'}"
        raise ValueError(f"{name} must lie in {interval}, got {_show(arr[bad])}")
    return arr


def json_object(name: str, text: str) -> dict:
    """``text`` parsed as a JSON object (metric options, on the command line or in a job), naming ``name`` if it
    is not one."""
    import json

    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{name} must be a JSON object, got {text!r} ({exc})") from None
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be a JSON object, got {text!r}")
    return value


def _show(bad):
    vals = np.unique(bad.ravel())[:3]
    return ", ".join(f"{v:g}" for v in vals)
