"""The experiment plans, one registry: :data:`PLANS` maps each name to its :class:`Plan`.

A plan is a list of :class:`~.jobs.Job` in the order they run.  The
command line reads everything it says about a plan from here (its help, its
``--steps`` rule, its committed table), so adding a plan is one entry.
Every plan's job keys are pinned by a test: editing a plan here names new
jobs, and the committed runs would no longer be found.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import TYPE_CHECKING, Any, Callable, Literal, Sequence

from prunescale.store import POLICIES

from .jobs import Job, grid
from .verdicts import CLAIM_1_FRACTIONS, CLAIM_THRESHOLD, COMPRESSION_FRACTIONS, COMPRESSION_POLICIES, FULL_POOL, LOSSLESS_POOL

if TYPE_CHECKING:
    from .metrics import MetricName
    from .selection import SelectionPolicy


Seeds = Sequence[int]


def equal_steps(steps: int, **options: Any) -> dict:
    """The job settings of a plan under equal compute: the default config, every run ``steps`` optimiser steps
    on nested pools (docs/validation.md, "The fair test: protocol")."""
    return dict(config="default", budget="steps", steps=int(steps), pool="nested") | options


def default_sweep() -> list[Job]:
    """Experiments A and B at CPU scale (about 8-9 CPU-hours with the sweep config; see docs/validation.md)."""
    fractions = (1.0, 0.8, 0.6, 0.4, 0.3, 0.2, 0.1)
    a = grid(("el2n", "forgetting", "prototypes"), POLICIES, (50000,), fractions, (0, 1))
    b = grid(("el2n",), POLICIES, (10000,), fractions, (0, 1))
    return sorted(dict.fromkeys(a + b), key=_curve_order)


# The fair test (docs/validation.md, "The fair test: protocol"): nested class-balanced pools, every run the
# same number of optimiser steps, seeds paired across keep fraction, policy and pool.
FAIR_POOLS = {10000: (1.0, 0.7, 0.5, 0.3), 5000: (1.0, 0.5, 0.3), 2500: (1.0, 0.5)}
PILOT_EPOCHS = (10, 20, 40)  # passes over the 10k pool tried by the budget pilot
FAIR_BATCH = 128  # the default config's batch size, for converting epochs of the pool to steps


def pilot_plan(seeds: Seeds = (0, 1)) -> list[Job]:
    """The budget pilot: random f = 1 on the nested 10k pool at 10, 20 and 40 epochs' worth of steps."""
    steps = [math.ceil(e * 10000 / FAIR_BATCH) for e in PILOT_EPOCHS]
    return [
        Job("random", "random", 10000, 1.0, seed, **equal_steps(n))
        for seed in seeds
        for n in steps
    ]


def fair_plan(steps: int, seeds: Seeds = (0, 1), claim_seeds: Seeds = (2,)) -> list[Job]:
    """The CPU plan of the fair test, every run ``steps`` optimiser steps (chosen by the pilot).

    Random, EL2N keep-hard and keep-easy at f in {1, .7, .5, .3} on 10k, {1, .5, .3} on 5k, {1, .5} on 2.5k
    (nested pools), 2 seeds; a third seed for random and keep-hard at the claim-1 points of the 10k pool
    (f = 1, .7, .5); and class-balanced pruning at f = .5 of the 10k pool for every seed.  EL2N is scored from
    8 inits, each a run of ``steps`` steps read at 15% of it."""
    common = equal_steps(steps, metric_options=_el2n_options(steps))
    jobs = []
    for pool, fractions in FAIR_POOLS.items():
        jobs += grid(["el2n"], POLICIES, [pool], fractions, seeds, **common)
    # the points that decide claim 1 are the verdict's own, so the plan and the verdict cannot drift apart
    jobs += grid(["el2n"], ["random", "hard"], [LOSSLESS_POOL], CLAIM_1_FRACTIONS, claim_seeds, **common)
    balanced = grid(["el2n"], ["random", "hard"], [LOSSLESS_POOL], (CLAIM_THRESHOLD,), tuple(seeds) + tuple(claim_seeds), **common)
    jobs += [dataclasses.replace(j, class_balanced=True) for j in balanced if j.keep_fraction < 1]
    return sorted(dict.fromkeys(jobs), key=_largest_pool_first)


FULL_POOL_STEPS = math.ceil(10 * FULL_POOL / FAIR_BATCH)  # 3,907: the default config's 10 epochs of 50k (90.8%)
GPU_FRACTIONS = (1.0, 0.8, 0.6, 0.5, 0.4, 0.3)


EL2N_INITS = 8


def _el2n_options(steps, seed=None):
    """EL2N as the fair test defines it: 8 inits, each a ``steps``-step run read at 15% of it.  With ``seed``,
    the scoring networks are named (:func:`independent_scoring_seeds`), so no two job seeds share one."""
    options = dict(inits=EL2N_INITS, epochs=1.0, config="default", steps=int(steps), stop_after=0.15)
    if seed is not None:
        options["init_seeds"] = independent_scoring_seeds(seed)
    return json.dumps(options)


