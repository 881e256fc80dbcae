"""Counter-based random numbers shared by every backend.

A random word is a pure function ``random_u64(key, stream, index)`` of three
unsigned 64-bit integers, built from the SplitMix64 finaliser. The C core
(``rrnn_random`` in ``csrc/rrnn_core.h``) and the numba kernels implement the
same formula, so couplings and update orders do not depend on the backend or
on the thread count. This module holds the numpy version (vectorised over
``stream`` and ``index``) and the conversion of user seeds into keys.
"""

from __future__ import annotations

import numpy as np

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_ONE = np.uint64(1)

#: Key-derivation purposes: one independent key per use of a seed.
PURPOSE_COUPLINGS = 0
PURPOSE_ORDER = 1
PURPOSE_STATES = 2
PURPOSE_NOISE = 3      # Glauber (finite-temperature) update noise
PURPOSE_PATTERNS = 4   # stored patterns of Hebbian couplings


def mix64(z):
    """SplitMix64 finaliser, elementwise on uint64 (wrapping arithmetic).

    Parameters
    ----------
    z : numpy.uint64 or ndarray of uint64

    Returns
    -------
    same shape as ``z``, uint64
    """
    z = np.asarray(z, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * _MIX1
        z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


def random_u64(key, stream, index):
    """Counter-based random 64-bit words.

    ``s = mix(key + mix(stream + G)); return mix(s + (index + 1) * G)``
    with G the golden-ratio constant and all arithmetic modulo 2**64.

    Parameters
    ----------
    key : int
        The generator key (see :func:`derive_key`).
    stream, index : int or ndarray of integers
        Counters; broadcast against each other.

    Returns
    -------
    ndarray of uint64
    """
    key = np.uint64(key)
    stream = np.asarray(stream, dtype=np.uint64)
    index = np.asarray(index, dtype=np.uint64)
    with np.errstate(over="ignore"):
        s = mix64(key + mix64(stream + GOLDEN))
        return mix64(s + (index + _ONE) * GOLDEN)


def uniform01(words):
    """Map uint64 words to float64 uniforms in [0, 1) using the top 53 bits."""
    return (np.asarray(words, dtype=np.uint64) >> np.uint64(11)).astype(np.float64) * 2.0**-53


def as_seed_sequence(seed) -> np.random.SeedSequence:
    """Coerce a user seed to a :class:`numpy.random.SeedSequence`.

    Parameters
    ----------
    seed : int, numpy.random.SeedSequence or None
        ``None`` draws fresh entropy from the operating system.
    """
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if seed is None:
        return np.random.SeedSequence()
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(
            f"seed: expected an int >= 0, a numpy.random.SeedSequence or None, "
            f"got {seed!r} of type {type(seed).__name__}")
    if int(seed) < 0:
        raise ValueError(f"seed: expected an int >= 0, got {seed}")
    return np.random.SeedSequence(int(seed))


def derive_key(seed, purpose: int) -> int:
    """A 64-bit key for one purpose (couplings, update order, ...) of a seed.

    Parameters
    ----------
    seed : int, numpy.random.SeedSequence or None
    purpose : int
        One of the ``PURPOSE_*`` constants, so the same seed gives independent
        streams for different uses.

    Returns
    -------
    int in [0, 2**64)
    """
    ss = as_seed_sequence(seed)
    child = np.random.SeedSequence(ss.entropy, spawn_key=tuple(ss.spawn_key) + (purpose,),
                                   pool_size=ss.pool_size)
    return int(child.generate_state(1, np.uint64)[0])


def seed_entropy(seed) -> int:
    """The entropy of a seed, to store with results so a run can be repeated."""
    return int(as_seed_sequence(seed).entropy)


def async_order(key: int, row: int, sweep: int, n: int) -> np.ndarray:
    """The unit order of one asynchronous sweep (Fisher-Yates, counter based).

    ``perm = arange(n)``; for ``i = n-1 .. 1``:
    ``r = random_u64(key, (row << 32) | sweep, i)``,
    ``j = ((r >> 32) * (i + 1)) >> 32``, swap ``perm[i]`` and ``perm[j]``.

    Parameters
    ----------
    key : int
        Order key of the simulation.
    row : int
        Trajectory (batch row) index, < 2**31.
    sweep : int
        Sweep index, < 2**32.
    n : int
        Number of units.

    Returns
    -------
    ndarray (n,) int64
        Units in the order they are updated.
    """
    perm = np.arange(n, dtype=np.int64)
    if n < 2:
        return perm
    i = np.arange(n - 1, 0, -1, dtype=np.uint64)
    r = random_u64(key, (np.uint64(row) << np.uint64(32)) | np.uint64(sweep), i)
    with np.errstate(over="ignore"):
        j = ((r >> np.uint64(32)) * (i + _ONE)) >> np.uint64(32)
    j = j.astype(np.int64)
    for a, b in zip(range(n - 1, 0, -1), j.tolist()):
        perm[a], perm[b] = perm[b], perm[a]
    return perm
