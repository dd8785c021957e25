"""The replica saddle point of the max-margin student on a pruned pool.

Convention (see ``docs/theory.md`` for the derivation).  Teacher field
``t``, probe field ``m = c t + s_theta n`` with ``c = cos theta``; the probe
keeps ``|m|`` inside (hard) or outside (easy) ``gamma``.  The student is
parameterised by two angles,

    J = cos(phi) T + sin(phi) [cos(psi) n_hat + sin(psi) e_rest],

so ``R = cos phi``, the overlap with the in-plane direction ``n_hat`` is
``q = sin phi cos psi`` and the noise amplitude is ``s = sin phi sin psi``.
The test error is exactly ``phi / pi``; working with ``phi`` (through
``ell = log phi``) keeps errors of 1e-12 as accurate as errors of 0.1.

With ``y = sign t`` and the symmetry ``(t, m) -> (-t, -m)`` of the kept set,

    F(phi, psi, kappa) = s^2 - (2 alpha / f) Int_kept dm phi(m) Q(m),
    Q(m) = E[(kappa - rho m - d zeta - s z)_+^2 ; zeta > -c m / s_theta],

where ``rho = R c + q s_theta`` is the student-probe overlap,
``d = R s_theta - q c`` and ``zeta, z`` are independent standard normals.
``Q`` is a bivariate-normal truncated moment in closed form; only the
integral over the kept ``m`` is numerical, on Gauss-Legendre panels graded
around every place where the integrand changes on a small scale.  For
``theta = 0`` the ``zeta`` average disappears (``d = 0`` and only ``m > 0``
is kept), which is the exact limit of the general case.

The max-margin student maximises ``kappa`` on the surface ``F = 0``.  An
inner Newton iteration solves ``F = 0`` for ``kappa`` (``F`` is concave and
decreasing in ``kappa``, so it converges from any start), and an outer
safeguarded Newton ascent maximises ``kappa(ell, psi)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import erfcinv, erfinv

from ._gauss import cdf, g1, g2, orthant, pdf

_SQRT2 = np.sqrt(2.0)
# Beyond this |m| the Gaussian weight is below exp(-55) of the kept mass.
_TAIL = 110.0
# Offsets (in units of a feature's width) at which panels are split.
_GRADING = np.array([-12.0, -3.0, 0.0, 3.0, 12.0])
# The zeta truncation is clipped here: phi(40) underflows to exactly 0.
_ZMAX = 40.0
# Below q = s / sqrt(d^2 + s^2) = _Q_SWITCH the zeta average is done by
# quadrature: there the orthant form's rounding, relative to F, would pass
# 1e-10 (checked against the quadrature everywhere up to alpha_prune = 1e4).
_Q_SWITCH = 0.05
_ZSPAN = 12.0
_ZETA_RULE = np.polynomial.legendre.leggauss(16)
# Newton steps (log phi, psi) below this size skip the line search.
_NEAR = 0.1
_AFTER_CUT = np.array([1.5, 5.0, 13.0])  # zeta only runs above its cut
_BULK = np.array([-6.0, -2.0, 0.0, 2.0, 6.0])


@dataclass(frozen=True)
class Quadrature:
    """Gauss-Legendre panels: ``nodes`` per panel."""

    nodes: int = 12

    def rule(self):
        x, w = np.polynomial.legendre.leggauss(self.nodes)
        return x, w


def kept_interval(keep_fraction, policy):
    """The kept range ``[lo, hi]`` of ``|m|`` and the threshold ``gamma``."""
    f = np.asarray(keep_fraction, dtype=float)
    cap = np.sqrt(_TAIL)
    if policy == "hard":
        gamma = _SQRT2 * erfinv(f)
        lo, hi = np.zeros_like(f), np.minimum(gamma, cap)
    elif policy == "easy":
        gamma = _SQRT2 * erfcinv(f)
        lo, hi = gamma, np.sqrt(gamma**2 + _TAIL)
    else:  # no pruning
        gamma = np.full_like(f, np.inf)
        lo, hi = np.zeros_like(f), np.full_like(f, cap)
    return lo, hi, gamma


@dataclass
class Geometry:
    """Student overlaps as functions of ``(ell, psi)`` with derivatives.

    Each of ``R, q, s`` comes with a gradient ``_p`` (shape [..., 2]) and a
    Hessian ``_pp`` (shape [..., 2, 2]) with respect to ``p = (ell, psi)``.
    """

    phi: np.ndarray
    R: np.ndarray
    q: np.ndarray
    s: np.ndarray
    R_p: np.ndarray
    q_p: np.ndarray
    s_p: np.ndarray
    R_pp: np.ndarray
    q_pp: np.ndarray
    s_pp: np.ndarray


def geometry(ell, psi, planar):
    """Overlaps ``R, q, s`` at ``phi = exp(ell)``; ``planar`` freezes ``q = 0``."""
    phi = np.exp(ell)
    cph, sph = np.cos(phi), np.sin(phi)
    # d/d ell = phi d/d phi
    R_l, R_ll = -phi * sph, -phi * sph - phi**2 * cph
    S, S_l, S_ll = sph, phi * cph, phi * cph - phi**2 * sph
    if planar:
        cps, sps = np.zeros_like(psi), np.ones_like(psi)
    else:
        cps, sps = np.cos(psi), np.sin(psi)
    z = np.zeros_like(phi)

    def grad(a, b):
        return np.stack([a, b], axis=-1)

    def hess(aa, ab, bb):
        return np.stack([grad(aa, ab), grad(ab, bb)], axis=-2)

    return Geometry(
        phi=phi,
        R=cph,
        q=S * cps,
        s=S * sps,
        R_p=grad(R_l, z),
        q_p=grad(S_l * cps, -S * sps),
        s_p=grad(S_l * sps, S * cps),
        R_pp=hess(R_ll, z, z),
        q_pp=hess(S_ll * cps, -S_l * sps, -S * cps),
        s_pp=hess(S_ll * sps, S_l * cps, -S * sps),
    )


def _panel_nodes(lo, hi, features, rule):
    """Gauss-Legendre nodes on ``[lo, hi]`` split at graded feature points.

    ``features`` is a list of ``(centre, width)`` or ``(centre, width,
    offsets)`` arrays; cuts go at ``centre + width * offsets`` (default
    ``_GRADING``).  Returns nodes and weights with a trailing node axis.
    """
    cuts = [lo[..., None], hi[..., None]]
    for centre, width, *offsets in features:
        width = np.where(np.isfinite(width), width, 0.0)
        cuts.append(centre[..., None] + width[..., None] * (offsets[0] if offsets else _GRADING))
    cuts = np.concatenate(cuts, axis=-1)
    cuts = np.clip(np.nan_to_num(cuts, nan=0.0, posinf=np.inf, neginf=-np.inf), lo[..., None], hi[..., None])
    cuts = np.sort(cuts, axis=-1)
    a, b = cuts[..., :-1], cuts[..., 1:]
    # Many cuts coincide after clipping: keep only as many panels as the
    # widest row needs (zero-width panels carry no weight).
    width = b - a
    keep = max(int(np.max(np.sum(width > 0, axis=-1), initial=1)), 1)
    if keep < width.shape[-1]:
        order = np.argsort(-width, axis=-1)[..., :keep]
        a, b = np.take_along_axis(a, order, -1), np.take_along_axis(b, order, -1)
    x, w = rule
    half = 0.5 * (b - a)
    nodes = (0.5 * (a + b))[..., None] + half[..., None] * x
    weights = half[..., None] * w
    shape = nodes.shape[:-2] + (-1,)
    return nodes.reshape(shape), weights.reshape(shape)


@dataclass
class Problem:
    """A batch of saddle-point problems (all arrays share one shape)."""

    alpha: np.ndarray  # alpha_prune
    f: np.ndarray  # keep fraction
    lo: np.ndarray  # kept |m| range
    hi: np.ndarray
    c: np.ndarray  # cos theta
    st: np.ndarray  # sin theta
    planar: bool  # theta == 0
    rule: tuple

    @property
    def lam(self):
        return 2.0 * self.alpha / self.f

    def take(self, mask):
        """The sub-batch selected by a boolean mask."""
        arrays = (self.alpha, self.f, self.lo, self.hi, self.c, self.st)
        return Problem(*(x[mask] for x in arrays), self.planar, self.rule)


def _nodes(prob, geo, kappa):
    """Quadrature nodes ``m`` and weights ``phi(m) dm`` on the kept set."""
    R, q, s = geo.R, geo.q, geo.s
    rho = R * prob.c + q * prob.st
    d = R * prob.st - q * prob.c
    v = np.hypot(d, s)
    with np.errstate(divide="ignore", invalid="ignore"):
        m1, w1 = kappa / rho, v / np.abs(rho)
        edge_width = 1.0 / np.maximum(prob.lo, 1.0)
        feats = [(m1, w1)]
        if not prob.planar:
            feats.append((np.zeros_like(m1), prob.st / prob.c))
            feats.append((kappa * prob.st / q, s * prob.st / np.abs(q)))
    sides = [1.0] if prob.planar else [1.0, -1.0]
    ms, ws = [], []
    for sign in sides:
        side_feats = [(sign * centre, width) for centre, width in feats]
        side_feats.append((prob.lo, edge_width))
        u, w = _panel_nodes(prob.lo, prob.hi, side_feats, prob.rule)
        ms.append(sign * u)
        ws.append(w * pdf(u))
    return np.concatenate(ms, axis=-1), np.concatenate(ws, axis=-1), rho, d


def _kernel(K, d, s, z0, order):
    """Q = E[W_+^2; zeta > z0], W = K - d zeta - s z, and derivatives.

    Derivatives are with respect to ``K``, ``V = d^2 + s^2`` and ``C = -d``
    (the covariance of zeta and W); Price's theorem makes each one a lower
    truncated moment.  ``z0 = None`` means no truncation (``d`` must be 0).
    """
    if z0 is None:
        h = K / s
        Ph, ph = cdf(h), pdf(h)
        out = {"Q": s * s * g2(h), "Q_K": 2.0 * s * g1(h), "Q_KK": 2.0 * Ph}
        if order:
            out.update(Q_V=Ph, Q_KV=ph / s, Q_VV=-0.5 * h * ph / (s * s))
        return out
    near = (s / np.hypot(d, s) < _Q_SWITCH)[..., 0]  # per problem (row)
    parts = [(rows, fn) for rows, fn in ((near, _conditional_moments), (~near, _orthant_moments)) if rows.any()]
    if len(parts) == 1:
        out = parts[0][1](K, d, s, z0, order)
    else:
        out = {}
        for rows, fn in parts:
            for key, val in fn(K[rows], d[rows], s[rows], z0[rows], order).items():
                out.setdefault(key, np.empty(K.shape))[rows] = val
    if order == 0:
        return out
    pz = pdf(z0)
    a0 = (K - d * z0) / s
    Pa0, pa0 = cdf(a0), pdf(a0)
    out["Q_V"] = 0.5 * out["Q_KK"]
    out["Q_C"] = 2.0 * pz * s * g1(a0)
    out["Q_KC"] = 2.0 * pz * Pa0
    out["Q_VC"] = pz * pa0 / s
    out["Q_CC"] = 2.0 * pz * (z0 * Pa0 + (d / s) * pa0)
    return out


def _conditional_moments(K, d, s, z0, order, chunk=8192):
    """The same moments by conditioning on zeta: a 1-D Gaussian average of
    univariate terms, all positive.  Used where ``s << |d|``: there the
    orthant form subtracts O(1) terms to get O(s^2) ones and rounding would
    swamp the result.

    Only (problem, node) pairs whose zeta range is not empty are integrated,
    ``chunk`` pairs at a time (most nodes lie where W > 0 has no mass)."""
    d, s = np.broadcast_to(d, K.shape), np.broadcast_to(s, K.shape)
    width = s / np.abs(d)
    with np.errstate(divide="ignore", invalid="ignore"):
        kink = K / d
    lo = np.clip(z0, -_ZSPAN, _ZSPAN)
    hi = np.full_like(lo, _ZSPAN)
    # W > 0 (where every integrand lives) is zeta < kink for d > 0 and
    # zeta > kink for d < 0; 14 widths past the kink the terms are below e^-98
    with np.errstate(invalid="ignore"):
        beyond = kink + 14.0 * width * np.sign(d)
    hi = np.where(d > 0, np.clip(beyond, lo, hi), hi)
    lo = np.where(d < 0, np.clip(beyond, lo, hi), lo)
    keys = ["Q", "Q_K", "Q_KK"] + (["Q_KV", "Q_VV"] if order else [])
    out = {key: np.zeros(K.shape) for key in keys}
    live = np.flatnonzero(hi > lo)
    for start in range(0, live.size, chunk):
        i = np.unravel_index(live[start : start + chunk], K.shape)
        feats = [(kink[i], width[i]), (z0[i], width[i], _AFTER_CUT), (np.zeros(len(i[0])), np.ones(len(i[0])), _BULK)]
        zeta, w = _panel_nodes(lo[i], hi[i], feats, _ZETA_RULE)
        w = w * pdf(zeta)
        sd = s[i][:, None]
        a = (K[i][:, None] - d[i][:, None] * zeta) / sd
        Pa, ph = cdf(a), pdf(a)
        G1 = a * Pa + ph
        out["Q"][i] = np.sum(w * sd * sd * (a * G1 + Pa), axis=-1)  # g2 = a g1 + Phi
        out["Q_K"][i] = 2.0 * np.sum(w * sd * G1, axis=-1)
        out["Q_KK"][i] = 2.0 * np.sum(w * Pa, axis=-1)
        if order:
            out["Q_KV"][i] = np.sum(w * ph, axis=-1) / s[i]
            out["Q_VV"][i] = -0.5 * np.sum(w * a * ph, axis=-1) / (s[i] * s[i])
    return out


def _orthant_moments(K, d, s, z0, order):
    """Closed-form truncated bivariate-normal moments (Owen's T)."""
    v = np.hypot(d, s)
    h, r, q = K / v, -d / v, s / v
    out = {}
    x1 = (z0 + r * h) / q
    x2 = (-h - r * z0) / q
    P = orthant(h, -z0, r)
    ph, pz = pdf(h), pdf(z0)
    Qx1, Qx2 = cdf(-x1), cdf(-x2)
    M1 = ph * Qx1 + r * pz * Qx2
    M2 = P - h * ph * Qx1 + r * r * z0 * pz * Qx2 + r * q * pz * pdf(x2)
    out["Q"] = v * v * (h * h * P + 2.0 * h * M1 + M2)
    out["Q_K"] = 2.0 * v * (h * P + M1)
    out["Q_KK"] = 2.0 * P
    if order:
        out["Q_KV"] = ph * Qx1 / v
        out["Q_VV"] = 0.5 * (-h * ph * Qx1 - ph * pdf(x1) * r / q) / (v * v)
    return out


def _zeta_cut(prob, m):
    if prob.planar:
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        cut = -prob.c[..., None] * m / prob.st[..., None]
    return np.clip(np.nan_to_num(cut, nan=0.0), -_ZMAX, _ZMAX)


def evaluate(prob, ell, psi, kappa, order=2):
    """``F`` and its derivatives in ``x = (kappa, ell, psi)``.

    ``order=0`` returns ``F, F_kappa`` only (for the inner solve); ``order=2``
    also returns the gradient ``F_x`` [..., 3] and Hessian ``F_xx`` [..., 3, 3].
    """
    geo = geometry(ell, psi, prob.planar)
    m, w, rho, d = _nodes(prob, geo, kappa)
    s = geo.s
    K = kappa[..., None] - rho[..., None] * m
    z0 = _zeta_cut(prob, m)
    dd = None if prob.planar else d[..., None]
    Q = _kernel(K, dd, s[..., None], z0, order)
    lam = prob.lam

    def A(name, power=0):
        val = Q[name] if power == 0 else Q[name] * m**power
        return np.sum(w * val, axis=-1)

    F = s * s - lam * A("Q")
    F_k = -lam * A("Q_K")
    if order == 0:
        return F, F_k

    # Derivatives of rho, d, V = d^2 + s^2 and C = -d in x = (kappa, ell, psi).
    def lift(g):  # gradient in p -> gradient in x
        return np.concatenate([np.zeros(g.shape[:-1] + (1,)), g], axis=-1)

    def lift2(H):
        out = np.zeros(H.shape[:-2] + (3, 3))
        out[..., 1:, 1:] = H
        return out

    c, st = prob.c[..., None], prob.st[..., None]
    rho_x = lift(geo.R_p * c + geo.q_p * st)
    c2, st2 = c[..., None], st[..., None]
    rho_xx = lift2(geo.R_pp * c2 + geo.q_pp * st2)
    d_x = lift(geo.R_p * st - geo.q_p * c)
    d_xx = lift2(geo.R_pp * st2 - geo.q_pp * c2)
    s_x, s_xx = lift(geo.s_p), lift2(geo.s_pp)
    V_x = 2.0 * (d[..., None] * d_x + s[..., None] * s_x)
    V_xx = 2.0 * (outer(d_x, d_x) + d[..., None, None] * d_xx + outer(s_x, s_x) + s[..., None, None] * s_xx)
    C_x, C_xx = -d_x, -d_xx
    e = np.zeros_like(rho_x)
    e[..., 0] = 1.0

    def sym(a, b):
        return outer(a, b) + outer(b, a)

    def sc(x):
        return x[..., None]

    def sc2(x):
        return x[..., None, None]

    EQ_x = sc(A("Q_K")) * e - sc(A("Q_K", 1)) * rho_x + sc(A("Q_V")) * V_x
    EQ_xx = (
        sc2(A("Q_KK")) * outer(e, e)
        - sc2(A("Q_KK", 1)) * sym(e, rho_x)
        + sc2(A("Q_KK", 2)) * outer(rho_x, rho_x)
        + sc2(A("Q_KV")) * sym(e, V_x)
        - sc2(A("Q_KV", 1)) * sym(rho_x, V_x)
        + sc2(A("Q_VV")) * outer(V_x, V_x)
        - sc2(A("Q_K", 1)) * rho_xx
        + sc2(A("Q_V")) * V_xx
    )
    if not prob.planar:
        EQ_x = EQ_x + sc(A("Q_C")) * C_x
        EQ_xx = (
            EQ_xx
            + sc2(A("Q_KC")) * sym(e, C_x)
            - sc2(A("Q_KC", 1)) * sym(rho_x, C_x)
            + sc2(A("Q_VC")) * sym(V_x, C_x)
            + sc2(A("Q_CC")) * outer(C_x, C_x)
            + sc2(A("Q_C")) * C_xx
        )
    F_x = 2.0 * s[..., None] * s_x - lam[..., None] * EQ_x
    F_xx = 2.0 * (outer(s_x, s_x) + s[..., None, None] * s_xx) - lam[..., None, None] * EQ_xx
    return F, F_x, F_xx


def outer(a, b):
    return a[..., :, None] * b[..., None, :]


# ----------------------------------------------------------------------------
# Solver
# ----------------------------------------------------------------------------


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
