"""Plain verdicts from the criteria, on synthetic tables whose answer is known: each of the three verdicts is
reached where it should be, and a partial table is never read as an answer."""

import pandas as pd

from synthetic_runs import full, random_error, table
from prunescale.validation import verdicts

REPRODUCED, NOT_REPRODUCED, UNDECIDED = verdicts.VERDICTS


def with_class_balance(frame, shift):
    """The f = 0.5 runs of the 10k pool once more, class-balanced, ``shift`` worse."""
    extra = frame[(frame.pool_size == 10000) & (frame.keep_fraction == 0.5) & frame.policy.isin(["random", "hard"])].copy()
    extra["class_balanced"], extra["test_error"] = True, extra.test_error + shift
    return pd.concat([frame.assign(class_balanced=False), extra], ignore_index=True)


# -- claim 1 -----------------------------------------------------------------------------


def test_claim_1_is_reproduced_where_keep_hard_is_lossless_at_half_and_random_is_not():
    verdict = verdicts.claim_1(table(hard=lambda n, f: full(n / f)))
    assert verdict.verdict == REPRODUCED and verdict.complete


def test_claim_1_is_not_reproduced_where_keep_hard_clearly_loses_at_half_and_below():
    verdict = verdicts.claim_1(table(hard=lambda n, f: full(n / f) + (0.0 if f > 0.5 else 0.02)))
    assert verdict.verdict == NOT_REPRODUCED and "loses" in verdict.reason


def test_claim_1_is_not_reproduced_where_random_pruning_is_lossless_too():
    frame = table(hard=lambda n, f: full(n / f))
    whole = frame[frame.keep_fraction == 1.0].set_index(["pool_size", "seed"]).test_error
    random = frame.policy == "random"
    frame.loc[random, "test_error"] = [whole[p, s] + 1e-4 for p, s in zip(frame.pool_size[random], frame.seed[random])]
    verdict = verdicts.claim_1(frame)
    assert verdict.verdict == NOT_REPRODUCED and "random pruning is lossless too" in verdict.reason


def test_claim_1_is_undecided_where_a_loss_near_the_tolerance_is_within_the_noise():
    verdict = verdicts.claim_1(table(hard=lambda n, f: full(n / f) + 0.005, noise=0.004))
    assert verdict.verdict == UNDECIDED and verdict.complete


def test_claim_1_reports_keep_hard_against_random_pruning_to_the_same_fraction_paired_by_seed():
    verdict = verdicts.claim_1(table(hard=lambda n, f: full(n / f)))  # keep-hard errs as the whole pool does
    at_half = next(p for p in verdict.details["hard_minus_random"] if p["keep_fraction"] == 0.5)
    expected = full(10000) - random_error(5000)
    low, high = at_half["ci95"]
    assert at_half["seeds"] == 3 and low < expected < high and abs(at_half["minus_random"] - expected) < 0.002


def test_claim_1_without_its_runs_is_undecided_and_names_what_is_missing():
    frame = table(hard=lambda n, f: full(n / f))
    verdict = verdicts.claim_1(frame[frame.policy == "random"])
    assert verdict.verdict == UNDECIDED and not verdict.complete
    assert {"pool_size": 10000, "keep_fraction": 0.5, "policy": "hard", "seeds": 3} in verdict.missing


def test_claim_1_waits_for_the_third_seed_the_protocol_runs_at_its_points():
    frame = table(hard=lambda n, f: full(n / f) + 0.05)  # a loss two seeds would already show
    verdict = verdicts.claim_1(frame[frame.seed < 2])
    assert verdict.verdict == UNDECIDED and not verdict.complete
    assert {"pool_size": 10000, "keep_fraction": 0.7, "policy": "hard", "seeds": 3} in verdict.missing
    assert verdicts.claim_1(frame).verdict == NOT_REPRODUCED


# -- claim 2 -----------------------------------------------------------------------------


def test_claim_2_is_reproduced_where_the_winner_changes_with_the_pool():
    hard = lambda n, f: random_error(n) * (0.9 if n / f >= 10000 else 1.1)
    assert verdicts.claim_2(table(hard, lambda n, f: random_error(n))).verdict == REPRODUCED


