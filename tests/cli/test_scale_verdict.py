"""``prunescale validate verdict`` reads the 50k test's table: its claims, the budget contrast and the figure."""

import json

import numpy as np
import pandas as pd
import pytest

from prunescale.cli import main
from prunescale.validation.plans import scale_plan


def scale_runs(hard_loss=-0.002, missing_seed=None):
    """The 50k test's 36 runs with made-up errors, keyed as the plan's jobs (so the command knows the table)."""
    rng = np.random.default_rng(0)
    rows = []
    for job in scale_plan():
        if job.seed == missing_seed:
            continue
        whole = 2.0 * job.pool_size**-0.4
        error = whole + {"random": 0.01 * (job.keep_fraction < 1), "hard": hard_loss}[job.policy]
        rows.append(dict(metric=job.metric, policy=job.policy, pool_size=job.pool_size, keep_fraction=job.keep_fraction,
                         n_train=round(job.keep_fraction * job.pool_size), seed=job.seed, budget="steps", epochs=None,
                         steps=job.steps, test_error=error + rng.normal(0, 0.0005), device="cpu", config_hash=job.key,
                         config="default", pool="nested", class_balanced=False, cpu_model="cpu A"))
    return pd.DataFrame(rows)


def test_the_verdict_command_reads_the_50k_table_and_draws_its_figure(tmp_path, capsys):
    csv = tmp_path / "runs.csv"
    scale_runs().to_csv(csv, index=False)
    main(["validate", "verdict", "--csv", str(csv), "--out", str(tmp_path / "out")])
    text = capsys.readouterr().out
    assert "the 50k test: 36 of 36 runs" in text
    assert "claim 1 at 50k, 3907 steps: reproduced" in text and "claim 1 at 50k, 7814 steps: reproduced" in text
    assert "budget: hard f = 0.5 loss at 7814 minus at 3907 steps" in text and "claim 3 at scale:" in text
    record = json.loads((tmp_path / "out" / "verdicts.json").read_text())
    assert len(record["differences"]) == 6 and len(record["predicted_runs"]) == 27  # the committed predictions
    assert (tmp_path / "out" / "cifar10_50k.png").stat().st_size > 20_000


def test_a_partial_50k_table_says_what_is_missing(tmp_path, capsys):
    csv = tmp_path / "runs.csv"
    scale_runs(missing_seed=5).to_csv(csv, index=False)
    main(["validate", "verdict", "--csv", str(csv), "--out", str(tmp_path / "out")])
    text = capsys.readouterr().out
    assert "the 50k test: 24 of 36 runs" in text
    assert "claim 1 at 50k, 3907 steps: undecided (plan incomplete; 3 points missing)" in text


@pytest.mark.cifar10
def test_the_50k_tables_kept_sets_class_balance_and_drift_check_are_reported(tmp_path, capsys):
    from prunescale.figures import DATA

    csv = DATA / "cifar10_50k" / "runs.csv"
    main(["validate", "verdict", "--csv", str(csv), "--out", str(tmp_path), "--kept-balance"])
    out = capsys.readouterr().out
    assert "kept sets, hard: class shares" in out
    assert "claim 3 at scale under CPU-model drift: reproduced in" in out  # seeds 4 and 5 mix CPU models
    balance = pd.read_csv(tmp_path / "kept_class_balance.csv").merge(pd.read_csv(csv), on="config_hash")
    kept = balance.counts.str.split().map(lambda counts: sum(map(int, counts)))
    assert (kept == balance.n_train).all()  # every run's kept set, rebuilt from the committed scores, is its size
    assert set(balance.policy_x) == {"random", "hard"}


def test_a_missing_data_file_for_the_kept_sets_is_named_before_any_verdict_is_written(tmp_path, capsys):
    csv = tmp_path / "runs.csv"
    scale_runs().to_csv(csv, index=False)
    with pytest.raises(SystemExit):
        main(["validate", "verdict", "--csv", str(csv), "--out", str(tmp_path / "out"), "--kept-balance",
              "--data", str(tmp_path / "nowhere.npz")])
    assert "nowhere.npz does not exist (--data)" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
