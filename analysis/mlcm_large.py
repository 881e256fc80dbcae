"""One MNIST epoch with N = 100,000 units per layer (diluted couplings).

Dense float32 couplings would take 40 GB per layer; with ``connectivity=K`` every unit
has K random inputs (int32 index + float32 weight, 8 bytes per synapse), so L = 2
layers at K = 256 hold 410 MB of synapses. The local rule touches only existing
synapses. Stored: training time, peak resident memory (``ru_maxrss``), test accuracy
on ``--test-samples`` images, history; the model checkpoints after the epoch.
``--threads`` sets the numba threads (1 is faster while another job holds the other
core of a 2-core machine).

    OPENBLAS_NUM_THREADS=1 python analysis/mlcm_large.py --out results/mlcm_large.h5

HDF5 layout (kind ``"mlcm_large"``; E = --epochs, L = --n-layers; one unit)::

    /units/run/train_accuracy, val_accuracy, seconds, mean_steps, val_mean_steps,
               converged               (E,) float64     per epoch, as in mlcm_baseline
    /units/run/sparsity, val_sparsity  (E, L) float64   fraction of units > 0 per layer
               attrs: seconds_total, seconds_train, peak_rss_gb, test_accuracy,
                      synapse_bytes (int)
    no /summary; root attributes and /runs: see rrnn.storage (run metadata: none)
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import resource
import time
from pathlib import Path

import numpy as np

from rrnn import storage
from rrnn.mlcm import MLCM

from _common import run_main
from mlcm_baseline import history_arrays, load_data

KIND = "mlcm_large"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="results/mlcm_large.h5")
    p.add_argument("--n-units", type=int, default=100_000)
    p.add_argument("--n-layers", type=int, default=2)
    p.add_argument("--connectivity", type=int, default=256)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--train-samples", type=int, default=None)
    p.add_argument("--test-samples", type=int, default=2000)
    p.add_argument("--train-eval", type=int, default=2000)
    p.add_argument("--learning-rate", type=float, default=0.01)
    p.add_argument("--margin", type=float, default=1.0)
    p.add_argument("--readout-lr", type=float, default=0.01)
    p.add_argument("--max-steps", type=int, default=30)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args(argv)
    config = {k: v for k, v in vars(args).items() if k not in ("out", "data_dir", "threads")}
    result = storage.ResultFile(args.out, KIND, config)
    if "run" in result.done():
        print("already done:", storage.read_units(args.out)["run"]["attrs"])
        return
    X, y, Xt, yt = load_data("mnist", args.train_samples, args.test_samples, args.data_dir)
    L = args.n_layers
    model = MLCM(n_units=args.n_units, n_layers=L, lambda_left=[6.0] + [4.0] * (L - 1),
                 lambda_right=[2.0] * (L - 1) + [1.5], self_coupling=0.1, lambda_in=6.0,
                 lambda_out=12.0, connectivity=args.connectivity, learning_rate=args.learning_rate,
                 margin=args.margin, readout_lr=args.readout_lr, max_steps=args.max_steps,
                 epochs=args.epochs, n_train_eval=args.train_eval, n_threads=args.threads,
                 random_state=args.seed, verbose=True)
    t0 = time.perf_counter()
    model.fit(X, y, validation_data=(Xt, yt), checkpoint=Path(str(args.out) + ".ckpt.h5"))
    seconds = time.perf_counter() - t0
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
    attrs = {"seconds_total": seconds, "seconds_train": float(np.sum(model.history_["seconds"])),
             "peak_rss_gb": peak_gb, "test_accuracy": model.history_["val_accuracy"][-1],
             "synapse_bytes": int(model.indices_.nbytes + model.weights_.nbytes)}
    result.write_unit("run", history_arrays(model), attrs)
    print(attrs)


if __name__ == "__main__":
    run_main(main)
