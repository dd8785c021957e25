"""The replica saddle point of the max-margin student on a pruned pool: the integrand ``F`` and its derivatives.

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

The max-margin student maximises ``kappa`` on the surface ``F = 0``;
``_newton.py`` solves that.
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
