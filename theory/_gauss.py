"""Gaussian building blocks of the saddle-point function.

Everything here is closed form and vectorized.  The notation follows
``docs/theory.md``: ``g(a) = E(a - z)_+^2`` and ``g1(a) = E(a - z)_+`` with
``z ~ N(0, 1)``, so that ``E_z (A - s z)_+^2 = s^2 g(A / s)``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr, owens_t

_INV_SQRT_2PI = 0.3989422804014327


def pdf(x):
    """Standard normal density."""
    return _INV_SQRT_2PI * np.exp(-0.5 * np.square(x))


def cdf(x):
    """Standard normal distribution function, accurate in the lower tail."""
    return ndtr(x)


def g1(a):
    """``E (a - z)_+``: the first partial moment (antiderivative of Phi)."""
    return a * ndtr(a) + pdf(a)


def g2(a):
    """``E (a - z)_+^2 = (a^2 + 1) Phi(a) + a phi(a)``."""
    return (a * a + 1.0) * ndtr(a) + a * pdf(a)


def orthant(h, k, r):
    """``P(X < h, Y < k)`` for standard normals with correlation ``r``.

    Owen's T form, exact to double precision for |r| < 1.  Arguments
    broadcast; infinite limits are not needed by the callers (they clip).
    """
    h, k = np.broadcast_arrays(np.asarray(h, dtype=float), np.asarray(k, dtype=float))
    r = np.asarray(r, dtype=float)
    q = np.sqrt(np.maximum((1.0 - r) * (1.0 + r), 0.0))
    small = 1e-300
    hs = np.where(np.abs(h) < small, small, h)
    ks = np.where(np.abs(k) < small, small, k)
    a_h = (ks - r * hs) / (hs * q)
    a_k = (hs - r * ks) / (ks * q)
    # beta corrects the branch when h and k have opposite signs (Owen 1956).
    beta = np.where((h * k < 0) | ((h * k == 0) & (h + k < 0)), 0.5, 0.0)
    Ph, Pk = ndtr(h), ndtr(k)
    out = 0.5 * (Ph + Pk) - owens_t(h, a_h) - owens_t(k, a_k) - beta
    return np.clip(out, 0.0, np.minimum(Ph, Pk))
