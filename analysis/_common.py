"""Shared bits of the analysis drivers: argument types and progress bars."""

from __future__ import annotations

import argparse

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


def progress(total: int, initial: int = 0, enabled: bool = True, unit: str = "unit"):
    return tqdm(total=total, initial=initial, disable=not enabled, unit=unit)


def common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backend", choices=["c", "numba", "numpy", "auto"], default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--no-progress", action="store_true")
