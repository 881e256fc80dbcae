"""Hopfield networks: low-rank Hebbian couplings, Glauber dynamics, retrieval, theory.

- the low-rank path (overlaps, O(p) per flip) against the dense integer
  matrix on every backend, bit for bit, at zero and finite temperature;
- energy monotone under asynchronous zero-temperature dynamics;
- retrieval at low load, classification of spurious states, RS theory;
- bad input.
"""

import math
import zlib

import numpy as np
import pytest

import rrnn
from rrnn import backends, couplings, hopfield

N = 83          # not a multiple of 64
P = 7
BATCH = 4


def _hebbian(n, p, seed):
    return couplings.hebbian(hopfield.random_patterns(p, n, seed=seed))


J_LR = _hebbian(N, P, 5)
J_DENSE = J_LR.dense_form()
_REF = {}


def _assert_same(got, ref):
    np.testing.assert_array_equal(got.states, ref.states)
    np.testing.assert_array_equal(got.steps, ref.steps)
    np.testing.assert_array_equal(got.converged, ref.converged)
    np.testing.assert_array_equal(got.period, ref.period)


@pytest.mark.parametrize("update", ["sync", "async"])
@pytest.mark.parametrize("activation", ["sign", "heaviside"])
@pytest.mark.parametrize("beta", [None, 0.8, 4.0])
@pytest.mark.parametrize("extra", ["plain", "field+jd"])
def test_lowrank_equals_dense_on_every_backend(any_backend, update, activation, beta, extra):
    rng = np.random.default_rng(zlib.crc32(f"{update}/{activation}/{beta}/{extra}".encode()))
    low = -1 if activation == "sign" else 0
    s0 = np.where(rng.random((BATCH, N)) < 0.5, 1, low).astype(np.int8)
    kwargs = dict(update=update, activation=activation, beta=beta, seed=9, max_steps=15)
    if extra != "plain":
        kwargs.update(self_coupling=0.15, field=rng.normal(0, 0.2, N), threshold=0.05)
    key = (update, activation, beta, extra)
    if key not in _REF:
        _REF[key] = rrnn.simulate(J_DENSE, s0, backend="numpy", **kwargs)
    ref = _REF[key]
    for J in (J_LR, J_DENSE):
        for n_threads in (1, 2):
            got = rrnn.simulate(J, s0, backend=any_backend.name, n_threads=n_threads, **kwargs)
            _assert_same(got, ref)
    if beta is not None:
        assert not ref.converged.any() and np.all(ref.period == -1)


def test_lowrank_fields_and_fixed_point_count(any_backend, rng):
    s = rng.choice([-1, 1], size=(3, N))
    ref = rrnn.local_fields(J_DENSE, s, self_coupling=0.2, backend="numpy")
    got = rrnn.local_fields(J_LR, s, self_coupling=0.2, backend=any_backend.name)
    np.testing.assert_array_equal(got, ref)
    np.testing.assert_allclose(ref, s @ J_LR.to_dense().T + 0.2 * s, rtol=0, atol=1e-12)
    small = _hebbian(14, 3, 2)
    assert (rrnn.count_fixed_points(small, backend=any_backend.name)
            == rrnn.count_fixed_points(small.dense_form(), backend="numpy"))


def test_hebbian_in_a_sum(any_backend, rng):
    """Binary + Hebbian (the low-rank term comes after the others in h)."""
    J = couplings.binary(N, seed=4, backend="numpy") + J_LR
    s0 = rng.choice([-1, 1], size=(BATCH, N))
    ref = rrnn.simulate(J, s0, update="async", seed=2, max_steps=20, backend="numpy")
    got = rrnn.simulate(J, s0, update="async", seed=2, max_steps=20, backend=any_backend.name)
    _assert_same(got, ref)
    both = J_LR + _hebbian(N, 3, 6)
    assert isinstance(both, couplings.HebbianCouplings) and both.p == P + 3


