"""Damage spreading: two sync trajectories started one flip apart (beyond the thesis).

For each size N, coupling draw and J_D, a random state s and its copy with one
unit flipped evolve side by side (rows of one batch, each with its J_D).
The normalised Hamming distance d(t) = |s(t) != s'(t)| / N is recorded at
checkpoints; sync dynamics are memoryless, so continuing a simulation from its
final states is the same trajectory (:func:`advance` steps a row on whose cycle
``simulate`` detected early, so every row is compared at the same time). In the
frozen regime the damage heals (d -> 0); in the chaotic regime it spreads to a
finite fraction.

    python analysis/damage_spreading.py --out results/damage.h5

HDF5 layout (kind ``"damage_spreading"``; the times are config["checkpoints"]: at most
--checkpoints, geometric up to --max-steps and deduplicated)::

    /units/n=<N>/draw=<d>/distance   (checkpoints, jd, pairs) float64  d(t) per time,
                                     J_D of --jd and pair
                           attrs: n, draw, seconds
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

from _common import (backend_attrs, common_arguments, float_list, int_list_range, int_range,
                     progress, pyplot, run_main, save_figure)

KIND = "damage_spreading"


def advance(J, states, jd_rows, steps, backend=None, n_threads=None) -> np.ndarray:
    """The sync states exactly ``steps`` updates later, row by row.

    ``simulate`` returns a row early when it reaches a fixed point (later
    states are the same) or detects a cycle of period k (its state is then at
    time ``res.steps``); a cycling row is stepped on by the remaining
    ``(steps - res.steps) mod k`` updates with :func:`rrnn.sync_step`.

    Parameters
    ----------
    states : ndarray (batch, n) int8
    jd_rows : ndarray (batch,) float64
        Self-coupling of each row.
    steps : int >= 1

    Returns
    -------
    ndarray (batch, n) int8
    """
    res = rrnn.simulate(J, states, self_coupling=jd_rows, max_steps=steps,
                        backend=backend, n_threads=n_threads)
    out = res.states
    cycling = res.period >= 1
    left = np.zeros(len(out), dtype=np.int64)
    left[cycling] = (steps - res.steps[cycling]) % res.period[cycling]
    while np.any(left > 0):
        rows = np.flatnonzero(left > 0)
        out[rows] = rrnn.sync_step(J, out[rows], self_coupling=jd_rows[rows],
                                   backend=backend, n_threads=n_threads)
        left[rows] -= 1
    return out


def run(args) -> storage.ResultFile:
    checkpoints = np.unique(np.geomspace(1, args.max_steps, args.checkpoints).astype(int))
    config = dict(sizes=args.sizes, jd_grid=args.jd, draws=args.draws, pairs=args.pairs,
                  checkpoints=checkpoints.tolist(), seed=args.seed)
    result = storage.ResultFile(args.out, KIND, config, extra_attrs=backend_attrs(args))
    done = result.done()
    units = [(n, d) for n in args.sizes for d in range(args.draws)]
    todo = [u for u in units if f"n={u[0]}/draw={u[1]}" not in done]
    bar = progress(len(units), len(units) - len(todo), not args.no_progress)
    for n, d in todo:
        bar.set_postfix_str(f"N={n} draw={d}")
        t0 = time.perf_counter()
        ds = np.random.SeedSequence(args.seed, spawn_key=(n, d))
        J = rrnn.couplings.binary(n, seed=ds, backend=args.backend, n_threads=args.threads)
        s = initial_states(n, args.pairs, ds)
        flipped = s.copy()
        unit = np.random.default_rng(ds).integers(0, n, args.pairs)
        flipped[np.arange(args.pairs), unit] *= -1
        jd = np.repeat(np.asarray(args.jd), args.pairs)
        a = np.tile(s, (len(args.jd), 1))
        b = np.tile(flipped, (len(args.jd), 1))
        states = np.concatenate([a, b])
        jd_rows = np.concatenate([jd, jd])
        distance = np.zeros((len(checkpoints), len(args.jd), args.pairs))
        t = 0
        for k, c in enumerate(checkpoints):
            states = advance(J, states, jd_rows, int(c - t), args.backend, args.threads)
            t = int(c)
            half = states.shape[0] // 2
            distance[k] = (states[:half] != states[half:]).mean(axis=1).reshape(len(args.jd), args.pairs)
        result.write_unit(f"n={n}/draw={d}", {"distance": distance},
                          {"n": n, "draw": d, "seconds": time.perf_counter() - t0})
        bar.update(1)
    bar.close()
    return result


def plot(path, png=None) -> Path:
    plt = pyplot()

    _, config = storage.read_config(path)
    units = storage.read_units(path)
    jd = np.asarray(config["jd_grid"])
    t = np.asarray(config["checkpoints"])
    sizes = sorted({int(u["attrs"]["n"]) for u in units.values()})
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.8))
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(sizes)))
    for color, n in zip(colors, sizes):
        dist = np.concatenate([u["distance"] for u in units.values() if int(u["attrs"]["n"]) == n], axis=2)
        final = dist[-1]                                   # (jd, samples)
        ax1.errorbar(jd, final.mean(1), yerr=final.std(1) / np.sqrt(final.shape[1]), fmt="o-",
                     ms=3, color=color, capsize=2, label=f"N={n}")
    ax1.set_xlabel(r"$J_D$")
    ax1.set_ylabel(f"Hamming distance / N after {t[-1]} steps")
    ax1.set_ylim(0, None)
    ax1.set_title("Damage after one flip: spreading (chaotic) vs healing (frozen)")
    ax1.grid(alpha=0.3)
    ax1.legend(fontsize=7)
    n = sizes[-1]
    dist = np.concatenate([u["distance"] for u in units.values() if int(u["attrs"]["n"]) == n], axis=2)
    cols = plt.cm.plasma(np.linspace(0, 0.9, len(jd)))
    for j, c in zip(range(len(jd)), cols):
        # a healed pair has distance 0: drawn at 1/N, the smallest nonzero value
        ax2.plot(t, np.maximum(dist[:, j].mean(1), 1.0 / n), "-", color=c, label=f"$J_D$={jd[j]:.2f}")
    ax2.set_xscale("log")
    ax2.set_yscale("log")
    ax2.set_ylim(0.5 / n, 1)
    ax2.set_xlabel("sync step t")
    ax2.set_ylabel("mean Hamming distance / N")
    ax2.set_title(f"d(t) at N={n}")
    ax2.legend(fontsize=6, ncol=2)
    ax2.grid(alpha=0.3)
    return save_figure(fig, path, png)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="results/damage.h5")
    p.add_argument("--sizes", type=int_list_range(2), default=[1000, 4000, 16000])
    p.add_argument("--jd", type=float_list, default=[0.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.5, 2.0])
    p.add_argument("--draws", type=int_range(1), default=2)
    p.add_argument("--pairs", type=int_range(1), default=8)
    p.add_argument("--max-steps", type=int_range(1, MAX_STEPS_LIMIT), default=200)
    p.add_argument("--checkpoints", type=int_range(1), default=12)
    common_arguments(p)
    args = p.parse_args(argv)
    if len(set(args.sizes)) != len(args.sizes):
        p.error(f"--sizes: expected distinct values, got {','.join(map(str, args.sizes))}")
    if args.checkpoints == 1 and args.max_steps > 1:
        p.error(f"--checkpoints: the times are geometric from t = 1 to --max-steps "
                f"({args.max_steps}), so one checkpoint is t = 1 only; expected an int >= 2, got 1")
    result = run(args)
    print(f"wrote {result.path} and {plot(result.path)}")


if __name__ == "__main__":
    run_main(main)