def test_claim_2_is_not_reproduced_where_one_policy_wins_everywhere():
    verdict = verdicts.claim_2(table(lambda n, f: 0.9 * random_error(n), lambda n, f: random_error(n)))
    assert verdict.verdict == NOT_REPRODUCED


def test_claim_2_is_undecided_where_the_policies_tie():
    verdict = verdicts.claim_2(table(lambda n, f: random_error(n), lambda n, f: random_error(n), noise=0.003))
    assert verdict.verdict == UNDECIDED and verdict.complete


def test_claim_2_without_keep_easy_runs_is_pending():
    verdict = verdicts.claim_2(table(lambda n, f: random_error(n)))
    assert verdict.verdict == UNDECIDED and not verdict.complete


def test_claim_2_waits_for_two_seeds_at_every_pool_it_compares():
    """Two pools resolve a crossover, but the smaller is run with one seed: that pool is not yet a pair."""
    frame = table(lambda n, f: random_error(n) * (0.9 if n / f >= 10000 else 1.1), lambda n, f: random_error(n))
    frame = frame[frame.pool_size >= 5000]
    one_seed = frame[(frame.pool_size == 10000) | (frame.seed == 0)]
    verdict = verdicts.claim_2(one_seed)
    assert verdict.verdict == UNDECIDED and not verdict.complete
    assert {"pool_size": 5000, "keep_fraction": 0.5, "policy": "hard", "seeds": 2} in verdict.missing
    assert verdicts.claim_2(frame).verdict == REPRODUCED


def test_claim_2_waits_for_a_pool_that_has_only_its_whole_pool_runs():
    frame = table(lambda n, f: random_error(n) * (0.9 if n / f >= 10000 else 1.1), lambda n, f: random_error(n))
    started = frame[(frame.pool_size > 2500) | (frame.keep_fraction == 1)]
    verdict = verdicts.claim_2(started)
    assert not verdict.complete and {"pool_size": 2500, "note": "no pruned run yet"} in verdict.missing


# -- claim 3 -----------------------------------------------------------------------------


def test_claim_3_is_reproduced_by_a_steeper_fixed_f_curve_below_random():
    verdict = verdicts.claim_3(table(hard=lambda n, f: 3.0 * n**-0.5))
    assert verdict.verdict == REPRODUCED


def test_claim_3_is_not_reproduced_by_a_curve_that_is_catastrophic_at_small_f():
    """The trap of the old criterion: worse than random at every f tested, however it recovers near f = 1."""
    verdict = verdicts.claim_3(table(hard=lambda n, f: random_error(n) + 0.3 * (1 - f)))
    assert verdict.verdict == NOT_REPRODUCED


def test_claim_3_is_undecided_where_keep_hard_tracks_random():
    verdict = verdicts.claim_3(table(hard=lambda n, f: random_error(n), noise=0.003))
    assert verdict.verdict == UNDECIDED and verdict.complete


def test_claim_3_with_one_pool_only_is_pending():
    frame = table(hard=lambda n, f: 3.0 * n**-0.5)
    verdict = verdicts.claim_3(frame[frame.pool_size == 10000])
    assert verdict.verdict == UNDECIDED and not verdict.complete


def test_claim_3_waits_for_two_seeds_of_keep_hard_and_random_at_every_pool_on_its_curve():
    frame = table(hard=lambda n, f: 3.0 * n**-0.5)
    one_seed = frame[(frame.pool_size != 2500) | (frame.seed == 0)]
    verdict = verdicts.claim_3(one_seed)
    assert verdict.verdict == UNDECIDED and not verdict.complete
    assert {"pool_size": 2500, "keep_fraction": 0.5, "policy": "random", "seeds": 2} in verdict.missing
    assert verdicts.claim_3(frame).verdict == REPRODUCED


# -- the table as a whole ----------------------------------------------------------------


