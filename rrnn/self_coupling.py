"""Critical self-coupling J_D* of random binary networks (thesis section 3.1).

For a coupling draw J (``J_ij = +-1/sqrt(N)``) and an initial state s0, the
critical self-coupling of the pair is the smallest J_D for which the dynamics
reach a fixed point within ``max_steps`` updates. It is located by bisection
on J_D, assuming convergence is monotone in J_D (larger J_D only pins units
more). All initial states of a draw run as one batch, each row with its own
J_D, so each loaded coupling word serves every state.

The thesis's J_D*(N) is the maximum over samples; being an extreme value it
grows with the number of samples, so :func:`summarize` also reports the
median and quantiles with bootstrap confidence intervals.
"""

from __future__ import annotations

import numpy as np

from . import backends, couplings
from . import random as rrandom
from ._validation import (check_int, check_n, check_n_threads, check_real, check_real_array,
                          check_states, check_update)
from .backends.base import ACTIVATIONS
from .dynamics import MAX_STEPS_LIMIT, simulate


def draw_seed(seed, draw: int) -> np.random.SeedSequence:
    """Seed of coupling draw ``draw``: a pure function of (seed, draw).

    Parameters
    ----------
    seed : int, numpy.random.SeedSequence or None
    draw : int
        Index of the draw, >= 0 (a float such as 1.7 is refused, not truncated).

    Returns
    -------
    numpy.random.SeedSequence
    """
    draw = check_int(draw, "draw", minimum=0)
    ss = rrandom.as_seed_sequence(seed)
    return np.random.SeedSequence(ss.entropy, spawn_key=tuple(ss.spawn_key) + (draw,))


def initial_states(n: int, count: int, seed) -> np.ndarray:
    """``count`` uniformly random +-1 states of ``n`` units, (count, n) int8.

    Parameters
    ----------
    n : int
        Number of units, >= 1.
    count : int
        Number of states, >= 0.
    seed : int, numpy.random.SeedSequence or None

    Returns
    -------
    ndarray (count, n) int8
    """
    n = check_n(n)
    count = check_int(count, "count", minimum=0)
    key = rrandom.derive_key(seed, rrandom.PURPOSE_STATES)
    gen = np.random.Generator(np.random.Philox(key=key))
    return np.where(gen.random((count, n)) < 0.5, 1, -1).astype(np.int8)


def check_bisection(max_steps, tol, jd_start) -> tuple[int, float, float]:
    """Validate the bisection parameters of :func:`bisect_draw` (shared by every
    public entry point, so a bad value fails before any coupling is drawn)."""
    max_steps = check_int(max_steps, "max_steps", minimum=1, maximum=MAX_STEPS_LIMIT)
    tol = check_real(tol, "tol", 0.0, low_open=True)
    jd_start = check_real(jd_start, "jd_start", 0.0, low_open=True)
    return max_steps, tol, jd_start


