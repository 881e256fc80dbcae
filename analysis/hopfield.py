"""Hopfield networks at scale (thesis chapter 2): capacity, basins, mixtures, perfect recall.

Four experiments, one HDF5 file each (``--out`` defaults to
``<out-dir>/hopfield_<part>.h5``, ``--out-dir`` to ``results``), resumable unit by
unit, figures drawn from the files only:

capacity   m(alpha): start the asynchronous zero-temperature dynamics from
           stored patterns, measure the final overlap with the pattern, for
           N in --sizes and loads alpha = P/N in --alphas; the replica-symmetric
           theory (Amit-Gutfreund-Sompolinsky) is drawn beside it.
basins     final overlap against initial overlap (cues with a fraction of the
           pattern flipped) at several loads.
mixtures   symmetric 3-mixtures sgn(xi1 + xi2 + xi3) as initial states: are
           they fixed points, and does the dynamics stay there, against alpha.
perfect    perfect recall: the fraction of stored patterns that are exact
           fixed points against P, and the P at which it falls to 1/2 against
           N / (2 ln N).

    python analysis/hopfield.py capacity           # N = 1k, 10k, 100k
    python analysis/hopfield.py all --no-progress  # everything, default paths
    python analysis/hopfield.py capacity --plot-only

Rerun the same command to resume after an interruption.

HDF5 layouts, one kind per part. <a> is the index of the load in --alphas; the attribute
alpha is the realised P / N. steps are async sweeps that changed the state::

    kind "hopfield_capacity"   (c = min(P, --cues); from N = 50,000 --cues // 16, >= 2)
    /units/n=<N>/alpha=<a>/draw=<d>/final_overlap  (c,) float64  with the cued pattern
    /units/n=<N>/alpha=<a>/draw=<d>/steps          (c,) int64
    /units/n=<N>/alpha=<a>/draw=<d>/converged      (c,) bool
                                    attrs: n, p, alpha, draw, seconds, build_seconds

    kind "hopfield_basins"     (rows: config["initial_overlaps"], --points values)
    /units/alpha=<a>/draw=<d>/initial_overlap  (points, cues) float64  of the noisy cue
    /units/alpha=<a>/draw=<d>/final_overlap    (points, cues) float64  with its pattern
    /units/alpha=<a>/draw=<d>/steps            (points, cues) int64
                              attrs: n, p, alpha, draw, seconds

    kind "hopfield_mixtures"   (k = max(1, min(--triples, P // 3)) mixtures of patterns
                                3t, 3t+1, 3t+2; P = max(3, round(alpha N)))
    /units/alpha=<a>/draw=<d>/initial_unstable      (k,) int64    unstable units at the mixture
    /units/alpha=<a>/draw=<d>/overlap_with_mixture  (k,) float64  of the final state
    /units/alpha=<a>/draw=<d>/constituent_overlaps  (k, 3) float64  final, with the 3 patterns
    /units/alpha=<a>/draw=<d>/label                 (k,) int64    rrnn.hopfield.classify code
    /units/alpha=<a>/draw=<d>/steps                 (k,) int64
                              attrs: n, p, alpha, draw, seconds

    kind "hopfield_perfect"    (P from --factors x N / (2 ln N), rounded)
    /units/n=<N>/p=<P>/draw=<d>/unstable   (min(P, tested),) int64  unstable units per
                                           stored pattern (0: an exact fixed point)
                                attrs: n, p, draw, seconds

    no /summary; root attributes and /runs: see rrnn.storage (run metadata: backend, backend_used,
    n_threads, seed_entropy)
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
from scipy import special

import rrnn
from rrnn import couplings, hopfield, storage
from rrnn.dynamics import MAX_STEPS_LIMIT

from _common import (backend_attrs, common_arguments, float_list_range, int_list_range, int_range,
                     progress, pyplot, run_main, save_figure)

PARTS = ("capacity", "basins", "mixtures", "perfect")
_PART_ID = {name: k for k, name in enumerate(PARTS)}


def _seed(args, part, *key):
    return np.random.SeedSequence(args.seed, spawn_key=(_PART_ID[part],) + tuple(key))


def _open(args, part, config):
    kind = f"hopfield_{part}"
    result = storage.ResultFile(args.out, kind, config,
                                extra_attrs=dict(backend_attrs(args, require={"lowrank"}),
                                                 seed_entropy=args.seed))
    return result


def _by_alpha(path):
    """(all units, units grouped by their load alpha)."""
    units = storage.read_units(path)
    by_alpha = {}
    for u in units.values():
        by_alpha.setdefault(float(u["attrs"]["alpha"]), []).append(u)
    return units, by_alpha


def _network(n, p, ds):
    return couplings.hebbian(hopfield.random_patterns(p, n, seed=ds))


# ---------------------------------------------------------------------------
# capacity: m(alpha)
# ---------------------------------------------------------------------------

def run_capacity(args):
    config = dict(sizes=args.sizes, alphas=args.alphas, draws=args.draws, cues=args.cues,
                  max_steps=args.max_steps, seed=args.seed)
    result = _open(args, "capacity", config)
    done = result.done()
    units = [(n, a, d) for n in args.sizes for a in range(len(args.alphas))
             for d in range(args.draws)]
    cost = {(n, a): n * max(1, round(args.alphas[a] * n)) for n in args.sizes
            for a in range(len(args.alphas))}
    name = lambda n, a, d: f"n={n}/alpha={a}/draw={d}"  # noqa: E731
    todo = [u for u in units if name(*u) not in done]
    total = sum(cost[(n, a)] for n, a, _ in units)
    bar = progress(total, total - sum(cost[(n, a)] for n, a, _ in todo), not args.no_progress,
                   unit="np")
    for n, a, d in todo:
        alpha = args.alphas[a]
        p = max(1, round(alpha * n))
        bar.set_postfix_str(f"N={n} alpha={alpha:.3f} draw={d}")
        t0 = time.perf_counter()
        ds = _seed(args, "capacity", n, a, d)
        J = _network(n, p, ds)
        t_build = time.perf_counter() - t0
        cues = min(p, args.cues if n < 50_000 else max(2, args.cues // 16))
        r = hopfield.retrieve(J, J.patterns[:cues], np.arange(cues), max_steps=args.max_steps,
                              seed=ds, backend=args.backend, n_threads=args.threads)
        result.write_unit(name(n, a, d),
                          {"final_overlap": r.final_overlap, "steps": r.steps,
                           "converged": r.converged},
                          {"n": n, "p": p, "alpha": p / n, "draw": d,
                           "seconds": time.perf_counter() - t0, "build_seconds": t_build})
        del J, r
        bar.update(cost[(n, a)])
    bar.close()
    return result


def plot_capacity(path, png=None):
    plt = pyplot()
    units = storage.read_units(path)
    rows = {}
    for u in units.values():
        a = u["attrs"]
        rows.setdefault(int(a["n"]), {}).setdefault(float(a["alpha"]), []).append(u["final_overlap"])
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    grid = np.linspace(0.001, 0.26, 600)
    theory = hopfield.rs_overlap(grid)
    ac = hopfield.alpha_c()
    for ax in axes:
        ax.plot(grid[grid <= ac], theory[grid <= ac] if ax is axes[0]
                else (1 - theory[grid <= ac]) / 2, "k-", lw=1.5, label="RS theory (AGS)")
        ax.axvline(ac, color="k", ls=":", lw=1, label=rf"$\alpha_c$ = {ac:.4f}")
    colors = plt.cm.viridis(np.linspace(0, 0.85, len(rows)))
    for color, n in zip(colors, sorted(rows)):
        al = np.array(sorted(rows[n]))
        m = [np.concatenate(rows[n][x]) for x in al]
        mean = np.array([x.mean() for x in m])
        lo = np.array([np.percentile(x, 10) for x in m])
        hi = np.array([np.percentile(x, 90) for x in m])
        axes[0].plot(al, mean, "o-", ms=4, lw=1, color=color, label=f"N = {n:,} (mean, 10-90%)")
        axes[0].fill_between(al, lo, hi, color=color, alpha=0.2, lw=0)
        axes[1].plot(al, np.maximum((1 - mean) / 2, 1e-6), "o-", ms=4, lw=1, color=color,
                     label=f"N = {n:,}")
    axes[0].set_ylabel("final overlap m with the stored pattern")
    axes[0].set_title("retrieval from the stored pattern (async, T = 0)")
    axes[1].set_yscale("log")
    axes[1].set_ylim(5e-7, 1)
    axes[1].set_ylabel("fraction of wrong units (1 - m) / 2")
    axes[1].set_title("error fraction (no error drawn at 1e-6)")
    for ax in axes:
        ax.set_xlabel(r"load $\alpha = P/N$")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    return save_figure(fig, path, png)


def summary_capacity(path):
    units = storage.read_units(path)
    table = {}
    for u in units.values():
        a = u["attrs"]
        e = table.setdefault((int(a["n"]), float(a["alpha"])), {"m": [], "s": [], "steps": []})
        e["m"].append(u["final_overlap"])
        e["s"].append(float(a["seconds"]))
        e["steps"].append(u["steps"])
    lines = []
    for (n, al), e in sorted(table.items()):
        m = np.concatenate(e["m"])
        lines.append(f"N={n:7d} alpha={al:.4f}: m = {m.mean():.4f} (min {m.min():.4f}), "
                     f"RS {float(hopfield.rs_overlap(al)):.4f}, sweeps "
                     f"{np.concatenate(e['steps']).mean():.1f}, {np.sum(e['s']):.1f} s")
    return lines


# ---------------------------------------------------------------------------
# basins of attraction
# ---------------------------------------------------------------------------

def run_basins(args):
    m0 = np.round(np.linspace(0.0, 1.0, args.points), 6)
    config = dict(n=args.n, alphas=args.alphas, draws=args.draws, cues=args.cues,
                  initial_overlaps=m0.tolist(), max_steps=args.max_steps, seed=args.seed)
    result = _open(args, "basins", config)
    done = result.done()
    units = [(a, d) for a in range(len(args.alphas)) for d in range(args.draws)]
    todo = [u for u in units if f"alpha={u[0]}/draw={u[1]}" not in done]
    bar = progress(len(units), len(units) - len(todo), not args.no_progress)
    for a, d in todo:
        n = args.n
        p = max(1, round(args.alphas[a] * n))
        t0 = time.perf_counter()
        ds = _seed(args, "basins", n, a, d)
        J = _network(n, p, ds)
        targets = np.arange(m0.size * args.cues) % p
        cues = np.concatenate([
            hopfield.noisy_cue(J.patterns[targets[k * args.cues]], (1 - x) / 2, args.cues,
                               seed=np.random.SeedSequence(args.seed, spawn_key=(9, a, d, k)))
            for k, x in enumerate(m0)])
        # each block of `cues` rows shares one target pattern
        targets = np.repeat(targets[::args.cues], args.cues)
        r = hopfield.retrieve(J, cues, targets, max_steps=args.max_steps, seed=ds,
                              backend=args.backend, n_threads=args.threads)
        shape = (m0.size, args.cues)
        result.write_unit(f"alpha={a}/draw={d}",
                          {"initial_overlap": r.initial_overlap.reshape(shape),
                           "final_overlap": r.final_overlap.reshape(shape),
                           "steps": r.steps.reshape(shape)},
                          {"n": n, "p": p, "alpha": p / n, "draw": d,
                           "seconds": time.perf_counter() - t0})
        bar.update(1)
    bar.close()
    return result


def plot_basins(path, png=None):
    plt = pyplot()
    units, by_alpha = _by_alpha(path)
    fig, ax = plt.subplots(figsize=(6.5, 4.8))
    colors = plt.cm.plasma(np.linspace(0, 0.85, len(by_alpha)))
    for color, al in zip(colors, sorted(by_alpha)):
        x = np.concatenate([u["initial_overlap"] for u in by_alpha[al]], axis=1).mean(axis=1)
        y = np.concatenate([u["final_overlap"] for u in by_alpha[al]], axis=1)
        ax.plot(x, y.mean(axis=1), "o-", ms=3, lw=1, color=color, label=rf"$\alpha$ = {al:.3f}")
        ax.fill_between(x, np.percentile(y, 10, axis=1), np.percentile(y, 90, axis=1),
                        color=color, alpha=0.15, lw=0)
    n = int(next(iter(units.values()))["attrs"]["n"])
    ax.plot([0, 1], [0, 1], "k:", lw=0.8)
    ax.set_xlabel("initial overlap $m_0$ of the cue")
    ax.set_ylabel("final overlap $m$")
    ax.set_title(f"basins of attraction, N = {n:,} (mean, 10-90%)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, path, png)


# ---------------------------------------------------------------------------
# mixture states
# ---------------------------------------------------------------------------

def run_mixtures(args):
    config = dict(n=args.n, alphas=args.alphas, draws=args.draws, triples=args.triples,
                  max_steps=args.max_steps, seed=args.seed)
    result = _open(args, "mixtures", config)
    done = result.done()
    units = [(a, d) for a in range(len(args.alphas)) for d in range(args.draws)]
    todo = [u for u in units if f"alpha={u[0]}/draw={u[1]}" not in done]
    bar = progress(len(units), len(units) - len(todo), not args.no_progress)
    for a, d in todo:
        n = args.n
        p = max(3, round(args.alphas[a] * n))
        t0 = time.perf_counter()
        ds = _seed(args, "mixtures", n, a, d)
        J = _network(n, p, ds)
        k = max(1, min(args.triples, p // 3))
        mix = np.stack([hopfield.mixture_state(J, (3 * t, 3 * t + 1, 3 * t + 2))
                        for t in range(k)])
        unstable = hopfield.unstable_units(J, mix, backend=args.backend, n_threads=args.threads)
        res = rrnn.simulate(J, mix, update="async", max_steps=args.max_steps, seed=ds,
                            backend=args.backend, n_threads=args.threads)
        stay = (res.states.astype(np.int64) * mix).sum(axis=1) / n
        m = hopfield.overlaps(J, res.states)
        own = np.stack([m[t, 3 * t:3 * t + 3] for t in range(k)])
        labels = hopfield.classify(m)
        result.write_unit(f"alpha={a}/draw={d}",
                          {"initial_unstable": unstable, "overlap_with_mixture": stay,
                           "constituent_overlaps": own, "label": labels, "steps": res.steps},
                          {"n": n, "p": p, "alpha": p / n, "draw": d,
                           "seconds": time.perf_counter() - t0})
        bar.update(1)
    bar.close()
    return result


def plot_mixtures(path, png=None):
    plt = pyplot()
    units, by_alpha = _by_alpha(path)
    al = np.array(sorted(by_alpha))
    cat = lambda key: [np.concatenate([u[key] for u in by_alpha[x]]) for x in al]  # noqa: E731
    n = int(next(iter(units.values()))["attrs"]["n"])
    fixed = np.array([np.mean(x == 0) for x in cat("initial_unstable")])
    unstable_frac = np.array([np.mean(x) / n for x in cat("initial_unstable")])
    stay = cat("overlap_with_mixture")
    stays = np.array([np.mean(x >= 0.95) for x in stay])
    labels = cat("label")
    is_mix = np.array([np.mean(x == hopfield.MIXTURE) for x in labels])
    to_pattern = np.array([np.mean(x == hopfield.RETRIEVAL) for x in labels])
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    ax = axes[0]
    ax.plot(al, fixed, "o-", label="mixture is an exact fixed point")
    ax.plot(al, stays, "s-", label="dynamics stays (overlap with mixture >= 0.95)")
    ax.plot(al, is_mix, "^-", label="final state classified mixture-3")
    ax.plot(al, to_pattern, "v-", label="final state retrieves a pattern")
    ax.set_ylabel("fraction of symmetric 3-mixtures")
    ax.set_title(f"stability of symmetric 3-mixtures, N = {n:,}")
    ax = axes[1]
    ax.plot(al, [x.mean() for x in stay], "o-", label="overlap of final state with mixture")
    ax.plot(al, [x.mean() for x in cat("constituent_overlaps")], "s-",
            label="mean overlap with the 3 constituents (1/2 at the mixture)")
    ax.plot(al, unstable_frac, "^-", label="fraction of unstable units at the mixture")
    ax.set_title("overlaps after the dynamics")
    for ax in axes:
        ax.set_xlabel(r"load $\alpha = P/N$")
        ax.axvline(0.03, color="k", ls=":", lw=0.8,
                   label=r"AGS: 3-mixtures stable up to $\alpha \approx 0.03$")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    return save_figure(fig, path, png)


# ---------------------------------------------------------------------------
# perfect recall
# ---------------------------------------------------------------------------

def _p_grid(n, factors):
    scale = float(hopfield.perfect_recall_scale(n))
    return sorted({max(1, round(f * scale)) for f in factors})


def run_perfect(args):
    config = dict(sizes=args.sizes, factors=args.factors, draws=args.draws,
                  tested=args.tested, seed=args.seed)
    result = _open(args, "perfect", config)
    done = result.done()
    units = [(n, p, d) for n in args.sizes for p in _p_grid(n, args.factors)
             for d in range(args.draws)]
    name = lambda n, p, d: f"n={n}/p={p}/draw={d}"  # noqa: E731
    todo = [u for u in units if name(*u) not in done]
    bar = progress(len(units), len(units) - len(todo), not args.no_progress)
    for n, p, d in todo:
        t0 = time.perf_counter()
        J = _network(n, p, _seed(args, "perfect", n, p, d))
        k = min(p, args.tested)
        unstable = hopfield.unstable_units(J, J.patterns[:k], backend=args.backend,
                                           n_threads=args.threads)
        result.write_unit(name(n, p, d), {"unstable": unstable},
                          {"n": n, "p": p, "draw": d, "seconds": time.perf_counter() - t0})
        bar.update(1)
    bar.close()
    return result


def perfect_theory(n, p):
    """P(a stored pattern is an exact fixed point) ~ exp(-N Q(sqrt(N/P))), Gaussian
    crosstalk of variance (P-1)/N (thesis eq. 2.6) with a unit signal."""
    q = 0.5 * special.erfc(np.sqrt((n / np.maximum(np.asarray(p, float) - 1, 1e-9))) / math.sqrt(2))
    return np.exp(-n * q)


def _crossing(ps, frac, level=0.5):
    """P where frac (decreasing in P) crosses level, by linear interpolation."""
    for k in range(len(ps) - 1):
        if frac[k] >= level > frac[k + 1]:
            t = (frac[k] - level) / (frac[k] - frac[k + 1])
            return ps[k] + t * (ps[k + 1] - ps[k])
    return float("nan")


def analyse_perfect(path):
    units = storage.read_units(path)
    table = {}
    for u in units.values():
        a = u["attrs"]
        table.setdefault(int(a["n"]), {}).setdefault(int(a["p"]), []).append(u["unstable"])
    out = {}
    for n, per_p in sorted(table.items()):
        ps = np.array(sorted(per_p))
        frac = np.array([np.mean(np.concatenate(per_p[p]) == 0) for p in ps])
        fine = np.linspace(1, ps.max(), 4000)
        out[n] = dict(p=ps, fraction=frac, p_half=_crossing(ps, frac),
                      p_half_theory=_crossing(fine, perfect_theory(n, fine)))
    return out


def plot_perfect(path, png=None):
    plt = pyplot()
    res = analyse_perfect(path)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    colors = plt.cm.viridis(np.linspace(0, 0.85, len(res)))
    for color, (n, e) in zip(colors, res.items()):
        scale = float(hopfield.perfect_recall_scale(n))
        axes[0].plot(e["p"] / scale, e["fraction"], "o", ms=4, color=color, label=f"N = {n:,}")
        fine = np.linspace(1, e["p"].max(), 400)
        axes[0].plot(fine / scale, perfect_theory(n, fine), "-", lw=0.8, color=color)
    axes[0].set_xlabel(r"$P \,/\, (N / 2\ln N)$")
    axes[0].set_ylabel("fraction of stored patterns that are fixed points")
    axes[0].set_title(r"perfect recall (lines: $\exp(-N\,Q(\sqrt{N/P}))$)")
    ns = np.array(list(res))
    scale = hopfield.perfect_recall_scale(ns)
    axes[1].plot(scale, [res[n]["p_half"] for n in ns], "o", label="measured $P_{1/2}$")
    axes[1].plot(scale, [res[n]["p_half_theory"] for n in ns], "s--", mfc="none",
                 label="Gaussian crosstalk theory")
    axes[1].plot(scale, scale, "k:", label=r"$N / (2 \ln N)$")
    axes[1].set_xscale("log")
    axes[1].set_yscale("log")
    axes[1].set_xlabel(r"$N / (2 \ln N)$")
    axes[1].set_ylabel(r"$P_{1/2}$: half of the patterns are fixed points")
    axes[1].set_title("perfect-recall threshold")
    for ax in axes:
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    return save_figure(fig, path, png)


# ---------------------------------------------------------------------------

DEFAULTS = {
    "capacity": dict(sizes=[1000, 10000, 100000],
                     alphas=[0.02, 0.04, 0.06, 0.08, 0.10, 0.12, 0.13, 0.14, 0.15, 0.17, 0.20,
                             0.25],
                     draws=3, cues=32, max_steps=200),
    "basins": dict(n=10000, alphas=[0.02, 0.05, 0.08, 0.11, 0.13, 0.15], draws=2, cues=4,
                   points=21, max_steps=200),
    "mixtures": dict(n=10000, alphas=[0.002, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.035,
                                      0.04, 0.05, 0.07, 0.1],
                     draws=2, triples=8, max_steps=200),
    "perfect": dict(sizes=[250, 500, 1000, 2000, 4000, 8000, 16000],
                    factors=[0.3, 0.45, 0.6, 0.75, 0.9, 1.05, 1.2, 1.4, 1.6, 1.9, 2.3],
                    draws=4, tested=64),
}
RUN = dict(capacity=run_capacity, basins=run_basins, mixtures=run_mixtures, perfect=run_perfect)
PLOT = dict(capacity=plot_capacity, basins=plot_basins, mixtures=plot_mixtures,
            perfect=plot_perfect)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("part", choices=PARTS + ("all",))
    p.add_argument("--out", default=None, help="HDF5 path of one part (default <out-dir>/hopfield_<part>.h5)")
    p.add_argument("--out-dir", default="results", help="folder of the default paths (default: %(default)s)")
    p.add_argument("--sizes", type=int_list_range(2), default=None)
    p.add_argument("--n", type=int_range(2), default=None, help="size for basins and mixtures")
    p.add_argument("--alphas", type=float_list_range(0, low_open=True), default=None)
    p.add_argument("--factors", type=float_list_range(0, low_open=True), default=None,
                   help="perfect: P grid in units of N/(2 ln N)")
    p.add_argument("--draws", type=int_range(1), default=None)
    p.add_argument("--cues", type=int_range(1), default=None)
    # initial overlaps from 0 to 1: two points or more
    p.add_argument("--points", type=int_range(2), default=None)
    p.add_argument("--triples", type=int_range(1), default=None)
    p.add_argument("--tested", type=int_range(1), default=None)
    p.add_argument("--max-steps", type=int_range(1, MAX_STEPS_LIMIT), default=None)
    p.add_argument("--plot-only", action="store_true")
    common_arguments(p)
    args = p.parse_args(argv)
    if args.part == "all" and args.out is not None:
        p.error("--out names one file; with 'all' each part is written to "
                "<out-dir>/hopfield_<part>.h5 (use --out-dir)")
    if args.part != "all":
        # an option the part does not use would be ignored silently (with 'all'
        # each part takes the options it uses)
        given = sorted(k for k in set().union(*DEFAULTS.values())
                       if getattr(args, k) is not None and k not in DEFAULTS[args.part])
        if given:
            option = "--" + given[0].replace("_", "-")
            p.error(f"{option}: not used by the {args.part} part (it uses "
                    f"{', '.join('--' + k.replace('_', '-') for k in DEFAULTS[args.part])}), "
                    f"got {getattr(args, given[0])!r}")
    parts = PARTS if args.part == "all" else (args.part,)
    jobs = []
    for part in parts:
        pa = argparse.Namespace(**vars(args))
        for key, value in DEFAULTS[part].items():
            if getattr(pa, key, None) is None:
                setattr(pa, key, value)
        if pa.out is None:
            pa.out = str(Path(args.out_dir) / f"hopfield_{part}.h5")
        check_part(p, part, pa, "--out" if args.out is not None else "--out-dir")
        jobs.append((part, pa))
    for part, pa in jobs:
        t0 = time.perf_counter()
        path = Path(pa.out) if pa.plot_only else RUN[part](pa).path
        png = PLOT[part](path)
        print(f"{part}: {time.perf_counter() - t0:.1f} s; wrote {path} and {png}")
        if part == "capacity":
            print("\n".join(summary_capacity(path)))
        if part == "perfect":
            for n, e in analyse_perfect(path).items():
                print(f"N={n:6d}: P_1/2 = {e['p_half']:.1f}, theory {e['p_half_theory']:.1f}, "
                      f"N/(2 ln N) = {float(hopfield.perfect_recall_scale(n)):.1f}")


def check_part(p, part, pa, where) -> None:
    """Checks of one part's settings (after its defaults are filled in) that no single
    option can make: all of them run before the first part creates its file. ``where``
    names the option that gave the path (--out, or --out-dir for the default paths)."""
    if pa.plot_only:
        kind = f"hopfield_{part}"
        try:
            found, _ = storage.read_config(pa.out)
        except (ValueError, FileNotFoundError) as exc:
            p.error(f"{where}: --plot-only expects an existing {kind!r} result file, got {pa.out!r} ({exc})")
        if found != kind:
            p.error(f"{where}: --plot-only expects an existing {kind!r} result file, got {pa.out!r} "
                    f"of kind {found!r}")
        return
    if "sizes" in DEFAULTS[part] and len(set(pa.sizes)) != len(pa.sizes):
        p.error(f"--sizes: expected distinct values, got {','.join(map(str, pa.sizes))}")
    if part in ("capacity", "basins"):
        # P = round(alpha N) patterns; a load that rounds to no pattern is refused, not raised to 1
        for n in (pa.sizes if part == "capacity" else [pa.n]):
            for alpha in pa.alphas:
                if round(alpha * n) < 1:
                    p.error(f"--alphas: expected loads that store at least one pattern "
                            f"(round(alpha N) >= 1 at N = {n}: alpha above {0.5 / n:g}), got {alpha:g}")
    if part == "perfect":
        for n in pa.sizes:
            scale = float(hopfield.perfect_recall_scale(n))
            for f in pa.factors:
                if round(f * scale) < 1:
                    p.error(f"--factors: expected factors that give at least one pattern "
                            f"(round(factor N / (2 ln N)) >= 1 at N = {n}), got {f:g}")


if __name__ == "__main__":
    run_main(main)
