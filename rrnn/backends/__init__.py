"""Backend registry: ``"c"``, ``"numba"`` and the ``"numpy"`` reference.

Selection order: the ``backend=`` argument, then the ``RRNN_BACKEND``
environment variable, then ``"auto"`` (c, then numba, then numpy). Backends
are imported lazily at call time. An explicitly requested backend that cannot
be loaded raises with the reason; ``"auto"`` falls back and warns (Python's
warning filter shows each distinct warning once).
"""

from __future__ import annotations

import importlib
import os
import warnings
from types import ModuleType

BACKENDS = ("c", "numba", "numpy")
_MODULES = {"c": "c_backend", "numba": "numba_backend", "numpy": "numpy_ref"}
AUTO_ORDER = ("c", "numba", "numpy")


def load(name: str) -> tuple[ModuleType | None, str]:
    """Import a backend module; returns (module, "") or (None, reason)."""
    try:
        module = importlib.import_module(f"rrnn.backends.{_MODULES[name]}")
    except Exception as exc:  # any import failure is a reason, reported to the user
        return None, f"{type(exc).__name__}: {exc}"
    ok, reason = module.available()
    return (module, "") if ok else (None, reason)


def requested_name(backend: str | None) -> str:
    """The backend name that applies: argument > RRNN_BACKEND > 'auto'."""
    if backend is None:
        backend = os.environ.get("RRNN_BACKEND", "").strip() or "auto"
        source = "RRNN_BACKEND"
    else:
        source = "backend"
    if not isinstance(backend, str) or backend not in BACKENDS + ("auto",):
        raise ValueError(
            f"{source}: unknown backend {backend!r}; expected one of "
            f"{', '.join(repr(b) for b in BACKENDS + ('auto',))}")
    return backend


def missing_features(module: ModuleType, require=()) -> list[str]:
    """Optional features (see :data:`rrnn.backends.base.OPTIONAL_FEATURES`) in
    ``require`` that ``module`` does not implement."""
    have = getattr(module, "FEATURES", frozenset())
    return sorted(f for f in require if f not in have)


def get(backend: str | None = None, require=()) -> ModuleType:
    """Resolve and import a backend module.

    Parameters
    ----------
    backend : {"c", "numba", "numpy", "auto"} or None
    require : iterable of str
        Optional features the call needs (``"lowrank"``, ``"glauber"``). An
        explicitly named backend without one raises ``NotImplementedError``;
        ``"auto"`` skips it.

    Returns
    -------
    module
        A backend module implementing the interface in
        :mod:`rrnn.backends.base`.
    """
    name = requested_name(backend)
    if name != "auto":
        module, reason = load(name)
        if module is None:
            raise RuntimeError(f"backend {name!r} is not available: {reason}")
        missing = missing_features(module, require)
        if missing:
            raise NotImplementedError(
                f"backend {name!r} does not implement {', '.join(missing)} yet; "
                f"use backend='numba' or 'numpy' (or 'auto')")
        return module
    reasons = []
    for candidate in AUTO_ORDER:
        module, reason = load(candidate)
        if module is not None and missing_features(module, require):
            # not a failure worth a warning: the next backend is the designed fallback
            continue
        if module is not None:
            if reasons:
                warnings.warn(f"rrnn: using backend {candidate!r} "
                              f"({'; '.join(reasons)})", RuntimeWarning, stacklevel=3)
            return module
        reasons.append(f"{candidate!r} unavailable: {reason}")
    raise RuntimeError("no rrnn backend is available: " + "; ".join(reasons))


def status() -> dict[str, str]:
    """Each backend's availability: 'available' or the reason it is not."""
    out = {}
    for name in BACKENDS:
        module, reason = load(name)
        out[name] = "available" if module is not None else reason
    return out
