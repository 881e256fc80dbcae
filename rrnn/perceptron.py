"""Single-layer network (SLN) baseline and the readout rules shared with the MLCM.

The readout of an MLCM and the SLN learn with the same two rules:

* ``"cross_entropy"``: softmax of ``W s``, gradient of the cross-entropy averaged over
  the batch, ``W -= lr * mean_b (p_b - y_b) s_b^T`` (Algorithm 3, lines 10-14);
* ``"perceptron"``: the multi-class margin perceptron: for every sample whose score
  margin ``(W s)_y - max_{k != y} (W s)_k`` is ``<= margin``, ``W_y += lr s`` and
  ``W_k* -= lr s`` (k* the best wrong class).

Both use a rate per epoch from a schedule (:func:`scheduled_rate`): constant, as in the
thesis, or cosine-annealed to zero over the training epochs.
"""

from __future__ import annotations

import contextlib
import json
import time

import h5py
import numpy as np

from ._validation import check_int, check_option, check_real
from .storage import new_file, open_for_reading

__all__ = ["Perceptron"]

READOUTS = ("cross_entropy", "perceptron")
SCHEDULES = ("constant", "cosine")


def scheduled_rate(lr: float, schedule: str, epoch: int, epochs: int) -> float:
    """Learning rate of epoch ``epoch`` (0-based) out of ``epochs``.

    "constant": ``lr``. "cosine": ``lr (1 + cos(pi e / epochs)) / 2``, from ``lr`` in the
    first epoch down to about ``lr (pi / epochs)^2 / 4`` in the last; epochs past
    ``epochs`` (more ``partial_fit`` calls) keep the last epoch's rate.
    """
    if schedule == "constant":
        return lr
    e = min(epoch, epochs - 1)
    return lr * 0.5 * (1.0 + np.cos(np.pi * e / epochs))


def check_schedule(value, name: str) -> str:
    return check_option(value, name, SCHEDULES)


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def readout_step(W: np.ndarray, s: np.ndarray, y: np.ndarray, rule: str, lr: float,
                 margin: float) -> None:
    """One update of the readout ``W`` (M, D) float32 in place on states ``s`` (B, D), labels
    ``y`` (B,) int64 (class indices)."""
    logits = s @ W.T
    B = len(y)
    if rule == "cross_entropy":
        p = softmax(logits.astype(np.float64))
        p[np.arange(B), y] -= 1.0
        W -= (np.float32(lr / B) * (p.astype(np.float32).T @ s)).astype(np.float32)
    else:
        true = logits[np.arange(B), y]
        other = logits.copy()
        other[np.arange(B), y] = -np.inf
        wrong = other.argmax(axis=1)
        bad = (true - other[np.arange(B), wrong]) <= margin
        if bad.any():
            np.add.at(W, y[bad], np.float32(lr) * s[bad])
            np.add.at(W, wrong[bad], -np.float32(lr) * s[bad])


def check_xy(X, y, n_features: int | None = None, classes=None, name_x="X", name_y="y"):
    """Validate inputs: X (n, d) finite reals, y (n,) labels. Returns float32 X and y."""
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"{name_x}: expected a 2-d array (samples, features), got shape {X.shape}")
    if not (np.issubdtype(X.dtype, np.integer) or np.issubdtype(X.dtype, np.floating)
            or X.dtype == bool):
        raise TypeError(f"{name_x}: expected real numbers, got dtype {X.dtype}")
    if X.shape[0] == 0:
        raise ValueError(f"{name_x}: expected at least one sample, got shape {X.shape}")
    if X.shape[1] == 0:
        raise ValueError(f"{name_x}: expected at least one feature, got shape {X.shape}")
    with np.errstate(over="ignore"):
        Xf = np.ascontiguousarray(X, dtype=np.float32)
    if not np.all(np.isfinite(Xf)):
        if np.all(np.isfinite(X)):
            raise ValueError(f"{name_x}: values must fit float32 (|x| below about 3.4e38)")
        raise ValueError(f"{name_x}: values must be finite (found NaN or inf)")
    if n_features is not None and Xf.shape[1] != n_features:
        raise ValueError(f"{name_x}: expected {n_features} features (as in fit), got {Xf.shape[1]}")
    if y is None:
        return Xf, None
    y = check_labels(y, name_y)
    if y.ndim != 1 or len(y) != len(Xf):
        raise ValueError(f"{name_y}: expected shape ({len(Xf)},) to match {name_x}, got {y.shape}")
    if classes is not None:
        bad = ~np.isin(y, classes)
        if bad.any():
            raise ValueError(f"{name_y}: label {y[bad][0].tolist()!r} is not one of the classes "
                             f"{list(np.asarray(classes).tolist())}")
    return Xf, y


