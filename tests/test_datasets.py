"""Data loaders: IDX parsing on synthetic files, checksums, errors, and the real files."""

import gzip
import hashlib
import os
import struct
from pathlib import Path

import numpy as np
import pytest

from rrnn import datasets

# The real data: RRNN_DATA_DIR if set, else ../shared/data beside the repository (as in CI).
SHARED = Path(os.environ.get("RRNN_DATA_DIR")
              or Path(__file__).resolve().parents[1].parent / "shared" / "data")


def _idx_bytes(arr: np.ndarray) -> bytes:
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    return bytes([0, 0, 0x08, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()


@pytest.fixture
def fake_dataset(tmp_path, monkeypatch, rng):
    """A tiny data set named 'fake' in tmp_path/fake, registered with its own checksums."""
    folder = tmp_path / "fake"
    folder.mkdir()
    arrays = {}
    hashes = {}
    for split, n in (("train", 7), ("test", 3)):
        img_stem, lab_stem = datasets._FILES[split]
        images = rng.integers(0, 256, size=(n, 4, 5), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        arrays[split] = (images, labels)
        for stem, arr in ((img_stem, images), (lab_stem, labels)):
            raw = _idx_bytes(arr)
            hashes[stem] = hashlib.sha256(raw).hexdigest()
            with gzip.open(folder / f"{stem}.gz", "wb") as f:
                f.write(raw)
    monkeypatch.setitem(datasets.DATASETS, "fake", ("fake", (), hashes))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("RRNN_DATA_DIR", raising=False)
    return tmp_path, folder, arrays


def test_read_idx_roundtrip(rng):
    arr = rng.integers(0, 256, size=(3, 2, 4), dtype=np.uint8)
    np.testing.assert_array_equal(datasets.read_idx(_idx_bytes(arr)), arr)


@pytest.mark.parametrize("data,match", [
    (b"\x01\x00\x08\x01", "magic"),
    (b"\x00\x00\x07\x01\x00\x00\x00\x01\x05", "element type"),
    (b"\x00\x00\x08\x02\x00\x00\x00\x02", "truncated"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x03\x01\x02", "3 bytes"),
])
def test_read_idx_rejects_bad_files(data, match):
    with pytest.raises(ValueError, match=match):
        datasets.read_idx(data)


def test_load_synthetic_from_data_dir(fake_dataset):
    root, folder, arrays = fake_dataset
    for d in (root, folder):                      # the folder itself or its parent
        X, y = datasets.load("fake", "train", data_dir=d, binary=False)
        images, labels = arrays["train"]
        np.testing.assert_array_equal(X, images.reshape(7, 20))
        np.testing.assert_array_equal(y, labels)
        assert y.dtype == np.int64


def test_load_synthetic_from_environment(fake_dataset, monkeypatch):
    root, _, arrays = fake_dataset
    monkeypatch.setenv("RRNN_DATA_DIR", str(root))
    X, y = datasets.load("fake", "test")
    images, _ = arrays["test"]
    np.testing.assert_array_equal(X, np.where(images.reshape(3, -1) > 127, 1, -1))
    assert X.dtype == np.int8


def test_binarize_pad_and_projection(fake_dataset):
    root, _, arrays = fake_dataset
    X, _ = datasets.load("fake", "train", data_dir=root, n=32)
    assert X.shape == (7, 32) and np.all(X[:, 20:] == 0) and set(np.unique(X[:, :20])) <= {-1, 1}
    P1, _ = datasets.load("fake", "train", data_dir=root, projected=True)
    P2, _ = datasets.load("fake", "train", data_dir=root, projected=True)
    assert P1.shape == (7, 100) and set(np.unique(P1)) <= {-1, 1}
    np.testing.assert_array_equal(P1, P2)         # the projection is fixed
    with pytest.raises(ValueError, match="n: expected an int >= the input dimension 20"):
        datasets.pad(X[:, :20], 10)


def test_checksum_mismatch_is_reported(fake_dataset, monkeypatch):
    root, folder, _ = fake_dataset
    hashes = dict(datasets.DATASETS["fake"][2])
    hashes["train-images-idx3-ubyte"] = "0" * 64
    monkeypatch.setitem(datasets.DATASETS, "fake", ("fake", (), hashes))
    with pytest.raises(ValueError, match="SHA-256 mismatch"):
        datasets.load("fake", "train", data_dir=root)


def test_damaged_gzip_is_reported(fake_dataset):
    root, folder, _ = fake_dataset
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(b"not gzip")
    with pytest.raises(ValueError, match="cannot decompress"):
        datasets.load("fake", "test", data_dir=root)


def test_missing_files_offline_say_where_to_put_them(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(datasets.DataUnavailableError, match="RRNN_DATA_DIR.*shared/data"):
        datasets.load_mnist("train", data_dir=tmp_path / "empty", download=False)


def test_bad_arguments():
    with pytest.raises(ValueError, match="split: expected 'train' or 'test', got 'valid'"):
        datasets.load_mnist("valid")
    with pytest.raises(ValueError, match="name: expected one of"):
        datasets.load("cifar")
    with pytest.raises(ValueError, match=r"split: expected 'train' or 'test', got \['train'\]"):
        datasets.load_mnist(["train"])
    with pytest.raises(TypeError, match="data_dir: expected a folder"):
        datasets.load_mnist(data_dir=5)
    with pytest.raises(TypeError, match="n: expected an int, got 1000.0"):
        datasets.load_mnist(n=1000.0)
    with pytest.raises(TypeError, match="threshold: expected a real number, got 'a'"):
        datasets.binarize(np.zeros((2, 3)), "a")
    with pytest.raises(ValueError, match="dim: expected an int >= 1, got -1"):
        datasets.random_projection(np.ones((2, 3)), dim=-1)
    with pytest.raises(ValueError, match="n: expected an int >= the input dimension 3, got 2"):
        datasets.pad(np.ones((2, 3)), 2)
    # refused with the estimate, not by numpy's allocator
    with pytest.raises(MemoryError, match=r"random_projection\(d=3, dim=1000000000000\) needs about"):
        datasets.random_projection(np.ones((2, 3)), dim=10**12)
    with pytest.raises(MemoryError, match=r"pad\(samples=2, n=1000000000000\) needs about"):
        datasets.pad(np.ones((2, 3)), 10**12)


real = pytest.mark.skipif(not (SHARED / "mnist").is_dir(),
                          reason=f"real data not found at {SHARED} (set RRNN_DATA_DIR to run)")


@real
def test_real_mnist_label_counts():
    _, y = datasets.load_mnist("train", data_dir=SHARED)
    np.testing.assert_array_equal(np.bincount(y),
                                  [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])
    X, y = datasets.load_mnist("test", data_dir=SHARED, n=1000)
    assert X.shape == (10000, 1000) and X.dtype == np.int8
    np.testing.assert_array_equal(np.bincount(y), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])


@real
def test_real_fashion_mnist_projected():
    X, y = datasets.load_fashion_mnist("test", data_dir=SHARED, projected=True)
    assert X.shape == (10000, 100) and set(np.unique(X)) == {-1, 1}
    assert np.all(np.bincount(y) == 1000)


def test_grey_levels_keep_each_image_direction_at_the_norm_of_a_pm1_image(rng):
    """Each row is pixel / 255 times a positive factor (cosine 1 with the raw image) and
    has norm sqrt(d), as every +-1 image of d pixels has; a black image stays zero."""
    images = rng.integers(0, 256, size=(5, 4, 7), dtype=np.uint8)
    images[2] = 0
    X = datasets.grey_levels(images)
    assert X.dtype == np.float32 and X.shape == (5, 28)
    raw = images.reshape(5, -1).astype(np.float64)
    for i in (0, 1, 3, 4):
        np.testing.assert_allclose(np.linalg.norm(X[i]), np.sqrt(28), rtol=1e-6)
        cos = X[i] @ raw[i] / (np.linalg.norm(X[i]) * np.linalg.norm(raw[i]))
        assert cos == pytest.approx(1.0, abs=1e-6)
    assert not X[2].any()
