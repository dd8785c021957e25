"""The demo's own check: its simulations against the theory at the choices it made.

``draw(rows, out)`` takes the demo's simulation rows (``theory``, ``sim_mean``,
``sim_se`` at the chosen keep fraction and with the whole pool, plus ``N`` and
``seeds``) and draws simulation against theory on a diagonal.
"""

from __future__ import annotations

from pathlib import Path

from . import save_png_and_pdf


def draw(rows, out):
    """Simulated error (mean +- standard error) against the theory's, at the optimal choice and keeping all."""
    from matplotlib.figure import Figure  # a Figure of its own: no pyplot, no backend switch, no global state

    fig = Figure(figsize=(5, 4.2), constrained_layout=True)
    ax = fig.subplots()
    for key, sim, se, label, marker in (
        ("theory", "sim_mean", "sim_se", "at the optimal keep fraction", "o"),
        ("theory_full", "sim_full", "sim_full_se", "keeping the whole pool", "s"),
    ):
        ax.errorbar([r[key] for r in rows], [r[sim] for r in rows], yerr=[r[se] for r in rows], fmt=marker, ms=4,
                    capsize=2, label=label)
    values = [r[k] for r in rows for k in ("theory", "theory_full")]
    lo, hi = min(values) * 0.8, max(values) * 1.2
    ax.plot([lo, hi], [lo, hi], color="k", lw=0.8, ls=":")
    ax.set(xscale="log", yscale="log", xlabel="theory (N = infinity)", ylabel="simulation")
    n, seeds = (rows[0]["N"], rows[0]["seeds"]) if rows else ("-", "-")
    ax.set_title(f"This demo's simulations: N = {n}, {seeds} seeds per point", fontsize=9)
    ax.legend(frameon=False, fontsize=8)
    save_png_and_pdf(fig, out, dpi=140)
    return Path(out)
