"""Shared bits of the analysis drivers: argument types and progress bars."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from tqdm.auto import tqdm


# Argument types. Every value is checked while the command line is parsed, so a
# refused command creates no result file (a file made with bad values would hold
# their config and refuse the corrected command). argparse prefixes the message
# with the option: "argument --points: expected an int >= 1, got '0'".

def _parse_int(text: str) -> int:
    """'3200' or '3.2e3' -> 3200; a non-integral value is refused."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an int, got {text!r}")
    if not math.isfinite(value) or value != int(value):
        raise argparse.ArgumentTypeError(f"expected an int, got {text!r}")
    return int(value)


def _parse_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}")
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def int_range(minimum: int | None = None, maximum: int | None = None):
    """An argparse type: one int in [minimum, maximum] (either bound optional)."""
    def parse(text: str) -> int:
        value = _parse_int(text)
        if minimum is not None and value < minimum:
            raise argparse.ArgumentTypeError(f"expected an int >= {minimum}, got {text!r}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"expected an int <= {maximum}, got {text!r}")
        return value
    return parse


def float_range(low: float | None = None, high: float | None = None, *,
                low_open: bool = False, high_open: bool = False):
    """An argparse type: one finite number in the interval from ``low`` to ``high``
    (closed unless ``low_open`` / ``high_open``; either bound optional)."""
    from rrnn._validation import in_interval, interval_text

    def parse(text: str) -> float:
        value = _parse_float(text)
        if not in_interval(value, low, high, low_open, high_open):
            raise argparse.ArgumentTypeError(
                f"expected a number {interval_text(low, high, low_open, high_open)}, got {text!r}")
        return value
    return parse


def _list_of(item, what: str):
    def parse(text: str) -> list:
        parts = text.split(",")
        if not text.strip() or any(not x.strip() for x in parts):
            raise argparse.ArgumentTypeError(f"expected comma-separated {what}, got {text!r}")
        return [item(x.strip()) for x in parts]
    return parse


def int_list_range(minimum: int | None = None, maximum: int | None = None):
    """An argparse type: '800,1600,3.2e3' -> [800, 1600, 3200], each in range."""
    return _list_of(int_range(minimum, maximum), "integers")


def float_list_range(low: float | None = None, high: float | None = None, *,
                     low_open: bool = False, high_open: bool = False):
    """An argparse type: '0.1,0.2' -> [0.1, 0.2], each finite and in range."""
    return _list_of(float_range(low, high, low_open=low_open, high_open=high_open), "numbers")


def choice_list(choices):
    """An argparse type: 'sync,async' -> ['sync', 'async'], each one of ``choices``."""
    def item(text: str) -> str:
        if text not in choices:
            raise argparse.ArgumentTypeError(
                f"expected values among {', '.join(map(repr, choices))}, got {text!r}")
        return text
    return _list_of(item, "values")


#: Unbounded forms, kept for the drivers' list options that take any value.
int_list = int_list_range()
float_list = float_list_range()


def existing_dir(text: str) -> str:
    """An argparse type: a directory that exists (data directories)."""
    if not Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"expected an existing directory, got {text!r}")
    return text


def run_main(main) -> None:
    """Run a driver's ``main()`` as a command: an interrupt or a refused input
    (bad argument, a file holding a different run or made read-only, a network
    that will not fit, missing data) prints one line instead of a traceback. Finished units are on
    disk, so an interrupted run resumes when the same command is rerun."""
    prog = Path(sys.argv[0]).name
    try:
        main()
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; finished units are saved, rerun the same command to resume",
              file=sys.stderr)
        sys.exit(130)
    except (ValueError, MemoryError, FileNotFoundError, PermissionError) as exc:
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
    parser.add_argument("--seed", type=int_range(0), default=0)
    parser.add_argument("--backend", choices=["c", "numba", "numpy", "auto"], default=None)
    parser.add_argument("--threads", type=int_range(1, 1024), default=None)
    parser.add_argument("--no-progress", action="store_true")


def backend_attrs(args, require=()) -> dict:
    """Run metadata from ``args.backend`` and ``args.threads``: the backend asked for,
    the one it resolves to for couplings needing the optional backend features
    ``require`` (what ``"auto"`` chose), and the thread count used (``--threads`` or
    every core this process may use)."""
    from rrnn import backends
    from rrnn._validation import check_n_threads

    return dict(backend=args.backend or "auto",
                backend_used=backends.get(args.backend, require=require).name,
                n_threads=check_n_threads(args.threads))


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
