"""MLCM and SLN: against the numpy Appendix-A reference, eq. 7.1, WTA, storage, errors."""

import sys
from pathlib import Path

import numpy as np
import pytest

from rrnn.mlcm import MLCM
from rrnn.perceptron import Perceptron

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import mlcm_numpy_reference as ref  # noqa: E402

N, L, D, B, M = 24, 3, 20, 8, 4
LAM = dict(lambda_left=(2.0, 1.5, 1.0), lambda_right=(1.0, 0.5, 9.0), self_coupling=0.25,
           lambda_in=2.0, lambda_out=1.5)


def tiny(**kw):
    params = dict(n_units=N, n_layers=L, learning_rate=B / 64, margin=0.5, batch_size=B,
                  epochs=1, readout_lr=0.5, max_steps=30, n_train_eval=0, random_state=3, **LAM)
    params.update(kw)
    return MLCM(**params)


def dyadic(model):
    """Round the couplings to multiples of 1/8 so every float32 sum is exact."""
    model._J.Jt[:] = np.round(model._J.Jt * 8) / 8
    return [np.ascontiguousarray(model._J.Jt[l].T) for l in range(L)]


@pytest.fixture
def data(rng):
    X = rng.choice([-1, 1], size=(64, D)).astype(np.int8)
    y = rng.integers(0, M, 64)
    return X, y


def start(model, X):
    model._cfg = model._resolve()
    model._initialise(X.shape[1], np.arange(M))
    return model


# one J_D for all layers, and one per layer (thesis 6.1's J_D^l)
@pytest.mark.parametrize("jd", [0.25, (0.0, 0.5, 0.125)])
def test_training_matches_numpy_reference_exactly(data, jd):
    X, y = data
    m = start(tiny(self_coupling=jd), X)
    J = dyadic(m)
    Wf = m.readout_.copy()
    Xp = np.zeros((len(X), N), np.float32)
    Xp[:, :D] = X
    for s in range(0, len(X), B):
        J, Wf, S_ref, t = ref.train_batch(Xp[s:s + B], y[s:s + B], J, m.back_, Wf, jd=jd,
                                          lam_in=2.0, lam_left=LAM["lambda_left"],
                                          lam_right=LAM["lambda_right"], lam_out=1.5, t_max=30,
                                          eta=B / 64, xi=0.0, rho=0.5, eta_ro=0.5)
        steps, conv, _ = m._train_batch(X[s:s + B].astype(np.float32), y[s:s + B], np.arange(B))
        # Algorithm 2 stops when the whole batch is fixed: its count is our slowest sample
        assert steps.max() == t
        np.testing.assert_array_equal(m.couplings_, np.stack(J))
        np.testing.assert_allclose(m.readout_, Wf, atol=1e-5)
    logits, S_ref, t = ref.predict_logits(Xp, J, Wf, jd=jd, lam_in=2.0,
                                          lam_left=LAM["lambda_left"], t_max=30)
    np.testing.assert_array_equal(m.transform(X), S_ref[L])


def test_weight_decay_matches_reference(data):
    X, y = data
    m = start(tiny(weight_decay=0.1), X)
    J = dyadic(m)
    Xp = np.zeros((B, N), np.float32)
    Xp[:, :D] = X[:B]
    J, _, _, _ = ref.train_batch(Xp, y[:B], J, m.back_, m.readout_.copy(), jd=0.25, lam_in=2.0,
                                 lam_left=LAM["lambda_left"], lam_right=LAM["lambda_right"],
                                 lam_out=1.5, t_max=30, eta=B / 64, xi=0.1, rho=0.5, eta_ro=0.5)
    m._train_batch(X[:B].astype(np.float32), y[:B], np.arange(B))
    np.testing.assert_allclose(m.couplings_, np.stack(J), atol=1e-6)
    assert np.all(np.diagonal(m.couplings_, axis1=1, axis2=2) == 0)


@pytest.mark.parametrize("update", ["sequential-sync", "independent-sync"])
def test_heaviside_with_zero_threshold_is_the_sign_model(data, update):
    """Eq. 7.1: {0,1} dynamics with kappa and gamma = 0 are the +-1 dynamics under s = 2z - 1,
    in training too (the local rule is the same in both pictures)."""
    X, y = data
    ms = start(tiny(update=update), X)
    mz = start(tiny(update=update, activation="heaviside"), X)
    dyadic(ms)
    mz._J.Jt[:] = ms._J.Jt
    for s in range(0, len(X), B):
        st_s, _, _ = ms._train_batch(X[s:s + B].astype(np.float32), y[s:s + B], np.arange(B))
        st_z, _, _ = mz._train_batch(X[s:s + B].astype(np.float32), y[s:s + B], np.arange(B))
        np.testing.assert_array_equal(st_s, st_z)
        np.testing.assert_array_equal(ms.couplings_, mz.couplings_)
    np.testing.assert_array_equal(ms.transform(X), 2 * mz.transform(X) - 1)


def _fields_at(m, S, X, yi, use_right):
    """Full local fields of every unit at state S, recomputed from scratch (+-1)."""
    c = m._cfg
    xin, _ = m._input_fields(X)
    J = m.couplings_
    h = np.einsum("lij,lbj->lbi", J, S) + c["jd"][:, None, None] * S
    h[0] += xin
    h[1:] += c["lam_left"][1:, None, None] * S[:-1]
    if use_right:
        h[:-1] += c["lam_right"][:-1, None, None] * S[1:]
        h[-1] += m._label_field(yi)
    return h


@pytest.mark.parametrize("self_coupling", [0.25, (0.25, 0.5, 0.375)])
@pytest.mark.parametrize("update", ["sequential-async", "independent-async",
                                    "sequential-sync", "independent-sync"])
def test_converged_states_are_fixed_points(data, update, self_coupling):
    X, y = data
    m = start(tiny(update=update, max_steps=200, self_coupling=self_coupling), X)
    xin, S = m._input_fields(X.astype(np.float32))
    _, steps, conv = m._relax(S, xin, m._label_field(y), True, 200, np.arange(len(X)), m._row_sums())
    # synchronous dynamics may end in 2-cycles; asynchronous ones always converge here
    assert conv.mean() > 0.25 and np.all(steps >= 1)
    if update.endswith("async"):
        assert conv.all()
    h = _fields_at(m, S, X.astype(np.float32), y, True)
    np.testing.assert_array_equal(S[:, conv], np.where(h >= 0, 1.0, -1.0)[:, conv])