def test_class_balanced_runs_are_compared_apart_and_never_mixed_into_the_claims():
    frame = with_class_balance(table(hard=lambda n, f: full(n / f)), shift=0.01)
    report = verdicts.verdicts(frame)
    assert report.claims[0].verdict == REPRODUCED  # the duplicates would otherwise break the pairing
    balance = {c.policy: c for c in report.class_balance}
    assert balance["hard"].balanced_minus_plain == __import__("pytest").approx(0.01)
    assert balance["random"].ci95[0] > 0


def test_the_verdict_command_prints_each_claim_and_writes_the_numbers_and_the_figure(tmp_path, capsys):
    import json

    from prunescale.cli import main

    frame = with_class_balance(table(hard=lambda n, f: full(n / f), easy=lambda n, f: random_error(n)), shift=0.0)
    frame.to_csv(tmp_path / "runs.csv", index=False)
    out = tmp_path / "fair"
    assert main(["validate", "verdict", "--csv", str(tmp_path / "runs.csv"), "--out", str(out)]) in (0, None)
    text = capsys.readouterr().out
    assert "claim 1: reproduced" in text and "claim 2:" in text and "claim 3:" in text
    assert "class-balanced minus plain, hard at f = 0.5" in text
    assert "hard at f = 0.5: loss against f = 1 +0.02 pp (lower 95% -0.07 pp, upper 95% +0.11 pp, 3 seeds), lossless" in text
    assert "hard minus random at f = 0.5: -" in text  # beside the rule, keep-hard against random at the same f
    assert "smallest lossless f: random none, hard 0.3" in text and "hard minus easy" in text and "slope" in text
    record = json.loads((out / "verdicts.json").read_text())
    assert [c["claim"] for c in record["verdicts"]["claims"]] == ["1", "2", "3"]
    assert record["verdicts"]["claims"][0]["details"]["hard"]["points"][0]["seeds"] == 3
    assert (out / "cifar10_fair.png").stat().st_size > 10_000 and (out / "cifar10_fair.pdf").exists()


def test_by_default_the_command_reads_the_committed_fair_table_and_writes_under_results(tmp_path, capsys, monkeypatch):
    from prunescale.cli import main

    monkeypatch.chdir(tmp_path)  # the committed table is found from anywhere; the output goes under results/
    main(["validate", "verdict"])
    text = capsys.readouterr().out
    assert "runs in figures/data/cifar10_fair/runs.csv" in text
    from prunescale.figures import fair_figure

    committed = verdicts.verdicts(pd.read_csv(fair_figure.RUNS))  # whatever the table holds today, the same words
    for claim in committed.claims:
        assert f"claim {claim.claim}: {claim.verdict}" in text
        assert ("still missing:" in text.split(f"claim {claim.claim}:")[1].split("claim ")[0]) != claim.complete
    assert (tmp_path / "results" / "fair" / "verdicts.json").exists()


@__import__("pytest").mark.cifar10
def test_the_kept_sets_class_balance_of_the_committed_runs_is_reported_on_request(tmp_path, capsys):
    import pandas as pd

    from prunescale.cli import main

    main(["validate", "verdict", "--out", str(tmp_path), "--kept-balance"])
    out = capsys.readouterr().out
    assert "kept sets, random: class shares" in out and "kept sets, hard: class shares" in out
    balance = pd.read_csv(tmp_path / "kept_class_balance.csv")
    assert {"random", "hard", "easy"} <= set(balance.policy)  # the EL2N runs' kept sets, from the cached scores
    assert (balance.counts.str.split().map(len) == 10).all() and (balance.smallest_share <= 0.1).all()


def test_the_sign_map_shows_the_pools_run_so_far_while_claim_2_is_pending(tmp_path):
    from prunescale.figures import fair_figure

    frame = table(hard=lambda n, f: full(n / f), easy=lambda n, f: random_error(n))
    frame[frame.pool_size == frame.pool_size.max()].to_csv(tmp_path / "runs.csv", index=False)  # one pool only
    record = fair_figure.compute(tmp_path / "runs.csv")
    assert not record["verdicts"]["claims"][1]["complete"]
    assert {w["pool_size"] for w in record["winners"]} == {frame.pool_size.max()}
    assert {w["winner"] for w in record["winners"]} == {"hard"}  # keep-hard errs as the whole pool: it wins


