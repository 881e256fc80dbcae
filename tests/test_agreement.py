"""Exact agreement of the compiled backends with the numpy reference.

The arithmetic is integer-exact (see rrnn.couplings), so the c and numba
backends must reproduce the reference's final states, step counts, flags and
fields bit for bit, for every coupling kind, activation, update rule and thread
count.
"""

import zlib

import numpy as np
import pytest

import rrnn
from rrnn import couplings

N = 97          # not a multiple of 64: padding bits are exercised
BATCH = 5
MAX_STEPS = 40


def _sparse_random(n, density, rng, positive=False):
    mask = rng.random((n, n)) < density
    rows, cols = np.nonzero(mask)
    vals = rng.random(rows.size) * 0.8 if positive else rng.normal(0, 0.3, rows.size)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n))])
    return couplings.sparse(indptr, cols, vals, n)


def _coupling_cases(n, seed):
    rng = np.random.default_rng(seed)
    binary = couplings.binary(n, seed=seed, backend="numpy")
    gauss = couplings.gaussian(n, seed=seed)
    dense = couplings.dense(rng.normal(0, 1 / np.sqrt(n), (n, n)))
    sparse = _sparse_random(n, 0.05, rng)
    return {
        "binary": binary,
        "gaussian": gauss,
        "dense": dense,
        "sparse": sparse,
        "binary+sparse": binary + _sparse_random(n, 0.03, rng, positive=True),
        "gaussian+sparse": gauss + sparse,
        "binary+dense+sparse": binary + dense + sparse,
    }


CASES = _coupling_cases(N, seed=7)


def _inputs(kind, activation, variant, rng):
    """Initial states plus field/threshold for one configuration."""
    low = -1 if activation == "sign" else 0
    s0 = np.where(rng.random((BATCH, N)) < 0.5, 1, low).astype(np.int8)
    if variant == "plain":
        return s0, None, 0.0
    if variant == "field":
        return s0, rng.normal(0, 0.2, N), 0.05
    # per-trajectory fields and per-unit thresholds
    return s0, rng.normal(0, 0.2, (BATCH, N)), rng.normal(0, 0.1, N)


_REFERENCE_CACHE = {}


def _reference(key, J, s0, kwargs):
    if key not in _REFERENCE_CACHE:
        _REFERENCE_CACHE[key] = rrnn.simulate(J, s0, backend="numpy", **kwargs)
    return _REFERENCE_CACHE[key]


@pytest.mark.parametrize("kind", list(CASES))
@pytest.mark.parametrize("activation", ["sign", "heaviside"])
@pytest.mark.parametrize("update", ["sync", "async"])
@pytest.mark.parametrize("self_coupling", [0.0, 0.4])
@pytest.mark.parametrize("variant", ["plain", "field", "batch-field"])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_simulate_matches_reference(fast_backend, kind, activation, update, self_coupling,
                                    variant, n_threads):
    rng = np.random.default_rng(zlib.crc32(f"{kind}/{activation}/{variant}".encode()))
    s0, field, threshold = _inputs(kind, activation, variant, rng)
    kwargs = dict(self_coupling=self_coupling, field=field, threshold=threshold,
                  activation=activation, update=update, max_steps=MAX_STEPS, seed=11)
    key = (kind, activation, update, self_coupling, variant)
    ref = _reference(key, CASES[kind], s0, kwargs)
    got = rrnn.simulate(CASES[kind], s0, backend=fast_backend.name, n_threads=n_threads, **kwargs)
    np.testing.assert_array_equal(got.states, ref.states)
    np.testing.assert_array_equal(got.steps, ref.steps)
    np.testing.assert_array_equal(got.converged, ref.converged)
    np.testing.assert_array_equal(got.period, ref.period)


