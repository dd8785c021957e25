"""Pruning from what a user already has: recorded training dynamics, embeddings, or scores.

The four dynamics metrics are checked against plain loops written from their definitions; the folder format is
read in chunks and must agree with the in-memory one; the recorder round-trips; prototypes and near-duplicate
removal work on memory-mapped embeddings."""

import numpy as np
import pytest

from prunescale.validation import dynamics, embeddings, pruning


def learning_run(n=300, classes=4, epochs=6, runs=2, seed=0):
    """Logits of runs that learn: the label's logit grows with the epoch, with noise (some examples forgotten)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n)
    logits = rng.normal(size=(runs, epochs, n, classes)).astype(np.float32)
    for e in range(epochs):
        logits[:, e, np.arange(n), labels] += 2.5 * e / epochs
    return logits, labels


def reference(logits, labels, metric, epoch):
    """Each metric from its definition, one example at a time."""
    runs, epochs, n, classes = logits.shape
    out = np.zeros(n)
    for i in range(n):
        y = labels[i]
        values = []
        for r in range(runs):
            z = logits[r, :, i].astype(float)
            if metric == "el2n":
                p = np.exp(z[epoch] - z[epoch].max())
                p /= p.sum()
                values.append(np.sqrt(sum((p[c] - (c == y)) ** 2 for c in range(classes))))
            elif metric == "forgetting":
                correct = [int(np.argmax(z[e]) == y) for e in range(epochs)]
                if not any(correct):
                    values.append(epochs)
                else:
                    values.append(sum(1 for e in range(1, epochs) if correct[e - 1] and not correct[e]))
            elif metric == "aum":
                values.append(np.mean([z[e, y] - max(z[e, c] for c in range(classes) if c != y) for e in range(epochs)]))
            else:
                values.append(np.mean([np.log(np.exp(z[e]).sum()) - z[e, y] for e in range(epochs)]))
        out[i] = -np.mean(values) if metric == "aum" else np.mean(values)
    return out


def save_folder(folder, logits, labels):
    folder.mkdir()
    np.save(folder / "logits.npy", logits)
    np.save(folder / "labels.npy", labels)
    return folder


@pytest.mark.parametrize("metric", dynamics.DYNAMICS_METRICS)
def test_each_dynamics_metric_equals_its_definition(tmp_path, metric):
    logits, labels = learning_run()
    folder = save_folder(tmp_path / "dyn", logits, labels)
    epoch = 2 if metric == "el2n" else None
    got = dynamics.dynamics_scores(dynamics.read_dynamics(folder), metric, epoch=epoch, chunk_bytes=4096)  # many chunks
    assert np.allclose(got, reference(logits, labels, metric, epoch), rtol=1e-5, atol=1e-6)


def test_an_npz_a_folder_and_one_run_without_its_axis_agree(tmp_path):
    logits, labels = learning_run(runs=1)
    np.savez(tmp_path / "dyn.npz", logits=logits[0], labels=labels)
    folder = save_folder(tmp_path / "dyn", logits[0].astype(np.float16), labels)
    a = dynamics.dynamics_scores(dynamics.read_dynamics(tmp_path / "dyn.npz"), "loss")
    b = dynamics.dynamics_scores(dynamics.read_dynamics(folder), "loss")
    assert np.allclose(a, b, atol=0.02)  # float16 storage against float32


def test_a_never_learned_example_ranks_above_every_learned_one():
    logits = np.zeros((1, 4, 3, 2), np.float32)
    logits[0, :, 0, 1] = 1  # example 0 (label 0) is never correct
    logits[0, [0, 2], 1, 0] = 1  # example 1: correct, wrong, correct, wrong: forgotten twice
    logits[0, [0, 1], 1, 1] = -1
    logits[0, [1, 3], 1, 1] = 1
    logits[0, :, 2, 0] = 1  # example 2: always correct
    dyn = dynamics.Dynamics(None, (1, 4, 3, 2), np.zeros(3, np.int64), lambda s, e: logits[:, :, s:e])
    assert dynamics.dynamics_scores(dyn, "forgetting").tolist() == [4.0, 2.0, 0.0]


def test_el2n_reads_a_tenth_of_the_way_in_by_default():
    assert [dynamics.default_epoch(e) for e in (1, 5, 20, 200)] == [0, 0, 1, 19]


def test_the_recorder_writes_what_prune_reads_and_equals_the_toolkits_own_el2n(tmp_path):
    """The consistency check: networks of the toolkit's trainer, their logits fed through the recorder, give
    validation's own EL2N for the same runs."""
    from prunescale.validation import score, train
    from prunescale.validation.metrics.el2n import schedule, scoring_seeds
    from prunescale.validation.trainer import predict

    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 255, (64, 16, 16, 3), dtype=np.uint8), np.arange(64) % 4
    options = dict(inits=2, epochs=0.5, config={"preset": "toy", "num_classes": 4})
    recorder = dynamics.Recorder(tmp_path / "dyn", labels=y, epochs=1, num_classes=4, runs=2, dtype=np.float32)
    for run, seed in enumerate(scoring_seeds(2, seed=0)):
        net = train(x, y, options["config"], seed=seed, **schedule(0.5, None, 1.0))
        recorder.run = run
        for start in range(0, 64, 16):  # batch by batch, as a training loop would
            recorder.record(np.arange(start, start + 16), predict(net, x[start : start + 16]))
    recorder.next_epoch()
    from_dynamics = pruning.prune_dynamics(tmp_path / "dyn", 0.5, metric="el2n").scores
    assert np.allclose(from_dynamics, score("el2n", x, y, seed=0, **options).scores, atol=1e-5)


