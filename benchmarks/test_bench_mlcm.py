"""MLCM training speed against the straightforward numpy Appendix-A implementation.

Both train the same thesis-sized model (L = 5, N = 1,000, lambdas of 7.1.1) on the
same MNIST samples in the same run; the ratio goes to ``extra_info``. The epoch time
is extrapolated from ``RRNN_BENCH_MLCM_SAMPLES`` samples (default 3,000) to 60,000.

    OPENBLAS_NUM_THREADS=1 python -m pytest benchmarks/test_bench_mlcm.py --benchmark-only

(One BLAS thread: the batched products are small, and on a shared 2-core machine
OpenBLAS's spinning threads slow the numba kernels down several-fold.)
"""

import os
import sys
from pathlib import Path

import numpy as np
import pytest

from rrnn import datasets
from rrnn.mlcm import MLCM

from .conftest import median

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mlcm_numpy_reference as ref  # noqa: E402

SAMPLES = int(os.environ.get("RRNN_BENCH_MLCM_SAMPLES", "3000"))
DATA = Path(os.environ.get("RRNN_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))
THESIS = dict(n_units=1000, n_layers=5, lambda_left=(6.0, 4.0, 4.0, 4.0, 4.0),
              lambda_right=(2.0, 2.0, 2.0, 2.0, 1.5), self_coupling=0.1, lambda_in=6.0,
              lambda_out=12.0, learning_rate=0.01, margin=1.0, readout_lr=0.01, batch_size=100,
              max_steps=50, epochs=1, n_train_eval=0, random_state=0)
_RESULTS = {}


@pytest.fixture(scope="module")
def mnist():
    try:
        X, y = datasets.load_mnist("train", data_dir=DATA, download=False)
    except datasets.DataUnavailableError as exc:
        pytest.skip(f"MNIST unavailable: {exc}")
    return X[:SAMPLES], y[:SAMPLES]


def _ref_epoch(X, y, model):
    L = 5
    J = [np.ascontiguousarray(model._J.Jt[l].T) for l in range(L)]
    Xp = np.zeros((len(X), 1000), np.float32)
    Xp[:, :X.shape[1]] = X
    return ref.fit_epoch(Xp, y, J, model.back_, model.readout_.copy(), 100, jd=0.1, lam_in=6.0,
                         lam_left=THESIS["lambda_left"], lam_right=THESIS["lambda_right"],
                         lam_out=12.0, t_max=50, eta=0.01, xi=0.0, rho=1.0, eta_ro=0.01)


def test_mlcm_epoch_numpy_reference(benchmark, mnist):
    X, y = mnist
    model = MLCM(**THESIS)
    model._cfg = model._resolve()
    model._initialise(X.shape[1], np.arange(10))
    benchmark.pedantic(_ref_epoch, args=(X, y, model), rounds=1, iterations=1)
    _RESULTS["numpy"] = median(benchmark)
    benchmark.extra_info["seconds_per_60k_epoch"] = _RESULTS["numpy"] * 60000 / len(X)


def test_mlcm_epoch_rrnn(benchmark, mnist):
    X, y = mnist
    MLCM(**THESIS).fit(X[:200], y[:200])                 # warm-up: numba compilation
    benchmark.pedantic(lambda: MLCM(**THESIS).fit(X, y), rounds=3, iterations=1)
    t = median(benchmark)
    benchmark.extra_info["seconds_per_60k_epoch"] = t * 60000 / len(X)
    if "numpy" in _RESULTS:
        benchmark.extra_info["speedup_vs_numpy_reference"] = _RESULTS["numpy"] / t