# -- high compression, fixed before its runs -------------------------------------------------


def with_compression_policies(frame, ccs_shift, mixed_shift, seed_noise):
    """ccs and mixed runs at f = 0.3 of the 10k pool: random's errors shifted, plus noise that differs per seed."""
    base = frame[(frame.pool_size == 10000) & (frame.keep_fraction == 0.3) & (frame.policy == "random")]
    extra = [
        base.assign(metric="el2n", policy=policy, test_error=base.test_error + shift + seed_noise * (base.seed % 2 - 0.5))
        for policy, shift in (("ccs", ccs_shift), ("mixed", mixed_shift))
    ]
    return pd.concat([frame, *extra], ignore_index=True)


def test_high_compression_names_each_policy_better_worse_or_unresolved_against_random_paired_by_seed():
    frame = with_compression_policies(table(hard=lambda n, f: full(n / f) + 0.1), ccs_shift=-0.03, mixed_shift=0.0, seed_noise=0.01)
    points = {(p.policy, p.keep_fraction): p for p in verdicts.verdicts(frame).compression}
    assert points[("ccs", 0.3)].outcome == "better than random" and points[("ccs", 0.3)].seeds == 3
    assert abs(points[("ccs", 0.3)].minus_random - (-0.03 - 0.01 / 6)) < 1e-12  # the shift plus the noise's mean
    assert points[("mixed", 0.3)].outcome == "unresolved"  # a shift of 0 within seed-to-seed noise
    assert points[("hard", 0.3)].outcome == "worse than random"
    assert not points[("ccs", 0.1)].complete  # no runs at f = 0.1 yet: said, not guessed


def test_a_table_without_ccs_or_mixed_runs_has_no_compression_section():
    assert verdicts.verdicts(table(hard=lambda n, f: full(n / f))).compression == ()


def test_the_verdict_command_prints_the_high_compression_comparison_of_a_compression_table(tmp_path, capsys):
    from prunescale.cli import main

    frame = with_compression_policies(table(hard=lambda n, f: full(n / f) + 0.1), ccs_shift=-0.03, mixed_shift=0.0, seed_noise=0.01)
    frame.to_csv(tmp_path / "compression_runs.csv", index=False)
    main(["validate", "verdict", "--csv", str(tmp_path / "compression_runs.csv"), "--out", str(tmp_path / "out")])
    text = capsys.readouterr().out
    assert "high compression, ccs minus random at f = 0.3: -3.17 pp (95% CI" in text and "better than random" in text
    assert "high compression, mixed minus random at f = 0.1: runs missing" in text


# -- the 50k pool, its own table and budget (fixed before its runs) -----------------------------


def full_pool_table(random_loss, hard_loss, seeds=(0, 1), noise=0.0005):
    """The full-pool plan's runs: f = 1 and f = 0.5 of 50k, random and keep-hard, each f = 0.5 run ``loss`` worse
    than its seed's f = 1 run, give or take ``noise`` (random up where keep-hard is down, alternating by seed);
    seeds shift all their runs alike."""
    rows = []
    for s in seeds:
        base = dict(pool_size=50000, seed=s, budget="steps", steps=3907, config="default", device="cpu")
        whole, sign = 0.09 + 0.004 * s, (-1) ** s
        rows.append(base | dict(metric="el2n", policy="random", keep_fraction=1.0, n_train=50000, test_error=whole))
        for policy, loss, side in (("random", random_loss, 1), ("hard", hard_loss, -1)):
            error = whole + loss + side * sign * noise
            rows.append(base | dict(metric="el2n", policy=policy, keep_fraction=0.5, n_train=25000, test_error=error))
    return pd.DataFrame(rows)


