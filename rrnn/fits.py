"""Candidate laws for J_D*(N) and the convergence-time power law, fitted with scipy.

Model choice uses the corrected Akaike criterion (AICc) on weighted least
squares, so laws with more parameters must earn them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize


@dataclass(frozen=True)
class Fit:
    """One fitted law.

    Attributes
    ----------
    name : str
    formula : str
    params : tuple of float
    stderr : tuple of float
        Standard errors from the covariance of the fit (nan if unavailable).
    rss : float
        Weighted residual sum of squares.
    aicc : float
    """

    name: str
    formula: str
    params: tuple
    stderr: tuple
    rss: float
    aicc: float
    func: object

    def __call__(self, x):
        return self.func(np.asarray(x, dtype=np.float64), *self.params)


CANDIDATE_LAWS = {
    "log": ("a + b ln N", lambda n, a, b: a + b * np.log(n), (0.0, 0.1)),
    "loglog": ("a + b ln ln N", lambda n, a, b: a + b * np.log(np.log(n)), (0.0, 0.1)),
    "power": ("a N^c", lambda n, a, c: a * np.power(n, c), (0.1, 0.1)),
    "saturation": ("a - b N^(-c)", lambda n, a, b, c: a - b * np.power(n, -c), (1.0, 1.0, 0.5)),
}


def _aicc(rss: float, points: int, params: int) -> float:
    if points - params - 1 <= 0 or rss <= 0:
        return math.inf if rss > 0 else -math.inf
    return points * math.log(rss / points) + 2 * params + 2 * params * (params + 1) / (points - params - 1)


def fit_law(name: str, n, y, sigma=None) -> Fit | None:
    """Fit one candidate law; ``None`` if the fit does not converge."""
    formula, func, p0 = CANDIDATE_LAWS[name]
    n = np.asarray(n, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    try:
        params, cov = optimize.curve_fit(func, n, y, p0=p0, sigma=sigma, maxfev=20000)
    except (RuntimeError, ValueError, optimize.OptimizeWarning):
        return None
    w = 1.0 if sigma is None else 1.0 / np.asarray(sigma, dtype=np.float64) ** 2
    rss = float(np.sum(w * (y - func(n, *params)) ** 2))
    with np.errstate(invalid="ignore"):
        stderr = tuple(float(s) for s in np.sqrt(np.diag(cov))) if np.all(np.isfinite(cov)) \
            else tuple(math.nan for _ in params)
    return Fit(name, formula, tuple(float(p) for p in params), stderr, rss,
               _aicc(rss, n.size, len(params)), func)


def fit_candidates(n, y, sigma=None) -> list[Fit]:
    """All candidate laws that converge, best (lowest AICc) first."""
    fits = [f for name in CANDIDATE_LAWS if (f := fit_law(name, n, y, sigma)) is not None]
    return sorted(fits, key=lambda f: f.aicc)


def fit_power_law_divergence(jd, times, jd_critical: float | None = None):
    """Fit ``T = A (J_D - J_D*)^(-gamma)`` on log scales.

    Parameters
    ----------
    jd, times : array_like
        Self-couplings above J_D* and mean convergence times there.
    jd_critical : float, optional
        Fixed J_D*; fitted when omitted.

    Returns
    -------
    dict with ``gamma``, ``gamma_stderr``, ``amplitude``, ``jd_critical``.
    """
    jd = np.asarray(jd, dtype=np.float64)
    times = np.asarray(times, dtype=np.float64)
    logt = np.log(times)
    if jd_critical is not None:
        x = np.log(jd - jd_critical)
        (slope, intercept), cov = np.polyfit(x, logt, 1, cov=True)
        return {"gamma": -slope, "gamma_stderr": math.sqrt(cov[0, 0]),
                "amplitude": math.exp(intercept), "jd_critical": jd_critical}

    def model(j, log_a, gamma, jc):
        return log_a - gamma * np.log(np.maximum(j - jc, 1e-12))

    p0 = (0.0, 1.0, jd.min() - 0.05 * (jd.max() - jd.min() + 1e-3))
    bounds = ([-np.inf, 0.0, -np.inf], [np.inf, 20.0, jd.min() - 1e-9])
    params, cov = optimize.curve_fit(model, jd, logt, p0=p0, bounds=bounds, maxfev=20000)
    return {"gamma": float(params[1]), "gamma_stderr": float(math.sqrt(cov[1, 1])),
            "amplitude": float(math.exp(params[0])), "jd_critical": float(params[2]),
            "jd_critical_stderr": float(math.sqrt(cov[2, 2]))}
