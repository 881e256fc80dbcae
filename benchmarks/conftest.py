"""Benchmark helpers: shared large matrices (built once per session) and ratios.

Run with ``python -m pytest benchmarks/ --benchmark-only``; every benchmark
measures its baseline (memory-bandwidth probe or numpy) in the same run and
stores the ratio in ``extra_info`` so the JSON report and the README quote
ratios rather than noisy absolute times.
"""

import os

import pytest

import rrnn
from rrnn import backends

N_LARGE = int(os.environ.get("RRNN_BENCH_N", "100000"))
THREADS = int(os.environ.get("RRNN_BENCH_THREADS", "2"))


def c_backend_or_skip():
    module, reason = backends.load("c")
    if module is None:
        pytest.skip(f"c backend unavailable: {reason}")
    return module


@pytest.fixture(scope="session")
def c_backend():
    return c_backend_or_skip()


@pytest.fixture(scope="session")
def large_binary(c_backend):
    """The n = N_LARGE binary matrix (1.25 GB at 100,000), generated once."""
    return rrnn.couplings.binary(N_LARGE, seed=0, backend="c", n_threads=THREADS)


def median(benchmark) -> float:
    """Median time of the benchmarked calls; NaN under ``--benchmark-disable`` (the calls
    ran once, as a smoke test, and were not timed)."""
    return float("nan") if benchmark.stats is None else benchmark.stats.stats.median
