"""Multi-Layer Chain Model (thesis chapters 5-7, Appendix A) as an estimator.

``L`` recurrent layers of ``N`` binary units in a chain. Unit i of layer l sees its
own layer through ``J^l`` (zero diagonal) and the self-coupling ``J_D``, the unit with
the same index in the previous layer (``lambda_L^l``; the input ``lambda_in x`` for
layer 1) and, in training, the unit with the same index in the next layer
(``lambda_R^l``; the label field ``lambda_out W_back y`` for layer L), eq. 6.1.
Training alternates a convergence step with label feedback and a local update of
each ``J^l`` (perceptron rule with margin, weight decay, zero diagonal, Algorithm 3)
plus a readout update; inference runs the dynamics without the label and without
right-going fields (Algorithm 2) and reads ``W_fwd s^L``.

States are float32 arrays (L, B, N). ``activation="sign"`` uses +-1 states;
``"heaviside"`` uses {0, 1} states with the thresholds ``kappa`` of eq. 7.1 plus a
fixed threshold ``threshold`` (gamma), or winner-takes-all (``sparsity``) in the
middle layers. With ``threshold=0`` the {0, 1} model is the +-1 model under
``s = 2z - 1``, in the dynamics and in training (the tests check this exactly).

Speed: synchronous orders use float32 BLAS for the first step of each batch and
then only add the rows of the units that changed (incremental fields, a numba
kernel); samples that have converged leave the batch. Asynchronous orders run in a
numba kernel with incremental fields. ``connectivity=K`` stores K random inputs per
unit (diluted couplings) for layers too large to hold densely (N = 100,000).
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import json
import math
import time
from pathlib import Path

import numpy as np

from . import memory
from .storage import differing_keys, new_file, open_for_reading
from . import mlcm_kernels as K
from .mlcm_couplings import Dense, Diluted
from .mlcm_inputs import imprinted_input_weights, random_input_weights
from ._validation import check_int, check_option, check_real
from .perceptron import (READOUTS, accuracy, check_schedule, check_training_data, check_xy, encode,
                         incomplete_file_refused, read_classes, readout_step, scheduled_rate,
                         softmax, write_classes)

__all__ = ["MLCM", "UPDATES", "PROTOCOLS"]

UPDATES = ("sequential-sync", "independent-sync", "sequential-async", "independent-async")
PROTOCOLS = ("thesis", "published")
READOUT_STATES = ("clamped", "free")
ACTIVATIONS = ("sign", "heaviside")
INIT_STATES = ("input", "zeros")
INPUT_INITS = ("random", "imprint")


#: The thesis's lambda lists (7.1.1, L = 5). As defaults they follow the thesis's
#: pattern at any depth: 4 for every layer after the first (the first entry is
#: the unused input strength) and 2 for every layer before the last (the last
#: entry is the unused label strength).
THESIS_LAMBDA_LEFT = (6.0, 4.0, 4.0, 4.0, 4.0)
THESIS_LAMBDA_RIGHT = (2.0, 2.0, 2.0, 2.0, 1.5)


def _thesis_lambdas(value, thesis, L):
    """``value``, or the pattern of ``thesis`` (first, middle..., last) at depth L when
    ``value`` is the thesis's five-layer list and L != 5 (so the default works at any
    depth)."""
    if L == 5 or np.ndim(value) != 1 or len(value) != 5:
        return value
    try:
        if tuple(float(v) for v in value) != thesis:
            return value
    except (TypeError, ValueError):
        return value
    if L == 1:
        return thesis[:1]
    return thesis[:1] + thesis[1:2] * (L - 2) + thesis[-1:]


def _real_list(value, name, length_options):
    arr = np.atleast_1d(np.asarray(value, dtype=object))
    if arr.ndim != 1 or len(arr) not in length_options:
        raise ValueError(f"{name}: expected a number or a sequence of length "
                         f"{' or '.join(map(str, length_options))}, got {value!r}")
    return np.array([check_real(v, f"{name}[{i}]") for i, v in enumerate(arr)], dtype=np.float32)


def _footprint(c, n_features):
    """Estimated peak bytes of an MLCM with configuration ``c``: the couplings with the
    temporaries of their generation, the random input weights with theirs, and the
    working arrays of one batch (states, fields, targets: about 8 (L, B, N) float32)."""
    L, N, B = c["L"], c["N"], c["B"]
    if c["K"] is None:
        couplings = (L + 1) * N * N * 4
    else:       # idx + w, outgoing lists, and the int64 draw of one layer
        couplings = L * N * c["K"] * 20 + N * c["K"] * 8
    # float64 draw and mask, then signs or the two imprinted rows, their difference, result
    inputs = N * n_features * 21 if c["random_input"] else 0
    return couplings + inputs + 8 * L * B * N * 4


class MLCM:
    """Multi-Layer Chain Model classifier trained with local rules.

    Parameters
    ----------
    n_units : int
        N, units per layer; inputs are zero-padded to N (identity input).
    n_layers : int
        L >= 1.
    lambda_left : float or sequence of L-1 or L floats
        Left (forward) ferromagnetic strengths of layers 2..L. With L values (the
        thesis's lists), the first one is the input strength of Algorithms 2-3 and is
        not used: the input field is ``lambda_in x``. The default, the thesis's
        ``(6, 4, 4, 4, 4)``, means 4 for layers 2..L at any depth L (an explicit
        five-value list equal to it is read the same way).
    lambda_right : float or sequence of L-1 or L floats
        Right (backward) strengths of layers 1..L-1; with L values the last one is not
        used: layer L feels the label field ``lambda_out W_back y`` (eq. 6.1). The
        default, the thesis's ``(2, 2, 2, 2, 1.5)``, means 2 for layers 1..L-1 at any
        depth L.
    self_coupling : float or sequence of L floats
        J_D, one for every layer or one per layer (thesis 6.1 gives each layer its
        own J_D^l; its experiments use 0.1 for all).
    lambda_in, lambda_out : float
        Input and label field strengths.
    activation : {"sign", "heaviside"}
        +-1 states (eq. 6.1) or {0, 1} states with thresholds (eq. 7.1).
    threshold : float
        gamma of eq. 7.1 (heaviside only; 0 with ``sparsity``).
    sparsity : float or sequence, optional
        Winner-takes-all activity delta of the middle layers (heaviside only): the
        ``round(N delta)`` largest fields fire (at least one: delta >= 0.5 / N);
        layers 1 and L keep a threshold of 0. A sequence gives one value per middle
        layer (length L-2).
    init_state : {"input", "zeros"}
        Initial states of all layers: the (padded) input, or zeros (with
        ``activation="heaviside"``: silent units, z = 0).
    update : {"sequential-sync", "independent-sync", "sequential-async", "independent-async"}
        Update order of 6.2.1; "sequential-sync" is Algorithm 2.
    max_steps : int
        T_max, sweeps per convergence step (per phase).
    learning_rate : float
        eta of the local rule; the increment is ``eta / batch_size`` per unstable
        (sample, unit) pair (Algorithm 3).
    margin : float
        rho: a unit is updated when ``s_i h_i <= margin``.
    weight_decay : float
        xi: ``J <- J (1 - eta xi) + dJ``.
    readout : {"cross_entropy", "perceptron"}
    readout_lr : float
    readout_lr_schedule : {"constant", "cosine"}
        Readout rate per epoch (:func:`rrnn.perceptron.scheduled_rate`): "constant" as
        in the thesis, or "cosine", annealed from ``readout_lr`` towards zero over
        ``epochs``.
    readout_margin : float
        Margin of the perceptron readout.
    readout_states : {"clamped", "free"}
        States of layer L the readout learns on. "clamped" is Algorithm 3 as written:
        the end state of the convergence step *with* the label field. With
        ``lambda_out`` larger than the other fields of layer L (12 against 4 + O(1)
        in 7.1.1) that state is the label pattern ``sign(W_back y)`` whatever the input,
        so the readout only learns to decode the label patterns and inference works only
        where the free dynamics reproduce them. "free": the readout learns on the state
        inference will see, the free end state (no label, no right-going fields,
        started like inference) of the current couplings, computed before the local
        update; this costs one more relaxation per batch. The published protocol
        always uses its free phase.
    batch_size : int
    epochs : int
    init_scale : float
        ``J_ij ~ N(0, init_scale^2 / N)`` (``/ K`` when diluted).
    protocol : {"thesis", "published"}
        "thesis": one clamped convergence step, update on its end state
        (Algorithms 1-3). "published": ``clamp_steps`` sweeps with the label
        feedback, then a free phase (no label, no right-going fields, as at
        inference) from there; the local rule drives the free end state's fields
        toward the clamped states, and the readout learns on the free end state.
    clamp_steps : int
        Sweeps of the clamped phase of the published protocol.
    input_density : float, optional
        Sparse random input weights instead of padding (sign activation only): unit i
        of layer 1 gets ``lambda_in * (W_in x)_i`` with W_in of density p and
        entries ``+-1/sqrt(p d)``.
    input_patch : int, optional
        Localised random input weights (sign activation only): the d inputs are a
        square image (d = side^2) and unit i of layer 1 sees one random
        ``input_patch x input_patch`` window of it, with +-1 weights (of density
        ``input_density`` inside the window when that is given) scaled so that
        ``(W_in x)_i`` has unit variance for random +-1 inputs.
    input_init : {"random", "imprint"}
        Input weights of ``input_density`` / ``input_patch``: random +-1 signs, or
        imprinted from the training data, row i = ``(x_a - x_b) / 2`` on the same
        support for two samples a, b of different classes drawn at random (a one-shot
        Hebbian imprint, no gradient), scaled to unit norm. The samples are those of
        the first ``fit`` / ``partial_fit`` call.
    connectivity : int, optional
        K: diluted couplings with K random inputs per unit, distinct and drawn
        uniformly among the other N - 1 units, each layer on its own (sparse storage).
    n_train_eval : int
        Training accuracy per epoch is measured on this many training samples.
    n_threads : int, optional
        numba threads (default: all available).
    random_state : int, numpy.random.SeedSequence or None
    verbose : bool
        Print one line per epoch, and show a progress bar (tqdm, on stderr) over the
        training samples of each epoch.

    Attributes
    ----------
    couplings_ : ndarray (L, N, N) float32
        ``J^l_ij`` (dense only; the transposed array is stored internally).
    readout_ : ndarray (n_classes, N) float32
        W_fwd.
    back_ : ndarray (N, n_classes) float32
        W_back, random +-1, fixed.
    history_ : dict of lists
        Per epoch: train_accuracy, val_accuracy, sparsity (L,), val_sparsity (L,),
        mean_steps, val_mean_steps, converged, seconds. ``sparsity`` and
        ``mean_steps`` describe the training relaxation: the clamped phase, or the free
        one for a fixed reservoir (``learning_rate=0`` with ``readout_states="free"``).
        With ``protocol="published"`` they describe the free phase that follows the
        clamped one (``converged`` too), and ``mean_steps`` counts the sweeps of both.
    input_weights_ : ndarray (N, d) float32 or None
        W_in of ``input_density`` / ``input_patch``; None for zero padding.
    """

    def __init__(self, n_units=1000, n_layers=5, lambda_left=THESIS_LAMBDA_LEFT,
                 lambda_right=THESIS_LAMBDA_RIGHT, self_coupling=0.1, lambda_in=6.0,
                 lambda_out=12.0, activation="sign", threshold=0.0, sparsity=None,
                 init_state="input", update="sequential-sync", max_steps=50, learning_rate=0.01,
                 margin=1.0, weight_decay=0.0, readout="cross_entropy", readout_lr=0.01,
                 readout_lr_schedule="constant", readout_margin=0.0, readout_states="clamped",
                 batch_size=100, epochs=20, init_scale=1.0, protocol="thesis", clamp_steps=10,
                 input_density=None, input_patch=None, input_init="random", connectivity=None,
                 n_train_eval=10000, n_threads=None, random_state=None, verbose=False):
        for name, value in locals().items():
            if name != "self":
                setattr(self, name, value)

    # ------------------------------------------------------------ parameters

    @classmethod
    def _param_names(cls):
        return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]

    def get_params(self, deep=True):
        return {k: getattr(self, k) for k in self._param_names()}

    def set_params(self, **params):
        for k, v in params.items():
            if k not in self._param_names():
                raise ValueError(f"{k}: not a parameter of MLCM (expected one of {self._param_names()})")
            setattr(self, k, v)
        return self

    def _resolve(self):
        """Validate every hyperparameter once; returns the resolved configuration."""
        c = {}
        N = c["N"] = check_int(self.n_units, "n_units", minimum=2)
        L = c["L"] = check_int(self.n_layers, "n_layers", minimum=1)
        left = _thesis_lambdas(self.lambda_left, THESIS_LAMBDA_LEFT, L)
        right = _thesis_lambdas(self.lambda_right, THESIS_LAMBDA_RIGHT, L)
        ll = _real_list(left, "lambda_left", sorted({1, max(L - 1, 1), L}))
        lr = _real_list(right, "lambda_right", sorted({1, max(L - 1, 1), L}))
        if len(ll) == 1:
            ll = np.repeat(ll, L)
        elif len(ll) == L - 1:
            ll = np.concatenate([[0.0], ll]).astype(np.float32)
        if len(lr) == 1:
            lr = np.repeat(lr, L)
        elif len(lr) == L - 1:
            lr = np.concatenate([lr, [0.0]]).astype(np.float32)
        c["lam_left"] = ll.copy()
        c["lam_right"] = lr.copy()
        c["lam_right"][L - 1] = 0.0            # layer L: label field instead
        if np.ndim(self.self_coupling) == 0:
            c["jd"] = np.full(L, check_real(self.self_coupling, "self_coupling"), dtype=np.float32)
        else:
            jd = _real_list(self.self_coupling, "self_coupling", sorted({1, L}))
            c["jd"] = np.repeat(jd, L // len(jd))
        c["lam_in"] = check_real(self.lambda_in, "lambda_in")
        c["lam_left"][0] = c["lam_in"]
        c["lam_out"] = check_real(self.lambda_out, "lambda_out")
        check_option(self.activation, "activation", ACTIVATIONS)
        c["heaviside"] = self.activation == "heaviside"
        c["gamma"] = check_real(self.threshold, "threshold")
        if c["gamma"] != 0 and not c["heaviside"]:
            raise ValueError(f"threshold: a non-zero threshold ({c['gamma']}) needs "
                             f"activation='heaviside', got activation={self.activation!r}")
        c["wta"] = None
        if self.sparsity is not None:
            if not c["heaviside"]:
                raise ValueError(f"sparsity: winner-takes-all ({self.sparsity!r}) needs "
                                 f"activation='heaviside', got activation={self.activation!r}")
            if L < 3:
                raise ValueError(f"sparsity: winner-takes-all acts on the middle layers and needs "
                                 f"n_layers >= 3, got n_layers={L}")
            d = _real_list(self.sparsity, "sparsity", sorted({1, L - 2}))
            if np.any(d <= 0) or np.any(d > 1):
                raise ValueError(f"sparsity: expected values in (0, 1], got {self.sparsity!r}")
            d = np.repeat(d, L - 2) if len(d) == 1 else d
            c["wta"] = np.rint(N * d).astype(np.int64)
            if np.any(c["wta"] < 1):
                raise ValueError(f"sparsity: round(n_units * delta) active units must be >= 1; "
                                 f"expected delta >= {0.5 / N:.3g} at n_units={N}, got {self.sparsity!r}")
            if c["gamma"] != 0:
                # the first and last layers run at threshold 0 with WTA (thesis 7.2.2)
                # and a shared offset cannot change which units win in the others
                raise ValueError(f"threshold: has no effect with sparsity (winner-takes-all); "
                                 f"expected 0, got {c['gamma']}")
        check_option(self.init_state, "init_state", INIT_STATES)
        check_option(self.update, "update", UPDATES)
        c["async"] = self.update.endswith("async")
        c["sequential"] = self.update.startswith("sequential")
        if c["async"] and c["wta"] is not None:
            raise ValueError(f"update: winner-takes-all is a whole-layer rule and needs a "
                             f"synchronous update, got update={self.update!r}")
        # step counters are int32 in the kernels
        c["t_max"] = check_int(self.max_steps, "max_steps", minimum=1, maximum=(1 << 31) - 1)
        c["eta"] = check_real(self.learning_rate, "learning_rate", 0.0)
        c["rho"] = check_real(self.margin, "margin")
        c["xi"] = check_real(self.weight_decay, "weight_decay")
        if c["xi"] < 0 or c["eta"] * c["xi"] >= 1:
            raise ValueError(f"weight_decay: expected 0 <= weight_decay < 1/learning_rate, "
                             f"got {c['xi']}")
        check_option(self.readout, "readout", READOUTS)
        c["ro_lr"] = check_real(self.readout_lr, "readout_lr", 0.0, low_open=True)
        c["ro_schedule"] = check_schedule(self.readout_lr_schedule, "readout_lr_schedule")
        c["ro_margin"] = check_real(self.readout_margin, "readout_margin")
        check_option(self.readout_states, "readout_states", READOUT_STATES)
        c["B"] = check_int(self.batch_size, "batch_size", minimum=1)
        check_int(self.epochs, "epochs", minimum=1)
        c["scale"] = check_real(self.init_scale, "init_scale", 0.0)
        check_option(self.protocol, "protocol", PROTOCOLS)
        c["clamp_steps"] = check_int(self.clamp_steps, "clamp_steps", minimum=1,
                                     maximum=(1 << 31) - 1)
        c["density"] = None
        if self.input_density is not None:
            p = check_real(self.input_density, "input_density", 0.0, 1.0, low_open=True)
            if c["heaviside"]:
                raise ValueError("input_density: sparse input weights are implemented for "
                                 "activation='sign' only, got activation='heaviside'")
            c["density"] = p
        c["patch"] = None
        if self.input_patch is not None:
            c["patch"] = check_int(self.input_patch, "input_patch", minimum=1)
            if c["heaviside"]:
                raise ValueError("input_patch: localised input weights are implemented for "
                                 "activation='sign' only, got activation='heaviside'")
        c["random_input"] = c["density"] is not None or c["patch"] is not None
        check_option(self.input_init, "input_init", INPUT_INITS)
        if self.input_init == "imprint" and not c["random_input"]:
            raise ValueError("input_init: 'imprint' sets the input weights of input_density / "
                             "input_patch; set one of them (got zero-padded inputs)")
        c["imprint"] = self.input_init == "imprint"
        c["K"] = None
        if self.connectivity is not None:
            c["K"] = check_int(self.connectivity, "connectivity", minimum=1, maximum=N - 1)
            if c["async"]:
                raise ValueError(f"update: asynchronous orders need dense couplings "
                                 f"(connectivity=None), got update={self.update!r} with "
                                 f"connectivity={c['K']}")
        check_int(self.n_train_eval, "n_train_eval", minimum=0)
        if self.n_threads is not None:
            check_int(self.n_threads, "n_threads", minimum=1)
        return c

    def _seed_sequence(self):
        rs = self.random_state
        if isinstance(rs, np.random.SeedSequence):
            return rs
        if rs is None:
            return np.random.SeedSequence()
        return np.random.SeedSequence(check_int(rs, "random_state", minimum=0))

    # ------------------------------------------------------------ state

    def check(self, n_features: int) -> None:
        """Raise what ``fit`` would raise before any work, for inputs of ``n_features``:
        bad hyperparameters, inputs that do not fit, a network that will not fit in
        memory. Builds nothing; drivers call it before they create a result file."""
        self._check_network(self._resolve(), check_int(n_features, "n_features", minimum=1))

    def _check_network(self, c, n_features):
        N, L = c["N"], c["L"]
        if not c["random_input"] and n_features > N:
            raise ValueError(f"X: {n_features} features do not fit in n_units={N} (inputs are "
                             f"zero-padded to N); use n_units >= {n_features}, input_density or input_patch")
        if c["patch"] is not None:
            side = math.isqrt(n_features)
            if side * side != n_features or c["patch"] > side:
                raise ValueError(f"input_patch: windows of {c['patch']}x{c['patch']} need square "
                                 f"images of side >= {c['patch']}, got {n_features} features")
        memory.require(_footprint(c, n_features),
                       f"MLCM(n_units={N}, n_layers={L}, connectivity={c['K']}, "
                       f"batch_size={c['B']})",
                       "use a smaller n_units, n_layers or batch_size"
                       + (", or diluted couplings (connectivity=K, K inputs per unit)"
                          if c["K"] is None else ", or a smaller connectivity"))

    def _initialise(self, n_features, classes, X=None, yi=None):
        """Draw the network. X (n_samples, n_features) and yi (class indices) are the
        training data, needed by ``input_init="imprint"``."""
        c = self._cfg
        N, L = c["N"], c["L"]
        self._check_network(c, n_features)
        self.seed_ = self._seed_sequence()
        rng = np.random.default_rng(np.random.SeedSequence(self.seed_.entropy, spawn_key=tuple(self.seed_.spawn_key) + (0,)))
        M = len(classes)
        self.classes_ = np.asarray(classes)
        self.n_features_in_ = n_features
        if c["K"] is None:
            self._J = Dense.random(L, N, c["scale"], rng)
        else:
            self._J = Diluted.random(L, N, c["K"], c["scale"], rng)
        self.back_ = rng.choice(np.array([-1.0, 1.0], dtype=np.float32), size=(N, M))
        self.readout_ = np.zeros((M, N), dtype=np.float32)
        self.input_weights_ = None
        if c["imprint"]:
            if len(np.unique(yi)) < 2:
                raise ValueError("input_init: 'imprint' needs training samples of at least 2 "
                                 "classes in the first fit / partial_fit call")
            self.input_weights_ = imprinted_input_weights(rng, N, X, yi, c["density"], c["patch"])
        elif c["random_input"]:
            self.input_weights_ = random_input_weights(rng, N, n_features, c["density"], c["patch"])
        self.async_key_ = int(self.seed_.generate_state(1, np.uint64)[0] >> np.uint64(1))
        self.history_ = {k: [] for k in ("train_accuracy", "val_accuracy", "sparsity",
                                         "val_sparsity", "mean_steps", "val_mean_steps",
                                         "converged", "seconds")}
        self.epochs_done_ = 0
        self.samples_seen_ = 0

    @property
    def couplings_(self):
        if isinstance(self._J, Dense):
            return np.ascontiguousarray(self._J.Jt.transpose(0, 2, 1))
        raise AttributeError("couplings_: diluted couplings are stored as indices_ and weights_")

    @property
    def indices_(self):
        return self._J.idx

    @property
    def weights_(self):
        return self._J.w

    # ------------------------------------------------------------ dynamics

    def _input_fields(self, X):
        """(B, N) float32 input field of layer 1 (times lambda_in) and the initial states."""
        c = self._cfg
        B, N = len(X), c["N"]
        if self.input_weights_ is not None:
            x = X @ self.input_weights_.T
            s0 = np.sign(x).astype(np.float32)
        else:
            x = np.zeros((B, N), dtype=np.float32)
            x[:, :X.shape[1]] = X
            s0 = x
        if c["heaviside"]:
            x = (x + 1.0) * np.float32(0.5)       # z = (s + 1) / 2; padding -> 1/2
            s0 = x
        xin = (x * np.float32(c["lam_in"])).astype(np.float32)
        S = np.zeros((c["L"], B, N), dtype=np.float32)
        if self.init_state == "input":
            S[:] = s0
        return xin, S

    def _label_field(self, yi):
        c = self._cfg
        f = np.float32(c["lam_out"] / 2 if c["heaviside"] else c["lam_out"])
        return np.ascontiguousarray(self.back_.T[yi] * f, dtype=np.float32)

    def _row_sums(self):
        """(L, N) float32 ``sum_j J^l_ij`` of the current couplings for the kappa
        thresholds of eq. 7.1, or None for sign units (no kappa). Computed once per
        batch by the caller: the couplings only change in :meth:`_local_update`."""
        if not self._cfg["heaviside"]:
            return None
        return np.stack([self._J.row_sums(l) for l in range(self._cfg["L"])])

    def _thresholds(self, use_right, row_sums):
        """kappa (L, N) and gamma (L,) of eq. 7.1 for the active terms (zeros for sign)."""
        c = self._cfg
        L, N = c["L"], c["N"]
        kappa = np.zeros((L, N), dtype=np.float32)
        gamma = np.zeros(L, dtype=np.float32)
        if c["heaviside"]:
            for l in range(L):
                right = c["lam_right"][l] if use_right else 0.0
                kappa[l] = 0.5 * (row_sums[l] + c["jd"][l] + c["lam_left"][l] + right)
            gamma[:] = c["gamma"]
            if c["wta"] is not None:
                gamma[0] = gamma[L - 1] = 0.0
        return kappa, gamma

    def _relax(self, S, xin, outf, use_right, t_max, sample_ids, row_sums, H=None):
        """Run the dynamics on S (L, B, N) in place; ``row_sums`` from :meth:`_row_sums`.
        Returns (H, steps, converged) with H the main fields ``J^l s^l`` of the end state."""
        c = self._cfg
        L, B, N = S.shape
        if H is None:
            H = np.empty_like(S)
            for l in range(L):
                H[l] = self._J.fields(l, S[l])
        kappa, gamma = self._thresholds(use_right, row_sums)
        steps = np.full(B, t_max, dtype=np.int32)
        conv = np.zeros(B, dtype=bool)
        if outf is None:
            outf = np.zeros((B, N), dtype=np.float32)
        if c["async"]:                   # dense couplings (checked in _resolve)
            perm = np.empty((B, L * N), dtype=np.int64)
            K.relax_async(S, H, xin, outf, self._J.Jt, c["jd"], c["lam_left"],
                          c["lam_right"], kappa, gamma, c["heaviside"], use_right, t_max,
                          c["sequential"], np.uint64(self.async_key_),
                          np.ascontiguousarray(sample_ids, dtype=np.int64), perm, steps, conv)
            return H, steps, conv
        active = np.arange(B)
        for t in range(t_max):
            if active.size == 0:
                break
            # Every layer reads S as it stands: sequential writes each layer back at once,
            # independent holds the new states back until all layers are done.
            A = active.size
            every = A == B
            pending = []
            changed = np.zeros(A, dtype=bool)
            for l in range(L):
                old = S[l] if every else S[l, active]
                new = np.empty((A, N), dtype=np.float32)
                counts = np.empty(A, dtype=np.int64)
                if c["wta"] is not None and 0 < l < L - 1:
                    K.wta_layer(new, counts, S, H, l, active, c["jd"][l], c["lam_left"], c["lam_right"],
                                kappa, gamma, use_right, int(c["wta"][l - 1]))
                else:
                    K.sync_layer(new, counts, S, H, l, active, xin, outf, c["jd"][l], c["lam_left"],
                                 c["lam_right"], kappa, gamma, c["heaviside"], use_right)
                n_changed = int(counts.sum())
                if n_changed:
                    changed |= counts > 0
                    self._J.add_changes(l, H[l], active, new, old, n_changed)
                if not c["sequential"]:
                    pending.append(new)
                elif every:
                    S[l] = new
                else:
                    S[l, active] = new
            for l, new in enumerate(pending):
                S[l, active] = new
            done = ~changed
            steps[active[done]] = t + 1
            conv[active[done]] = True
            active = active[changed]
        return H, steps, conv

    # ------------------------------------------------------------ learning

    def _local_update(self, S, H, targets, xin, row_sums):
        """Algorithm 3: perceptron rule with margin on the forward fields of S."""
        c = self._cfg
        L, B, N = S.shape
        scale = c["eta"] / B
        decay = 1.0 - c["eta"] * c["xi"]
        for l in range(L):
            s = S[l]
            left = xin if l == 0 else c["lam_left"][l] * S[l - 1]
            hf = H[l] + left
            if c["heaviside"]:
                # forward field of the +-1 picture: 2 (J z + lam z_prev - kappa_fwd)
                kf = 0.5 * (row_sums[l] + c["lam_left"][l])
                hf = 2.0 * (hf - kf)
                if c["wta"] is not None and 0 < l < L - 1:
                    k = int(c["wta"][l - 1])
                    thr = -np.partition(-hf, k - 1, axis=1)[:, k - 1:k]
                    hf = hf - thr
                else:
                    hf = hf - 2.0 * c["gamma"]
                t = 2.0 * targets[l] - 1.0
                pre = 2.0 * s - 1.0
            else:
                t = targets[l]
                pre = s
            post = np.where(t * hf <= c["rho"], t, np.float32(0.0)).astype(np.float32)
            self._J.update(l, pre.astype(np.float32), post, scale, decay)

    def _train_batch(self, X, yi, ids):
        c = self._cfg
        L = c["L"]
        xin, S = self._input_fields(X)
        row_sums = self._row_sums()
        free_readout = self.protocol == "thesis" and self.readout_states == "free"
        if free_readout:
            # inference's own relaxation, before the couplings change
            S_free = S.copy()
            _, steps, conv = self._relax(S_free, xin, None, False, c["t_max"], ids + (1 << 42), row_sums)
            readout_in, relaxed = S_free[L - 1], S_free
        if not free_readout or c["eta"] > 0:
            # (skipped for a fixed reservoir, eta = 0 with the free readout: the local
            # rule is a no-op there, so the clamped phase is not needed)
            outf = self._label_field(yi)
            H, steps, conv = self._relax(S, xin, outf, True,
                                         c["clamp_steps"] if self.protocol == "published" else c["t_max"],
                                         ids, row_sums)
            targets = S
            if self.protocol == "published":
                targets = S.copy()
                H, st2, conv = self._relax(S, xin, None, False, c["t_max"], ids + (1 << 40), row_sums, H=H)
                steps = steps + st2
            self._local_update(S, H, targets, xin, row_sums)
            relaxed = S           # the history's states: clamped phase, or published's free one
            if not free_readout:
                readout_in = S[L - 1]
        ro_lr = scheduled_rate(c["ro_lr"], c["ro_schedule"], self.epochs_done_, self.epochs)
        readout_step(self.readout_, readout_in, yi, self.readout, ro_lr, c["ro_margin"])
        return steps, conv, (relaxed > 0).mean(axis=(1, 2))

    def _infer(self, X, chunk=None):
        """Free-phase end states of the last layer (n, N), steps, per-layer activity."""
        c = self._cfg
        if chunk is None:      # about 100 MB of states per chunk
            chunk = int(max(10, min(1000, 25_000_000 // (c["L"] * c["N"]))))
        last = np.empty((len(X), c["N"]), dtype=np.float32)
        steps = np.empty(len(X), dtype=np.int32)
        act = np.zeros(c["L"])
        row_sums = self._row_sums()
        for a in range(0, len(X), chunk):
            xin, S = self._input_fields(X[a:a + chunk])
            ids = np.arange(a, a + len(S[0]), dtype=np.int64) + (1 << 41)
            _, st, _ = self._relax(S, xin, None, False, c["t_max"], ids, row_sums)
            last[a:a + len(st)] = S[-1]
            steps[a:a + len(st)] = st
            act += (S > 0).sum(axis=(1, 2))
        return last, steps, act / (len(X) * c["N"])

    def _threads(self):
        import numba
        return numba.get_num_threads, numba.set_num_threads

    def _epoch(self, X, yi, validation_data):
        c = self._cfg
        t0 = time.perf_counter()
        rng = np.random.default_rng(np.random.SeedSequence(
            self.seed_.entropy, spawn_key=tuple(self.seed_.spawn_key) + (1, self.epochs_done_)))
        order = rng.permutation(len(X))
        all_steps, all_conv, acts = [], [], []
        from tqdm.auto import tqdm
        with tqdm(total=len(X), disable=not self.verbose, unit="sample", leave=False,
                  desc=f"epoch {self.epochs_done_ + 1}/{self.epochs}") as bar:
            for start in range(0, len(X), c["B"]):
                b = order[start:start + c["B"]]
                ids = self.samples_seen_ + np.arange(len(b), dtype=np.int64)
                steps, conv, act = self._train_batch(X[b], yi[b], ids)
                self.samples_seen_ += len(b)
                all_steps.append(steps)
                all_conv.append(conv)
                acts.append(act * len(b))
                bar.update(len(b))
        h = self.history_
        h["mean_steps"].append(float(np.concatenate(all_steps).mean()))
        h["converged"].append(float(np.concatenate(all_conv).mean()))
        h["sparsity"].append(np.sum(acts, axis=0) / len(X))
        h["seconds"].append(time.perf_counter() - t0)
        n_eval = min(self.n_train_eval, len(X))
        if n_eval:
            last, _, _ = self._infer(X[:n_eval])
            h["train_accuracy"].append(float(np.mean(np.argmax(last @ self.readout_.T, 1) == yi[:n_eval])))
        else:
            h["train_accuracy"].append(np.nan)
        if validation_data is not None:
            Xv, yv = validation_data
            last, st, act = self._infer(Xv)
            pred = self.classes_[np.argmax(last @ self.readout_.T, 1)]
            h["val_accuracy"].append(float(np.mean(pred == yv)))
            h["val_mean_steps"].append(float(st.mean()))
            h["val_sparsity"].append(act)
        else:
            h["val_accuracy"].append(np.nan)
            h["val_mean_steps"].append(np.nan)
            h["val_sparsity"].append(np.full(c["L"], np.nan))
        self.epochs_done_ += 1
        if self.verbose:
            def acc(x):         # NaN: not measured (n_train_eval=0, or no validation set)
                return "not measured" if np.isnan(x) else f"{x:.4f}"
            print(f"epoch {self.epochs_done_}: train {acc(h['train_accuracy'][-1])} "
                  f"val {acc(h['val_accuracy'][-1])} steps {h['mean_steps'][-1]:.2f} "
                  f"{h['seconds'][-1]:.1f}s", flush=True)

    def _check_states(self, X, name="X"):
        """Without input weights the inputs become the initial +-1 states of layer 1
        (thesis 6.2), so they must be +-1: real inputs (grey levels) need
        ``input_density`` or ``input_patch``."""
        if self._cfg["random_input"]:
            return X
        bad = np.abs(X) != 1
        if bad.any():
            r, j = np.argwhere(bad)[0]
            raise ValueError(f"{name}: without input_density or input_patch the inputs are the "
                             f"initial +-1 states of layer 1, so they must be -1 or +1; got "
                             f"{float(X[r, j])} at [{r}, {j}]. Binarize them, or set input_density / "
                             f"input_patch for real-valued inputs")
        return X

    def _check_validation_states(self, validation):
        """Checked (X_val, y_val) or None, with X_val's states checked as X's."""
        if validation is None:
            return None
        return self._check_states(validation[0], "X_val"), validation[1]

    def thread_count(self) -> int:
        """The numba threads ``fit`` trains with: ``n_threads`` capped at numba's
        count, or all of numba's (run metadata of the drivers)."""
        have = self._threads()[0]()
        return have if self.n_threads is None else min(int(self.n_threads), have)

    def _with_threads(self, fn, *args):
        get, set_ = self._threads()
        before = get()
        try:
            set_(self.thread_count())
            return fn(*args)
        finally:
            set_(before)

    def fit(self, X, y, validation_data=None, checkpoint=None):
        """Train for ``epochs`` epochs.

        Parameters
        ----------
        X : array_like (n_samples, d)
            Inputs: +-1, with d <= n_units, unless ``input_density`` or ``input_patch``
            is set (then any finite reals, e.g. :func:`rrnn.datasets.grey_levels`).
        y : array_like (n_samples,)
            Class labels: integers, reals (not NaN) or strings; at least 2 classes.
        validation_data : (X_val, y_val), optional
            Scored after every epoch (history_["val_accuracy"]).
        checkpoint : str or Path, optional
            HDF5 file written after every epoch; if it exists, training resumes from it
            (same hyperparameters and data required; ``epochs`` too, since a cosine
            readout schedule depends on it: to train longer, start a new checkpoint).
        """
        self._cfg = self._resolve()
        if checkpoint is not None and Path(checkpoint).is_dir():
            raise ValueError(f"checkpoint: expected an HDF5 file path, got the directory {str(checkpoint)!r}")
        # everything, validation data included, before the network is allocated
        X, y, classes, validation = check_training_data(X, y, validation_data)
        X = self._check_states(X)
        validation = self._check_validation_states(validation)
        data_hash = _hash_data(X, y)
        resumed = False
        if checkpoint is not None and Path(checkpoint).exists():
            other = MLCM.load(checkpoint)
            differ = _differing_params(other.get_params(), self.get_params())
            if differ:
                raise ValueError(f"checkpoint: {checkpoint} was written with other hyperparameters: "
                                 f"{'; '.join(differ)}. Remove it to start afresh")
            if other.data_hash_ != data_hash:
                raise ValueError(f"checkpoint: {checkpoint} was written for other training data; "
                                 f"remove it to start afresh")
            self.__dict__.update({k: v for k, v in other.__dict__.items()
                                  if k not in self._param_names()})
            self._cfg = self._resolve()
            resumed = True
        yi = encode(y, classes)     # a resumed model has the same classes (same data)
        if not resumed:
            self._initialise(X.shape[1], classes, X, yi)
        self._fitted_params = copy.deepcopy(self.get_params())
        self.data_hash_ = data_hash
        while self.epochs_done_ < self.epochs:
            self._with_threads(self._epoch, X, yi, validation)
            if checkpoint is not None:
                self.save(checkpoint)
        return self

    def partial_fit(self, X, y, classes=None, validation_data=None):
        """One epoch over (X, y); initialises on the first call (pass ``classes`` then
        unless y holds every class)."""
        first = not hasattr(self, "_J")
        if first:
            self._cfg = self._resolve()
        # every check before the first call allocates the network
        X, y, classes, validation = check_training_data(
            X, y, validation_data, classes, None if first else (self.n_features_in_, self.classes_))
        X = self._check_states(X)
        validation = self._check_validation_states(validation)
        if first:
            self._initialise(X.shape[1], classes, X, encode(y, classes))
            self.data_hash_ = "partial_fit"
            self._fitted_params = copy.deepcopy(self.get_params())
        self._with_threads(self._epoch, X, encode(y, self.classes_), validation)
        return self

    def _check_fitted(self):
        if not hasattr(self, "_J"):
            raise RuntimeError("this MLCM is not fitted yet: call fit or partial_fit first")

    def transform(self, X):
        """Free-phase end states of the last layer, (n, N) float32."""
        self._check_fitted()
        X, _ = check_xy(X, None, self.n_features_in_)
        X = self._check_states(X)
        return self._with_threads(self._infer, X)[0]

    def decision_function(self, X):
        """Readout scores ``W_fwd s^L`` (n, n_classes)."""
        return self.transform(X) @ self.readout_.T

    def predict_proba(self, X):
        """Softmax of the readout scores, (n, n_classes) float64."""
        return softmax(self.decision_function(X).astype(np.float64))

    def predict(self, X):
        scores = self.decision_function(X)
        return self.classes_[np.argmax(scores, axis=1)]

    def score(self, X, y):
        """Mean accuracy on (X, y)."""
        return accuracy(self.predict(X), y)         # predict checks X

    # ------------------------------------------------------------ storage

    def save(self, path):
        """Write hyperparameters, learned state and history to HDF5 (atomically).

        The hyperparameters are those the model was fitted with (``set_params`` after
        fitting changes the next ``fit``, not this model), with the current
        ``n_threads`` and ``verbose``."""
        self._check_fitted()
        params = dict(self._fitted_params)
        params.update({k: getattr(self, k) for k in _RESULT_NEUTRAL_PARAMS})
        with new_file(path) as f:
            f.attrs["kind"] = "rrnn.MLCM"
            f.attrs["params"] = _canonical(params)
            f.attrs["seed_entropy"] = str(self.seed_.entropy)
            f.attrs["seed_spawn_key"] = json.dumps(list(self.seed_.spawn_key))
            f.attrs["epochs_done"] = self.epochs_done_
            f.attrs["samples_seen"] = self.samples_seen_
            f.attrs["async_key"] = str(self.async_key_)
            f.attrs["data_hash"] = self.data_hash_
            for k, v in self._J.arrays().items():
                f.create_dataset(f"couplings/{k}", data=v)
            f["readout"] = self.readout_
            f["back"] = self.back_
            write_classes(f, self.classes_)
            if self.input_weights_ is not None:
                f["input_weights"] = self.input_weights_
            f.attrs["n_features_in"] = self.n_features_in_
            for k, v in self.history_.items():
                f[f"history/{k}"] = np.asarray(v, dtype=np.float64)

    @classmethod
    def load(cls, path):
        """Read a model written by :meth:`save`."""
        with open_for_reading(path) as f, incomplete_file_refused(path, "rrnn.MLCM"):
            if f.attrs.get("kind") != "rrnn.MLCM":
                raise ValueError(f"{path}: not an rrnn.MLCM file (kind={f.attrs.get('kind')!r})")
            params = json.loads(f.attrs["params"])
            for key in ("lambda_left", "lambda_right", "sparsity"):
                if isinstance(params.get(key), list):
                    params[key] = tuple(params[key])
            rs = params.get("random_state")
            if isinstance(rs, dict):        # a SeedSequence, as _canonical wrote it
                params["random_state"] = np.random.SeedSequence(
                    int(rs["seed_entropy"]), spawn_key=tuple(rs["spawn_key"]))
            m = cls(**params)
            m._cfg = m._resolve()
            m._fitted_params = copy.deepcopy(m.get_params())
            m.seed_ = np.random.SeedSequence(int(f.attrs["seed_entropy"]),
                                              spawn_key=tuple(json.loads(f.attrs["seed_spawn_key"])))
            m.epochs_done_ = int(f.attrs["epochs_done"])
            m.samples_seen_ = int(f.attrs["samples_seen"])
            m.async_key_ = int(f.attrs["async_key"])
            m.data_hash_ = str(f.attrs["data_hash"])
            g = f["couplings"]
            if "couplings_t" in g:
                m._J = Dense(g["couplings_t"][()])
            else:
                m._J = Diluted(g["indices"][()], g["weights"][()])
            m.readout_ = f["readout"][()]
            m.back_ = f["back"][()]
            m.classes_ = read_classes(f)
            m.input_weights_ = f["input_weights"][()] if "input_weights" in f else None
            m.n_features_in_ = int(f.attrs["n_features_in"])
            m.history_ = {k: [np.asarray(x) if np.ndim(x) else float(x) for x in v[()]]
                          for k, v in f["history"].items()}
        return m


#: Parameters that do not change results (thread count, printing): a checkpoint
#: resumes whatever they were when it was written.
_RESULT_NEUTRAL_PARAMS = ("n_threads", "verbose")


def _differing_params(stored, wanted) -> list[str]:
    """"name: stored X, expected Y" for each result-relevant parameter that differs."""
    return differing_keys(json.loads(_canonical(stored)), json.loads(_canonical(wanted)),
                          ignore=_RESULT_NEUTRAL_PARAMS)


def _canonical(params):
    def conv(v):
        if isinstance(v, np.random.SeedSequence):
            return {"seed_entropy": str(v.entropy), "spawn_key": list(v.spawn_key)}
        if isinstance(v, (tuple, list, np.ndarray)):
            return [conv(x) for x in np.asarray(v).tolist()] if not isinstance(v, list) else [conv(x) for x in v]
        if isinstance(v, np.generic):
            return v.item()
        return v
    return json.dumps({k: conv(v) for k, v in params.items()}, sort_keys=True)


def _hash_data(X, y):
    h = hashlib.sha1()
    h.update(np.ascontiguousarray(X).tobytes())
    h.update(np.ascontiguousarray(y).tobytes())
    return h.hexdigest()