def check_labels(y, name="y") -> np.ndarray:
    """Class labels as an array of integers, booleans, reals or strings: a list of
    Python strings becomes a str array; NaN (which equals no label, itself included)
    and other objects are refused."""
    y = np.asarray(y)
    if y.dtype == object:
        try:
            y = np.asarray(y.tolist())
        except ValueError:
            pass
    if y.dtype.kind not in "biufUS":
        raise TypeError(f"{name}: expected integer, real or string labels, got dtype {y.dtype}")
    if y.dtype.kind == "f" and np.isnan(y).any():
        raise ValueError(f"{name}: labels must not be NaN (found at index {int(np.argmax(np.isnan(y)))})")
    return y


def check_classes(classes, name="classes") -> np.ndarray:
    """The sorted distinct classes of a training run: at least two."""
    classes = np.unique(check_labels(classes, name))
    if len(classes) < 2:
        raise ValueError(f"{name}: expected at least 2 classes to learn, got {classes.tolist()!r}")
    return classes


def _check_validation_data(validation_data, n_features: int, classes):
    """``None`` or a pair (X_val, y_val) checked like the training data, with its
    width and classes; returns the checked pair (or None)."""
    if validation_data is None:
        return None
    try:
        Xv, yv = validation_data
    except (TypeError, ValueError):
        raise TypeError("validation_data: expected a pair (X_val, y_val)") from None
    return check_xy(Xv, yv, n_features, classes, "X_val", "y_val")


def check_training_data(X, y, validation_data, classes=None, fitted=None):
    """The data of a ``fit`` or ``partial_fit`` call, all checked before the model
    changes.

    Parameters
    ----------
    X, y, validation_data : as in ``fit``
    classes : array_like or None
        Classes declared on a first ``partial_fit`` call (None: those of ``y``).
    fitted : (n_features, classes) or None
        Of a model already initialised (then ``classes`` is ignored).

    Returns
    -------
    X : ndarray (n, d) float32
    y : ndarray (n,)
    classes : ndarray
    validation : (X_val, y_val) or None
    """
    if y is None:
        raise TypeError("y: expected class labels of shape (n_samples,), got None")
    if fitted is None:
        n_features, classes = None, (None if classes is None else check_classes(classes))
    else:
        n_features, classes = fitted
    X, y = check_xy(X, y, n_features, classes)
    if classes is None:
        classes = check_classes(y, "y")
    return X, y, classes, _check_validation_data(validation_data, X.shape[1], classes)


def accuracy(predicted: np.ndarray, y) -> float:
    """Fraction of ``predicted`` labels equal to ``y`` (checked labels of the same shape)."""
    y = check_labels(y)
    if y.shape != predicted.shape:
        raise ValueError(f"y: expected shape {predicted.shape} to match X, got {y.shape}")
    return float(np.mean(predicted == y))


def write_classes(f, classes: np.ndarray) -> None:
    """``classes`` as the dataset ``classes`` of the open HDF5 file ``f``; str labels
    as UTF-8 strings (HDF5 has no numpy unicode type), marked so that they load as str."""
    if classes.dtype.kind == "U":
        f.create_dataset("classes", data=classes.astype(object), dtype=h5py.string_dtype())
        f["classes"].attrs["str"] = True
    else:
        f["classes"] = classes


