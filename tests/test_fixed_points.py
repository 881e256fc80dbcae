"""Fixed-point counts: backends against brute force, and against the annealed theory."""

import math

import numpy as np
import pytest
from scipy import special, stats

import rrnn
from rrnn import couplings


def _brute_force_count(J_dense, self_coupling, bias, activation):
    """Independent oracle: check every state with a float64 dense product."""
    n = J_dense.shape[0]
    low = -1 if activation == "sign" else 0
    codes = np.arange(2**n)
    x = np.where((codes[:, None] >> np.arange(n)) & 1, 1, low).astype(np.float64)
    h = x @ J_dense.T + self_coupling * x + bias
    new = np.where(h >= 0, 1, low)
    return int(np.all(new == x, axis=1).sum())


@pytest.mark.parametrize("activation", ["sign", "heaviside"])
@pytest.mark.parametrize("kind", ["binary", "gaussian", "binary+sparse"])
def test_count_matches_brute_force(any_backend, activation, kind, rng):
    n = 11
    J = couplings.binary(n, seed=4) if kind != "gaussian" else couplings.gaussian(n, seed=4)
    if kind == "binary+sparse":
        rows = np.arange(n)
        J = J + couplings.sparse(np.arange(n + 1), (rows + 1) % n, np.full(n, 0.4), n)
    bias = rng.normal(0, 0.2, n)
    for jd in (0.0, 0.35, 1.2):
        expected = _brute_force_count(J.to_dense(), jd, bias, activation)
        got = rrnn.count_fixed_points(J, jd, field=bias, activation=activation,
                                      backend=any_backend.name, n_threads=2)
        assert got == expected, (jd, got, expected)


def test_count_is_thread_independent(fast_backend):
    J = couplings.binary(18, seed=8)
    counts = {rrnn.count_fixed_points(J, 0.3, backend=fast_backend.name, n_threads=t) for t in (1, 2)}
    assert len(counts) == 1


def test_large_self_coupling_makes_every_state_fixed(fast_backend):
    """J_D above the largest possible |sum_j J_ij s_j| pins every state."""
    n = 16
    J = couplings.binary(n, seed=2)
    jd = (n - 1) / math.sqrt(n) + 0.01
    assert rrnn.count_fixed_points(J, jd, backend=fast_backend.name) == 2**n


def test_exact_annealed_formula_tends_to_erf_limit():
    """(1/n) ln E[#FP] -> ln[1 + erf(J_D/sqrt 2)] (thesis eq. 3.2)."""
    for jd in (0.25, 0.5, 1.0):
        limit = float(rrnn.annealed_entropy(jd))
        # the lattice of m = n-1-2K makes the finite-n correction O(1/sqrt(n))
        for n in (100, 1000, 10000, 100000, 1000000):
            error = abs(rrnn.annealed_log_fixed_points(n, jd) / n - limit)
            assert error < 1.0 / math.sqrt(n), (jd, n, error)
    # J_D = 0: p_+ + p_- = 1 exactly at every n (one stable orientation per unit)
    assert rrnn.annealed_log_fixed_points(101, 0.0) == pytest.approx(0.0, abs=1e-12)


def test_annealed_formula_by_direct_binomial_sum():
    """Cross-check p_+ + p_- against an independent expression with scipy."""
    n, jd = 15, 0.4
    # unit stable in +1 iff m >= -jd sqrt(n); in -1 iff m > -jd sqrt(n), m = n-1-2K
    kmax_plus = math.floor((n - 1 + jd * math.sqrt(n)) / 2)
    kmax_minus = math.ceil((n - 1 + jd * math.sqrt(n)) / 2) - 1
    p = stats.binom.cdf(kmax_plus, n - 1, 0.5) + stats.binom.cdf(kmax_minus, n - 1, 0.5)
    assert rrnn.annealed_fixed_points(n, jd) == pytest.approx(p**n, rel=1e-12)


@pytest.mark.parametrize("n, jd", [(12, 0.0), (12, 0.6), (16, 0.3)])
def test_mean_count_agrees_with_annealed_theory(n, jd):
    """Average over coupling draws vs the exact annealed mean, within 4 standard errors."""
    backend = "c" if rrnn.backends.load("c")[0] is not None else "numpy"
    draws = 300 if n <= 12 else 120
    counts = np.array([rrnn.count_fixed_points(couplings.binary(n, seed=1000 + d, backend=backend),
                                               jd, backend=backend)
                       for d in range(draws)], dtype=np.float64)
    expected = rrnn.annealed_fixed_points(n, jd)
    sem = counts.std(ddof=1) / math.sqrt(draws)
    assert abs(counts.mean() - expected) < 4 * sem + 1e-9, (counts.mean(), expected, sem)


def test_count_rejects_large_n():
    J = couplings.binary(40, seed=0, backend="numpy")
    with pytest.raises(ValueError, match="n <= 32"):
        rrnn.count_fixed_points(J)


def test_erf_limit_value():
    assert float(rrnn.annealed_entropy(1.0)) == pytest.approx(math.log(1 + special.erf(1 / math.sqrt(2))))


def test_no_fixed_points_below_the_most_negative_field():
    """Below J_D = -(n-1)/sqrt(n) no unit can be stable: the theory gives 0 (log -inf)
    and so does exhaustive enumeration."""
    n = 10
    jd = -(n - 1) / math.sqrt(n) - 0.1
    assert rrnn.annealed_fixed_points(n, jd) == 0.0
    assert rrnn.annealed_log_fixed_points(n, jd) == -math.inf
    assert rrnn.count_fixed_points(rrnn.couplings.binary(n, seed=1), self_coupling=jd,
                                   backend="numpy") == 0
