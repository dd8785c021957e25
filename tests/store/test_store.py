"""The bottom layer: atomic files, one digest, and a store that never serves a stale or damaged entry."""

import json
import os
import stat

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

from prunescale.store import ConfigMismatch, CorruptEntry, KeyedStore, atomic_write, digest

configs = st.dictionaries(
    st.text(min_size=1, max_size=8),
    st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8), st.booleans()),
    max_size=6,
)


def test_an_atomic_write_gets_the_normal_file_mode(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]  # no temporary file left behind


@given(configs)
@settings(max_examples=50, deadline=None)
def test_the_digest_of_a_config_survives_its_json_round_trip(config):
    assert digest(json.loads(json.dumps(config))) == digest(config)


def test_the_digest_tells_arrays_apart_by_content():
    a = np.arange(6.0)
    assert digest(a) == digest(a.copy()) != digest(a + 1e-15)


@given(configs, configs)
@settings(max_examples=30, deadline=None)
def test_an_entry_is_found_under_exactly_its_config(tmp_path_factory, config, other):
    store = KeyedStore(tmp_path_factory.mktemp("s"))
    store.save(config, {"value": 1}, arrays={"a": np.arange(3)})
    hit = store.load(config)
    assert hit.value == {"value": 1} and hit.arrays["a"].tolist() == [0, 1, 2]
    if digest(other) != digest(config):
        assert store.load(other) is None


def test_an_entry_whose_stored_config_differs_is_refused(tmp_path):
    store = KeyedStore(tmp_path)
    meta = store.save({"lr": 0.1}, 0.25)
    record = json.loads(meta.read_text())
    record["config"]["lr"] = 0.2
    meta.write_text(json.dumps(record))
    with pytest.raises(ConfigMismatch, match=f"{meta}.*another configuration"):
        store.load({"lr": 0.1})


@pytest.mark.parametrize(
    "damage",
    [
        lambda meta: meta.write_text(meta.read_text()[:20]),  # truncated JSON
        lambda meta: meta.with_suffix(".npz").write_bytes(meta.with_suffix(".npz").read_bytes()[:50]),  # truncated npz
        lambda meta: meta.write_text(meta.read_text().replace("0.25", "0.26")),  # tampered but valid value
        lambda meta: meta.with_suffix(".npz").unlink(),  # arrays lost
    ],
    ids=["truncated json", "truncated npz", "tampered value", "missing arrays"],
)
def test_a_damaged_entry_is_reported_set_aside_and_treated_as_missing(tmp_path, damage):
    store = KeyedStore(tmp_path)
    meta = store.save({"lr": 0.1}, 0.25, arrays={"scores": np.ones(4)})
    damage(meta)
    with pytest.warns(CorruptEntry, match=str(meta)):
        assert store.load({"lr": 0.1}) is None
    assert not meta.exists() and meta.with_name(meta.name + ".corrupt").exists()
    store.save({"lr": 0.1}, 0.25, arrays={"scores": np.ones(4)})  # recomputed and stored again
    assert store.load({"lr": 0.1}).value == 0.25
    assert list(store.entries())[0].value == 0.25
