"""Sweeps: job specs, results cached per job, resumption after kill -9, through Dask."""

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from prunescale.validation.jobs import check_job, grid, is_done, job_config, jobs_store, pending
from prunescale.validation.plans import FAIR_POOLS, default_sweep, fair_plan, full_pool_plan, gpu_memorization_plan, gpu_plan
from prunescale.validation import runner
from prunescale.validation.runner import SweepFailed, device_name, kept_class_balance, progress, run_job, run_serial, run_sweep
from prunescale.validation.table import COLUMNS, collect, write_csv

TOY = dict(config="toy", epochs=1.0, test_size=100)
EL2N_TOY = json.dumps({"inits": 1, "epochs": 1.0, "config": "toy"})


def _jobs():
    return grid(["el2n"], ["random", "hard", "easy"], [100], [1.0, 0.5], [0], metric_options=EL2N_TOY, **TOY)


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
        grid(["el2n"], ["hard"], [100], [1.5], [0])
    with pytest.raises(ValueError, match="metric must be one of"):
        grid(["loss"], ["hard"], [100], [0.5], [0])


@pytest.mark.slow  # about a minute: a Dask cluster started twice (the store's resume is tested without it below)
def test_a_killed_sweep_resumes_without_losing_or_redoing_jobs(tmp_path):
    results = tmp_path / "results"
    script = (
        "import sys; sys.path.insert(0, {root!r})\n"
        "from tests.validation.test_sweep import _jobs\n"
        "from prunescale.validation.runner import run_sweep\n"
        "run_sweep(_jobs(), {results!r}, score_cache={cache!r}, progress=False)\n"
    ).format(root=os.getcwd(), results=str(results), cache=str(tmp_path / "scores"))
    proc = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    deadline = time.time() + 240
    while time.time() < deadline and not list(results.glob("jobs/*.json")):
        time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)  # kill -9 the driver and its Dask workers
    proc.wait()
    finished = {p.name: p.read_text() for p in results.glob("jobs/*.json")}
    assert 1 <= len(finished) < 4, "the sweep should have been killed part-way"

    frame = run_sweep(_jobs(), results, score_cache=tmp_path / "scores", progress=False)
    assert len(frame) == 4 and frame.test_error.between(0, 1).all()
    for name, text in finished.items():  # finished jobs were neither lost nor redone
        assert (results / "jobs" / name).read_text() == text
    assert set(frame.columns) == set(COLUMNS)
    assert (frame.device == device_name()).all()  # each row says where it trained
    write_csv(frame, tmp_path / "runs.csv")
    assert (tmp_path / "runs.csv").read_text().splitlines()[0] == ",".join(COLUMNS)


def test_the_default_plan_runs_seed_by_seed_and_curve_by_curve():
    jobs = default_sweep()
    seeds = [j.seed for j in jobs]
    assert seeds == sorted(seeds)  # all of seed 0 before seed 1
    first = jobs[:7]  # the random baseline of the 50k pool, f from 1 down
    assert {(j.policy, j.pool_size) for j in first} == {("random", 50000)}
    assert [j.keep_fraction for j in first] == sorted((j.keep_fraction for j in first), reverse=True)
    curves = [(j.seed, j.pool_size, j.metric, j.policy) for j in jobs]
    runs = [c for i, c in enumerate(curves) if i == 0 or c != curves[i - 1]]
    assert len(runs) == len(set(runs)), "each curve's jobs are contiguous"


def _finish(results, job, **row):
    jobs_store(results).save(job_config(job), dict.fromkeys(COLUMNS, 0) | row)


def test_a_finished_job_is_not_trained_again(tmp_path, monkeypatch):
    job = _jobs()[0]
    _finish(tmp_path, job, test_error=0.25)
    monkeypatch.setattr("prunescale.validation.data.load_cifar10", lambda *a, **k: pytest.fail("trained again"))
    assert run_job(job, tmp_path)["test_error"] == 0.25


