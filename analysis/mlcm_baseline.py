"""MLCM against the single-layer network (thesis 7.1, figures 7.1 and 7.2).

For each data set (MNIST, projected MNIST, Fashion-MNIST, projected Fashion-MNIST)
and each initialisation, one MLCM (5 layers of N = 1,000, the lambdas of 7.1.1) and
one SLN are trained for the same epochs on the same inputs; train and validation
(= the test split) accuracy per epoch are stored per unit
``<dataset>/<model>/init=<i>``. MLCM runs checkpoint every epoch under
``<out>.ckpt/``, so a killed run resumes mid-unit. The figure shows mean accuracy per
epoch with 95% confidence bands (Student t over initialisations).

    OPENBLAS_NUM_THREADS=1 python analysis/mlcm_baseline.py --out results/mlcm_baseline.h5

Reduced check: ``--epochs 3 --inits 2 --train-samples 10000 --test-samples 2000``.
Rerun the same command to resume after an interruption.

HDF5 layout (kind ``"mlcm_baseline"``; E = --epochs, L = --n-layers; <model> is "mlcm",
"sln" (one --sln-lr) or "sln_lr=<rate:g>" (several), and "mlp" with --mlp-hidden)::

    /units/<dataset>/<model>/init=<i>/train_accuracy  (E,) float64  first --train-eval images
    /units/<dataset>/<model>/init=<i>/val_accuracy    (E,) float64  test split
    /units/<dataset>/<model>/init=<i>/seconds         (E,) float64  training time per epoch
    /units/<dataset>/mlcm/init=<i>/sparsity        (E, L) float64  fraction of units > 0,
                                                   training relaxation (MLCM only)
    /units/<dataset>/mlcm/init=<i>/val_sparsity    (E, L) float64  same, free phase, test split
    /units/<dataset>/mlcm/init=<i>/mean_steps      (E,) float64    mean relaxation steps
    /units/<dataset>/mlcm/init=<i>/val_mean_steps  (E,) float64    same, test split
    /units/<dataset>/mlcm/init=<i>/converged       (E,) float64    fraction of training
                                                   relaxations that reached a fixed point
                                                   (units written since session 18)
                                 attrs: dataset, model, init, seconds, seed_entropy (str)
    /summary/runs    (runs,) bytes |S   "<dataset>/<model>", sorted
    /summary/final   (runs, 6) float64  last epoch, over inits: val_mean, val_ci95,
                                        train_mean, train_ci95, inits, train_seconds
    /summary attrs: columns (those six names, comma-separated), on the group
    root attributes and /runs: see rrnn.storage (run metadata: openblas_threads,
    n_threads: the numba threads)
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # before numpy; why: README, MLCM "Speed"

import argparse
import time
from pathlib import Path

import numpy as np

from rrnn import datasets, storage
from rrnn.mlcm import MLCM
from rrnn.perceptron import Perceptron

from _common import (check_unique_names, choice_list, existing_dir, float_list_range, float_range,
                     int_range, progress, run_main, save_figure)
from _mlp import BackpropMLP

KIND = "mlcm_baseline"
#: name -> (data set, inputs): "binary" +-1 pixels (pixel > 127), "projected" the fixed
#: random projection to 100 signs, "grey" the grey levels scaled per image to the norm of a
#: +-1 image (float32; :func:`load_split`)
DATASETS = {
    "mnist": ("mnist", "binary"), "mnist-projected": ("mnist", "projected"),
    "fashion": ("fashion-mnist", "binary"), "fashion-projected": ("fashion-mnist", "projected"),
    "mnist-grey": ("mnist", "grey"), "fashion-grey": ("fashion-mnist", "grey"),
}
#: the four data sets of thesis 7.1 (the default of --datasets)
THESIS_DATASETS = ["mnist", "mnist-projected", "fashion", "fashion-projected"]
THESIS = dict(n_layers=5, lambda_left=(6.0, 4.0, 4.0, 4.0, 4.0),
              lambda_right=(2.0, 2.0, 2.0, 2.0, 1.5), self_coupling=0.1, lambda_in=6.0,
              lambda_out=12.0)
#: MLCM step counters are int32 in the kernels (rrnn.mlcm)
MAX_STEPS_LIMIT = (1 << 31) - 1


def input_width(name) -> int:
    """Features per sample of one of DATASETS (28 x 28 pixels, or the projection)."""
    return datasets.PROJECTION_DIM if DATASETS[name][1] == "projected" else 28 * 28


def load_split(name, split, data_dir=None):
    """(X, y) of one split of one of DATASETS: X (samples, features) +-1 int8, or float32
    grey levels (:func:`rrnn.datasets.grey_levels`); y (samples,) int64.

    Grey images are scaled to the norm of a +-1 image because the plain grey levels / 255
    gave the reservoir a field about half as large, against which the recurrence took 4x
    the steps to settle (27.7 against 7.5 at N = 4,000, K = 32).
    """
    base, inputs = DATASETS[name]
    if inputs == "grey":
        images, y = datasets.load(base, split, data_dir, binary=False)
        return datasets.grey_levels(images), y
    return datasets.load(base, split, data_dir, projected=inputs == "projected")


def split_sizes(names, data_dir=None) -> dict:
    """name -> (training images, test images) of each of DATASETS ``names``. The files are
    read (raw, so quickly): missing or damaged data are refused here, which drivers call
    before they create a result file."""
    sizes = {}
    for base in dict.fromkeys(DATASETS[n][0] for n in names):
        sizes[base] = tuple(len(datasets.load(base, split, data_dir, binary=False)[1])
                            for split in ("train", "test"))
    return {n: sizes[DATASETS[n][0]] for n in names}


def check_sample_counts(parser, names, data_dir=None, train_samples=None, test_samples=None,
                        train_option="--train-samples"):
    """Refuse (``parser.error``) --train-samples / --test-samples larger than a split of
    one of ``names`` (slicing would silently use fewer images). Reads the data, so a
    missing data set is refused too (FileNotFoundError). Returns :func:`split_sizes`."""
    sizes = split_sizes(names, data_dir)
    for option, count, index, split in ((train_option, train_samples, 0, "training"),
                                        ("--test-samples", test_samples, 1, "test")):
        if count is None:
            continue
        for name, size in sizes.items():
            if count > size[index]:
                parser.error(f"{option}: expected at most {size[index]} (the {split} images of "
                             f"{name}), got {count}")
    return sizes


def load_data(name, train_samples=None, test_samples=None, data_dir=None):
    """(X_train, y_train, X_test, y_test) of one of DATASETS (see :func:`load_split`)."""
    X, y = load_split(name, "train", data_dir)
    Xt, yt = load_split(name, "test", data_dir)
    return X[:train_samples], y[:train_samples], Xt[:test_samples], yt[:test_samples]


def ci95(values, axis=0):
    """Mean and half-width of the 95% Student-t interval along ``axis``."""
    from scipy import stats
    values = np.asarray(values, dtype=float)
    n = values.shape[axis]
    mean = values.mean(axis=axis)
    if n < 2:
        return mean, np.zeros_like(mean)
    half = stats.t.ppf(0.975, n - 1) * values.std(axis=axis, ddof=1) / np.sqrt(n)
    return mean, half


def accuracy_band(mean, half):
    """The 95% band of an accuracy, clipped to [0, 1] (few initialisations give wide
    Student-t intervals)."""
    return np.clip(mean - half, 0.0, 1.0), np.clip(mean + half, 0.0, 1.0)


def history_arrays(model):
    h = model.history_
    out = {"train_accuracy": np.asarray(h["train_accuracy"]), "val_accuracy": np.asarray(h["val_accuracy"]),
           "seconds": np.asarray(h["seconds"])}
    if "sparsity" in h:
        out["sparsity"] = np.asarray(h["sparsity"])
        out["val_sparsity"] = np.asarray(h["val_sparsity"])
        out["mean_steps"] = np.asarray(h["mean_steps"])
        out["val_mean_steps"] = np.asarray(h["val_mean_steps"])
        out["converged"] = np.asarray(h["converged"])
    return out


def chain_strengths(n_layers):
    """The 7.1.1 strengths cut to ``n_layers`` layers: the first L left strengths, the
    first L-1 right strengths and the last one (which layer L does not use)."""
    left, right = THESIS["lambda_left"], THESIS["lambda_right"]
    if not 1 <= n_layers <= len(left):
        raise ValueError(f"n_layers: expected 1 to {len(left)} (the 7.1.1 lists), got {n_layers}")
    return left[:n_layers], right[:n_layers - 1] + right[-1:]


def mlcm_params(args, **extra):
    left, right = chain_strengths(args.n_layers)
    p = dict(THESIS, n_layers=args.n_layers, lambda_left=left, lambda_right=right,
             input_density=args.input_density, input_patch=args.input_patch,
             input_init=args.input_init,
             connectivity=args.connectivity,
             lambda_out=args.lambda_out, n_units=args.n_units, learning_rate=args.learning_rate, margin=args.margin,
             readout_lr=args.readout_lr, readout_lr_schedule=args.lr_schedule,
             batch_size=args.batch_size, epochs=args.epochs,
             max_steps=args.max_steps, n_train_eval=args.train_eval,
             readout_states=args.readout_states, weight_decay=args.weight_decay,
             init_scale=args.init_scale, readout=args.readout, readout_margin=args.readout_margin)
    p.update(extra)
    return p


def model_arguments(p):
    p.add_argument("--n-units", type=int_range(2), default=1000)
    p.add_argument("--n-layers", type=int_range(1, len(THESIS["lambda_left"])), default=THESIS["n_layers"],
                   help="L <= 5; the 7.1.1 strengths are cut to L layers")
    p.add_argument("--input-density", type=float_range(0, 1, low_open=True), default=None,
                   help="random +-1 input weights of this density instead of zero padding "
                        "(MLCM input_density)")
    p.add_argument("--input-patch", type=int_range(1), default=None,
                   help="random input weights restricted to one window of this side per unit "
                        "(MLCM input_patch; square images)")
    p.add_argument("--input-init", choices=("random", "imprint"), default="random",
                   help="weights of --input-density / --input-patch: random signs, or imprinted "
                        "differences of two training images of different classes (MLCM input_init)")
    p.add_argument("--connectivity", type=int_range(1), default=None,
                   help="diluted couplings with K inputs per unit (MLCM connectivity)")
    # 0: a fixed reservoir (the local rule off); rrnn.MLCM accepts eta >= 0
    p.add_argument("--learning-rate", type=float_range(0), default=0.01)
    p.add_argument("--margin", type=float_range(0), default=1.0)
    p.add_argument("--readout-lr", type=float_range(0, low_open=True), default=0.01)
    p.add_argument("--lr-schedule", choices=("constant", "cosine"), default="constant",
                   help="rate per epoch of the MLCM readout and of the SLN (the same for both): "
                        "constant (thesis) or cosine-annealed over --epochs")
    p.add_argument("--readout", choices=("cross_entropy", "perceptron"), default="cross_entropy",
                   help="readout rule of the MLCM and learning rule of the SLN (the same for both)")
    p.add_argument("--readout-margin", type=float_range(0), default=0.0,
                   help="margin of the perceptron rule (MLCM readout and SLN)")
    p.add_argument("--lambda-out", type=float_range(0), default=THESIS["lambda_out"],
                   help="label field strength on layer L (12 = eq. 6.1 and 7.1.1; 1.5 = lambda_R^L, "
                        "Algorithm 2's reading)")
    p.add_argument("--readout-states", choices=("clamped", "free"), default="clamped",
                   help="layer-L states the readout learns on (MLCM readout_states)")
    p.add_argument("--weight-decay", type=float_range(0), default=0.0,
                   help="xi: J <- J (1 - eta xi) + dJ; needs learning_rate * weight_decay < 1")
    p.add_argument("--init-scale", type=float_range(0), default=1.0)
    p.add_argument("--sln-lr", type=float_list_range(0, low_open=True), default=[0.01],
                   help="comma list: one SLN per rate, all trained in the same run")
    p.add_argument("--mlp-hidden", type=int_range(0), default=0,
                   help="also train a backprop MLP with this many hidden units (reference, "
                        "not a local rule; 0: none)")
    p.add_argument("--mlp-lr", type=float_range(0, low_open=True), default=1e-3,
                   help="Adam rate of the MLP (cosine-annealed)")
    p.add_argument("--batch-size", type=int_range(1), default=100)
    p.add_argument("--max-steps", type=int_range(1, MAX_STEPS_LIMIT), default=50)
    p.add_argument("--epochs", type=int_range(1), default=20)
    p.add_argument("--inits", type=int_range(1), default=10)
    p.add_argument("--train-samples", type=int_range(1), default=None,
                   help="the first this many training images (default: all)")
    p.add_argument("--test-samples", type=int_range(1), default=None,
                   help="the first this many test images (default: all)")
    p.add_argument("--train-eval", type=int_range(0), default=10000,
                   help="training samples scored per epoch for the train accuracy (at most the "
                        "training set; 0: not measured)")
    p.add_argument("--data-dir", type=existing_dir, default=None)
    p.add_argument("--seed", type=int_range(0), default=0)
    p.add_argument("--no-progress", action="store_true")


def check_model_arguments(parser, args) -> None:
    """Cross-option checks of :func:`model_arguments` (``parser.error``): what rrnn.MLCM
    would refuse with its own parameter names, refused here with the options'."""
    if args.connectivity is not None and args.connectivity >= args.n_units:
        parser.error(f"--connectivity: expected an int <= --n-units - 1 = {args.n_units - 1}, "
                     f"got {args.connectivity}")
    if args.learning_rate * args.weight_decay >= 1:
        parser.error(f"--weight-decay: expected --learning-rate * --weight-decay < 1 "
                     f"(--learning-rate {args.learning_rate:g}), got {args.weight_decay:g}")