@pytest.mark.parametrize("kind", list(CASES))
@pytest.mark.parametrize("activation", ["sign", "heaviside"])
@pytest.mark.parametrize("update", ["sync", "async"])
def test_glauber_matches_reference(fast_backend, kind, activation, update):
    """Finite temperature: counter-based noise, so exact agreement at 1 and 2 threads."""
    rng = np.random.default_rng(zlib.crc32(f"glauber/{kind}/{activation}/{update}".encode()))
    s0, field, threshold = _inputs(kind, activation, "batch-field", rng)
    kwargs = dict(self_coupling=0.2, field=field, threshold=threshold, activation=activation,
                  update=update, max_steps=6, seed=13, beta=2.0)
    ref = _reference(("glauber", kind, activation, update), CASES[kind], s0, kwargs)
    assert not ref.converged.any() and np.all(ref.period == -1)
    for n_threads in (1, 2):
        got = rrnn.simulate(CASES[kind], s0, backend=fast_backend.name, n_threads=n_threads,
                            **kwargs)
        np.testing.assert_array_equal(got.states, ref.states)
        np.testing.assert_array_equal(got.steps, ref.steps)
        np.testing.assert_array_equal(got.converged, ref.converged)
        np.testing.assert_array_equal(got.period, ref.period)


@pytest.mark.parametrize("kind", list(CASES))
@pytest.mark.parametrize("activation", ["sign", "heaviside"])
def test_local_fields_match_reference(fast_backend, kind, activation, rng):
    s, field, threshold = _inputs(kind, activation, "batch-field", rng)
    kwargs = dict(self_coupling=0.3, field=field, threshold=threshold, activation=activation)
    ref = rrnn.local_fields(CASES[kind], s, backend="numpy", **kwargs)
    got = rrnn.local_fields(CASES[kind], s, backend=fast_backend.name, n_threads=2, **kwargs)
    np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("kind", list(CASES))
@pytest.mark.parametrize("activation", ["sign", "heaviside"])
def test_sync_step_matches_first_step_of_simulate(fast_backend, kind, activation, rng):
    """One synchronous step against an independent path: the reference's sync trajectory
    stopped after one step (its Brent loop and final fixed-point check do not touch the
    states), and the fast backend against both."""
    s, field, threshold = _inputs(kind, activation, "batch-field", rng)
    kwargs = dict(self_coupling=0.3, field=field, threshold=threshold, activation=activation)
    first = rrnn.simulate(CASES[kind], s, max_steps=1, backend="numpy", **kwargs).states
    ref = rrnn.sync_step(CASES[kind], s, backend="numpy", **kwargs)
    np.testing.assert_array_equal(ref, first)
    for n_threads in (1, 2):
        got = rrnn.sync_step(CASES[kind], s, backend=fast_backend.name, n_threads=n_threads,
                             **kwargs)
        assert got.dtype == np.int8 and got.shape == s.shape
        np.testing.assert_array_equal(got, first)


