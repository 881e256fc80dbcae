"""The reservoir ceiling of analysis/kernel_ceiling.py: the arc-sine kernel is the
infinite-width limit of sign features, and its ridge regression learns a nonlinear rule."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "analysis"))
from kernel_ceiling import arcsine_kernel, ridge_accuracy  # noqa: E402


def test_arcsine_kernel_is_the_mean_product_of_random_sign_features(rng):
    """(1/D) sum_k sign(w_k . x) sign(w_k . y) over D Gaussian w_k tends to the
    kernel; with D = 200,000 the Monte Carlo error is below 4 / sqrt(D) ~ 0.009."""
    d, D = 40, 200_000
    X = rng.choice([-1.0, 1.0], size=(6, d)).astype(np.float32)
    X[1, : d // 2] = X[0, : d // 2]           # one strongly overlapping pair
    A = X / np.float32(np.sqrt(d))
    F = np.sign(A @ rng.standard_normal((d, D)).astype(np.float32))
    monte_carlo = F @ F.T / D
    np.testing.assert_allclose(arcsine_kernel(X, X), monte_carlo, atol=4 / np.sqrt(D))
    np.testing.assert_allclose(np.diag(arcsine_kernel(X, X)), 1.0, atol=1e-6)
    # a bias b ~ N(0, 0.7^2) per feature: the augmented-input form of the same kernel
    b = 0.7 * rng.standard_normal(D).astype(np.float32)
    Fb = np.sign(A @ rng.standard_normal((d, D)).astype(np.float32) + b)
    np.testing.assert_allclose(arcsine_kernel(X, X, bias=0.7), Fb @ Fb.T / D, atol=4 / np.sqrt(D))
    np.testing.assert_array_equal(arcsine_kernel(X, X, block=2), arcsine_kernel(X, X))


def test_kernel_ridge_learns_parity_that_a_linear_readout_cannot(rng):
    """Label = x_0 x_1 x_2 on +-1 inputs: a linear readout is at chance on the 64
    patterns; the arc-sine kernel fits all of them from 300 samples. The even rule
    x_0 x_1 needs the bias: sign features without one are odd in x."""
    X = rng.choice([-1, 1], size=(300, 6)).astype(np.int8)
    grid = np.array(np.meshgrid(*[[-1, 1]] * 6)).reshape(6, -1).T.astype(np.int8)
    odd = lambda Z: (Z[:, 0] * Z[:, 1] * Z[:, 2] > 0).astype(np.int64)
    even = lambda Z: (Z[:, 0] * Z[:, 1] > 0).astype(np.int64)
    assert ridge_accuracy(X, odd(X), grid, odd(grid), ridge=0.01) == 1.0
    assert ridge_accuracy(X, even(X), grid, even(grid), ridge=0.01) == 0.5
    assert ridge_accuracy(X, even(X), grid, even(grid), ridge=0.01, bias=1.0) == 1.0
    # the same regression with the linear kernel x . y / d is at chance level
    A = X / np.sqrt(6)
    coef = np.linalg.solve(A @ A.T + 0.01 * np.eye(len(A)), np.eye(2)[odd(X)] - 0.5)
    linear = np.argmax((grid / np.sqrt(6)) @ A.T @ coef, axis=1)
    assert np.mean(linear == odd(grid)) <= 0.75
