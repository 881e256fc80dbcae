"""How close the C kernels run to this machine's limits (the ``rrnn bench`` command).

Every kernel figure comes with its ceiling, measured in the same call, so that the ratios
(not the absolute times, which drift on a shared machine) are what to compare:

- **one sync step of one state** reads every coupling once, so its floor is the time to
  stream the bit-packed matrix from memory (``rrnn_stream_read``, a plain read of every
  word). Each step is timed right after a stream read, and the ratio is the median of these
  pairs;
- **the batched XOR/popcount pass** (``batch`` states) is bound by arithmetic, not memory.
  Its ceiling is the compute-peak probe (``rrnn_popcount_peak``): the kernel's own
  instruction mix on registers only, on all threads, timed right before each pass. Its
  baseline is the plain OpenMP XOR/popcount loop, which must give the same counts
  (checked here on every call).

The same measurements, at n = 100,000, are the engine benchmarks of ``benchmarks/``.
"""

from __future__ import annotations

import time

import numpy as np

from . import backends
from ._validation import check_int, check_n_threads
from .memory import format_bytes

#: Word-state products per compute-peak measurement (about 0.1-0.5 s on 2 cores).
PEAK_PRODUCTS = 4e9

#: The plain loop runs on this fraction of the rows: its cost per row does not depend on
#: the row count, and at n = 100,000 five full passes take 25 s on two AVX2 cores.
PLAIN_ROW_FRACTION = 0.1


