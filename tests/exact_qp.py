"""A small exact max-margin solver for finite-N checks of the theory.

The hard-margin SVM without bias is a least-distance problem; Lawson and
Hanson reduce it to non-negative least squares, which scipy solves exactly.
"""

import numpy as np
from scipy.optimize import nnls


def max_margin(X, y):
    G = X * y[:, None]
    P, N = G.shape
    E = np.vstack([G.T, np.ones((1, P))])
    target = np.zeros(N + 1)
    target[-1] = 1.0
    u, _ = nnls(E, target, maxiter=50 * P)
    r = E @ u - target
    w = -r[:N] / r[N]
    assert np.min(G @ w) > 1 - 1e-6, "not separable or not converged"
    return w


def pruned_error(N, alpha_prune, keep_fraction, theta_deg, policy, rng):
    """One finite-N draw: teacher, probe at exactly theta, prune, train, error."""
    T = rng.normal(size=N)
    T /= np.linalg.norm(T)
    v = rng.normal(size=N)
    v -= (v @ T) * T
    v /= np.linalg.norm(v)
    th = np.deg2rad(theta_deg)
    probe = np.cos(th) * T + np.sin(th) * v
    P = int(round(alpha_prune / keep_fraction * N))
    X = rng.normal(size=(P, N))
    y = np.sign(X @ T)
    order = np.argsort(np.abs(X @ probe))
    k = int(round(keep_fraction * P))
    keep = order[:k] if policy == "hard" else order[-k:]
    w = max_margin(X[keep], y[keep])
    return np.arccos(w @ T / np.linalg.norm(w)) / np.pi