def test_a_changed_hyperparameter_names_a_new_job_and_the_stale_result_is_never_reused(tmp_path, monkeypatch):
    from prunescale.validation import CONFIGS, get_config

    job = _jobs()[0]
    _finish(tmp_path, job, test_error=0.25)
    assert is_done(job, tmp_path)
    monkeypatch.setitem(CONFIGS, "toy", get_config("toy", weight_decay=1e-3))  # edit the preset
    assert job_config(job)["train"]["weight_decay"] == 1e-3
    assert not is_done(job, tmp_path) and pending([job], tmp_path) == [job]
    assert collect(tmp_path, [job]).empty  # the old row is not in the new plan's table
    monkeypatch.setattr("prunescale.validation.data.load_cifar10", lambda *a, **k: pytest.fail("retrained"))
    with pytest.raises(pytest.fail.Exception, match="retrained"):
        run_job(job, tmp_path)


def test_a_tampered_job_entry_is_refused_not_mixed_in(tmp_path):
    from prunescale.store import ConfigMismatch

    job = _jobs()[0]
    _finish(tmp_path, job, test_error=0.25)
    meta, _ = jobs_store(tmp_path).paths(job_config(job))
    record = json.loads(meta.read_text())
    record["config"]["train"]["lr"] = 9.0
    meta.write_text(json.dumps(record))
    with pytest.raises(ConfigMismatch, match="another configuration"):
        run_job(job, tmp_path)


def test_a_dry_run_shows_the_plan_and_what_is_done_without_running(tmp_path, capsys, monkeypatch):
    from prunescale.cli import main

    job = _jobs()[1]  # random, f = 0.5 of a pool of 100
    _finish(tmp_path, job)
    table = progress(_jobs(), tmp_path)
    assert table.planned.sum() == 4 and table.done.sum() == 1
    # toy config, 1 epoch, batch 50: f = 1 takes 2 steps of 50, each half 1 step of 50
    assert table.images_left.sum() == 100 + 50 + 50
    monkeypatch.setattr(runner, "run_sweep", lambda *a, **k: pytest.fail("a dry run ran jobs"))
    main(["validate", "sweep", "--dry-run", "--results", str(tmp_path), "--plan", "custom", "--pool-sizes", "1000"])
    out = capsys.readouterr().out
    assert "jobs" in out and "images left to train" in out


def test_the_serial_runner_skips_finished_jobs_and_starts_none_after_its_deadline(tmp_path, monkeypatch):
    jobs = _jobs()
    _finish(tmp_path, jobs[0], test_error=0.25)
    monkeypatch.setattr(runner, "run_job", lambda *a, **k: pytest.fail("a job started after the deadline"))
    frame = run_serial(jobs, tmp_path, deadline=-1.0, progress=False)
    assert frame.test_error.tolist() == [0.25]
    ran = []
    monkeypatch.setattr(runner, "run_job", lambda job, *a, **k: ran.append(job))
    run_serial(jobs, tmp_path, progress=False)
    assert ran == jobs[1:]


def test_a_failing_job_fails_the_sweep_by_name_after_the_others_ran(tmp_path, monkeypatch):
    jobs = _jobs()

    def run(job, results, *args, **kwargs):
        if job.policy == "hard":
            raise RuntimeError("out of memory")
        _finish(results, job)

    monkeypatch.setattr(runner, "run_job", run)
    with pytest.raises(SweepFailed, match=r"1 of 4 jobs failed: job \w+ \(seed 0, pool 100, el2n keep hard.*out of memory"):
        run_serial(jobs, tmp_path, progress=False)
    assert len(collect(tmp_path, jobs)) == 3


