"""The backprop MLP reference of analysis/ learns what a linear readout cannot."""

import sys
from pathlib import Path

import numpy as np

from rrnn.perceptron import Perceptron

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "analysis"))
from _mlp import BackpropMLP  # noqa: E402


def test_mlp_learns_parity_that_the_perceptron_cannot(rng):
    """Label = x_0 * x_1 on +-1 inputs (XOR): no linear readout beats chance by much,
    one hidden layer fits it."""
    X = rng.choice([-1, 1], size=(400, 6)).astype(np.int8)
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    mlp = BackpropMLP(hidden=32, learning_rate=0.01, batch_size=20, epochs=40,
                      random_state=0).fit(X, y, validation_data=(X, y))
    sln = Perceptron(learning_rate=0.1, batch_size=20, epochs=40, random_state=0).fit(X, y)
    assert mlp.score(X, y) == 1.0
    assert sln.score(X, y) < 0.75
    assert len(mlp.history_["val_accuracy"]) == 40
    again = BackpropMLP(hidden=32, learning_rate=0.01, batch_size=20, epochs=40,
                        random_state=0).fit(X, y)
    np.testing.assert_array_equal(again.params_[0], mlp.params_[0])


def test_mlp_regularisation_shrinks_weights_and_still_fits(rng):
    """Decoupled weight decay gives smaller first-layer weights than the same run
    without it; with hidden dropout as well, the XOR task is still fitted exactly."""
    X = rng.choice([-1, 1], size=(400, 6)).astype(np.int8)
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    kw = dict(hidden=32, learning_rate=0.01, batch_size=20, epochs=40, random_state=0)
    plain = BackpropMLP(**kw).fit(X, y)
    decayed = BackpropMLP(weight_decay=0.5, dropout=(0.0, 0.1), **kw).fit(X, y)
    assert decayed.score(X, y) == 1.0
    assert np.linalg.norm(decayed.params_[0]) < 0.9 * np.linalg.norm(plain.params_[0])


def test_dropout_mask_statistics():
    """Inverted dropout: a fraction p of zeros, the rest 1 / (1 - p), mean 1."""
    from _mlp import _dropout_mask
    mask = _dropout_mask(np.random.default_rng(1), (400, 500), 0.3)
    assert mask.dtype == np.float32
    assert set(np.unique(mask)) == {0.0, np.float32(1 / 0.7)}
    assert abs(np.mean(mask == 0) - 0.3) < 0.005
    assert abs(mask.mean() - 1.0) < 0.01
