"""Resumable scans of the critical self-coupling J_D*(N), stored in HDF5.

A scan is a list of units (N, draw). Each unit generates one bit-packed
coupling draw, bisects J_D for all its initial states as one batch and is
written to the result file as soon as it finishes (see :mod:`rrnn.storage`).
Killing the process loses at most the unit in progress; rerunning the same
command skips the finished units.

HDF5 layout (kind ``"critical_self_coupling_scan"``)::

    /units/n=<N>/draw=<d>/jd_critical   (inits,) float64  per-sample J_D*
    /units/n=<N>/draw=<d>/steps         (inits,) int64    convergence steps there
                           attrs: n, draw, seconds
    /summary/n, count, median, median_lo, median_hi, max, max_lo, max_hi,
             q10, q25, q75, q90, mean, seconds      one entry per N
"""

from __future__ import annotations

import time

import numpy as np

from . import backends, couplings, storage
from ._validation import check_int, check_n_threads, check_update
from .self_coupling import (bisect_draw, check_bisection, initial_states, require_scan_memory,
                            summarize)

KIND = "critical_self_coupling_scan"

#: Default draws per N: more at small N, where samples are cheap and vary more.
DEFAULT_DRAWS = {1000: 32, 2000: 24, 5000: 16, 10000: 12, 20000: 8, 50000: 4, 100000: 4}


def default_draws(n: int) -> int:
    """Coupling draws for size n when not given: DEFAULT_DRAWS for the thesis sizes,
    else 4e5/n clipped to [4, 32]."""
    return DEFAULT_DRAWS.get(n, int(np.clip(round(4e5 / n), 4, 32)))


def unit_name(n: int, draw: int) -> str:
    return f"n={n}/draw={draw}"


def expected_units(config: dict) -> list[str]:
    """Names of all the units of a scan with this stored configuration."""
    return [unit_name(n, d) for n, count in zip(config["sizes"], config["draws"])
            for d in range(count)]


def run_critical_scan(path, sizes, *, draws=None, inits: int = 16, max_steps: int = 1000,
                      update: str = "sync", tol: float = 1e-3, seed: int = 0,
                      jd_start: float = 1.0, backend: str | None = None,
                      n_threads: int | None = None, progress: bool = True) -> storage.ResultFile:
    """Run (or resume) a J_D*(N) scan into an HDF5 file.

    Parameters
    ----------
    path : str or Path
        Output HDF5 file; an existing file of the same scan is resumed.
    sizes : sequence of int
        Network sizes N.
    draws : int, dict N -> int, or None
        Coupling draws per N (default :func:`default_draws`).
    inits : int
        Initial states per draw (one batch).
    max_steps, update, tol, jd_start : see :func:`rrnn.self_coupling.bisect_draw`
    seed : int
        Unit (N, d) uses ``SeedSequence(seed, spawn_key=(N, d))``.
    backend, n_threads : as in :func:`rrnn.simulate`
    progress : bool
        Show a progress bar (tqdm) on stderr.

    Returns
    -------
    rrnn.storage.ResultFile
    """
    if np.ndim(sizes) != 1:
        raise TypeError(f"sizes: expected a sequence of network sizes, got {sizes!r}")
    # one canonical order: "1000,500" is the same scan as "500,1000", and a
    # repeated size is computed once
    sizes = sorted({check_int(n, "sizes", minimum=2) for n in sizes})
    if not sizes:
        raise ValueError("sizes: expected at least one network size")
    inits = check_int(inits, "inits", minimum=1)
    check_update(update)
    max_steps, tol, jd_start = check_bisection(max_steps, tol, jd_start)
    seed = check_int(seed, "seed", minimum=0)
    n_threads = check_n_threads(n_threads)
    # an unknown backend fails before the file exists; the run records the one used
    backend_used = backends.get(backend).name
    if draws is None:
        per_n = {n: default_draws(n) for n in sizes}
    elif isinstance(draws, dict):
        missing = [n for n in sizes if n not in draws]
        if missing:
            raise ValueError(f"draws: expected a count for every size; missing {missing}")
        per_n = {n: check_int(draws[n], f"draws[{n}]", minimum=1) for n in sizes}
    else:
        d = check_int(draws, "draws", minimum=1)
        per_n = {n: d for n in sizes}
    config = dict(sizes=sizes, draws=[per_n[n] for n in sizes], inits=inits, max_steps=max_steps,
                  update=update, tol=tol, seed=seed, jd_start=jd_start)
    # Refuse sizes that cannot fit before any work starts.
    for n in sizes:
        require_scan_memory(n, inits, f"critical scan at n={n}, inits={inits}")
    result = storage.ResultFile(path, KIND, config, extra_attrs=dict(
        backend=backend or "auto", backend_used=backend_used, n_threads=n_threads,
        seed_entropy=seed))
    done = result.done()
    todo = [(n, d) for n in sizes for d in range(per_n[n]) if unit_name(n, d) not in done]
    work = {n: n * n for n in sizes}          # cost ~ n^2 per draw, for the progress bar
    total = sum(work[n] * per_n[n] for n in sizes)
    finished = sum(work[n] for n in sizes for d in range(per_n[n]) if unit_name(n, d) in done)
    bar = _progress(total, finished, progress)
    try:
        for n, d in todo:
            bar.set_postfix_str(f"N={n} draw={d}")
            t0 = time.perf_counter()
            ds = np.random.SeedSequence(seed, spawn_key=(n, d))
            J = couplings.binary(n, seed=ds, backend=backend, n_threads=n_threads)
            s0 = initial_states(n, inits, ds)
            jd, steps = bisect_draw(J, s0, max_steps=max_steps, update=update, tol=tol,
                                    jd_start=jd_start, seed=ds, backend=backend,
                                    n_threads=n_threads)
            del J
            result.write_unit(unit_name(n, d), {"jd_critical": jd, "steps": steps},
                              {"n": n, "draw": d, "seconds": time.perf_counter() - t0})
            bar.update(work[n])
    finally:
        bar.close()
    write_summary(result)
    return result