def model_defaults() -> dict:
    """The defaults of :func:`model_arguments`: a result file written before an option
    existed resumes when this run leaves the option at its default."""
    p = argparse.ArgumentParser()
    model_arguments(p)
    return vars(p.parse_args([]))


def sln_names(rates):
    """Model name -> SLN learning rate: "sln" for a single rate, "sln_lr=<rate>" for several."""
    if len(rates) == 1:
        return {"sln": rates[0]}
    names = [f"sln_lr={r:g}" for r in rates]
    check_unique_names(names, "--sln-lr")
    return dict(zip(names, rates))


def run(args) -> storage.ResultFile:
    config = {k: v for k, v in vars(args).items() if k not in ("out", "no_progress", "data_dir")}
    slns = sln_names(args.sln_lr)          # refuses rates that share a unit name
    model = MLCM(**mlcm_params(args))
    for name in args.datasets:             # what fit would refuse, before the file exists
        model.check(input_width(name))
    result = storage.ResultFile(args.out, KIND, config, defaults=model_defaults(),
                                extra_attrs={"openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS", ""),
                                             "n_threads": model.thread_count()})
    done = result.done()
    ckpt_dir = Path(str(args.out) + ".ckpt")
    models = [*slns, "mlcm"] + (["mlp"] if args.mlp_hidden else [])
    units = [(d, m, i) for d in args.datasets for i in range(args.inits) for m in models]
    todo = [u for u in units if f"{u[0]}/{u[1]}/init={u[2]}" not in done]
    bar = progress(len(units), len(units) - len(todo), not args.no_progress, unit="run")
    cache = {}
    for name, model_name, init in todo:
        if name not in cache:
            cache = {name: load_data(name, args.train_samples, args.test_samples, args.data_dir)}
        X, y, Xt, yt = cache[name]
        bar.set_postfix_str(f"{name} {model_name} init={init}")
        seed = np.random.SeedSequence(args.seed, spawn_key=(init,))
        t0 = time.perf_counter()
        if model_name in slns:
            model = Perceptron(rule=args.readout, margin=args.readout_margin,
                               learning_rate=slns[model_name], lr_schedule=args.lr_schedule,
                               batch_size=args.batch_size,
                               epochs=args.epochs, n_train_eval=args.train_eval, random_state=seed)
            model.fit(X, y, validation_data=(Xt, yt))
        elif model_name == "mlp":
            model = BackpropMLP(hidden=args.mlp_hidden, learning_rate=args.mlp_lr,
                                batch_size=args.batch_size, epochs=args.epochs,
                                n_train_eval=args.train_eval, random_state=seed)
            model.fit(X, y, validation_data=(Xt, yt))
        else:
            model = MLCM(**mlcm_params(args), random_state=seed)
            ckpt_dir.mkdir(parents=True, exist_ok=True)
            ck = ckpt_dir / f"{name}_init{init}.h5"
            model.fit(X, y, validation_data=(Xt, yt), checkpoint=ck)
        result.write_unit(f"{name}/{model_name}/init={init}", history_arrays(model),
                          {"dataset": name, "model": model_name, "init": init,
                           "seconds": time.perf_counter() - t0,
                           "seed_entropy": str(seed.entropy)})
        bar.update(1)
    bar.close()
    summarise(result)
    return result


