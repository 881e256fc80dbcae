"""Fixed-point counts against the annealed theory, and sync cycle lengths below J_D*.

Part 1: for N up to ~28, the exact number of fixed points of random
+-1/sqrt(N) networks (Gray-code enumeration), averaged over coupling draws,
against the exact annealed mean (p_+ + p_-)^N and its large-N limit
exp(N ln[1 + erf(J_D/sqrt 2)]).

Part 2: the distribution of sync cycle lengths (Brent detection) of random
initial states at self-couplings below J_D*. Below J_D* the attractors of
these asymmetric networks are cycles whose length grows exponentially with N
(period-2 cycles, common in symmetric networks, are rare here), so cycles are
only detectable within a step budget for small N: the default sizes are
16..64, and the fraction of undetected trajectories is drawn too.

    python analysis/fixed_points.py --out results/fixed_points.h5

HDF5 layout (kind ``"fixed_points_and_cycles"``)::

    /units/count/n=<N>/counts    (count_draws, jd) int64   fixed points per draw and J_D
                       attrs: n, seconds
    /units/cycles/n=<N>/period   (cycle_draws, cycle_jd, cycle_inits) int64  sync attractor:
                                 0 fixed point, k >= 1 cycle length, -1 none in max_steps
                        attrs: n, seconds
    no /summary; root attributes and /runs: see rrnn.storage (run metadata: backend,
    backend_used, n_threads)
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

import rrnn
from rrnn import storage
from rrnn.dynamics import MAX_STEPS_LIMIT
from rrnn.fixed_points import MAX_N as MAX_COUNT_N
from rrnn.self_coupling import initial_states

from _common import (backend_attrs, common_arguments, float_list, int_list_range, int_range,
                     progress, pyplot, run_main, save_figure)

KIND = "fixed_points_and_cycles"


def run(args) -> storage.ResultFile:
    config = dict(count_sizes=args.count_sizes, count_draws=args.count_draws, jd_grid=args.jd,
                  cycle_sizes=args.cycle_sizes, cycle_jd=args.cycle_jd, cycle_draws=args.cycle_draws,
                  cycle_inits=args.cycle_inits, max_steps=args.max_steps, seed=args.seed)
    result = storage.ResultFile(args.out, KIND, config, extra_attrs=backend_attrs(args))
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
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(19, 4.8), gridspec_kw=dict(width_ratios=[1.2, 1.2, 0.8]))
    sizes = sorted(int(u["attrs"]["n"]) for k, u in units.items() if k.startswith("count/"))
    colors = plt.cm.viridis(np.linspace(0, 0.9, max(1, len(sizes))))
    for color, n in zip(colors, sizes):
        counts = units[f"count/n={n}"]["counts"].astype(np.float64)
        mean = counts.mean(0)
        sem = counts.std(0, ddof=1) / math.sqrt(counts.shape[0])
        # a J_D with no fixed point in any draw (small N, small J_D) has no point on
        # the log scale: leave it out rather than warn about log(0) and 0/0
        seen = mean > 0
        ax1.errorbar(jd[seen], np.log(mean[seen]) / n, yerr=sem[seen] / mean[seen] / n,
                     fmt="o", ms=3, color=color,
                     capsize=2, label=f"N={n} (enumeration, {counts.shape[0]} draws)")
    fine = np.linspace(jd.min(), jd.max(), 400)
    for color, n in zip(colors, sizes):
        # the exact finite-N annealed mean is a step function of J_D: the fields
        # of +-1/sqrt(N) couplings take discrete values
        ax1.plot(fine, [rrnn.annealed_log_fixed_points(n, j) / n for j in fine], "-", color=color, lw=0.8)
    ax1.plot(fine, rrnn.annealed_entropy(fine), "k--", lw=1.5, label=r"$\ln[1+\mathrm{erf}(J_D/\sqrt{2})]$ (N$\to\infty$)")
    ax1.set_xlabel(r"$J_D$")
    ax1.set_ylabel(r"$\frac{1}{N}\ln \langle \#\mathrm{FP} \rangle$")
    ax1.set_title("Fixed points: enumeration (dots) vs exact annealed mean (lines)")
    ax1.legend(fontsize=7)
    ax1.grid(alpha=0.3)

    # Cycle lengths: every detected period (dots, jittered in N), the median per
    # (N, J_D) (line) and the fraction of trajectories with no detected
    # attractor within max_steps (numbers).
    cyc = sorted(int(u["attrs"]["n"]) for k, u in units.items() if k.startswith("cycles/"))
    cjd = config["cycle_jd"]
    colors = plt.cm.plasma(np.linspace(0, 0.8, max(1, len(cjd))))
    jitter = np.random.default_rng(0)
    any_found = False
    for j, (jdv, color) in enumerate(zip(cjd, colors)):
        medians = []
        for n in cyc:
            p = units[f"cycles/n={n}"]["period"][:, j].ravel()
            found = p[p >= 1]
            any_found |= found.size > 0
            x = n * (1 + 0.04 * (j - (len(cjd) - 1) / 2)) * np.exp(0.02 * jitter.standard_normal(found.size))
            ax2.scatter(x, found, s=4, color=color, alpha=0.35)
            medians.append(np.median(found) if found.size >= 5 else np.nan)
        ax3.plot(cyc, [np.mean(units[f"cycles/n={n}"]["period"][:, j] == 0) for n in cyc], "o-",
                 color=color, ms=4, label=f"$J_D$={jdv}: fixed point")
        ax3.plot(cyc, [np.mean(units[f"cycles/n={n}"]["period"][:, j] == -1) for n in cyc], "s--",
                 color=color, ms=4, label=f"$J_D$={jdv}: none detected")
        ax2.plot(cyc, medians, "o-", color=color, lw=1.2, ms=4, label=f"$J_D$={jdv} (median cycle)")
    if any_found:
        ax2.set_xscale("log")
        ax2.set_yscale("log")
        ax2.set_ylim(1, None)
    ax2.set_xlabel("N")
    ax2.set_ylabel("cycle length (sync steps)")
    ax2.set_title(f"Sync cycle lengths below J_D* (Brent detection, max {config['max_steps']} steps)")
    ax2.grid(True, which="both", alpha=0.3)
    ax2.legend(fontsize=7)
    ax3.set_xlabel("N")
    ax3.set_ylabel("fraction of trajectories")
    ax3.set_ylim(-0.02, 1.02)
    ax3.set_title("Attractor found (rest: a cycle)")
    ax3.grid(True, alpha=0.3)
    ax3.legend(fontsize=6)
    return save_figure(fig, path, png)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="results/fixed_points.h5")
    # enumeration visits all 2**N states: N <= rrnn.fixed_points.MAX_N (32)
    p.add_argument("--count-sizes", type=int_list_range(2, MAX_COUNT_N), default=[8, 12, 16, 20, 24, 28])
    # the figure's error bars are standard errors over draws (ddof=1): two or more
    p.add_argument("--count-draws", type=int_range(2), default=20)
    p.add_argument("--jd", type=float_list, default=[0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5])
    p.add_argument("--cycle-sizes", type=int_list_range(2), default=[16, 24, 32, 40, 48, 56, 64])
    p.add_argument("--cycle-jd", type=float_list, default=[0.0, 0.2, 0.3])
    p.add_argument("--cycle-draws", type=int_range(1), default=4)
    p.add_argument("--cycle-inits", type=int_range(1), default=32)
    p.add_argument("--max-steps", type=int_range(1, MAX_STEPS_LIMIT), default=200000)
    common_arguments(p)
    args = p.parse_args(argv)
    for name in ("count_sizes", "cycle_sizes"):
        values = getattr(args, name)
        if len(set(values)) != len(values):
            p.error(f"--{name.replace('_', '-')}: expected distinct values, "
                    f"got {','.join(map(str, values))}")
    result = run(args)
    print(f"wrote {result.path} and {plot(result.path)}")


if __name__ == "__main__":
    run_main(main)
