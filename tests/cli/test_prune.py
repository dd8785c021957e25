"""``prunescale prune`` on a small generated data set, as an .npz and as an image folder, and from Python."""

import json

import numpy as np
import pytest

from prunescale import validation
from prunescale.cli import main
from prunescale.store import save_npz
from prunescale.validation.selection import select

TOY = '{"inits": 1, "epochs": 1, "config": "toy"}'


def images(n=60, classes=3, size=16, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    x = rng.integers(0, 60, (n, size, size, 3)) + (y * 80)[:, None, None, None]
    return x.astype(np.uint8), y


@pytest.fixture(scope="module")
def npz(tmp_path_factory):
    x, y = images()
    path = tmp_path_factory.mktemp("data") / "mine.npz"
    save_npz(path, x=x, y=y)
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    from PIL import Image

    x, y = images(n=30)
    root = tmp_path_factory.mktemp("imagefolder")
    for i, (img, label) in enumerate(zip(x, y)):
        (root / f"class_{label}").mkdir(exist_ok=True)
        Image.fromarray(img).save(root / f"class_{label}" / f"{i:03d}.png")
    return root


def test_an_npz_gives_scores_a_kept_set_of_exact_size_and_a_report(npz, tmp_path, capsys):
    out = tmp_path / "pruned"
    main(["prune", "--data", str(npz), "--keep-fraction", "0.3", "--policy", "ccs", "--options", TOY,
          "--class-balanced", "--out", str(out), "--cache", str(tmp_path / "cache"), "--theta", "20"])
    capsys.readouterr()
    kept = np.load(out / "kept.npy")
    assert kept.size == 18 and (np.diff(kept) > 0).all()
    assert np.loadtxt(out / "kept.csv", skiprows=1, dtype=int).tolist() == kept.tolist()
    assert np.load(out / "scores.npy").shape == (60,)
    assert json.loads((out / "scores.json").read_text())["metric"] == "el2n"
    report = json.loads((out / "report.json").read_text())
    assert report["class_balance"] == {"whole": [20, 20, 20], "kept": [6, 6, 6]}
    assert report["policy"] == {"name": "ccs", "class_balanced": True, "seed": 0, "beta": 0.1, "strata": 50}
    assert report["theory"]["theta"] == 20.0 and 0 < report["theory"]["keep_fraction"] <= 1
    md = (out / "report.md").read_text()
    assert "Kept **18 of 60**" in md and "## Class balance" in md and "qualitative" in md


@pytest.mark.slow  # measured at 8-31 s; the default suite keeps to about five minutes
def test_an_image_folder_and_several_fractions_share_one_scoring(folder, tmp_path, capsys):
    out = tmp_path / "pruned"
    (folder / "readme.txt").write_text("not an image")  # a stray file is left out, and said so
    main(["prune", "--data", str(folder), "--keep-fraction", "0.5,0.2", "--policy", "mixed", "--options", TOY,
          "--out", str(out), "--cache", str(tmp_path / "cache")])
    assert "left out 1 files that are not images" in capsys.readouterr().out
    assert "1 files in the folder are not images" in (out / "keep-0.5" / "report.md").read_text()
    assert np.load(out / "keep-0.5" / "kept.npy").size == 15 and np.load(out / "keep-0.2" / "kept.npy").size == 6
    report = json.loads((out / "keep-0.5" / "report.json").read_text())
    assert report["class_names"] == ["class_0", "class_1", "class_2"] and report["policy"]["hard_share"] == 0.5
    assert len([p for p in (tmp_path / "cache").glob("el2n-*.json") if "-unit-" not in p.name]) == 1


def test_the_label_free_path_takes_x_alone(tmp_path, capsys):
    x, _ = images(n=40)
    save_npz(tmp_path / "x.npz", x=x)
    out = tmp_path / "pruned"
    main(["prune", "--data", str(tmp_path / "x.npz"), "--keep-fraction", "0.25", "--metric", "prototypes",
          "--options", '{"epochs": 1, "batch_size": 20, "widths": [8, 8, 8], "stem": 8, "clusters": 2}',
          "--out", str(out), "--cache", str(tmp_path / "cache")])
    capsys.readouterr()
    assert np.load(out / "kept.npy").size == 10 and "class_balance" not in json.loads((out / "report.json").read_text())


@pytest.mark.parametrize(
    "arrays, extra, message",
    [
        (dict(x=np.zeros((10, 16, 16, 3), np.float32)), [], "x must be uint8"),
        (dict(x=np.zeros((10, 16, 16), np.uint8)), [], "x must have shape N x H x W x C"),
        (dict(x=np.zeros((10, 16, 16, 3), np.uint8), y=np.arange(10) % 2 - 1), [], "labels must be >= 0"),
        (dict(x=np.zeros((10, 16, 16, 3), np.uint8), y=np.arange(10) % 2 * 2), [], "class 1 has no example"),
        (dict(x=np.zeros((10, 16, 16, 3), np.uint8)), [], "metric 'el2n' needs labels"),
        (dict(x=np.zeros((10, 16, 16, 3), np.uint8), y=np.arange(10) % 2), ["--keep-fraction", "1.5"],
         r"keep_fraction must lie in \(0, 1\]"),
        (dict(x=np.zeros((10, 16, 16, 3), np.uint8), y=np.arange(10) % 2), ["--policy", "best"], "policy must be one of"),
    ],
    ids=["float x", "no channels", "negative label", "empty class", "no labels", "fraction", "policy"],
)
def test_bad_input_is_one_line_and_leaves_nothing_behind(arrays, extra, message, tmp_path, capsys):
    save_npz(tmp_path / "bad.npz", **arrays)
    out = tmp_path / "pruned"
    args = ["prune", "--data", str(tmp_path / "bad.npz"), "--keep-fraction", "0.5", "--out", str(out)] + extra
    with pytest.raises(SystemExit) as exc:
        main(args)
    err = capsys.readouterr().err
    assert exc.value.code == 2 and len(err.strip().splitlines()) == 1
    assert __import__("re").search(message, err), err
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["bad.npz"]


def test_an_existing_result_is_never_overwritten(npz, tmp_path, capsys):
    out = tmp_path / "pruned"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    with pytest.raises(SystemExit):
        main(["prune", "--data", str(npz), "--keep-fraction", "0.5", "--out", str(out)])
    assert "holds files prunescale did not write there (mine.txt)" in capsys.readouterr().err and (out / "mine.txt").read_text() == "keep me"


def test_the_python_api_mirrors_the_command():
    x, y = images()
    p = validation.prune_dataset(x, y, 0.5, metric="random", policy="hard", seed=3)
    assert p.kept.tolist() == select(p.scores, 0.5, "hard", seed=3).tolist() and p.report["kept"] == 30


# -- the policies on toy scores where the kept set is known ------------------------------


def test_ccs_drops_the_hardest_beta_and_takes_an_equal_share_of_every_stratum():
    scores = np.arange(100.0)
    kept = select(scores, 0.45, "ccs", beta=0.1, strata=9)
    assert kept.size == 45 and kept.max() < 90  # the hardest 10 are never kept
    assert np.bincount(kept // 10).tolist() == [5] * 9  # 9 equal strata of 10 scores, 5 from each


def test_ccs_fills_small_strata_first_and_the_rest_from_the_larger_ones():
    scores = np.concatenate([np.zeros(2), np.full(50, 5.0), np.full(48, 10.0)])  # strata of 2, 50, 48 (beta 0)
    kept = select(scores, 0.3, "ccs", beta=0.0, strata=3)
    assert kept.size == 30 and np.isin([0, 1], kept).all()  # the 2-example stratum gives all it has
    assert sorted(np.bincount(np.digitize(scores[kept], [2.5, 7.5]))) == [2, 14, 14]


def test_mixed_is_keep_hard_at_share_1_random_at_0_and_in_between_keeps_the_top_share():
    scores = np.arange(200.0)
    assert select(scores, 0.1, "mixed", hard_share=1.0).tolist() == list(range(180, 200))
    kept = select(scores, 0.1, "mixed", hard_share=0.5, seed=1)
    assert kept.size == 20 and np.isin(np.arange(190, 200), kept).all()
    assert select(scores, 0.1, "mixed", hard_share=0.0, seed=1).tolist() != list(range(180, 200))


@pytest.mark.parametrize("policy", ["hard", "easy", "random", "ccs", "mixed"])
def test_every_policy_is_seeded_and_keeps_exactly_round_f_n(policy):
    scores = np.random.default_rng(0).random(97)
    for f in (0.01, 0.1, 0.33, 0.5, 1.0):
        a, b = select(scores, f, policy, seed=4), select(scores, f, policy, seed=4)
        assert a.tolist() == b.tolist() and a.size == max(1, round(f * 97)) and np.unique(a).size == a.size
