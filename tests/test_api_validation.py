"""Input validation at the public boundary of self_coupling, fits, hopfield and datasets.

Every bad input raises before any work, with a TypeError/ValueError (FileNotFoundError
for a missing folder) naming the parameter and the bad value; valid inputs give the
same results as before the checks were added.
"""

import gzip
import hashlib
import math
import re
import struct

import numpy as np
import pytest

import rrnn
from rrnn import datasets, fits, hopfield
from rrnn import self_coupling as sc

N = 10
J10 = rrnn.couplings.binary(N, seed=0)
S10 = sc.initial_states(N, 2, 0)


# ---------------------------------------------------------------------------
# 1. bisect_draw
# ---------------------------------------------------------------------------

# (update, seed, backend, n_threads, a non-int max_steps, J and the shape or values of
# s0 were already refused by the first simulate call; bisect_draw now checks them first)
@pytest.mark.parametrize("kwargs,exc,match", [
    # jd_start = 0 used to hang: 0 doubled stays 0 and the bracket never grows
    (dict(jd_start=0), ValueError, r"jd_start: expected a number > 0, got 0\.0"),
    (dict(jd_start=-1), ValueError, r"jd_start: expected a number > 0, got -1\.0"),
    (dict(jd_start=math.nan), ValueError, r"jd_start: expected a finite number, got nan"),
    (dict(jd_start="1"), TypeError, r"jd_start: expected a real number, got '1'"),
    (dict(tol=0), ValueError, r"tol: expected a number > 0, got 0\.0"),
    (dict(tol=-1), ValueError, r"tol: expected a number > 0, got -1\.0"),
    (dict(max_steps=0), ValueError, r"max_steps: expected an int >= 1, got 0"),
    (dict(on_round=5), TypeError, r"on_round: expected a callable or None, got 5"),
])
def test_bisect_draw_refuses_bad_parameters(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        sc.bisect_draw(J10, S10, **kwargs)


@pytest.mark.parametrize("J,s0,exc,match", [
    (J10, S10[0], ValueError, r"s0: expected a 2-d array \(inits, 10\) of \+-1 states, got shape \(10,\)"),
    (J10, np.ones((0, N)), ValueError, r"s0: expected at least one state, got shape \(0, 10\)"),
])
def test_bisect_draw_refuses_bad_couplings_and_states(J, s0, exc, match):
    with pytest.raises(exc, match=match):
        sc.bisect_draw(J, s0)


def test_bisect_draw_accepts_an_array_and_matches_critical_self_coupling():
    """An (n, n) array is wrapped like simulate does (it used to raise AttributeError);
    bisect_draw on the draw critical_self_coupling uses gives the same J_D."""
    A = J10.to_dense()
    hi_arr, _ = sc.bisect_draw(A, S10, backend="numpy")
    hi_obj, _ = sc.bisect_draw(rrnn.couplings.dense(A), S10, backend="numpy")
    np.testing.assert_array_equal(hi_arr, hi_obj)
    ds = sc.draw_seed(1, 0)
    J = rrnn.couplings.binary(16, seed=ds)
    hi, _ = sc.bisect_draw(J, sc.initial_states(16, 3, ds), seed=ds, backend="numpy")
    ref = sc.critical_self_coupling(16, matrices=1, inits=3, seed=1, backend="numpy")
    np.testing.assert_array_equal(hi, ref[0])
    # values recorded before the checks were added
    np.testing.assert_array_equal(ref[0], [0.25, 0.2509765625, 0.25])


# ---------------------------------------------------------------------------
# 2. self_coupling helpers
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("call,exc,match", [
    (lambda: sc.draw_seed(0, 1.7), TypeError, r"draw: expected an int, got 1\.7"),
    (lambda: sc.draw_seed(0, -1), ValueError, r"draw: expected an int >= 0, got -1"),
    (lambda: sc.initial_states(10, -1, 0), ValueError, r"count: expected an int >= 0, got -1"),
    (lambda: sc.initial_states(10.0, 2, 0), TypeError, r"n: expected an int, got 10\.0"),
    (lambda: sc.initial_states(0, 2, 0), ValueError, r"n: expected an int >= 1, got 0"),
    (lambda: sc.summarize([]), ValueError, r"samples: expected at least one value, got an empty"),
    (lambda: sc.summarize([1.0, np.nan]), ValueError, r"samples: expected finite values, got nan"),
    (lambda: sc.summarize([1.0, 2.0], quantiles=(0.5, 1.5)), ValueError,
     r"quantiles: expected numbers in \[0, 1\], got 1\.5"),
    (lambda: sc.bootstrap_ci([], np.mean), ValueError, r"values: expected at least one value"),
    (lambda: sc.bootstrap_ci([1.0, np.inf], np.mean), ValueError,
     r"values: expected finite values, got inf at flat index 1"),
    (lambda: sc.bootstrap_ci([1.0, 2.0], np.mean, resamples=0), ValueError,
     r"resamples: expected an int >= 1, got 0"),
    (lambda: sc.bootstrap_ci([1.0, 2.0], np.mean, level=1.5), ValueError,
     r"level: expected a number in \(0, 1\), got 1\.5"),
    (lambda: sc.bootstrap_ci([1.0, 2.0], "mean"), TypeError,
     r"statistic: expected a callable, got 'mean'"),
])
def test_self_coupling_helpers_refuse_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_self_coupling_helpers_unchanged_for_valid_input():
    assert sc.draw_seed(3, np.int64(2)).spawn_key == (2,)
    assert sc.initial_states(5, 0, 1).shape == (0, 5)
    s = sc.summarize(np.arange(10.0).reshape(2, 5), seed=2)
    assert s["count"] == 10 and s["median"] == 4.5 and s["max"] == 9.0
    assert s["quantiles"] == {0.1: 0.9, 0.25: 2.25, 0.5: 4.5, 0.75: 6.75, 0.9: 8.1}
    lo, hi = sc.bootstrap_ci(np.arange(10.0), np.mean, resamples=50, seed=1)
    assert lo == pytest.approx(2.835) and hi == pytest.approx(6.0775)    # recorded before


# ---------------------------------------------------------------------------
# 3. fits
# ---------------------------------------------------------------------------

NS = np.array([50, 100, 200, 400, 800, 1600, 3200.0])
YS = 0.3 + 0.25 * np.log(NS) + np.array([0.01, -0.02, 0.015, -0.01, 0.005, 0.0, -0.005])
JD = np.array([1.1, 1.2, 1.4, 1.8, 2.5, 3.0])
TS = 3.0 * (JD - 1.0) ** -1.5 * np.array([1.02, 0.98, 1.01, 0.99, 1.0, 1.03])


@pytest.mark.parametrize("call,exc,match", [
    (lambda: fits.fit_law("exp", NS, YS), ValueError,
     r"name: expected one of 'log', 'loglog', 'power', 'saturation', got 'exp'"),
    (lambda: fits.fit_law("log", NS, YS[:-1]), ValueError, r"y: expected shape \(7,\).*got shape \(6,\)"),
    (lambda: fits.fit_law("log", NS, np.where(NS == 200, np.nan, YS)), ValueError,
     r"y: expected finite values, got nan at index 2"),
    (lambda: fits.fit_law("log", NS, YS, sigma=np.ones(3)), ValueError,
     r"sigma: expected shape \(7,\).*got shape \(3,\)"),
    (lambda: fits.fit_law("log", NS, YS, sigma=np.zeros(7)), ValueError,
     r"sigma: expected every value > 0.*got 0 at index 0"),
    (lambda: fits.fit_law("log", -NS, YS), ValueError, r"n: expected every value > 0.*got -50 at index 0"),
    (lambda: fits.fit_law("loglog", np.r_[1.0, NS[1:]], YS), ValueError,
     r"n: expected every value > 1.*got 1 at index 0"),
    (lambda: fits.fit_law("log", [10.0], [1.0]), ValueError, r"n: expected at least 2 points.*got 1"),
    (lambda: fits.fit_law("saturation", NS[:2], YS[:2]), ValueError, r"n: expected at least 3 points.*got 2"),
    (lambda: fits.fit_law("log", NS, list("abcdefg")), TypeError, r"y: expected a 1-d array of real numbers"),
    (lambda: fits.fit_candidates(NS[:2], YS[:2]), ValueError, r"n: expected at least 3 points.*got 2"),
    (lambda: fits.fit_candidates(np.zeros(7), YS), ValueError, r"n: expected every value > 1.*got 0"),
    (lambda: fits.fit_power_law_divergence(JD, TS, 1.2), ValueError,
     r"jd: expected every value > jd_critical = 1\.2, got 1\.1 at index 0"),
    (lambda: fits.fit_power_law_divergence(JD, np.r_[0.0, TS[1:]]), ValueError,
     r"times: expected every value > 0.*got 0 at index 0"),
    (lambda: fits.fit_power_law_divergence(JD, TS[:4]), ValueError, r"times: expected shape \(6,\)"),
    (lambda: fits.fit_power_law_divergence([], []), ValueError, r"jd: expected at least 3 points.*got 0"),
    (lambda: fits.fit_power_law_divergence(JD, TS, "1.0"), TypeError,
     r"jd_critical: expected a real number, got '1\.0'"),
    (lambda: fits.fit_power_law_divergence(np.full(4, 1.5), TS[:4], 1.0), ValueError,
     r"jd: expected at least 3 points with 2 distinct values.*1 distinct"),
])
def test_fits_refuse_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_fits_unchanged_for_valid_input():
    # the log law is linear in its parameters: weighted least squares gives it directly
    sigma = np.linspace(0.01, 0.03, NS.size)
    A = np.stack([np.ones_like(NS), np.log(NS)], axis=1) / sigma[:, None]
    direct = np.linalg.lstsq(A, YS / sigma, rcond=None)[0]
    f = fits.fit_law("log", NS.astype(int).tolist(), YS, sigma)
    np.testing.assert_allclose(f.params, direct, rtol=1e-8)
    # values recorded before the checks were added
    best = fits.fit_candidates(NS, YS, np.full(7, 0.02))
    assert [b.name for b in best] == ["log", "saturation", "power", "loglog"]
    np.testing.assert_allclose(best[0].params, (0.30391635222782787, 0.24922712754461973), rtol=1e-9)
    fixed = fits.fit_power_law_divergence(JD, TS, 1.0)
    assert fixed["gamma"] == pytest.approx(1.4971159501499662, rel=1e-9)
    assert fixed["amplitude"] == pytest.approx(3.0202978183621374, rel=1e-9)
    free = fits.fit_power_law_divergence(JD, TS)
    assert free["jd_critical"] == pytest.approx(1.0059286511662349, rel=1e-6)
    assert free["gamma"] == pytest.approx(1.4709315686140763, rel=1e-6)


def test_optimizer_failure_still_gives_none(monkeypatch):
    """A fit that does not converge on valid data is still None / left out."""
    def fail(*args, **kwargs):
        raise RuntimeError("Optimal parameters not found")
    monkeypatch.setattr(fits.optimize, "curve_fit", fail)
    assert fits.fit_law("power", NS, YS) is None
    assert fits.fit_candidates(NS, YS) == []


# ---------------------------------------------------------------------------
# 4. hopfield
# ---------------------------------------------------------------------------

XI = hopfield.random_patterns(5, 20, seed=0)
M = np.array([[0.9, 0.1, 0.0, 0.0]])


@pytest.mark.parametrize("call,exc,match", [
    (lambda: hopfield.rs_overlap([0.1, -1.0]), ValueError,
     r"alpha: expected finite loads >= 0, got -1\.0 at flat index 1"),
    (lambda: hopfield.rs_overlap("0.1"), TypeError, r"alpha: expected loads \(real numbers\), got '0\.1'"),
    (lambda: hopfield.classify(M, retrieval_min="a"), TypeError,
     r"retrieval_min: expected a real number, got 'a'"),
    (lambda: hopfield.classify(M, retrieval_min=np.nan), ValueError,
     r"retrieval_min: expected a finite number, got nan"),
    (lambda: hopfield.classify(M, retrieval_min=0.0), ValueError,
     r"retrieval_min: expected a number in \(0, 1\], got 0\.0"),
    (lambda: hopfield.classify(M, mixture_range=(0.65, 0.35)), ValueError,
     r"mixture_range: expected \(lo, hi\) with 0 <= lo <= hi <= 1, got \(0\.65, 0\.35\)"),
    (lambda: hopfield.classify(M, mixture_range=0.5), TypeError,
     r"mixture_range: expected a pair \(lo, hi\), got 0\.5"),
    (lambda: hopfield.classify(M, mixture_range=(0.3, np.nan)), ValueError,
     r"mixture_range: expected a finite number, got nan"),
    (lambda: hopfield.classify(M, other_max=np.nan), ValueError,
     r"other_max: expected a finite number, got nan"),
    (lambda: hopfield.classify(M, other_max="x"), TypeError, r"other_max: expected a real number, got 'x'"),
    (lambda: hopfield.perfect_recall_scale(1), ValueError, r"n: expected finite network sizes >= 2, got 1\.0"),
    (lambda: hopfield.perfect_recall_scale(0), ValueError, r"n: expected finite network sizes >= 2, got 0\.0"),
    (lambda: hopfield.perfect_recall_scale([100, -5]), ValueError,
     r"n: expected finite network sizes >= 2, got -5\.0 at flat index 1"),
    (lambda: hopfield.mixture_state(XI, indices=3), TypeError, r"indices: expected a sequence.*got 3"),
    (lambda: hopfield.mixture_state(XI, indices=(0, 0, 0)), ValueError,
     r"indices: expected distinct pattern indices, got \(0, 0, 0\)"),
    (lambda: hopfield.mixture_state(XI, indices=(0, 1)), ValueError,
     r"indices: expected an odd number of pattern indices, got \(0, 1\)"),
    (lambda: hopfield.mixture_state(XI, signs=(1, 1)), ValueError,
     r"signs: expected one sign per index \(3\), got \(1, 1\)"),
    (lambda: hopfield.noisy_cue(np.zeros(0), 0.1), ValueError,
     r"pattern: expected at least one unit, got shape \(0,\)"),
])
def test_hopfield_refuses_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_hopfield_unchanged_for_valid_input():
    grid = [0.0, 0.05, 0.1, 0.2]
    flat = hopfield.rs_overlap(grid)
    np.testing.assert_array_equal(hopfield.rs_overlap([grid[:2], grid[2:]]), flat.reshape(2, 2))
    assert hopfield.rs_overlap([[0.1, 0.2]]).shape == (1, 2)
    assert flat[0] == 1.0 and flat[3] == 0.0 and 0.99 < flat[2] < 1.0
    assert hopfield.rs_overlap(0.05).shape == ()
    np.testing.assert_allclose(hopfield.perfect_recall_scale([2, 1000]),
                               [1 / math.log(2), 500 / math.log(1000)], rtol=1e-15)
    m = [[0.9, 0.1, 0, 0], [0.5, 0.5, 0.5, 0.1], [-0.9, 0, 0, 0], [0.3, 0.2, 0.1, 0]]
    np.testing.assert_array_equal(hopfield.classify(m), [0, 2, 1, 3])
    np.testing.assert_array_equal(hopfield.classify(m, mixture_range=np.array([0.4, 0.6])),
                                  [0, 2, 1, 3])
    mix = hopfield.mixture_state(XI, indices=[0, 1, 2], signs=np.array([1, -1, 1]))
    np.testing.assert_array_equal(mix, np.where(XI[0] - XI[1] + XI[2] > 0, 1, -1))


# ---------------------------------------------------------------------------
# 5. datasets
# ---------------------------------------------------------------------------

def _idx_bytes(arr):
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    return bytes([0, 0, 0x08, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()


@pytest.fixture
def no_download(tmp_path, monkeypatch):
    """Cache in tmp_path, no RRNN_DATA_DIR, and a download is a test failure."""
    def download(name):
        raise AssertionError(f"download of {name} attempted")
    monkeypatch.setattr(datasets, "_download", download)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("RRNN_DATA_DIR", raising=False)
    return tmp_path


@pytest.fixture
def fake(no_download, monkeypatch):
    """A tiny data set 'fake' (2 train images of 2x3) in no_download/fake."""
    folder = no_download / "fake"
    folder.mkdir()
    hashes = {}
    images = np.array([[[0, 200, 10], [255, 127, 128]], [[5, 6, 7], [250, 251, 252]]], np.uint8)
    for split in ("train", "test"):
        for stem, arr in zip(datasets._FILES[split], (images, np.array([3, 7], np.uint8))):
            raw = _idx_bytes(arr)
            hashes[stem] = hashlib.sha256(raw).hexdigest()
            with gzip.open(folder / f"{stem}.gz", "wb") as f:
                f.write(raw)
    monkeypatch.setitem(datasets.DATASETS, "fake", ("fake", (), hashes))
    return folder, images


def test_missing_explicit_data_dir_is_refused(no_download):
    missing = no_download / "typo"
    with pytest.raises(FileNotFoundError, match=rf"data_dir: folder '{re.escape(str(missing))}' does not exist"):
        datasets.load_mnist("train", data_dir=missing)


def test_missing_rrnn_data_dir_is_refused(no_download, monkeypatch):
    missing = no_download / "nowhere"
    monkeypatch.setenv("RRNN_DATA_DIR", str(missing))
    with pytest.raises(FileNotFoundError, match=rf"RRNN_DATA_DIR: folder '{re.escape(str(missing))}' does not exist"):
        datasets.load_mnist("train")


def test_data_dir_that_is_a_file_is_refused(no_download):
    path = no_download / "file.txt"
    path.write_text("x")
    with pytest.raises(NotADirectoryError, match=r"data_dir: expected a folder, got the file"):
        datasets.load_mnist("train", data_dir=path)


@pytest.mark.parametrize("flag", ["binary", "projected", "download"])
@pytest.mark.parametrize("value", ["no", 0, None])
def test_load_flags_must_be_bool(no_download, flag, value):
    (no_download / "empty").mkdir()
    with pytest.raises(TypeError, match=rf"{flag}: expected True or False, got {re.escape(repr(value))}"):
        datasets.load_mnist("train", data_dir=no_download / "empty", **{flag: value})


def test_load_accepts_numpy_bools(fake):
    folder, images = fake
    X, y = datasets.load("fake", "train", data_dir=folder, binary=np.False_, download=np.True_)
    np.testing.assert_array_equal(X, images.reshape(2, 6))
    Xb, _ = datasets.load("fake", "train", data_dir=folder, binary=np.bool_(True))
    np.testing.assert_array_equal(Xb, np.where(images.reshape(2, 6) > 127, 1, -1))
    np.testing.assert_array_equal(y, [3, 7])


@pytest.mark.parametrize("call,match", [
    (lambda: datasets.binarize(np.array([[np.nan, 1.0]])),
     r"images: expected finite values, got nan at \(sample, feature\) \(0, 0\)"),
    (lambda: datasets.random_projection(np.array([[1.0, np.nan]])),
     r"x: expected finite values in float32, got nan at \(sample, feature\) \(0, 1\)"),
    (lambda: datasets.random_projection(np.array([[1.0, 1e39]])),
     r"x: expected finite values in float32, got inf"),
    (lambda: datasets.grey_levels(np.array([[3.0, np.inf]])),
     r"images: expected finite values in float32, got inf at \(sample, feature\) \(0, 1\)"),
])
def test_image_helpers_refuse_non_finite(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_image_helpers_unchanged_for_valid_input():
    imgs = np.arange(24, dtype=np.uint8).reshape(2, 3, 4) * 10
    np.testing.assert_array_equal(datasets.binarize(imgs), np.where(imgs.reshape(2, -1) > 127, 1, -1))
    g = datasets.grey_levels(imgs)
    assert g.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(g, axis=1), math.sqrt(12), rtol=1e-6)
    x = datasets.binarize(imgs)
    proj = np.random.default_rng(7).standard_normal((12, 5)).astype(np.float32)
    np.testing.assert_array_equal(datasets.random_projection(x, dim=5, seed=7),
                                  np.where(x.astype(np.float32) @ proj >= 0, 1, -1))


def test_read_idx_reports_huge_sizes_without_overflow():
    dims = (2**32 - 1,) * 3
    data = bytes([0, 0, 0x08, 3]) + struct.pack(">3I", *dims)
    expected = (2**32 - 1) ** 3
    with pytest.raises(ValueError, match=rf"\({expected} bytes of data\), file has 0 bytes"):
        datasets.read_idx(data)
    with pytest.raises(TypeError, match=r"data: expected the bytes of an IDX file, got str"):
        datasets.read_idx("\x00\x00\x08\x01")


def test_bisect_draw_without_a_seed_uses_one_order_stream_for_every_round(monkeypatch):
    """seed=None draws entropy once: every round's async orders come from the same seed
    (before, each round drew fresh orders, so the two ends of a bracket disagreed)."""
    from rrnn import self_coupling as sc

    seen = []
    real = sc.simulate

    def recording(*args, **kwargs):
        seen.append(kwargs["seed"])
        return real(*args, **kwargs)

    monkeypatch.setattr(sc, "simulate", recording)
    J = rrnn.couplings.binary(40, seed=1, backend="numpy")
    sc.bisect_draw(J, sc.initial_states(40, 3, 2), update="async", tol=0.05, seed=None,
                   backend="numpy", max_steps=200)
    assert len(seen) >= 3
    assert all(isinstance(s, np.random.SeedSequence) and s.entropy == seen[0].entropy for s in seen)


def test_bisect_draw_gives_the_same_result_for_an_int_seed_and_its_seed_sequence():
    from rrnn import self_coupling as sc

    J = rrnn.couplings.binary(40, seed=1, backend="numpy")
    s0 = sc.initial_states(40, 3, 2)
    a = sc.bisect_draw(J, s0, update="async", tol=0.01, seed=5, backend="numpy", max_steps=200)
    b = sc.bisect_draw(J, s0, update="async", tol=0.01, seed=np.random.SeedSequence(5),
                       backend="numpy", max_steps=200)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
