"""Fixed points: exhaustive counts and the annealed theory for random couplings.

For binary couplings ``J_ij = +-1/sqrt(n)`` i.i.d. and self-coupling ``J_D``,
the fixed-point condition of unit i in state s is ``u_i + J_D >= 0`` when
``s_i = +1`` (since sign(0) = +1) and ``u_i + J_D > 0`` when ``s_i = -1``, with
``u_i = s_i sum_{j != i} J_ij s_j = m / sqrt(n)`` and ``m = (n-1) - 2K``,
``K ~ Binomial(n-1, 1/2)``. Rows are independent, so the annealed mean is
exactly ``E[#FP] = (p_+ + p_-)**n`` with ``p_+ = P(u + J_D >= 0)`` and
``p_- = P(u + J_D > 0)``. As n grows, ``(1/n) ln E[#FP] -> ln[1 + erf(J_D/sqrt 2)]``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special, stats

from . import backends, memory
from ._validation import check_activation, check_bias, check_n, check_n_threads, check_real
from .couplings import as_couplings

#: Largest n accepted by :func:`count_fixed_points` (2**n states).
MAX_N = 32


def count_fixed_points(J, self_coupling: float = 0.0, *, field=None, threshold=0.0,
                       activation: str = "sign", backend: str | None = None,
                       n_threads: int | None = None) -> int:
    """Exact number of fixed points, by enumerating all 2**n states.

    Uses Gray-code order with incremental fields in the compiled backends.

    Parameters
    ----------
    J : rrnn.couplings.Couplings or ndarray (n, n)
        n <= 32.
    self_coupling : float
    field, threshold : None, float or ndarray (n,)
    activation : {"sign", "heaviside"}
    backend : str, optional
    n_threads : int, optional

    Returns
    -------
    int
    """
    J = as_couplings(J)
    if J.n > MAX_N:
        raise ValueError(f"J: exhaustive enumeration needs n <= {MAX_N} (2**n states), got n={J.n}")
    act = check_activation(activation)
    jd = check_real(self_coupling, "self_coupling")
    bias = check_bias(field, threshold, J.n, None)
    n_threads = check_n_threads(n_threads)
    module = backends.get(backend, require=J.required_features())
    return int(module.count_fixed_points(J.kernel(need_cols=True, backend=module, n_threads=n_threads),
                                         bias, jd, act, n_threads))


def _stability_probabilities(n: int, self_coupling: float) -> tuple[float, float]:
    """(p_+, p_-): probabilities that one unit is stable in state +1 / -1."""
    scale = 1.0 / math.sqrt(n)
    k = np.arange(n)                                   # K = 0 .. n-1
    m = (n - 1) - 2 * k
    h = m.astype(np.float64) * scale + self_coupling   # same float formula as the kernels
    pmf = stats.binom.pmf(k, n - 1, 0.5)
    return float(pmf[h >= 0].sum()), float(pmf[h > 0].sum())


def annealed_fixed_points(n: int, self_coupling: float = 0.0) -> float:
    """Exact annealed mean number of fixed points ``E[#FP] = (p_+ + p_-)**n``.

    Parameters
    ----------
    n : int
        Network size, >= 1.
    self_coupling : float
        J_D.

    Returns
    -------
    float
    """
    log_mean = annealed_log_fixed_points(n, self_coupling)
    return math.exp(log_mean) if log_mean < 709.0 else math.inf


def annealed_log_fixed_points(n: int, self_coupling: float = 0.0) -> float:
    """``ln E[#FP] = n ln(p_+ + p_-)``, finite where the mean itself overflows.

    Parameters
    ----------
    n : int
    self_coupling : float

    Returns
    -------
    float
    """
    n = check_n(n)
    jd = check_real(self_coupling, "self_coupling")
    # the binomial sum holds a few float64 arrays of n entries
    memory.require(48 * n, f"annealed_log_fixed_points(n={n})")
    p_plus, p_minus = _stability_probabilities(n, jd)
    # below J_D = -(n-1)/sqrt(n) no unit is ever stable: no fixed points
    return n * math.log(p_plus + p_minus) if p_plus + p_minus > 0.0 else -math.inf


def annealed_entropy(self_coupling) -> np.ndarray:
    """Large-n limit of ``(1/n) ln E[#FP]``: ``ln[1 + erf(J_D / sqrt 2)]``.

    Parameters
    ----------
    self_coupling : float or ndarray

    Returns
    -------
    float or ndarray
    """
    return np.log1p(special.erf(np.asarray(self_coupling, dtype=np.float64) / math.sqrt(2.0)))
