"""A straightforward numpy implementation of the thesis's Appendix A (Algorithms 1-3).

This is the baseline of the MLCM speed benchmark and an independent oracle for
the tests: +-1 states, layer-sequential synchronous updates (Algorithm 2 as
written), whole-batch convergence test, full matrix products every step, the
update sweep of Algorithm 3 and the cross-entropy readout. It shares no code
with :mod:`rrnn.mlcm`.

Conventions (the same resolutions as rrnn.mlcm; README, "How the thesis's ambiguities were resolved"):
``J[l][i, j]`` is the weight from unit j to unit i; ``W_temp = J + J_D I``;
layer 1 receives ``lambda_in * x``; layer L receives ``lambda_out * W_back y`` in
training and no right-going field at inference; ``sign(0) = +1``.
"""

from __future__ import annotations

import numpy as np


def sign(h):
    return np.where(h >= 0, 1.0, -1.0).astype(np.float32)


def convergence_dynamics(S, J, jd, lam_left, lam_right, t_max, train):
    """Algorithm 2. S: (L+2, B, N) float32 with S[0] the input field source and
    S[L+1] the label field; lam_left[l], lam_right[l] multiply S[l-1], S[l+1] for
    hidden layer l (1..L). Returns the new S and the number of sweeps."""
    L = len(J)
    n = J[0].shape[0]
    jd = np.broadcast_to(np.asarray(jd, dtype=np.float32), (L,))    # J_D^l, one per layer
    W_temp = [J[l] + jd[l] * np.eye(n, dtype=np.float32) for l in range(L)]
    S = S.copy()
    t = 0
    while t < t_max:
        S_new = S.copy()
        for l in range(1, L + 1):
            h_left = S_new[l - 1] * lam_left[l - 1]
            h_main = S_new[l] @ W_temp[l - 1].T
            h_right = S_new[l + 1] * lam_right[l - 1] if train else 0.0
            S_new[l] = sign(h_left + h_main + h_right)
        t += 1
        if np.array_equal(S, S_new):
            break
        S = S_new
    return S, t


def update_sweep(S, y_onehot, J, lam_left, eta, xi, rho, W_fwd, eta_ro):
    """Algorithm 3 with the readout gradient averaged over the batch."""
    L = len(J)
    B = S.shape[1]
    J = [w.copy() for w in J]
    for l in range(1, L + 1):
        h = S[l - 1] * lam_left[l - 1] + S[l] @ J[l - 1].T
        unstable = (h * S[l]) <= rho
        dW = (S[l] * unstable).T @ S[l]
        J[l - 1] = J[l - 1] * np.float32(1 - eta * xi) + dW * np.float32(eta / B)
        np.fill_diagonal(J[l - 1], 0.0)
    s_last = S[L]
    logits = s_last @ W_fwd.T
    logits = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    grad = (p - y_onehot).T @ s_last
    W_fwd = (W_fwd - np.float32(eta_ro / B) * grad).astype(np.float32)
    return J, W_fwd


def train_batch(x, y, J, W_back, W_fwd, *, jd, lam_in, lam_left, lam_right, lam_out, t_max, eta,
                xi, rho, eta_ro, init="input"):
    """Algorithm 1 (train branch) on one batch. x: (B, N) +-1 (0 padding), y: (B,) ints.

    ``lam_left``/``lam_right`` have length L (the thesis's per-layer lists); the
    input strength replaces ``lam_left[0]`` and the output strength replaces
    ``lam_right[L-1]``, which is how the thesis's eq. 6.1 reads in Algorithm 2's
    layer-0/layer-(L+1) notation.
    """
    L = len(J)
    B, n = x.shape
    M = W_fwd.shape[0]
    y1 = np.zeros((B, M), dtype=np.float32)
    y1[np.arange(B), y] = 1.0
    S = np.zeros((L + 2, B, n), dtype=np.float32)
    if init == "input":
        S[:] = x
    S[0] = x
    S[L + 1] = y1 @ W_back.T
    ll = np.array([lam_in] + list(lam_left[1:]), dtype=np.float32)
    lr = np.array(list(lam_right[:-1]) + [lam_out], dtype=np.float32)
    S, t = convergence_dynamics(S, J, jd, ll, lr, t_max, train=True)
    J, W_fwd = update_sweep(S, y1, J, ll, eta, xi, rho, W_fwd, eta_ro)
    return J, W_fwd, S, t


def predict_logits(x, J, W_fwd, *, jd, lam_in, lam_left, t_max, init="input"):
    """Algorithm 1 (inference branch): no label, no right-going fields."""
    L = len(J)
    B, n = x.shape
    S = np.zeros((L + 2, B, n), dtype=np.float32)
    if init == "input":
        S[:] = x
    S[0] = x
    S[L + 1] = 0.0
    ll = np.array([lam_in] + list(lam_left[1:]), dtype=np.float32)
    S, t = convergence_dynamics(S, J, jd, ll, np.zeros(L, np.float32), t_max, train=False)
    return S[L] @ W_fwd.T, S, t


def fit_epoch(X, y, J, W_back, W_fwd, batch_size, **kw):
    """One epoch over X in order, batch by batch."""
    for start in range(0, len(X), batch_size):
        J, W_fwd, _, _ = train_batch(X[start:start + batch_size], y[start:start + batch_size], J,
                                     W_back, W_fwd, **kw)
    return J, W_fwd
