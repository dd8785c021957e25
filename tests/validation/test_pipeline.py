"""The whole pipeline on the fake data set, without the real CIFAR-10: train -> score -> sweep -> fit ->
calibrate -> figure, through the library and the console script."""

import json

import numpy as np

from prunescale import validation
from prunescale.cli import main
from prunescale.validation.jobs import grid
from prunescale.validation.runner import run_job, run_serial
from prunescale.validation.analysis import fit_curves


def test_train_score_sweep_fit_calibrate_figure_end_to_end(fake_cifar10_file, tmp_path, capsys):
    d = validation.load_cifar10(fake_cifar10_file, verify=False)
    assert d.checksum != validation.data.CHECKSUM  # named as the data it is

    jobs = grid(
        ["el2n"],
        ["random", "hard"],
        [200],
        [1.0, 0.6, 0.3],
        [0],
        config="toy",
        test_size=200,
        data=d.checksum,
        metric_options=json.dumps({"inits": 1, "epochs": 1.0, "config": "toy"}),
    )
    results = tmp_path / "results"
    frame = run_serial(
        jobs, results, data_path=fake_cifar10_file, score_cache=tmp_path / "s", csv=results / "runs.csv", progress=False
    )
    assert len(frame) == len(jobs) == 5 and frame.test_error.between(0, 1).all()
    assert sorted(frame.n_train.unique()) == [60, 120, 200]
    whole = frame[(frame.policy == "random") & (frame.keep_fraction == 1.0)].test_error.item()
    assert whole < 0.8, whole  # the net learns the fake classes (chance: 0.9 error)
    (scores,) = [p for p in (tmp_path / "s").glob("el2n-*.npz") if "-unit-" not in p.name]  # scored once, cached
    assert np.isfinite(np.load(scores)["scores"]).all()

    for command in ("fit", "calibrate", "figure"):  # the console script over the library's analysis
        main(["validate", command, "--results", str(results)])
    capsys.readouterr()
    fits = json.loads((results / "fits.json").read_text())
    assert fits["runs"] == 5 and {c["policy"] for c in fits["curves"]} == {"random", "hard"}
    assert fits == json.loads(json.dumps(fit_curves(results / "runs.csv")))  # the command writes the library's result
    calibration = json.loads((results / "calibration.json").read_text())
    assert calibration["runs"] == 5 and calibration["scale"]["d"] > 0
    assert (results / "cifar10.png").stat().st_size > 10_000 and (results / "cifar10.pdf").exists()


def test_sweep_jobs_take_the_high_compression_policies(fake_cifar10_file, tmp_path):
    d = validation.load_cifar10(fake_cifar10_file, verify=False)
    options = json.dumps({"inits": 1, "epochs": 1.0, "config": "toy"})
    jobs = grid(["el2n"], ["ccs", "mixed"], [200], [0.2], [0], config="toy", test_size=200, data=d.checksum,
                metric_options=options, class_balanced=True)
    heard = []
    run_job(jobs[0], tmp_path / "r", fake_cifar10_file, tmp_path / "s", say=heard.append)
    assert heard == ["scoring by el2n (pool 200, seed 0)", "training on 40 images, seed 0"]  # the bar names each phase
    frame = run_serial(jobs, tmp_path / "r", data_path=fake_cifar10_file, score_cache=tmp_path / "s", progress=False)
    assert sorted(frame.policy) == ["ccs", "mixed"] and (frame.n_train == 40).all() and frame.class_balanced.all()
