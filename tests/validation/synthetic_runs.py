"""Synthetic runs tables whose answer is known, for the fair test's criteria and verdicts."""

import numpy as np
import pandas as pd

POOLS = (2500, 5000, 10000)
FRACTIONS = (1.0, 0.7, 0.5, 0.3)
SEEDS = (0, 1, 2)


def random_error(n):
    return 2.0 * n**-0.3


def table(hard, easy=None, noise=0.0005, seed_effect=0.004):
    """Runs of random, keep-hard and keep-easy pruning. ``hard(n, f)`` and ``easy(n, f)`` give the errors;
    each seed shifts all its runs alike (what pairing removes) plus a little independent noise."""
    rng = np.random.default_rng(0)
    shift = dict(zip(SEEDS, rng.normal(0, seed_effect, len(SEEDS))))
    rows = []
    for pool in POOLS:
        for f in FRACTIONS:
            n = int(round(f * pool))
            for s in SEEDS:
                base = dict(pool_size=pool, keep_fraction=f, n_train=n, seed=s, budget="steps", steps=1563, config="sweep", device="cpu")
                policies = [("random", "random", random_error(n))]
                if f < 1:
                    policies += [("el2n", "hard", hard(n, f))] + ([("el2n", "easy", easy(n, f))] if easy else [])
                for metric, policy, e in policies:
                    rows.append(base | dict(metric=metric, policy=policy, test_error=e + shift[s] + rng.normal(0, noise)))
    return pd.DataFrame(rows)


def full(pool):
    return random_error(pool)