def independent_scoring_seeds(seed: int, inits: int = EL2N_INITS) -> list[int]:
    """The scoring networks of job seed ``seed``: ``1000 (seed + 1) + k``, k < inits.  Disjoint across job
    seeds, and from every job's own training seed (below 1000).  (The older plans score job seed s with
    networks s, s + 1, ..., so seeds 0 and 1 share 7 of their 8.)"""
    if not 0 <= inits <= 1000:
        raise ValueError(f"inits must lie in [0, 1000] for disjoint scoring seeds, got {inits}")
    return [1000 * (int(seed) + 1) + k for k in range(inits)]


def _per_seed(seeds, make):
    """``make(seed)`` for each seed, concatenated: plans whose metric options name the seed's scoring networks."""
    return [job for seed in seeds for job in make(seed)]


def full_pool_plan(steps: int = FULL_POOL_STEPS, seeds: Seeds = (0, 1)) -> list[Job]:
    """The CPU plan's last part: all 50k training images as the pool, at the default config's converged budget
    (10 epochs of 50k in steps, for every run), f in {1, 0.5}, random and EL2N keep-hard, 2 seeds: 6 runs."""
    common = equal_steps(steps, metric_options=_el2n_options(steps))
    jobs = grid(["el2n"], ["random", "hard"], [FULL_POOL], (1.0, 0.5), seeds, **common)
    return sorted(dict.fromkeys(jobs), key=_curve_order)


def gpu_plan(steps: int = FULL_POOL_STEPS, seeds: Seeds = (0, 1, 2)) -> list[Job]:
    """The plan for a lent GPU: the 50k pool under equal compute, f in {1, .8, .6, .5, .4, .3} x {random, EL2N
    hard, EL2N easy} x 3 seeds (48 runs), each seed scored by its own networks.  The f in {1, .5} x {random,
    keep-hard} runs of every seed come first.  One device for the whole table: never mix its rows with CPU rows."""

    def of_seed(seed):
        common = equal_steps(steps, metric_options=_el2n_options(steps, seed))
        return grid(["el2n"], POLICIES, [FULL_POOL], GPU_FRACTIONS, [seed], **common)

    first = lambda j: (j.keep_fraction not in (1.0, 0.5) or j.policy not in ("random", "hard"),) + _curve_order(j)
    return sorted(dict.fromkeys(_per_seed(seeds, of_seed)), key=first)


# The 50k test (docs/validation.md, "The 50k test: protocol"): fresh seeds, each scored by its own networks.
SCALE_SEEDS = (3, 4, 5)
SCALE_BUDGETS = (FULL_POOL_STEPS, 2 * FULL_POOL_STEPS)  # 10 and 20 epochs of 50k: 3,907 and 7,814 steps
SCALE_POOLS = (12500, 25000)  # nested in each seed's 50k pool, for claim 3 across kept sizes 6.25k to 25k


def scale_plan(seeds: Seeds = SCALE_SEEDS) -> list[Job]:
    """The 50k test, 36 runs in the order they run.  (a) Claim 1 on the whole data set: the 50k pool, random
    f = 1 and 0.5 and EL2N keep-hard f = 0.5, at 3,907 steps, then the same at 7,814; (b) claim 3 at scale: pools
    of 12.5k and 25k, the same three runs at 3,907 steps.  One EL2N scoring per pool and seed, its networks
    3,907-step runs read at 15% whatever the run's budget, so the budget contrast isolates training length."""

    def of_seed(seed, pools, steps):
        common = equal_steps(steps, metric_options=_el2n_options(SCALE_BUDGETS[0], seed))
        return grid(["el2n"], ["random", "hard"], pools, (1.0, 0.5), [seed], **common)

    a = [_per_seed(seeds, lambda s, n=steps: of_seed(s, [FULL_POOL], n)) for steps in SCALE_BUDGETS]
    b = _per_seed(seeds, lambda s: of_seed(s, sorted(SCALE_POOLS, reverse=True), SCALE_BUDGETS[0]))
    return [j for part in a + [b] for j in sorted(part, key=_curve_order)]


SUBSET_MODELS = 128  # per-example standard error of memorization at most 0.1: sqrt(0.25/90 + 0.25/38) = 0.096


def gpu_memorization_plan(steps: int, seeds: Seeds = (0, 1)) -> list[Job]:
    """The GPU plan's second part: memorization and influence from 128 subset models each (70% subsets, the
    default config) on the nested 2.5k pool, keep-hard and keep-easy at f = 0.5, against random at f = 1 and 0.5,
    every run ``steps`` steps: 12 runs on one device."""
    common = equal_steps(steps)
    options = dict(models=SUBSET_MODELS, subset_fraction=0.7, config="default")
    jobs = grid(["random"], ["random"], [2500], (1.0, 0.5), seeds, **common)
    for metric in ("memorization", "influence"):
        metric_options = json.dumps(options | ({"reduce": "max"} if metric == "influence" else {}))
        jobs += grid([metric], ["hard", "easy"], [2500], (0.5,), seeds, metric_options=metric_options, **common)
    return sorted(dict.fromkeys(jobs), key=_curve_order)


