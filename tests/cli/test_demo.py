"""The main job: ``prunescale demo`` answers the question end to end and writes a report."""

import json

import pytest

from prunescale import demo
from prunescale.cli import main


TINY = demo.Sizes(pools=(2.0, 1000.0), thetas=(0.0,), N=50, seeds=4, sim_pools=(2.0,))


def test_demo_writes_a_report_with_tables_and_figures(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(demo.SIZES, "quick", TINY)  # every step, at the smallest sizes that still show a crossover
    out = tmp_path / "report"
    main(["demo", "--out", str(out)])
    printed = capsys.readouterr().out
    _check_report(out, printed)
    # at a pool of 1000N the best keep-hard error is a hair above keeping everything: the terminal says it is a tie
    line = next(l for l in printed.splitlines() if l.split()[:1] == ["1000"])
    assert line.endswith("a tie: within 0.001 relative of keeping everything, and cheaper")


@pytest.mark.slow
def test_the_demo_at_its_own_sizes_writes_the_report(tmp_path, capsys):
    out = tmp_path / "report"
    main(["demo", "--out", str(out)])
    _check_report(out, capsys.readouterr().out)


def _check_report(out, printed):
    for step in ("1/4 theory", "2/4 simulation", "3/4 figures", "4/4 report"):
        assert step in printed, f"the demo did not reach step {step!r}"
    assert f"report: {(out / 'report.md').resolve()}" in printed
    report = (out / "report.md").read_text()
    for section in (
        "## 1. Theory",
        "## 2. Simulation",
        "## 3. Figures",
        "![theory](theory.png)",
        "![simulation](sim.png)",
        "![this run's check](check.png)",
    ):
        assert section in report, f"report lacks {section!r}"
    assert "![CIFAR-10](cifar10.png)" in report  # drawn from the committed figures/data/cifar10_runs.csv
    for png, least in (("check.png", 10_000), ("theory.png", 50_000), ("sim.png", 50_000), ("cifar10.png", 50_000)):
        assert (out / png).stat().st_size > least, f"figure {png} missing or empty"
    results = json.loads((out / "results.json").read_text())
    assert {r["policy"] for r in results["theory"]} <= {"hard", "easy"}
    assert results["simulation"] and all(abs(s["z"]) < 5 for s in results["simulation"])
    # the theory's crossover: easy for the smallest pool, hard for the largest (perfect metric)
    perfect = [r for r in results["theory"] if r["theta"] == 0.0]
    assert perfect[0]["policy"] == "easy" and perfect[-1]["policy"] == "hard"


@pytest.mark.parametrize("step, function", [("1/4 \\(theory\\)", "theory_table"), ("2/4 \\(simulation\\)", "simulation_table")])
def test_a_failing_step_is_named(tmp_path, monkeypatch, step, function):
    def broken(*args, **kwargs):
        raise ValueError("no solver today")

    monkeypatch.setattr(demo, function, broken)
    if function == "simulation_table":  # the theory step before it, at its smallest
        real = demo.theory_table
        monkeypatch.setattr(demo, "theory_table", lambda pools, thetas, *a, **k: real(pools[:1], thetas[:1], *a, **k))
    with pytest.raises(demo.DemoStepError, match=rf"step {step} failed: no solver today"):
        demo.run(tmp_path, progress=False, echo=lambda *a: None)
