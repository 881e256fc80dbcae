"""MNIST and Fashion-MNIST: IDX readers, checksums, binarisation, projection.

The loaders look for the four standard gzip IDX files of a data set in, in order:

1. the ``data_dir`` argument,
2. the ``RRNN_DATA_DIR`` environment variable,
3. the user cache ``~/.cache/rrnn`` (``$XDG_CACHE_HOME/rrnn``).

Either folder may hold the files directly or in a sub-folder named after the data
set (``mnist/`` or ``fashion-mnist/``). When no folder has them, the files are
downloaded into the cache; offline, an error says where to put them. Every file
is verified against the SHA-256 of its *decompressed* bytes (the gzip wrappers
differ between mirrors; the payload does not).

Examples
--------
>>> X, y = load_mnist("train")                      # doctest: +SKIP
>>> X.shape, X.dtype, y.dtype
((60000, 784), dtype('int8'), dtype('int64'))
>>> Xp, _ = load_mnist("test", projected=True)       # 100 dimensions, +-1
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import shutil
import struct
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

from . import memory
from ._validation import check_int, check_real

__all__ = ["load_mnist", "load_fashion_mnist", "load", "read_idx", "binarize", "grey_levels", "pad",
           "random_projection", "DataUnavailableError", "DATASETS"]

_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

#: name -> (sub-folder, download mirrors, SHA-256 of the decompressed files)
DATASETS = {
    "mnist": ("mnist", (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ), {
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    }),
    "fashion-mnist": ("fashion-mnist", (
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ), {
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    }),
}

#: Seed of the fixed projection of the "projected" variants (same for train and test).
PROJECTION_SEED = 20240601
PROJECTION_DIM = 100

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class DataUnavailableError(FileNotFoundError):
    """The data files are neither on disk nor downloadable."""


def read_idx(data: bytes, name: str = "IDX data") -> np.ndarray:
    """Parse the bytes of one (decompressed) IDX file.

    Parameters
    ----------
    data : bytes
        The whole file: magic ``00 00 <dtype> <ndim>``, ``ndim`` big-endian uint32
        sizes, then the values in C order.
    name : str
        Used in error messages.

    Returns
    -------
    numpy.ndarray
        Shape given by the header; uint8 for MNIST files.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data: expected the bytes of an IDX file, got {type(data).__name__}")
    data = bytes(data) if isinstance(data, memoryview) else data
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{name}: not an IDX file (bad magic number {data[:4]!r})")
    code, ndim = data[2], data[3]
    if code not in _IDX_DTYPES:
        raise ValueError(f"{name}: unknown IDX element type 0x{code:02x}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{name}: truncated IDX header")
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype = np.dtype(_IDX_DTYPES[code])
    expected = math.prod(shape) * dtype.itemsize      # Python ints: no overflow
    if len(data) - header != expected:
        raise ValueError(f"{name}: IDX header says shape {shape} ({expected} bytes of data), "
                         f"file has {len(data) - header} bytes after the header")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rrnn"


def _explicit_dir(data_dir) -> tuple[Path, str] | None:
    """The folder the user named (``data_dir``, else ``RRNN_DATA_DIR``) and where it came from."""
    if data_dir is not None:
        return Path(data_dir), "data_dir"
    if os.environ.get("RRNN_DATA_DIR"):
        return Path(os.environ["RRNN_DATA_DIR"]), "RRNN_DATA_DIR"
    return None


def _check_explicit_dir(data_dir) -> None:
    """An explicitly named folder must exist: a typo must not fall back to the cache
    or a download."""
    explicit = _explicit_dir(data_dir)
    if explicit is None:
        return
    folder, source = explicit
    if not folder.exists():
        raise DataUnavailableError(
            f"{source}: folder {str(folder)!r} does not exist; expected a folder holding the "
            f"gzip IDX files (or a sub-folder of them named after the data set). Pass "
            f"data_dir=<folder> or set RRNN_DATA_DIR=<folder> (in the rrnn development "
            f"checkout they are in ../shared/data)")
    if not folder.is_dir():
        raise NotADirectoryError(f"{source}: expected a folder, got the file {str(folder)!r}")


def _candidates(data_dir, sub: str) -> list[Path]:
    dirs = []
    explicit = _explicit_dir(data_dir)
    if explicit is not None:
        dirs.append(explicit[0])
    dirs.append(_cache_dir())
    out = []
    for d in dirs:
        out += [d / sub, d]
    return out


def _locate(name: str, data_dir) -> Path | None:
    sub = DATASETS[name][0]
    for folder in _candidates(data_dir, sub):
        if all((folder / f"{stem}.gz").is_file() for pair in _FILES.values() for stem in pair):
            return folder
    return None