def time_median(fn, repeat: int = 5) -> float:
    """Median wall time in seconds of ``fn()`` over ``repeat`` calls, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def peak_word_rate(c_backend, n_threads: int, products: float = PEAK_PRODUCTS,
                   repeat: int = 5) -> float:
    """Compute-peak probe: coupling-word x state products per second of the batched
    kernel's instruction mix with no memory traffic beyond L1, on ``n_threads`` threads
    (median of ``repeat`` runs of about ``products`` products each). The mix follows the
    SIMD level: XOR/VPOPCNTQ/add (AVX-512), nibble-table lookups (AVX2), scalar POPCNT."""
    rounds, done = _peak_rounds(c_backend, n_threads, products)
    return done / time_median(lambda: c_backend.popcount_peak(rounds, n_threads), repeat=repeat)


def _peak_rounds(c_backend, n_threads: int, products: float) -> tuple[int, int]:
    """Rounds of the compute-peak probe that make about ``products`` word-state products on
    ``n_threads`` threads, and the exact products they make."""
    per_round, _ = c_backend.popcount_peak(1, n_threads)   # products per round, all threads
    rounds = max(1, int(products // per_round))
    return rounds, rounds * per_round


def _paired(first, second, repeat: int) -> tuple[np.ndarray, np.ndarray]:
    """Wall times of ``first()`` and ``second()`` called in turn, ``repeat`` pairs after one
    warm-up pair: each time of ``second`` has one of ``first`` right before it, so their
    ratio is not moved by the drift of a shared machine between two separate medians."""
    a, b = [], []
    for k in range(repeat + 1):
        t0 = time.perf_counter()
        first()
        t1 = time.perf_counter()
        second()
        t2 = time.perf_counter()
        if k:
            a.append(t1 - t0)
            b.append(t2 - t1)
    return np.asarray(a), np.asarray(b)


def _random_states(n: int, batch: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.where(rng.random((batch, n)) < 0.5, 1, -1).astype(np.int8)


def kernel_throughput(n: int = 100_000, batch: int = 64, *, n_threads=None, repeat: int = 5,
                      seed: int = 0, log=None) -> dict:
    """Measure the C kernels on a random binary network against this machine's ceilings.

    Parameters
    ----------
    n : int, default 100,000
        Units. The bit-packed matrix takes ``n * ceil(n / 64) * 8`` bytes (1.25 GB at
        100,000); a size that does not fit in memory is refused before anything is
        allocated.
    batch : int, default 64
        States of the batched XOR/popcount pass.
    n_threads : int or None
        Threads (default: every core this process may use).
    repeat : int, default 5
        Timed repetitions of each measurement (after one warm-up); medians are reported.
    seed : int, default 0
        Seed of the couplings and the states.
    log : callable or None
        Called with a short message as each stage starts, e.g. ``print``.

    Returns
    -------
    dict
        ``n``, ``batch``, ``n_threads``, ``simd`` (the dispatched level), ``matrix_bytes``;
        ``stream_s`` and ``stream_GBps`` (memory stream of the matrix);
        ``one_state_s`` and ``one_state_ratio_to_stream`` (one sync step, one state:
        ``rrnn.local_fields`` and the sign, against the stream read just before it; the
        median of the paired ratios);
        ``batch_s`` and ``batch_G_words_per_s`` (the raw batched pass, in 1e9
        coupling-word x state products per second); ``peak_G_words_per_s`` and
        ``batch_ratio_to_peak`` (the compute-peak probe, run right before each pass; the
        median of the paired ratios); ``plain_G_words_per_s`` and ``batch_ratio_to_plain``
        (the plain OpenMP loop, on the first tenth of the rows).

    Raises
    ------
    RuntimeError
        If the C backend is unavailable, or the batched kernel's counts differ from the
        plain loop's.
    """
    from .config import config
    from .backends.base import n_words
    from .backends.numpy_ref import pack_bits
    from .couplings import binary
    from .dynamics import local_fields

    n = check_int(n, "n", minimum=64)
    batch = check_int(batch, "batch", minimum=1, maximum=4096)
    repeat = check_int(repeat, "repeat", minimum=1, maximum=1000)
    n_threads = check_n_threads(n_threads)
    c_backend, reason = backends.load("c")
    if c_backend is None:
        raise RuntimeError(f"kernel throughput needs the C backend, which is unavailable: {reason}")
    say = log if log is not None else (lambda message: None)

    say(f"generating the n = {n:,} binary matrix")
    J = binary(n, seed=seed, backend="c", n_threads=n_threads)     # refuses what cannot fit
    bits = J.bits
    states = _random_states(n, batch, seed + 1)
    one = states[:1]

    say("memory stream and one sync step of one state, in pairs")
    streams, steps = _paired(
        lambda: c_backend.stream_read(bits, n_threads),
        lambda: np.where(local_fields(J, one, backend="c", n_threads=n_threads) >= 0, 1, -1),
        repeat)

    say(f"batched XOR/popcount pass of {batch} states, the plain OpenMP loop, and the "
        f"compute peak of the pass's instructions, in pairs")
    packed = pack_bits((states < 0).astype(np.uint8))
    rows = bits[:max(1, int(n * PLAIN_ROW_FRACTION))]
    plain_out = c_backend.xor_popcount_plain(rows, packed, n_threads)
    plain_s = time_median(lambda: c_backend.xor_popcount_plain(rows, packed, n_threads),
                          repeat=repeat)
    out = c_backend.xor_popcount(bits, packed, n_threads)
    if not np.array_equal(out[:, :rows.shape[0]], plain_out):
        raise RuntimeError("the batched XOR/popcount kernel's counts differ from the plain "
                           "loop's: the C core is miscompiled or broken on this machine")
    rounds, peak_products = _peak_rounds(c_backend, n_threads, PEAK_PRODUCTS)
    peaks, passes = _paired(lambda: c_backend.popcount_peak(rounds, n_threads),
                            lambda: c_backend.xor_popcount(bits, packed, n_threads), repeat)

    products = n * n_words(n) * batch
    batch_s = float(np.median(passes))
    rate = products / batch_s
    peak = peak_products / float(np.median(peaks))
    plain_rate = rows.shape[0] * n_words(n) * batch / plain_s
    stream_s = float(np.median(streams))
    return dict(n=n, batch=batch, n_threads=n_threads,
                simd=config().get("simd_selected"),
                matrix_bytes=int(bits.nbytes),
                stream_s=stream_s, stream_GBps=bits.nbytes / stream_s / 1e9,
                one_state_s=float(np.median(steps)),
                one_state_ratio_to_stream=float(np.median(steps / streams)),
                batch_s=batch_s, batch_G_words_per_s=rate / 1e9,
                peak_G_words_per_s=peak / 1e9,
                batch_ratio_to_peak=float(np.median((products / passes)
                                                    / (peak_products / peaks))),
                plain_G_words_per_s=plain_rate / 1e9, batch_ratio_to_plain=rate / plain_rate)


def format_throughput(r: dict) -> str:
    """The result of :func:`kernel_throughput` as a short table."""
    def line(label, seconds, figure):
        time_text = f"{seconds * 1e3:10.2f} ms" if seconds is not None else " " * 13
        return f"  {label:<34}{time_text}   {figure}"

    return "\n".join([
        f"rrnn kernel throughput: n = {r['n']:,}, {r['n_threads']} threads, SIMD {r['simd']}, "
        f"bit-packed matrix {format_bytes(r['matrix_bytes'])}",
        line("memory stream of the matrix", r["stream_s"], f"{r['stream_GBps']:.1f} GB/s"),
        line("one sync step, one state", r["one_state_s"],
             f"{r['one_state_ratio_to_stream']:.2f}x the stream (1.00x = the memory floor)"),
        line(f"batched pass, {r['batch']} states", r["batch_s"],
             f"{r['batch_G_words_per_s']:.2f} G word-states/s"),
        line("  compute peak of its instructions", None,
             f"{r['peak_G_words_per_s']:.2f} G/s: the kernel runs at {r['batch_ratio_to_peak']:.2f} of it"),
        line("  plain OpenMP XOR/popcount loop", None,
             f"{r['plain_G_words_per_s']:.2f} G/s: the kernel is {r['batch_ratio_to_plain']:.2f}x faster"),
    ])
