"""Coupling matrices J: bit-packed binary, dense, sparse, and their sums.

Every coupling object is a sum of integer-valued terms times a scale:

- :func:`binary`: ``J_ij = +-1/sqrt(n)``, stored one bit per weight (the packed
  matrix at n = 100,000 is 1.25 GB, where float32 would be 40 GB);
- :func:`dense` and :func:`gaussian`: any real matrix, stored as 32-bit fixed
  point ``Q_ij * 2**-k`` with ``k`` chosen so the largest ``|J_ij|`` uses 30
  bits (relative resolution 2**-30, finer than float32's 2**-24);
- :func:`sparse`: CSR, values in the same fixed point.

Fields are then sums of integers, computed exactly in int64, so every backend,
thread count, SIMD width and incremental-update schedule gives bit-identical
results. ``to_dense()`` returns exactly the values the dynamics use.

The diagonal is never part of J: self-coupling is the separate
``self_coupling`` argument of :func:`rrnn.simulate`.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from . import backends, memory
from . import random as rrandom
from ._validation import check_int, check_n, check_n_threads
from .backends.base import KernelCouplings, n_words

#: Fixed-point magnitude: the largest |J_ij| maps below 2**FIXED_POINT_BITS.
FIXED_POINT_BITS = 30
#: Box-Muller with 53-bit uniforms never exceeds sqrt(2 * 53 * ln 2) < 8.6.
_GAUSSIAN_BOUND = 8.6


#: Largest |coupling| exponent: the scale 2**-k and q * scale must stay normal doubles.
_FIXED_POINT_EXPONENT_RANGE = (-990, 990)


def _check_fixed_point_bound(bound: float, name: str) -> None:
    """Refuse a largest |value| whose fixed-point scale would under- or overflow."""
    lo, hi = _FIXED_POINT_EXPONENT_RANGE
    if bound != 0.0 and not (math.isfinite(bound) and lo < math.frexp(bound)[1] < hi):
        raise ValueError(f"{name}: the largest |value| is {bound:g}; expected it between "
                         f"2**{lo} and 2**{hi} (about 1e-298 and 1e298) so that the fixed-point "
                         f"scale is a normal float64")


def quantize(values: np.ndarray, bound: float | None = None,
             name: str = "values") -> tuple[np.ndarray, float]:
    """Fixed-point form ``values ~= q * scale`` with ``scale`` a power of two.

    Parameters
    ----------
    values : ndarray of float64
        Finite values.
    bound : float, optional
        Upper bound on ``|values|``; defaults to their maximum.

    Returns
    -------
    q : ndarray of int32, same shape
    scale : float
        ``2**-k`` with ``k`` the largest integer such that
        ``bound * 2**k < 2**FIXED_POINT_BITS``.
    """
    if bound is None:
        bound = float(np.max(np.abs(values))) if values.size else 0.0
    if bound == 0.0:
        return np.zeros(values.shape, dtype=np.int32), 1.0
    _check_fixed_point_bound(bound, name)
    exponent = math.frexp(bound)[1]          # bound < 2**exponent
    k = FIXED_POINT_BITS - exponent
    scale = math.ldexp(1.0, -k)
    q = np.rint(np.ldexp(values, k)).astype(np.int32)
    return q, scale


class Couplings:
    """Base class: an (n, n) coupling matrix with zero diagonal.

    Subclasses provide ``n``, ``to_dense()``, ``nbytes``, ``_kind`` and
    ``_kernel_fields(need_cols, backend, n_threads)``.
    """

    n: int
    _kind: str

    def __add__(self, other: "Couplings") -> "Couplings":
        if not isinstance(other, Couplings):
            return NotImplemented
        return CouplingSum.combine([self, other])

    def to_dense(self) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n, self.n)

    def kernel(self, need_cols: bool = False, backend=None, n_threads: int = 1) -> KernelCouplings:
        """Kernel-ready arrays (see :class:`rrnn.backends.base.KernelCouplings`).

        Parameters
        ----------
        need_cols : bool
            Also provide transposes for incremental updates (built once and
            cached on the object).
        backend : module, optional
            Backend used to build transposes of bit-packed terms.
        n_threads : int
        """
        return KernelCouplings(n=self.n, **self._kernel_fields(need_cols, backend, n_threads))

    def transpose_nbytes(self) -> int:
        """Extra bytes the cached transposes need (0 once built)."""
        return 0

    def required_features(self) -> frozenset:
        """Optional backend features these couplings need (e.g. ``"lowrank"``)."""
        kinds = self.terms.keys() if isinstance(self, CouplingSum) else (self._kind,)
        return frozenset({"lowrank"}) if "lowrank" in kinds else frozenset()

    def _dense_nbytes_check(self) -> None:
        memory.require(8 * self.n * self.n, f"to_dense() of an n={self.n} coupling matrix")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={self.n})"


class BinaryCouplings(Couplings):
    """``J_ij = +-scale`` stored one bit per weight; see :func:`binary`.

    Attributes
    ----------
    n : int
    bits : ndarray (n, ceil(n/64)) uint64
        Bit ``b`` of word ``w`` of row ``i`` is column ``64 w + b``; set means
        ``-scale``. Diagonal and padding bits are 0.
    scale : float
    seed_entropy : int or None
        Entropy of the seed the matrix was drawn from.
    """

    _kind = "binary"

    def __init__(self, bits: np.ndarray, n: int, scale: float, seed_entropy: int | None = None):
        self.n = int(n)
        self.bits = bits
        self.scale = float(scale)
        self.seed_entropy = seed_entropy
        self._cols: np.ndarray | None = None

    @property
    def nbytes(self) -> int:
        return self.bits.nbytes + (0 if self._cols is None else self._cols.nbytes)

    def transpose_nbytes(self) -> int:
        return 0 if self._cols is not None else self.bits.nbytes

    def signs(self) -> np.ndarray:
        """The +-1 pattern as an (n, n) int8 matrix with zero diagonal."""
        memory.require(self.n * self.n, f"signs() of an n={self.n} binary matrix")
        from .backends.numpy_ref import unpack_bits
        c = (1 - 2 * unpack_bits(self.bits, self.n).astype(np.int8)).astype(np.int8)
        np.fill_diagonal(c, 0)
        return c

    def to_dense(self) -> np.ndarray:
        """(n, n) float64 matrix with zero diagonal."""
        self._dense_nbytes_check()
        return self.signs().astype(np.float64) * self.scale

    def _kernel_fields(self, need_cols, backend, n_threads):
        if need_cols and self._cols is None:
            backend = backend or backends.get(None)
            memory.require(self.bits.nbytes, f"transpose of an n={self.n} binary matrix",
                           memory.SMALLER_N)
            self._cols = backend.transpose_bits(self.bits, self.n, n_threads)
        return dict(bin_rows=self.bits, bin_cols=self._cols if need_cols else None,
                    bin_scale=self.scale)


class DenseCouplings(Couplings):
    """Dense couplings in 32-bit fixed point; see :func:`dense`.

    Attributes
    ----------
    q : ndarray (n, n) int32
        Fixed-point values, zero diagonal.
    scale : float
        A power of two; ``J = q * scale``.
    """

    _kind = "dense"

    def __init__(self, q: np.ndarray, scale: float, seed_entropy: int | None = None):
        self.n = q.shape[0]
        self.q = q
        self.scale = float(scale)
        self.seed_entropy = seed_entropy
        self._cols: np.ndarray | None = None

    @property
    def nbytes(self) -> int:
        return self.q.nbytes + (0 if self._cols is None else self._cols.nbytes)

    def transpose_nbytes(self) -> int:
        return 0 if self._cols is not None else self.q.nbytes

    def to_dense(self) -> np.ndarray:
        self._dense_nbytes_check()
        return self.q.astype(np.float64) * self.scale

    def _kernel_fields(self, need_cols, backend, n_threads):
        if need_cols and self._cols is None:
            memory.require(self.q.nbytes, f"transpose of an n={self.n} dense matrix")
            self._cols = np.ascontiguousarray(self.q.T)
        return dict(dense_rows=self.q, dense_cols=self._cols if need_cols else None,
                    dense_scale=self.scale)


class SparseCouplings(Couplings):
    """Sparse couplings (CSR, 32-bit fixed point); see :func:`sparse`.

    Attributes
    ----------
    matrix : scipy.sparse.csr_matrix (n, n) of int32
        Canonical (sorted, no duplicates), no diagonal entries.
    scale : float
    """

    _kind = "sparse"

    def __init__(self, matrix: sp.csr_matrix, scale: float):
        self.n = matrix.shape[0]
        self.matrix = matrix
        self.scale = float(scale)
        self._csc: sp.csc_matrix | None = None

    @property
    def nnz(self) -> int:
        return int(self.matrix.nnz)

    @property
    def nbytes(self) -> int:
        return 12 * self.nnz + 8 * (self.n + 1)

    def transpose_nbytes(self) -> int:
        return 0 if self._csc is not None else self.nbytes

    def to_dense(self) -> np.ndarray:
        self._dense_nbytes_check()
        return self.matrix.toarray().astype(np.float64) * self.scale

    def _kernel_fields(self, need_cols, backend, n_threads):
        m = self.matrix
        fields = dict(sp_row_ptr=m.indptr, sp_row_idx=m.indices, sp_row_val=m.data,
                      sparse_scale=self.scale)
        if need_cols:
            if self._csc is None:
                csc = m.tocsc()
                csc.sort_indices()
                self._csc = csc
                for name in ("indptr", "indices"):
                    setattr(csc, name, np.ascontiguousarray(getattr(csc, name), dtype=np.int64))
            fields.update(sp_col_ptr=self._csc.indptr, sp_col_idx=self._csc.indices,
                          sp_col_val=np.ascontiguousarray(self._csc.data, dtype=np.int32))
        return fields


class CouplingSum(Couplings):
    """A sum of at most one binary, one dense, one sparse and one Hebbian term.

    Built by ``J1 + J2``. Dense + dense and sparse + sparse are merged (and
    re-quantized); Hebbian + Hebbian becomes one Hebbian term of all the
    patterns (exact); two binary terms cannot be merged and raise.
    """

    _kind = "sum"

    def __init__(self, terms: dict[str, Couplings]):
        ns = {t.n for t in terms.values()}
        self.n = ns.pop()
        self.terms = terms

    @staticmethod
    def combine(parts: list[Couplings]) -> Couplings:
        flat: list[Couplings] = []
        for p in parts:
            flat.extend(p.terms.values() if isinstance(p, CouplingSum) else [p])
        ns = sorted({p.n for p in flat})
        if len(ns) > 1:
            raise ValueError(f"couplings: cannot add matrices of different sizes n={ns}")
        terms: dict[str, Couplings] = {}
        for p in flat:
            if p._kind not in terms:
                terms[p._kind] = p
            elif p._kind == "binary":
                raise ValueError("couplings: a sum can hold one binary term only; "
                                 "convert one of them with rrnn.couplings.dense(J.to_dense())")
            elif p._kind == "dense":
                terms["dense"] = dense(terms["dense"].to_dense() + p.to_dense())
            elif p._kind == "lowrank":
                # sum of Hebbian terms = Hebbian term of all patterns (same 1/n scale)
                terms["lowrank"] = HebbianCouplings(
                    np.concatenate([terms["lowrank"].patterns, p.patterns]))
            else:
                a, b = terms["sparse"], p
                merged = a.matrix.astype(np.float64) * a.scale + b.matrix.astype(np.float64) * b.scale
                terms["sparse"] = _sparse_from_scipy(merged.tocsr())
        if len(terms) == 1:
            return next(iter(terms.values()))
        return CouplingSum(terms)

    @property
    def nbytes(self) -> int:
        return sum(t.nbytes for t in self.terms.values())

    def transpose_nbytes(self) -> int:
        return sum(t.transpose_nbytes() for t in self.terms.values())

    def to_dense(self) -> np.ndarray:
        self._dense_nbytes_check()
        total = np.zeros((self.n, self.n))
        for t in self.terms.values():
            total += t.to_dense()
        return total

    def _kernel_fields(self, need_cols, backend, n_threads):
        fields = {}
        for t in self.terms.values():
            fields.update(t._kernel_fields(need_cols, backend, n_threads))
        return fields

    def __repr__(self) -> str:
        return " + ".join(repr(t) for t in self.terms.values())


# ---------------------------------------------------------------------------
# constructors
# ---------------------------------------------------------------------------

def binary(n: int, seed=0, *, backend: str | None = None, n_threads: int | None = None) -> BinaryCouplings:
    """Random binary couplings ``J_ij = +-1/sqrt(n)`` i.i.d., ``J_ii = 0``.

    Parameters
    ----------
    n : int
        Number of units, >= 1.
    seed : int, numpy.random.SeedSequence or None
        The matrix is a pure function of the seed (counter-based generator),
        identical on every backend and thread count.
    backend : {"c", "numba", "numpy", "auto"}, optional
        Backend that generates the bits.
    n_threads : int, optional

    Returns
    -------
    BinaryCouplings
        Stored one bit per weight: ``n * ceil(n/64) * 8`` bytes.
    """
    n = check_n(n)
    n_threads = check_n_threads(n_threads)
    # one SeedSequence: with seed=None the stored entropy must be the one drawn
    seed = rrandom.as_seed_sequence(seed)
    memory.require(n * n_words(n) * 8, f"binary(n={n})", memory.SMALLER_N)
    key = rrandom.derive_key(seed, rrandom.PURPOSE_COUPLINGS)
    module = backends.get(backend)
    bits = module.generate_binary(key, n, n_threads)
    return BinaryCouplings(bits, n, 1.0 / math.sqrt(n), rrandom.seed_entropy(seed))


def gaussian(n: int, seed=0, std: float | None = None) -> DenseCouplings:
    """Random Gaussian couplings ``J_ij ~ N(0, std**2)`` i.i.d., ``J_ii = 0``.

    Normal deviates come from Box-Muller on the counter-based generator
    (``random_u64(key, i, 2j)`` and ``random_u64(key, i, 2j+1)``), so the
    matrix is a pure function of the seed.

    Parameters
    ----------
    n : int
    seed : int, numpy.random.SeedSequence or None
    std : float, optional
        Standard deviation; defaults to ``1/sqrt(n)``.

    Returns
    -------
    DenseCouplings
        ``4 n**2`` bytes (32-bit fixed point).
    """
    n = check_n(n)
    if std is None:
        std = 1.0 / math.sqrt(n)
    if not (isinstance(std, (int, float, np.floating, np.integer)) and math.isfinite(std) and std > 0):
        raise ValueError(f"std: expected a finite number > 0, got {std!r}")
    if not 1e-290 <= std <= 1e290:
        raise ValueError(f"std: expected a number in [1e-290, 1e290] (the fixed-point scale "
                         f"must stay a normal float64), got {float(std):g}")
    seed = rrandom.as_seed_sequence(seed)     # one draw of entropy for seed=None
    memory.require(4 * n * n + 64 * min(n, 1 << 16) * 64, f"gaussian(n={n})")
    key = rrandom.derive_key(seed, rrandom.PURPOSE_COUPLINGS)
    bound = _GAUSSIAN_BOUND * float(std)
    exponent = math.frexp(bound)[1]
    k = FIXED_POINT_BITS - exponent
    q = np.empty((n, n), dtype=np.int32)
    block = max(1, (1 << 21) // n)
    cols = np.arange(n, dtype=np.uint64)
    for start in range(0, n, block):
        rows = np.arange(start, min(n, start + block), dtype=np.uint64)[:, None]
        u1 = 1.0 - rrandom.uniform01(rrandom.random_u64(key, rows, 2 * cols))     # (0, 1]
        u2 = rrandom.uniform01(rrandom.random_u64(key, rows, 2 * cols + np.uint64(1)))
        z = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
        q[start:start + rows.shape[0]] = np.rint(np.ldexp(z * float(std), k)).astype(np.int32)
    np.fill_diagonal(q, 0)
    return DenseCouplings(q, math.ldexp(1.0, -k), rrandom.seed_entropy(seed))


def dense(matrix) -> DenseCouplings:
    """Couplings from any real (n, n) matrix; the diagonal is ignored.

    Parameters
    ----------
    matrix : array_like (n, n) of real numbers
        Must be finite. Stored as 32-bit fixed point (see module docstring).

    Returns
    -------
    DenseCouplings
    """
    m = np.asarray(matrix)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"matrix: expected a square (n, n) array, got shape {m.shape}")
    check_n(m.shape[0], name="matrix size n")
    if not (np.issubdtype(m.dtype, np.floating) or np.issubdtype(m.dtype, np.integer)
            or m.dtype == bool):
        raise TypeError(f"matrix: expected real numbers, got dtype {m.dtype}")
    n = m.shape[0]
    # a float64 copy, two float64 temporaries of quantize, the int32 result
    memory.require(29 * n * n, f"dense(n={n})")
    m = np.array(m, dtype=np.float64)            # a copy: the diagonal is cleared below
    if not np.all(np.isfinite(m)):
        bad = tuple(int(k) for k in np.argwhere(~np.isfinite(m))[0])
        raise ValueError(f"matrix: entries must be finite; found {m[bad]} at {bad}")
    np.fill_diagonal(m, 0.0)
    q, scale = quantize(m, name="matrix")
    return DenseCouplings(q, scale)


def sparse(indptr, indices, values, n: int) -> SparseCouplings:
    """Couplings from CSR arrays (e.g. diluted networks); diagonal ignored.

    Parameters
    ----------
    indptr : array_like (n + 1,) of int
        Row pointers, non-decreasing, ``indptr[0] == 0``.
    indices : array_like (nnz,) of int
        Column of each entry, in ``[0, n)``. Duplicates are summed.
    values : array_like (nnz,) of real
        Finite values.
    n : int

    Returns
    -------
    SparseCouplings
    """
    n = check_n(n)
    indptr = np.asarray(indptr)
    indices = np.asarray(indices)
    values = np.asarray(values)
    for label, arr in (("indptr", indptr), ("indices", indices)):
        if arr.ndim != 1 or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0):
            raise TypeError(f"{label}: expected a 1-d integer array, got dtype {arr.dtype} "
                            f"and shape {arr.shape}")
    if indptr.shape != (n + 1,):
        raise ValueError(f"indptr: expected shape ({n + 1},) for n={n}, got {indptr.shape}")
    nnz = indices.shape[0]
    # neighbours compared directly: np.diff of unsigned pointers would wrap
    # around instead of going negative
    decreasing = np.flatnonzero(indptr[1:] < indptr[:-1])
    if indptr[0] != 0 or indptr[-1] != nnz or decreasing.size:
        i = int(decreasing[0]) if decreasing.size else -1
        where = f"; indptr[{i + 1}] < indptr[{i}]" if decreasing.size else ""
        raise ValueError(f"indptr: expected non-decreasing pointers from 0 to nnz={nnz}, "
                         f"got first={indptr[0]}, last={indptr[-1]}{where}")
    if values.shape != (nnz,):
        raise ValueError(f"values: expected shape ({nnz},) matching indices, got {values.shape}")
    if nnz and (indices.min() < 0 or indices.max() >= n):
        raise ValueError(f"indices: expected columns in [0, {n}), got range "
                         f"[{indices.min()}, {indices.max()}]")
    if not (np.issubdtype(values.dtype, np.floating) or np.issubdtype(values.dtype, np.integer)):
        raise TypeError(f"values: expected real numbers, got dtype {values.dtype}")
    values = values.astype(np.float64)
    if not np.all(np.isfinite(values)):
        raise ValueError("values: entries must be finite (found NaN or inf)")
    m = sp.csr_matrix((values, indices.astype(np.int64), indptr.astype(np.int64)), shape=(n, n))
    return _sparse_from_scipy(m)


def _sparse_from_scipy(m: sp.csr_matrix) -> SparseCouplings:
    """Canonicalize a float CSR matrix: sum duplicates, drop diagonal, quantize."""
    m = m.tocsr(copy=True)
    m.sum_duplicates()
    m.setdiag(0)
    m.eliminate_zeros()
    m.sort_indices()
    q, scale = quantize(m.data, name="values")
    out = sp.csr_matrix((q, m.indices, m.indptr), shape=m.shape)
    out.indptr = np.ascontiguousarray(out.indptr, dtype=np.int64)
    out.indices = np.ascontiguousarray(out.indices, dtype=np.int64)
    out.data = np.ascontiguousarray(out.data, dtype=np.int32)
    return SparseCouplings(out, scale)


def sparse_reinforcement(n: int, d: float, a: float, seed=None) -> SparseCouplings:
    """Sparse positive reinforcement matrix A of thesis section 3.2.

    About ``n**d`` entries equal to ``a`` at uniformly random off-diagonal
    positions (without repetition). The count follows the thesis literally:
    ``K = round(Normal(n**d, 1/sqrt(n**d)))``, clipped to ``[0, n (n - 1)]``;
    the standard deviation ``n**(-d/2)`` is below 1, so K is ``round(n**d)``
    up to rare +-1 changes. Use as ``gaussian(n) + sparse_reinforcement(n, d, a)``.

    Parameters
    ----------
    n : int
    d : float
        Density exponent, typically in (1, 2).
    a : float
        Reinforcement strength (any finite value; the thesis uses a > 0).
    seed : int, numpy.random.SeedSequence or None

    Returns
    -------
    SparseCouplings
    """
    n = check_n(n)
    if not (isinstance(d, (int, float, np.integer, np.floating)) and math.isfinite(d) and 0 <= d <= 2):
        raise ValueError(f"d: expected a number in [0, 2], got {d!r}")
    if not (isinstance(a, (int, float, np.integer, np.floating)) and math.isfinite(a)):
        raise ValueError(f"a: expected a finite number, got {a!r}")
    # row pointers (int64) and their copies in the CSR conversions: 32 bytes per
    # unit, checked before the count (n * (n - 1) must also fit an int64)
    memory.require(32 * (n + 1), f"sparse_reinforcement(n={n}, d={d})")
    key = rrandom.derive_key(seed, rrandom.PURPOSE_COUPLINGS)
    gen = np.random.Generator(np.random.Philox(key=key))
    mean = float(n) ** d
    slots = n * (n - 1)
    count = int(np.clip(np.rint(gen.normal(mean, 1.0 / math.sqrt(mean))), 0, slots))
    memory.require(40 * count + 32 * (n + 1), f"sparse_reinforcement(n={n}, d={d})")
    # Uniform off-diagonal positions without repetition: index k in [0, n(n-1))
    # maps to row k // (n-1) and the k % (n-1)-th column other than the row.
    k = gen.choice(slots, size=count, replace=False) if count < slots else np.arange(slots)
    rows = k // (n - 1) if n > 1 else k
    cols = k % (n - 1) if n > 1 else k
    cols = cols + (cols >= rows)
    m = sp.csr_matrix((np.full(count, float(a)), (rows, cols)), shape=(n, n))
    return _sparse_from_scipy(m)


def as_couplings(J) -> Couplings:
    """Accept a coupling object or a square array (wrapped with :func:`dense`)."""
    if isinstance(J, Couplings):
        return J
    if isinstance(J, np.ndarray):
        return dense(J)
    raise TypeError(f"J: expected an rrnn.couplings object or an (n, n) numpy array, "
                    f"got {type(J).__name__}")


# ---------------------------------------------------------------------------
# Hebbian (Hopfield) couplings: a low-rank term stored as its patterns
# ---------------------------------------------------------------------------

class HebbianCouplings(Couplings):
    """Hebbian couplings ``J_ij = (1/n) sum_mu xi_i^mu xi_j^mu``, ``J_ii = 0``.

    Stored as the patterns, never as an n x n matrix: the dynamics keep the
    overlaps ``M_mu = sum_j xi_j^mu s_j``, so a full field costs O(n p) and
    one asynchronous flip O(p). A bit-packed transpose (n p / 8 bytes) is
    built on first use for per-unit access. n < 2**25 (int32 partial sums). Fields are exact integers times
    ``1/n`` (see :class:`rrnn.backends.base.KernelCouplings`). See
    :func:`hebbian`.

    Attributes
    ----------
    patterns : ndarray (p, n) int8
        The stored patterns, values +-1, C-contiguous.
    n, p : int
    scale : float
        ``1/n``.
    seed_entropy : int or None
        Entropy of the seed the patterns were drawn from, when known.
    """

    _kind = "lowrank"

    def __init__(self, patterns: np.ndarray, seed_entropy: int | None = None):
        self.patterns = np.ascontiguousarray(patterns, dtype=np.int8)
        self.p, self.n = (int(k) for k in self.patterns.shape)
        self.scale = 1.0 / self.n
        self.seed_entropy = seed_entropy
        self._t: np.ndarray | None = None

    @property
    def alpha(self) -> float:
        """Load ``p / n``."""
        return self.p / self.n

    @property
    def nbytes(self) -> int:
        return self.patterns.nbytes + (0 if self._t is None else self._t.nbytes)

    def transpose_nbytes(self) -> int:
        return 0 if self._t is not None else 8 * self.n * ((self.p + 63) // 64)

    def integer_matrix(self) -> np.ndarray:
        """``sum_mu xi_i^mu xi_j^mu`` as an (n, n) int32 matrix, zero diagonal
        (small n only)."""
        # BLAS in floating point is exact here: every partial sum is an integer
        # of magnitude <= p, below 2**24 (float32) or 2**53 (float64).
        dtype = np.float32 if self.p < (1 << 24) else np.float64
        memory.require((4 + np.dtype(dtype).itemsize) * self.n * self.n,
                       f"integer_matrix() of n={self.n} Hebbian couplings")
        xi = self.patterns.astype(dtype)
        # A separate copy of the left operand keeps numpy on gemm: for ``xi.T @ xi`` it
        # calls syrk, which segfaults in multithreaded OpenBLAS 0.3.31 for large n
        # (n = 40,000, p = 784 on a Zen 3; numpy issue 19685).
        c = (np.ascontiguousarray(xi.T) @ xi).astype(np.int32)
        np.fill_diagonal(c, 0)
        return c

    def to_dense(self) -> np.ndarray:
        """(n, n) float64 matrix with zero diagonal, exactly the values used."""
        self._dense_nbytes_check()
        return self.integer_matrix().astype(np.float64) * self.scale

    def dense_form(self) -> DenseCouplings:
        """The same couplings as a dense term (integer matrix times 1/n).

        Fields are then bit-identical to the low-rank path on every backend;
        meant for small n and for checks (O(n^2) memory, O(n) per flip).
        """
        return DenseCouplings(self.integer_matrix(), self.scale)

    def bits_t(self) -> np.ndarray:
        """The bit-packed transpose (n, ceil(p/64)) uint64 (bit set where
        ``xi_i^mu = -1``), built once and cached."""
        if self._t is None:
            words = (self.p + 63) // 64
            memory.require(8 * self.n * words + 128 * self.n,
                           f"bit-packed transpose of p={self.p} patterns of n={self.n}")
            bt = np.empty((self.n, words), dtype=np.uint64)
            block = np.zeros((self.n, 64), dtype=bool)
            for w in range(words):
                rows = self.patterns[64 * w:64 * w + 64]
                block[:] = False
                block[:, :rows.shape[0]] = (rows < 0).T
                bt[:, w] = np.packbits(block, axis=1, bitorder="little").view("<u8")[:, 0]
            self._t = bt
        return self._t

    def _kernel_fields(self, need_cols, backend, n_threads):
        # The transpose serves every field computation (a masked sum per
        # unit), so it is built whether or not need_cols asks for it.
        return dict(lr_patterns=self.patterns, lr_bits_t=self.bits_t(), lr_scale=self.scale)

    def __repr__(self) -> str:
        return f"HebbianCouplings(n={self.n}, p={self.p})"


def hebbian(patterns) -> HebbianCouplings:
    """Hopfield couplings from stored patterns (Hebb rule, thesis eq. 2.1).

    ``J_ij = (1/n) sum_mu xi_i^mu xi_j^mu`` for i != j, ``J_ii = 0``.

    Parameters
    ----------
    patterns : array_like (p, n)
        Values exactly +1 or -1 (any integer or float dtype); p >= 1, n >= 1.

    Returns
    -------
    HebbianCouplings
        Stored as ``p * n`` bytes (int8), plus ``p * n / 8`` for the
        bit-packed transpose once the dynamics need it.
    """
    arr = np.asarray(patterns)
    if arr.dtype == object or arr.dtype == bool or not (
            np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"patterns: expected a numeric (p, n) array of +-1, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ValueError(f"patterns: expected a 2-d array of shape (p, n), got shape {arr.shape}")
    check_int(arr.shape[1], "patterns: number of units n", minimum=1, maximum=(1 << 25) - 1)
    check_n(arr.shape[0], name="patterns: number of patterns p")
    ok = (arr == 1) | (arr == -1)
    if not np.all(ok):
        bad = tuple(int(k) for k in np.argwhere(~ok)[0])
        raise ValueError(f"patterns: values must be +1 or -1; found {arr[bad].item()!r} "
                         f"at index {bad}")
    # a copy: the couplings (and their cached transpose) must not change when
    # the caller later edits its array
    return HebbianCouplings(np.array(arr, dtype=np.int8, order="C"))
