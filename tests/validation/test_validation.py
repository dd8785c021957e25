"""CIFAR-10 parts: the loader, subsets and pruning, the trainer, and the metric definitions."""

import json
import pickle
import tarfile
import io

import numpy as np
import pytest

from prunescale import validation
from prunescale.cli import main
from prunescale.validation import metrics
from prunescale.store import ConfigMismatch, KeyedStore
from prunescale.store import digest as store_digest
from prunescale.validation.trainer import normalise, per_example_loss
from prunescale.validation.data import ARRAY_SHA256, load_cifar10


@pytest.fixture(scope="module")
def cifar():
    return load_cifar10()  # ../shared/data/cifar10.npz, verified (tests using it are marked cifar10)


@pytest.fixture(scope="module")
def toy():
    """200 images of the fake data set in CIFAR-10's format: the trainer and metrics need no real file."""
    from fake_data import fake_cifar10

    d = fake_cifar10(n_train=200)
    return d["x_train"], d["y_train"].astype(np.int32)


# -- data -----------------------------------------------------------------------------


@pytest.mark.cifar10
def test_the_real_file_loads_verified(cifar):
    assert cifar.x_train.shape == (50000, 32, 32, 3) and cifar.x_train.dtype == np.uint8
    assert cifar.x_test.shape == (10000, 32, 32, 3)
    assert np.bincount(cifar.y_train).tolist() == [5000] * 10
    assert cifar.y_test[:10].tolist() == [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]


@pytest.mark.cifar10
def test_missing_and_corrupted_files_get_clear_errors(tmp_path, cifar, monkeypatch):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_cifar10(tmp_path / "nope.npz")
    monkeypatch.setenv("PRUNESCALE_CIFAR10", str(tmp_path / "nope.npz"))
    with pytest.raises(FileNotFoundError, match="PRUNESCALE_CIFAR10"):
        load_cifar10()
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="corrupted"):
        load_cifar10(bad)
    tampered = tmp_path / "tampered.npz"
    x = cifar.x_test.copy()
    x[0, 0, 0, 0] ^= 1
    np.savez(tampered, x_train=cifar.x_train, y_train=cifar.y_train, x_test=x, y_test=cifar.y_test)
    with pytest.raises(ValueError, match="x_test fails its sha256"):
        load_cifar10(tampered)
    partial = tmp_path / "partial.npz"
    np.savez(partial, x_train=cifar.x_train[:2])
    with pytest.raises(ValueError, match="lacks the arrays"):
        load_cifar10(partial)


@pytest.mark.cifar10
def test_the_standard_tarball_format_is_read(tmp_path, cifar):
    path = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, sl in [(f"data_batch_{i}", slice(2 * i, 2 * i + 2)) for i in range(1, 6)] + [
            ("test_batch", slice(0, 2))
        ]:
            x, y = (cifar.x_test, cifar.y_test) if name == "test_batch" else (cifar.x_train, cifar.y_train)
            batch = {b"data": x[sl].transpose(0, 3, 1, 2).reshape(2, -1), b"labels": y[sl].tolist()}
            blob = pickle.dumps(batch)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    d = load_cifar10(path, verify=False)
    np.testing.assert_array_equal(d.x_train[:2], cifar.x_train[2:4])
    np.testing.assert_array_equal(d.x_test, cifar.x_test[:2])
    with pytest.raises(ValueError, match="sha256"):
        load_cifar10(path)
    assert set(ARRAY_SHA256) == {"x_train", "y_train", "x_test", "y_test"}


@pytest.mark.cifar10
def test_subsets_are_balanced_index_arrays_and_pruning_keeps_exact_counts(cifar):
    idx = validation.class_balanced_subset(cifar.y_train, 1003, seed=1)
    counts = np.bincount(cifar.y_train[idx], minlength=10)
    assert idx.size == 1003 and counts.max() - counts.min() <= 1 and np.unique(idx).size == idx.size
    scores = np.arange(50000, dtype=float)
    pool = validation.random_pool(50000, 1000, seed=2)
    hard = validation.prune(scores, pool, 0.3, "hard")
    easy = validation.prune(scores, pool, 0.3, "easy")
    assert hard.size == easy.size == 300
    assert scores[hard].min() > scores[easy].max()  # hard keeps the highest scores
    assert validation.prune(scores, pool, 0.3, "random", seed=0).size == 300
    with pytest.raises(ValueError, match="keep_fraction"):
        validation.prune(scores, pool, 0.0, "hard")
    with pytest.raises(ValueError, match="policy"):
        validation.prune(scores, pool, 0.5, "middle")


