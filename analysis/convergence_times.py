"""Convergence times T_c(J_D) of random +-1/sqrt(N) networks (thesis figure 3.2).

For each update rule, size N and coupling draw, every (J_D, initial state)
pair of the grid is one trajectory: sync runs them all as one lockstep batch
(each row its own J_D); async runs one batch of the initial states per J_D, so
that all J_D share the same update orders. Stored per unit (update, N, draw): steps, converged and period,
shape (points, inits). The figure shows the mean convergence time of the
converged samples against J_D for every N (log y): step plateaus at small N,
and the power law T_c ~ (J_D - J_D*)^(-gamma) fitted at the largest N.

    python analysis/convergence_times.py --out results/convergence_times.h5

Rerun the same command to resume after an interruption.

HDF5 layout (kind ``"convergence_times"``; rows follow config["jd_grid"], --points values)::

    /units/<update>/n=<N>/draw=<d>/steps      (points, inits) int64  sync steps / async sweeps
    /units/<update>/n=<N>/draw=<d>/converged  (points, inits) bool   ended at a fixed point
    /units/<update>/n=<N>/draw=<d>/period     (points, inits) int64  0 fixed point, k >= 1 sync
                                               cycle, -1 none detected (async: 0 or -1)
                                     attrs: n, draw, update ("sync" / "async"), seconds
    no /summary; root attributes and /runs: see rrnn.storage (run metadata: backend,
    backend_used, n_threads)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import rrnn
from rrnn import fits, storage
from rrnn.dynamics import MAX_STEPS_LIMIT
from rrnn.self_coupling import initial_states

from _common import (backend_attrs, choice_list, common_arguments, float_range, int_list_range,
                     int_range, progress, pyplot, run_main, save_figure)

KIND = "convergence_times"
# figure formats --png may name (matplotlib chooses the writer from the suffix)
FIGURE_FORMATS = (".png", ".pdf", ".svg", ".eps")


def run(args) -> storage.ResultFile:
    grid = np.linspace(args.jd_min, args.jd_max, args.points)
    config = dict(sizes=args.sizes, updates=args.updates, draws=args.draws, inits=args.inits,
                  jd_grid=grid.tolist(), max_steps=args.max_steps, seed=args.seed,
                  async_orders="shared across J_D (row = initial state)")
    result = storage.ResultFile(args.out, KIND, config,
                                extra_attrs=backend_attrs(args))
    done = result.done()
    units = [(u, n, d) for u in args.updates for n in args.sizes for d in range(args.draws)]
    cost = {n: n * n for n in args.sizes}
    todo = [x for x in units if f"{x[0]}/n={x[1]}/draw={x[2]}" not in done]
    bar = progress(sum(cost[n] for _, n, _ in units),
                   sum(cost[n] for _, n, _ in units) - sum(cost[n] for _, n, _ in todo),
                   not args.no_progress, unit="work")
    for update, n, d in todo:
        bar.set_postfix_str(f"{update} N={n} draw={d}")
        t0 = time.perf_counter()
        ds = np.random.SeedSequence(args.seed, spawn_key=(n, d))
        J = rrnn.couplings.binary(n, seed=ds, backend=args.backend, n_threads=args.threads)
        s0 = initial_states(n, args.inits, ds)
        shape = (grid.size, args.inits)
        if update == "sync":
            # one lockstep batch: every (J_D, initial state) pair is a row
            rows = np.repeat(s0[None], grid.size, axis=0).reshape(-1, n)
            jd = np.repeat(grid, args.inits)
            res = rrnn.simulate(J, rows, self_coupling=jd, update=update, max_steps=args.max_steps,
                                seed=ds, backend=args.backend, n_threads=args.threads)
            steps, converged, period = (a.reshape(shape) for a in (res.steps, res.converged, res.period))
        else:
            # The async order stream of a trajectory is keyed by its batch row, so
            # each J_D runs as its own batch of the initial states: every J_D then
            # sees the same update orders, and T_c(J_D) of one (draw, initial state)
            # is a step function of J_D (the plateaus) rather than order noise.
            steps = np.zeros(shape, dtype=np.int64)
            converged = np.zeros(shape, dtype=bool)
            period = np.zeros(shape, dtype=np.int64)
            for k, jd in enumerate(grid):
                res = rrnn.simulate(J, s0, self_coupling=float(jd), update=update,
                                    max_steps=args.max_steps, seed=ds, backend=args.backend,
                                    n_threads=args.threads)
                steps[k], converged[k], period[k] = res.steps, res.converged, res.period
        result.write_unit(f"{update}/n={n}/draw={d}",
                          {"steps": steps, "converged": converged, "period": period},
                          {"n": n, "draw": d, "update": update, "seconds": time.perf_counter() - t0})
        bar.update(cost[n])
    bar.close()
    return result


def load(paths):
    """(update, N) -> dict(grid (points,), steps and converged (draws*inits, points)).

    ``paths`` is one result file or several (e.g. small sizes with a wide J_D grid
    and large sizes with a narrower one); each (update, N) must come from one file.
    """
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    out: dict = {}
    for path in paths:
        kind, config = storage.read_config(path)
        if kind != KIND:
            raise ValueError(f"{path}: expected a {KIND!r} result file, got kind {kind!r}")
        grid = np.asarray(config["jd_grid"])
        mine: dict = {}
        for name, unit in storage.read_units(path).items():
            a = unit["attrs"]
            key = (str(a["update"]), int(a["n"]))
            if key in out:
                raise ValueError(f"{path}: update={key[0]} N={key[1]} is also in another file")
            entry = mine.setdefault(key, {"grid": grid, "steps": [], "converged": []})
            entry["steps"].append(unit["steps"].T)
            entry["converged"].append(unit["converged"].T)
        for entry in mine.values():
            entry["steps"] = np.concatenate(entry["steps"])          # (samples, points)
            entry["converged"] = np.concatenate(entry["converged"])
        out.update(mine)
    return out


def analyse(data) -> dict:
    """(update, N) -> grid, fraction converged, mean T_c of converged samples, power-law fit.

    ``data`` is what :func:`load` returns.
    """
    table = {}
    for (update, n), e in sorted(data.items()):
        grid, conv = e["grid"], e["converged"]
        frac = conv.mean(axis=0)
        with np.errstate(invalid="ignore"):
            mean_t = np.where(conv.sum(0) > 0, (e["steps"] * conv).sum(0) / conv.sum(0), np.nan)
        fit = None
        ok = frac == 1.0                        # J_D where every sample converged
        if ok.sum() >= 5:
            j_all = grid[np.argmax(ok)]         # first J_D with full convergence
            sel = ok & (grid > j_all) & (mean_t > 1)
            if sel.sum() >= 4:
                try:
                    fit = fits.fit_power_law_divergence(grid[sel], mean_t[sel])
                except (RuntimeError, ValueError):
                    fit = None
        table[(update, n)] = dict(grid=grid, fraction=frac, mean_steps=mean_t, fit=fit)
    return table


def plot(data, png) -> Path:
    """Convergence time against J_D, one column per update rule, saved as ``png``.

    ``data`` is what :func:`load` returns (one or several result files).

    Top: mean over the converged samples (log y), with the power-law fit in the
    legend. Bottom: every converged sample as a dot, which shows the plateaus: a
    single trajectory's T_c(J_D) is a step function of J_D because the fields take
    discrete values (spacing 2/sqrt(N)), so the samples of a small network pile up
    on integer levels over visible J_D intervals.
    """
    plt = pyplot()
    table = analyse(data)
    updates = sorted({u for u, _ in table})
    fig, axes = plt.subplots(2, len(updates), figsize=(6.5 * len(updates), 9), squeeze=False)
    for column, update in enumerate(updates):
        top, bottom = axes[0, column], axes[1, column]
        sizes = sorted(n for u, n in table if u == update)
        colors = plt.cm.viridis(np.linspace(0, 0.9, len(sizes)))
        unit = "sweeps" if update == "async" else "steps"
        for color, n in zip(colors, sizes):
            e = table[(update, n)]
            label = f"N={n}"
            if e["fit"] is not None:
                f = e["fit"]
                label += rf" ($\gamma$={f['gamma']:.2f}$\pm${1.96 * f['gamma_stderr']:.2f})"
            top.plot(e["grid"], e["mean_steps"], ".-", ms=3, lw=0.8, color=color, label=label)
            raw = data[(update, n)]
            jd = np.broadcast_to(raw["grid"], raw["steps"].shape)
            ok = raw["converged"] & (raw["steps"] > 0)
            bottom.scatter(jd[ok], raw["steps"][ok], s=2, color=color, alpha=0.5, label=f"N={n}")
        for ax in (top, bottom):
            ax.set_yscale("log")
            ax.set_xlabel(r"self-coupling $J_D$")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize=7, markerscale=3)
        top.set_ylabel(f"mean convergence time ({unit})")
        top.set_title(f"{update} updates: mean over converged samples")
        bottom.set_ylabel(f"convergence time ({unit})")
        bottom.set_title(f"{update}: every converged sample (plateaus)")
    return save_figure(fig, None, png)


def check_arguments(p, args) -> None:
    """Cross-option checks and the paths used only after the run, before any file is made."""
    for name, values in (("--sizes", args.sizes), ("--updates", args.updates)):
        if len(set(values)) != len(values):
            p.error(f"{name}: expected distinct values, got {','.join(map(str, values))}")
    if args.points == 1 and args.jd_max != args.jd_min:
        p.error(f"--jd-max: with --points 1 the grid is --jd-min only; expected --jd-max equal "
                f"to --jd-min ({args.jd_min:g}), got {args.jd_max:g}")
    if args.points > 1 and not args.jd_min < args.jd_max:
        p.error(f"--jd-min: expected a value below --jd-max ({args.jd_max:g}), got {args.jd_min:g}")
    if args.png is not None:
        # matplotlib picks the format from the suffix; checked here, not after the run
        png = Path(args.png)
        if png.suffix.lower() not in FIGURE_FORMATS:
            p.error(f"--png: expected a file name ending in one of {', '.join(FIGURE_FORMATS)}, "
                    f"got {args.png!r}")
        if png.is_dir():
            p.error(f"--png: expected a file path, got {args.png!r} (a directory)")
        if not png.parent.is_dir():
            p.error(f"--png: expected a path in an existing directory, got {args.png!r}")
    out = Path(args.out).resolve()
    mine = {(u, n) for u in args.updates for n in args.sizes}
    seen: dict = {}
    listed: set = set()
    for path in args.also:
        if Path(path).resolve() == out:
            p.error(f"--also: expected files other than --out, got {path!r}")
        if Path(path).resolve() in listed:
            p.error(f"--also: expected distinct files, got {path!r} twice")
        listed.add(Path(path).resolve())
        try:
            kind, _ = storage.read_config(path)
        except (ValueError, FileNotFoundError) as exc:
            p.error(f"--also: expected {KIND!r} result files, got {path!r} ({exc})")
        if kind != KIND:
            p.error(f"--also: expected {KIND!r} result files, got {path!r} of kind {kind!r}")
        for unit in storage.read_units(path).values():
            key = (str(unit["attrs"]["update"]), int(unit["attrs"]["n"]))
            if key in mine:
                p.error(f"--also: {path!r} holds update={key[0]} N={key[1]}, which this run "
                        f"computes (each update and N must come from one file)")
            if seen.setdefault(key, path) != path:
                p.error(f"--also: {path!r} and {seen[key]!r} both hold update={key[0]} N={key[1]} "
                        f"(each update and N must come from one file)")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="results/convergence_times.h5")
    p.add_argument("--sizes", type=int_list_range(2), default=[800, 1600, 3200, 6400, 12800, 25600, 51200, 102400])
    p.add_argument("--updates", type=choice_list(["sync", "async"]), default=["sync", "async"])
    p.add_argument("--jd-min", type=float_range(), default=0.0)
    p.add_argument("--jd-max", type=float_range(), default=1.5)
    p.add_argument("--points", type=int_range(1), default=61)
    p.add_argument("--draws", type=int_range(1), default=2)
    p.add_argument("--inits", type=int_range(1), default=4)
    p.add_argument("--max-steps", type=int_range(1, MAX_STEPS_LIMIT), default=1000)
    p.add_argument("--also", nargs="*", default=[],
                   help="other convergence-time result files to draw and fit with this one")
    p.add_argument("--png", default=None,
                   help="figure path; its suffix picks the format, one of "
                        f"{', '.join(FIGURE_FORMATS)} (default: --out with .png)")
    common_arguments(p)
    args = p.parse_args(argv)
    check_arguments(p, args)
    result = run(args)
    data = load([result.path, *args.also])
    png = plot(data, args.png or Path(result.path).with_suffix(".png"))
    for (update, n), e in sorted(analyse(data).items()):
        f = e["fit"]
        if f is not None:
            print(f"{update:5s} N={n:7d}: gamma = {f['gamma']:.3f} +- {1.96 * f['gamma_stderr']:.3f} "
                  f"(95%), J_D* = {f['jd_critical']:.4f}")
    print(f"wrote {result.path} and {png}")


if __name__ == "__main__":
    run_main(main)
