"""``prunescale prune --dynamics | --embeddings | --scores``: what a user already has, and bad input in one line
that names the file and the problem, with nothing written."""

import json

import numpy as np
import pytest

from prunescale.cli import main


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    n, classes = 200, 4
    labels = rng.integers(0, classes, n)
    logits = rng.normal(size=(3, n, classes)).astype(np.float16)
    (tmp_path / "dyn").mkdir()
    np.save(tmp_path / "dyn" / "logits.npy", logits)
    np.save(tmp_path / "dyn" / "labels.npy", labels)
    np.savez(tmp_path / "dyn.npz", logits=logits, labels=labels)
    np.save(tmp_path / "emb.npy", rng.normal(size=(n, 8)).astype(np.float32))
    np.save(tmp_path / "scores.npy", rng.normal(size=n))
    np.save(tmp_path / "labels.npy", labels)
    return tmp_path


def test_each_source_writes_the_kept_set_and_a_report_with_its_cost(files, capsys):
    for i, source in enumerate((["--dynamics", "dyn", "--metric", "aum"], ["--dynamics", "dyn.npz"],
                                ["--embeddings", "emb.npy", "--options", '{"clusters": 5}'],
                                ["--scores", "scores.npy", "--labels", "labels.npy", "--class-balanced"])):
        out = files / f"out{i}"
        main(["prune", *[str(files / a) if a.endswith((".npy", ".npz", "dyn")) else a for a in source],
              "--keep-fraction", "0.25", "--out", str(out)])
        report = json.loads((out / "report.json").read_text())
        assert report["kept"] == 50 and np.load(out / "kept.npy").size == 50
        assert report["cost"]["seconds"] >= 0 and report["saves"]["compute_per_epoch"] == 0.25
        assert "Cost of selection" in (out / "report.md").read_text()
    assert "your scores of 200 examples" in capsys.readouterr().out


def bad(files, name):
    """Write the broken file a case needs; return the command's source arguments."""
    rng = np.random.default_rng(1)
    if name == "label outside the classes":
        np.save(files / "dyn" / "labels.npy", np.full(200, 7))
        return ["--dynamics", files / "dyn"], "labels.npy: label 7 lies outside the logits' 4 classes"
    if name == "nan in logits":
        logits = np.load(files / "dyn" / "logits.npy")
        logits[1, 17, 2] = np.nan
        np.save(files / "dyn" / "logits.npy", logits)
        return ["--dynamics", files / "dyn"], "logits.npy holds NaN or inf among the logits of examples"
    if name == "inf in embeddings":
        e = np.load(files / "emb.npy")
        e[3, 3] = np.inf
        np.save(files / "emb.npy", e)
        return ["--embeddings", files / "emb.npy"], "--embeddings .*emb.npy holds NaN or inf"
    if name == "nan in scores":
        s = np.load(files / "scores.npy")
        s[9] = np.nan
        np.save(files / "scores.npy", s)
        return ["--scores", files / "scores.npy"], "--scores .*scores.npy holds NaN or inf"
    if name == "logits of two dimensions":
        np.save(files / "dyn" / "logits.npy", rng.normal(size=(200, 4)).astype(np.float32))
        return ["--dynamics", files / "dyn"], r"logits must have shape \(epochs, N, C\) or \(runs, epochs, N, C\)"
    if name == "scores of two dimensions":
        np.save(files / "scores.npy", rng.normal(size=(200, 2)))
        return ["--scores", files / "scores.npy"], "--scores .*scores.npy must have 1 dimension; got shape"
    if name == "labels for another N":
        np.save(files / "labels.npy", np.arange(150) % 4)
        return ["--embeddings", files / "emb.npy", "--labels", files / "labels.npy"], r"--labels: labels must have shape \(200,\)"
    if name == "missing file":
        return ["--scores", files / "none.npy"], "--scores .*none.npy does not exist"
    if name == "folder without labels":
        (files / "dyn" / "labels.npy").unlink()
        return ["--dynamics", files / "dyn"], "--dynamics folder .*dyn lacks labels.npy"
    raise ValueError(name)


CASES = ["label outside the classes", "nan in logits", "inf in embeddings", "nan in scores", "logits of two dimensions",
         "scores of two dimensions", "labels for another N", "missing file", "folder without labels"]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_gets_one_line_naming_the_file_and_writes_nothing(files, case, capsys):
    import re

    source, message = bad(files, case)
    out = files / "out"
    with pytest.raises(SystemExit) as exit_:
        main(["prune", *map(str, source), "--keep-fraction", "0.5", "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert exit_.value.code == 2 and len(err.splitlines()) == 1 and re.search(message, err), err
    assert not out.exists() and not list(files.glob(".out.*"))


@pytest.mark.parametrize("extra, message", [
    (["--policy", "ccs", "--beta", "1.0"], r"beta must lie in \[0, 1\), got 1"),
    (["--policy", "mixed", "--hard-share", "2"], r"hard_share must lie in \[0, 1\], got 2"),
    (["--seed", "-1"], "--seed"),
    (["--cache", "scores.npy"], "--cache .*scores.npy is a file, not a folder"),
    (["--keep-fraction", "0.5,,0.3"], "--keep-fraction has an empty item"),
])
def test_every_setting_is_checked_before_the_work_and_named_in_user_terms(files, extra, message, capsys):
    import re

    extra = [str(files / a) if a.endswith(".npy") else a for a in extra]
    fraction = [] if "--keep-fraction" in extra else ["--keep-fraction", "0.5"]
    with pytest.raises(SystemExit) as exit_:
        main(["prune", "--scores", str(files / "scores.npy"), *fraction, "--out", str(files / "out"), *extra])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and re.search(message, err), err
    assert not (files / "out").exists()


def test_a_metric_option_out_of_range_is_refused_before_any_training(tmp_path, capsys):
    np.savez(tmp_path / "d.npz", x=np.zeros((20, 16, 16, 3), np.uint8), y=np.arange(20) % 2)
    with pytest.raises(SystemExit):
        main(["prune", "--data", str(tmp_path / "d.npz"), "--keep-fraction", "0.5", "--options", '{"inits": 0}',
              "--out", str(tmp_path / "out")])
    assert "option inits must be an integer >= 1, got 0" in capsys.readouterr().err