def high_compression_plan(steps: int, seeds: Seeds = (0, 1)) -> list[Job]:
    """High compression, after the fair plan: ccs and mixed against random and keep-hard at f = 0.3 and 0.1
    of the nested 10k pool, under the same steps, seeds and EL2N scores as :func:`fair_plan`."""
    common = equal_steps(steps, metric_options=_el2n_options(steps))
    policies: tuple[SelectionPolicy, ...] = ("random", *COMPRESSION_POLICIES)
    jobs = grid(["el2n"], policies, [LOSSLESS_POOL], COMPRESSION_FRACTIONS, seeds, **common)
    return sorted(dict.fromkeys(jobs), key=_curve_order)


def _largest_pool_first(job):
    # The 10k pool for every seed first: claim 1 (can I prune without loss?) is judged on it alone, so a
    # stopped sweep can decide the user's first question before the smaller pools that claims 2 and 3 need.
    return (-job.pool_size,) + _curve_order(job)


def _curve_order(job):
    # Seed by seed, curve by curve, so a stopped sweep leaves whole curves behind: random first (the
    # baseline every curve is judged against), then metric by metric, large f first.
    return (job.seed, -job.pool_size, job.policy != "random", job.metric, job.policy, -job.keep_fraction)


def custom_plan(metrics: Sequence[MetricName] = ("el2n",), policies: Sequence[SelectionPolicy] = ("random", "hard", "easy"),
                pool_sizes: Sequence[int] = (10000,), keep_fractions: Sequence[float] = (1, 0.8, 0.6, 0.4, 0.3, 0.2, 0.1),
                seeds: int = 2, steps: int | None = None, **settings: Any) -> list[Job]:
    """A grid of your own: every metric, policy, pool size and keep fraction for seeds ``0 .. seeds - 1``;
    ``settings`` are :class:`~.jobs.Job` fields shared by every run (config, budget, epochs, metric_options)."""
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"seeds must be at least 1 (the seeds run are 0 .. seeds - 1), got {seeds!r}")
    return grid(metrics, policies, pool_sizes, keep_fractions, list(range(seeds)), steps=steps, **settings)


StepsRule = Literal["required", "optional", "fixed"]


@dataclasses.dataclass(frozen=True)
class Plan:
    """One experiment plan: how to make its jobs, and what the command line says and checks about it."""

    make: Callable[..., list[Job]]  # make(steps=..., **options) -> the jobs, in the order they run
    help: str  # one line, for --help
    steps: StepsRule = "fixed"  # "required": the plan needs a budget; "optional": it has a default; "fixed": its own
    table: str | None = None  # its committed runs table, under figures/data/ (None: no committed table)
    custom: bool = False  # whether it takes the grid options (--metrics, --pool-sizes, ...)

    def jobs(self, name: str, steps: int | None = None, **options: Any) -> list[Job]:
        """The plan's jobs, with ``steps`` checked against the plan's rule (``name`` is for messages)."""
        if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
            raise ValueError(f"--steps must be a positive integer, got {steps!r}")
        if self.steps == "required" and steps is None:
            raise ValueError(f"--plan {name} needs --steps, a positive integer (the budget of every run)")
        if self.steps == "fixed" and steps is not None:
            raise ValueError(f"--plan {name} fixes its own budget: drop --steps")
        if options and not self.custom:
            raise ValueError(f"--plan {name} takes no grid options ({', '.join(sorted(options))}); use --plan custom")
        return self.make(**({} if steps is None else {"steps": steps}), **options)


PLANS: dict[str, Plan] = {
    "default": Plan(default_sweep, "the short-budget experiments A and B", table="cifar10_runs.csv"),
    "pilot": Plan(pilot_plan, "the fair test's budget pilot", table="cifar10_fair/pilot_runs.csv"),
    "fair": Plan(fair_plan, "the fair test's CPU plan", "required", "cifar10_fair/runs.csv"),
    "compression": Plan(high_compression_plan, "ccs and mixed at f = 0.3 and 0.1", "required",
                        "cifar10_fair/compression_runs.csv"),
    "full-pool": Plan(full_pool_plan, "the 50k pool, f = 1 and 0.5; --steps default 3907", "optional",
                      "cifar10_fair/full_pool_runs.csv"),
    "gpu": Plan(gpu_plan, "the 50k plan for a lent GPU; --steps default 3907", "optional", "cifar10_gpu/runs.csv"),
    "gpu-memorization": Plan(gpu_memorization_plan, "memorization and influence from 128 subset models on 2.5k",
                             "required", "cifar10_gpu/memorization_runs.csv"),
    "scale": Plan(scale_plan, "the 50k test: 36 runs at 3,907 and 7,814 steps, seeds 3-5",
                  table="cifar10_50k/runs.csv"),
    "custom": Plan(custom_plan, "a grid of your own: the options below", "optional", custom=True),
}
