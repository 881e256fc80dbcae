"""Hopfield networks: stored patterns, retrieval, spurious states, theory (thesis ch. 2).

The couplings are :func:`rrnn.couplings.hebbian` (``J = xi^T xi / n`` with zero
diagonal, stored as the patterns); the dynamics are :func:`rrnn.simulate`
(asynchronous, zero temperature unless ``beta`` is given). This module adds
what is specific to associative memory:

- :func:`random_patterns`: i.i.d. +-1 patterns from the counter-based
  generator (a pure function of the seed);
- :func:`overlaps` ``m_mu = xi^mu . s / n`` and :func:`energy`
  ``E = -1/2 s^T J s`` (exact integer arithmetic for Hebbian couplings);
- :func:`noisy_cue` and :func:`retrieve`: flip a fraction of a pattern, run,
  measure the final overlap;
- :func:`mixture_state` and :func:`classify`: retrieval, complement,
  symmetric 3-mixture, or spin-glass/other;
- :func:`rs_overlap` and :func:`alpha_c`: the replica-symmetric retrieval
  overlap at zero temperature (Amit, Gutfreund and Sompolinsky 1985/87).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from . import backends, memory
from . import random as rrandom
from .backends.base import ACTIVATIONS
from ._validation import check_int, check_n, check_real, check_real_array, check_states
from .couplings import HebbianCouplings, as_couplings
from .dynamics import local_fields, simulate

_SIGN = ACTIVATIONS["sign"]     # Hopfield states are +-1

#: Labels of :func:`classify`.
RETRIEVAL, COMPLEMENT, MIXTURE, OTHER = 0, 1, 2, 3
LABELS = {RETRIEVAL: "retrieval", COMPLEMENT: "complement", MIXTURE: "mixture-3",
          OTHER: "spin-glass/other"}

_PATTERN_BLOCK_BYTES = 1 << 26


# ---------------------------------------------------------------------------
# patterns, overlaps, energy
# ---------------------------------------------------------------------------

def random_patterns(p: int, n: int, seed=0) -> np.ndarray:
    """i.i.d. unbiased +-1 patterns, a pure function of the seed.

    Bit ``j`` of pattern ``mu`` is bit ``j % 64`` of
    ``random_u64(key, mu, j // 64)`` (set means -1), with ``key`` derived from
    ``seed`` for the purpose ``PURPOSE_PATTERNS``.

    Parameters
    ----------
    p, n : int
        Number of patterns and of units, >= 1.
    seed : int, numpy.random.SeedSequence or None

    Returns
    -------
    ndarray (p, n) int8
    """
    p = check_n(p, "p")
    n = check_n(n, "n")
    memory.require(2 * p * n, f"random_patterns(p={p}, n={n})")
    key = rrandom.derive_key(seed, rrandom.PURPOSE_PATTERNS)
    words = (n + 63) // 64
    out = np.empty((p, n), dtype=np.int8)
    block = max(1, _PATTERN_BLOCK_BYTES // (8 * n))
    w = np.arange(words, dtype=np.uint64)[None, :]
    for start in range(0, p, block):
        mu = np.arange(start, min(p, start + block), dtype=np.uint64)[:, None]
        bits = np.unpackbits(rrandom.random_u64(key, mu, w).astype("<u8").view(np.uint8),
                             axis=1, bitorder="little")[:, :n]
        out[start:start + mu.shape[0]] = 1 - 2 * bits.astype(np.int8)
    return out


def _patterns_of(J_or_patterns) -> np.ndarray:
    if isinstance(J_or_patterns, HebbianCouplings):
        return J_or_patterns.patterns
    xi = np.asarray(J_or_patterns)
    if xi.ndim != 2:
        raise ValueError(f"patterns: expected a (p, n) array or HebbianCouplings, "
                         f"got shape {xi.shape}")
    return check_states(xi, xi.shape[1], _SIGN, "patterns")


def _as_states(s, n: int, name: str = "s") -> np.ndarray:
    """+-1 states (n,) or (batch, n), checked before any cast: (batch, n) int8."""
    return check_states(s, n, _SIGN, name)


def overlap_counts(J_or_patterns, s) -> np.ndarray:
    """Integer overlaps ``M_mu = sum_j xi_j^mu s_j`` (exact).

    Parameters
    ----------
    J_or_patterns : HebbianCouplings or array_like (p, n) of +-1
    s : array_like (n,) or (batch, n)

    Returns
    -------
    ndarray (batch, p) int64
    """
    xi = _patterns_of(J_or_patterns)
    p, n = xi.shape
    s = _as_states(s, n)
    # float32 products of +-1 and small integers are exact while |sums| < 2**24
    if n < (1 << 24):
        s32 = s.astype(np.float32)
        out = np.empty((s.shape[0], p), dtype=np.int64)
        block = max(1, (1 << 28) // (4 * n))
        for start in range(0, p, block):
            blk = xi[start:start + block].astype(np.float32)
            out[:, start:start + block] = np.rint(s32 @ blk.T).astype(np.int64)
        return out
    return s.astype(np.int64) @ xi.astype(np.int64).T


def overlaps(J_or_patterns, s) -> np.ndarray:
    """Overlaps ``m_mu = xi^mu . s / n`` of states with the stored patterns.

    Returns
    -------
    ndarray (batch, p) float64
    """
    xi = _patterns_of(J_or_patterns)
    return overlap_counts(xi, s) / xi.shape[1]


def energy(J, s, backend: str | None = None) -> np.ndarray:
    """Energy ``E = -1/2 s^T J s`` (thesis eq. 2.3) of each state.

    For Hebbian couplings it is computed exactly from the integer overlaps:
    ``s^T (xi^T xi - p I) s = sum_mu M_mu^2 - p sum_i s_i^2`` and
    ``E = -(that integer) / (2 n)``, a single rounding. Other couplings use
    the local fields (``-1/2 sum_i s_i h_i`` with no self-coupling or field).

    Parameters
    ----------
    J : rrnn.couplings.Couplings or ndarray (n, n)
    s : array_like (n,) or (batch, n)
    backend : str, optional
        Backend of the local fields (couplings other than Hebbian).

    Returns
    -------
    ndarray (batch,) float64
    """
    J = as_couplings(J)
    s = _as_states(s, J.n)
    backends.get(backend)           # checked on every path, Hebbian included
    if isinstance(J, HebbianCouplings):
        M = overlap_counts(J, s)
        q = (M * M).sum(axis=1) - J.p * (s.astype(np.int64) ** 2).sum(axis=1)
        return -q / (2.0 * J.n)
    h = local_fields(J, s, backend=backend)
    return -0.5 * np.einsum("bi,bi->b", s.astype(np.float64), h)


# ---------------------------------------------------------------------------
# cues, retrieval, spurious states
# ---------------------------------------------------------------------------

def noisy_cue(pattern, flip_fraction: float, count: int = 1, seed=0) -> np.ndarray:
    """Copies of a pattern with exactly ``round(flip_fraction * n)`` units flipped.

    The initial overlap is then ``1 - 2 * round(f n) / n`` for every copy.

    Parameters
    ----------
    pattern : array_like (n,) of +-1
        A single pattern, n >= 1.
    flip_fraction : float in [0, 1]
    count : int
        Number of independent cues.
    seed : int, numpy.random.SeedSequence or None

    Returns
    -------
    ndarray (count, n) int8
    """
    xi = np.asarray(pattern)
    if xi.ndim != 1:
        raise ValueError(f"pattern: expected shape (n,), got {xi.shape}")
    if xi.shape[0] < 1:
        raise ValueError(f"pattern: expected at least one unit, got shape {xi.shape}")
    xi = check_states(xi, xi.shape[0], _SIGN, "pattern")[0]
    f = check_real(flip_fraction, "flip_fraction", 0.0, 1.0)
    count = check_int(count, "count", minimum=1)
    n = xi.shape[0]
    k = int(round(f * n))
    gen = np.random.Generator(np.random.Philox(rrandom.derive_key(seed, rrandom.PURPOSE_STATES)))
    memory.require(count * n, f"noisy_cue(n={n}, count={count})")
    out = np.repeat(xi[None, :], count, axis=0)
    for c in range(count):
        idx = gen.choice(n, size=k, replace=False)
        out[c, idx] *= -1
    return out


@dataclass(frozen=True)
class Retrieval:
    """Outcome of :func:`retrieve`.

    Attributes
    ----------
    initial_overlap, final_overlap : ndarray (batch,) float64
        Overlap with the target pattern before and after the dynamics.
    states : ndarray (batch, n) int8
        Final states.
    steps : ndarray (batch,) int64
        Sweeps that changed the state.
    converged : ndarray (batch,) bool
    """

    initial_overlap: np.ndarray
    final_overlap: np.ndarray
    states: np.ndarray
    steps: np.ndarray
    converged: np.ndarray


def retrieve(J: HebbianCouplings, cues, targets, *, max_steps: int = 100, seed=0, beta=None,
             update: str = "async", backend: str | None = None,
             n_threads: int | None = None) -> Retrieval:
    """Run the network from cues and measure the overlap with target patterns.

    Parameters
    ----------
    J : HebbianCouplings
    cues : array_like (batch, n) of +-1
        Initial states (e.g. from :func:`noisy_cue`).
    targets : array_like of int, (batch,) or scalar
        Index of the pattern each cue should retrieve.
    max_steps, seed, beta, update, backend, n_threads
        As in :func:`rrnn.simulate`.

    Returns
    -------
    Retrieval
    """
    if not isinstance(J, HebbianCouplings):
        raise TypeError(f"J: expected HebbianCouplings (rrnn.couplings.hebbian), "
                        f"got {type(J).__name__}")
    cues = _as_states(cues, J.n, "cues")
    targets = np.asarray(targets)
    if targets.ndim > 1 or (targets.ndim == 1 and targets.shape[0] != cues.shape[0]):
        raise ValueError(f"targets: expected an index or shape ({cues.shape[0]},) (one per cue), "
                         f"got shape {targets.shape}")
    targets = np.broadcast_to(targets, (cues.shape[0],))
    if not np.issubdtype(targets.dtype, np.integer) or targets.min() < 0 or targets.max() >= J.p:
        raise ValueError(f"targets: expected pattern indices in [0, {J.p}), got {targets}")
    xi = J.patterns[targets].astype(np.int64)
    m0 = (cues.astype(np.int64) * xi).sum(axis=1) / J.n
    res = simulate(J, cues, update=update, max_steps=max_steps, seed=seed, beta=beta,
                   backend=backend, n_threads=n_threads)
    m1 = (res.states.astype(np.int64) * xi).sum(axis=1) / J.n
    return Retrieval(m0, m1, res.states, res.steps, res.converged)


def mixture_state(patterns, indices=(0, 1, 2), signs=(1, 1, 1)) -> np.ndarray:
    """Symmetric mixture ``sgn(+-xi^a +- xi^b +- xi^c)`` of an odd number of patterns.

    Parameters
    ----------
    patterns : HebbianCouplings or array_like (p, n) of +-1
    indices : sequence of int
        An odd number of distinct pattern indices in [0, p).
    signs : sequence of {+1, -1}
        One sign per index.

    Returns
    -------
    ndarray (n,) int8
    """
    xi = _patterns_of(patterns)
    for what, seq in (("indices", indices), ("signs", signs)):
        if isinstance(seq, (str, bytes)) or np.ndim(seq) != 1:
            raise TypeError(f"{what}: expected a sequence (e.g. a tuple), got {seq!r}")
    if len(indices) % 2 == 0:
        raise ValueError(f"indices: expected an odd number of pattern indices, got {tuple(indices)!r}")
    if len(indices) != len(signs):
        raise ValueError(f"signs: expected one sign per index ({len(indices)}), got {tuple(signs)!r}")
    indices = [check_int(k, "indices", minimum=0, maximum=xi.shape[0] - 1) for k in indices]
    if len(set(indices)) != len(indices):
        raise ValueError(f"indices: expected distinct pattern indices, got {tuple(indices)!r}")
    for sg in signs:
        if isinstance(sg, (bool, np.bool_)) or sg not in (1, -1):
            raise ValueError(f"signs: expected +1 or -1 each, got {sg!r}")
    total = np.zeros(xi.shape[1], dtype=np.int64)
    for k, sg in zip(indices, signs):
        total += int(sg) * xi[k].astype(np.int64)
    return np.where(total > 0, 1, -1).astype(np.int8)


def classify(m, retrieval_min: float = 0.8, mixture_range=(0.35, 0.65),
             other_max: float = 0.25) -> np.ndarray:
    """Classify final states from their overlaps with the stored patterns.

    - retrieval: the largest overlap ``m_mu >= retrieval_min``;
    - complement: the most negative ``m_mu <= -retrieval_min``;
    - mixture-3: the three largest ``|m_mu|`` lie in ``mixture_range`` (the
      symmetric 3-mixture has ``|m| = 1/2`` with three patterns) and every
      other ``|m_mu| < other_max``;
    - spin-glass/other: anything else.

    Parameters
    ----------
    m : array_like (batch, p) or (p,)
        Overlaps (see :func:`overlaps`).
    retrieval_min : float
        In (0, 1].
    mixture_range : (float, float)
        ``(lo, hi)`` with ``0 <= lo <= hi <= 1``.
    other_max : float
        In [0, 1].

    Returns
    -------
    ndarray (batch,) int64 of RETRIEVAL, COMPLEMENT, MIXTURE, OTHER
        (names in :data:`LABELS`).
    """
    retrieval_min = check_real(retrieval_min, "retrieval_min", 0.0, 1.0, low_open=True)
    if isinstance(mixture_range, (str, bytes)) or np.shape(mixture_range) != (2,):
        raise TypeError(f"mixture_range: expected a pair (lo, hi), got {mixture_range!r}")
    lo, hi = (check_real(v, "mixture_range") for v in mixture_range)
    if not 0.0 <= lo <= hi <= 1.0:
        raise ValueError(f"mixture_range: expected (lo, hi) with 0 <= lo <= hi <= 1, "
                         f"got ({lo}, {hi})")
    other_max = check_real(other_max, "other_max", 0.0, 1.0)
    m = np.atleast_2d(np.asarray(m, dtype=np.float64))
    if m.ndim != 2 or m.shape[1] < 1:
        raise ValueError(f"m: expected overlaps of shape (p,) or (batch, p) with p >= 1, "
                         f"got shape {np.shape(m)}")
    if not np.all(np.isfinite(m)):
        raise ValueError("m: overlaps must be finite (found NaN or inf)")
    a = np.sort(np.abs(m), axis=1)[:, ::-1]
    out = np.full(m.shape[0], OTHER, dtype=np.int64)
    if m.shape[1] >= 3:
        rest = a[:, 3] if m.shape[1] > 3 else np.zeros(m.shape[0])
        mix = np.all((a[:, :3] >= lo) & (a[:, :3] <= hi), axis=1) & (rest < other_max)
        out[mix] = MIXTURE
    out[m.max(axis=1) >= retrieval_min] = RETRIEVAL
    out[m.min(axis=1) <= -retrieval_min] = COMPLEMENT
    return out


def unstable_units(J: HebbianCouplings, states, backend: str | None = None,
                   n_threads: int | None = None) -> np.ndarray:
    """Number of units of each state that one zero-temperature update would flip.

    A state is a fixed point when this is 0 (used for perfect recall: is the
    stored pattern itself a fixed point?).

    Returns
    -------
    ndarray (batch,) int64
    """
    J = as_couplings(J)
    s = _as_states(states, J.n, "states")
    h = local_fields(J, s, backend=backend, n_threads=n_threads)
    return (np.where(h >= 0, 1, -1) != s).sum(axis=1)


# ---------------------------------------------------------------------------
# theory: replica-symmetric retrieval at zero temperature
# ---------------------------------------------------------------------------

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _alpha_of_y(y: float) -> float:
    """Load at which y = m / sqrt(2 alpha r) solves the RS equations."""
    return 0.5 * (special.erf(y) / y - _TWO_OVER_SQRT_PI * math.exp(-y * y)) ** 2


def alpha_c() -> float:
    """Critical load of the RS retrieval solution at T = 0 (about 0.138).

    The equations ``m = erf(y)``, ``y = m / sqrt(2 alpha r)``,
    ``C = sqrt(2/(pi alpha r)) exp(-y^2)``, ``r = 1/(1-C)^2`` reduce to
    ``erf(y) = y (sqrt(2 alpha) + (2/sqrt(pi)) exp(-y^2))``, i.e.
    ``alpha(y) = (erf(y)/y - (2/sqrt(pi)) exp(-y^2))^2 / 2``; alpha_c is its
    maximum over y.
    """
    res = optimize.minimize_scalar(lambda y: -_alpha_of_y(y), bounds=(0.5, 3.0),
                                   method="bounded", options={"xatol": 1e-12})
    return float(-res.fun)


def rs_overlap(alpha) -> np.ndarray:
    """Retrieval overlap m(alpha) of the RS theory at T = 0 (0 above alpha_c).

    Parameters
    ----------
    alpha : float or array_like
        Loads p/n, >= 0.

    Returns
    -------
    ndarray of float64, same shape
    """
    a = check_real_array(alpha, "alpha", what="loads (real numbers)", noun="loads",
                         minimum=0.0).ravel()
    ac = alpha_c()
    y_c = optimize.minimize_scalar(lambda y: -_alpha_of_y(y), bounds=(0.5, 3.0),
                                   method="bounded", options={"xatol": 1e-12}).x
    out = np.zeros(a.shape)
    for k, al in enumerate(a):
        if al == 0:
            out[k] = 1.0
        elif al <= ac:
            # retrieval branch: the largest root, y > y_c, where alpha(y) decreases
            g = lambda y: _alpha_of_y(y) - al  # noqa: E731
            hi = 50.0 + 10.0 / math.sqrt(al)
            out[k] = special.erf(optimize.brentq(g, y_c, hi, xtol=1e-14)) if g(y_c) > 0 else \
                special.erf(y_c)
    return out.reshape(np.shape(alpha))


def perfect_recall_scale(n) -> np.ndarray:
    """``n / (2 ln n)``: the number of patterns below which a stored pattern is
    an exact fixed point with high probability.

    Parameters
    ----------
    n : float or array_like
        Network sizes, finite and >= 2 (the formula is infinite at 1 and
        negative or undefined below).

    Returns
    -------
    ndarray of float64, same shape
    """
    n = check_real_array(n, "n", what="network sizes (real numbers)", noun="network sizes",
                         minimum=2.0)
    return n / (2.0 * np.log(n))
