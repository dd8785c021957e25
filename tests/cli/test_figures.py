"""The theory figure is drawn from the committed numbers, with one command."""

import json

from prunescale.figures.theory_figure import DATA
from prunescale.cli import main


def test_committed_figure_data_holds_every_panel():
    record = json.loads(DATA.read_text())
    assert not record["quick"]
    for key in ("fixed_f", "fixed_pool", "crossover", "frontier", "excess", "random", "f_opt"):
        assert key in record
    assert set(record["frontier"]) == {"0.0", "10.0", "20.0", "30.0"}


def test_committed_f_opt_settles_on_the_floor_only_for_an_imperfect_metric():
    f_opt = json.loads(DATA.read_text())["f_opt"]
    assert f_opt["0.0"]["floor"] == 0.0 and f_opt["0.0"]["keep_fraction"][-1] < 1e-3
    for th in ("10.0", "20.0", "30.0"):
        floor, largest_pool = f_opt[th]["floor"], f_opt[th]["keep_fraction"][-1]
        assert 0 < floor < 1 and abs(largest_pool / floor - 1) < 1e-3


def test_figure_command_draws_png_and_pdf(tmp_path, capsys):
    out = tmp_path / "theory.png"
    main(["theory", "figure", "--out", str(out)])
    assert "wrote" in capsys.readouterr().out
    assert out.stat().st_size > 50_000
    assert out.with_suffix(".pdf").exists()


def test_simulation_figure_is_drawn_from_committed_simulations(tmp_path, capsys):
    from prunescale.figures.sim_figure import DATA as SIM_DATA, PANELS, TREND

    record = json.loads(SIM_DATA.read_text())
    assert not record["quick"] and record["seeds"] >= 16
    assert set(record["panels"]) == {f"{t}-{p}" for t, p in PANELS}
    gaps = [abs(m - record["trend"]["theory"]) for m in record["trend"]["sim_mean"]]
    assert record["trend"]["N"] == TREND["N"] and gaps[-1] < gaps[0]  # the finite-size gap shrinks
    out = tmp_path / "sim.png"
    main(["sim", "figure", "--out", str(out)])
    assert out.stat().st_size > 50_000 and out.with_suffix(".pdf").exists()


def _tree_digest(folder):
    from prunescale.store import digest

    return {str(p.relative_to(folder)): digest(p.read_bytes()) for p in sorted(folder.rglob("*")) if p.is_file()}


def test_figure_commands_write_under_results_and_never_touch_the_committed_files(tmp_path, monkeypatch, capsys):
    from prunescale import figures

    committed = figures.DATA.parent
    before = _tree_digest(committed)
    monkeypatch.chdir(tmp_path)
    main(["theory", "figure"])
    main(["sim", "figure"])
    assert (tmp_path / "results" / "figures" / "theory.png").exists()
    assert (tmp_path / "results" / "figures" / "sim.pdf").exists()
    assert _tree_digest(committed) == before


def test_a_figure_is_the_same_bytes_every_time_it_is_drawn(tmp_path):
    from prunescale.figures import load_record, sim_figure

    record = load_record(sim_figure.DATA)
    a, b = sim_figure.draw(record, tmp_path / "a.png"), sim_figure.draw(record, tmp_path / "b.png")
    assert a.read_bytes() == b.read_bytes()
    assert a.with_suffix(".pdf").read_bytes() == b.with_suffix(".pdf").read_bytes()


def test_quick_previews_never_replace_the_committed_record():
    import pytest

    with pytest.raises(SystemExit):
        main(["sim", "figure", "--recompute", "--quick", "--refresh-committed"])


def test_drawing_a_figure_touches_no_global_matplotlib_state(tmp_path):
    """Figures build a matplotlib Figure of their own: no pyplot, no backend switch (checked in a fresh process)."""
    import subprocess
    import sys

    script = (
        "import sys, matplotlib\n"
        "from prunescale.figures import STYLE\n"
        "before = {k: matplotlib.rcParams[k] for k in STYLE}\n"  # reading 'backend' would itself import pyplot
        "from prunescale.figures import load_record, sim_figure, theory_figure\n"
        f"sim_figure.draw(load_record(sim_figure.DATA), {str(tmp_path / 's.png')!r})\n"
        f"theory_figure.draw(load_record(theory_figure.DATA), {str(tmp_path / 't.png')!r})\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\n"
        "assert {k: matplotlib.rcParams[k] for k in STYLE} == before, 'the house style leaked'\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)
    assert (tmp_path / "s.png").exists() and (tmp_path / "t.png").exists()


def test_cifar_fitted_lines_that_miss_their_points_say_so(tmp_path, monkeypatch):
    from prunescale.figures import cifar_figure
    from prunescale.validation.fits import misses_its_points

    drawn = {}
    monkeypatch.setattr(cifar_figure, "save_png_and_pdf", lambda fig, out, **_: drawn.setdefault("fig", fig))
    record = cifar_figure.compute()
    cifar_figure.draw(record, tmp_path / "c.png")
    labels = [t.get_text() for ax in drawn["fig"].axes if ax.get_legend() for t in ax.get_legend().get_texts()]
    flagged = [label for label in labels if "misses its points" in label]
    calibration = record["calibration"]
    largest = max((p for p in calibration["pools"] if p["metrics"]), key=lambda p: p["pool_size"])
    expected = sum(misses_its_points(m["chi2"], m["points"], 1) for m in largest["metrics"])
    assert expected > 0  # the committed calibration misses: the perceptron's curve shape does not fit a ResNet's
    assert sum("theta =" in label for label in flagged) == expected
    fits = [c for c in record["fits"]["curves"] if c["pool_size"] == largest["pool_size"]]
    from prunescale.validation.fits import LAWS

    best = [c["fits"][c["best_aic"]] for c in fits]
    expected_laws = sum(misses_its_points(b["chi2"], b["n_points"], LAWS[c["best_aic"]][1]) for b, c in zip(best, fits))
    assert sum("theta =" not in label and "theory, random" not in label for label in flagged) == expected_laws
