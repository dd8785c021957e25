"""Test error of the max-margin student trained on a pruned pool."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from store import checks
from ._integrand import Problem, Quadrature, kept_interval
from ._newton import maximise

ALPHA_MAX = 1e12
_CHUNK = 1024  # points solved together: bounds memory (nodes x points)
# Chunks run on a thread each (the special functions and large array
# operations release the GIL).  Chunking never depends on the thread count,
# so the numbers do not either.
_THREADS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class ConvergenceError(RuntimeError):
    """The saddle-point solver did not converge at some points."""


@dataclass(frozen=True)
class TheoryResult:
    """The saddle point at each requested point (arrays broadcast like numpy).

    Attributes
    ----------
    error : test error ``arccos(R) / pi`` on the unpruned distribution.
    R : student-teacher overlap.
    rho : student-probe overlap.
    kappa : the max-margin student's margin (for a unit-norm student).
    converged : whether the solver certified a maximum of ``kappa``.
    iterations : outer Newton iterations taken.
    alpha_prune, keep_fraction, theta, policy : the inputs, broadcast.
    """

    error: np.ndarray
    R: np.ndarray
    rho: np.ndarray
    kappa: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray
    alpha_prune: np.ndarray
    keep_fraction: np.ndarray
    theta: np.ndarray
    policy: str

    @property
    def alpha_tot(self):
        """The pool size per dimension, ``alpha_prune / keep_fraction``."""
        return self.alpha_prune / self.keep_fraction


def solve(alpha_prune, keep_fraction, theta=0.0, policy="hard", *, strict=True, nodes=12):
    """Solve the replica saddle point for pruned max-margin learning.

    Parameters
    ----------
    alpha_prune : float or array
        Kept examples per input dimension, ``f * alpha_tot``, in (0, 1e12].
    keep_fraction : float or array
        Fraction ``f`` of the pool that is kept, in (0, 1].
    theta : float or array
        Angle in degrees between the pruning probe and the teacher, in [0, 90].
        0 is a perfect metric.
    policy : {"hard", "easy", "random"}
        Keep the smallest probe margins (hard), the largest (easy), or a
        random subset.  Random pruning ignores ``theta`` and ``keep_fraction``
        (it equals no pruning at ``alpha_prune``).
    strict : bool
        Raise :class:`ConvergenceError` if any point fails to converge.  With
        ``strict=False`` such points are flagged in ``converged`` and their
        error is NaN.
    nodes : int
        Gauss-Legendre nodes per quadrature panel.

    Returns
    -------
    TheoryResult
        Arrays of the broadcast shape (0-d for scalar input).

    Examples
    --------
    >>> r = solve(2.0, 1.0)            # no pruning at alpha = 2
    >>> round(float(r.error), 4)
    0.1885
    >>> r = solve(4.0, 1e-6)           # keep the hardest 4N of 4e6 N examples
    >>> bool(r.error < 2e-7)
    True
    """
    policy = checks.policy(policy)
    a = checks.positive("alpha_prune", alpha_prune, upper=ALPHA_MAX)
    f = checks.keep_fraction(keep_fraction)
    th = checks.theta(theta)
    a, f, th = np.broadcast_arrays(a, f, th)
    shape = a.shape
    a, f, th = (np.array(x, dtype=float).ravel() for x in (a, f, th))
    if policy == "random":
        # Random pruning is no pruning at alpha_prune; theta plays no role.
        th_eff, f_eff, kept_policy = np.zeros_like(th), np.ones_like(f), "none"
    else:
        th_eff, f_eff, kept_policy = th, f, policy
    out = {k: np.full(a.shape, np.nan) for k in ("phi", "R", "rho", "kappa")}
    out["converged"] = np.zeros(a.shape, dtype=bool)
    out["iterations"] = np.zeros(a.shape, dtype=int)
    rule = Quadrature(nodes).rule()
    groups = []
    for planar in (True, False):
        sel = (th_eff == 0) if planar else (th_eff > 0)
        if sel.any():
            groups += [(planar, c) for c in np.array_split(np.flatnonzero(sel), -(-sel.sum() // _CHUNK))]

    def solve_chunk(group):
        planar, chunk = group
        return _solve_group(a[chunk], f_eff[chunk], th_eff[chunk], kept_policy, planar, rule)

    threads = min(_THREADS, len(groups))
    if threads > 1:
        with ThreadPoolExecutor(threads) as pool:
            solved = list(pool.map(solve_chunk, groups))
    else:
        solved = [solve_chunk(g) for g in groups]
    for (_, chunk), sp in zip(groups, solved):
        for k in ("phi", "R", "rho", "kappa", "converged", "iterations"):
            out[k][chunk] = getattr(sp, k)
    error = np.where(out["converged"], out["phi"] / np.pi, np.nan)
    if strict and not out["converged"].all():
        bad = ~out["converged"]
        raise ConvergenceError(
            f"saddle point did not converge at {bad.sum()} point(s), e.g. alpha_prune={a[bad][0]:g}, "
            f"keep_fraction={f[bad][0]:g}, theta={th[bad][0]:g}, policy={policy}"
        )

    def shaped(x):
        return x.reshape(shape)

    return TheoryResult(
        error=shaped(error),
        R=shaped(out["R"]),
        rho=shaped(out["rho"]),
        kappa=shaped(out["kappa"]),
        converged=shaped(out["converged"]),
        iterations=shaped(out["iterations"]),
        alpha_prune=shaped(a),
        keep_fraction=shaped(f),
        theta=shaped(th),
        policy=policy,
    )


def _solve_group(alpha, f, theta_deg, policy, planar, rule):
    lo, hi, _ = kept_interval(f, policy)
    rad = np.deg2rad(theta_deg)
    prob = Problem(alpha, f, lo, hi, np.cos(rad), np.sin(rad), planar, rule)
    alpha_tot = alpha / f
    # The max-margin problem is a convex QP, so kappa(phi, psi) has one
    # maximum: one start suffices.  It starts near the no-pruning error of
    # the whole pool (theta = 0) or of the kept set (theta > 0, where a poor
    # metric keeps the error high).  Other starts are spent only on points
    # that did not converge.
    starts = [
        np.pi * 0.5 / (1.0 + (alpha_tot if planar else alpha)),
        np.pi * 0.5 / (1.0 + alpha),
        np.full_like(alpha, np.pi / 8),
        np.full_like(alpha, np.pi / 3),
    ]
    best = None
    for i, phi0 in enumerate(starts):
        todo = np.ones(alpha.shape, bool) if best is None else ~best.converged
        if not todo.any():
            break
        sp = maximise(prob.take(todo), phi0[todo], psi0=np.full(todo.sum(), np.pi / 2 - 0.05 * (i > 0)))
        if best is None:
            best = sp
            continue
        idx = np.flatnonzero(todo)
        # the max-margin student has the largest kappa: a start that converges
        # to a smaller margin than another start reached found a spurious point
        better = sp.converged & (sp.kappa >= best.kappa[idx] * (1 - 1e-9))
        for k in vars(best):
            getattr(best, k)[idx[better]] = getattr(sp, k)[better]
    return best


def test_error(alpha_prune, keep_fraction, theta=0.0, policy="hard"):
    """Test error ``arccos(R) / pi`` of the max-margin student.

    Same arguments as :func:`solve`; returns only the error (a float for
    scalar input).

    Examples
    --------
    >>> round(float(test_error(10.0, 1.0)), 4)
    0.0492
    >>> abs(test_error(3.0, 0.5, policy="random") - test_error(3.0, 1.0)) < 1e-14
    True
    """
    err = solve(alpha_prune, keep_fraction, theta, policy).error
    return float(err) if np.ndim(err) == 0 else err

