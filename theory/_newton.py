"""The Newton solves of the saddle point: ``kappa`` on ``F = 0``, and its maximum over the angles.

The max-margin student maximises ``kappa`` on the surface ``F = 0`` (``F``
from ``_integrand.py``).  An inner Newton iteration solves ``F = 0`` for
``kappa`` (``F`` is concave and decreasing in ``kappa``, so it converges from
any start), and an outer safeguarded Newton ascent maximises
``kappa(ell, psi)``, with ``ell = log phi``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._gauss import pdf
from ._integrand import evaluate, geometry, outer

# Newton steps (log phi, psi) below this size skip the line search.
_NEAR = 0.1


def solve_kappa(prob, ell, psi, kappa, tol=1e-11, maxiter=60):
    """Solve ``F(kappa) = 0`` at fixed angles.

    ``F = s^2 - lam Q`` with ``Q`` increasing in ``kappa`` from 0 (no margin
    violated) through a Gaussian-like tail to quadratic growth.  Newton on
    ``log(lam Q / s^2)`` takes a few steps from far on either side, where
    Newton on ``F`` crawls through the tail; it is safeguarded by bisection
    inside the bracket of points already seen on each side of the root.  It
    stops at ``tol`` or, where rounding in ``F`` is reached first, when
    ``|F|`` stops falling (a noise floor far below the accuracy of the
    result).  The last step is applied, so quadratic convergence leaves an
    error of order ``tol^2`` relative."""
    kappa = np.array(kappa, dtype=float, copy=True)
    s2 = np.square(geometry(ell, psi, prob.planar).s)
    below = np.full(kappa.shape, -np.inf)  # largest kappa seen with F > 0
    above = np.full(kappa.shape, np.inf)  # smallest kappa seen with F <= 0
    done = np.zeros(kappa.shape, dtype=bool)
    failed = np.zeros(kappa.shape, dtype=bool)
    last = np.full(kappa.shape, np.inf)
    for _ in range(maxiter):
        todo = np.flatnonzero(~done)
        k = kappa[todo]
        F, F_k = evaluate(prob.take(~done), ell[todo], psi[todo], k, order=0)
        below[todo] = np.where(F > 0, np.maximum(below[todo], k), below[todo])
        above[todo] = np.where(F <= 0, np.minimum(above[todo], k), above[todo])
        lamQ = s2[todo] - F
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_step = np.log1p(-F / s2[todo]) * lamQ / F_k
            # right of the root (F <= 0), Newton on sqrt(lam Q), which is convex,
            # never overshoots: let the log step go at most 3 times as far
            sqrt_step = -2.0 * np.sqrt(lamQ) / (np.sqrt(lamQ) + np.sqrt(s2[todo])) * F / F_k
            trial = k + np.where(F <= 0, np.maximum(log_step, 3.0 * sqrt_step), log_step)
        bracketed = np.isfinite(below[todo]) & np.isfinite(above[todo])
        outside = ~np.isfinite(trial) | (trial < below[todo]) | (trial > above[todo])
        trial = np.where(outside & bracketed, 0.5 * (below[todo] + above[todo]), trial)
        broken = ~np.isfinite(trial)
        step = np.where(broken, 0.0, trial - k)
        size = np.abs(step) / (np.abs(k) + np.sqrt(s2[todo]))
        stagnant = (np.abs(F) >= last[todo]) & (size < 1e-9)
        kappa[todo] = np.where(stagnant, k, k + step)
        done[todo] = (size <= tol) | stagnant | (F == 0) | broken
        failed[todo] |= broken
        last[todo] = np.abs(F)
        if done.all():
            break
    return kappa, done & ~failed


def initial_kappa(prob, geo):
    """A kappa with ``F <= 0`` (Jensen: ``F <= s^2 - alpha (kappa - E[y h])^2``)."""
    mean_abs_m = np.where(prob.lo > 0, 2.0 * pdf(prob.lo) / prob.f, np.minimum(prob.hi, 1.0))
    mean_field = np.abs(geo.R) * (prob.c * mean_abs_m + prob.st) + np.abs(geo.q) * (prob.st * mean_abs_m + prob.c)
    if prob.planar:
        mean_field = np.abs(geo.R) * mean_abs_m
    return mean_field + geo.s / np.sqrt(prob.alpha)


@dataclass
class SaddlePoint:
    phi: np.ndarray
    psi: np.ndarray
    kappa: np.ndarray
    R: np.ndarray
    rho: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray


def maximise(prob, phi0, psi0=None, tol=1e-12, maxiter=80):
    """Maximise ``kappa(ell, psi)`` on ``F = 0`` by safeguarded Newton ascent.

    Far from the maximum each step is checked by a line search on exactly
    solved ``kappa``.  Within ``_NEAR`` of it the steps are plain Newton steps
    on ``(F, grad F) = 0`` (kappa corrected and predicted from the same
    derivatives, no inner solve), which converge quadratically; the final
    kappa is solved exactly.
    """
    shape = prob.alpha.shape
    ell = np.log(np.broadcast_to(phi0, shape).astype(float))
    psi = np.full(shape, np.pi / 2) if psi0 is None else np.broadcast_to(psi0, shape).astype(float).copy()
    kappa, _ = solve_kappa(prob, ell, psi, initial_kappa(prob, geometry(ell, psi, prob.planar)))
    active = np.ones(shape, dtype=bool)
    converged = np.zeros(shape, dtype=bool)
    on_surface = np.ones(shape, dtype=bool)  # kappa solves F = 0 exactly
    iterations = np.zeros(shape, dtype=int)
    previous = np.full(shape, np.inf)
    for _ in range(maxiter):
        idx = np.flatnonzero(active)
        sub = prob.take(active)
        step, slope, curvature, F, F_k = _newton_ascent_direction(sub, ell[idx], psi[idx], kappa[idx])
        size = np.max(np.abs(step), axis=-1)
        # (a step that would leave psi's range goes through the line search)
        near = (size < _NEAR) & (np.abs(psi[idx] + step[:, 1] - np.pi / 2) < np.pi / 2 - 1e-6)
        accepted = np.ones(idx.shape, dtype=bool)
        # near the maximum: one Newton step on kappa and the angles together
        j = idx[near]
        kappa[j] = kappa[j] - F[near] / F_k[near] + slope[near] + 0.5 * curvature[near]
        ell[j] += step[near, 0]
        psi[j] += step[near, 1]
        on_surface[j] = False
        # far from it: back onto F = 0 if needed, then a checked step
        far = np.flatnonzero(~near)
        if far.size:
            j = idx[far]
            sub_far = sub.take(~near)
            off = ~on_surface[j]
            if off.any():
                kappa[j[off]], _ = solve_kappa(sub_far.take(off), ell[j[off]], psi[j[off]], kappa[j[off]])
            ok, ell[j], psi[j], kappa[j] = _line_search(
                sub_far, ell[j], psi[j], kappa[j], step[far], slope[far], curvature[far]
            )
            accepted[far] = ok
            on_surface[j] = True
        iterations[idx] += 1
        # Two successive steps below (1e-8 in log phi, 1e-6 in psi) mean the
        # Newton steps are at the rounding noise of the derivatives (it grows
        # with alpha / f): phi, and so the error, is then known to ~1e-8
        # relative (psi is flatter).
        noise = np.max(np.abs(step) / np.array([1e-8, 1e-6]), axis=-1)
        at_noise = (noise < 1.0) & (previous[idx] < 1.0)
        previous[idx] = noise
        done = (accepted & ((size < tol) | at_noise)) | (~accepted & (noise < 1.0))
        converged[idx[done]] = True
        # a failed line search far from a maximum ends the point, not converged
        active[idx[done | ~accepted]] = False
        if not active.any():
            break
    off = ~on_surface
    if off.any():
        kappa[off], ok = solve_kappa(prob.take(off), ell[off], psi[off], kappa[off])
        converged[np.flatnonzero(off)[~ok]] = False
    geo = geometry(ell, psi, prob.planar)
    rho = geo.R * prob.c + geo.q * prob.st
    return SaddlePoint(geo.phi, psi, kappa, geo.R, rho, converged, iterations)


def _newton_ascent_direction(prob, ell, psi, kappa):
    """Newton step for ``max kappa(p)``, using the implicit derivatives of F = 0."""
    dim = 1 if prob.planar else 2
    F, F_x, F_xx = evaluate(prob, ell, psi, kappa, order=2)
    F_k = F_x[..., 0]
    g = -F_x[..., 1 : 1 + dim] / F_k[..., None]
    F_pp = F_xx[..., 1 : 1 + dim, 1 : 1 + dim]
    F_pk = F_xx[..., 1 : 1 + dim, 0]
    F_kk = F_xx[..., 0, 0]
    H = -(F_pp + outer(F_pk, g) + outer(g, F_pk) + F_kk[..., None, None] * outer(g, g)) / F_k[..., None, None]
    step = _ascent_step(g, H)
    # at most a factor e in phi and 0.3 rad in psi per step
    scale = np.max(np.abs(step) / np.array([1.0, 0.3])[:dim], axis=-1)
    step = step / np.maximum(scale, 1.0)[..., None]
    # kappa along the step, to second order: the line search starts its
    # inner solves there, which saves most of their iterations
    slope = np.einsum("...i,...i->...", g, step)
    curvature = np.einsum("...i,...ij,...j->...", step, H, step)
    if dim == 1:
        step = np.concatenate([step, np.zeros_like(step)], axis=-1)
    return step, slope, curvature, F, F_k


def _line_search(prob, ell, psi, kappa, step, slope, curvature, halvings=16):
    """Backtrack along ``step`` until kappa does not decrease."""
    ell, psi, kappa = ell.copy(), psi.copy(), kappa.copy()
    accepted = np.zeros(ell.shape, dtype=bool)
    t = np.ones(ell.shape)
    for _ in range(halvings):
        todo = ~accepted
        sub = prob.take(todo)
        trial_ell = np.minimum(ell[todo] + t[todo] * step[todo, 0], np.log(np.pi - 1e-9))
        trial_psi = np.clip(psi[todo] + t[todo] * step[todo, 1], 1e-9, np.pi - 1e-9)
        tt = t[todo]
        guess = kappa[todo] + tt * slope[todo] + 0.5 * tt * tt * curvature[todo]
        guess = np.where(np.isfinite(guess), guess, kappa[todo])
        k_try, ok_try = solve_kappa(sub, trial_ell, trial_psi, guess)
        scale = np.abs(kappa[todo]) + geometry(ell[todo], psi[todo], prob.planar).s
        good = ok_try & np.isfinite(k_try) & (k_try - kappa[todo] >= -1e-13 * scale)
        idx = np.flatnonzero(todo)[good]
        ell[idx], psi[idx], kappa[idx] = trial_ell[good], trial_psi[good], k_try[good]
        accepted[idx] = True
        if accepted.all():
            break
        t = np.where(accepted, t, 0.5 * t)
    return accepted, ell, psi, kappa


def _ascent_step(g, H):
    """Newton step for a maximum, made safe where ``H`` is not negative definite.

    Eigenvalues of ``H`` are replaced by ``-|lambda|`` (saddle-free Newton); along
    a direction of positive curvature with no gradient (a saddle reached by
    symmetry) the step moves by a fixed amount so the ascent can leave it.
    """
    lam, U = np.linalg.eigh(H)
    gu = np.einsum("...ij,...i->...j", U, g)
    mag = np.maximum(np.abs(lam), 1e-300)
    coef = gu / mag
    escape = (lam > 1e-8 * np.max(np.abs(lam), axis=-1, keepdims=True)) & (np.abs(coef) < 1e-3)
    coef = np.where(escape, 0.1 * np.where(gu < 0, -1.0, 1.0), coef)
    return np.einsum("...ij,...j->...i", U, coef)