def test_convergence_step_semantics(data):
    X, y = data
    m = start(tiny(), X)
    xin, S = m._input_fields(X.astype(np.float32))
    _, steps, conv = m._relax(S, xin, m._label_field(y), True, 200, np.arange(len(X)), m._row_sums())
    S, xin, steps = S[:, conv], xin[conv], steps[conv]
    X, y = X[conv], y[conv]
    # starting again from a fixed point takes exactly one (confirming) sweep
    S2 = S.copy()
    _, steps2, conv2 = m._relax(S2, xin, m._label_field(y), True, 200, np.arange(len(X)), m._row_sums())
    assert conv2.all() and np.all(steps2 == 1)
    np.testing.assert_array_equal(S, S2)
    # a cap of one sweep stops samples that were still moving, flagged as not converged
    _, S3 = m._input_fields(X.astype(np.float32))
    _, steps3, conv3 = m._relax(S3, xin, m._label_field(y), True, 1, np.arange(len(X)), m._row_sums())
    assert np.all(steps3 == 1)
    np.testing.assert_array_equal(conv3, steps == 1)


def test_async_is_reproducible_and_thread_independent(data):
    import numba
    X, y = data
    out = []
    for threads in (1, numba.config.NUMBA_NUM_THREADS):
        m = tiny(update="independent-async", n_threads=threads).fit(X, y)
        out.append(m.couplings_)
    np.testing.assert_array_equal(out[0], out[1])


@pytest.mark.parametrize("delta", [0.5, 0.35])
def test_wta_fires_exactly_round_n_delta(data, delta):
    X, y = data
    n = 40
    m = start(tiny(n_units=n, activation="heaviside", sparsity=delta, n_layers=4,
                   lambda_left=2.0, lambda_right=1.0), X)
    xin, S = m._input_fields(X.astype(np.float32))
    m._relax(S, xin, m._label_field(y), True, 30, np.arange(len(X)), m._row_sums())
    active = S.sum(axis=2)
    assert np.all(active[1:-1] == round(n * delta))
    assert set(np.unique(S)) <= {0.0, 1.0}


@pytest.mark.parametrize("kind", ["normal", "few values", "signed zeros"])
def test_kth_largest_matches_sort(rng, kind):
    """The radix selection behind WTA against numpy's sort, at every rank k."""
    from rrnn.mlcm_kernels import _kth_largest
    if kind == "normal":
        h = (rng.standard_normal(301) * 10.0 ** rng.integers(-3, 4, 301)).astype(np.float32)
    elif kind == "few values":
        h = rng.integers(-2, 3, 301).astype(np.float32) / np.float32(3)
    else:
        h = rng.choice(np.float32([-0.0, 0.0, -1.5, 2.0]), 301)
    descending = np.sort(h)[::-1]
    got = np.array([_kth_largest(h, k) for k in range(1, len(h) + 1)])
    np.testing.assert_array_equal(got, descending)


def test_add_changes_matches_one_change_at_a_time(rng):
    """The incremental field kernel against numpy adding one changed unit's row at a
    time in increasing order: bit for bit, with 0 to 11 changes per sample (every
    remainder of the four-row passes) and rows of H outside ``rows`` untouched."""
    from rrnn import mlcm_kernels as K
    n, nb = 64, 9
    Jt = rng.standard_normal((n, n)).astype(np.float32)
    H = rng.standard_normal((nb, n)).astype(np.float32)
    rows = np.array([0, 2, 3, 5, 6, 8])
    old = rng.choice(np.float32([-1, 1]), (len(rows), n))
    new = old.copy()
    for r, m in enumerate([0, 1, 2, 5, 7, 11]):
        flip = rng.choice(n, m, replace=False)
        new[r, flip] = -new[r, flip]
    want = H.copy()
    for r, row in enumerate(rows):
        for j in np.flatnonzero(new[r] != old[r]):
            want[row] += (new[r, j] - old[r, j]) * Jt[j]
    K.add_changes(H, rows, new, old, Jt, np.empty(n, np.int64), np.empty(n, np.float32))
    np.testing.assert_array_equal(H, want)


def test_column_sums_match_numpy_bit_for_bit(rng):
    """The kappa row sums against numpy's float64 reduction, on rows spanning 6 decades
    (where a different summation order would change the rounding)."""
    from rrnn import mlcm_kernels as K
    for shape in ((1, 7), (37, 53), (300, 300)):
        Jt = (rng.standard_normal(shape) * 10.0 ** rng.uniform(-3, 3, (shape[0], 1))).astype(np.float32)
        out = np.empty(shape[1], np.float32)
        K.column_sums(out, np.empty(shape[1]), Jt)
        np.testing.assert_array_equal(out, Jt.sum(axis=0, dtype=np.float64).astype(np.float32))


def test_wta_layer_matches_stable_sort_oracle(rng):
    """The numba WTA step against numpy: the k largest fields fire, ties broken toward the
    lower unit index (a stable descending sort). Integer fields make ties at the k-th
    place common; the test checks that they occur in most rows."""
    from rrnn import mlcm_kernels as K
    nl, nb, n, k, l = 3, 12, 50, 17, 1
    S = rng.integers(0, 2, (nl, nb, n)).astype(np.float32)
    H = rng.integers(-1, 2, (nl, nb, n)).astype(np.float32)
    lam_left, lam_right = np.float32([0, 2, 0]), np.float32([0, 1, 0])
    kappa = rng.integers(0, 3, (nl, n)).astype(np.float32)
    gamma = np.float32([0, 0.5, 0])
    rows = np.array([0, 3, 4, 7, 11])
    new = np.empty((len(rows), n), np.float32)
    counts = np.empty(len(rows), np.int64)
    K.wta_layer(new, counts, S, H, l, rows, np.float32(0.5), lam_left, lam_right, kappa, gamma,
                True, k)
    h = H[l, rows] + np.float32(0.5) * S[l, rows] + lam_left[l] * S[l - 1, rows] \
        + lam_right[l] * S[l + 1, rows] - kappa[l] - gamma[l]
    order = np.argsort(-h, axis=1, kind="stable")
    expected = np.zeros_like(h)
    np.put_along_axis(expected, order[:, :k], 1.0, axis=1)
    np.testing.assert_array_equal(new, expected)
    np.testing.assert_array_equal(counts, (expected != S[l, rows]).sum(axis=1))
    kth = np.take_along_axis(h, order[:, k - 1:k], axis=1)
    assert ((h == kth) & (expected == 0)).any(axis=1).sum() >= 3   # ties left out in most rows


def test_fixed_threshold_reduces_activity(data):
    X, y = data
    acts = []
    for gamma in (0.0, 0.5, 2.0):
        m = start(tiny(activation="heaviside", threshold=gamma), X)
        xin, S = m._input_fields(X.astype(np.float32))
        m._relax(S, xin, None, False, 30, np.arange(len(X)), m._row_sums())
        acts.append(S[1:].mean())
    assert acts[0] > acts[1] > acts[2]


