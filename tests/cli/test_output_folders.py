"""One rule for output folders, in every command that writes one: a new or empty folder is claimed, the same work
may resume or redo in its own folder, and a folder holding other work's results (or files prunescale did not
write) is refused before any work, with the difference named."""

import json

import numpy as np
import pytest

from prunescale.cli import main
from prunescale.store import claim_output_folder
from prunescale.store.files import OWNER_FILE


def test_the_rule_claims_resumes_and_refuses(tmp_path):
    owner = dict(command="c", settings=dict(a=1))
    folder = claim_output_folder(tmp_path / "out", owner)
    (folder / "result.csv").write_text("x\n")
    assert claim_output_folder(folder, owner) == folder  # the same work: resume
    with pytest.raises(ValueError, match=r"holds the results of other work \(a 1 there, 2 here\)"):
        claim_output_folder(folder, dict(command="c", settings=dict(a=2)))
    with pytest.raises(ValueError, match="it was written by 'c', this is 'd'"):
        claim_output_folder(folder, dict(command="d", settings=dict(a=1)))
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("a user's file")
    with pytest.raises(ValueError, match=r"holds files prunescale did not write there \(notes.txt\)"):
        claim_output_folder(tmp_path / "mine", owner)
    (tmp_path / "stopped").mkdir()  # work refused or stopped before its first result leaves the record alone
    (tmp_path / "stopped" / OWNER_FILE).write_text(json.dumps(dict(command="d", settings={})))
    assert claim_output_folder(tmp_path / "stopped", owner)


def commands(tmp_path):
    """Every command that writes a folder, twice: the same work, then other work into the same folder."""
    np.save(tmp_path / "s.npy", np.arange(20.0))
    grid = ["sim", "grid", "--N", "20", "--alpha-tot", "2", "--keep-fraction", "0.5,1", "--policy", "hard", "--seeds", "2"]
    prune = ["prune", "--scores", str(tmp_path / "s.npy"), "--keep-fraction"]
    return {
        "sim grid": (grid + ["--theta", "0"], grid + ["--theta", "10"]),
        "prune": (prune + ["0.5"], prune + ["0.3"]),
        "validate verdict": (["validate", "verdict"], ["validate", "verdict", "--csv", "other.csv"]),
        "demo": (["demo"], ["demo", "--full"]),
    }


@pytest.mark.parametrize("command", ["sim grid", "prune", "validate verdict", pytest.param("demo", marks=pytest.mark.slow)])
def test_every_writing_command_resumes_its_own_folder_and_refuses_another_works(command, tmp_path, monkeypatch, capsys):
    from prunescale import demo

    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(demo.SIZES, "quick", demo.Sizes(pools=(2.0,), thetas=(0.0,), N=30, seeds=2, sim_pools=(2.0,)))
    same, other = commands(tmp_path)[command]
    out = ["--out", str(tmp_path / "out")]
    main(same + out)
    written = {p.name for p in (tmp_path / "out").iterdir()}
    main(same + out)  # the same work again: fine
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main(other + out)
    assert exit_.value.code == 2 and "holds the results of other work" in capsys.readouterr().err
    assert {p.name for p in (tmp_path / "out").iterdir()} == written  # nothing replaced


def test_a_sweep_folder_holds_sweeps_of_any_plan_and_nothing_else(tmp_path, monkeypatch, capsys):
    """Jobs are keyed by their whole configuration, so every plan may share a sweep folder; other commands may not."""
    from prunescale.validation import runner

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(runner, "run_job", lambda job, results, *a, **k: (tmp_path / "out" / "jobs").mkdir(exist_ok=True))
    custom = ["validate", "sweep", "--plan", "custom", "--config", "toy", "--pool-sizes", "100", "--seeds", "1",
              "--serial", "--results", str(tmp_path / "out")]
    main(custom + ["--keep-fractions", "1"])
    main(custom + ["--keep-fractions", "0.5"])  # another grid: its own jobs, beside the first grid's
    capsys.readouterr()
    grid = ["sim", "grid", "--N", "20", "--alpha-tot", "2", "--keep-fraction", "1", "--policy", "hard", "--seeds", "2"]
    for other, flag in ((grid, "--out"), (["demo"], "--out")):
        with pytest.raises(SystemExit):
            main(other + [flag, str(tmp_path / "out")])
        assert "it was written by 'prunescale validate sweep'" in capsys.readouterr().err
    main(grid + ["--out", str(tmp_path / "grid")])
    with pytest.raises(SystemExit):
        main(custom + ["--keep-fractions", "1", "--results", str(tmp_path / "grid")])
    assert "it was written by 'prunescale sim grid'" in capsys.readouterr().err


def test_a_sweep_folder_from_before_the_owner_record_is_still_a_sweeps(tmp_path, capsys):
    (tmp_path / "old" / "jobs").mkdir(parents=True)
    (tmp_path / "old" / "runs.csv").write_text("config_hash\n")
    main(["validate", "sweep", "--dry-run", "--plan", "custom", "--pool-sizes", "100", "--results", str(tmp_path / "old"),
          "--csv", str(tmp_path / "runs.csv")])
    assert "jobs" in capsys.readouterr().out
    assert not (tmp_path / "old" / OWNER_FILE).exists()  # a dry run writes nothing
    main(["validate", "sweep", "--plan", "custom", "--pool-sizes", "100", "--keep-fractions", "1", "--seeds", "1",
          "--config", "toy", "--results", str(tmp_path / "old"), "--csv", str(tmp_path / "runs.csv"), "--serial",
          "--deadline", "0"])  # starts no job, but adopts the folder as a sweep's
    assert json.loads((tmp_path / "old" / OWNER_FILE).read_text())["command"] == "prunescale validate sweep"
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("a user's file")
    with pytest.raises(SystemExit):
        main(["validate", "sweep", "--dry-run", "--plan", "custom", "--results", str(tmp_path / "mine")])
    assert "holds files prunescale did not write there (notes.txt)" in capsys.readouterr().err
