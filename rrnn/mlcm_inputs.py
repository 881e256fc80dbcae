"""Input weights of the first MLCM layer, for inputs wider than one-to-one links allow.

The thesis feeds the input one-to-one (``lambda_in x_i`` into unit i, zero-padded to N).
For reservoirs with more units than pixels, each unit instead sees a weighted sum of the
pixels: random +-1 weights (dense, sparse or inside one square window of the image), or
weights imprinted from the difference of two training images of different classes, as in
receptive-field extreme learning machines (McDonnell et al. 2015). Both are drawn once,
from the caller's generator, and never trained.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["random_input_weights", "imprinted_input_weights"]


def _window_mask(rng, n_units, n_features, patch):
    """(n_units, n_features) bool: one random ``patch x patch`` window of the square
    image per row."""
    side = math.isqrt(n_features)
    top, left = rng.integers(0, side - patch + 1, size=(2, n_units, 1))
    row, col = np.divmod(np.arange(n_features), side)
    return (row >= top) & (row < top + patch) & (col >= left) & (col < left + patch)


def random_input_weights(rng, n_units, n_features, density, patch):
    """Random +-1 input weights, scaled by 1/sqrt(expected non-zeros per row).

    Parameters
    ----------
    rng : numpy.random.Generator
    n_units, n_features : int
    density : float in (0, 1] or None
        Fraction of non-zero weights per row (None: all).
    patch : int or None
        Restrict each row to one random ``patch x patch`` window of the square image.

    Returns
    -------
    ndarray, shape (n_units, n_features), float32
    """
    p = 1.0 if density is None else density
    mask = rng.random((n_units, n_features)) < p
    signs = rng.choice(np.array([-1.0, 1.0], dtype=np.float32), size=(n_units, n_features))
    fan_in = p * n_features
    if patch is not None:
        mask &= _window_mask(rng, n_units, n_features, patch)
        fan_in = p * patch * patch
    return (mask * signs / np.sqrt(fan_in)).astype(np.float32)


def imprinted_input_weights(rng, n_units, X, yi, density, patch):
    """Input weights imprinted from the data, on the support of :func:`random_input_weights`.

    Row i is ``(x_a - x_b) / 2`` for two training samples a, b of different classes drawn
    at random, masked to the row's support (density, window) and scaled to unit norm;
    a row that vanishes on its support stays zero.

    Parameters
    ----------
    rng : numpy.random.Generator
    n_units : int
    X : ndarray, shape (n_samples, n_features)
        Training inputs (+-1).
    yi : ndarray, shape (n_samples,), int
        Class indices; at least two classes must occur.
    density, patch
        As in :func:`random_input_weights`.

    Returns
    -------
    ndarray, shape (n_units, n_features), float32
    """
    n_samples, n_features = X.shape
    p = 1.0 if density is None else density
    mask = rng.random((n_units, n_features)) < p
    if patch is not None:
        mask &= _window_mask(rng, n_units, n_features, patch)
    a = rng.integers(0, n_samples, n_units)
    b = rng.integers(0, n_samples, n_units)
    same = yi[a] == yi[b]
    while same.any():                # redraw the partners of same-class pairs
        b[same] = rng.integers(0, n_samples, int(same.sum()))
        same = yi[a] == yi[b]
    W = (X[a].astype(np.float32) - X[b].astype(np.float32)) * np.float32(0.5) * mask
    norm = np.sqrt(np.einsum("ij,ij->i", W, W, dtype=np.float64))
    W /= np.where(norm > 0, norm, 1.0).astype(np.float32)[:, None]
    return W
