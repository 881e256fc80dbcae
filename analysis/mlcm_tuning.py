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
    no /summary; root attributes and /runs: see rrnn.storage (run metadata: n_threads, the
    numba threads)
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import itertools
import json
import time

from rrnn import storage
from rrnn.mlcm import MLCM, READOUT_STATES

from _common import (check_unique_names, choice_list, existing_dir, float_list_range,
                     int_list_range, int_range, progress, run_main)
from mlcm_baseline import (THESIS, THESIS_DATASETS, history_arrays, input_width, load_split,
                           split_sizes)

KIND = "mlcm_tuning"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="results/mlcm_tuning.h5")
    p.add_argument("--dataset", choices=THESIS_DATASETS, default="mnist")
    # the ranges rrnn.MLCM accepts: eta >= 0 (0: fixed reservoir), readout rate > 0, ...
    p.add_argument("--learning-rates", type=float_list_range(0), default=[0.003, 0.01, 0.03])
    p.add_argument("--margins", type=float_list_range(0), default=[0.5, 1.0, 2.0])
    p.add_argument("--batch-sizes", type=int_list_range(1), default=[100])
    p.add_argument("--weight-decays", type=float_list_range(0), default=[0.0],
                   help="comma list of xi >= 0; every learning rate * weight decay must be < 1")
    p.add_argument("--readout-lrs", type=float_list_range(0, low_open=True), default=[0.01])
    p.add_argument("--init-scales", type=float_list_range(0), default=[1.0])
    p.add_argument("--readout-states", type=choice_list(READOUT_STATES), default=["clamped"],
                   help="comma list of MLCM readout_states to search (clamped, free)")
    p.add_argument("--epochs", type=int_range(1), default=3)
    p.add_argument("--train-samples", type=int_range(1), default=20000,
                   help="the first this many training images train each configuration")
    p.add_argument("--holdout", type=int_range(1), default=5000,
                   help="the last this many training images score it (disjoint from "
                        "--train-samples: their sum is at most the training set)")
    p.add_argument("--final", action="store_true")
    p.add_argument("--final-epochs", type=int_range(1), default=20)
    p.add_argument("--data-dir", type=existing_dir, default=None)
    p.add_argument("--seed", type=int_range(0), default=0)
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    bad = [(lr, wd) for lr in args.learning_rates for wd in args.weight_decays if lr * wd >= 1]
    if bad:
        p.error(f"--weight-decays: expected learning rate * weight decay < 1 for every pair, "
                f"got {bad[0][1]:g} with learning rate {bad[0][0]:g}")
    grid = list(itertools.product(args.learning_rates, args.margins, args.batch_sizes,
                                  args.weight_decays, args.readout_lrs, args.init_scales,
                                  args.readout_states))
    keys = ("learning_rate", "margin", "batch_size", "weight_decay", "readout_lr", "init_scale",
            "readout_states")
    names = ["cfg/" + ",".join(f"{k}={v}" for k, v in zip(keys, values)) for values in grid]
    check_unique_names(names, "--learning-rates/--margins/--batch-sizes/--weight-decays/"
                              "--readout-lrs/--init-scales/--readout-states")
    n_train = split_sizes([args.dataset], args.data_dir)[args.dataset][0]   # refuses missing data
    if args.train_samples + args.holdout > n_train:
        p.error(f"--holdout: expected at most {n_train} - --train-samples = "
                f"{n_train - args.train_samples} (the holdout is the last training images and "
                f"must not overlap the first --train-samples {args.train_samples}), "
                f"got {args.holdout}" if args.train_samples < n_train else
                f"--train-samples: expected at most {n_train - 1} (the {n_train} training images "
                f"less a holdout of at least 1), got {args.train_samples}")
    for values in grid:                    # what fit would refuse, before the file exists
        model = MLCM(**THESIS, **dict(zip(keys, values)), epochs=args.epochs, n_train_eval=2000,
                     random_state=args.seed)
        model.check(input_width(args.dataset))
    config = {k: v for k, v in vars(args).items() if k not in ("out", "no_progress", "data_dir", "final",
                                                                "final_epochs")}
    result = storage.ResultFile(args.out, KIND, config, extra_attrs={"n_threads": model.thread_count()})
    X, y = load_split(args.dataset, "train", args.data_dir)
    Xtr, ytr = X[:args.train_samples], y[:args.train_samples]
    Xho, yho = X[-args.holdout:], y[-args.holdout:]
    done = result.done()
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
