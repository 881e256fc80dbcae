"""Dynamics of binary networks: :func:`simulate`, :func:`local_fields`, :func:`sync_step`.

Local field of unit i::

    h_i = sum_{j != i} J_ij s_j + J_D s_i + field_i - threshold_i

``sign`` activation: ``s_i = +1 if h_i >= 0 else -1``; ``heaviside``:
``s_i = 1 if h_i >= 0 else 0``. ``sync`` updates every unit from the previous
state; ``async`` performs sweeps of n single-unit updates in a random
permutation (counter-based, drawn from ``seed``), each seeing the latest state.
With a finite inverse temperature ``beta`` the deterministic rule becomes the
Glauber rule ``P(s_i = +1) = 1 / (1 + exp(-2 beta h_i))`` (heaviside: the same
probability of 1, else 0), with counter-based noise drawn from ``seed``.
The exact algorithms (including Brent cycle detection for sync) are written
out in :mod:`rrnn.backends.numpy_ref`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import backends, memory
from . import random as rrandom
from ._validation import (check_activation, check_bias, check_int, check_n_threads, check_self_coupling,
                          check_states, check_update)
from .backends.base import UPDATE_ASYNC
from .couplings import as_couplings

#: Upper bound for max_steps: async sweep indices are 32-bit counters.
MAX_STEPS_LIMIT = (1 << 32) - 1


@dataclass(frozen=True)
class SimulationResult:
    """Outcome of :func:`simulate`.

    Attributes
    ----------
    states : ndarray (batch, n) int8
        Final states.
    steps : ndarray (batch,) int64
        Updates (sync steps or async sweeps) that changed the state.
    converged : ndarray (batch,) bool
        True where the final state is a fixed point.
    period : ndarray (batch,) int64
        0 for a fixed point, k >= 1 for a detected sync cycle, -1 unknown.
    backend : str
    n_threads : int
    seed_entropy : int or None
        Entropy of the seed of the async update orders and the Glauber noise
        (None for zero-temperature sync).
    beta : float
        Inverse temperature (``inf`` for the deterministic rule).
    """

    states: np.ndarray
    steps: np.ndarray
    converged: np.ndarray
    period: np.ndarray
    backend: str
    n_threads: int
    seed_entropy: int | None
    beta: float = math.inf


#: Largest finite inverse temperature accepted; beyond it use inf (zero temperature).
MAX_FINITE_BETA = 1e300


def check_beta(beta) -> float:
    """Inverse temperature: None or inf (zero temperature), or a number >= 0."""
    if beta is None:
        return math.inf
    if isinstance(beta, (bool, np.bool_)) or not isinstance(beta, (int, float, np.integer,
                                                                    np.floating)):
        raise TypeError(f"beta: expected a number >= 0 or None, got {beta!r} of type "
                        f"{type(beta).__name__}")
    beta = float(beta)
    if math.isnan(beta) or beta < 0:
        raise ValueError(f"beta: expected a number >= 0 (inf or None: zero temperature), "
                         f"got {beta}")
    # Why a bound: the kernels form 2 beta h; a finite beta this large overflows 2 beta to
    # inf, and inf x 0 at a zero field is NaN.
    if math.isfinite(beta) and beta > MAX_FINITE_BETA:
        raise ValueError(f"beta: expected a finite value <= {MAX_FINITE_BETA:g} (or inf for "
                         f"zero temperature), got {beta:g}")
    return beta


def _features(J, beta: float = math.inf) -> frozenset:
    extra = frozenset() if math.isinf(beta) else frozenset({"glauber"})
    return J.required_features() | extra


def _prepare(J, s, self_coupling, field, threshold, activation, n_threads, state_name,
             require):
    """Validated inputs. ``require(J, batch, n_threads)`` checks the memory of the
    call once the batch size is known from the shape of ``s``, before the states'
    values are scanned (that scan and the copy take a few bytes per entry too)."""
    J = as_couplings(J)
    act = check_activation(activation)
    n_threads = check_n_threads(n_threads)
    shape = np.shape(s)
    if len(shape) in (1, 2) and shape[-1] == J.n:
        require(J, shape[0] if len(shape) == 2 else 1, n_threads)
    states = check_states(s, J.n, act, name=state_name)
    batch = states.shape[0]
    jd = check_self_coupling(self_coupling, batch)
    bias = check_bias(field, threshold, J.n, batch)
    return J, act, states, jd, bias, n_threads


def simulate(J, s0, *, self_coupling: float = 0.0, field=None, threshold=0.0,
             activation: str = "sign", update: str = "sync", max_steps: int = 1000,
             seed=None, beta=None, backend: str | None = None,
             n_threads: int | None = None) -> SimulationResult:
    """Run binary network dynamics to a fixed point, a cycle, or ``max_steps``.

    Parameters
    ----------
    J : rrnn.couplings.Couplings or ndarray (n, n)
        Couplings; an array is wrapped with :func:`rrnn.couplings.dense`.
    s0 : array_like (n,) or (batch, n)
        Initial states: +-1 for ``sign``, 0/1 for ``heaviside``. Each row is an
        independent trajectory.
    self_coupling : float or array_like (batch,)
        J_D, the weight of each unit on itself; one value per trajectory
        when an array (used by bisection on J_D).
    field, threshold : None, float, ndarray (n,) or (batch, n)
        External field and threshold (``field - threshold`` enters h).
    activation : {"sign", "heaviside"}
    update : {"sync", "async"}
    max_steps : int
        Most updates (sync steps or async sweeps) applied; >= 0. At finite
        ``beta`` exactly this many run (there is no fixed point to stop at).
    seed : int, numpy.random.SeedSequence or None
        Seed of the async update orders and of the Glauber noise (unused for
        zero-temperature sync).
    beta : float or None
        Inverse temperature of Glauber updates, >= 0; None or ``inf`` gives
        the deterministic (zero-temperature) rule. At finite ``beta``,
        ``converged`` is False and ``period`` -1 for every trajectory.
    backend : {"c", "numba", "numpy", "auto"}, optional
    n_threads : int, optional
        Defaults to every available core; results do not depend on it.

    Returns
    -------
    SimulationResult
    """
    upd = check_update(update)
    max_steps = check_int(max_steps, "max_steps", minimum=0, maximum=MAX_STEPS_LIMIT)
    beta = check_beta(beta)
    # validated even where unused (zero-temperature sync), and resolved once so
    # that with seed=None the orders, the noise and the stored entropy agree
    seed = rrandom.as_seed_sequence(seed)

    def require(J, batch, n_threads):
        # accumulators, snapshots and output, the checks' temporaries (4 bytes
        # per entry), plus transposes not built yet
        memory.require(J.transpose_nbytes() + batch * J.n * 44,
                       f"simulate(n={J.n}, batch={batch})")

    J, act, states, jd, bias, n_threads = _prepare(
        J, s0, self_coupling, field, threshold, activation, n_threads, "s0", require)
    module = backends.get(backend, require=_features(J, beta))
    finite = not math.isinf(beta)
    if upd == UPDATE_ASYNC or finite:
        order_key = rrandom.derive_key(seed, rrandom.PURPOSE_ORDER)
        entropy = rrandom.seed_entropy(seed)
    else:
        order_key, entropy = 0, None
    kernel = J.kernel(need_cols=True, backend=module, n_threads=n_threads)
    if finite:
        noise_key = rrandom.derive_key(seed, rrandom.PURPOSE_NOISE)
        steps, converged, period = module.simulate(kernel, states, bias, jd, act, upd,
                                                   max_steps, order_key, n_threads,
                                                   beta=beta, noise_key=noise_key)
    else:
        # the zero-temperature call keeps the original signature (every backend)
        steps, converged, period = module.simulate(kernel, states, bias, jd, act, upd,
                                                   max_steps, order_key, n_threads)
    return SimulationResult(states=states, steps=np.asarray(steps, dtype=np.int64),
                            converged=np.asarray(converged, dtype=bool),
                            period=np.asarray(period, dtype=np.int64),
                            backend=module.name, n_threads=n_threads, seed_entropy=entropy,
                            beta=beta)


def _fields_nbytes(J, batch: int, out_bytes: int, n_threads: int) -> int:
    """Memory of local_fields / sync_step: per unit and state the output (out_bytes), the
    int8 copy, up to two packed bit vectors (AND mode) and their nibble layouts (1/4 byte
    each); per thread and vector the int64 popcounts of one block of rows (64 to 256, as
    rrnn_block_rows in csrc); the transposes of a low-rank term."""
    per_unit_state = out_bytes + 1 + 2 * (0.125 + 0.25)
    block_rows = 64 * min(4, max(1, -(-J.n // (256 * n_threads))))
    return int(J.transpose_nbytes() * ("lowrank" in J.required_features())
               + batch * J.n * per_unit_state + n_threads * batch * 2 * block_rows * 8)


def _prepare_fields(what, out_bytes, J, s, self_coupling, field, threshold, activation,
                    backend, n_threads):
    """Validated inputs of local_fields / sync_step, after the memory check; returns the
    backend module, the kernel couplings and what _prepare returns but J."""
    def require(J, batch, n_threads):
        memory.require(_fields_nbytes(J, batch, out_bytes, n_threads) + 4 * batch * J.n,
                       f"{what}(n={J.n}, batch={batch})")

    J, act, states, jd, bias, n_threads = _prepare(
        J, s, self_coupling, field, threshold, activation, n_threads, "s", require)
    module = backends.get(backend, require=_features(J))
    return module, J.kernel(need_cols=False), act, states, jd, bias, n_threads


def local_fields(J, s, *, self_coupling: float = 0.0, field=None, threshold=0.0,
                 activation: str = "sign", backend: str | None = None,
                 n_threads: int | None = None) -> np.ndarray:
    """Local fields ``h`` of given states, computed in full.

    Parameters
    ----------
    J, self_coupling, field, threshold, activation, backend, n_threads
        As in :func:`simulate`.
    s : array_like (n,) or (batch, n)
        States.

    Returns
    -------
    ndarray (batch, n) float64
    """
    module, kernel, act, states, jd, bias, n_threads = _prepare_fields(
        "local_fields", 8, J, s, self_coupling, field, threshold, activation, backend, n_threads)
    return module.local_fields(kernel, states, bias, jd, n_threads)


def sync_step(J, s, *, self_coupling: float = 0.0, field=None, threshold=0.0,
              activation: str = "sign", backend: str | None = None,
              n_threads: int | None = None) -> np.ndarray:
    """One synchronous update of every unit: the activation of :func:`local_fields`.

    The states after the first step of ``simulate(..., update="sync")``,
    without the fixed-point and cycle checks, and without the float64 fields
    in between (the C backend applies the activation as each field is made).

    Parameters
    ----------
    J, self_coupling, field, threshold, activation, backend, n_threads
        As in :func:`simulate`.
    s : array_like (n,) or (batch, n)
        States: +-1 for ``sign``, 0/1 for ``heaviside``.

    Returns
    -------
    ndarray (batch, n) int8
    """
    module, kernel, act, states, jd, bias, n_threads = _prepare_fields(
        "sync_step", 1, J, s, self_coupling, field, threshold, activation, backend, n_threads)
    return module.sync_step(kernel, states, bias, jd, act, n_threads)
