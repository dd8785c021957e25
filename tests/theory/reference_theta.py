"""An independent evaluation of F for theta > 0: scipy's adaptive quadrature
over the teacher field t and the in-plane field n, with the kept region
written directly as |c t + s_theta n| inside (hard) or outside (easy) gamma.
It shares no code with the theory package (no bivariate closed form, no
panels)."""

import numpy as np
from scipy import integrate, special


def _G(A, s):
    a = A / s
    return s * s * ((a * a + 1) * special.ndtr(a) + a * np.exp(-a * a / 2) / np.sqrt(2 * np.pi))


def _pdf(x):
    return np.exp(-x * x / 2) / np.sqrt(2 * np.pi)


def F_reference(alpha, f, theta_deg, policy, phi, q, kappa):
    th = np.deg2rad(theta_deg)
    c, st = np.cos(th), np.sin(th)
    R = np.cos(phi)
    s = np.sqrt(np.sin(phi) ** 2 - q * q)
    gamma = np.sqrt(2) * (special.erfinv(f) if policy == "hard" else special.erfcinv(f))

    def inner(t):
        y = 1.0 if t > 0 else -1.0
        lo, hi = (-gamma - c * t) / st, (gamma - c * t) / st
        kink = (y * kappa - R * t) / q if q != 0 else None
        g = lambda n: _pdf(n) * _G(kappa - y * (R * t + q * n), s)  # noqa: E731

        def piece(a, b):
            a, b = max(a, -12.0), min(b, 12.0)
            if b <= a:
                return 0.0
            pts = [kink] if kink is not None and a < kink < b else None
            return integrate.quad(g, a, b, points=pts, epsabs=1e-16, epsrel=1e-12, limit=400)[0]

        if policy == "hard":
            return piece(lo, hi)
        return piece(-np.inf, lo) + piece(hi, np.inf)

    outer = lambda t: _pdf(t) * inner(t)  # noqa: E731
    total = sum(integrate.quad(outer, a, b, epsabs=1e-16, epsrel=1e-12, limit=400)[0] for a, b in ((-12, 0), (0, 12)))
    return s * s - alpha / f * total