def collect(path):
    """(dataset, model) -> dict of stacked arrays (inits, epochs[, layers])."""
    out: dict = {}
    for unit in storage.read_units(path).values():
        a = unit["attrs"]
        e = out.setdefault((str(a["dataset"]), str(a["model"])), {})
        for k, v in unit.items():
            if k != "attrs":
                e.setdefault(k, []).append(v)
    return {key: {k: np.stack(v) for k, v in e.items()} for key, e in out.items()}


def summarise(result):
    data = collect(result.path)
    names, rows = [], []
    for (name, model), e in sorted(data.items()):
        m, h = ci95(e["val_accuracy"][:, -1])
        mt, ht = ci95(e["train_accuracy"][:, -1])
        names.append(f"{name}/{model}")
        rows.append([m, h, mt, ht, e["val_accuracy"].shape[0], e["seconds"].sum(1).mean()])
    if rows:
        result.write_summary({"runs": np.array(names, dtype="S"), "final": np.array(rows)},
                             {"columns": "val_mean,val_ci95,train_mean,train_ci95,inits,train_seconds"})
        for n, r in zip(names, rows):
            # --train-eval 0: no train accuracy was measured (NaN in the file)
            train = (f"train {100 * r[2]:6.2f} +- {100 * r[3]:.2f}%" if np.isfinite(r[2])
                     else "train not measured")
            print(f"{n:28s} val {100 * r[0]:6.2f} +- {100 * r[1]:.2f}%   {train}   "
                  f"({int(r[4])} inits, {r[5]:.0f} s train)")


