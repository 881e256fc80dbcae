"""Hyperparameter search for the MLCM (experiment 4): grid over eta, rho, batch size,
weight decay, readout rate, initial J scale and the states the readout learns on.

Each configuration trains on the first ``--train-samples`` training images and is
scored on the last ``--holdout`` training images (the test split is not used for
selection); one unit per configuration. ``--final`` retrains the best configuration
on the whole training set and scores the test split.

    OPENBLAS_NUM_THREADS=1 python analysis/mlcm_tuning.py --dataset mnist \\
        --learning-rates 0.003,0.01,0.03 --margins 0.5,1,2 --out results/mlcm_tuning.h5

HDF5 layout (kind ``"mlcm_tuning"``; 5 layers; <params> is ``learning_rate=<v>,margin=<v>,
batch_size=<v>,weight_decay=<v>,readout_lr=<v>,init_scale=<v>,readout_states=<s>``, str(v))::

    /units/cfg/<params>/train_accuracy, val_accuracy, seconds, mean_steps, val_mean_steps,
                        converged
                                     (--epochs,) float64     as in mlcm_baseline; val_*
                                                             on the holdout
    /units/cfg/<params>/sparsity, val_sparsity
                                     (--epochs, 5) float64
                        attrs: params (JSON), holdout_accuracy, seconds
    /units/final/<the same datasets> (--final-epochs[, 5]) float64  --final: the best
                                     configuration on all training images; val_* on the
                                     test split
                 attrs: params (JSON), test_accuracy
    no /summary; root attributes and /runs: see rrnn.storage (run metadata: none)
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import itertools
import json
import time

from rrnn import storage
from rrnn.mlcm import MLCM

from _common import float_list, int_list, progress, run_main
from mlcm_baseline import THESIS, THESIS_DATASETS, history_arrays, load_split

KIND = "mlcm_tuning"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="results/mlcm_tuning.h5")
    p.add_argument("--dataset", choices=THESIS_DATASETS, default="mnist")
    p.add_argument("--learning-rates", type=float_list, default=[0.003, 0.01, 0.03])
    p.add_argument("--margins", type=float_list, default=[0.5, 1.0, 2.0])
    p.add_argument("--batch-sizes", type=int_list, default=[100])
    p.add_argument("--weight-decays", type=float_list, default=[0.0])
    p.add_argument("--readout-lrs", type=float_list, default=[0.01])
    p.add_argument("--init-scales", type=float_list, default=[1.0])
    p.add_argument("--readout-states", type=lambda s: s.split(","), default=["clamped"],
                   help="comma list of MLCM readout_states to search (clamped, free)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--train-samples", type=int, default=20000)
    p.add_argument("--holdout", type=int, default=5000)
    p.add_argument("--final", action="store_true")
    p.add_argument("--final-epochs", type=int, default=20)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    config = {k: v for k, v in vars(args).items() if k not in ("out", "no_progress", "data_dir", "final",
                                                                "final_epochs")}
    result = storage.ResultFile(args.out, KIND, config)
    X, y = load_split(args.dataset, "train", args.data_dir)
    Xtr, ytr = X[:args.train_samples], y[:args.train_samples]
    Xho, yho = X[-args.holdout:], y[-args.holdout:]
    grid = list(itertools.product(args.learning_rates, args.margins, args.batch_sizes,
                                  args.weight_decays, args.readout_lrs, args.init_scales,
                                  args.readout_states))
    keys = ("learning_rate", "margin", "batch_size", "weight_decay", "readout_lr", "init_scale",
            "readout_states")
    done = result.done()
    names = ["cfg/" + ",".join(f"{k}={v}" for k, v in zip(keys, values)) for values in grid]
    bar = progress(len(grid), sum(name in done for name in names), not args.no_progress, unit="config")
    for values, name in zip(grid, names):
        params = dict(zip(keys, values))
        if name not in done:
            t0 = time.perf_counter()
            m = MLCM(**THESIS, **params, epochs=args.epochs, n_train_eval=2000, random_state=args.seed)
            m.fit(Xtr, ytr, validation_data=(Xho, yho))
            result.write_unit(name, history_arrays(m), {"params": json.dumps(params),
                                                        "holdout_accuracy": m.history_["val_accuracy"][-1],
                                                        "seconds": time.perf_counter() - t0})
            bar.update(1)
    bar.close()
    units = storage.read_units(args.out)
    # the grid's units only: "final" (the winner retrained) has a test accuracy instead
    ranked = sorted((u for name, u in units.items() if name.startswith("cfg/")),
                    key=lambda u: -u["attrs"]["holdout_accuracy"])
    for u in ranked[:10]:
        print(f"{100 * u['attrs']['holdout_accuracy']:.2f}%  {u['attrs']['params']}")
    if args.final and ranked:
        best = json.loads(ranked[0]["attrs"]["params"])
        Xt, yt = load_split(args.dataset, "test", args.data_dir)
        m = MLCM(**THESIS, **best, epochs=args.final_epochs, random_state=args.seed, verbose=True)
        m.fit(X, y, validation_data=(Xt, yt), checkpoint=str(args.out) + ".final.ckpt.h5")
        result.write_unit("final", history_arrays(m), {"params": json.dumps(best),
                                                       "test_accuracy": m.history_["val_accuracy"][-1]})
        print(f"final: test accuracy {100 * m.history_['val_accuracy'][-1]:.2f}% with {best}")


if __name__ == "__main__":
    run_main(main)