def test_a_bad_plan_is_rejected_before_any_job_runs(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "run_job", lambda *a, **k: pytest.fail("dispatched"))
    with pytest.raises(ValueError, match="budget must be one of"):
        run_serial(grid(["el2n"], ["hard"], [100], [0.5], [0], budget="foo"), tmp_path)
    with pytest.raises(ValueError, match="config must be one of"):
        run_serial(grid(["el2n"], ["hard"], [100], [0.5], [0], config="foo"), tmp_path)
    with pytest.raises(ValueError, match="workers must be a positive integer"):
        run_sweep(_jobs(), tmp_path, workers=0)


def test_a_table_holding_another_plans_runs_is_never_overwritten_by_this_plan(tmp_path, monkeypatch):
    jobs = _jobs()
    ran = []
    monkeypatch.setattr(runner, "run_job", lambda job, results, *a, **k: (ran.append(job), _finish(results, job, config_hash=job.key)))
    table = tmp_path / "runs.csv"
    run_serial(jobs[:2], tmp_path, csv=table, progress=False)  # a first plan writes its table
    before = table.read_bytes()
    with pytest.raises(ValueError, match=r"holds 2 runs that are not in this plan"):
        run_serial(jobs[2:], tmp_path, csv=table, progress=False)
    assert table.read_bytes() == before and len(ran) == 2  # refused before any job ran, the table untouched
    run_serial(jobs, tmp_path, csv=table, progress=False)  # a plan that contains the first one may grow it
    assert len(pd.read_csv(table)) == 4
    (tmp_path / "notes.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="is not a runs table"):
        run_serial(jobs, tmp_path, csv=tmp_path / "notes.csv", progress=False)


def test_a_cpu_run_says_cpu():
    import jax

    if jax.default_backend() != "cpu":
        pytest.skip("on an accelerator the row names it, e.g. 'NVIDIA H200'")
    assert device_name() == "cpu"


def test_a_truncated_job_entry_is_reported_not_counted_as_done_and_run_again(tmp_path, monkeypatch):
    from prunescale.store import CorruptEntry

    job = _jobs()[0]
    _finish(tmp_path, job, test_error=0.25)
    meta, _ = jobs_store(tmp_path).paths(job_config(job))
    meta.write_text(meta.read_text()[:30])
    with pytest.warns(CorruptEntry, match=str(meta)):
        assert pending([job], tmp_path) == [job]
    ran = []
    monkeypatch.setattr(runner, "run_job", lambda j, *a, **k: ran.append(j))
    run_serial([job], tmp_path, progress=False)
    assert ran == [job]


def test_a_sweep_whose_jobs_fail_exits_non_zero_naming_each_job_and_error(tmp_path, capsys):
    from prunescale.cli import main

    args = ["validate", "sweep", "--plan", "custom", "--pool-sizes", "100", "--keep-fractions", "1,0.5",
            "--policies", "random", "--seeds", "1", "--config", "toy", "--results", str(tmp_path / "r"),
            "--data", str(tmp_path / "missing.npz")]
    with pytest.raises(SystemExit) as exc:
        main(args)  # through Dask: the workers' errors come back to the command
    err = capsys.readouterr().err
    assert exc.value.code == 2
    assert "2 of 2 jobs failed" in err and "FileNotFoundError" in err and "missing.npz does not exist" in err


# -- The fair test's plans (docs/validation.md, "The fair test: protocol") ----------------


def _points(jobs):
    return {(j.pool_size, j.policy, j.keep_fraction, j.seed, j.class_balanced) for j in jobs}


def test_the_fair_plan_is_the_registered_one_every_run_the_same_steps_on_nested_pools():
    jobs = fair_plan(3125)
    assert len(jobs) == 53 and len(set(jobs)) == 53
    assert {(j.budget, j.steps, j.pool, j.config) for j in jobs} == {("steps", 3125, "nested", "default")}
    points = _points(jobs)
    for pool, fractions in FAIR_POOLS.items():
        for seed in (0, 1):
            assert (pool, "random", 1.0, seed, False) in points
            for f in fractions[1:]:
                assert {(pool, p, f, seed, False) for p in ("random", "hard", "easy")} <= points
    assert {(10000, p, f, 2, False) for p in ("random", "hard") for f in (0.7, 0.5)} <= points  # claim 1: 3 seeds
    assert {(10000, p, 0.5, s, True) for p in ("random", "hard") for s in (0, 1, 2)} <= points
    el2n = {json.loads(j.metric_options)["inits"] for j in jobs if j.metric == "el2n"}
    assert el2n == {8}


def test_the_fair_plan_runs_the_pool_that_decides_claim_1_first_seed_by_seed():
    jobs = fair_plan(3125)
    pools = [j.pool_size for j in jobs]
    assert pools == sorted(pools, reverse=True)
    claim_1 = [j for j in jobs if j.pool_size == 10000]
    assert [j.seed for j in claim_1] == sorted(j.seed for j in claim_1)
    assert [(j.policy, j.keep_fraction) for j in claim_1[:2]] == [("random", 1.0), ("random", 0.7)]  # baseline first


def test_the_full_pool_and_gpu_plans_use_all_50k_images_at_one_budget():
    cpu, gpu = full_pool_plan(), gpu_plan()
    assert {j.pool_size for j in cpu + gpu} == {50000} and {j.steps for j in cpu + gpu} == {3907}
    assert _points(cpu) == {(50000, p, f, s, False) for s in (0, 1) for p, f in (("random", 1.0), ("random", 0.5), ("hard", 0.5))}
    assert len(gpu) == 3 * (1 + 5 * 3)  # per seed: f = 1 once, then 5 fractions x random, hard, easy
    assert gpu_plan(steps=100)[0].steps == 100


def test_a_clone_resumes_the_committed_fair_sweep_from_its_job_entries():
    """The finished runs' entries are committed beside their table, so a fresh clone counts
    them as done and trains only the rest."""
    from pathlib import Path

    import pandas as pd

    folder = Path(__file__).parents[2] / "figures" / "data" / "cifar10_fair"
    table = pd.read_csv(folder / "runs.csv")
    jobs = fair_plan(int(table.steps.iloc[0]))
    assert len(jobs) - len(pending(jobs, folder)) == len(table)
    assert set(table.config_hash) <= {j.key for j in jobs}


def test_the_gpu_memorization_plan_scores_from_enough_subset_models_for_a_tenth_standard_error():
    jobs = gpu_memorization_plan(3125)
    assert len(jobs) == 12 and {j.pool_size for j in jobs} == {2500} and {j.steps for j in jobs} == {3125}
    scored = [j for j in jobs if j.metric in ("memorization", "influence")]
    for job in scored:
        options = json.loads(job.metric_options)
        models, inside = options["models"], round(options["subset_fraction"] * options["models"])
        assert (0.25 / inside + 0.25 / (models - inside)) ** 0.5 <= 0.1  # the worst case, p = 1/2
        check_job(job)


@pytest.mark.cifar10
def test_the_kept_sets_class_balance_is_reported_for_finished_runs_without_training(tmp_path):
    import dataclasses

    plain = _jobs()[1]  # random, f = 0.5 of a class-balanced pool of 100
    balanced = dataclasses.replace(plain, class_balanced=True)
    scored = _jobs()[2]  # keep-hard: its scores are not cached, so it is left out rather than scored
    for job in (plain, balanced, scored):
        _finish(tmp_path, job, test_error=0.5)
    table = kept_class_balance([plain, balanced, scored, _jobs()[0]], tmp_path, score_cache=tmp_path / "scores")
    assert table.class_balanced.tolist() == [False, True]  # the unfinished f = 1 job and the unscored one: absent
    counts = [list(map(int, c.split())) for c in table.counts]
    assert [sum(c) for c in counts] == [50, 50] and counts[1] == [5] * 10
    assert table.smallest_share.iloc[1] == table.largest_share.iloc[1] == 0.1
