"""Dynamics against theorems and hand-checkable cases, on every backend."""

import math

import numpy as np

import rrnn
from rrnn import couplings


def _symmetric(n, seed):
    m = np.random.default_rng(seed).normal(size=(n, n))
    return couplings.dense((m + m.T) / math.sqrt(2 * n))


def test_symmetric_sync_has_period_at_most_two(any_backend, rng):
    """Goles' theorem: symmetric couplings, synchronous updates -> fixed points or 2-cycles."""
    J = _symmetric(60, seed=1)
    s0 = rng.choice([-1, 1], size=(16, 60))
    res = rrnn.simulate(J, s0, backend=any_backend.name, max_steps=500)
    assert np.all((res.period == 0) | (res.period == 2)), res.period
    assert np.any(res.period == 2) or np.all(res.converged)
    assert np.all(res.converged == (res.period == 0))


def test_symmetric_async_always_converges(any_backend, rng):
    """Energy -1/2 s^T J s strictly decreases on each flip: async reaches a fixed point."""
    J = _symmetric(60, seed=2)
    s0 = rng.choice([-1, 1], size=(8, 60))
    res = rrnn.simulate(J, s0, update="async", seed=0, backend=any_backend.name, max_steps=500)
    assert np.all(res.converged)
    h = rrnn.local_fields(J, res.states, backend="numpy")
    assert np.all(np.where(h >= 0, 1, -1) == res.states)


def test_fixed_point_input_stays(any_backend, rng):
    J = couplings.binary(50, seed=3)
    s = rng.choice([-1, 1], size=50)
    res = rrnn.simulate(J, s, self_coupling=100.0, backend=any_backend.name)
    assert res.converged[0] and res.steps[0] == 0 and res.period[0] == 0
    np.testing.assert_array_equal(res.states[0], s)


def test_two_unit_antiferromagnet_oscillates(any_backend):
    """J = [[0, -1], [-1, 0]] from (+1, +1): sync flips both forever (period 2)."""
    J = couplings.dense(np.array([[0.0, -1.0], [-1.0, 0.0]]))
    res = rrnn.simulate(J, [1, 1], backend=any_backend.name, max_steps=10)
    assert res.period[0] == 2 and not res.converged[0]
    assert res.steps[0] == 3     # Brent: snapshot after step 1, cycle seen at step 3
    np.testing.assert_array_equal(res.states[0], [-1, -1])


def test_rotation_has_period_n(any_backend):
    """A directed ring copying the left neighbour shifts the pattern: period = n."""
    n = 7
    m = np.zeros((n, n))
    m[np.arange(n), (np.arange(n) - 1) % n] = 1.0
    s0 = -np.ones(n)
    s0[0] = 1
    res = rrnn.simulate(couplings.dense(m), s0, backend=any_backend.name, max_steps=100)
    assert res.period[0] == n


def test_max_steps_zero_only_checks(any_backend, rng):
    J = couplings.binary(30, seed=4)
    s0 = rng.choice([-1, 1], size=(3, 30))
    res = rrnn.simulate(J, s0, max_steps=0, backend=any_backend.name)
    np.testing.assert_array_equal(res.states, s0)
    assert np.all(res.steps == 0)


def test_heaviside_thresholds(any_backend):
    """Isolated units with threshold: z = theta(field - threshold), theta(0) = 1."""
    J = couplings.dense(np.zeros((4, 4)))
    res = rrnn.simulate(J, [0, 0, 1, 1], field=[1.0, 0.5, 0.0, -1.0], threshold=0.5,
                        activation="heaviside", backend=any_backend.name)
    np.testing.assert_array_equal(res.states[0], [1, 1, 0, 0])
    assert res.converged[0] and res.steps[0] == 1


def test_self_coupling_stabilises_random_network(any_backend, rng):
    """Thesis 3.1: a large enough J_D makes random sync dynamics converge."""
    n = 200
    J = couplings.binary(n, seed=10)
    s0 = rng.choice([-1, 1], size=(8, n))
    weak = rrnn.simulate(J, s0, self_coupling=0.0, backend=any_backend.name, max_steps=200)
    strong = rrnn.simulate(J, s0, self_coupling=1.5, backend=any_backend.name, max_steps=200)
    assert np.all(strong.converged)
    assert weak.converged.mean() < 1.0