def scan_nbytes(n: int, inits: int) -> int:
    """Peak memory of bisecting one draw: the packed matrix and its transpose,
    and per state the int8 states plus what :func:`rrnn.simulate` allocates
    (44 bytes per unit)."""
    return 2 * n * ((n + 63) // 64) * 8 + inits * n * 45


def require_scan_memory(n: int, inits: int, what: str) -> None:
    """Refuse a bisection of n units and ``inits`` states that cannot fit
    (:func:`scan_nbytes`), before any work starts."""
    couplings.memory.require(scan_nbytes(n, inits), what,
                             "use a smaller n or fewer inits (the matrices are already "
                             "bit-packed, one bit per coupling)")


def bisect_draw(J, s0: np.ndarray, *, max_steps: int = 1000, update: str = "sync",
                tol: float = 1e-3, jd_start: float = 1.0, seed=None, backend=None,
                n_threads=None, on_round=None) -> tuple[np.ndarray, np.ndarray]:
    """Critical J_D of each initial state of one coupling draw.

    Parameters
    ----------
    J : rrnn.couplings.Couplings or ndarray (n, n)
        Couplings; an array is wrapped with :func:`rrnn.couplings.dense`.
    s0 : array_like (inits, n)
        Initial states, +-1, one per row (a 2-d array even for one state).
    max_steps : int
        Convergence budget, in [1, 2**32 - 1].
    update : {"sync", "async"}
    tol : float
        Bisection stops when the bracket is narrower than ``tol``; > 0.
    jd_start : float
        First upper bracket, finite and > 0 (the lower bracket starts at 0
        and the upper one is doubled until every state converges, so a start
        of 0 would never grow).
    seed : int, numpy.random.SeedSequence or None
        Seed of the async update orders, the same in every round (None: fresh
        entropy, drawn once). The orders of a trajectory are keyed by its row in
        the round's batch, and a round simulates only the rows still bisecting;
        all rows bisect in lockstep unless their first brackets differ.
    backend, n_threads : as in :func:`rrnn.simulate`
    on_round : callable, optional
        Called with the number of rows still bisecting after each round.

    Returns
    -------
    jd_critical : ndarray (inits,) float64
        Upper end of the final bracket: the smallest tested J_D that converged.
    steps_at_critical : ndarray (inits,) int64
        Convergence steps at that J_D.

    Raises
    ------
    TypeError, ValueError
        For invalid arguments, before any simulation runs.
    RuntimeError
        If a state does not converge even above the trivial bound ``4 sqrt(n) + 1``.
    """
    J = couplings.as_couplings(J)
    if np.ndim(s0) != 2:
        raise ValueError(f"s0: expected a 2-d array (inits, {J.n}) of +-1 states, "
                         f"got shape {np.shape(s0)}")
    s0 = check_states(s0, J.n, ACTIVATIONS["sign"], "s0")
    check_update(update)
    max_steps, tol, jd_start = check_bisection(max_steps, tol, jd_start)
    # None draws fresh entropy once, so that every round sees the same update
    # orders (fresh orders per round would make the bracket's ends disagree)
    seed = rrandom.as_seed_sequence(seed)
    backends.get(backend)
    check_n_threads(n_threads)
    if on_round is not None and not callable(on_round):
        raise TypeError(f"on_round: expected a callable or None, got {on_round!r}")
    rows = s0.shape[0]
    lo = np.zeros(rows)
    hi = np.full(rows, float(jd_start))
    steps_hi = np.zeros(rows, dtype=np.int64)

    def run(idx, jd):
        res = simulate(J, s0[idx], self_coupling=jd, max_steps=max_steps, update=update,
                       seed=seed, backend=backend, n_threads=n_threads)
        return res.converged, res.steps

    # Bracket: double hi until every state converges there.
    pending = np.arange(rows)
    while pending.size:
        conv, steps = run(pending, hi[pending])
        steps_hi[pending[conv]] = steps[conv]
        failed = pending[~conv]
        lo[failed] = hi[failed]
        hi[failed] *= 2.0
        if np.any(hi[failed] > 4.0 * np.sqrt(J.n) + 1.0):
            raise RuntimeError("bisect_draw: no convergence even with J_D above the "
                               "trivial bound sqrt(n); is max_steps too small?")
        pending = failed
    # Bisection on the rows whose bracket is still wide.  A bracket of two
    # neighbouring floats cannot be split (the midpoint equals an end), so it
    # ends there even if tol is below the float spacing.
    while True:
        mid_all = 0.5 * (lo + hi)
        active = np.flatnonzero((hi - lo > tol) & (mid_all > lo) & (mid_all < hi))
        if on_round is not None:
            on_round(active.size)
        if active.size == 0:
            break
        mid = 0.5 * (lo[active] + hi[active])
        conv, steps = run(active, mid)
        hi[active[conv]] = mid[conv]
        steps_hi[active[conv]] = steps[conv]
        lo[active[~conv]] = mid[~conv]
    return hi, steps_hi


def critical_self_coupling(n: int, *, matrices: int, inits: int, max_steps: int = 1000,
                           update: str = "sync", tol: float = 1e-3, seed=None,
                           backend: str | None = None, n_threads: int | None = None,
                           jd_start: float = 1.0) -> np.ndarray:
    """Per-sample critical self-coupling for ``matrices`` draws x ``inits`` states.

    Parameters
    ----------
    n : int
        Network size N.
    matrices : int
        Number of coupling draws (each generated once, bit-packed).
    inits : int
        Initial states per draw, run as one batch.
    max_steps : int
        Convergence budget (sync steps or async sweeps).
    update : {"sync", "async"}
    tol : float
        Bisection tolerance on J_D.
    seed : int, numpy.random.SeedSequence or None
        Draw ``m`` uses :func:`draw_seed` ``(seed, m)`` for its couplings,
        initial states and async orders.
    backend, n_threads : as in :func:`rrnn.simulate`
    jd_start : float
        Initial upper bracket.

    Returns
    -------
    ndarray (matrices, inits) float64
        The smallest J_D (within ``tol``) at which each trajectory converged.
        J_D* in the thesis's sense is the maximum of this array.
    """
    n = check_n(n)
    matrices = check_int(matrices, "matrices", minimum=1)
    inits = check_int(inits, "inits", minimum=1)
    check_update(update)
    max_steps, tol, jd_start = check_bisection(max_steps, tol, jd_start)
    require_scan_memory(n, inits, f"critical_self_coupling(n={n}, inits={inits})")
    out = np.empty((matrices, inits))
    for m in range(matrices):
        ds = draw_seed(seed, m)
        J = couplings.binary(n, seed=ds, backend=backend, n_threads=n_threads)
        s0 = initial_states(n, inits, ds)
        out[m], _ = bisect_draw(J, s0, max_steps=max_steps, update=update, tol=tol,
                                jd_start=jd_start, seed=ds, backend=backend, n_threads=n_threads)
    return out


def _check_samples(values, name: str) -> np.ndarray:
    """Real, finite, at least one value; flattened to float64."""
    arr = check_real_array(values, name, what="an array of real numbers").ravel()
    if arr.size == 0:
        raise ValueError(f"{name}: expected at least one value, got an empty array of shape "
                         f"{np.shape(values)}")
    return arr


def bootstrap_ci(values: np.ndarray, statistic, *, resamples: int = 2000, level: float = 0.95,
                 seed=0) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of ``statistic(values)``.

    Parameters
    ----------
    values : array_like
        Finite real samples, at least one (flattened).
    statistic : callable
        Maps a 1-d array to a number, e.g. :func:`numpy.median`.
    resamples : int
        Number of bootstrap resamples, >= 1.
    level : float
        Confidence level, in (0, 1).
    seed : seed of :func:`numpy.random.default_rng`

    Returns
    -------
    (float, float)
        Lower and upper ends of the interval.
    """
    values = _check_samples(values, "values")
    if not callable(statistic):
        raise TypeError(f"statistic: expected a callable, got {statistic!r}")
    resamples = check_int(resamples, "resamples", minimum=1)
    level = check_real(level, "level", 0.0, 1.0, low_open=True, high_open=True)
    gen = np.random.default_rng(seed)
    idx = gen.integers(0, values.size, size=(resamples, values.size))
    stats = np.array([statistic(values[i]) for i in idx])
    alpha = (1.0 - level) / 2.0
    return float(np.quantile(stats, alpha)), float(np.quantile(stats, 1.0 - alpha))


def summarize(samples: np.ndarray, *, quantiles=(0.1, 0.25, 0.5, 0.75, 0.9), seed=0) -> dict:
    """Median, quantiles, maximum and bootstrap CIs of per-sample J_D values.

    Parameters
    ----------
    samples : array_like (matrices, inits)
        Finite real values, at least one.
    quantiles : sequence of float
        Levels in [0, 1].
    seed : seed of the bootstraps (see :func:`bootstrap_ci`)

    Returns
    -------
    dict with keys ``median``, ``median_ci``, ``max``, ``max_ci``, ``mean``,
    ``quantiles`` (dict q -> value) and ``count``.
    """
    flat = _check_samples(samples, "samples")
    if np.ndim(quantiles) != 1:
        raise TypeError(f"quantiles: expected a sequence of numbers in [0, 1], got {quantiles!r}")
    qs = [check_real(q, "quantiles") for q in quantiles]
    for q in qs:
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"quantiles: expected numbers in [0, 1], got {q}")
    return {
        "count": int(flat.size),
        "mean": float(flat.mean()),
        "median": float(np.median(flat)),
        "median_ci": bootstrap_ci(flat, np.median, seed=seed),
        "max": float(flat.max()),
        "max_ci": bootstrap_ci(flat, np.max, seed=seed),
        "quantiles": {q: float(np.quantile(flat, q)) for q in qs},
    }
