"""Sweeps: job specs, results cached per job, resumption after kill -9, through Dask."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from validation import sweep

TOY = dict(config="toy", epochs=1.0, test_size=100)
EL2N_TOY = json.dumps({"inits": 1, "epochs": 1.0, "config": "toy"})


def _jobs():
    return sweep.grid(["el2n"], ["random", "hard", "easy"], [100], [1.0, 0.5], [0], metric_options=EL2N_TOY, **TOY)


def test_grid_runs_random_and_full_data_once_per_point():
    jobs = _jobs()
    assert [(j.metric, j.policy, j.keep_fraction) for j in jobs] == [
        ("random", "random", 1.0),
        ("random", "random", 0.5),
        ("el2n", "hard", 0.5),
        ("el2n", "easy", 0.5),
    ]
    assert len({j.key for j in jobs}) == 4
    with pytest.raises(ValueError, match="keep_fraction must lie in"):
        sweep.grid(["el2n"], ["hard"], [100], [1.5], [0])
    with pytest.raises(ValueError, match="metric must be one of"):
        sweep.grid(["loss"], ["hard"], [100], [0.5], [0])


def test_a_killed_sweep_resumes_without_losing_or_redoing_jobs(tmp_path):
    results = tmp_path / "results"
    script = (
        "import sys; sys.path.insert(0, {root!r})\n"
        "from tests.test_sweep import _jobs\n"
        "from validation import sweep\n"
        "sweep.run_sweep(_jobs(), {results!r}, score_cache={cache!r}, progress=False)\n"
    ).format(root=os.getcwd(), results=str(results), cache=str(tmp_path / "scores"))
    proc = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    deadline = time.time() + 240
    while time.time() < deadline and not list(results.glob("jobs/*.json")):
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)  # kill -9 the driver and its Dask workers
    proc.wait()
    finished = {p.name: p.read_text() for p in results.glob("jobs/*.json")}
    assert 1 <= len(finished) < 4, "the sweep should have been killed part-way"

    frame = sweep.run_sweep(_jobs(), results, score_cache=tmp_path / "scores", progress=False)
    assert len(frame) == 4 and frame.test_error.between(0, 1).all()
    for name, text in finished.items():  # finished jobs were neither lost nor redone
        assert (results / "jobs" / name).read_text() == text
    assert set(frame.columns) == set(sweep.COLUMNS)
    assert (frame.device == sweep.device_name()).all()  # each row says where it trained
    sweep.write_csv(frame, tmp_path / "runs.csv")
    assert (tmp_path / "runs.csv").read_text().splitlines()[0] == ",".join(sweep.COLUMNS)


def test_the_default_plan_runs_seed_by_seed_and_curve_by_curve():
    jobs = sweep.default_sweep()
    seeds = [j.seed for j in jobs]
    assert seeds == sorted(seeds)  # all of seed 0 before seed 1
    first = jobs[:7]  # the random baseline of the 50k pool, f from 1 down
    assert {(j.policy, j.pool_size) for j in first} == {("random", 50000)}
    assert [j.keep_fraction for j in first] == sorted((j.keep_fraction for j in first), reverse=True)
    curves = [(j.seed, j.pool_size, j.metric, j.policy) for j in jobs]
    runs = [c for i, c in enumerate(curves) if i == 0 or c != curves[i - 1]]
    assert len(runs) == len(set(runs)), "each curve's jobs are contiguous"


def test_a_finished_job_is_not_trained_again(tmp_path, monkeypatch):
    job = _jobs()[0]
    row = dict.fromkeys(sweep.COLUMNS, 0) | {"test_error": 0.25}
    path = sweep.job_path(tmp_path, job)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"job": job.spec(), "result": row}))
    monkeypatch.setattr("validation.data.load_cifar10", lambda *a, **k: pytest.fail("trained again"))
    assert sweep.run_job(job, tmp_path) == row


def test_a_dry_run_shows_the_plan_and_what_is_done_without_running(tmp_path, capsys, monkeypatch):
    from prunescale.cli import main

    job = _jobs()[1]  # random, f = 0.5 of a pool of 100
    path = sweep.job_path(tmp_path, job)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"job": job.spec(), "result": dict.fromkeys(sweep.COLUMNS, 0)}))
    table = sweep.progress(_jobs(), tmp_path)
    assert table.planned.sum() == 4 and table.done.sum() == 1
    assert table.images_left.sum() == 100 + 50 + 50  # f = 1, and the hard and easy halves
    monkeypatch.setattr(sweep, "run_sweep", lambda *a, **k: pytest.fail("a dry run ran jobs"))
    main(["validate", "sweep", "--dry-run", "--results", str(tmp_path), "--plan", "custom", "--pool-sizes", "1000"])
    out = capsys.readouterr().out
    assert "jobs" in out and "images left to train" in out


def test_the_device_runner_takes_the_chosen_seeds_and_pools_in_order_and_skips_finished_jobs(tmp_path):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[1] / "scripts" / "device_sweep.py"
    spec = importlib.util.spec_from_file_location("device_sweep", path)
    device_sweep = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(device_sweep)
    todo = device_sweep.plan(tmp_path, seeds=[1, 0], pools=[10000])
    assert [j.seed for j in todo] == [1] * 19 + [0] * 19
    assert {j.pool_size for j in todo} == {10000}
    done = todo[0]
    target = sweep.job_path(tmp_path, done)
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps({"job": done.spec(), "result": dict.fromkeys(sweep.COLUMNS, 0)}))
    assert device_sweep.plan(tmp_path, seeds=[1, 0], pools=[10000]) == todo[1:]


def test_a_cpu_run_says_cpu():
    import jax

    if jax.default_backend() != "cpu":
        pytest.skip("on an accelerator the row names it, e.g. 'NVIDIA H200'")
    assert sweep.device_name() == "cpu"
