"""Figures: for each, ``compute(...) -> record`` makes the numbers and ``draw(record, out)`` draws them.

``draw`` never writes data: the records the committed figures are drawn from
live in ``figures/data/``, ship with the package (:data:`DATA`, read through
``importlib.resources``) and change only when a command is asked to refresh
them (``--refresh-committed``, in a source checkout only).  Figure files are reproducible: the same
record gives the same bytes (no creation date in the PDF).
"""

from __future__ import annotations

import functools
import io
import json
from importlib import resources
from pathlib import Path

from prunescale.store import atomic_write

DATA = resources.files(__name__) / "data"  # the committed records: package data, in the wheel as in the checkout
FOLDER = Path(__file__).resolve().parent  # the committed figure files (the README's), in a source checkout


def in_source_checkout() -> bool:
    """Whether this is a source checkout, where the committed copies may be refreshed; an installed package is
    never written to."""
    return (FOLDER.parent / "pyproject.toml").is_file() and (FOLDER.parent / "tests").is_dir()
STYLE = {"font.size": 9, "axes.spines.top": False, "axes.spines.right": False}  # the figures' house style
POLICY_COLORS = {"random": "0.35", "hard": "C0", "easy": "C3"}  # keep-hard blue, keep-easy red, in every figure
WINNER_MAP = "coolwarm_r"  # maps where a positive value means keep-hard wins: blue for hard, red for easy


def house_style(draw):
    """Run a figure's ``draw`` under :data:`STYLE`, leaving matplotlib's global settings as they were (a global
    update restyled whatever the same process drew next, e.g. the tutorial's figure after a test's)."""

    @functools.wraps(draw)
    def styled(*args, **kwargs):
        import matplotlib

        with matplotlib.rc_context(STYLE):
            return draw(*args, **kwargs)

    return styled


def load_record(path):
    """A committed (or user) figure record, as written by ``save_json``."""
    return json.loads(Path(path).read_text())


def save_figure(fig, path, **savefig_kwargs):
    """Atomically save a matplotlib figure; the format follows the suffix, and no date is embedded."""
    fmt = Path(path).suffix.lstrip(".")
    metadata = {"CreationDate": None} if fmt == "pdf" else {}
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, metadata=metadata, **savefig_kwargs)
    atomic_write(path, buffer.getvalue())


def draw_panels(record, out, panels, *, figsize, title, dpi=150, rows=1, fontsize=9):
    """Panels, ``panel(ax, record)`` each, in ``rows`` rows of a Figure of its own (no pyplot, no global state),
    titled and saved as ``out`` (PNG) and a PDF beside it; returns ``out``."""
    import numpy as np
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, constrained_layout=True)
    axes = np.atleast_1d(fig.subplots(rows, -(-len(panels) // rows))).ravel()
    for ax, panel in zip(axes, panels):
        panel(ax, record)
    fig.suptitle(title, fontsize=fontsize)
    return save_png_and_pdf(fig, out, dpi=dpi)


def save_png_and_pdf(fig, out, dpi):
    """``out`` (PNG) and a PDF beside it; returns ``out``."""
    out = Path(out)
    save_figure(fig, out, dpi=dpi)
    save_figure(fig, out.with_suffix(".pdf"))
    return out
