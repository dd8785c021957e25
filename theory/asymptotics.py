"""Closed-form limits of the theory, derived with sympy.

Run ``python -m theory.asymptotics`` to print the derivations.

Two limits of the theta = 0 saddle point have a scale invariance that turns
the integrals over the kept interval into closed form:

* **No pruning, alpha -> infinity.**  The student's angle ``s`` and margin
  ``kappa`` shrink like ``1/alpha`` and only examples with teacher margin
  ``u ~ s`` matter, where the Gaussian density is flat, ``2 phi(0)``.  With
  ``u = s w`` and ``kappa = s k`` the saddle-point equations become

      alpha sqrt(2/pi) s * Int_0^inf g2(k - w) dw = 1      (F = 0)
      alpha sqrt(2/pi) s * Int_0^inf Phi(k - w) dw = 1     (dF/dphi = 0)

  so ``eps = s / pi ~ c_inf / alpha``.

* **Perfect metric, keep hard, f -> 0 at fixed alpha_prune.**  The kept
  margins are uniform on ``[0, gamma]`` and ``s, kappa ~ gamma``.  With
  ``sigma = s / gamma`` and ``k = kappa / s`` the equations are the same
  integrals over ``w`` in ``[0, 1 / sigma]``.  The error is
  ``eps = c(alpha_prune) * eps_full(alpha_tot)`` with ``c`` depending on
  ``alpha_prune`` alone (docs/science.md, section 4, item 2), and ``c -> infinity`` at the
  capacity ``alpha_prune = 2``.
"""

from __future__ import annotations

from functools import lru_cache

import mpmath as mp
import numpy as np
from numpy.typing import ArrayLike
import sympy as sp

from prunescale.store import checks

x, k, w, sigma, alpha = sp.symbols("x k w sigma alpha", real=True)


def _Phi(t):
    return (1 + sp.erf(t / sp.sqrt(2))) / 2


def _phi(t):
    return sp.exp(-(t**2) / 2) / sp.sqrt(2 * sp.pi)


# E_z (t - z)_+^2, the per-example cost of a margin violation (s = 1 units).
g2 = (x**2 + 1) * _Phi(x) + x * _phi(x)


@lru_cache(maxsize=None)
def antiderivatives() -> tuple[sp.Expr, sp.Expr]:
    """Antiderivatives ``G1' = Phi`` and ``G3' = g2`` vanishing at -infinity.

    sympy checks each by differentiation and by its limit at -infinity.
    """
    G1 = x * _Phi(x) + _phi(x)
    G3 = ((x**3 + 3 * x) * _Phi(x) + (x**2 + 2) * _phi(x)) / 3
    for G, integrand in ((G1, _Phi(x)), (G3, g2)):
        assert sp.simplify(sp.diff(G, x) - integrand) == 0
        assert sp.limit(G, x, -sp.oo) == 0
    return G1, G3


@lru_cache(maxsize=None)
def no_pruning_equations() -> tuple[sp.Expr, sp.Expr]:
    """The two large-alpha equations as sympy expressions in ``k`` (and
    ``S = alpha sqrt(2/pi) s``): ``S * I3(k) = 1`` and ``S * I1(k) = 1``."""
    G1, G3 = antiderivatives()
    # Int_0^inf h(k - w) dw = Int_{-inf}^{k} h(x) dx
    I1 = G1.subs(x, k)
    I3 = G3.subs(x, k)
    return I1, I3


@lru_cache(maxsize=None)
def no_pruning_coefficient(digits: int = 30) -> float:
    """``c_inf = lim alpha * eps(alpha)`` without pruning (about 0.5005).

    Eliminating ``S`` leaves ``I3(k) = I1(k)``; then
    ``eps = s / pi = 1 / (pi sqrt(2/pi) alpha I1(k))``.
    """
    I1, I3 = no_pruning_equations()
    with mp.workdps(digits):
        k_star = sp.nsolve(I3 - I1, k, 0.5, prec=digits)
        coef = 1 / (sp.pi * sp.sqrt(2 / sp.pi) * I1.subs(k, k_star))
        return float(sp.N(coef, digits))


@lru_cache(maxsize=None)
def scaled_hard_equations() -> tuple[sp.Expr, sp.Expr]:
    """Equations of the f -> 0 keep-hard limit in ``(k, sigma)`` at ``alpha``:

    alpha sigma [G3(k) - G3(k - 1/sigma)] = 1
    alpha sigma [G1(k) - G1(k - 1/sigma)] = 1
    """
    G1, G3 = antiderivatives()
    e3 = alpha * sigma * (G3.subs(x, k) - G3.subs(x, k - 1 / sigma)) - 1
    e1 = alpha * sigma * (G1.subs(x, k) - G1.subs(x, k - 1 / sigma)) - 1
    return e3, e1