# -- training ---------------------------------------------------------------------------


def test_toy_training_runs_records_per_example_quantities_and_is_seeded(toy):
    x, y = toy
    a = validation.train(x, y, "toy", seed=3)
    b = validation.train(x, y, "toy", seed=3)
    assert a.correct.shape == a.loss.shape == (3, 200) and a.presented.all()
    assert np.isfinite(a.loss).all()
    leaves = lambda r: np.concatenate([np.ravel(v) for v in __import__("jax").tree_util.tree_leaves(r.params)])
    np.testing.assert_array_equal(leaves(a), leaves(b))
    assert validation.predict(a, x[:10]).shape == (10, 10)


@pytest.mark.parametrize("layout", ["NHWC", pytest.param("NCHW", marks=pytest.mark.slow)])  # NCHW: the same check
def test_the_trainer_matches_a_plain_jax_reference_of_the_same_net_and_step(toy, layout):
    import jax
    import jax.numpy as jnp

    import reference_net as reference
    from prunescale.validation.trainer import init, make_model, normalise, train_step

    cfg = validation.get_config("toy")
    x, y = toy[0][:32], toy[1][:32]
    state = init(cfg, jax.random.PRNGKey(0), 10)
    params, stats = jax.tree.map(np.array, state.params), jax.tree.map(np.array, state.batch_stats)
    model = make_model(cfg)
    for train in (False, True):
        out = model.apply({"params": params, "batch_stats": stats}, normalise(x), train=train, mutable=train)
        logits = out[0] if train else out
        ref_logits, _ = reference.forward(params, stats, normalise(x), train, layout)
        np.testing.assert_allclose(ref_logits, logits, atol=1e-5)
    key = jax.random.PRNGKey(1)
    after, losses, _ = train_step(state, x, y, key, cfg=cfg, total_steps=10)
    p, _, _, ref_losses = reference.train_step(
        params, stats, reference.init_momentum(params), 0, x, y, key, cfg=cfg, total_steps=10, layout=layout
    )
    np.testing.assert_allclose(ref_losses, losses, atol=1e-5)
    gaps = jax.tree.map(lambda a, b: float(jnp.max(jnp.abs(a - b))), after.params, p)
    assert max(jax.tree.leaves(gaps)) < 1e-5
    with pytest.raises(ValueError, match="layout must be one of NHWC, NCHW"):
        reference.forward(params, stats, normalise(x), False, "CHWN")


def test_the_budget_rule_is_explicit():
    cfg = validation.get_config("sweep")
    assert cfg.total_steps(5000) == int(np.ceil(cfg.epochs * 5000 / cfg.batch_size))
    full = validation.get_config("sweep", budget="full_data")
    assert full.total_steps(5000) == full.total_steps(50000) == cfg.total_steps(50000)
    assert validation.get_config("sweep", budget="steps", steps=77).total_steps(123) == 77
    with pytest.raises(ValueError, match="budget must be one of"):
        validation.get_config("sweep", budget="forever")
    with pytest.raises(ValueError, match="config must be one of"):
        validation.get_config("huge")


# -- metric definitions (pinned on toy inputs) ------------------------------------------


def test_el2n_is_the_distance_of_softmax_to_onehot():
    probs = np.array([[1.0, 0.0, 0.0], [0.2, 0.5, 0.3]])
    np.testing.assert_allclose(metrics.el2n.el2n_from_probs(probs, [0, 0]), [0.0, np.sqrt(0.64 + 0.25 + 0.09)])


def test_forgetting_counts_correct_to_wrong_transitions_and_never_learned_is_maximal():
    correct = np.array([[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 1, 0]], bool)  # epochs x examples
    np.testing.assert_array_equal(metrics.forgetting.forgetting_counts(correct), [2, 1, 5])
    presented = np.array([[1, 1, 1], [0, 1, 1], [1, 1, 1], [1, 1, 1]], bool)
    # example 0 is skipped in epoch 1: its record reads 1, 1, 0 -> one forgetting event
    np.testing.assert_array_equal(metrics.forgetting.forgetting_counts(correct, presented), [1, 1, 5])


