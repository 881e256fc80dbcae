"""``rrnn.critical_self_coupling`` at N = 10,000 and 100,000 (one draw x 16 states).

The bisection runs many batched simulations; the benchmark counts the
trajectory steps it executes (every row of every ``simulate`` call) and
turns them into baselines measured in the same run:

- ``numpy_equivalent_s`` (N = 10,000 only; the float32 matrix at 100,000 would
  be 40 GB): the same number of batched steps done as numpy float32
  ``where(J @ S >= 0, 1, -1)`` with a batch of 16, and the speedup over it;
- ``fraction_of_stream``: the time if every step of every row streamed the
  packed matrix once at the bandwidth probe's rate, over the measured time
  (above 1 means batching and incremental fields beat memory streaming).

    python -m pytest benchmarks/test_bench_self_coupling.py --benchmark-only
"""

import numpy as np
import pytest

import rrnn
from rrnn import self_coupling
from rrnn.memory import available_bytes
from rrnn.throughput import time_median

from conftest import THREADS, c_backend_or_skip, median

INITS = 16


class _StepCounter:
    """Wraps ``rrnn.simulate`` as called by the bisection; sums the row steps."""

    def __init__(self, simulate):
        self.simulate = simulate
        self.row_steps = 0
        self.calls = 0

    def __call__(self, J, s0, **kwargs):
        res = self.simulate(J, s0, **kwargs)
        # steps counts state-changing updates; each row also pays one final
        # step that confirms the fixed point (or the cycle/limit check).
        self.row_steps += int(res.steps.sum()) + res.steps.size
        self.calls += 1
        return res


def _run(monkeypatch, benchmark, n, rounds):
    c = c_backend_or_skip()
    counter = _StepCounter(self_coupling.simulate)
    monkeypatch.setattr(self_coupling, "simulate", counter)

    def scan():
        return rrnn.critical_self_coupling(n, matrices=1, inits=INITS, seed=0, backend="c",
                                           n_threads=THREADS)

    jd = benchmark.pedantic(scan, rounds=rounds, warmup_rounds=0)
    t = median(benchmark)
    row_steps = counter.row_steps / rounds
    bits = rrnn.couplings.binary(n, seed=0, backend="c", n_threads=THREADS).bits
    stream = time_median(lambda: c.stream_read(bits, THREADS), repeat=5)
    benchmark.extra_info.update(
        n=n, inits=INITS, simulate_calls=counter.calls // rounds, row_steps=row_steps,
        median_jd=float(np.median(jd)), max_jd=float(np.max(jd)),
        stream_s=stream, fraction_of_stream=row_steps * stream / t)
    return t, row_steps


def test_critical_self_coupling_10k(benchmark, monkeypatch):
    n = 10_000
    t, row_steps = _run(monkeypatch, benchmark, n, rounds=3)
    gen = np.random.default_rng(0)
    signs = gen.choice(np.array([-1, 1], dtype=np.float32), size=(n, n))
    S = gen.choice(np.array([-1, 1], dtype=np.float32), size=(n, INITS))

    def numpy_step():
        return np.where(signs @ S >= 0, 1, -1).astype(np.float32)

    numpy_step_s = time_median(numpy_step, repeat=5)
    numpy_equivalent = row_steps / INITS * numpy_step_s
    benchmark.extra_info.update(numpy_batch16_step_s=numpy_step_s,
                                numpy_equivalent_s=numpy_equivalent,
                                speedup_vs_numpy=numpy_equivalent / t)


@pytest.mark.skipif(available_bytes() < 4e9, reason="the N = 100,000 benchmark needs about 3 GB of free memory")
def test_critical_self_coupling_100k(benchmark, monkeypatch):
    _run(monkeypatch, benchmark, 100_000, rounds=1)