@lru_cache(maxsize=None)
def capacity_threshold() -> sp.Expr:
    """The ``alpha_prune`` below which the f -> 0 error is no longer small.

    As ``sigma -> infinity`` (the student's angle much larger than the kept
    band) the equations tend to ``alpha g2(k) = 1`` and ``alpha Phi(k) = 1``.
    Their difference ``g2 - Phi = k^2 Phi + k phi`` vanishes only at
    ``k = 0``, where ``alpha = 1 / Phi(0) = 2``: Cover's capacity.
    """
    G1, G3 = antiderivatives()
    lim3 = sp.limit(sigma * (G3.subs(x, k) - G3.subs(x, k - 1 / sigma)), sigma, sp.oo)
    lim1 = sp.limit(sigma * (G1.subs(x, k) - G1.subs(x, k - 1 / sigma)), sigma, sp.oo)
    assert sp.simplify(lim3 - g2.subs(x, k)) == 0 and sp.simplify(lim1 - _Phi(k)) == 0
    # g2 - Phi = k * G1(k), and G1(k) = E(k - z)_+ > 0: the only root is k = 0.
    assert sp.simplify(lim3 - lim1 - k * G1.subs(x, k)) == 0
    return sp.nsimplify(sp.simplify(1 / lim1.subs(k, 0)))


@lru_cache(maxsize=None)
def _scaled_solver():
    e3, e1 = scaled_hard_equations()
    return sp.lambdify((k, sigma, alpha), [e3, e1], "mpmath")


def hard_pruning_excess(alpha_prune: ArrayLike) -> np.ndarray:
    """``c(alpha_prune) = lim_{f->0} eps(alpha_prune, f) / eps_full(alpha_prune / f)``.

    The excess error of keeping only the hardest ``alpha_prune * N`` examples
    of an infinite pool, relative to training on the whole pool.  Defined for
    ``alpha_prune > 2`` (the capacity); it falls to 1 quickly.

    Examples
    --------
    >>> round(float(hard_pruning_excess(3.0)), 3)
    1.057
    """
    a = np.atleast_1d(checks.positive("alpha_prune", alpha_prune, upper=1e6))
    if np.any(a <= 2):
        raise ValueError(f"alpha_prune must lie in (2, 1e6] for the f -> 0 limit, got {a[a <= 2].min():g}")
    funcs = _scaled_solver()
    I1, _ = no_pruning_equations()
    k_inf = None
    out = []
    with mp.workdps(30):
        coef_inf = no_pruning_coefficient()
        for av in a.ravel():
            # start from the no-pruning solution in scaled units
            if k_inf is None:
                _, I3 = no_pruning_equations()
                k_inf = float(sp.nsolve(I3 - I1, k, 0.5))
            s0 = 1.0 / (av * float(I1.subs(k, k_inf)))
            guess = (k_inf, s0)
            sol = None
            for damp in (1.0, 0.5, 0.2):
                try:
                    sol = mp.findroot(lambda kk, ss: funcs(kk, ss, av), (guess[0], guess[1] * (1 + 1 / damp)))
                    break
                except (ZeroDivisionError, ValueError):
                    continue
            if sol is None:
                raise ArithmeticError(f"no scaled solution at alpha_prune={av:g}")
            sig = float(sol[1])
            # eps = sigma gamma / pi; eps_full = c_inf f / alpha, f = gamma sqrt(2/pi)
            out.append(sig * av / (np.pi * coef_inf * np.sqrt(2 / np.pi)))
    res = np.array(out).reshape(a.shape)
    return res if np.ndim(alpha_prune) else res[0]


def main() -> None:
    G1, G3 = antiderivatives()
    print("Antiderivatives (checked by sympy):")
    print("  Int Phi =", sp.simplify(G1))
    print("  Int g2  =", sp.simplify(G3))
    print(f"No pruning: alpha * eps -> c_inf = {no_pruning_coefficient():.10f}")
    print(f"Keep-hard f -> 0: capacity threshold alpha_prune = {capacity_threshold()}")
    for a in (2.2, 2.5, 3.0, 4.0, 6.0):
        print(f"  c({a}) = {float(hard_pruning_excess(a)):.6f}")


if __name__ == "__main__":
    main()
