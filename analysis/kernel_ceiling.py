"""Ceiling of the random sign reservoir: its infinite-width limit, solved exactly.

The best local-rule MLCM runs are wide single-layer reservoirs: unit i fires as
``sign(w_i . x)`` with random input weights ``w_i`` and the readout is trained by its
delta rule. As the width grows, the readout's inner products of two images' unit states
tend to the arc-sine kernel ``k(x, y) = (2 / pi) arcsin(x . y / (|x| |y|))`` (exact for
Gaussian weights, and the central-limit value for the reservoir's +-1 weights over 784
pixels). Kernel ridge regression on one-hot targets (+0.9 / -0.1) with this kernel is
then the ridge least-squares readout of infinitely many such units, free of the SGD
readout's optimisation error: a ceiling for the random-input reservoir family within
that scope (no recurrence, which the reservoir runs add; a least-squares readout).

One unit per (training-set size M, ridge, bias): the first M training images, all test
images. ``--bias`` adds a random bias per unit (its kernel is in :func:`arcsine_kernel`).
The Cholesky factor is taken in place by LAPACK with 32-bit indices, so M is capped at
46,340 (M^2 < 2^31); memory is about 4 (M^2 + M * n_test) bytes.

    python analysis/kernel_ceiling.py --dataset fashion --train-sizes 10000,30000,46000 \\
        --ridge 0.01 --out results/kernel_ceiling_fashion.h5

HDF5 layout (kind ``"kernel_ceiling"``; <r>, <b> formatted with ``:g``)::

    /units/M=<M>/ridge=<r>/bias=<b>/test_accuracy   () float64  on all test images
                                    attrs: train_size, ridge, bias, seconds
    no /summary; root attributes and /runs: see rrnn.storage (run metadata: none)
"""

from __future__ import annotations

import os

# Multithreaded OpenBLAS 0.3.31 segfaulted in these large symmetric products and
# factorisations on a Zen 3 (README); one thread ran every size up to the cap.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import time

import numpy as np
import scipy.linalg

from rrnn import memory, storage

from _common import (check_unique_names, existing_dir, float_list_range, int_list_range, progress,
                     pyplot, run_main, save_figure)
from mlcm_baseline import DATASETS, check_sample_counts, load_data

KIND = "kernel_ceiling"
#: the MLCM issue's local-rule accuracy targets (acceptance item 2), drawn for reference
TARGETS = {"mnist": 0.980, "fashion-mnist": 0.885}
MAX_TRAIN = 46340          # largest M with M * M < 2**31 (LAPACK's 32-bit indices)


