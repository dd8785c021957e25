"""Where figure commands read and write: the committed record by default, and results/ unless told otherwise."""

from __future__ import annotations

from pathlib import Path

from prunescale.store import check_output_file, save_json

RESULTS = Path("results") / "figures"


def draw_figure(module, name, out=None, recompute=False, quick=False, refresh_committed=False):
    """Draw ``module``'s figure (a ``figures`` module with ``compute``, ``draw``, ``DATA`` and ``FIGURE``).

    The committed record is drawn unless ``recompute``.  Output goes to
    ``results/figures/`` (a recomputed record beside it) unless
    ``refresh_committed``, which writes the committed figure and record.
    Returns the paths written."""
    from prunescale.figures import load_record

    if quick and not recompute:
        raise ValueError("--quick needs --recompute (the committed record is drawn as it is)")
    if quick and refresh_committed:
        raise ValueError("--quick cannot refresh the committed record: drop one of --quick, --refresh-committed")
    out = check_output_file(out or (module.FIGURE if refresh_committed else RESULTS / f"{name}.png"), "--out")
    data = module.DATA if refresh_committed else out.with_name(f"{out.stem}_figure.json")
    record = module.compute(quick=quick) if recompute else load_record(module.DATA)
    written = []
    if recompute:
        save_json(record, data)
        written.append(data)
    module.draw(record, out)
    return written + [out, out.with_suffix(".pdf")]