# p > 64 and not a multiple of 64 (full and partial words of the transpose);
# n over one block of units of the C kernels.
J_WIDE = _hebbian(1100, 130, 8)


@pytest.mark.parametrize("update", ["sync", "async"])
@pytest.mark.parametrize("activation", ["sign", "heaviside"])
@pytest.mark.parametrize("beta", [None, 1.5])
def test_c_lowrank_many_patterns_every_simd_level_and_thread_count(c_backend, monkeypatch, update,
                                                                   activation, beta):
    """C against the reference at p = 130, n = 1100: each SIMD level, 1 and 2 threads."""
    module = c_backend
    rng = np.random.default_rng(zlib.crc32(f"{update}/{activation}/{beta}".encode()))
    low = -1 if activation == "sign" else 0
    s0 = np.where(rng.random((3, J_WIDE.n)) < 0.5, 1, low).astype(np.int8)
    # a cue near a pattern: some units flip, most do not
    s0[0] = np.where((J_WIDE.patterns[1] > 0) ^ (rng.random(J_WIDE.n) < 0.15), 1, low)
    kwargs = dict(update=update, activation=activation, beta=beta, seed=4, max_steps=4,
                  self_coupling=0.1, field=rng.normal(0, 0.1, J_WIDE.n))
    ref = rrnn.simulate(J_WIDE, s0, backend="numpy", **kwargs)
    fields = rrnn.local_fields(J_WIDE, s0, activation=activation, backend="numpy")
    levels = [name for name, lvl in module.SIMD_LEVELS.items() if lvl <= module.detected_simd()]
    for level in levels:
        monkeypatch.setenv("RRNN_SIMD", level)
        for n_threads in (1, 2):
            got = rrnn.simulate(J_WIDE, s0, backend="c", n_threads=n_threads, **kwargs)
            _assert_same(got, ref)
        np.testing.assert_array_equal(
            rrnn.local_fields(J_WIDE, s0, activation=activation, backend="c", n_threads=2),
            fields, err_msg=level)


@pytest.mark.parametrize("activation", ["sign", "heaviside"])
def test_c_lowrank_fixed_point_count_every_simd_level(c_backend, monkeypatch, activation):
    """Exhaustive counts with the low-rank term alone (integer test) and in a sum."""
    module = c_backend
    J = _hebbian(16, 70, 3)
    mixed = J + couplings.binary(16, seed=1, backend="numpy")
    for jd in (0.0, 0.3):
        want = rrnn.count_fixed_points(J.dense_form(), self_coupling=jd, activation=activation,
                                       backend="numpy")
        want_mixed = rrnn.count_fixed_points(mixed, self_coupling=jd, activation=activation,
                                             backend="numpy")
        for level, lvl in module.SIMD_LEVELS.items():
            if lvl > module.detected_simd():
                continue
            monkeypatch.setenv("RRNN_SIMD", level)
            assert rrnn.count_fixed_points(J, self_coupling=jd, activation=activation,
                                           backend="c", n_threads=2) == want
            assert rrnn.count_fixed_points(mixed, self_coupling=jd, activation=activation,
                                           backend="c") == want_mixed


def test_c_glauber_large_beta_and_bad_beta(c_backend, rng):
    """exp overflows to inf at large beta*|h| (the low value), as in the reference;
    the C core refuses a negative or NaN beta."""
    module = c_backend
    s0 = rng.choice([-1, 1], size=(BATCH, N))
    for update in ("sync", "async"):
        kwargs = dict(update=update, beta=1e4, seed=6, max_steps=5, field=0.01)
        _assert_same(rrnn.simulate(J_LR, s0, backend="c", **kwargs),
                     rrnn.simulate(J_LR, s0, backend="numpy", **kwargs))
    kernel = J_LR.kernel(need_cols=True, backend=module)
    states = s0.astype(np.int8)
    for beta in (-1.0, math.nan):
        with pytest.raises(ValueError, match="invalid argument"):
            module.simulate(kernel, states, np.zeros(N), np.zeros(BATCH), 0, 1, 3, 1, 1,
                            beta=beta, noise_key=2)


