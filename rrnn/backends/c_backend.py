"""The C/OpenMP backend: a thin adapter over the cffi module ``_rrnn_core``.

The compiled module is top level (not ``rrnn._rrnn_core``) so that running
from a source checkout, where ``import rrnn`` finds the uncompiled sources
first, still uses the core that ``pip install .`` built.

The adapter only coerces dtypes and contiguity, builds the argument structs
and turns status codes into exceptions; all arithmetic is in ``csrc/``.
``ffi.from_buffer`` reinterprets memory silently, so every array passed in is
checked here for exactly the dtype the C signature expects.
"""

from __future__ import annotations

import math
import os

import numpy as np

from .base import OPTIONAL_FEATURES, KernelCouplings, n_words

name = "c"
FEATURES = OPTIONAL_FEATURES

_DEFAULT_SPINCOUNT = "10000"


def _bounded_openmp_spinning() -> None:
    """Cap how long idle OpenMP threads spin before they sleep (unless the user chose).

    libgomp reads its wait policy once, when the core loads it. By default an
    idle thread spins for up to ~300,000 iterations at every barrier; the sync
    kernel passes a few barriers per step, so when another process holds the
    other core a spinning thread burns the time slice its partner needs, and
    small problems ran 10-20x slower with 2 threads than with 1 (measured,
    README). A short spin keeps barriers fast on a quiet machine and yields
    quickly on a busy one. ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` set by the
    user win.
    """
    if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
        os.environ["GOMP_SPINCOUNT"] = _DEFAULT_SPINCOUNT


_bounded_openmp_spinning()

try:
    import _rrnn_core
    _ffi, _lib = _rrnn_core.ffi, _rrnn_core.lib
    _IMPORT_ERROR = ""
except ImportError as exc:  # the compiled core was not built
    _ffi = _lib = None
    _IMPORT_ERROR = f"compiled core _rrnn_core not importable ({exc}); reinstall with pip"

SIMD_LEVELS = {"portable": 0, "avx2": 1, "avx512": 2}
SIMD_NAMES = {v: k for k, v in SIMD_LEVELS.items()}

_ERRORS = {
    -1: (ValueError, "invalid argument"),
    -2: (MemoryError, "out of memory in the C core"),
    -3: (NotImplementedError, "unsupported by the C core"),
}


def available() -> tuple[bool, str]:
    return (_lib is not None), _IMPORT_ERROR


def detected_simd() -> int:
    """Best SIMD level of this CPU (0 portable, 1 AVX2, 2 AVX-512 VPOPCNTDQ)."""
    return int(_lib.rrnn_simd_detect())


def selected_simd() -> int:
    """SIMD level used: ``RRNN_SIMD`` (portable|avx2|avx512) if set, else the best."""
    best = detected_simd()
    wanted = os.environ.get("RRNN_SIMD", "").strip().lower()
    if not wanted:
        return best
    if wanted not in SIMD_LEVELS:
        raise ValueError(f"RRNN_SIMD: unknown level {wanted!r}; expected one of "
                         f"{', '.join(SIMD_LEVELS)}")
    if SIMD_LEVELS[wanted] > best:
        raise ValueError(f"RRNN_SIMD={wanted!r} is not supported by this CPU "
                         f"(best level: {SIMD_NAMES[best]!r})")
    return SIMD_LEVELS[wanted]


def openmp_enabled() -> bool:
    return bool(_lib.rrnn_openmp_enabled())


def max_threads() -> int:
    return int(_lib.rrnn_max_threads())


def _check(status: int, what: str) -> None:
    if status != 0:
        exc, text = _ERRORS.get(status, (RuntimeError, f"error code {status}"))
        raise exc(f"{what}: {text}")


def _exec(n_threads: int):
    return _ffi.new("rrnn_exec *", {"n_threads": int(n_threads), "simd": selected_simd()})[0]


def _ptr(array: np.ndarray | None, ctype: str, dtype, keep: list):
    """Pointer to a C-contiguous array of exactly ``dtype`` (NULL for None)."""
    if array is None:
        return _ffi.NULL
    if array.dtype != np.dtype(dtype) or not array.flags.c_contiguous:
        raise TypeError(f"internal: expected C-contiguous {np.dtype(dtype)}, got "
                        f"{array.dtype} (contiguous={array.flags.c_contiguous})")
    keep.append(array)
    return _ffi.cast(f"{ctype} *", _ffi.from_buffer(array))


