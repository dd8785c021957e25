"""A small exact max-margin solver for finite-N checks of the theory.

The hard-margin SVM without bias is a least-distance problem; Lawson and
Hanson reduce it to non-negative least squares, which scipy solves exactly.
"""

import numpy as np
from scipy.optimize import nnls

from sim import draw


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


def pruned_error(N, alpha_prune, keep_fraction, theta_deg, policy, seed):
    """One finite-N draw (sim's data: teacher, probe at exactly theta, exact-count
    pruning), trained exactly; returns the test error."""
    X, y, T, _ = draw(seed, N, alpha_prune / keep_fraction, keep_fraction, theta_deg, policy)
    w = max_margin(X, y)
    return np.arccos(w @ T / np.linalg.norm(w)) / np.pi
