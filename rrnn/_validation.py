"""Validation of user input at the public boundary.

Each checker raises ``TypeError`` or ``ValueError`` naming the parameter, the
value received and what was expected, and returns the coerced value. Kernels
downstream assume everything here holds.
"""

from __future__ import annotations

import math
import os

import numpy as np

from .backends.base import ACTIVATIONS, UPDATES


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_int(value, name: str, minimum: int | None = None, maximum: int | None = None) -> int:
    if not _is_int(value):
        raise TypeError(f"{name}: expected an int, got {value!r} of type {type(value).__name__}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name}: expected an int >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name}: expected an int <= {maximum}, got {value}")
    return value


def check_n(n, name: str = "n") -> int:
    """Number of units: an int >= 1."""
    return check_int(n, name, minimum=1)


def check_n_threads(n_threads) -> int:
    """``None`` means every core this process may use."""
    if n_threads is None:
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # not Linux
            return max(1, os.cpu_count() or 1)
    return check_int(n_threads, "n_threads", minimum=1, maximum=1024)


def check_real(value, name: str, low: float | None = None, high: float | None = None, *,
               low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a finite float, in the interval from ``low`` to ``high`` when given
    (closed unless ``low_open`` / ``high_open``), e.g. "expected a number in (0, 1]"."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}: expected a real number, got {value!r} of type {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name}: expected a finite number, got {value}")
    if not in_interval(value, low, high, low_open, high_open):
        raise ValueError(f"{name}: expected a number {interval_text(low, high, low_open, high_open)}, "
                         f"got {value}")
    return value


def in_interval(value: float, low: float | None, high: float | None,
                low_open: bool = False, high_open: bool = False) -> bool:
    """Whether ``value`` lies in the interval (a bound of None is no bound)."""
    below = low is not None and (value <= low if low_open else value < low)
    above = high is not None and (value >= high if high_open else value > high)
    return not (below or above)


def interval_text(low: float | None, high: float | None, low_open: bool = False,
                  high_open: bool = False) -> str:
    """The interval in words for messages: "in (0, 1]", ">= 0", "< 2"."""
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '>='} {low:g}"
    return f"{'<' if high_open else '<='} {high:g}"


def check_real_array(value, name: str, *, what: str = "real numbers", noun: str = "values",
                     minimum: float | None = None, index: str = "flat index") -> np.ndarray:
    """``value`` (any shape) as a float64 array of finite reals, each >= ``minimum``
    when given.

    Parameters
    ----------
    value : array_like
    name : str
        The parameter, for messages.
    what, noun : str
        How messages name the expected input ("expected {what}") and its entries
        ("expected finite {noun} >= minimum").
    minimum : float, optional
    index : str
        How the message locates the first bad entry of a non-scalar input.

    Returns
    -------
    ndarray float64, the shape of ``value``
    """
    arr = np.asarray(value)
    if arr.dtype == object or arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer)
                                                        or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"{name}: expected {what}, got {value!r:.60} of dtype {arr.dtype}")
    out = arr.astype(np.float64)
    ok = np.isfinite(out) if minimum is None else np.isfinite(out) & (out >= minimum)
    bad = np.flatnonzero(~ok)
    if bad.size:
        bound = "" if minimum is None else f" >= {minimum:g}"
        where = f" at {index} {int(bad[0])}" if out.ndim else ""
        raise ValueError(f"{name}: expected finite {noun}{bound}, got {out.ravel()[bad[0]]}{where}")
    return out


def check_self_coupling(value, batch: int) -> np.ndarray:
    """J_D as a float or one per trajectory; returns (batch,) float64."""
    arr = np.asarray(value)
    if arr.ndim == 0:
        return np.full(batch, check_real(value, "self_coupling"))
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise TypeError(f"self_coupling: expected real numbers, got dtype {arr.dtype}")
    if arr.shape != (batch,):
        raise ValueError(f"self_coupling: expected a number or shape ({batch},) (one per "
                         f"trajectory), got shape {arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError("self_coupling: values must be finite (found NaN or inf)")
    return arr


def check_choice(value, name: str, choices: dict) -> int:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name}: expected one of {', '.join(repr(c) for c in choices)}, got {value!r}")
    return choices[value]


def check_option(value, name: str, options: tuple) -> str:
    """``value`` if it is one of the strings ``options``; an array holding one is refused
    (``np.array(["sign"]) in options`` is truthy and would slip through ``in``)."""
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name}: expected one of {options}, got {value!r}")
    return value


def check_activation(activation) -> int:
    return check_choice(activation, "activation", ACTIVATIONS)


def check_update(update) -> int:
    return check_choice(update, "update", UPDATES)


def check_states(s, n: int, activation: int, name: str = "s0") -> np.ndarray:
    """States (n,) or (batch, n) with values +-1 (sign) or 0/1 (heaviside).

    Returns
    -------
    ndarray (batch, n) int8, a fresh C-contiguous copy.
    """
    arr = np.asarray(s)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.integer)
                                   or np.issubdtype(arr.dtype, np.floating)
                                   or arr.dtype == bool):
        raise TypeError(f"{name}: expected a numeric array, got dtype {arr.dtype}")
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != n:
        raise ValueError(f"{name}: expected shape ({n},) or (batch, {n}), got {np.shape(s)}")
    if arr.shape[0] < 1:
        raise ValueError(f"{name}: expected at least one state, got shape {np.shape(s)}")
    allowed = (-1, 1) if activation == ACTIVATIONS["sign"] else (0, 1)
    ok = (arr == allowed[0]) | (arr == allowed[1])
    if not np.all(ok):
        bad = tuple(int(k) for k in np.argwhere(~ok)[0])
        act = "sign" if activation == ACTIVATIONS["sign"] else "heaviside"
        raise ValueError(f"{name}: {act} states must be {allowed[0]} or {allowed[1]}; "
                         f"found {arr[bad].item()!r} at index {bad}")
    return np.ascontiguousarray(arr, dtype=np.int8).copy()


def check_vector(value, name: str, n: int, batch: int | None, default: float = 0.0) -> np.ndarray:
    """A per-unit real input: None, a scalar, (n,) or (batch, n); finite.

    Returns
    -------
    ndarray float64 of shape (n,) or (batch, n)
    """
    if value is None:
        return np.full(n, default, dtype=np.float64)
    arr = np.asarray(value)
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise TypeError(f"{name}: expected real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if arr.ndim == 0:
        arr = np.full(n, float(arr), dtype=np.float64)
    allowed = ((n,),) if batch is None else ((n,), (batch, n))
    if arr.shape not in allowed:
        expected = " or ".join(map(str, allowed))
        raise ValueError(f"{name}: expected a scalar or shape {expected}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: values must be finite (found NaN or inf)")
    return np.ascontiguousarray(arr)


def check_bias(field, threshold, n: int, batch: int | None) -> np.ndarray:
    """``field - threshold`` of :func:`check_vector` inputs (``batch=None``: one
    vector for every state); refuses a difference that overflows to inf."""
    f = check_vector(field, "field", n, batch)
    th = check_vector(threshold, "threshold", n, batch)
    with np.errstate(over="ignore"):
        bias = np.ascontiguousarray(np.subtract(f, th))
    if not np.all(np.isfinite(bias)):
        raise ValueError("field, threshold: field - threshold overflows float64 (values "
                         "beyond about 1e308)")
    return bias