def test_finite_temperature_depends_on_seed_only(rng):
    s0 = rng.choice([-1, 1], size=(BATCH, N))
    a = rrnn.simulate(J_LR, s0, update="async", beta=1.0, seed=1, max_steps=3, backend="numba")
    b = rrnn.simulate(J_LR, s0, update="async", beta=1.0, seed=2, max_steps=3, backend="numba")
    assert not np.array_equal(a.states, b.states)
    # beta = inf is the deterministic rule; beta = 0 is a fair coin per update
    c = rrnn.simulate(J_LR, s0, update="async", beta=math.inf, seed=1, backend="numba")
    d = rrnn.simulate(J_LR, s0, update="async", seed=1, backend="numba")
    _assert_same(c, d)
    hot = rrnn.simulate(_hebbian(2000, 3, 1), np.ones((1, 2000)), update="sync", beta=0.0,
                        seed=3, max_steps=1, backend="numba")
    assert abs(hot.states.mean()) < 5 / math.sqrt(2000)


def test_energy_never_increases_async_zero_temperature(any_backend):
    """Many random (n, p, state) cases; energy after each sweep (exact integers)."""
    rng = np.random.default_rng(77)
    cases = 40 if any_backend.name != "numpy" else 8
    for case in range(cases):
        n = int(rng.integers(5, 120))
        p = int(rng.integers(1, max(2, n // 2)))
        J = couplings.hebbian(rng.choice([-1, 1], size=(p, n)))
        s = rng.choice([-1, 1], size=(3, n)).astype(np.int8)
        e = hopfield.energy(J, s)
        for sweep in range(30):
            res = rrnn.simulate(J, s, update="async", max_steps=1, seed=case * 100 + sweep,
                                backend=any_backend.name)
            e_new = hopfield.energy(J, res.states)
            assert np.all(e_new <= e), (case, sweep, e_new - e)
            s, e = res.states, e_new
            if res.converged.all():
                break
        assert res.converged.all()


def test_energy_matches_dense_formula(rng):
    s = rng.choice([-1, 1], size=(5, N))
    expected = -0.5 * np.einsum("bi,ij,bj->b", s, J_LR.to_dense(), s)
    np.testing.assert_allclose(hopfield.energy(J_LR, s), expected, rtol=1e-13)
    np.testing.assert_allclose(hopfield.energy(J_DENSE, s, backend="numpy"), expected, rtol=1e-12)


def test_retrieval_at_low_load():
    n, p = 2000, 40                                   # alpha = 0.02
    J = _hebbian(n, p, 11)
    cues = np.concatenate([hopfield.noisy_cue(J.patterns[k], 0.2, 2, seed=k) for k in range(4)])
    r = hopfield.retrieve(J, cues, np.repeat(np.arange(4), 2), seed=1, backend="numba")
    np.testing.assert_allclose(r.initial_overlap, 0.6)
    assert np.all(r.final_overlap == 1.0) and r.converged.all()
    labels = hopfield.classify(hopfield.overlaps(J, r.states))
    assert np.all(labels == hopfield.RETRIEVAL)
    assert np.all(hopfield.unstable_units(J, J.patterns[:10], backend="numba") == 0)


def test_mixture_states_at_low_load_and_classification():
    n, p = 3000, 6
    J = _hebbian(n, p, 12)
    mix = hopfield.mixture_state(J, (0, 1, 2))
    m = hopfield.overlaps(J, mix)[0]
    np.testing.assert_allclose(m[:3], 0.5, atol=0.05)
    assert hopfield.classify(m)[0] == hopfield.MIXTURE
    res = rrnn.simulate(J, mix, update="async", seed=0, backend="numba")
    # a fixed point (or very close to one) at alpha = 0.002
    assert hopfield.overlaps(mix[None].astype(np.int64), res.states)[0, 0] > 0.95
    labels = hopfield.classify(np.array([[0.9, 0.1, 0.0, 0.0], [-0.95, 0.0, 0.1, 0.0],
                                         [0.5, -0.5, 0.5, 0.02], [0.2, 0.1, 0.1, 0.1]]))
    np.testing.assert_array_equal(labels, [hopfield.RETRIEVAL, hopfield.COMPLEMENT,
                                           hopfield.MIXTURE, hopfield.OTHER])


def test_rs_theory():
    ac = hopfield.alpha_c()
    assert 0.136 <= ac <= 0.140
    m = hopfield.rs_overlap(np.array([0.0, 0.05, 0.1, ac - 1e-9, 0.15]))
    assert m[0] == 1.0 and m[1] > 0.9999 and 0.99 < m[2] < 0.999
    assert 0.96 < m[3] < 0.975 and m[4] == 0.0        # AGS: m(alpha_c) = 0.967
    # the original AGS equations hold at the solution
    for alpha, mm in zip((0.05, 0.1, 0.13), hopfield.rs_overlap([0.05, 0.1, 0.13])):
        r = 1.0
        for _ in range(200):                               # iterate the original equations
            c = math.sqrt(2 / (math.pi * alpha * r)) * math.exp(-mm * mm / (2 * alpha * r))
            r = 1 / (1 - c) ** 2
        assert abs(mm - math.erf(mm / math.sqrt(2 * alpha * r))) < 1e-9


def test_random_patterns_are_seeded_and_balanced():
    a = hopfield.random_patterns(50, 1000, seed=3)
    assert a.dtype == np.int8 and set(np.unique(a)) == {-1, 1}
    np.testing.assert_array_equal(a, hopfield.random_patterns(50, 1000, seed=3))
    assert not np.array_equal(a, hopfield.random_patterns(50, 1000, seed=4))
    assert abs(a.mean()) < 5 / math.sqrt(a.size)
    # rows are nearly orthogonal: overlaps ~ N(0, 1/n)
    m = hopfield.overlaps(a, a)
    off = m[~np.eye(50, dtype=bool)]
    assert abs(off.std() - 1 / math.sqrt(1000)) < 0.1 / math.sqrt(1000) * 5


def test_bad_input():
    with pytest.raises(ValueError, match=r"\+1 or -1"):
        couplings.hebbian([[1, 0, -1]])
    with pytest.raises(ValueError, match="2-d"):
        couplings.hebbian([1, -1, 1])
    with pytest.raises(ValueError, match=r"\+1 or -1"):
        couplings.hebbian(np.array([[1.0, np.nan]]))
    with pytest.raises(TypeError):
        couplings.hebbian(np.array([[True, False]]))
    with pytest.raises(ValueError):
        couplings.hebbian(np.zeros((0, 5)))
    s = np.ones(N)
    for beta in (-1.0, float("nan")):
        with pytest.raises(ValueError, match="beta"):
            rrnn.simulate(J_LR, s, beta=beta)
    with pytest.raises(TypeError, match="beta"):
        rrnn.simulate(J_LR, s, beta="hot")
    # 2 beta overflows to inf past ~9e307, and inf x (zero field) would give NaN
    with pytest.raises(ValueError, match=r"beta: expected a finite value <= 1e\+300 .*got 1e\+308"):
        rrnn.simulate(J_LR, s, beta=1e308)
    # the largest accepted beta acts as zero temperature wherever the field is not zero
    # (at a zero field Glauber's rule is a coin flip at any beta; sign(0) = +1 is not)
    high = rrnn.simulate(J_LR, s, beta=1e300, update="sync", max_steps=1, seed=1, backend="numpy")
    cold = rrnn.simulate(J_LR, s, beta=math.inf, update="sync", max_steps=1, backend="numpy")
    nonzero = rrnn.local_fields(J_LR, s, backend="numpy")[0] != 0
    assert nonzero.sum() > N // 2
    np.testing.assert_array_equal(high.states[0, nonzero], cold.states[0, nonzero])
    with pytest.raises(ValueError, match="flip_fraction"):
        hopfield.noisy_cue(J_LR.patterns[0], 1.5)
    with pytest.raises(ValueError, match="targets"):
        hopfield.retrieve(J_LR, J_LR.patterns[:1], P)


def test_states_are_checked_before_any_cast():
    """Values that an int8 cast would wrap (255 -> -1, 257 -> 1) or truncate
    (0.7 -> 0) are refused by every helper, naming the value and where it is."""
    wrapped = np.full(N, 255)
    for call in (lambda: hopfield.energy(J_LR, wrapped), lambda: hopfield.energy(J_DENSE, wrapped),
                 lambda: hopfield.unstable_units(J_LR, wrapped),
                 lambda: hopfield.overlaps(J_LR, wrapped)):
        with pytest.raises(ValueError, match=r"sign states must be -1 or 1; found 255 at index \(0, 0\)"):
            call()
    with pytest.raises(ValueError, match=r"pattern: sign states must be -1 or 1; found 300"):
        hopfield.noisy_cue(np.array([300, -1]), 0.0)
    with pytest.raises(ValueError, match=r"found 0.7"):
        hopfield.noisy_cue([0.7, -1.0], 0.0)
    with pytest.raises(ValueError, match=r"patterns: sign states must be -1 or 1; found nan"):
        hopfield.overlaps(np.full((2, N), np.nan), np.ones(N))
    with pytest.raises(TypeError, match="s: expected a numeric array"):
        hopfield.energy(J_LR, np.array(["1"] * N))
    with pytest.raises(ValueError, match="backend: unknown backend 'bogus'"):
        hopfield.energy(J_LR, np.ones(N), backend="bogus")
    with pytest.raises(ValueError, match=r"targets: expected an index or shape \(2,\)"):
        hopfield.retrieve(J_LR, J_LR.patterns[:2], [0, 1, 2])
    with pytest.raises(ValueError, match=r"indices: expected an int <= 6, got 7"):
        hopfield.mixture_state(J_LR, indices=(0, 1, 7))
    with pytest.raises(TypeError, match=r"indices: expected an int"):
        hopfield.mixture_state(J_LR, indices=(0, 1, 1.9))
    with pytest.raises(ValueError, match=r"signs: expected \+1 or -1 each, got 0"):
        hopfield.mixture_state(J_LR, signs=(1, 0, 1))
    with pytest.raises(ValueError, match="m: overlaps must be finite"):
        hopfield.classify(np.array([[0.9, np.nan]]))


def test_hebbian_keeps_its_own_copy_of_the_patterns():
    """Editing the caller's array afterwards changes neither the couplings nor the
    fields of any backend (the C backend caches a bit-packed transpose)."""
    xi = hopfield.random_patterns(3, 40, seed=1)
    J = couplings.hebbian(xi)
    s = hopfield.random_patterns(2, 40, seed=2)
    before = rrnn.local_fields(J, s, backend="numpy")
    xi[0] *= -1
    xi[1] = -xi[2]
    np.testing.assert_array_equal(J.patterns, hopfield.random_patterns(3, 40, seed=1))
    for backend in ("numpy", "numba", "c"):
        np.testing.assert_array_equal(rrnn.local_fields(J, s, backend=backend), before)


def test_backend_without_lowrank_refuses_or_is_skipped(monkeypatch):
    """A backend lacking a feature: an explicit request raises, auto skips it."""
    module, _ = backends.load("numba")
    monkeypatch.setattr(module, "FEATURES", frozenset())
    with pytest.raises(NotImplementedError, match="lowrank"):
        rrnn.simulate(J_LR, np.ones(N), backend="numba")
    with pytest.raises(NotImplementedError, match="glauber"):
        rrnn.simulate(J_DENSE, np.ones(N), backend="numba", beta=1.0)
    assert rrnn.simulate(J_LR, np.ones(N), backend="auto").backend in ("c", "numpy")