def test_the_full_pool_says_lossless_losing_and_better_than_random_where_the_runs_show_it():
    comparison = verdicts.verdicts(full_pool_table(random_loss=0.03, hard_loss=0.0)).full_pool
    losses = {p.policy: p for p in comparison.losses}
    assert losses["hard"].outcome == "lossless" and losses["hard"].upper95 < 0.005
    assert losses["random"].outcome == "loses more than the tolerance" and losses["random"].lower95 > 0.005
    assert abs(losses["random"].loss - 0.03) < 1e-12 and losses["random"].seeds == 2
    assert comparison.hard_minus_random.outcome == "better than random"


def test_the_full_pool_says_worse_than_random_and_unresolved_within_the_noise():
    worse = verdicts.full_pool_comparison(full_pool_table(random_loss=0.0, hard_loss=0.05))
    assert worse.hard_minus_random.outcome == "worse than random"
    noisy = verdicts.full_pool_comparison(full_pool_table(random_loss=0.004, hard_loss=0.006, noise=0.004))
    assert {p.outcome for p in noisy.losses} == {"unresolved"}  # two seeds: a loss near 0.5 pp is not decided
    assert noisy.hard_minus_random.outcome == "unresolved"


def test_the_full_pool_with_one_seed_or_without_keep_hard_is_not_read():
    one_seed = verdicts.full_pool_comparison(full_pool_table(random_loss=0.03, hard_loss=0.0, seeds=(0,)))
    assert not any(p.complete for p in one_seed.losses) and not one_seed.hard_minus_random.complete
    frame = full_pool_table(random_loss=0.03, hard_loss=0.0)
    no_hard = verdicts.full_pool_comparison(frame[frame.policy == "random"])
    assert {p.policy: p.complete for p in no_hard.losses} == {"random": True, "hard": False}


def test_a_table_without_the_50k_pool_has_no_full_pool_section():
    assert verdicts.verdicts(table(hard=lambda n, f: full(n / f))).full_pool is None


def test_the_verdict_command_prints_the_full_pool_comparison_and_leaves_the_claims_undecided(tmp_path, capsys):
    from prunescale.cli import main

    full_pool_table(random_loss=0.03, hard_loss=0.0).to_csv(tmp_path / "full_pool_runs.csv", index=False)
    main(["validate", "verdict", "--csv", str(tmp_path / "full_pool_runs.csv"), "--out", str(tmp_path / "out")])
    text = capsys.readouterr().out
    assert "full pool (50000), random at f = 0.5 minus f = 1: +3.0" in text and "loses more than the tolerance" in text
    assert "full pool (50000), EL2N keep-hard at f = 0.5 minus f = 1:" in text and ": lossless" in text
    assert "full pool (50000), keep-hard minus random at f = 0.5:" in text and "better than random" in text
    assert "claims 1-3: undecided on this table alone" in text  # the claims are read on the main table
    assert "still missing" not in text  # a side table is not the main plan with runs missing
    assert (tmp_path / "out" / "cifar10_fair.png").exists()


# -- typed records, JSON only at the boundary ------------------------------------------------


def test_the_committed_verdicts_are_reproduced_from_the_committed_table():
    """Every number, verdict and word of figures/data/cifar10_fair_verdicts.json, from the committed runs."""
    import json

    from prunescale.figures import fair_figure
    from prunescale.store import jsonable

    record = json.loads(json.dumps(fair_figure.compute(), default=jsonable))
    assert record == json.loads(fair_figure.RECORD.read_text())


def test_a_verdicts_record_reads_back_as_the_same_typed_record():
    from prunescale.store import from_json, to_json

    frame = with_compression_policies(with_class_balance(table(hard=lambda n, f: full(n / f)), shift=0.01), -0.03, 0.0, 0.004)
    report = verdicts.verdicts(frame)
    assert isinstance(report.claims[0], verdicts.Claim) and isinstance(report.compression[0], verdicts.AgainstRandom)
    assert from_json(verdicts.Verdicts, to_json(report)) == report
    with_50k = verdicts.verdicts(full_pool_table(random_loss=0.03, hard_loss=0.0))
    assert from_json(verdicts.Verdicts, to_json(with_50k)).full_pool == with_50k.full_pool