def read_classes(f) -> np.ndarray:
    """The classes written by :func:`write_classes`."""
    ds = f["classes"]
    if ds.attrs.get("str", False):
        return np.asarray(ds.asstr()[()].tolist())
    return ds[()]


@contextlib.contextmanager
def incomplete_file_refused(path, kind: str):
    """Turn a missing attribute or dataset of a model file into a clear error."""
    try:
        yield
    except KeyError as exc:
        raise ValueError(f"{path}: an incomplete {kind} file (missing {exc})") from None


def encode(y: np.ndarray, classes: np.ndarray) -> np.ndarray:
    return np.searchsorted(classes, y).astype(np.int64)


class Perceptron:
    """Single-layer network: a linear readout trained directly on the inputs.

    The baseline of thesis 7.1 ("a simple single-layer perceptron trained directly on
    the raw input vectors, using the same number of training epochs and analogous
    learning rules"): the MLCM readout rule applied to ``x`` instead of ``s^L``.

    Parameters
    ----------
    rule : {"cross_entropy", "perceptron"}
    learning_rate : float > 0
    lr_schedule : {"constant", "cosine"}
        Rate per epoch (:func:`scheduled_rate`); "constant" is the thesis's.
    margin : float >= 0
        Margin of the perceptron rule (ignored by cross-entropy).
    batch_size : int >= 1
    epochs : int >= 1
    n_train_eval : int >= 0
        Training accuracy per epoch is measured on this many training samples.
    random_state : int, numpy.random.SeedSequence or None
        Shuffling of the samples in each epoch.

    Attributes
    ----------
    coef_ : ndarray (n_classes, n_features) float32
    classes_ : ndarray (n_classes,)
    history_ : dict of lists, one entry per epoch (train_accuracy, val_accuracy, seconds)
    """

    def __init__(self, rule="cross_entropy", learning_rate=0.01, margin=0.0, batch_size=100,
                 epochs=20, n_train_eval=10000, random_state=None, lr_schedule="constant"):
        self.rule = rule
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.margin = margin
        self.batch_size = batch_size
        self.epochs = epochs
        self.n_train_eval = n_train_eval
        self.random_state = random_state

    def _check_params(self):
        check_option(self.rule, "rule", READOUTS)
        check_real(self.learning_rate, "learning_rate", 0.0, low_open=True)
        check_schedule(self.lr_schedule, "lr_schedule")
        check_real(self.margin, "margin", 0.0)
        check_int(self.batch_size, "batch_size", minimum=1)
        check_int(self.epochs, "epochs", minimum=1)
        check_int(self.n_train_eval, "n_train_eval", minimum=0)

    def _seed(self):
        rs = self.random_state
        if isinstance(rs, np.random.SeedSequence):
            return rs
        if rs is None:
            return np.random.SeedSequence()
        return np.random.SeedSequence(check_int(rs, "random_state", minimum=0))

    def fit(self, X, y, validation_data=None):
        """Train for ``epochs`` epochs from scratch. X (n, d), y (n,)."""
        self._check_params()
        X, y, classes, validation = check_training_data(X, y, validation_data)
        self._initialise(X.shape[1], classes)
        for _ in range(self.epochs):
            self._epoch(X, y, validation)
        return self

    def partial_fit(self, X, y, classes=None, validation_data=None):
        """One epoch over (X, y); initialises on the first call (``classes`` needed then
        unless all classes are in y)."""
        # everything is checked before the first call sets any attribute, so a
        # failed first call leaves the model unfitted
        first = not hasattr(self, "coef_")
        if first:
            self._check_params()
        X, y, classes, validation = check_training_data(
            X, y, validation_data, classes, None if first else (self.n_features_in_, self.classes_))
        if first:
            self._initialise(X.shape[1], classes)
        self._epoch(X, y, validation)
        return self

    def _initialise(self, n_features, classes):
        self.classes_ = classes
        self.n_features_in_ = n_features
        self.seed_ = self._seed()
        self.coef_ = np.zeros((len(classes), n_features), dtype=np.float32)
        self.history_ = {"train_accuracy": [], "val_accuracy": [], "seconds": []}
        self.epochs_done_ = 0

    def _epoch(self, X, y, validation):
        """One epoch on checked data (see :func:`check_xy`)."""
        t0 = time.perf_counter()
        yi = encode(y, self.classes_)
        rng = np.random.default_rng(np.random.SeedSequence(
            self.seed_.entropy, spawn_key=tuple(self.seed_.spawn_key) + (1, self.epochs_done_)))
        order = rng.permutation(len(X))
        lr = scheduled_rate(self.learning_rate, self.lr_schedule, self.epochs_done_, self.epochs)
        for start in range(0, len(X), self.batch_size):
            b = order[start:start + self.batch_size]
            readout_step(self.coef_, X[b], yi[b], self.rule, lr, self.margin)
        self.epochs_done_ += 1
        self.history_["seconds"].append(time.perf_counter() - t0)
        n_eval = min(self.n_train_eval, len(X))
        self.history_["train_accuracy"].append(self.score(X[:n_eval], y[:n_eval]) if n_eval else np.nan)
        self.history_["val_accuracy"].append(self.score(*validation) if validation is not None else np.nan)

    def _check_fitted(self):
        if not hasattr(self, "coef_"):
            raise RuntimeError("this Perceptron is not fitted yet: call fit or partial_fit first")

    def decision_function(self, X):
        self._check_fitted()
        X, _ = check_xy(X, None, self.n_features_in_)
        return X @ self.coef_.T

    def predict_proba(self, X):
        """Softmax of the scores, (n, n_classes) float64."""
        return softmax(self.decision_function(X).astype(np.float64))

    def predict(self, X):
        scores = self.decision_function(X)          # checks first
        return self.classes_[np.argmax(scores, axis=1)]

    def score(self, X, y):
        """Mean accuracy."""
        return accuracy(self.predict(X), y)         # predict checks X

    def save(self, path):
        self._check_fitted()
        with new_file(path) as f:
            f.attrs["kind"] = "rrnn.Perceptron"
            # numpy scalars (e.g. np.int64 batch sizes) as plain JSON numbers
            params = {k: getattr(self, k) for k in ("rule", "learning_rate", "lr_schedule", "margin",
                                                    "batch_size", "epochs", "n_train_eval")}
            params = {k: v.item() if isinstance(v, np.generic) else v for k, v in params.items()}
            f.attrs["params"] = json.dumps(params)
            f.attrs["seed_entropy"] = str(self.seed_.entropy)
            f.attrs["seed_spawn_key"] = json.dumps(list(self.seed_.spawn_key))
            f.attrs["epochs_done"] = self.epochs_done_
            f["coef"] = self.coef_
            write_classes(f, self.classes_)
            for k, v in self.history_.items():
                f[f"history/{k}"] = np.asarray(v, dtype=np.float64)

    @classmethod
    def load(cls, path):
        with open_for_reading(path) as f, incomplete_file_refused(path, "rrnn.Perceptron"):
            if f.attrs.get("kind") != "rrnn.Perceptron":
                raise ValueError(f"{path}: not an rrnn.Perceptron file (kind={f.attrs.get('kind')!r})")
            model = cls(**json.loads(f.attrs["params"]))
            model.seed_ = np.random.SeedSequence(int(f.attrs["seed_entropy"]),
                                              spawn_key=tuple(json.loads(f.attrs["seed_spawn_key"])))
            model.epochs_done_ = int(f.attrs["epochs_done"])
            model.coef_ = f["coef"][()]
            model.classes_ = read_classes(f)
            model.n_features_in_ = model.coef_.shape[1]
            model.history_ = {k: list(v[()]) for k, v in f["history"].items()}
        return model
