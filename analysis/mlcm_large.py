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
    no /summary; root attributes and /runs: see rrnn.storage (run metadata: n_threads, the
    numba threads)
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

from _common import existing_dir, float_range, int_range, run_main
from mlcm_baseline import MAX_STEPS_LIMIT, check_sample_counts, history_arrays, load_data

KIND = "mlcm_large"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="results/mlcm_large.h5")
    # MNIST's 784 pixels are zero-padded to N (no input weights here), so N >= 784
    p.add_argument("--n-units", type=int_range(28 * 28), default=100_000)
    p.add_argument("--n-layers", type=int_range(1), default=2)
    p.add_argument("--connectivity", type=int_range(1), default=256,
                   help="K inputs per unit, at most --n-units - 1")
    p.add_argument("--epochs", type=int_range(1), default=1)
    p.add_argument("--train-samples", type=int_range(1), default=None)
    p.add_argument("--test-samples", type=int_range(1), default=2000)
    p.add_argument("--train-eval", type=int_range(0), default=2000,
                   help="training samples scored per epoch (0: not measured)")
    p.add_argument("--learning-rate", type=float_range(0), default=0.01)
    p.add_argument("--margin", type=float_range(0), default=1.0)
    p.add_argument("--readout-lr", type=float_range(0, low_open=True), default=0.01)
    p.add_argument("--max-steps", type=int_range(1, MAX_STEPS_LIMIT), default=30)
    p.add_argument("--data-dir", type=existing_dir, default=None)
    p.add_argument("--seed", type=int_range(0), default=0)
    p.add_argument("--threads", type=int_range(1, 1024), default=None)
    args = p.parse_args(argv)
    if args.connectivity >= args.n_units:
        p.error(f"--connectivity: expected an int <= --n-units - 1 = {args.n_units - 1}, "
                f"got {args.connectivity}")
    L = args.n_layers
    model = MLCM(n_units=args.n_units, n_layers=L, lambda_left=[6.0] + [4.0] * (L - 1),
                 lambda_right=[2.0] * (L - 1) + [1.5], self_coupling=0.1, lambda_in=6.0,
                 lambda_out=12.0, connectivity=args.connectivity, learning_rate=args.learning_rate,
                 margin=args.margin, readout_lr=args.readout_lr, max_steps=args.max_steps,
                 epochs=args.epochs, n_train_eval=args.train_eval, n_threads=args.threads,
                 random_state=args.seed, verbose=True)
    config = {k: v for k, v in vars(args).items() if k not in ("out", "data_dir", "threads")}
    run_attrs = {"n_threads": model.thread_count()}
    result = None
    if Path(args.out).exists():
        # a finished run is reported without the memory check below, so that it can
        # be read back on a machine too small to run it again
        result = storage.ResultFile(args.out, KIND, config, extra_attrs=run_attrs)
        if "run" in result.done():
            print("already done:", storage.read_units(args.out)["run"]["attrs"])
            return
    model.check(28 * 28)          # what fit would refuse (memory), before the file exists
    check_sample_counts(p, ["mnist"], args.data_dir, args.train_samples, args.test_samples)
    if result is None:
        result = storage.ResultFile(args.out, KIND, config, extra_attrs=run_attrs)
    X, y, Xt, yt = load_data("mnist", args.train_samples, args.test_samples, args.data_dir)
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