def test_forgetting_over_steps_counts_the_very_run_a_fair_job_trains(toy):
    """The fair test counts forgetting over its converged runs: with the job's config, steps and seed, the
    scoring run is the job's own f = 1 training run, presentation by presentation."""
    x, y = toy
    job_run = validation.train(x, y, validation.get_config("toy", budget="steps", steps=20), seed=3)
    s = validation.score("forgetting", x, y, seed=3, config="toy", steps=20)
    np.testing.assert_array_equal(s.scores, metrics.forgetting.forgetting_counts(job_run.correct, job_run.presented))
    assert s.config["options"]["steps"] == 20


def test_knn_accuracy_reads_the_class_structure_of_an_embedding():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 50)
    clustered = np.eye(4)[labels] + 0.1 * rng.standard_normal((200, 4))
    assert metrics.prototypes.knn_accuracy(clustered, labels, k=5) == 1.0
    assert metrics.prototypes.knn_accuracy(rng.standard_normal((200, 4)), labels, k=5) < 0.5


def test_the_prototypes_embedding_quality_is_measured_against_the_untrained_network(toy):
    x, y = toy
    opts = dict(metrics.DEFAULTS["prototypes"], epochs=1, widths=(8, 8, 8), stem=8, batch_size=64)
    q = metrics.prototypes.embedding_quality(x[:100], y[:100], k=5, **opts)
    assert set(q) == {"knn_accuracy", "untrained_knn_accuracy", "k", "chance"}
    assert 0.0 <= q["knn_accuracy"] <= 1.0 and 0.0 <= q["untrained_knn_accuracy"] <= 1.0 and q["chance"] == 0.1


def test_memorization_and_influence_are_conditional_differences_with_errors():
    inside = np.array([[1, 0], [1, 1], [0, 1], [0, 0]], bool)  # 4 runs x 2 training examples
    correct = np.array([[1, 1], [1, 1], [0, 1], [0, 0]], bool)
    mem, se = metrics.memorization.subset_estimator(inside, correct)
    np.testing.assert_allclose(mem, [1.0 - 0.0, 1.0 - 0.5])
    np.testing.assert_allclose(se, [0.0, np.sqrt(0.25 / 2)])
    test_correct = np.array([[1], [1], [0], [1]], bool)
    infl, _ = metrics.influence.influence_from_runs(inside, test_correct, reduce="max")
    np.testing.assert_allclose(infl, [1.0 - 0.5, 0.5 - 1.0])
    masks = metrics._subsets.balanced_subsets(10, models=8, subset_fraction=0.7, seed=0)
    assert (masks.sum(0) == 6).all()
    with pytest.raises(ValueError, match="models"):
        metrics._subsets.balanced_subsets(10, models=1, subset_fraction=0.7)


def test_grand_is_the_full_parameter_gradient_norm(toy):
    import jax

    x, y = toy
    r = validation.train(x[:50], y[:50], "toy", seed=0, epochs=1.0)
    fast = np.asarray(metrics.grand._grad_norms(r.params, r.batch_stats, x[:4], y[:4], cfg=r.config))
    from prunescale.validation.trainer import make_model

    model = make_model(r.config)

    @jax.jit
    @jax.grad
    def gradient(p, image, label):  # one example's own gradient, by plain autodiff
        logits = model.apply({"params": p, "batch_stats": r.batch_stats}, normalise(image), train=False)
        return per_example_loss(logits, label, 0.0)[0]

    for i in range(4):
        g = gradient(r.params, x[i : i + 1], y[i : i + 1])
        norm = np.sqrt(sum(float((v**2).sum()) for v in jax.tree_util.tree_leaves(g)))
        assert fast[i] == pytest.approx(norm, rel=1e-4)
    assert len(jax.tree_util.tree_leaves(r.params)) > 2  # every layer, not the last one only


def test_prototype_distance_is_cosine_to_the_nearest_centroid():
    emb = np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    cent = np.array([[1.0, 0.0], [0.0, 1.0]])
    np.testing.assert_allclose(metrics.prototypes.nearest_centroid_distance(emb, cent), [0.0, 0.0, 1 - np.sqrt(0.5)])


