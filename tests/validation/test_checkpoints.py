"""A training run stopped mid-way resumes from its checkpoint, bit-identically; a checkpoint of other work is never
resumed; a sweep's job keeps its checkpoint until its row is stored."""

import json

import jax
import numpy as np
import pytest
from fake_data import fake_cifar10

from prunescale.validation import trainer
from prunescale.validation.jobs import grid

EPOCHS = 3.0  # the toy preset's: 200 images in batches of 50 are 4 steps an epoch, 12 in all


@pytest.fixture(scope="module")
def toy():
    d = fake_cifar10(n_train=200)
    return d["x_train"], d["y_train"].astype(np.int32)


@pytest.fixture
def every_epoch(monkeypatch):
    monkeypatch.setattr(trainer, "CHECKPOINT_SECONDS", 0.0)  # save at every epoch boundary


def _stop_after(monkeypatch, steps):
    """Make the trainer's step raise after ``steps`` calls, as a stopped process would end."""
    real, calls = trainer.train_step, []

    def step(*args, **kwargs):
        if len(calls) == steps:
            raise KeyboardInterrupt
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(trainer, "train_step", step)
    return real


def _same(a, b):
    leaves = zip(jax.tree_util.tree_leaves((a.params, a.batch_stats)), jax.tree_util.tree_leaves((b.params, b.batch_stats)))
    return (a.steps == b.steps and all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in leaves)
            and all(np.array_equal(getattr(a, k), getattr(b, k)) for k in ("correct", "loss", "presented")))


def test_a_stopped_run_resumes_from_its_checkpoint_bit_identically(toy, tmp_path, every_epoch, monkeypatch):
    x, y = toy
    whole = trainer.train(x, y, "toy", seed=3, epochs=EPOCHS)
    checkpoint = tmp_path / "run.npz"
    real = _stop_after(monkeypatch, 10)  # stopped in the last epoch, after the checkpoint at its start
    with pytest.raises(KeyboardInterrupt):
        trainer.train(x, y, "toy", seed=3, epochs=EPOCHS, checkpoint=checkpoint)
    monkeypatch.setattr(trainer, "train_step", real)
    resumed = trainer.train(x, y, "toy", seed=3, epochs=EPOCHS, checkpoint=checkpoint)
    assert _same(resumed, whole)
    assert 0 < resumed.resumed_seconds <= resumed.seconds and whole.resumed_seconds == 0


def test_a_finished_run_asked_again_returns_at_once(toy, tmp_path, every_epoch, monkeypatch):
    x, y = toy
    checkpoint = tmp_path / "run.npz"
    first = trainer.train(x, y, "toy", seed=3, epochs=EPOCHS, checkpoint=checkpoint)
    _stop_after(monkeypatch, 0)
    assert _same(trainer.train(x, y, "toy", seed=3, epochs=EPOCHS, checkpoint=checkpoint), first)


@pytest.mark.parametrize("change", ["seed", "data"])  # and the config: all three are in the fingerprint
def test_a_checkpoint_of_other_work_is_never_resumed(toy, tmp_path, every_epoch, change):
    x, y = toy
    checkpoint = tmp_path / "run.npz"
    trainer.train(x, y, "toy", seed=3, epochs=EPOCHS, checkpoint=checkpoint)
    seed, x2 = (4, x) if change == "seed" else (3, x.copy())
    x2[0, 0, 0, 0] ^= change == "data"
    fresh = trainer.train(x2, y, "toy", seed=seed, epochs=EPOCHS)
    again = trainer.train(x2, y, "toy", seed=seed, epochs=EPOCHS, checkpoint=checkpoint)
    assert _same(again, fresh) and again.resumed_seconds == 0


def test_a_damaged_checkpoint_is_ignored_not_resumed(toy, tmp_path):
    x, y = toy
    checkpoint = tmp_path / "run.npz"
    checkpoint.write_bytes(b"not a checkpoint")
    run = trainer.train(x, y, "toy", seed=3, epochs=EPOCHS, checkpoint=checkpoint)
    assert run.resumed_seconds == 0 and run.steps == 12


def test_a_sweep_job_removes_its_checkpoint_once_its_row_is_stored(fake_cifar10_file, tmp_path):
    from prunescale import validation
    from prunescale.validation.runner import PARTIAL, run_job

    d = validation.load_cifar10(fake_cifar10_file, verify=False)
    (job,) = grid(["random"], ["random"], [200], [1.0], [0], config="toy", test_size=200, data=d.checksum,
                  metric_options=json.dumps({}))
    row = run_job(job, tmp_path, fake_cifar10_file)
    assert row["wall_seconds"] > 0 and not (tmp_path / PARTIAL / f"{job.key}.npz").exists()


def test_the_work_left_counts_what_a_stopped_jobs_checkpoint_holds(tmp_path):
    from prunescale.validation import checkpoints
    from prunescale.validation.runner import PARTIAL, progress

    (job,) = grid(["random"], ["random"], [200], [1.0], [0], config="toy", test_size=200)
    before = int(progress([job], tmp_path).images_left.sum())
    records = np.zeros((3, 200), bool)
    stopped = checkpoints.Progress({"w": np.zeros(2)}, np.zeros(2, np.uint32), {}, 2, 8, records, records.astype(np.float32),
                                   records, 1.0)
    checkpoints.save(tmp_path / PARTIAL / f"{job.key}.npz", "mark", stopped)
    assert checkpoints.steps_taken(tmp_path / PARTIAL / f"{job.key}.npz") == 8
    assert before == 12 * 50 and int(progress([job], tmp_path).images_left.sum()) == 4 * 50
