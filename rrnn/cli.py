"""The ``rrnn`` console command.

``rrnn scan``    critical self-coupling scan J_D*(N) into HDF5 + PNG (resumable)
``rrnn info``    describe a result file: kind, configuration, runs, units, summary
``rrnn config``  print backends, OpenMP, threads, SIMD level and versions
``rrnn bench``   kernel throughput against this machine's memory stream and compute peak
"""

from __future__ import annotations

import argparse
import math
import sys
import time


def _sizes(text: str) -> list[int]:
    # float() first so that 1e5 is accepted; 20.7, inf and nan are not integers
    try:
        values = [float(x) for x in text.split(",")]
    except ValueError:          # also an empty item: "200,,400"
        values = None
    if values is None or not all(math.isfinite(v) and v.is_integer() for v in values):
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")
    return [int(v) for v in values]


def _draws(text: str):
    if text == "auto":
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer or 'auto', got {text!r}")


def _add_scan(sub) -> None:
    p = sub.add_parser("scan", help="critical self-coupling scan J_D*(N) (thesis 3.1)",
                       description="Bisect the critical self-coupling of random +-1/sqrt(N) "
                                   "networks for each (coupling draw, initial state); write "
                                   "HDF5 and a PNG figure. Rerun the same command to resume.")
    p.add_argument("--out", default="results/critical_scan.h5", help="HDF5 output (default: %(default)s)")
    p.add_argument("--sizes", type=_sizes, default=[250, 500, 1000, 2000, 4000, 8000],
                   help="comma-separated N values (default: 250,500,1000,2000,4000,8000: about a minute)")
    p.add_argument("--draws", type=_draws, default=4,
                   help="coupling draws per N, or 'auto': 32/24/16/12/8/4/4 at N = 1k/2k/5k/10k/20k/50k/100k, "
                        "else 4e5/N clipped to [4, 32] (default: 4)")
    p.add_argument("--inits", type=int, default=16, help="initial states per draw (default: 16)")
    p.add_argument("--max-steps", type=int, default=1000, help="convergence budget (default: 1000)")
    p.add_argument("--update", choices=["sync", "async"], default="sync")
    p.add_argument("--tol", type=float, default=1e-3, help="bisection tolerance (default: 1e-3)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backend", choices=["c", "numba", "numpy", "auto"], default=None)
    p.add_argument("--threads", type=int, default=None, help="threads (default: all cores)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _run_scan(args) -> int:
    from .figures import plot_critical_scan
    from .scans import run_critical_scan

    t0 = time.perf_counter()
    result = run_critical_scan(args.out, args.sizes, draws=args.draws, inits=args.inits,
                               max_steps=args.max_steps, update=args.update, tol=args.tol,
                               seed=args.seed, backend=args.backend, n_threads=args.threads,
                               progress=not args.no_progress)
    png, found = plot_critical_scan(result.path)
    from .figures import read_summary
    s = read_summary(result.path)
    print(f"{'N':>8} {'samples':>8} {'median':>8} {'95% CI':>17} {'max':>8}")
    for i, n in enumerate(s["n"]):
        print(f"{int(n):>8} {int(s['count'][i]):>8} {s['median'][i]:8.4f} "
              f"[{s['median_lo'][i]:.4f}, {s['median_hi'][i]:.4f}] {s['max'][i]:8.4f}")
    if found:
        print("candidate laws for the median, best first (AICc): "
              + "; ".join(f"{f.formula} (AICc {f.aicc:.1f})" for f in found))
    print(f"wrote {result.path} and {png} in {time.perf_counter() - t0:.1f} s")
    return 0


def _add_bench(sub) -> None:
    p = sub.add_parser("bench", help="kernel throughput against the machine's limits",
                       description="Time the C kernels on a random binary network: one sync "
                                   "step of one state against the memory stream of the "
                                   "bit-packed matrix, and the batched XOR/popcount pass "
                                   "against the compute peak of its own instructions and the "
                                   "plain OpenMP loop (about 20 s at the default n).")
    p.add_argument("--n", type=int, default=100_000,
                   help="units (default: %(default)s; the matrix takes n^2/8 bytes)")
    p.add_argument("--batch", type=int, default=64, help="states of the batched pass (default: 64)")
    p.add_argument("--threads", type=int, default=None, help="threads (default: all cores)")
    p.add_argument("--repeat", type=int, default=5, help="timed repetitions, medians (default: 5)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None, help="also write the figures to this JSON file")


def _run_bench(args) -> int:
    import json

    from .throughput import format_throughput, kernel_throughput

    result = kernel_throughput(args.n, args.batch, n_threads=args.threads, repeat=args.repeat,
                               seed=args.seed, log=lambda m: print(m + " ...", file=sys.stderr))
    print(format_throughput(result))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return 0


def _info(path) -> int:
    from . import scans, storage

    def expected_units(kind, config):
        # a scan knows all its units, so its progress can be shown
        return scans.expected_units(config) if kind == scans.KIND else None

    print(storage.describe(path, expected_units))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="rrnn", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_scan(sub)
    info = sub.add_parser("info", help="describe a result file (kind, config, runs, units)",
                          description="Describe an rrnn HDF5 result file: its kind and "
                                      "configuration, the runs that wrote it, its finished "
                                      "units and its summary tables.")
    info.add_argument("file", help="an HDF5 file written by rrnn")
    sub.add_parser("config", help="show backends, OpenMP, SIMD and versions")
    _add_bench(sub)
    args = parser.parse_args(argv)
    try:
        if args.command == "info":
            return _info(args.file)
        if args.command == "config":
            from . import show_config
            show_config()
            return 0
        if args.command == "bench":
            return _run_bench(args)
        return _run_scan(args)
    except (ValueError, TypeError, MemoryError, OSError, RuntimeError) as exc:
        print(f"rrnn: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        resume = ("; finished units are saved, rerun the same command to resume"
                  if args.command == "scan" else "")
        print(f"rrnn: interrupted{resume}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