def _progress(total, initial, enabled):
    from tqdm.auto import tqdm
    return tqdm(total=total, initial=initial, disable=not enabled, unit="work",
                bar_format="{l_bar}{bar}| {percentage:3.0f}% [{elapsed}<{remaining}{postfix}]")


def collect(result: storage.ResultFile) -> dict[int, dict]:
    """Per N: stacked per-sample J_D* (draws, inits), steps and seconds."""
    by_n: dict[int, dict] = {}
    for name, unit in sorted(result.read_units().items()):
        n = int(unit["attrs"]["n"])
        entry = by_n.setdefault(n, {"jd": [], "steps": [], "seconds": 0.0})
        entry["jd"].append(unit["jd_critical"])
        entry["steps"].append(unit["steps"])
        entry["seconds"] += float(unit["attrs"]["seconds"])
    for entry in by_n.values():
        entry["jd"] = np.array(entry["jd"])
        entry["steps"] = np.array(entry["steps"])
    return dict(sorted(by_n.items()))


def write_summary(result: storage.ResultFile) -> dict:
    """Summary table per N (median, quantiles, max, bootstrap CIs) into /summary."""
    data = collect(result)
    rows = {k: [] for k in ("n", "count", "mean", "median", "median_lo", "median_hi", "max",
                            "max_lo", "max_hi", "q10", "q25", "q75", "q90", "seconds")}
    for n, entry in data.items():
        s = summarize(entry["jd"], seed=n)
        rows["n"].append(n)
        rows["count"].append(s["count"])
        rows["mean"].append(s["mean"])
        rows["median"].append(s["median"])
        rows["median_lo"].append(s["median_ci"][0])
        rows["median_hi"].append(s["median_ci"][1])
        rows["max"].append(s["max"])
        rows["max_lo"].append(s["max_ci"][0])
        rows["max_hi"].append(s["max_ci"][1])
        for q in (0.1, 0.25, 0.75, 0.9):
            rows[f"q{int(q * 100)}"].append(s["quantiles"][q])
        rows["seconds"].append(entry["seconds"])
    result.write_summary({k: np.asarray(v) for k, v in rows.items()})
    return rows