def _download(name: str) -> Path:
    sub, mirrors, _ = DATASETS[name]
    target = _cache_dir() / sub
    target.mkdir(parents=True, exist_ok=True)
    errors = []
    for stem in (s for pair in _FILES.values() for s in pair):
        dest = target / f"{stem}.gz"
        if dest.is_file():
            continue
        for mirror in mirrors:
            try:
                with urllib.request.urlopen(mirror + stem + ".gz", timeout=30) as r, \
                        tempfile.NamedTemporaryFile(dir=target, delete=False) as tmp:
                    shutil.copyfileobj(r, tmp)
                os.replace(tmp.name, dest)
                break
            except (urllib.error.URLError, OSError, TimeoutError) as exc:
                errors.append(f"{mirror}{stem}.gz: {exc}")
        else:
            raise DataUnavailableError(
                f"{name}: the data files are not on disk and could not be downloaded "
                f"({'; '.join(errors[-2:])}). Put the four files "
                f"{', '.join(s + '.gz' for p in _FILES.values() for s in p)} in a folder and pass "
                f"data_dir=<folder> or set RRNN_DATA_DIR=<folder> (in the rrnn development "
                f"checkout they are in ../shared/data/{sub}); or copy them to {target}")
    return target


def _read_verified(path: Path, name: str, stem: str) -> np.ndarray:
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as exc:
        raise ValueError(f"{name}: cannot decompress {path} ({exc}); the file is damaged, "
                         f"delete it and fetch it again") from exc
    expected = DATASETS[name][2].get(stem)
    digest = hashlib.sha256(data).hexdigest()
    if expected is not None and digest != expected:
        raise ValueError(f"{name}: SHA-256 mismatch for {path}: got {digest}, expected {expected}; "
                         f"the file is damaged or not the original {stem}")
    return read_idx(data, str(path))


def _check_flag(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected True or False, got {value!r} of type "
                        f"{type(value).__name__}")
    return bool(value)


def _check_images(images, name: str, dtype=None) -> np.ndarray:
    """Real finite samples (n, ...) flattened to (n, d), cast to ``dtype`` when given
    (checked after the cast, so values that overflow it are refused too)."""
    arr = np.asarray(images)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.integer)
                                   or np.issubdtype(arr.dtype, np.floating) or arr.dtype == bool):
        raise TypeError(f"{name}: expected a numeric array, got dtype {arr.dtype}")
    if arr.ndim < 1:
        raise ValueError(f"{name}: expected an array of samples (n, ...), got a scalar")
    flat = arr.reshape(len(arr), -1)
    if dtype is not None:
        with np.errstate(over="ignore"):
            flat = flat.astype(dtype)
    if np.issubdtype(arr.dtype, np.floating):         # integers are finite in any float
        bad = np.argwhere(~np.isfinite(flat))
        if bad.size:
            where = tuple(int(k) for k in bad[0])
            raise ValueError(f"{name}: expected finite values{' in ' + np.dtype(dtype).name if dtype else ''}, "
                             f"got {flat[where]} at (sample, feature) {where}")
    return flat


def binarize(images: np.ndarray, threshold: int = 127) -> np.ndarray:
    """Grey levels to +-1: ``+1`` where ``pixel > threshold``.

    Parameters
    ----------
    images : ndarray, shape (n, ...), uint8
        Real values, finite (NaN or inf is refused).
    threshold : float

    Returns
    -------
    ndarray, shape (n, prod(...)), int8 in {-1, +1}
    """
    threshold = check_real(threshold, "threshold")
    flat = _check_images(images, "images")
    return np.where(flat > threshold, 1, -1).astype(np.int8)


def grey_levels(images: np.ndarray) -> np.ndarray:
    """Grey levels as real inputs, each image scaled to the norm of a +-1 image.

    Each row is scaled so that its norm is ``sqrt(d)``, the norm of every +-1 image of
    ``d`` pixels: random input weights scaled for +-1 inputs (:mod:`rrnn.mlcm_inputs`)
    then give fields of the same scale. Only the direction of each image is kept (so no
    division by 255 is needed), which is all that sign units ``sign(w . x)`` see. An
    all-black image stays zero.

    Parameters
    ----------
    images : ndarray, shape (n, ...), uint8
        Real values, finite also as float32 (NaN or inf is refused).

    Returns
    -------
    ndarray, shape (n, d = prod(...)), float32, non-negative
    """
    flat = _check_images(images, "images", np.float32)
    norm = np.linalg.norm(flat, axis=1, keepdims=True)
    return flat * (np.float32(np.sqrt(flat.shape[1])) / np.where(norm > 0, norm, np.float32(1)))


def pad(x: np.ndarray, n: int) -> np.ndarray:
    """Zero-pad the columns of ``x`` (shape (samples, d), d <= n) to ``n``."""
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"x: expected a 2-d array (samples, features), got shape {x.shape}")
    n = check_int(n, "n")
    if n < x.shape[1]:
        raise ValueError(f"n: expected an int >= the input dimension {x.shape[1]}, got {n}")
    memory.require(x.shape[0] * n * x.dtype.itemsize, f"pad(samples={x.shape[0]}, n={n})")
    out = np.zeros((x.shape[0], n), dtype=x.dtype)
    out[:, :x.shape[1]] = x
    return out