def plot(path, png=None) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    data = collect(path)
    names = [d for d in DATASETS if any(k[0] == d for k in data)]
    fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 4), squeeze=False)
    models = sorted({k[1] for k in data}, key=lambda m: (m != "mlcm", m))
    colors = dict(zip(models, ["C0", "C3", "C1", "C2", "C4", "C5", "C6"] * len(models)))
    for ax, name in zip(axes[0], names):
        for model in models:
            if (name, model) not in data:
                continue
            color = colors[model]
            e = data[(name, model)]
            ep = np.arange(1, e["val_accuracy"].shape[1] + 1)
            for key, style in (("train_accuracy", "--"), ("val_accuracy", "-")):
                if np.all(np.isnan(e[key])):        # --train-eval 0: not measured
                    continue
                m, h = ci95(e[key])
                label = "MLP (backprop)" if model == "mlp" else model.upper().replace("_LR", " lr")
                ax.plot(ep, m, style, color=color,
                        label=f"{label} {'train' if key[0] == 't' else 'validation'}")
                ax.fill_between(ep, *accuracy_band(m, h), color=color, alpha=0.2)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.set_ylabel("accuracy")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return save_figure(fig, path, png)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="results/mlcm_baseline.h5")
    p.add_argument("--datasets", type=choice_list(list(DATASETS)), default=THESIS_DATASETS,
                   help=f"some of {', '.join(DATASETS)}; *-grey needs --input-density or --input-patch")
    model_arguments(p)
    args = p.parse_args(argv)
    if len(set(args.datasets)) != len(args.datasets):
        p.error(f"--datasets: expected distinct names, got {','.join(args.datasets)}")
    check_model_arguments(p, args)
    grey = [d for d in args.datasets if DATASETS[d][1] == "grey"]
    if grey and args.input_density is None and args.input_patch is None:
        # without input weights the pixels would be the layer's initial states, which are +-1
        p.error(f"--datasets {','.join(grey)}: grey levels enter through input weights; "
                f"add --input-density or --input-patch")
    check_sample_counts(p, args.datasets, args.data_dir, args.train_samples, args.test_samples)
    run(args)
    print("figure:", plot(args.out))


if __name__ == "__main__":
    run_main(main)
