"""Shared bits of the analysis drivers: argument types and progress bars."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm.auto import tqdm


def int_list(text: str) -> list[int]:
    """'800,1600,3.2e3' -> [800, 1600, 3200]."""
    try:
        return [int(float(x)) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")


def float_list(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}")


def run_main(main) -> None:
    """Run a driver's ``main()`` as a command: an interrupt or a refused input
    (bad argument, a file holding a different run, a network that will not fit,
    missing data) prints one line instead of a traceback. Finished units are on
    disk, so an interrupted run resumes when the same command is rerun."""
    prog = Path(sys.argv[0]).name
    try:
        main()
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; finished units are saved, rerun the same command to resume",
              file=sys.stderr)
        sys.exit(130)
    except (ValueError, MemoryError, FileNotFoundError) as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        sys.exit(2)


def check_unique_names(names, what: str) -> None:
    """Units are stored under names made from rounded parameter values; two grid
    points that round to one name would overwrite each other (and a resume would
    skip the second), so such a grid is refused before any work."""
    seen = set()
    for name in names:
        if name in seen:
            raise ValueError(f"{what}: two values give the same unit name {name!r}; "
                             f"use values that differ in the stored digits")
        seen.add(name)


def progress(total: int, initial: int = 0, enabled: bool = True, unit: str = "unit"):
    return tqdm(total=total, initial=initial, disable=not enabled, unit=unit)


def common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backend", choices=["c", "numba", "numpy", "auto"], default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--no-progress", action="store_true")


def pyplot():
    """matplotlib.pyplot on the non-interactive Agg backend (drivers run headless)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save_figure(fig, path, png=None):
    """Save ``fig`` as ``png`` (default: the HDF5 path with .png), close it, return the path."""
    from pathlib import Path

    png = Path(png) if png else Path(path).with_suffix(".png")
    fig.tight_layout()
    fig.savefig(png, dpi=130)
    fig.clf()
    import matplotlib.pyplot as plt
    plt.close(fig)
    return png
