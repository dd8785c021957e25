"""Independent high-precision references for the theory tests.

``docs/science.md`` gives a root-finding form of the theta = 0 saddle point that
was derived independently of ``F`` (it integrates over the student's field,
not the teacher's).  Here it is solved with mpmath at 40 digits.
"""

import mpmath as mp


def _H(x):
    return mp.erfc(x / mp.sqrt(2)) / 2


def _phi(x):
    return mp.exp(-x * x / 2) / mp.sqrt(2 * mp.pi)


def theta0_equations(alpha, f, policy):
    """Residuals of the two equations in (angle, kappa) at theta = 0."""
    alpha, f = mp.mpf(alpha), mp.mpf(f)
    if policy == "hard":
        gamma = mp.sqrt(2) * mp.erfinv(f) if f < 1 else mp.inf
    else:
        gamma = mp.sqrt(2) * mp.erfinv(1 - f) if f < 1 else mp.mpf(0)

    def residual(ang, kappa):
        R, s = mp.cos(ang), mp.sin(ang)
        pts = sorted({-mp.inf, -30 * s, -s, mp.mpf(0), s, kappa})
        if gamma != mp.inf:
            pts.append(gamma / R)
            pts = sorted(pts)
        pts = [p for p in pts if p <= kappa]
        if pts[-1] != kappa:
            pts.append(kappa)

        if policy == "hard" and gamma == mp.inf or policy == "easy" and gamma == 0:
            bracket_R = lambda t: 1  # noqa: E731
            bracket_s = lambda t: _H(-R * t / s)  # noqa: E731
        elif policy == "hard":
            bracket_R = lambda t: 1 - mp.exp(-gamma * (gamma - 2 * R * t) / (2 * s * s))  # noqa: E731
            bracket_s = lambda t: _H(-R * t / s) - _H((gamma - R * t) / s)  # noqa: E731
        else:
            bracket_R = lambda t: mp.exp(-gamma * (gamma - 2 * R * t) / (2 * s * s))  # noqa: E731
            bracket_s = lambda t: _H((gamma - R * t) / s)  # noqa: E731
        IR = mp.quad(lambda t: mp.exp(-t * t / (2 * s * s)) * bracket_R(t) * (kappa - t), pts)
        Is = mp.quad(lambda t: _phi(t) * bracket_s(t) * (kappa - t) ** 2, pts)
        return [alpha / (mp.pi * f * s) * IR / R - 1, (2 * alpha / f) * Is / (s * s) - 1]

    return residual


def theta0_error(alpha, f, policy, start_error, start_kappa, digits=40):
    """Test error at theta = 0 from the independent equations, to ``digits``."""
    with mp.workdps(digits):
        res = theta0_equations(alpha, f, policy)
        ang, kappa = mp.findroot(res, (mp.pi * mp.mpf(start_error), mp.mpf(start_kappa)))
        return ang / mp.pi
