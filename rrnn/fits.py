"""Candidate laws for J_D*(N) and the convergence-time power law, fitted with scipy.

Model choice uses the corrected Akaike criterion (AICc) on weighted least
squares, so laws with more parameters must earn them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from ._validation import check_choice, check_real, check_real_array


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


def _check_data(values, name: str, size: int | None = None) -> np.ndarray:
    """A 1-d array of finite reals (of length ``size`` when given), as float64."""
    arr = check_real_array(values, name, what="a 1-d array of real numbers", index="index")
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-d array, got shape {arr.shape}")
    if size is not None and arr.shape[0] != size:
        raise ValueError(f"{name}: expected shape ({size},) (one value per point), "
                         f"got shape {arr.shape}")
    return arr


def _check_above(arr: np.ndarray, name: str, bound: float, label: str = "", note: str = "") -> None:
    """Every value > bound; ``label`` names the bound (e.g. ``"jd_critical = "``)."""
    bad = np.flatnonzero(~(arr > bound))
    if bad.size:
        raise ValueError(f"{name}: expected every value > {label}{bound:g}{note}, got "
                         f"{arr[bad[0]]:g} at index {int(bad[0])}")


def _check_fit_inputs(n, y, sigma, points: int, n_min: float, law: str):
    """Validated (n, y, sigma) of :func:`fit_law` / :func:`fit_candidates`."""
    n = _check_data(n, "n")
    if n.size < points:
        raise ValueError(f"n: expected at least {points} points for {law}, got {n.size}")
    _check_above(n, "n", n_min, note=f" (network sizes, for {law})")
    y = _check_data(y, "y", n.size)
    if sigma is not None:
        sigma = _check_data(sigma, "sigma", n.size)
        _check_above(sigma, "sigma", 0.0, note=" (standard deviations)")
    return n, y, sigma


def _law_domain(name: str) -> float:
    """Smallest excluded N of a law: ln ln N needs N > 1, the others N > 0."""
    return 1.0 if name == "loglog" else 0.0


def fit_law(name: str, n, y, sigma=None) -> Fit | None:
    """Fit one candidate law; ``None`` if the fit does not converge.

    Parameters
    ----------
    name : {"log", "loglog", "power", "saturation"}
        Key of :data:`CANDIDATE_LAWS`.
    n : array_like (k,)
        Network sizes, finite and > 0 (> 1 for ``"loglog"``); ``k`` at least
        the number of parameters of the law.
    y : array_like (k,)
        Finite values to fit.
    sigma : array_like (k,), optional
        Standard deviations of ``y``, finite and > 0.

    Returns
    -------
    Fit or None
        ``None`` only when the optimizer fails on valid data (no convergence);
        invalid input raises ``TypeError`` or ``ValueError`` instead.
    """
    p0 = check_choice(name, "name", CANDIDATE_LAWS)[2]
    n, y, sigma = _check_fit_inputs(n, y, sigma, len(p0), _law_domain(name), f"law {name!r}")
    return _fit(name, n, y, sigma)


def _fit(name: str, n: np.ndarray, y: np.ndarray, sigma: np.ndarray | None) -> Fit | None:
    """:func:`fit_law` on validated float64 inputs."""
    formula, func, p0 = CANDIDATE_LAWS[name]
    try:
        params, cov = optimize.curve_fit(func, n, y, p0=p0, sigma=sigma, maxfev=20000)
    except (RuntimeError, optimize.OptimizeWarning):
        # inputs are valid here: this is the optimizer giving up
        return None
    w = 1.0 if sigma is None else 1.0 / sigma ** 2
    rss = float(np.sum(w * (y - func(n, *params)) ** 2))
    with np.errstate(invalid="ignore"):
        stderr = tuple(float(s) for s in np.sqrt(np.diag(cov))) if np.all(np.isfinite(cov)) \
            else tuple(math.nan for _ in params)
    return Fit(name, formula, tuple(float(p) for p in params), stderr, rss,
               _aicc(rss, n.size, len(params)), func)


def fit_candidates(n, y, sigma=None) -> list[Fit]:
    """All candidate laws that converge, best (lowest AICc) first.

    Parameters
    ----------
    n, y, sigma
        As in :func:`fit_law`; every law is fitted, so ``n`` needs at least 3
        points (the most parameters of a law) and values > 1 (``ln ln N``).

    Returns
    -------
    list of Fit
        Laws whose optimizer failed to converge are left out.
    """
    points = max(len(law[2]) for law in CANDIDATE_LAWS.values())
    n, y, sigma = _check_fit_inputs(n, y, sigma, points, 1.0, "every candidate law")
    fits = [f for name in CANDIDATE_LAWS if (f := _fit(name, n, y, sigma)) is not None]
    return sorted(fits, key=lambda f: f.aicc)


def fit_power_law_divergence(jd, times, jd_critical: float | None = None):
    """Fit ``T = A (J_D - J_D*)^(-gamma)`` on log scales.

    Parameters
    ----------
    jd, times : array_like (k,)
        Self-couplings above J_D* and mean convergence times there: finite,
        ``times > 0``, at least 3 points with at least 2 distinct ``jd``
        (3 when ``jd_critical`` is fitted).
    jd_critical : float, optional
        Fixed J_D*, finite and below every ``jd``; fitted when omitted.

    Returns
    -------
    dict with ``gamma``, ``gamma_stderr``, ``amplitude``, ``jd_critical``.

    Raises
    ------
    TypeError, ValueError
        For invalid input, before any fitting.
    RuntimeError
        When the free fit (``jd_critical`` omitted) does not converge.
    """
    jd = _check_data(jd, "jd")
    times = _check_data(times, "times", jd.size)
    _check_above(times, "times", 0.0, note=" (convergence times, fitted on a log scale)")
    distinct = 2 if jd_critical is not None else 3
    if jd.size < 3 or np.unique(jd).size < distinct:
        raise ValueError(f"jd: expected at least 3 points with {distinct} distinct values, got "
                         f"{jd.size} points with {np.unique(jd).size} distinct values")
    logt = np.log(times)
    if jd_critical is not None:
        jc = check_real(jd_critical, "jd_critical")
        _check_above(jd, "jd", jc, label="jd_critical = ")
        x = np.log(jd - jc)
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
