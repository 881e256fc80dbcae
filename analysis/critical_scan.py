"""Full critical self-coupling scan J_D*(N), N = 1,000 .. 100,000 (thesis figure 3.1).

Thin wrapper over ``rrnn scan`` with the full protocol as defaults: at least
4 coupling draws x 16 initial states per N (more at small N, see
``rrnn.scans.DEFAULT_DRAWS``), sync updates, max_steps = 1000, tol = 1e-3.
Writes HDF5 (per-sample J_D*, steps, summary with median, quantiles, maximum
and bootstrap CIs) and a PNG with the fitted candidate laws. Resumable:
rerun the same command after an interruption.

HDF5 layout: that of :mod:`rrnn.scans` (kind ``"critical_self_coupling_scan"``: units
``n=<N>/draw=<d>`` with jd_critical and steps of shape (inits,), /summary one entry per N).

    python analysis/critical_scan.py                       # results/critical_scan_full.h5
    python analysis/critical_scan.py --sizes 1000,2000,5000,10000,20000,50000,100000,200000
"""

import sys

from rrnn.cli import main

DEFAULTS = ["--out", "results/critical_scan_full.h5",
            "--sizes", "1000,2000,5000,10000,20000,50000,100000", "--draws", "auto"]

if __name__ == "__main__":
    argv = sys.argv[1:]
    if {"-h", "--help"} & set(argv):
        # the options are those of `rrnn scan`; only their defaults differ here
        print(__doc__)
        print("Defaults of this wrapper (given options win): " + " ".join(DEFAULTS) + "\n")
    given = {a.split("=")[0] for a in argv if a.startswith("--")}
    extra = [x for i in range(0, len(DEFAULTS), 2) if DEFAULTS[i] not in given for x in DEFAULTS[i:i + 2]]
    sys.exit(main(["scan", *extra, *argv]))