def _couplings(J: KernelCouplings, keep: list):
    s = _ffi.new("rrnn_couplings *")
    s.n = J.n
    s.bin_rows = _ptr(J.bin_rows, "uint64_t", np.uint64, keep)
    s.bin_cols = _ptr(J.bin_cols, "uint64_t", np.uint64, keep)
    s.bin_words = n_words(J.n)
    s.bin_scale = J.bin_scale
    s.dense_rows = _ptr(J.dense_rows, "int32_t", np.int32, keep)
    s.dense_cols = _ptr(J.dense_cols, "int32_t", np.int32, keep)
    s.dense_scale = J.dense_scale
    s.sp_row_ptr = _ptr(J.sp_row_ptr, "int64_t", np.int64, keep)
    s.sp_row_idx = _ptr(J.sp_row_idx, "int64_t", np.int64, keep)
    s.sp_row_val = _ptr(J.sp_row_val, "int32_t", np.int32, keep)
    s.sp_col_ptr = _ptr(J.sp_col_ptr, "int64_t", np.int64, keep)
    s.sp_col_idx = _ptr(J.sp_col_idx, "int64_t", np.int64, keep)
    s.sp_col_val = _ptr(J.sp_col_val, "int32_t", np.int32, keep)
    s.sparse_scale = J.sparse_scale
    if J.has_lowrank and J.lr_bits_t is None:
        raise ValueError("KernelCouplings: the c backend needs lr_bits_t (the bit-packed "
                         "transpose) for every use of a low-rank term")
    s.lr_patterns = _ptr(J.lr_patterns, "int8_t", np.int8, keep)
    s.lr_bits_t = _ptr(J.lr_bits_t, "uint64_t", np.uint64, keep)
    s.lr_p = J.lr_p
    s.lr_words = n_words(J.lr_p)
    s.lr_scale = J.lr_scale
    keep.append(s)
    return s


def _per_row(self_coupling, batch: int) -> np.ndarray:
    """J_D as a contiguous (batch,) float64 array (a float is broadcast)."""
    return np.ascontiguousarray(np.broadcast_to(np.asarray(self_coupling, dtype=np.float64), (batch,)))


def _bias_stride(bias: np.ndarray, n: int) -> int:
    return 0 if bias.ndim == 1 else n


def generate_binary(key: int, n: int, n_threads: int = 1) -> np.ndarray:
    rows = np.empty((n, n_words(n)), dtype=np.uint64)
    keep: list = []
    _check(_lib.rrnn_generate_binary(key, n, _ptr(rows, "uint64_t", np.uint64, keep),
                                     _exec(n_threads)), "generate_binary")
    return rows


def transpose_bits(rows: np.ndarray, n: int, n_threads: int = 1) -> np.ndarray:
    cols = np.empty_like(rows)
    keep: list = []
    _check(_lib.rrnn_transpose_bits(_ptr(rows, "uint64_t", np.uint64, keep), n,
                                    _ptr(cols, "uint64_t", np.uint64, keep),
                                    _exec(n_threads)), "transpose_bits")
    return cols


def _fields_call(name: str, J: KernelCouplings, states: np.ndarray, bias: np.ndarray,
                 self_coupling, extra: tuple, out: np.ndarray, out_ctype: str,
                 n_threads: int) -> np.ndarray:
    """``rrnn_<name>(J, states, batch, bias, stride, self_coupling, *extra, out, exec)``:
    the signature shared by rrnn_local_fields and rrnn_sync_step."""
    keep: list = []
    batch = states.shape[0]
    _check(getattr(_lib, "rrnn_" + name)(
        _couplings(J, keep), _ptr(states, "int8_t", np.int8, keep), batch,
        _ptr(bias, "double", np.float64, keep), _bias_stride(bias, J.n),
        _ptr(_per_row(self_coupling, batch), "double", np.float64, keep), *extra,
        _ptr(out, out_ctype, out.dtype.type, keep), _exec(n_threads)), name)
    return out


def local_fields(J: KernelCouplings, states: np.ndarray, bias: np.ndarray,
                 self_coupling: float, n_threads: int = 1) -> np.ndarray:
    out = np.empty((states.shape[0], J.n), dtype=np.float64)
    return _fields_call("local_fields", J, states, bias, self_coupling, (), out, "double",
                        n_threads)


def sync_step(J: KernelCouplings, states: np.ndarray, bias: np.ndarray,
              self_coupling: np.ndarray, activation: int, n_threads: int = 1) -> np.ndarray:
    out = np.empty((states.shape[0], J.n), dtype=np.int8)
    return _fields_call("sync_step", J, states, bias, self_coupling, (int(activation),), out,
                        "int8_t", n_threads)