def test_self_supervised_prototypes_never_see_a_label(toy):
    import inspect

    x, y = toy
    assert "y" not in inspect.signature(metrics.prototypes.prototypes).parameters
    opts = dict(epochs=1, batch_size=64, widths=(8, 16, 16), stem=8, embed_dim=16)  # a toy-sized network
    a = validation.score("prototypes", x[:100], y[:100], **opts)
    b = validation.score("prototypes", x[:100], np.random.default_rng(0).permutation(y[:100]), **opts)
    c = validation.score("prototypes", x[:100], None, **opts)
    np.testing.assert_array_equal(a.scores, b.scores)
    np.testing.assert_array_equal(a.scores, c.scores)
    assert a.config == c.config and "y" not in json.dumps(a.config["data"])


# -- the cache ----------------------------------------------------------------------------


def test_scores_are_cached_with_their_configuration_and_a_foreign_entry_is_refused(toy, tmp_path, monkeypatch):
    x, y = toy
    first = validation.score("el2n", x[:100], y[:100], cache_dir=tmp_path, inits=1, epochs=1.0, config="toy")
    assert first.config["metric"] == "el2n" and list(first.config["model"]["widths"]) == [8, 16, 16]
    recomputed = lambda *a, **k: (_ for _ in ()).throw(AssertionError("recomputed"))
    monkeypatch.setitem(metrics.METRICS, "el2n", metrics.METRICS["el2n"]._replace(function=recomputed))
    again = validation.score("el2n", x[:100], y[:100], cache_dir=tmp_path, inits=1, epochs=1.0, config="toy")
    np.testing.assert_array_equal(first.scores, again.scores)
    # another seed is another configuration: computed afresh, never mixed in
    with pytest.raises(AssertionError, match="recomputed"):
        validation.score("el2n", x[:100], y[:100], cache_dir=tmp_path, inits=1, epochs=1.0, config="toy", seed=1)
    meta, _ = KeyedStore(tmp_path, prefix="el2n").paths(first.config)
    stored = json.loads(meta.read_text())
    stored["config"]["seed"] = 99
    meta.write_text(json.dumps(stored))
    with pytest.raises(ConfigMismatch, match="another configuration"):
        validation.score("el2n", x[:100], y[:100], cache_dir=tmp_path, inits=1, epochs=1.0, config="toy")


def test_a_changed_training_hyperparameter_is_never_served_stale_scores(toy, tmp_path, monkeypatch):
    x, y = toy
    opts = dict(inits=1, epochs=1.0, config="toy")
    first = validation.score("el2n", x[:60], y[:60], cache_dir=tmp_path, **opts)
    monkeypatch.setitem(validation.CONFIGS, "toy", validation.get_config("toy", lr=0.05))
    second = validation.score("el2n", x[:60], y[:60], cache_dir=tmp_path, **opts)
    assert second.config["model"]["lr"] == 0.05 and second.config != first.config
    assert not np.array_equal(first.scores, second.scores)  # trained afresh under the new config
    assert len([p for p in tmp_path.glob("el2n-*.json") if "-unit-" not in p.name]) == 2


def test_the_prototypes_network_is_in_the_score_key():
    x = np.zeros((4, 32, 32, 3), np.uint8)
    small = metrics.metric_config("prototypes", x, None, widths=(8, 8, 8))
    default = metrics.metric_config("prototypes", x, None)
    assert default["options"]["widths"] == (32, 64, 64) and store_digest(small) != store_digest(default)


def test_unknown_metrics_and_options_are_named(toy):
    x, y = toy
    with pytest.raises(ValueError, match="metric must be one of"):
        validation.score("loss", x, y)
    with pytest.raises(ValueError, match="unknown options for el2n"):
        validation.score("el2n", x, y, depth=3)
    with pytest.raises(ValueError, match="needs x_test"):
        validation.score("influence", x, y)


# -- CLI --------------------------------------------------------------------------------


