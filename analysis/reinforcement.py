"""Sparse positive reinforcement: the (d, a) plane (thesis section 3.2, figure 3.3).

Couplings ``J = gaussian(N) + sparse_reinforcement(N, d, a)`` (Gaussian std
1/sqrt(N), about N^d entries equal to a), synchronous dynamics with
T_max = 500 from random initial states. For every (d, a) the driver stores
the steps, convergence flags and whether the fixed point is trivial (all +1
or all -1). Regimes, per grid point:

- chaotic: fewer than half of the trajectories converge within T_max;
- trivial: at least half of the trajectories end in the all +1 / all -1 state;
- intermediate: the rest (convergence to non-trivial fixed points).

d_min(N) is the smallest d at which some a reaches the intermediate or
trivial regime. Units are (N, d): one Gaussian draw per (N, draw) is shared
by every (d, a) of the grid, so the plane is not blurred by J noise.

    python analysis/reinforcement.py --out results/reinforcement.h5

HDF5 layout (kind ``"sparse_reinforcement_plane"``; the a axis follows config["a_grid"])::

    /units/n=<N>/d=<d:.4f>/steps      (draws, a_points, inits) int64  sync steps
    /units/n=<N>/d=<d:.4f>/converged  (draws, a_points, inits) bool   ended at a fixed point
    /units/n=<N>/d=<d:.4f>/trivial    (draws, a_points, inits) bool   ... at all +1 or all -1
                            attrs: n, d, seconds
    no /summary; root attributes and /runs: see rrnn.storage (run metadata: backend,
    backend_used, n_threads)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import rrnn
from rrnn import storage
from rrnn.dynamics import MAX_STEPS_LIMIT
from rrnn.self_coupling import initial_states

from _common import (backend_attrs, check_unique_names, common_arguments, float_range,
                     int_list_range, int_range, progress, pyplot, run_main, save_figure)

KIND = "sparse_reinforcement_plane"


def run(args) -> storage.ResultFile:
    d_grid = np.round(np.linspace(args.d_min, args.d_max, args.d_points), 6)
    a_grid = np.round(np.linspace(args.a_min, args.a_max, args.a_points), 6)
    check_unique_names((f"d={d:.4f}" for d in d_grid), "--d-min/--d-max/--d-points")
    # a is stored by grid index, rounded to 6 digits: two equal values would be one point twice
    check_unique_names((f"a={a:.6f}" for a in a_grid), "--a-min/--a-max/--a-points")
    config = dict(sizes=args.sizes, d_grid=d_grid.tolist(), a_grid=a_grid.tolist(),
                  draws=args.draws, inits=args.inits, max_steps=args.max_steps, seed=args.seed)
    result = storage.ResultFile(args.out, KIND, config, extra_attrs=backend_attrs(args))
    done = result.done()
    units = [(n, k) for n in args.sizes for k in range(d_grid.size)]
    cost = {n: n * n for n in args.sizes}
    todo = [u for u in units if f"n={u[0]}/d={d_grid[u[1]]:.4f}" not in done]
    total = sum(cost[n] for n, _ in units)
    bar = progress(total, total - sum(cost[n] for n, _ in todo), not args.no_progress)
    gaussians: dict = {}
    for n, k in todo:
        d = float(d_grid[k])
        bar.set_postfix_str(f"N={n} d={d:.3f}")
        t0 = time.perf_counter()
        shape = (args.draws, a_grid.size, args.inits)
        steps = np.zeros(shape, dtype=np.int64)
        converged = np.zeros(shape, dtype=bool)
        trivial = np.zeros(shape, dtype=bool)
        for draw in range(args.draws):
            ds = np.random.SeedSequence(args.seed, spawn_key=(n, draw))
            if (n, draw) not in gaussians:
                gaussians = {(n, draw): rrnn.couplings.gaussian(n, seed=ds)}   # keep one in memory
            G = gaussians[(n, draw)]
            s0 = initial_states(n, args.inits, ds)
            for j, a in enumerate(a_grid):
                A = rrnn.couplings.sparse_reinforcement(
                    n, d, float(a), seed=np.random.SeedSequence(args.seed, spawn_key=(n, draw, k, j)))
                res = rrnn.simulate(G + A, s0, max_steps=args.max_steps, backend=args.backend,
                                    n_threads=args.threads)
                steps[draw, j] = res.steps
                converged[draw, j] = res.converged
                total_spin = res.states.astype(np.int64).sum(axis=1)
                trivial[draw, j] = res.converged & (np.abs(total_spin) == n)
        result.write_unit(f"n={n}/d={d:.4f}", {"steps": steps, "converged": converged, "trivial": trivial},
                          {"n": n, "d": d, "seconds": time.perf_counter() - t0})
        bar.update(cost[n])
    bar.close()
    return result


CHAOTIC, INTERMEDIATE, TRIVIAL = 0, 1, 2


def analyse(path) -> dict:
    """Per N: mean iterations, fraction converged, fraction trivial, regime map, d_min."""
    _, config = storage.read_config(path)
    d_grid, a_grid = np.asarray(config["d_grid"]), np.asarray(config["a_grid"])
    units = storage.read_units(path)
    out = {}
    for n in config["sizes"]:
        shape = (d_grid.size, a_grid.size)
        mean_steps = np.full(shape, np.nan)
        frac_conv = np.full(shape, np.nan)
        frac_triv = np.full(shape, np.nan)
        for k, d in enumerate(d_grid):
            u = units.get(f"n={n}/d={d:.4f}")
            if u is None:
                continue
            mean_steps[k] = u["steps"].mean(axis=(0, 2))
            frac_conv[k] = u["converged"].mean(axis=(0, 2))
            frac_triv[k] = u["trivial"].mean(axis=(0, 2))
        regime = np.where(frac_conv < 0.5, CHAOTIC, np.where(frac_triv >= 0.5, TRIVIAL, INTERMEDIATE))
        regime = np.where(np.isnan(frac_conv), -1, regime)
        rows_ok = np.any(regime >= INTERMEDIATE, axis=1)
        d_min = float(d_grid[np.argmax(rows_ok)]) if rows_ok.any() else float("nan")
        out[n] = dict(mean_steps=mean_steps, converged=frac_conv, trivial=frac_triv,
                      regime=regime, d_min=d_min)
    return {"d": d_grid, "a": a_grid, "per_n": out}


def plot(path, png=None) -> Path:
    plt = pyplot()
    from matplotlib.colors import ListedColormap

    res = analyse(path)
    d, a, per_n = res["d"], res["a"], res["per_n"]
    sizes = list(per_n)
    fig, axes = plt.subplots(4, len(sizes) + 1, figsize=(4.2 * (len(sizes) + 1), 14), squeeze=False)
    # a one-point axis (--a-points 1 / --d-points 1) is drawn as a cell of width 0.1
    da = (a[-1] - a[0]) / max(1, a.size - 1) / 2 or 0.05
    dd = (d[-1] - d[0]) / max(1, d.size - 1) / 2 or 0.05
    extent = [a[0] - da, a[-1] + da, d[0] - dd, d[-1] + dd]       # cells centred on grid points
    for col, n in enumerate(sizes):
        e = per_n[n]
        panels = [(e["mean_steps"], "viridis", "mean iterations"),
                  (e["converged"], "magma", "fraction converged"),
                  (e["trivial"], "cividis", "fraction ending all +1 / all -1"),
                  (np.ma.masked_less(e["regime"], 0), ListedColormap(["#f2e600", "#2a9d8f", "#5e3c99"]),
                   "regime: chaotic / intermediate / trivial")]
        regime_row = len(panels) - 1
        for row, (data, cmap, title) in enumerate(panels):
            ax = axes[row, col]
            kw = dict(vmin=0, vmax=2) if row == regime_row else {}
            im = ax.imshow(data, origin="lower", aspect="auto", extent=extent, cmap=cmap,
                           interpolation="nearest", **kw)
            ax.set_title(f"N={n}: {title}", fontsize=8)
            ax.set_xlabel("reinforcement strength a")
            ax.set_ylabel("density exponent d")
            if row < regime_row:
                fig.colorbar(im, ax=ax, fraction=0.046)
            if row == regime_row and np.isfinite(e["d_min"]):
                ax.axhline(e["d_min"], color="red", lw=1, ls="--")
    ax = axes[0, -1]
    ns = np.array(sizes, dtype=float)
    dmins = np.array([per_n[n]["d_min"] for n in sizes])
    ax.plot(ns, dmins, "o-")
    ok = np.isfinite(dmins)
    if ok.sum() >= 2:
        slope, icpt = np.polyfit(np.log10(ns[ok]), dmins[ok], 1)
        ax.set_title(f"d_min(N): slope {slope:+.3f} per decade", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("N")
    ax.set_ylabel("d_min")
    ax.grid(alpha=0.3)
    for ax in axes[1:, -1]:
        ax.axis("off")
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    axes[-1, -1].legend(handles=[Patch(color="#f2e600", label="chaotic: < 1/2 converge in T_max"),
                                Patch(color="#2a9d8f", label="intermediate: non-trivial fixed points"),
                                Patch(color="#5e3c99", label="trivial: >= 1/2 end all +1 / all -1"),
                                Line2D([], [], color="red", ls="--", label="d_min(N)")],
                       loc="center left", fontsize=8, title="regime map")
    return save_figure(fig, path, png)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="results/reinforcement.h5")
    p.add_argument("--sizes", type=int_list_range(2), default=[100, 1000, 10000])
    # the density exponent of rrnn.couplings.sparse_reinforcement: about N**d entries, d in [0, 2]
    p.add_argument("--d-min", type=float_range(0, 2), default=1.0)
    p.add_argument("--d-max", type=float_range(0, 2), default=2.0)
    p.add_argument("--d-points", type=int_range(1), default=11)
    p.add_argument("--a-min", type=float_range(), default=0.0)
    p.add_argument("--a-max", type=float_range(), default=1.0)
    p.add_argument("--a-points", type=int_range(1), default=11)
    p.add_argument("--draws", type=int_range(1), default=1)
    p.add_argument("--inits", type=int_range(1), default=8)
    p.add_argument("--max-steps", type=int_range(1, MAX_STEPS_LIMIT), default=500)
    common_arguments(p)
    args = p.parse_args(argv)
    if len(set(args.sizes)) != len(args.sizes):
        p.error(f"--sizes: expected distinct values, got {','.join(map(str, args.sizes))}")
    for x in ("d", "a"):
        low, high, points = (getattr(args, f"{x}_{k}") for k in ("min", "max", "points"))
        if points == 1 and high != low:
            p.error(f"--{x}-max: with --{x}-points 1 the grid is --{x}-min only; expected "
                    f"--{x}-max equal to --{x}-min ({low:g}), got {high:g}")
        if points > 1 and not low < high:
            p.error(f"--{x}-min: expected a value below --{x}-max ({high:g}), got {low:g}")
    result = run(args)
    res = analyse(result.path)
    for n, e in res["per_n"].items():
        print(f"N={n}: d_min = {e['d_min']}")
    print(f"wrote {result.path} and {plot(result.path)}")


if __name__ == "__main__":
    run_main(main)