def simulate(J: KernelCouplings, states: np.ndarray, bias: np.ndarray,
             self_coupling: float, activation: int, update: int, max_steps: int,
             order_key: int, n_threads: int = 1, beta: float = math.inf, noise_key: int = 0):
    """See ``rrnn_simulate``; ``beta`` finite selects Glauber updates with
    random numbers from ``noise_key``."""
    keep: list = []
    batch = states.shape[0]
    steps = np.zeros(batch, dtype=np.int64)
    converged = np.zeros(batch, dtype=np.uint8)
    period = np.full(batch, -1, dtype=np.int64)
    _check(_lib.rrnn_simulate(
        _couplings(J, keep), _ptr(states, "int8_t", np.int8, keep), batch,
        _ptr(bias, "double", np.float64, keep), _bias_stride(bias, J.n),
        _ptr(_per_row(self_coupling, batch), "double", np.float64, keep),
        int(activation), int(update), int(max_steps),
        int(order_key), float(beta), int(noise_key),
        _ptr(steps, "int64_t", np.int64, keep), _ptr(converged, "uint8_t", np.uint8, keep),
        _ptr(period, "int64_t", np.int64, keep), _exec(n_threads)), "simulate")
    return steps, converged.astype(bool), period


def count_fixed_points(J: KernelCouplings, bias: np.ndarray, self_coupling: float,
                       activation: int, n_threads: int = 1) -> int:
    keep: list = []
    count = _ffi.new("int64_t *")
    _check(_lib.rrnn_count_fixed_points(
        _couplings(J, keep), _ptr(bias, "double", np.float64, keep), float(self_coupling),
        int(activation), count, _exec(n_threads)), "count_fixed_points")
    return int(count[0])


def stream_read(data: np.ndarray, n_threads: int = 1) -> int:
    """Memory-bandwidth probe: read every word of ``data`` (uint64) once."""
    keep: list = []
    out = _ffi.new("uint64_t *")
    flat = data.reshape(-1)
    _check(_lib.rrnn_stream_read(_ptr(flat, "uint64_t", np.uint64, keep), flat.size, out,
                                 _exec(n_threads)), "stream_read")
    return int(out[0])


def popcount_peak(rounds: int, n_threads: int = 1) -> tuple[int, int]:
    """Compute-peak probe: ``rounds`` rounds per thread of the batched kernel's instruction
    mix at the dispatched SIMD level, no memory traffic beyond L1 (XOR/VPOPCNTQ/add on
    AVX-512, nibble-table lookups on AVX2). Returns the coupling-word
    x state products done (for a rate in word-states per second) and the sum of their
    popcounts (a checksum)."""
    ops = _ffi.new("uint64_t *")
    out = _ffi.new("uint64_t *")
    _check(_lib.rrnn_popcount_peak(int(rounds), ops, out, _exec(n_threads)), "popcount_peak")
    return int(ops[0]), int(out[0])


def _popcount_call(name: str, rows: np.ndarray, packed: np.ndarray, n_threads: int) -> np.ndarray:
    """Calls ``rrnn_<name>`` (rows (n, words), packed (batch, words) uint64) into a new
    (batch, n) int64 array."""
    keep: list = []
    n, words = rows.shape
    batch = packed.shape[0]
    out = np.empty((batch, n), dtype=np.int64)
    _check(getattr(_lib, f"rrnn_{name}")(
        _ptr(rows, "uint64_t", np.uint64, keep), n, words,
        _ptr(packed, "uint64_t", np.uint64, keep), batch,
        _ptr(out, "int64_t", np.int64, keep), _exec(n_threads)), name)
    return out


def xor_popcount(rows: np.ndarray, packed: np.ndarray, n_threads: int = 1) -> np.ndarray:
    """Raw batched kernel: out[b, i] = popcount(rows[i] ^ packed[b]), (batch, n) int64."""
    return _popcount_call("xor_popcount", rows, packed, n_threads)


def xor_popcount_plain(rows: np.ndarray, packed: np.ndarray, n_threads: int = 1) -> np.ndarray:
    """Benchmark baseline: :func:`xor_popcount` from the plain OpenMP loop (rows in parallel,
    then states, then words), compiled for the dispatched SIMD level without hand tuning."""
    return _popcount_call("xor_popcount_plain", rows, packed, n_threads)
