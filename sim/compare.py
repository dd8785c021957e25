"""Simulation against theory: the replica prediction at each grid point, and the z-score of the difference."""

from __future__ import annotations

import numpy as np
import xarray as xr

from prunescale import theory


def compare_with_theory(result: xr.Dataset) -> xr.Dataset:
    """Theory against simulation, per grid point.

    The theory is evaluated at the realised sizes: ``alpha_prune = kept / N``
    and ``keep_fraction = kept / pool``.

    Parameters
    ----------
    result : xarray.Dataset from :func:`simulate`

    Returns
    -------
    xarray.Dataset
        Per point: ``theory`` (error from :func:`theory.test_error`),
        ``sim_mean``, ``sim_se`` and ``z = (sim_mean - theory) / sim_se`` (NaN where ``sim_se`` is 0 or
        undefined: one seed, or every seed alike).

    Example
    -------
    >>> from prunescale.sim import simulate
    >>> cmp = compare_with_theory(simulate(N=50, alpha_tot=4.0, keep_fraction=0.5, seeds=4))
    >>> round(float(cmp.theory[0]), 4), sorted(cmp.data_vars)
    (0.1361, ['sim_mean', 'sim_se', 'theory', 'z'])
    """
    alpha_prune = result.kept.values / result.N.values
    f = result.kept.values / result.pool.values
    policies = result.policy.values.astype(str)
    th = np.empty(len(policies))
    for policy in np.unique(policies):  # the theory broadcasts over points; its policy is one string
        at = policies == policy
        th[at] = theory.test_error(alpha_prune[at], f[at], result.theta.values[at], policy)
    out = xr.Dataset(
        {
            "theory": ("point", th),
            "sim_mean": result.error_mean,
            "sim_se": result.error_se,
        },
        coords={k: v for k, v in result.coords.items() if "seed" not in v.dims},
    )
    # z is undefined, NaN and never +-inf, where the seeds give no spread (one seed, or all alike at tiny N)
    out["z"] = ((out.sim_mean - out.theory) / out.sim_se).where(out.sim_se > 0)
    return out