def test_reference_fields_equal_dense_formula(rng):
    """The oracle itself against the definition h = J s + J_D s + field - threshold."""
    J = CASES["binary+dense+sparse"]
    s = rng.choice([-1, 1], size=(3, N)).astype(np.int8)
    field = rng.normal(size=N)
    h = rrnn.local_fields(J, s, self_coupling=0.25, field=field, threshold=0.1, backend="numpy")
    expected = s @ J.to_dense().T + 0.25 * s + field - 0.1
    np.testing.assert_allclose(h, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("n", [1, 2, 63, 64, 65, 200])
def test_binary_generation_identical(fast_backend, n):
    ref = couplings.binary(n, seed=3, backend="numpy")
    for n_threads in (1, 2):
        got = couplings.binary(n, seed=3, backend=fast_backend.name, n_threads=n_threads)
        np.testing.assert_array_equal(got.bits, ref.bits)


@pytest.mark.parametrize("n", [1, 5, 64, 65, 130, 257])
def test_transpose_bits(fast_backend, n, reference):
    rows = reference.generate_binary(99, n)
    got = fast_backend.transpose_bits(rows, n, 2)
    np.testing.assert_array_equal(got, reference.transpose_bits(rows, n))


def test_async_order_depends_on_seed_only(fast_backend, rng):
    """Same seed -> same trajectory on any backend; another seed -> another one."""
    J = CASES["gaussian"]
    s0 = rng.choice([-1, 1], size=(BATCH, N))
    a = rrnn.simulate(J, s0, update="async", seed=1, max_steps=1, backend=fast_backend.name)
    b = rrnn.simulate(J, s0, update="async", seed=1, max_steps=1, backend="numpy")
    c = rrnn.simulate(J, s0, update="async", seed=2, max_steps=1, backend=fast_backend.name)
    np.testing.assert_array_equal(a.states, b.states)
    assert not np.array_equal(a.states, c.states)


def _simd_levels(module):
    return [name for name, lvl in module.SIMD_LEVELS.items() if lvl <= module.detected_simd()]


def test_c_simd_levels_agree(monkeypatch, rng, c_backend):
    """Every SIMD level this CPU supports gives the reference's results."""
    J = CASES["binary+dense+sparse"]
    s0 = rng.choice([-1, 1], size=(9, N))
    ref = rrnn.simulate(J, s0, self_coupling=0.2, backend="numpy", max_steps=30)
    for level in _simd_levels(c_backend):
        monkeypatch.setenv("RRNN_SIMD", level)
        got = rrnn.simulate(J, s0, self_coupling=0.2, backend="c", max_steps=30)
        np.testing.assert_array_equal(got.states, ref.states, err_msg=level)
        np.testing.assert_array_equal(got.steps, ref.steps, err_msg=level)
        bits = couplings.binary(300, seed=5, backend="c")
        np.testing.assert_array_equal(bits.bits, couplings.binary(300, seed=5, backend="numpy").bits)


def test_large_batch_sync_matches_reference_at_n_above_block_sizes(fast_backend, rng):
    """A batch wider than the kernels' register blocks and n over several words."""
    n = 321
    J = couplings.binary(n, seed=21, backend="numpy")
    s0 = rng.choice([-1, 1], size=(37, n))
    for jd in (0.0, 0.6):
        ref = rrnn.simulate(J, s0, self_coupling=jd, backend="numpy", max_steps=25)
        got = rrnn.simulate(J, s0, self_coupling=jd, backend=fast_backend.name, max_steps=25, n_threads=2)
        np.testing.assert_array_equal(got.states, ref.states)
        np.testing.assert_array_equal(got.steps, ref.steps)
        np.testing.assert_array_equal(got.period, ref.period)


@pytest.mark.parametrize("activation", ["sign", "heaviside"])
def test_c_dense_fields_exact_at_every_simd_level(monkeypatch, rng, activation, c_backend):
    """Dense fields at n = 300 (four 64-unit SIMD blocks and a tail) with entries near the
    fixed-point bound, so that any int32 accumulation would overflow."""
    n = 300
    J = couplings.dense(rng.choice([-1.0, 1.0], size=(n, n)) * rng.uniform(0.9, 1.0, size=(n, n)))
    low = -1 if activation == "sign" else 0
    s = rng.choice([low, 1], size=(5, n)).astype(np.int8)
    ref = rrnn.local_fields(J, s, activation=activation, backend="numpy")
    for level in _simd_levels(c_backend):
        monkeypatch.setenv("RRNN_SIMD", level)
        got = rrnn.local_fields(J, s, activation=activation, backend="c", n_threads=1)
        np.testing.assert_array_equal(got, ref, err_msg=level)


def test_compute_peak_probe_does_the_work_it_counts(monkeypatch, c_backend):
    """The probe behind the batch-64 benchmark's ratio: at every SIMD level its checksum is
    the sum of popcount(row ^ state) over the register words it says it combined
    (rows seed * {3, 5, 7, 11}, states seed ^ {13, 17, 19}, every lane alike), so the
    word-state count it reports is work done, not a formula."""
    mask = (1 << 64) - 1
    layout = {"avx512": (4, 3, 8), "avx2": (4, 2, 32), "portable": (2, 2, 1)}  # rows, states, lanes
    rounds = 1000
    for name, lvl in c_backend.SIMD_LEVELS.items():
        if lvl > c_backend.detected_simd():
            continue
        monkeypatch.setenv("RRNN_SIMD", name)
        ops, checksum = c_backend.popcount_peak(rounds, n_threads=2)
        n_rows, n_states, lanes = layout[name]
        per_thread = rounds * n_rows * n_states * lanes
        threads = ops // per_thread
        assert ops == threads * per_thread and threads in (1, 2), name
        expected = 0
        for t in range(threads):
            seed = (0x9E3779B97F4A7C15 + t) & mask
            rows = [(seed * m) & mask for m in (3, 5, 7, 11)[:n_rows]]
            states = [seed ^ x for x in (13, 17, 19)[:n_states]]
            expected += rounds * lanes * sum(bin(r ^ s).count("1") for r in rows for s in states)
        assert checksum == expected, name
    with pytest.raises(ValueError, match="popcount_peak"):
        c_backend.popcount_peak(-1)


@pytest.mark.parametrize("batch", [31, 32, 64, 70, 100])
def test_c_batched_popcounts_at_every_simd_level(monkeypatch, batch, c_backend):
    """The raw batched kernel against an independent count (numpy unpackbits), at every SIMD
    level. From 32 states on, AVX2 counts whole 32-state chunks with nibble tables and the rest
    with the XOR/popcount kernel (the plain loop, the benchmarks' baseline, is checked too): 130 words span two column tiles and a short 3-word round,
    37 rows leave a tail of one row after the 4-row blocks, and the all-ones rows against
    all-zero states reach the largest counts (64 x 130 bits)."""
    rng = np.random.default_rng(batch)
    words = 130
    rows = rng.integers(0, 2**63, size=(37, words), dtype=np.uint64) * np.uint64(2) \
        + rng.integers(0, 2, size=(37, words), dtype=np.uint64)
    rows[0] = np.iinfo(np.uint64).max
    packed = rng.integers(0, 2**63, size=(batch, words), dtype=np.uint64)
    packed[-1] = 0
    bits_r = np.unpackbits(rows.view(np.uint8), axis=1)
    bits_s = np.unpackbits(packed.view(np.uint8), axis=1)
    expected = (bits_s[:, None, :] != bits_r[None, :, :]).sum(axis=2)
    assert expected[-1, 0] == 64 * words
    for level in _simd_levels(c_backend):
        monkeypatch.setenv("RRNN_SIMD", level)
        for threads in (1, 2):
            got = c_backend.xor_popcount(rows, packed, threads)
            np.testing.assert_array_equal(got, expected, err_msg=f"{level}, {threads} threads")
            plain = c_backend.xor_popcount_plain(rows, packed, threads)   # benchmark baseline
            np.testing.assert_array_equal(plain, expected, err_msg=f"plain, {level}, {threads}")


@pytest.mark.parametrize("activation", ["sign", "heaviside"])
def test_c_one_state_fields_at_every_simd_level(monkeypatch, activation, c_backend):
    """One state, the path that streams the rows once (AVX2 runs its own loop there, with
    two byte counters per 16 words and a software prefetch): sign states take the XOR form,
    heaviside {0, 1} states the AND form. n = 31,105 gives 487 words per row: two full
    240-word counter rounds, a 4-word pass and 3 single words. The integer sums of 300 rows
    (the first and last, and random ones) are checked against numpy's unpacked bits."""
    n = 31_105
    J = couplings.binary(n, seed=11)
    rng = np.random.default_rng(12)
    x = rng.integers(0, 2, size=n).astype(np.int8)
    if activation == "sign":
        x = (2 * x - 1).astype(np.int8)
    rows = np.unique(np.concatenate([[0, n - 1], rng.choice(n, size=298, replace=False)]))
    bits = np.unpackbits(J.bits[rows].view(np.uint8), axis=1, bitorder="little")[:, :n]
    c = 1 - 2 * bits.astype(np.int64)
    c[np.arange(rows.size), rows] = 0
    expected = c @ x.astype(np.int64)
    for level in _simd_levels(c_backend):
        monkeypatch.setenv("RRNN_SIMD", level)
        for threads in (1, 2):
            h = rrnn.local_fields(J, x, activation=activation, backend="c", n_threads=threads)
            got = np.rint(h[0, rows] * np.sqrt(n)).astype(np.int64)
            np.testing.assert_array_equal(got, expected, err_msg=f"{level}, {threads} threads")


@pytest.mark.parametrize("activation", ["sign", "heaviside"])
def test_c_large_batches_agree_at_every_simd_level(monkeypatch, activation, c_backend):
    """Fields, one sync step and sync trajectories of 70 states (two 32-state table chunks
    and 6 more) at n = 509 (8 words, rows not a multiple of 4): XOR (sign) and AND
    (heaviside) tables."""
    n, batch = 509, 70
    J = couplings.binary(n, seed=3, backend="numpy")
    rng = np.random.default_rng(4)
    low = -1 if activation == "sign" else 0
    s = rng.choice([low, 1], size=(batch, n)).astype(np.int8)
    kw = dict(activation=activation, self_coupling=0.3, threshold=0.01)
    ref_h = rrnn.local_fields(J, s, backend="numpy", **kw)
    ref = rrnn.simulate(J, s, max_steps=30, backend="numpy", **kw)
    for level in _simd_levels(c_backend):
        monkeypatch.setenv("RRNN_SIMD", level)
        for threads in (1, 2):
            msg = f"{level}, {threads} threads"
            h = rrnn.local_fields(J, s, backend="c", n_threads=threads, **kw)
            np.testing.assert_array_equal(h, ref_h, err_msg=msg)
            step = rrnn.sync_step(J, s, backend="c", n_threads=threads, **kw)
            np.testing.assert_array_equal(step, np.where(ref_h >= 0, 1, low), err_msg=msg)
            got = rrnn.simulate(J, s, max_steps=30, backend="c", n_threads=threads, **kw)
            np.testing.assert_array_equal(got.states, ref.states, err_msg=msg)
            np.testing.assert_array_equal(got.steps, ref.steps, err_msg=msg)
            np.testing.assert_array_equal(got.period, ref.period, err_msg=msg)


def _c_matches_at_every_level(monkeypatch, c_backend, ref, keys, J, s, **kw):
    """``rrnn.simulate(J, s, **kw)`` with the C backend at every SIMD level this CPU has, on
    1 and 2 threads, equals the reference result ``ref`` in the fields ``keys``."""
    for level in _simd_levels(c_backend):
        monkeypatch.setenv("RRNN_SIMD", level)
        for threads in (1, 2):
            got = rrnn.simulate(J, s, backend="c", n_threads=threads, **kw)
            for key in keys:
                np.testing.assert_array_equal(getattr(got, key), getattr(ref, key),
                                              err_msg=f"{key}, {level}, {threads} threads")


@pytest.mark.parametrize("activation", ["sign", "heaviside"])
def test_c_async_sweeps_with_many_flips_agree_at_every_simd_level(monkeypatch, activation,
                                                                  c_backend):
    """Async sweeps in which so many units flip that the C core stops updating the fields
    column by column and evaluates the remaining rows one by one (past
    n (20 + 2W) / (n/8 + 2W) changes in a sweep, the rule in csrc/rrnn_simulate.c), then
    recomputes all fields when a sweep flips fewer: states, steps and flags equal the numpy
    reference at every SIMD level and thread count."""
    n, batch = 2000, 3
    W = -(-n // 64)
    row_switch = n * (20 + 2 * W) // (n // 8 + 2 * W)
    J = couplings.binary(n, seed=11, backend="numpy")
    low = -1 if activation == "sign" else 0
    s0 = np.random.default_rng(12).choice([low, 1], size=(batch, n)).astype(np.int8)
    kw = dict(activation=activation, self_coupling=0.0, update="async", seed=4)
    first = rrnn.simulate(J, s0, max_steps=1, backend="numpy", **kw)
    assert (first.states != s0).sum(axis=1).min() > row_switch   # the rows path does run
    ref = rrnn.simulate(J, s0, max_steps=12, backend="numpy", **kw)
    assert ref.steps.min() >= 3
    _c_matches_at_every_level(monkeypatch, c_backend, ref, ("states", "steps", "converged"),
                              J, s0, max_steps=12, **kw)


@pytest.mark.parametrize("activation", ["sign", "heaviside"])
def test_c_incremental_sync_steps_agree_at_every_simd_level(monkeypatch, activation, c_backend):
    """Sync trajectories that start a few units away from a fixed point, so most steps flip
    fewer than W units and update the fields column by column (several columns per call,
    flips in several row blocks and trajectories): states, steps and periods equal the numpy
    reference at every SIMD level and thread count."""
    n, batch = 1500, 12
    J = couplings.binary(n, seed=8, backend="numpy")
    low = -1 if activation == "sign" else 0
    kw = dict(activation=activation, self_coupling=0.9)
    rng = np.random.default_rng(9)
    s0 = rng.choice([low, 1], size=(batch, n)).astype(np.int8)
    fixed = rrnn.simulate(J, s0, max_steps=200, backend="numpy", **kw)
    assert fixed.converged.sum() >= batch // 2        # the test needs near-fixed starts
    s = fixed.states.copy()
    for b in range(batch):                            # 3 to 20 units knocked over
        idx = rng.choice(n, size=3 + b * 17 // batch, replace=False)
        s[b, idx] = np.where(s[b, idx] == 1, low, 1)
    ref = rrnn.simulate(J, s, max_steps=50, backend="numpy", **kw)
    assert ref.steps.max() >= 2
    _c_matches_at_every_level(monkeypatch, c_backend, ref, ("states", "steps", "period"),
                              J, s, max_steps=50, **kw)