def test_an_example_the_recorder_never_saw_is_refused(tmp_path):
    recorder = dynamics.Recorder(tmp_path / "dyn", labels=np.arange(4) % 2, epochs=1, num_classes=2)
    recorder.record([0, 1, 2], np.zeros((3, 2)))
    recorder.next_epoch()
    with pytest.raises(ValueError, match="NaN or inf among the logits"):
        dynamics.read_dynamics(tmp_path / "dyn")


# -- embeddings ------------------------------------------------------------------------------------------------


def clustered(n=3000, dim=32, centers=8, seed=0):
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(centers, dim))
    which = rng.integers(0, centers, n)
    return (means[which] + 0.3 * rng.normal(size=(n, dim))).astype(np.float32), which


def test_prototype_scores_are_one_minus_the_cosine_to_the_nearest_centroid_on_a_memory_mapped_file(tmp_path):
    data, _ = clustered()
    np.save(tmp_path / "emb.npy", data)
    mapped = np.load(tmp_path / "emb.npy", mmap_mode="r")
    centroids = embeddings.train_centroids(mapped, 8, seed=0)
    scores, cluster = embeddings.prototype_scores(mapped, 8, seed=0, chunk_rows=500)
    unit = data / np.linalg.norm(data, axis=1, keepdims=True)
    assert np.allclose(np.linalg.norm(centroids, axis=1), 1, atol=1e-5)
    assert np.allclose(scores, 1 - (unit @ centroids.T).max(1), atol=1e-5)
    assert np.array_equal(cluster, (unit @ centroids.T).argmax(1))


def test_dedup_keeps_exactly_one_example_of_each_planted_near_duplicate_group(tmp_path):
    data, _ = clustered(n=2000)
    rng = np.random.default_rng(1)
    groups = [rng.choice(2000, 4, replace=False) for _ in range(6)]  # indices overwritten by near-copies
    groups = [g for g in groups]
    used = set()
    planted = []
    for g in groups:
        g = [i for i in g if i not in used][:3]
        used.update(g)
        for i in g[1:]:
            data[i] = data[g[0]] * (1 + 1e-4) + 1e-4 * rng.normal(size=data.shape[1])
        planted.append(sorted(g))
    np.save(tmp_path / "emb.npy", data)
    p = pruning.prune_embeddings(tmp_path / "emb.npy", 1.0, clusters=8, dedup=0.001)
    removed = set(range(2000)) - set(p.kept.tolist())
    assert removed == {i for g in planted for i in g[1:]}  # each group keeps its first index, nothing else goes
    assert p.report["duplicates_removed"] == sum(len(g) - 1 for g in planted)


def test_the_assignment_runs_on_a_dask_cluster_with_the_same_result(tmp_path):
    from dask.distributed import LocalCluster

    data, _ = clustered(n=1200)
    np.save(tmp_path / "emb.npy", data)
    mapped = np.load(tmp_path / "emb.npy", mmap_mode="r")
    centroids = embeddings.train_centroids(mapped, 6, seed=0)
    local = embeddings.assign(mapped, centroids, chunk_rows=300)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        remote = embeddings.assign(str(tmp_path / "emb.npy"), centroids, chunk_rows=300, scheduler=cluster.scheduler_address)
    assert np.array_equal(local[0], remote[0]) and np.allclose(local[1], remote[1])


# -- your own scores -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["hard", "easy", "random", "ccs", "mixed"])
def test_every_policy_applies_to_your_own_scores_and_the_report_states_the_cost(policy):
    scores, labels = np.random.default_rng(0).normal(size=500), np.arange(500) % 5
    p = pruning.prune_scores(scores, 0.3, labels=labels, policy=policy, class_balanced=True)
    assert p.kept.size == 150 and np.bincount(labels[p.kept]).tolist() == [30] * 5
    assert set(p.report["cost"]) == {"seconds", "peak_memory_mib"} and p.report["saves"]["kept_share"] == 0.3
    if policy == "hard":
        assert set(p.kept) == {i for c in range(5) for i in np.flatnonzero(labels == c)[np.argsort(scores[labels == c])[-30:]]}


def test_the_kept_indices_drop_into_a_torch_subset_and_a_datasets_select():
    p = pruning.prune_scores(np.arange(10.0), 0.3)
    torch = pytest.importorskip("torch")
    subset = torch.utils.data.Subset(torch.utils.data.TensorDataset(torch.arange(10)), p.kept)
    assert [int(subset[i][0]) for i in range(len(subset))] == [7, 8, 9]


def test_the_kept_indices_drop_into_a_hugging_face_dataset_select():
    p = pruning.prune_scores(np.arange(10.0), 0.3)
    datasets = pytest.importorskip("datasets")
    assert datasets.Dataset.from_dict({"i": list(range(10))}).select(p.kept)["i"] == [7, 8, 9]


def test_the_pytorch_example_records_a_run_and_prunes_from_it(tmp_path):
    """docs/examples/record_pytorch.py, as a user would run it (skipped where torch is not installed)."""
    pytest.importorskip("torch")
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[2] / "docs" / "examples" / "record_pytorch.py"
    spec = importlib.util.spec_from_file_location("record_pytorch", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    pruned = example.main(str(tmp_path / "dynamics"))
    assert pruned.kept.size == 1000 and pruned.report["metric"] == "forgetting"
    assert np.load(tmp_path / "dynamics" / "logits.npy", mmap_mode="r").shape == (10, 2000, 3)