def random_projection(x: np.ndarray, dim: int = PROJECTION_DIM, seed=PROJECTION_SEED) -> np.ndarray:
    """A fixed random linear projection to ``dim`` dimensions, then the sign.

    ``sign(x @ P)`` with ``P`` Gaussian of shape (d, dim), drawn from ``seed``; a zero
    projection counts as ``+1``. The thesis (7.1.1) only requires that the projection is
    fixed; the sign keeps the inputs binary as in the rest of chapter 7.

    Parameters
    ----------
    x : ndarray, shape (n, d), +-1
        Real values, finite also as float32 (NaN or inf is refused).
    dim : int
    seed : int or numpy.random.SeedSequence

    Returns
    -------
    ndarray, shape (n, dim), int8 in {-1, +1}
    """
    if np.ndim(x) != 2:
        raise ValueError(f"x: expected a 2-d array (samples, features), got shape {np.shape(x)}")
    x = _check_images(x, "x", np.float32)
    dim = check_int(dim, "dim", minimum=1)
    # the projection matrix (float64 draw, float32 copy), the products, the result
    memory.require(12 * x.shape[1] * dim + 5 * x.shape[0] * dim,
                   f"random_projection(d={x.shape[1]}, dim={dim})")
    rng = np.random.default_rng(seed)
    proj = rng.standard_normal((x.shape[1], dim)).astype(np.float32)
    return np.where(x @ proj >= 0, 1, -1).astype(np.int8)


def load(name: str, split: str = "train", data_dir=None, *, binary: bool = True,
         projected: bool = False, n: int | None = None, download: bool = True):
    """Load one split of a data set.

    Parameters
    ----------
    name : {"mnist", "fashion-mnist"}
    split : {"train", "test"}
    data_dir : str or Path, optional
        Folder holding the gzip IDX files (or a ``<name>/`` sub-folder of them).
        Default: ``RRNN_DATA_DIR``, then the cache. A folder named here or in
        ``RRNN_DATA_DIR`` must exist (else :class:`DataUnavailableError`, a
        ``FileNotFoundError``); when it lacks the files the cache is tried next.
    binary : bool
        ``True``: +-1 pixels (pixel > 127), int8. ``False``: raw uint8 grey levels.
    projected : bool
        Apply the fixed random projection to 100 dimensions (implies ``binary``).
    n : int, optional
        Zero-pad the features to ``n`` (the MLCM layer size).
    download : bool
        Download into the cache when the files are missing.

    ``binary``, ``projected`` and ``download`` must be ``bool`` (numpy bools too):
    a string such as ``"no"`` is refused rather than read as true.

    Returns
    -------
    X : ndarray, shape (samples, features)
        int8 (+-1, 0 in the padding) or uint8 grey levels.
    y : ndarray, shape (samples,), int64
        Labels 0..9.
    """
    if not isinstance(name, str) or name not in DATASETS:
        raise ValueError(f"name: expected one of {', '.join(map(repr, DATASETS))}, got {name!r}")
    if not isinstance(split, str) or split not in _FILES:
        raise ValueError(f"split: expected 'train' or 'test', got {split!r}")
    if data_dir is not None and not isinstance(data_dir, (str, os.PathLike)):
        raise TypeError(f"data_dir: expected a folder (str or Path), got {data_dir!r}")
    binary = _check_flag(binary, "binary")
    projected = _check_flag(projected, "projected")
    download = _check_flag(download, "download")
    if n is not None:
        n = check_int(n, "n", minimum=1)
    _check_explicit_dir(data_dir)
    folder = _locate(name, data_dir)
    if folder is None:
        if not download:
            raise DataUnavailableError(
                f"{name}: files not found in {', '.join(map(str, _candidates(data_dir, DATASETS[name][0])))}; "
                f"pass data_dir=<folder> or set RRNN_DATA_DIR (in the rrnn development checkout "
                f"the files are in ../shared/data)")
        folder = _download(name)
    img_stem, lab_stem = _FILES[split]
    images = _read_verified(folder / f"{img_stem}.gz", name, img_stem)
    labels = _read_verified(folder / f"{lab_stem}.gz", name, lab_stem)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(f"{name}: images of shape {images.shape} do not match labels of shape "
                         f"{labels.shape}")
    y = labels.astype(np.int64)
    if projected:
        X = random_projection(binarize(images))
    elif binary:
        X = binarize(images)
    else:
        X = images.reshape(len(images), -1)
    if n is not None:
        X = pad(X, n)
    return X, y


def load_mnist(split: str = "train", data_dir=None, **kwargs):
    """MNIST digits; see :func:`load` for the arguments and return values."""
    return load("mnist", split, data_dir, **kwargs)


def load_fashion_mnist(split: str = "train", data_dir=None, **kwargs):
    """Fashion-MNIST clothing images; see :func:`load` for the arguments and return values."""
    return load("fashion-mnist", split, data_dir, **kwargs)