def test_fit_predict_save_load_roundtrip(data, tmp_path):
    X, y = data
    m = tiny(epochs=2).fit(X, y, validation_data=(X, y))
    assert len(m.history_["val_accuracy"]) == 2 and len(m.history_["sparsity"][0]) == L
    p = m.predict_proba(X)
    assert p.shape == (len(X), M) and np.allclose(p.sum(1), 1)
    assert 0 <= m.score(X, y) <= 1
    m.save(tmp_path / "m.h5")
    m2 = MLCM.load(tmp_path / "m.h5")
    np.testing.assert_array_equal(m2.couplings_, m.couplings_)
    np.testing.assert_array_equal(m2.predict(X), m.predict(X))
    assert m2.get_params() == m.get_params()


def test_info_shows_a_checkpoint_s_epochs_and_history(data, tmp_path, capsys):
    from rrnn import cli

    X, y = data
    m = tiny(epochs=2).fit(X, y, validation_data=(X, y), checkpoint=tmp_path / "ck.h5")
    assert cli.main(["info", str(tmp_path / "ck.h5")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "epochs done: 2 of 2" in "\n".join(lines) and f"  n_units = {N}" in lines
    header = lines.index("history (one row per epoch):") + 1
    column = lines[header].split().index("val_accuracy")
    shown = [float(lines[header + e].split()[column]) for e in (1, 2)]
    np.testing.assert_allclose(shown, m.history_["val_accuracy"], atol=5e-5)
    p = Perceptron(epochs=3, batch_size=8, random_state=0).fit(X, y)
    p.save(tmp_path / "sub" / "p.h5")                 # the directory is created
    assert cli.main(["info", str(tmp_path / "sub" / "p.h5")]) == 0
    text = capsys.readouterr().out
    assert "kind: rrnn.Perceptron" in text and "epochs done: 3 of 3" in text
    np.testing.assert_array_equal(Perceptron.load(tmp_path / "sub" / "p.h5").coef_, p.coef_)


def test_resumable_fit_equals_uninterrupted(data, tmp_path):
    X, y = data
    full = tiny(epochs=3).fit(X, y)
    ck = tmp_path / "ck.h5"
    tiny(epochs=1).fit(X, y, checkpoint=tmp_path / "other.h5")
    part = tiny(epochs=3)
    part.epochs = 2                       # "interrupted" after two epochs
    part.fit(X, y, checkpoint=ck)
    with pytest.raises(ValueError, match="other hyperparameters: epochs: stored 2, expected 3. Remove"):
        tiny(epochs=3).fit(X, y, checkpoint=ck)
    resumed = tiny(epochs=2)
    resumed.fit(X, y, checkpoint=ck)      # nothing left to do: same state
    np.testing.assert_array_equal(resumed.couplings_, part.couplings_)
    # the thread count and printing do not change results: such a run resumes too
    other_threads = tiny(epochs=2, n_threads=1, verbose=True).fit(X, y, checkpoint=ck)
    np.testing.assert_array_equal(other_threads.couplings_, part.couplings_)
    # a third epoch after the checkpoint gives the uninterrupted result
    again = MLCM.load(ck)
    again.set_params(epochs=3)
    again._cfg = again._resolve()
    again._epoch(X.astype(np.float32), y, None)
    np.testing.assert_array_equal(again.couplings_, full.couplings_)
    with pytest.raises(ValueError, match="other training data"):
        tiny(epochs=2).fit(X[::-1], y[::-1], checkpoint=ck)


def test_verbose_prints_epochs_and_a_progress_bar(data, capsys):
    """verbose=True: one line per epoch on stdout, a per-epoch progress bar over the
    training samples on stderr, and the same couplings as a silent run."""
    X, y = data
    loud = tiny(epochs=2, verbose=True).fit(X, y)
    out, err = capsys.readouterr()
    assert out.count("epoch ") == 2 and "epoch 2: train" in out
    assert "epoch 1/2" in err and "epoch 2/2" in err and f"/{len(X)} " in err
    quiet = tiny(epochs=2).fit(X, y)
    out, err = capsys.readouterr()
    assert out == "" and "epoch" not in err
    np.testing.assert_array_equal(loud.couplings_, quiet.couplings_)


def test_diluted_couplings_learn_and_touch_only_synapses(data):
    X, y = data
    m = tiny(connectivity=5).fit(X, y)
    assert m.indices_.shape == (L, N, 5) and m.weights_.shape == (L, N, 5)
    assert np.all(m.indices_ != np.arange(N)[None, :, None])     # no self-synapse
    # distinct inputs: an input drawn twice would be one synapse of double weight
    assert all(len(np.unique(row)) == 5 for row in m.indices_.reshape(-1, 5))
    full = start(tiny(connectivity=N - 1), X)                     # every other unit, once
    others = np.array([np.delete(np.arange(N), i) for i in range(N)])
    np.testing.assert_array_equal(np.sort(full.indices_, axis=2), np.broadcast_to(others, (L, N, N - 1)))
    m2 = tiny(connectivity=5, learning_rate=0.0).fit(X, y)
    assert not np.array_equal(m.weights_, m2.weights_)
    np.testing.assert_array_equal(m.indices_, m2.indices_)


def test_diluted_fields_match_dense_equivalent(data):
    X, y = data
    m = start(tiny(connectivity=6), X)
    J = np.zeros((L, N, N), np.float32)
    for l in range(L):
        np.add.at(J[l], (np.arange(N)[:, None].repeat(6, 1), m.indices_[l]), m.weights_[l])
    xin, S = m._input_fields(X.astype(np.float32))
    H = m._J.fields(1, S[1])
    np.testing.assert_allclose(H, S[1] @ J[1].T, atol=1e-5)
    _, steps, conv = m._relax(S, xin, m._label_field(y), True, 100, np.arange(len(X)), m._row_sums())
    h = np.einsum("lij,lbj->lbi", J, S) + 0.25 * S
    h[0] += xin
    h[1:] += m._cfg["lam_left"][1:, None, None] * S[:-1]
    h[:-1] += m._cfg["lam_right"][:-1, None, None] * S[1:]
    h[-1] += m._label_field(y)
    assert conv.mean() > 0.5
    np.testing.assert_array_equal(S[:, conv], np.where(h >= 0, 1.0, -1.0)[:, conv])


def _dense_equivalent(idx, w):
    """J (N, N) float64 with J[i, idx[i, k]] = w[i, k] (indices are distinct here)."""
    N = idx.shape[0]
    J = np.zeros((N, N))
    J[np.arange(N)[:, None], idx] = w
    return J


def _diluted_layer(rng, N=40, Kd=9):
    idx = np.stack([rng.choice(np.delete(np.arange(N), i), Kd, replace=False) for i in range(N)])
    w = (rng.integers(-8, 9, (N, Kd)) / 8).astype(np.float32)     # dyadic: exact sums
    return idx.astype(np.int32), w


@pytest.mark.parametrize("dtype", [np.int8, np.float32])
@pytest.mark.parametrize("accumulate", [True, False])
def test_diluted_gather_matches_dense_product(rng, dtype, accumulate):
    from rrnn import mlcm_kernels as K
    N, A = 40, 7
    idx, w = _diluted_layer(rng, N)
    X = rng.choice([-2.0, 0.0, 0.0, 1.0], (A, N)).astype(np.float32)
    X[:, :5] = 0                                   # rows that are skipped (not live)
    Xt = np.empty((N, A), dtype)
    live = np.empty(N, bool)
    assert K.by_unit(Xt, live, X)
    np.testing.assert_array_equal(Xt, X.T)
    np.testing.assert_array_equal(live, X.any(axis=0))
    H0 = rng.standard_normal((10, N)).astype(np.float32).round(2)
    rows = np.array([3, 0, 9, 4, 5, 1, 7], dtype=np.int64)
    H = H0.copy()
    K.diluted_gather(H, rows, accumulate, Xt, live, idx, w, np.empty((N, A), np.float32))
    expect = H0.astype(np.float64)
    expect[rows] = (expect[rows] if accumulate else 0) + X @ _dense_equivalent(idx, w).T
    np.testing.assert_allclose(H, expect, atol=1e-5)
    assert not K.by_unit(np.empty((N, A), np.int8), live, X + 0.5)   # int8 cannot hold 1/2


def test_diluted_scatter_matches_dense_product(rng):
    from rrnn import mlcm_kernels as K
    from rrnn.mlcm_couplings import Diluted
    N, A = 40, 5
    idx, w = _diluted_layer(rng, N)
    ptr, post, order = Diluted._outgoing(idx)
    old = rng.choice([-1.0, 1.0], (A, N)).astype(np.float32)
    new = np.where(rng.random((A, N)) < 0.1, -old, old)
    H = np.zeros((8, N), np.float32)
    rows = np.array([2, 7, 0, 5, 3], dtype=np.int64)
    K.diluted_scatter(H, rows, new, old, ptr, post, order, w.reshape(-1))
    expect = np.zeros((8, N))
    expect[rows] = (new - old) @ _dense_equivalent(idx, w).T
    np.testing.assert_allclose(H, expect, atol=1e-5)


@pytest.mark.parametrize("labels", [False, True])
def test_diluted_local_rule_is_the_dense_rule_on_the_synapses(rng, labels):
    """Both kernels (bit sets for distinct states, grouped columns for repeated ones, as in
    a layer clamped to label patterns) give exactly decay w + scale (pre.T @ post)."""
    from rrnn.mlcm_couplings import Diluted
    N, Bn = 40, 70
    idx, w = _diluted_layer(rng, N)
    pre = rng.choice([-1.0, 1.0], (Bn, N)).astype(np.float32)
    if labels:
        pre = pre[rng.integers(0, 4, Bn)]
    post = rng.choice([-1.0, 0.0, 0.0, 1.0], (Bn, N)).astype(np.float32)
    post[:, :3] = 0                               # units without an unstable sample
    J = Diluted(idx[None].copy(), w[None].copy())
    J.update(0, pre, post, 0.125, 0.75)
    P = (pre.T @ post).astype(np.float32)        # integer sums, exact
    expect = np.float32(0.75) * w + np.float32(0.125) * P[idx, np.arange(N)[:, None]]
    np.testing.assert_array_equal(J.w[0], expect)


def test_distinct_rows_groups_equal_rows_exactly(rng):
    from rrnn.mlcm_couplings import distinct_rows
    X = rng.choice([-1.0, 1.0], (5, 3000)).astype(np.float32)
    X[3] = X[1]
    X[4] = X[1]
    X[4, 1] = -X[4, 1]                          # differs outside the sampled columns
    first, group = distinct_rows(X)
    np.testing.assert_array_equal(first, [0, 1, 2, 4])
    np.testing.assert_array_equal(X, X[first[group]])


def test_sync_layer_kernel_matches_numpy_expression(rng):
    from rrnn import mlcm_kernels as K
    Lq, Bq, Nq = 3, 6, 30
    S = rng.choice([-1.0, 1.0], (Lq, Bq, Nq)).astype(np.float32)
    H = rng.standard_normal((Lq, Bq, Nq)).astype(np.float32)
    xin, outf = rng.standard_normal((2, Bq, Nq)).astype(np.float32)
    lam_left, lam_right, gamma = rng.random((3, Lq)).astype(np.float32)
    kappa = rng.standard_normal((Lq, Nq)).astype(np.float32)
    jd = np.float32(0.3)
    rows = np.array([4, 1, 2], dtype=np.int64)
    for l in range(Lq):
        for use_right in (False, True):
            new = np.empty((3, Nq), np.float32)
            counts = np.empty(3, np.int64)
            K.sync_layer(new, counts, S, H, l, rows, xin, outf, jd, lam_left, lam_right, kappa,
                         gamma, False, use_right)
            h = H[l, rows] + jd * S[l, rows]
            h += xin[rows] if l == 0 else lam_left[l] * S[l - 1, rows]
            if use_right:
                h += outf[rows] if l == Lq - 1 else lam_right[l] * S[l + 1, rows]
            h -= kappa[l]
            h -= gamma[l]
            expect = np.where(h >= 0, 1.0, -1.0)
            np.testing.assert_array_equal(new, expect)
            np.testing.assert_array_equal(counts, (expect != S[l, rows]).sum(axis=1))


@pytest.mark.parametrize("eta", [B / 64, 0.0], ids=["learning", "reservoir"])
def test_free_readout_learns_on_inference_states_of_the_old_couplings(data, eta):
    """readout_states="free": J follows Algorithm 3 unchanged; W_fwd takes the
    cross-entropy step on the free end states (inference, reference) of the couplings
    before the update. At eta = 0 (a fixed reservoir, whose clamped phase is skipped)
    the couplings stay as drawn and the readout is the same."""
    X, y = data
    m = start(tiny(readout_states="free", learning_rate=eta), X)
    J = dyadic(m)
    Wf = m.readout_.copy()
    Xp = np.zeros((len(X), N), np.float32)
    Xp[:, :D] = X
    for s in range(0, len(X), B):
        _, S_free, _ = ref.predict_logits(Xp[s:s + B], J, Wf, jd=0.25, lam_in=2.0,
                                          lam_left=LAM["lambda_left"], t_max=30)
        J, _, _, _ = ref.train_batch(Xp[s:s + B], y[s:s + B], J, m.back_, Wf, jd=0.25,
                                     lam_in=2.0, lam_left=LAM["lambda_left"],
                                     lam_right=LAM["lambda_right"], lam_out=1.5, t_max=30,
                                     eta=eta, xi=0.0, rho=0.5, eta_ro=0.5)
        # independent oracle of the readout step: softmax cross-entropy, mean over the batch
        f = S_free[L].astype(np.float64)
        z = f @ Wf.T
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        p[np.arange(B), y[s:s + B]] -= 1.0
        Wf = (Wf - 0.5 / B * p.T @ f).astype(np.float32)
        m._train_batch(X[s:s + B].astype(np.float32), y[s:s + B], np.arange(B))
        np.testing.assert_array_equal(m.couplings_, np.stack(J))
        np.testing.assert_allclose(m.readout_, Wf, atol=1e-5)
    # the clamped readout learns on other states: the option changes the result
    clamped = start(tiny(), X)
    dyadic(clamped)
    clamped._train_batch(X[:B].astype(np.float32), y[:B], np.arange(B))
    other = start(tiny(readout_states="free"), X)
    dyadic(other)
    other._train_batch(X[:B].astype(np.float32), y[:B], np.arange(B))
    assert not np.allclose(clamped.readout_, other.readout_)


def test_input_patch_weights_are_random_windows_of_the_image(rng):
    side, patch, n = 6, 3, 40
    X = rng.choice([-1, 1], size=(32, side * side)).astype(np.int8)
    y = rng.integers(0, M, 32)
    m = tiny(n_units=n, input_patch=patch, input_density=0.5, learning_rate=0.0,
             readout_states="free", epochs=1).fit(X, y)
    W = m.input_weights_.reshape(n, side, side)
    for i in range(n):
        r, c = np.nonzero(W[i])
        assert len(r) == 0 or (np.ptp(r) < patch and np.ptp(c) < patch)
    nz = np.abs(m.input_weights_[m.input_weights_ != 0])
    np.testing.assert_allclose(nz, 1 / np.sqrt(0.5 * patch * patch), rtol=1e-6)
    # the windows are spread over the image, not all in one corner
    tops = np.array([np.nonzero(W[i])[0].min() for i in range(n) if W[i].any()])
    assert len(np.unique(tops)) > 1
    assert m.predict(X).shape == (len(X),)
    with pytest.raises(ValueError, match=r"input_patch: windows of 3x3 need square images of "
                                         r"side >= 3, got 20 features"):
        tiny(input_patch=3).fit(rng.choice([-1, 1], size=(16, D)), y[:16])
    with pytest.raises(ValueError, match=r"input_patch: expected an int >= 1, got 0"):
        tiny(input_patch=0).fit(X, y)


def test_imprinted_input_weights_are_normalised_differences_of_two_classes(rng):
    """Every row of input_init="imprint" is (x_a - x_b) / 2 of two samples of different
    classes, restricted to one window, with unit norm: checked by brute force over all
    sample pairs and windows."""
    side, patch, n = 5, 3, 30
    X = rng.choice([-1, 1], size=(10, side * side)).astype(np.int8)
    y = np.array([0, 0, 0, 1, 1, 1, 2, 2, 3, 3])
    m = tiny(n_units=n, input_patch=patch, input_init="imprint", learning_rate=0.0,
             readout_states="free", epochs=1).fit(X, y)
    W = m.input_weights_
    assert W.shape == (n, side * side)
    windows = []
    for top in range(side - patch + 1):
        for left in range(side - patch + 1):
            w = np.zeros((side, side), bool)
            w[top:top + patch, left:left + patch] = True
            windows.append(w.ravel())
    nonzero = 0
    for i in range(n):
        if not W[i].any():
            continue
        nonzero += 1
        np.testing.assert_allclose(np.linalg.norm(W[i]), 1.0, rtol=1e-6)
        diffs = [(X[a] - X[b]) * w / 2 for a in range(len(X)) for b in range(len(X))
                 for w in windows if y[a] != y[b]]
        matches = [d for d in diffs if d.any() and np.allclose(W[i] * np.linalg.norm(d), d, atol=1e-6)]
        assert matches, f"row {i} is not a normalised difference of two classes"
    assert nonzero > n // 2
    same = tiny(n_units=n, input_patch=patch, input_init="imprint", learning_rate=0.0,
                readout_states="free", epochs=1).fit(X, y)
    np.testing.assert_array_equal(same.input_weights_, W)       # reproducible from the seed
    with pytest.raises(ValueError, match=r"input_init: expected one of \('random', 'imprint'\), got 'pca'"):
        tiny(input_patch=patch, input_init="pca").fit(X, y)
    with pytest.raises(ValueError, match=r"input_init: 'imprint' sets the input weights of "
                                         r"input_density / input_patch"):
        tiny(input_init="imprint").fit(X, y)
    with pytest.raises(ValueError, match=r"input_init: 'imprint' needs training samples of at "
                                         r"least 2 classes"):
        tiny(input_patch=patch, input_init="imprint").partial_fit(X[:3], y[:3], classes=[0, 1, 2, 3])


def cosine_rate(lr, epoch, epochs):
    """Independent statement of the cosine schedule: lr at epoch 0, halved at epochs / 2."""
    return lr * (1.0 + np.cos(np.pi * epoch / epochs)) / 2.0


def test_cosine_readout_schedule_matches_constant_rate_epochs(data):
    """A cosine readout schedule over 3 epochs is 3 constant-rate epochs at the rates
    lr, lr (1 + cos(pi / 3)) / 2 = 0.75 lr and lr (1 + cos(2 pi / 3)) / 2 = 0.25 lr; the
    couplings (local rule) are untouched by the schedule."""
    X, y = data
    annealed = tiny(readout_lr_schedule="cosine", epochs=3).fit(X, y)
    stepped = tiny(epochs=3)
    for epoch, factor in enumerate((1.0, 0.75, 0.25)):
        if epoch:
            stepped._cfg["ro_lr"] = 0.5 * factor
        assert np.isclose(cosine_rate(0.5, epoch, 3), 0.5 * factor)
        stepped.partial_fit(X, y, classes=np.arange(M))
    np.testing.assert_array_equal(annealed.couplings_, stepped.couplings_)
    np.testing.assert_allclose(annealed.readout_, stepped.readout_, rtol=1e-6)
    constant = tiny(epochs=3).fit(X, y)
    assert not np.allclose(constant.readout_, annealed.readout_)


def test_perceptron_cosine_schedule_is_the_readout_rule_at_annealed_rates(data):
    X, y = data
    p = Perceptron(learning_rate=0.2, lr_schedule="cosine", epochs=4, batch_size=8,
                   random_state=0).fit(X, y)
    W = np.zeros((M, D), np.float32)
    seed = np.random.SeedSequence(0)
    for epoch in range(4):
        order = np.random.default_rng(np.random.SeedSequence(
            seed.entropy, spawn_key=(1, epoch))).permutation(len(X))
        for a in range(0, len(X), 8):
            b = order[a:a + 8]
            f = X[b].astype(np.float64)
            z = f @ W.T
            q = np.exp(z - z.max(axis=1, keepdims=True))
            q /= q.sum(axis=1, keepdims=True)
            q[np.arange(len(b)), y[b]] -= 1.0
            W = (W - cosine_rate(0.2, epoch, 4) / len(b) * q.T @ f).astype(np.float32)
    np.testing.assert_allclose(p.coef_, W, atol=1e-5)
    with pytest.raises(ValueError, match=r"lr_schedule: expected one of \('constant', 'cosine'\), "
                                         r"got 'linear'"):
        Perceptron(lr_schedule="linear").fit(X, y)


def test_published_protocol_and_perceptron_readout(data):
    X, y = data
    m = tiny(protocol="published", clamp_steps=3, readout="perceptron", readout_margin=1.0,
             input_density=0.3, epochs=2).fit(X, y)
    assert m.input_weights_.shape == (N, D)
    assert m.predict(X).shape == (len(X),)


def test_published_history_describes_the_free_phase(data):
    """protocol="published": the batch's activity and steps are those of the free phase
    that follows the clamped one (steps of both phases added), as documented; the
    clamped and free end states differ here, so the check can tell them apart."""
    X, y = data
    X, y = X[:B].astype(np.float32), y[:B]
    m = start(tiny(protocol="published", clamp_steps=3, max_steps=30), X)
    c, ids = m._cfg, np.arange(B, dtype=np.int64)
    xin, S = m._input_fields(X)
    rs = m._row_sums()
    H, st1, _ = m._relax(S, xin, m._label_field(y), True, 3, ids, rs)
    clamped = S.copy()
    _, st2, _ = m._relax(S, xin, None, False, c["t_max"], ids + (1 << 40), rs, H=H)
    assert not np.array_equal(clamped, S)
    steps, _, act = m._train_batch(X, y, ids)
    np.testing.assert_array_equal(act, (S > 0).mean(axis=(1, 2)))
    assert not np.array_equal(act, (clamped > 0).mean(axis=(1, 2)))
    np.testing.assert_array_equal(steps, st1 + st2)


@pytest.mark.parametrize("params,match", [
    (dict(n_layers=0), r"n_layers: expected an int >= 1, got 0"),
    (dict(lambda_left=(1.0, 2.0, 3.0, 4.0)), r"lambda_left: expected a number or a sequence of length"),
    (dict(activation="relu"), r"activation: expected one of \('sign', 'heaviside'\), got 'relu'"),
    (dict(threshold=0.1), r"threshold: a non-zero threshold \(0.1\) needs activation='heaviside'"),
    (dict(activation="heaviside", sparsity=1.5), r"sparsity: expected values in \(0, 1\], got 1.5"),
    (dict(update="random"), r"update: expected one of"),
    # an array holding a valid name passed the old ``in`` test (its == is elementwise)
    (dict(activation=np.array(["sign"])), r"activation: expected one of \('sign', 'heaviside'\), got array"),
    (dict(update=np.array(["sync"])), r"update: expected one of .*, got array"),
    (dict(readout=np.array(["perceptron"])), r"readout: expected one of .*, got array"),
    (dict(learning_rate=-1.0), r"learning_rate: expected a number >= 0, got -1.0"),
    (dict(readout_lr=0.0), r"readout_lr: expected a number > 0, got 0.0"),
    (dict(readout_lr_schedule="step"), r"readout_lr_schedule: expected one of \('constant', 'cosine'\), got 'step'"),
    (dict(readout_states="mixed"), r"readout_states: expected one of \('clamped', 'free'\), got 'mixed'"),
    (dict(batch_size=0), r"batch_size: expected an int >= 1, got 0"),
    (dict(max_steps=2.5), r"max_steps: expected an int, got 2.5"),
    (dict(max_steps=1 << 31), r"max_steps: expected an int <= 2147483647, got 2147483648"),
    (dict(protocol="published", clamp_steps=1 << 40), r"clamp_steps: expected an int <= 2147483647"),
    (dict(connectivity=4, update="independent-async"),
     r"update: asynchronous orders need dense couplings \(connectivity=None\), got "
     r"update='independent-async' with connectivity=4"),
    (dict(connectivity=N), rf"connectivity: expected an int <= {N - 1}, got {N}"),
    (dict(activation="heaviside", sparsity=0.3, update="independent-async"), r"needs a synchronous"),
    (dict(self_coupling=float("nan")), r"self_coupling: expected a finite number, got nan"),
    (dict(self_coupling=(0.1, 0.2)), r"self_coupling: expected a number or a sequence of length 1 or 3"),
    (dict(self_coupling=(0.1, float("inf"), 0.1)), r"self_coupling\[1\]: expected a finite number"),
])
def test_bad_hyperparameters_name_parameter_value_and_expectation(data, params, match):
    X, y = data
    with pytest.raises((ValueError, TypeError), match=match):
        tiny(**params).fit(X, y)


def test_network_too_large_is_refused_with_its_estimate(data):
    """Dense 5 x 200,000^2 float32 couplings (960 GB with the generation temporary) are
    refused before anything is allocated; diluted ones of the same N are not."""
    X, y = data
    with pytest.raises(MemoryError, match=r"MLCM\(n_units=200000, n_layers=5, connectivity=None, "
                                          r"batch_size=8\) needs about 960\.\d\d GB.*; use a smaller "
                                          r"n_units, n_layers or batch_size, or diluted couplings"):
        tiny(n_units=200_000, n_layers=5, lambda_left=1.0, lambda_right=1.0).fit(X, y)
    from rrnn.mlcm import _footprint
    m = tiny(n_units=200_000, n_layers=5, lambda_left=1.0, lambda_right=1.0, connectivity=64)
    assert _footprint(m._resolve(), D) < 5e9


def test_bad_data(data):
    X, y = data
    with pytest.raises(ValueError, match="X: expected a 2-d array"):
        tiny().fit(X[0], y)
    with pytest.raises(ValueError, match=r"y: expected shape \(64,\)"):
        tiny().fit(X, y[:5])
    with pytest.raises(ValueError, match=r"X: 30 features do not fit in n_units=24"):
        tiny().fit(np.ones((4, 30)), y[:4])
    m = tiny().fit(X, y)
    with pytest.raises(ValueError, match="X: expected 20 features"):
        m.predict(X[:, :10])
    with pytest.raises(RuntimeError, match="not fitted"):
        tiny().predict(X)


def test_real_inputs_need_input_weights(data):
    """Without input weights the inputs are the initial +-1 states of layer 1, so grey
    levels (or {0, 1}) are refused, naming the first bad value and where it is; with
    input weights they are accepted."""
    X, y = data
    grey = X.astype(np.float32) * 0.5
    with pytest.raises(ValueError, match=r"X: without input_density or input_patch .* must be "
                                         r"-1 or \+1; got -?0\.5 at \[0, 0\]"):
        tiny().fit(grey, y)
    bits = (X > 0).astype(np.int8)              # {0, 1} inputs are refused too
    with pytest.raises(ValueError, match=r"must be -1 or \+1; got 0\.0 at"):
        tiny().partial_fit(bits, y, classes=np.arange(M))
    m = tiny().fit(X, y)
    with pytest.raises(ValueError, match=r"X_val: without input_density"):
        m.partial_fit(X, y, validation_data=(grey, y))
    with pytest.raises(ValueError, match=r"X: without input_density"):
        m.predict(grey)
    w = tiny(input_density=1.0).fit(grey, y, validation_data=(grey, y))
    assert w.predict(grey).shape == y.shape


def test_check_raises_what_fit_would_without_building(data):
    """MLCM.check (used by the drivers before they create a result file) refuses what
    fit refuses for a given input width, and builds nothing."""
    X, y = data
    m = tiny()
    m.check(D)
    assert not hasattr(m, "_J")
    with pytest.raises(ValueError, match=rf"X: {N + 1} features do not fit in n_units={N}"):
        tiny().check(N + 1)
    with pytest.raises(ValueError, match=rf"X: {N + 1} features do not fit in n_units={N}"):
        tiny().fit(np.ones((4, N + 1)), y[:4])
    tiny(input_density=0.5).check(N + 1)            # random input weights: any width
    with pytest.raises(ValueError, match="batch_size: expected an int >= 1, got 0"):
        tiny(batch_size=0).check(D)


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_bad_validation_data_is_refused_before_the_network_exists(data, method):
    """Validation data is checked with the training data, before the couplings are
    allocated: the model stays unfitted and a checkpoint is not written."""
    X, y = data
    bad = [((X[:, :-1], y), r"X_val: expected %d features" % X.shape[1]),
           ((X, y + M), r"y_val: label %d is not one of the classes" % (y[0] + M)),
           ((X,), r"validation_data: expected a pair")]
    for validation, message in bad:
        m = tiny()
        with pytest.raises((ValueError, TypeError), match=message):
            getattr(m, method)(X, y, validation_data=validation)
        assert not hasattr(m, "_J"), validation
        with pytest.raises(RuntimeError, match="not fitted"):
            m.predict(X)


def test_perceptron_baseline(data, tmp_path):
    X, y = data
    # a linearly separable problem is learned by both rules
    rng = np.random.default_rng(0)
    w = rng.standard_normal((M, D))
    ys = np.argmax(X @ w.T, axis=1)
    for rule in ("cross_entropy", "perceptron"):
        p = Perceptron(rule=rule, learning_rate=0.1, epochs=30, batch_size=8, random_state=0)
        p.fit(X, ys, validation_data=(X, ys))
        assert p.score(X, ys) > 0.9
    p.save(tmp_path / "p.h5")
    np.testing.assert_array_equal(Perceptron.load(tmp_path / "p.h5").predict(X), p.predict(X))
    with pytest.raises(ValueError, match="rule: expected one of"):
        Perceptron(rule="hinge").fit(X, y)


def test_perceptron_checks_everything_before_it_changes(data, tmp_path):
    """Bad validation data, or labels outside the declared classes, fail before the
    model is touched: it stays unfitted, and a corrected first call works."""
    X, y = data
    for call in (lambda p: p.fit(X, y, validation_data=(X[:, :-1], y)),
                 lambda p: p.partial_fit(X, y, validation_data=(X,)),
                 lambda p: p.partial_fit(X, y + M, classes=np.arange(M))):
        p = Perceptron(epochs=1, random_state=0)
        with pytest.raises((ValueError, TypeError), match="X_val|validation_data|y: label"):
            call(p)
        with pytest.raises(RuntimeError, match="Perceptron is not fitted yet"):
            p.predict(X)
        p.partial_fit(X, y + M, classes=np.arange(2 * M))      # now a valid first call
        assert list(p.classes_) == list(range(2 * M))
    with pytest.raises(TypeError, match="X: expected real numbers, got dtype complex128"):
        Perceptron(epochs=1).fit(X * 1j, y)
    with pytest.raises(ValueError, match="X: values must fit float32"):
        Perceptron(epochs=1).fit(np.full(X.shape, 1e300), y)
    # numpy scalars in the settings are saved as plain numbers
    p = Perceptron(epochs=np.int64(1), batch_size=np.int64(4), learning_rate=np.float32(0.1))
    p.fit(X, y).save(tmp_path / "np.h5")
    np.testing.assert_array_equal(Perceptron.load(tmp_path / "np.h5").predict(X), p.predict(X))


def test_spawned_seeds_give_different_initialisations(data):
    X, y = data
    a = tiny(random_state=np.random.SeedSequence(5, spawn_key=(0,))).fit(X, y)
    b = tiny(random_state=np.random.SeedSequence(5, spawn_key=(1,))).fit(X, y)
    assert not np.array_equal(a.couplings_, b.couplings_)


@pytest.mark.parametrize("depth,left,right", [
    (1, (6.0,), (2.0,)),
    (3, (6.0, 4.0, 4.0), (2.0, 2.0, 1.5)),
    (7, (6.0,) + (4.0,) * 6, (2.0,) * 6 + (1.5,)),
])
def test_default_lambdas_follow_the_thesis_pattern_at_any_depth(data, depth, left, right):
    """The thesis's five-layer lists as defaults mean 4 left and 2 right per layer at
    any depth: the same model as the pattern written out, trained identically."""
    X, y = data
    base = {k: v for k, v in tiny().get_params().items() if k not in ("lambda_left", "lambda_right")}
    default = MLCM(**dict(base, n_layers=depth)).fit(X, y)
    explicit = MLCM(**dict(base, n_layers=depth, lambda_left=left, lambda_right=right)).fit(X, y)
    assert default.get_params()["lambda_left"] == (6.0, 4.0, 4.0, 4.0, 4.0)
    for key in ("lam_left", "lam_right"):
        np.testing.assert_array_equal(default._cfg[key], explicit._cfg[key])
    np.testing.assert_array_equal(default._J.Jt, explicit._J.Jt)
    np.testing.assert_array_equal(default.readout_, explicit.readout_)


def test_other_five_value_lambdas_still_need_five_layers(data):
    X, y = data
    with pytest.raises(ValueError, match=r"lambda_left: expected a number or a sequence of "
                                         r"length 1 or 2 or 3, got \(6.0, 4.0, 4.0, 4.0, 3.0\)"):
        tiny(lambda_left=(6.0, 4.0, 4.0, 4.0, 3.0)).fit(X, y)


@pytest.mark.parametrize("make", [lambda: tiny(), lambda: Perceptron(epochs=2, batch_size=8, random_state=1)],
                         ids=["MLCM", "Perceptron"])
@pytest.mark.parametrize("labels", ["str", "object"])
def test_string_labels_survive_save_and_load(data, tmp_path, make, labels):
    """HDF5 has no numpy unicode type: str classes are stored as UTF-8 and load as str,
    so the loaded model predicts the same labels (before: a TypeError on save, or bytes
    classes that matched no label and scored 0)."""
    X, y = data
    names = np.array(["zero", "one", "two", "three"])[y]
    model = make().fit(X, names if labels == "str" else names.astype(object))
    model.save(tmp_path / "m.h5")
    back = type(model).load(tmp_path / "m.h5")
    assert back.classes_.dtype.kind == "U"
    np.testing.assert_array_equal(back.classes_, model.classes_)
    np.testing.assert_array_equal(back.predict(X), model.predict(X))
    assert back.score(X, names) == model.score(X, names)


def test_save_writes_the_parameters_the_model_was_fitted_with(data, tmp_path):
    X, y = data
    m = tiny().fit(X, y)
    expected = m.predict(X)
    m.set_params(n_units=N + 8, max_steps="x", n_threads=1)   # for the next fit only
    m.save(tmp_path / "m.h5")
    back = MLCM.load(tmp_path / "m.h5")
    assert back.n_units == N and back.max_steps == 30 and back.n_threads == 1
    np.testing.assert_array_equal(back.predict(X), expected)


def test_a_loaded_model_with_a_seed_sequence_refits(data, tmp_path):
    X, y = data
    m = tiny(random_state=np.random.SeedSequence(7, spawn_key=(2,))).fit(X, y)
    m.save(tmp_path / "m.h5")
    back = MLCM.load(tmp_path / "m.h5")
    assert isinstance(back.random_state, np.random.SeedSequence)
    refit = back.fit(X, y)
    np.testing.assert_array_equal(refit.readout_, m.readout_)


@pytest.mark.parametrize("cls", [MLCM, Perceptron])
def test_bad_model_files_are_named(tmp_path, cls):
    with pytest.raises(FileNotFoundError, match=r"missing.h5: no such file"):
        cls.load(tmp_path / "missing.h5")
    (tmp_path / "text.h5").write_text("junk")
    with pytest.raises(ValueError, match=r"text.h5: not an HDF5 file"):
        cls.load(tmp_path / "text.h5")
    with pytest.raises(ValueError, match=r"a directory, not a result file"):
        cls.load(tmp_path)
    import h5py
    with h5py.File(tmp_path / "part.h5", "w") as f:
        f.attrs["kind"] = f"rrnn.{cls.__name__}"
    with pytest.raises(ValueError, match=rf"part.h5: an incomplete rrnn.{cls.__name__} file \(missing"):
        cls.load(tmp_path / "part.h5")


def test_save_to_a_directory_and_a_directory_checkpoint_are_refused(data, tmp_path):
    X, y = data
    (tmp_path / "d").mkdir()
    with pytest.raises(ValueError, match=r"checkpoint: expected an HDF5 file path, got the directory"):
        tiny().fit(X, y, checkpoint=tmp_path / "d")
    m = Perceptron(epochs=1, batch_size=8).fit(X, y)
    with pytest.raises(IsADirectoryError, match=r"d: a directory; expected a file path"):
        m.save(tmp_path / "d")
    assert not list((tmp_path / "d").iterdir()) and not (tmp_path / "d.tmp").exists()


@pytest.mark.parametrize("cls", ["MLCM", "Perceptron"])
@pytest.mark.parametrize("X_kind, y_kind, error, match", [
    ("ok", "none", TypeError, r"y: expected class labels of shape \(n_samples,\), got None"),
    ("ok", "one_class", ValueError, r"y: expected at least 2 classes to learn, got \[1\]"),
    ("ok", "nan", ValueError, r"y: labels must not be NaN \(found at index 3\)"),
    ("ok", "dicts", TypeError, r"y: expected integer, real or string labels, got dtype object"),
    ("no_features", "ok", ValueError, r"X: expected at least one feature, got shape \(64, 0\)"),
])
def test_bad_training_labels_and_featureless_inputs_are_refused(data, cls, X_kind, y_kind, error, match):
    X, y = data
    X = X[:, :0] if X_kind == "no_features" else X
    y = {"ok": y, "none": None, "one_class": np.ones(len(y), dtype=int),
         "nan": np.where(np.arange(len(y)) == 3, np.nan, y.astype(float)),
         "dicts": np.array([{"a": 1}] * len(y), dtype=object)}[y_kind]
    model = tiny() if cls == "MLCM" else Perceptron(epochs=1, batch_size=8)
    with pytest.raises(error, match=match):
        model.fit(X, y)
    assert not hasattr(model, "classes_")


@pytest.mark.parametrize("make", [lambda: tiny(), lambda: Perceptron(epochs=1, batch_size=8)],
                         ids=["MLCM", "Perceptron"])
def test_score_checks_the_labels_it_is_given(data, make):
    X, y = data
    m = make().fit(X, y)
    with pytest.raises(ValueError, match=r"y: expected shape \(64,\) to match X, got \(1,\)"):
        m.score(X, y[:1])
    assert m.score(X, y) == np.mean(m.predict(X) == y)


def test_sparsity_refuses_a_threshold_and_an_empty_winner_set(data):
    X, y = data
    with pytest.raises(ValueError, match=r"threshold: has no effect with sparsity \(winner-takes-all\); "
                                         r"expected 0, got 0.5"):
        tiny(activation="heaviside", sparsity=0.2, threshold=0.5).fit(X, y)
    with pytest.raises(ValueError, match=rf"sparsity: round\(n_units \* delta\) active units must be "
                                         rf">= 1; expected delta >= {0.5 / N:.3g}"):
        tiny(activation="heaviside", sparsity=0.001).fit(X, y)
