"""Fixed-point counts against the annealed theory, and sync cycle lengths below J_D*.

Part 1: for N up to ~28, the exact number of fixed points of random
+-1/sqrt(N) networks (Gray-code enumeration), averaged over coupling draws,
against the exact annealed mean (p_+ + p_-)^N and its large-N limit
exp(N ln[1 + erf(J_D/sqrt 2)]).

Part 2: the distribution of sync cycle lengths (Brent detection) of random
initial states at self-couplings below J_D*, at a few sizes.

    python analysis/fixed_points.py --out results/fixed_points.h5
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

import rrnn
from rrnn import storage
from rrnn.self_coupling import initial_states

from _common import pyplot, save_figure, common_arguments, float_list, int_list, progress

KIND = "fixed_points_and_cycles"


def run(args) -> storage.ResultFile:
    config = dict(count_sizes=args.count_sizes, count_draws=args.count_draws, jd_grid=args.jd,
                  cycle_sizes=args.cycle_sizes, cycle_jd=args.cycle_jd, cycle_draws=args.cycle_draws,
                  cycle_inits=args.cycle_inits, max_steps=args.max_steps, seed=args.seed)
    result = storage.ResultFile(args.out, KIND, config, extra_attrs=dict(backend=args.backend or "auto"))
    done = result.done()
    units = [("count", n) for n in args.count_sizes] + [("cycles", n) for n in args.cycle_sizes]
    todo = [u for u in units if f"{u[0]}/n={u[1]}" not in done]
    bar = progress(len(units), len(units) - len(todo), not args.no_progress)
    for what, n in todo:
        bar.set_postfix_str(f"{what} N={n}")
        t0 = time.perf_counter()
        if what == "count":
            counts = np.zeros((args.count_draws, len(args.jd)), dtype=np.int64)
            for d in range(args.count_draws):
                J = rrnn.couplings.binary(n, seed=np.random.SeedSequence(args.seed, spawn_key=(n, d)),
                                          backend=args.backend)
                for k, jd in enumerate(args.jd):
                    counts[d, k] = rrnn.count_fixed_points(J, jd, backend=args.backend,
                                                           n_threads=args.threads)
            result.write_unit(f"count/n={n}", {"counts": counts},
                              {"n": n, "seconds": time.perf_counter() - t0})
        else:
            periods = np.zeros((args.cycle_draws, len(args.cycle_jd), args.cycle_inits), dtype=np.int64)
            for d in range(args.cycle_draws):
                ds = np.random.SeedSequence(args.seed, spawn_key=(n, d, 1))
                J = rrnn.couplings.binary(n, seed=ds, backend=args.backend, n_threads=args.threads)
                s0 = initial_states(n, args.cycle_inits, ds)
                rows = np.tile(s0, (len(args.cycle_jd), 1))
                jd = np.repeat(args.cycle_jd, args.cycle_inits)
                res = rrnn.simulate(J, rows, self_coupling=jd, max_steps=args.max_steps,
                                    backend=args.backend, n_threads=args.threads)
                periods[d] = res.period.reshape(len(args.cycle_jd), args.cycle_inits)
            result.write_unit(f"cycles/n={n}", {"period": periods},
                              {"n": n, "seconds": time.perf_counter() - t0})
        bar.update(1)
    bar.close()
    return result


def plot(path, png=None) -> Path:
    plt = pyplot()

    _, config = storage.read_config(path)
    units = storage.read_units(path)
    jd = np.asarray(config["jd_grid"])
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.8))
    sizes = sorted(int(u["attrs"]["n"]) for k, u in units.items() if k.startswith("count/"))
    colors = plt.cm.viridis(np.linspace(0, 0.9, max(1, len(sizes))))
    for color, n in zip(colors, sizes):
        counts = units[f"count/n={n}"]["counts"].astype(np.float64)
        mean = counts.mean(0)
        sem = counts.std(0, ddof=1) / math.sqrt(counts.shape[0])
        ax1.errorbar(jd, np.log(mean) / n, yerr=sem / mean / n, fmt="o", ms=3, color=color,
                     capsize=2, label=f"N={n} (enumeration, {counts.shape[0]} draws)")
        ax1.plot(jd, [rrnn.annealed_log_fixed_points(n, j) / n for j in jd], "-", color=color, lw=1)
    fine = np.linspace(jd.min(), jd.max(), 200)
    ax1.plot(fine, rrnn.annealed_entropy(fine), "k--", lw=1.5, label=r"$\ln[1+\mathrm{erf}(J_D/\sqrt{2})]$ (N$\to\infty$)")
    ax1.set_xlabel(r"$J_D$")
    ax1.set_ylabel(r"$\frac{1}{N}\ln \langle \#\mathrm{FP} \rangle$")
    ax1.set_title("Fixed points: enumeration (dots) vs exact annealed mean (lines)")
    ax1.legend(fontsize=7)
    ax1.grid(alpha=0.3)

    cyc = sorted(int(u["attrs"]["n"]) for k, u in units.items() if k.startswith("cycles/"))
    cjd = config["cycle_jd"]
    width = 0.8 / max(1, len(cyc) * len(cjd))
    k = 0
    for n in cyc:
        per = units[f"cycles/n={n}"]["period"]
        for j, jdv in enumerate(cjd):
            p = per[:, j].ravel()
            labels = ["FP", "2", "3-4", "5-16", ">16", "none"]
            bins = [np.mean(p == 0), np.mean(p == 2), np.mean((p >= 3) & (p <= 4)),
                    np.mean((p >= 5) & (p <= 16)), np.mean(p > 16), np.mean(p == -1)]
            ax2.bar(np.arange(6) + k * width, bins, width, label=f"N={n}, $J_D$={jdv}")
            k += 1
    ax2.set_xticks(np.arange(6) + 0.4 - width / 2)
    ax2.set_xticklabels(["fixed point", "period 2", "3-4", "5-16", ">16", "undetected"])
    ax2.set_ylabel("fraction of trajectories")
    ax2.set_title(f"Sync attractors below J_D* (max {config['max_steps']} steps)")
    ax2.legend(fontsize=6, ncol=2)
    return save_figure(fig, path, png)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="results/fixed_points.h5")
    p.add_argument("--count-sizes", type=int_list, default=[8, 12, 16, 20, 24, 28])
    p.add_argument("--count-draws", type=int, default=20)
    p.add_argument("--jd", type=float_list, default=[0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5])
    p.add_argument("--cycle-sizes", type=int_list, default=[1000, 4000])
    p.add_argument("--cycle-jd", type=float_list, default=[0.0, 0.2, 0.4])
    p.add_argument("--cycle-draws", type=int, default=4)
    p.add_argument("--cycle-inits", type=int, default=16)
    p.add_argument("--max-steps", type=int, default=2000)
    common_arguments(p)
    args = p.parse_args(argv)
    result = run(args)
    print(f"wrote {result.path} and {plot(result.path)}")


if __name__ == "__main__":
    main()