@pytest.mark.cifar10
def test_cli_trains_and_scores_end_to_end(tmp_path, capsys):
    main(["validate", "train", "--config", "toy", "--train-size", "200", "--test-size", "200", "--json"])
    record = json.loads(capsys.readouterr().out)
    assert 0.0 <= record["test_accuracy"] <= 1.0 and record["images_per_second"] > 0
    out = tmp_path / "forget.npz"
    main(
        [
            "validate",
            "score",
            "--metric",
            "forgetting",
            "--options",
            '{"config": "toy", "epochs": 2}',
            "--train-size",
            "200",
            "--out",
            str(out),
            "--cache",
            str(tmp_path / "cache"),
            "--json",
        ]
    )
    capsys.readouterr()
    with np.load(out) as npz:
        assert npz["scores"].shape == npz["indices"].shape == (200,)
    assert json.loads(out.with_suffix(".json").read_text())["metric"] == "forgetting"
    with pytest.raises(SystemExit) as exc:
        main(["validate", "score", "--metric", "loss", "--out", str(out), "--train-size", "100"])
    assert exc.value.code == 2


@pytest.mark.parametrize(
    "content",
    [b"PK\x03\x04 truncated zip", b"a text file, not arrays\n", b""],
    ids=["truncated npz", "text file", "empty file"],
)
def test_a_damaged_data_file_is_a_one_line_value_error_that_never_advises_pickle(tmp_path, content):
    path = tmp_path / "cifar10.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=f"{path} is corrupted or not CIFAR-10") as exc:
        load_cifar10(path)
    assert "pickle" not in str(exc.value)


def test_scores_that_are_not_finite_are_an_error_and_never_cached(toy, tmp_path, monkeypatch):
    from prunescale.validation import metrics

    x, y = toy
    broken = metrics.Metric(lambda x, *, seed, progress: (np.full(len(x), np.nan), None), {}, labels=False)
    monkeypatch.setitem(metrics.METRICS, "random", broken)
    with pytest.raises(ValueError, match="non-finite scores"):
        validation.score("random", x[:20], cache_dir=tmp_path)
    assert not list(tmp_path.glob("*"))


@pytest.mark.parametrize("options, message", [
    (dict(inits=0), "option inits must be an integer >= 1, got 0"),
    (dict(inits=-1), "option inits must be an integer >= 1, got -1"),
    (dict(epochs=0.0), "option epochs must be a positive number, got 0.0"),
    (dict(steps=2.5), "option steps must be an integer >= 1"),
    (dict(stop_after=1.5), r"option stop_after must lie in \(0, 1\], got 1.5"),
])
def test_metric_options_are_checked_before_any_training(toy, tmp_path, options, message):
    x, y = toy
    with pytest.raises(ValueError, match=message):
        validation.score("el2n", x[:20], y[:20], cache_dir=tmp_path, config="toy", **options)
    assert not list(tmp_path.glob("*"))


@pytest.mark.slow  # about 16 s: a scoring in a subprocess, killed
def test_a_scoring_killed_after_its_first_init_resumes_from_it(tmp_path, monkeypatch):
    """kill -9 after the first of two inits: the rerun trains only the second, and gives the scores an unbroken
    scoring gives."""
    import os
    import signal
    import subprocess
    import sys
    import time

    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 255, (48, 16, 16, 3), dtype=np.uint8), np.arange(48) % 3
    np.savez(tmp_path / "d.npz", x=x, y=y)
    options = dict(inits=2, epochs=2.0, config={"preset": "toy", "num_classes": 3})
    script = (
        "import numpy as np, time\n"
        "from prunescale.validation import score\n"
        "from prunescale.validation.metrics import el2n\n"
        "first = el2n.train\n"
        "def slow(*a, **k):\n"  # the second init waits, so the kill lands after the first unit is stored
        "    slow.calls = getattr(slow, 'calls', 0) + 1\n"
        "    if slow.calls == 2: time.sleep(60)\n"
        "    return first(*a, **k)\n"
        "el2n.train = slow\n"
        f"d = np.load({str(tmp_path / 'd.npz')!r})\n"
        f"score('el2n', d['x'], d['y'], cache_dir={str(tmp_path / 'cache')!r}, **{options!r})\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and not list((tmp_path / "cache").glob("el2n-unit-*.npz")):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert len(list((tmp_path / "cache").glob("el2n-unit-*.npz"))) == 1

    from prunescale.validation.metrics import el2n

    calls = []
    real = el2n.train
    monkeypatch.setattr(el2n, "train", lambda *a, **k: calls.append(k["seed"]) or real(*a, **k))
    resumed = validation.score("el2n", x, y, cache_dir=tmp_path / "cache", **options)
    assert calls == [1]  # only the second init trained again
    assert np.allclose(resumed.scores, validation.score("el2n", x, y, **options).scores)
