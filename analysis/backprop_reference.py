"""Backprop reference level on the binarized data sets (the MLCM issue's targets).

The MLCM targets are "backprop-MLP level". This driver measures that level on the same
+-1 inputs the MLCM sees, with the regularisation a fair reference needs (decoupled
weight decay, dropout; ``analysis/_mlp.py``). One unit per initialisation
``<dataset>/init=<i>``: train and validation (= test split) accuracy per epoch. The
figure shows validation accuracy per epoch with a 95% band over initialisations.

    OPENBLAS_NUM_THREADS=1 python analysis/backprop_reference.py --dataset fashion \\
        --hidden 2000 --epochs 30 --weight-decay 0.05 --dropout 0.1,0.5 \\
        --out results/backprop_fashion.h5

HDF5 layout (kind ``"backprop_reference"``; E = --epochs)::

    /units/<dataset>/init=<i>/train_accuracy  (E,) float64  first --train-eval training images
    /units/<dataset>/init=<i>/val_accuracy    (E,) float64  test split
    /units/<dataset>/init=<i>/seconds         (E,) float64  training time per epoch
                             attrs: init, seed_entropy (str)
    no /summary; root attributes and /runs: see rrnn.storage (run metadata: none)
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # before numpy; why: README, MLCM "Speed"

import argparse

import numpy as np

from rrnn import storage

from _common import (existing_dir, float_list, float_range, int_range, progress, pyplot, run_main,
                     save_figure)
from _mlp import BackpropMLP
from mlcm_baseline import DATASETS, accuracy_band, check_sample_counts, ci95, history_arrays, load_data

KIND = "backprop_reference"


def dropout_pair(text: str) -> tuple[float, float]:
    values = float_list(text)
    if len(values) != 2 or not all(0.0 <= v < 1.0 for v in values):
        raise argparse.ArgumentTypeError(
            f"expected two drop probabilities in [0, 1) as 'input,hidden', got {text!r}")
    return values[0], values[1]


def run(args) -> storage.ResultFile:
    config = {k: v for k, v in vars(args).items() if k not in ("out", "no_progress", "data_dir")}
    result = storage.ResultFile(args.out, KIND, config)
    done = result.done()
    todo = [i for i in range(args.inits) if f"{args.dataset}/init={i}" not in done]
    bar = progress(args.inits, args.inits - len(todo), not args.no_progress, unit="init")
    if todo:
        X, y, Xt, yt = load_data(args.dataset, args.train_samples, args.test_samples, args.data_dir)
    for init in todo:
        seed = np.random.SeedSequence(args.seed, spawn_key=(init,))
        model = BackpropMLP(hidden=args.hidden, learning_rate=args.lr, batch_size=args.batch_size,
                            epochs=args.epochs, n_train_eval=args.train_eval,
                            weight_decay=args.weight_decay, dropout=args.dropout, random_state=seed)
        model.fit(X, y, validation_data=(Xt, yt))
        result.write_unit(f"{args.dataset}/init={init}", history_arrays(model),
                          {"init": init, "seed_entropy": str(seed.entropy)})
        bar.update(1)
    bar.close()
    return result


def validation_curves(path) -> np.ndarray:
    """(inits, epochs) validation accuracy of the units stored in ``path``."""
    return np.stack([u["val_accuracy"] for u in storage.read_units(path).values()])


def plot(path, acc, png=None):
    """Mean validation curve ``acc`` (inits, epochs) of the run in ``path``, 95% band."""
    _, config = storage.read_config(path)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    m, h = ci95(acc)
    ep = np.arange(1, acc.shape[1] + 1)
    ax.plot(ep, m, label=f"validation ({len(acc)} init)")
    ax.fill_between(ep, *accuracy_band(m, h), alpha=0.25)
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.set_title(f"backprop MLP 784-{config['hidden']}-10 on binarized {config['dataset']}")
    ax.grid(alpha=0.3)
    ax.legend()
    return save_figure(fig, path, png)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", choices=list(DATASETS), default="fashion")
    p.add_argument("--out", default=None)
    p.add_argument("--hidden", type=int_range(1), default=2000)
    p.add_argument("--lr", type=float_range(0, low_open=True), default=1e-3,
                   help="Adam rate, cosine-annealed over --epochs")
    p.add_argument("--epochs", type=int_range(1), default=30)
    p.add_argument("--batch-size", type=int_range(1), default=100)
    p.add_argument("--weight-decay", type=float_range(0), default=0.05,
                   help="decoupled weight decay of the weight matrices (AdamW), per unit rate; "
                        "--lr * --weight-decay < 1")
    p.add_argument("--dropout", type=dropout_pair, default=(0.1, 0.5),
                   help="drop probabilities 'input,hidden' in training")
    p.add_argument("--inits", type=int_range(1), default=1)
    p.add_argument("--train-samples", type=int_range(1), default=None)
    p.add_argument("--test-samples", type=int_range(1), default=None)
    p.add_argument("--train-eval", type=int_range(0), default=10000,
                   help="training samples scored per epoch (at most the training set; 0: not measured)")
    p.add_argument("--seed", type=int_range(0), default=0)
    p.add_argument("--data-dir", type=existing_dir, default=None)
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    if args.lr * args.weight_decay >= 1:
        # each step scales W by 1 - lr * weight_decay: >= 1 zeroes or flips the weights
        p.error(f"--weight-decay: expected --lr * --weight-decay < 1 (--lr {args.lr:g}), "
                f"got {args.weight_decay:g}")
    check_sample_counts(p, [args.dataset], args.data_dir, args.train_samples, args.test_samples)
    args.out = args.out or f"results/backprop_{args.dataset}.h5"
    result = run(args)
    acc = validation_curves(result.path)
    print(f"{args.dataset}: validation final {100 * acc[:, -1].mean():.2f}%, "
          f"best epoch {100 * acc.mean(0).max():.2f}% ({len(acc)} init)")
    print("figure:", plot(result.path, acc))


if __name__ == "__main__":
    run_main(main)
