"""``rrnn.show_config()``: what this installation can do."""

from __future__ import annotations

import platform
import sys
from importlib import metadata

from . import backends
from ._validation import check_n_threads


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def config() -> dict:
    """Backends, OpenMP, threads, SIMD level and versions, as a dict."""
    from .backends import c_backend

    info = {
        "rrnn": _version("rrnn"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "numpy": _version("numpy"),
        "numba": _version("numba"),
        "cffi": _version("cffi"),
        "h5py": _version("h5py"),
        "scipy": _version("scipy"),
        "backends": backends.status(),
        "default_backend": backends.requested_name(None),
        "threads_default": check_n_threads(None),
    }
    ok, reason = c_backend.available()
    if ok:
        names = c_backend.SIMD_NAMES
        info["c_openmp"] = c_backend.openmp_enabled()
        info["c_max_threads"] = c_backend.max_threads()
        info["simd_detected"] = names[c_backend.detected_simd()]
        try:
            info["simd_selected"] = names[c_backend.selected_simd()]
        except ValueError as exc:
            info["simd_selected"] = f"invalid RRNN_SIMD ({exc})"
    return info


def show_config(file=None) -> None:
    """Print :func:`config` in a readable form (to ``file``, default stdout)."""
    file = file or sys.stdout
    info = config()
    print("rrnn configuration", file=file)
    for key, value in info.items():
        if key == "backends":
            for name, state in value.items():
                print(f"  backend {name:<6} {state}", file=file)
        else:
            print(f"  {key:<16} {value}", file=file)