def arcsine_kernel(A, B, bias=0.0, block=None):
    """(len(A), len(B)) float32 arc-sine kernel of the rows of A and B.

    The mean of ``sign(w . a + b) sign(w . c + b)`` over Gaussian ``w ~ N(0, I / |a|^2)``
    (unit-variance field, rows of equal norm) and a bias ``b ~ N(0, bias^2)``:
    ``(2 / pi) arcsin((cos(a, c) + bias^2) / (1 + bias^2))``. Without a bias the
    features are odd in the input, so the kernel only holds its odd powers.

    A : (m, d), B : (k, d) float32 rows, +-1 (the float32 products are then exact
    integers) or grey levels. The cosine and arcsin are taken in float64 (arcsin is
    steep near 1), by row blocks of A, so the temporaries are one block.
    """
    inv_a = 1.0 / np.linalg.norm(A.astype(np.float64), axis=1)
    inv_b = 1.0 / np.linalg.norm(B.astype(np.float64), axis=1)
    # a separate copy keeps numpy off its syrk path (A is B), which crashed (README)
    Bt = np.ascontiguousarray(B.T, dtype=np.float32)
    out = np.empty((len(A), len(B)), dtype=np.float32)
    block = block or max(1, (1 << 25) // len(B))      # float64 temporaries of 256 MB
    b2 = bias * bias
    for start in range(0, len(A), block):
        g = (A[start:start + block].astype(np.float32) @ Bt).astype(np.float64)
        g *= inv_a[start:start + block, None]
        g *= inv_b[None, :]
        g += b2
        g /= 1.0 + b2
        np.clip(g, -1.0, 1.0, out=g)
        out[start:start + block] = (2 / np.pi) * np.arcsin(g)
    return out


def ridge_accuracy(X, y, Xt, yt, ridge, bias=0.0):
    """Test accuracy of arc-sine kernel ridge regression trained on (X, y).

    X : (m, d) training inputs (+-1 or grey levels), y : (m,) int labels; Xt, yt the test set.
    Targets are one-hot +0.9 / -0.1; the prediction is the arg-max output.
    """
    classes = np.unique(y)
    K = arcsine_kernel(X, X, bias)
    K[np.diag_indices(len(K))] += np.float32(ridge)
    Y = np.full((len(y), len(classes)), -0.1, dtype=np.float32)
    Y[np.arange(len(y)), np.searchsorted(classes, y)] = 0.9
    # K is symmetric, so K.T is the same matrix in Fortran order: factorised in place
    factor = scipy.linalg.cho_factor(K.T, overwrite_a=True, check_finite=False)
    coef = scipy.linalg.cho_solve(factor, Y, check_finite=False)
    del K, factor
    pred = classes[np.argmax(arcsine_kernel(Xt, X, bias) @ coef, axis=1)]
    return float(np.mean(pred == yt))


def unit_name(m, ridge, bias):
    return f"M={m}/ridge={ridge:g}/bias={bias:g}"


def run(args) -> storage.ResultFile:
    config = {k: v for k, v in vars(args).items() if k not in ("out", "no_progress", "data_dir")}
    units = [(m, r, b) for m in args.train_sizes for r in args.ridge for b in args.bias]
    check_unique_names((unit_name(*u) for u in units), "--train-sizes/--ridge/--bias")
    result = storage.ResultFile(args.out, KIND, config)
    done = result.done()
    todo = [u for u in units if unit_name(*u) not in done]
    bar = progress(len(units), len(units) - len(todo), not args.no_progress, unit="fit")
    if todo:
        X, y, Xt, yt = load_data(args.dataset, None, None, args.data_dir)
    for m, r, b in todo:
        t0 = time.perf_counter()
        acc = ridge_accuracy(X[:m], y[:m], Xt, yt, r, b)
        result.write_unit(unit_name(m, r, b), {"test_accuracy": np.array(acc)},
                          {"train_size": m, "ridge": r, "bias": b,
                           "seconds": time.perf_counter() - t0})
        bar.update(1)
    bar.close()
    return result


def table(path):
    """Rows (M, ridge, bias, test accuracy, seconds) of the units in ``path``, sorted."""
    rows = []
    for unit in storage.read_units(path).values():
        attrs = unit["attrs"]
        rows.append((int(attrs["train_size"]), float(attrs["ridge"]), float(attrs["bias"]),
                     float(unit["test_accuracy"]), float(attrs["seconds"])))
    return sorted(rows)


def plot(path, png=None):
    """Test accuracy against training-set size, one line per (ridge, bias)."""
    _, config = storage.read_config(path)
    rows = table(path)
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for r, b in sorted({row[1:3] for row in rows}):
        pts = [(m, 100 * a) for m, rr, bb, a, _ in rows if (rr, bb) == (r, b)]
        ax.plot(*zip(*pts), "o-", label=f"ridge {r:g}, bias {b:g}")
    base, inputs = DATASETS[config["dataset"]]
    target = TARGETS.get(base)
    if target is not None:
        ax.axhline(100 * target, color="k", ls="--", lw=1, label=f"issue target {100 * target:.1f}%")
    ax.set_xscale("log")
    ax.set_xlabel("training images M")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"arc-sine kernel ridge (infinite sign reservoir), {base}, {inputs} inputs")
    ax.grid(alpha=0.3)
    ax.legend()
    return save_figure(fig, path, png)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", choices=list(DATASETS), default="fashion")
    # M <= MAX_TRAIN: LAPACK's 32-bit indices (M^2 < 2^31)
    p.add_argument("--train-sizes", type=int_list_range(1, MAX_TRAIN), default=[10000, 30000, 46000])
    p.add_argument("--ridge", type=float_list_range(0, low_open=True), default=[0.01])
    p.add_argument("--bias", type=float_list_range(0), default=[0.0],
                   help="std of a random bias per unit, in units of the input field's std")
    p.add_argument("--out", default=None)
    p.add_argument("--data-dir", type=existing_dir, default=None)
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    m = max(args.train_sizes)
    # reads the data: missing files are refused, and sizes beyond the training set too
    check_sample_counts(p, [args.dataset], args.data_dir, train_samples=m, train_option="--train-sizes")
    # the kernel, the test-by-train kernel of the 10,000 test images, 512 MB of block temporaries
    memory.require(4 * (m * m + 10000 * m) + (1 << 29), f"kernel ridge regression on M={m} images")
    args.out = args.out or f"results/kernel_ceiling_{args.dataset}.h5"
    result = run(args)
    for m, r, b, acc, sec in table(result.path):
        print(f"{args.dataset} M={m} ridge={r:g} bias={b:g}: test {100 * acc:.2f}% ({sec:.0f} s)")
    print("figure:", plot(result.path))


if __name__ == "__main__":
    run_main(main)
