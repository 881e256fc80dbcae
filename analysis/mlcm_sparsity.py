"""Sparsity in {0, 1} MLCMs on MNIST (thesis 7.2.1 and 7.2.2, figure 7.3).

``--mode threshold``: a fixed threshold gamma in {0, 0.025, 0.05, 0.1, 0.15, 0.2} for all
layers. ``--mode wta``: winner-takes-all activity delta in {0.5, 0.475, 0.45, 0.4, 0.35}
in the middle layers, threshold 0 in the first and last. Architecture and the other
hyperparameters as in 7.1; 25 epochs, 5 initialisations. Per unit
``<mode>/value=<v>/init=<i>``: accuracies per epoch, the activity (fraction of units
at 1) per layer and epoch, in the clamped training phase and in the free phase on
the validation set. Figure: (a) final activity per layer and final accuracies against
the parameter, (b) validation accuracy per epoch, 95% bands.

    OPENBLAS_NUM_THREADS=1 python analysis/mlcm_sparsity.py --mode threshold --out results/mlcm_threshold.h5
    OPENBLAS_NUM_THREADS=1 python analysis/mlcm_sparsity.py --mode wta --out results/mlcm_wta.h5

HDF5 layout (kind ``"mlcm_sparsity"`` in both modes, config["mode"] tells them apart;
E = --epochs, L = --n-layers; <v> is the float as Python prints it, e.g. 0.0, 0.025)::

    /units/<mode>/value=<v>/init=<i>/train_accuracy, val_accuracy, seconds, mean_steps,
                                     val_mean_steps, converged
                                                       (E,) float64    as in mlcm_baseline
    /units/<mode>/value=<v>/init=<i>/sparsity, val_sparsity
                                                       (E, L) float64  activity per layer
                            attrs: value, init, seconds, seed_entropy (str)
    no /summary; root attributes and /runs: see rrnn.storage (run metadata: n_threads, the
    numba threads)
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import time
from pathlib import Path

import numpy as np

from rrnn import storage
from rrnn.mlcm import MLCM

from _common import float_list_range, progress, save_figure, run_main
from mlcm_baseline import (accuracy_band, check_model_arguments, check_sample_counts, ci95,
                           history_arrays, input_width, load_data, mlcm_params, model_arguments,
                           model_defaults)

KIND = "mlcm_sparsity"
DEFAULT_VALUES = {"threshold": [0.0, 0.025, 0.05, 0.1, 0.15, 0.2],
                  "wta": [0.5, 0.475, 0.45, 0.4, 0.35]}


def _mode_params(args, value) -> dict:
    """Heaviside units with a fixed threshold or a winner-takes-all sparsity of ``value``."""
    return {"activation": "heaviside", ("threshold" if args.mode == "threshold" else "sparsity"): value}


def run(args) -> storage.ResultFile:
    config = {k: v for k, v in vars(args).items() if k not in ("out", "no_progress", "data_dir")}
    for value in args.values:              # what fit would refuse, before the file exists
        MLCM(**mlcm_params(args, **_mode_params(args, value))).check(input_width("mnist"))
    result = storage.ResultFile(args.out, KIND, config, defaults=model_defaults(),
                                extra_attrs={"n_threads": MLCM(**mlcm_params(args)).thread_count()})
    done = result.done()
    ckpt_dir = Path(str(args.out) + ".ckpt")
    # Initialisation-major: an interrupted run has every value at the first inits,
    # so its figure already spans the whole parameter range.
    units = [(v, i) for i in range(args.inits) for v in args.values]
    todo = [u for u in units if f"{args.mode}/value={u[0]}/init={u[1]}" not in done]
    bar = progress(len(units), len(units) - len(todo), not args.no_progress, unit="run")
    X, y, Xt, yt = load_data("mnist", args.train_samples, args.test_samples, args.data_dir)
    for value, init in todo:
        bar.set_postfix_str(f"{args.mode}={value} init={init}")
        seed = np.random.SeedSequence(args.seed, spawn_key=(init,))
        model = MLCM(**mlcm_params(args, **_mode_params(args, value)), random_state=seed)
        ckpt_dir.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        model.fit(X, y, validation_data=(Xt, yt), checkpoint=ckpt_dir / f"{value}_init{init}.h5")
        result.write_unit(f"{args.mode}/value={value}/init={init}", history_arrays(model),
                          {"value": value, "init": init, "seconds": time.perf_counter() - t0,
                           "seed_entropy": str(seed.entropy)})
        bar.update(1)
    bar.close()
    return result


def collect(path):
    out: dict = {}
    for unit in storage.read_units(path).values():
        e = out.setdefault(float(unit["attrs"]["value"]), {})
        for k, v in unit.items():
            if k != "attrs":
                e.setdefault(k, []).append(v)
    return {v: {k: np.stack(a) for k, a in e.items()} for v, e in sorted(out.items())}


def summary_table(mode, data) -> str:
    """Markdown table, one row per value: initialisations done, mean validation accuracy
    after epoch 1, the best epoch of the mean curve, final validation (with its 95%
    half-width) and train accuracy, and the final free-phase activity per layer."""
    name = "gamma" if mode == "threshold" else "delta"
    rows = [f"| {name} | inits | validation after epoch 1 | best (epoch) | final validation | "
            "final train | activity per layer |", "|---|---|---|---|---|---|---|"]
    for v, e in data.items():
        val = e["val_accuracy"]
        curve = val.mean(0)
        best = int(np.argmax(curve))
        m, h = ci95(val[:, -1])
        final = f"{100 * m:.1f} ± {100 * h:.1f}%" if len(val) > 1 else f"{100 * m:.1f}%"
        activity = " / ".join(f"{a:.2f}" for a in e["val_sparsity"][:, -1].mean(0))
        train = e["train_accuracy"][:, -1].mean()
        train = f"{100 * train:.1f}%" if np.isfinite(train) else "not measured"   # --train-eval 0
        rows.append(f"| {v:g} | {len(val)} | {100 * curve[0]:.1f}% | {100 * curve[best]:.1f}% "
                    f"({best + 1}) | {final} | {train} | {activity} |")
    return "\n".join(rows)


def plot(path, png=None) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    _, config = storage.read_config(path)
    mode = config["mode"]
    data = collect(path)
    values = np.array(sorted(data))
    label = r"threshold $\gamma$" if mode == "threshold" else r"WTA activity $\delta$"
    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(16, 4.2))
    n_layers = next(iter(data.values()))["val_sparsity"].shape[-1]

    def final_band(key, *index):
        # per value, since an interrupted run may hold one init more for some values
        mh = np.array([ci95(data[v][key][(slice(None), -1) + index]) for v in values])
        return mh[:, 0], mh[:, 1]

    for l in range(n_layers):
        m, h = final_band("val_sparsity", l)
        a1.errorbar(values, m, yerr=h, marker="o", capsize=3, label=f"layer {l + 1}")
    a1.set_xlabel(label)
    a1.set_ylabel("fraction of active units (free phase, final epoch)")
    a1.legend(fontsize=7)
    for key, name in (("train_accuracy", "train"), ("val_accuracy", "validation")):
        if all(np.all(np.isnan(data[v][key])) for v in values):   # --train-eval 0
            continue
        m, h = final_band(key)
        lo, hi = accuracy_band(m, h)
        a2.errorbar(values, m, yerr=[m - lo, hi - m], marker="o", capsize=3, label=name)
    a2.set_xlabel(label)
    a2.set_ylabel("final accuracy")
    a2.legend()
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(values)))
    for c, v in zip(colors, values):
        acc = data[v]["val_accuracy"]
        m, h = ci95(acc)
        ep = np.arange(1, acc.shape[1] + 1)
        a3.plot(ep, m, color=c, label=f"{v:g}")
        a3.fill_between(ep, *accuracy_band(m, h), color=c, alpha=0.2)
    a3.set_xlabel("epoch")
    a3.set_ylabel("validation accuracy")
    a3.legend(title=label, fontsize=7)
    for ax in (a1, a2, a3):
        ax.grid(alpha=0.3)
    return save_figure(fig, path, png)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mode", choices=list(DEFAULT_VALUES), required=True)
    p.add_argument("--out", default=None)
    p.add_argument("--values", type=float_list_range(0), default=None,
                   help="thresholds gamma >= 0 (--mode threshold) or WTA activities delta in "
                        "(0, 1] (--mode wta); default: the thesis's")
    model_arguments(p)
    p.set_defaults(epochs=25, inits=5)
    args = p.parse_args(argv)
    # The baseline's reference models are not trained here; their options stay in the
    # parser (and the stored config) only so that older result files still resume.
    for dest, option in (("sln_lr", "--sln-lr"), ("mlp_hidden", "--mlp-hidden"),
                         ("mlp_lr", "--mlp-lr")):
        if getattr(args, dest) != p.get_default(dest):
            p.error(f"{option}: not used by mlcm_sparsity (it trains the MLCM only; see "
                    f"mlcm_baseline.py), got {getattr(args, dest)!r}")
    if args.values is not None:
        if args.mode == "wta" and not all(0 < v <= 1 for v in args.values):
            p.error(f"--values: expected WTA activities in (0, 1] with --mode wta, "
                    f"got {','.join(map(str, args.values))}")
        if len(set(args.values)) != len(args.values):
            p.error(f"--values: expected distinct values, got {','.join(map(str, args.values))}")
    check_model_arguments(p, args)
    check_sample_counts(p, ["mnist"], args.data_dir, args.train_samples, args.test_samples)
    args.values = args.values or DEFAULT_VALUES[args.mode]
    args.out = args.out or f"results/mlcm_{args.mode}.h5"
    result = run(args)
    print(summary_table(args.mode, collect(result.path)))
    print("figure:", plot(args.out))


if __name__ == "__main__":
    run_main(main)
