"""Bad input, as a new user types it: exit code 2 and one line that names the parameter, before any work."""

import re
import subprocess
import sys

import pytest

CASES = [
    (["validate", "sweep", "--plan", "custom", "--budget", "foo", "--pool-sizes", "100"], "budget must be one of"),
    (["validate", "sweep", "--plan", "custom", "--config", "foo", "--pool-sizes", "100"], "config must be one of"),
    (["validate", "sweep", "--workers", "0"], "--workers must be at least 1"),
    (["validate", "sweep", "--plan", "custom", "--pool-sizes", "100.5"], "--pool-sizes must be integers"),
    (["validate", "sweep", "--plan", "custom", "--keep-fractions", ""], "--keep-fractions must hold at least one"),
    (["validate", "sweep", "--plan", "custom", "--metrics", ""], "--metrics must hold at least one"),
    (["validate", "sweep", "--plan", "custom", "--seeds", "0"], "seeds must be at least 1"),
    (["validate", "sweep", "--plan", "fair"], "--plan fair needs --steps"),
    (["validate", "score", "--metric", "el2n", "--options", "[1,2]"], "--options must be a JSON object"),
    (["validate", "train", "--epochs", "nan"], "epochs must be a positive finite number"),
    (["validate", "fit", "--csv", "/nonexistent/runs.csv"], "runs table /nonexistent/runs.csv does not exist"),
    (["sim", "run", "--N", "50", "--alpha-tot", "1e12"], "needs .* GiB; the limit per batch is"),
    (["sim", "grid", "--N", "20", "--alpha-tot", ""], "--alpha-tot must hold at least one number"),
    (["sim", "run", "--theta", "120"], r"theta \(degrees\) must lie in \[0, 90\]"),
    (["theory", "optimal", "--alpha-tot", "1e-15"], r"alpha_tot must lie in \[0.001, 1e\+12\], got 1e-15"),
    (["theory", "budget", "--target-error", "0.01", "--max-pool", "0"], r"max_pool must lie in \(0, "),
    (["theory", "error", "--alpha-prune", "nan", "--keep-fraction", "0.5"], "--alpha-prune must be finite"),
]


def run(args, **kwargs):
    return subprocess.run([sys.executable, "-m", "prunescale", *args], capture_output=True, text=True, **kwargs)


@pytest.mark.parametrize("args, message", CASES, ids=[" ".join(a[:2]) + f" #{i}" for i, (a, _) in enumerate(CASES)])
def test_bad_input_exits_2_with_one_line_naming_it(args, message, tmp_path, monkeypatch, capsys):
    from prunescale.cli import main

    monkeypatch.chdir(tmp_path)
    if args[:2] == ["sim", "grid"]:
        args = args + ["--out", str(tmp_path / "grid")]
    with pytest.raises(SystemExit) as exc:
        main(args)
    err = capsys.readouterr().err
    assert exc.value.code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert re.search(message, lines[0]), lines[0]
    assert not list(tmp_path.iterdir()), "bad input left files behind"


@pytest.mark.parametrize("command", [["sim", "grid"], ["demo"], ["validate", "score", "--metric", "random"]])
def test_an_out_path_that_cannot_be_written_fails_before_the_work(command, tmp_path):
    blocker = tmp_path / "a-file"  # run in a fresh process, as a user would
    blocker.write_text("not a folder")
    out = blocker / "out.npz" if command[0] == "validate" else blocker
    done = run([*command, "--out", str(out)], timeout=60)
    assert done.returncode == 2 and "is a file" in done.stderr


def test_a_missing_cifar10_file_named_by_the_environment_is_one_line(tmp_path):
    env = dict(__import__("os").environ, PRUNESCALE_CIFAR10=str(tmp_path / "none.npz"))
    done = run(["validate", "train", "--config", "toy"], env=env, timeout=60)
    assert done.returncode == 2 and done.stderr.startswith("error: CIFAR-10 not found. Tried: ")
