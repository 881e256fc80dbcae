"""Backprop reference: a one-hidden-layer MLP trained on the same +-1 inputs.

Not part of rrnn (whose models learn by local rules only). The acceptance targets of
the MLCM issue are "backprop-MLP level"; this measures that level on the binarized
inputs the MLCM sees, in the same run, so the gap can be quoted against it.

Model: ``x -> ReLU(W1 x + b1) -> W2 h + b2 -> softmax``, He-initialised, trained by
Adam (beta 0.9 / 0.999) on the mean cross-entropy of batches, with the rate
cosine-annealed from ``learning_rate`` over ``epochs``. float32 throughout.
Optional regularisation, off by default: decoupled weight decay on W1 and W2 (AdamW:
``W <- W - lr weight_decay W`` after each step) and inverted dropout on the input and
the hidden units during training.
"""

from __future__ import annotations

import time

import numpy as np

from rrnn.perceptron import check_xy, encode, scheduled_rate, softmax


class BackpropMLP:
    """Same interface as :class:`rrnn.Perceptron` where the drivers use it:
    ``fit(X, y, validation_data)``, ``score`` and ``history_`` (train_accuracy,
    val_accuracy, seconds per epoch)."""

    def __init__(self, hidden=1000, learning_rate=1e-3, batch_size=100, epochs=20,
                 n_train_eval=10000, weight_decay=0.0, dropout=(0.0, 0.0), random_state=None):
        self.hidden = hidden
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.dropout = dropout          # (input, hidden) drop probabilities
        self.batch_size = batch_size
        self.epochs = epochs
        self.n_train_eval = n_train_eval
        self.random_state = random_state

    def _forward(self, X, rng=None):
        """``(x, h), logits``: the input and hidden activations that feed the two weight
        layers, and the logits. With ``rng`` (training) the dropout masks are applied."""
        drop_in, drop_hidden = self.dropout if rng is not None else (0.0, 0.0)
        if drop_in:
            X = X * _dropout_mask(rng, X.shape, drop_in)
        h = np.maximum(X @ self.params_[0] + self.params_[1], np.float32(0.0))
        if drop_hidden:
            h *= _dropout_mask(rng, h.shape, drop_hidden)
        return (X, h), h @ self.params_[2] + self.params_[3]

    def fit(self, X, y, validation_data=None):
        X, y = check_xy(X, y)
        self.classes_ = np.unique(y)
        yi = encode(y, self.classes_)
        seed = self.random_state if isinstance(self.random_state, np.random.SeedSequence) \
            else np.random.SeedSequence(self.random_state)
        rng = np.random.default_rng(seed)
        d, H, M = X.shape[1], self.hidden, len(self.classes_)
        self.params_ = [(rng.standard_normal((d, H)) * np.sqrt(2.0 / d)).astype(np.float32),
                        np.zeros(H, np.float32),
                        (rng.standard_normal((H, M)) * np.sqrt(1.0 / H)).astype(np.float32),
                        np.zeros(M, np.float32)]
        first = [np.zeros_like(p) for p in self.params_]
        second = [np.zeros_like(p) for p in self.params_]
        self.history_ = {"train_accuracy": [], "val_accuracy": [], "seconds": []}
        t = 0
        for epoch in range(self.epochs):
            t0 = time.perf_counter()
            lr = scheduled_rate(self.learning_rate, "cosine", epoch, self.epochs)
            order = rng.permutation(len(X))
            for a in range(0, len(X), self.batch_size):
                b = order[a:a + self.batch_size]
                (x, h), z = self._forward(X[b], rng)
                g = softmax(z)
                g[np.arange(len(b)), yi[b]] -= 1.0
                g /= np.float32(len(b))
                gh = (g @ self.params_[2].T) * (h > 0)
                grads = (x.T @ gh, gh.sum(0), h.T @ g, g.sum(0))
                t += 1
                step = lr * np.sqrt(1.0 - 0.999 ** t) / (1.0 - 0.9 ** t)   # bias corrections
                for p, m, v, gr in zip(self.params_, first, second, grads):
                    m *= np.float32(0.9)
                    m += np.float32(0.1) * gr
                    v *= np.float32(0.999)
                    v += np.float32(0.001) * gr * gr
                    p -= np.float32(step) * m / (np.sqrt(v) + np.float32(1e-8))
                if self.weight_decay:
                    for p in self.params_[::2]:         # W1 and W2, not the biases
                        p -= np.float32(lr * self.weight_decay) * p
            self.history_["seconds"].append(time.perf_counter() - t0)
            n_eval = min(self.n_train_eval, len(X))
            self.history_["train_accuracy"].append(self.score(X[:n_eval], y[:n_eval]) if n_eval else np.nan)
            self.history_["val_accuracy"].append(self.score(*validation_data) if validation_data else np.nan)
        return self

    def predict(self, X):
        X, _ = check_xy(X, None)
        return self.classes_[np.argmax(self._forward(X)[1], axis=1)]

    def score(self, X, y):
        return float(np.mean(self.predict(X) == np.asarray(y)))


def _dropout_mask(rng, shape, p):
    """Inverted dropout: 0 with probability p, else 1 / (1 - p); float32."""
    return (rng.random(shape, dtype=np.float32) >= p) * np.float32(1.0 / (1.0 - p))
