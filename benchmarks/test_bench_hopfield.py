"""Hopfield benchmarks (issue: Hopfield acceptance 5), baselines in the same run.

One asynchronous zero-temperature sweep from a noisy cue (10% of a stored
pattern flipped, so about 10% of the units flip in the sweep), numba backend
unless stated, one trajectory on one thread:

- low-rank Hebbian couplings at N = 100,000, P = 10,000 (the dense int32
  matrix would need 40 GB: only the low-rank path fits), numba and c;
- low-rank against the dense integer matrix (``HebbianCouplings.dense_form``)
  at N = 16,384, P = 1,638 (same alpha = 0.1; the dense matrix is 1 GB).

``simulate(max_steps=1)`` also computes the initial overlaps and, since the
state is not yet a fixed point, the final fixed-point test (O(N P) each for
the low-rank path); ``max_steps=0`` costs exactly those two, so
``sweep_s = t(1) - t(0)`` is stored in ``extra_info`` next to the full call.
"""

import numpy as np
import pytest

import rrnn
from rrnn import backends, couplings, hopfield
from rrnn.throughput import time_median

from .conftest import median

N_BIG, P_BIG = 100_000, 10_000
N_MID = 16_384
P_MID = round(0.1 * N_MID)


def _cue(J, seed=0):
    return hopfield.noisy_cue(J.patterns[0], 0.1, 1, seed=seed)


def _run(J, cue, steps, backend="numba"):
    return rrnn.simulate(J, cue, update="async", max_steps=steps, seed=1, backend=backend,
                         n_threads=1)


@pytest.fixture(scope="module")
def big():
    J = couplings.hebbian(hopfield.random_patterns(P_BIG, N_BIG, seed=0))
    J.kernel(need_cols=True)            # build the transpose outside the timing
    return J


@pytest.fixture(scope="module")
def mid():
    J = couplings.hebbian(hopfield.random_patterns(P_MID, N_MID, seed=0))
    J.kernel(need_cols=True)
    D = J.dense_form()
    D.kernel(need_cols=True)
    return J, D


def _bench_sweep(benchmark, J, label, cue, backend="numba"):
    _run(J, cue, 1, backend)                            # untimed warm-up (JIT, caches)
    base = time_median(lambda: _run(J, cue, 0, backend), repeat=3)
    res = benchmark.pedantic(lambda: _run(J, cue, 1, backend), rounds=5, warmup_rounds=1)
    assert res.steps[0] == 1
    t = median(benchmark)
    benchmark.extra_info.update(path=label, backend=backend, n=J.n, setup_s=base,
                                sweep_s=t - base)
    return t - base


@pytest.mark.parametrize("backend", ["numba", "c"])
def test_async_sweep_lowrank_n100k_p10k(benchmark, big, backend):
    """Low-rank path, N = 100,000, P = 10,000: one sweep (same trajectory on both)."""
    module, reason = backends.load(backend)
    if module is None:
        pytest.skip(f"backend {backend!r} unavailable: {reason}")
    sweep = _bench_sweep(benchmark, big, "lowrank", _cue(big), backend)
    benchmark.extra_info["ns_per_unit_pattern"] = sweep / (N_BIG * P_BIG) * 1e9


@pytest.mark.parametrize("path", ["lowrank", "dense"])
def test_async_sweep_n16384_lowrank_vs_dense(benchmark, mid, path):
    """Same couplings, same trajectory: low-rank against the dense int32 matrix."""
    J, D = mid
    other = D if path == "lowrank" else J
    mine = J if path == "lowrank" else D
    cue = _cue(J)
    np.testing.assert_array_equal(_run(J, cue, 1).states, _run(D, cue, 1).states)
    sweep = _bench_sweep(benchmark, mine, path, cue)
    base = time_median(lambda: _run(other, cue, 0), repeat=3)
    other_sweep = time_median(lambda: _run(other, cue, 1), repeat=3) - base
    benchmark.extra_info["other_path_sweep_s"] = other_sweep
    benchmark.extra_info["ratio_to_other"] = sweep / other_sweep
