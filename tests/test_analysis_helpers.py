"""Helpers of the analysis drivers: damage spreading compares the two trajectories of
a pair at the same time, even when simulate stops early on a detected cycle; grids
whose values round to one unit name are refused."""

import sys
from pathlib import Path

import numpy as np
import pytest

import rrnn
from rrnn.self_coupling import initial_states

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "analysis"))
from _common import check_unique_names  # noqa: E402
from damage_spreading import advance  # noqa: E402


def test_advance_equals_stepping_one_update_at_a_time():
    """At N = 24 many rows end in cycles of period 4 or more within a few dozen
    steps; advance must still return the state at exactly the requested time."""
    n = 24
    J = rrnn.couplings.binary(n, seed=3, backend="numpy")
    s0 = initial_states(n, 24, seed=1)
    jd = np.repeat([0.0, 0.2, 0.3], 8)
    check = rrnn.simulate(J, s0, self_coupling=jd, max_steps=300, backend="numpy")
    assert np.sum(check.period >= 2) >= 5          # the case being tested occurs
    exact, states, t = s0.copy(), s0.copy(), 0
    for c in (1, 3, 10, 37, 120, 300):
        states = advance(J, states, jd, c - t, backend="numpy")
        for _ in range(c - t):
            exact = rrnn.sync_step(J, exact, self_coupling=jd, backend="numpy")
        t = c
        np.testing.assert_array_equal(states, exact, err_msg=f"t={c}")


def test_grid_values_that_share_a_unit_name_are_refused():
    d_grid = np.linspace(1.0, 1.001, 21)
    with pytest.raises(ValueError, match=r"--d-points: two values give the same unit name 'd=1.0000'"):
        check_unique_names((f"d={d:.4f}" for d in d_grid), "--d-points")
    check_unique_names((f"d={d:.4f}" for d in np.linspace(1.0, 2.0, 21)), "--d-points")


@pytest.mark.parametrize("form", ["script", "module"])
def test_drivers_run_as_scripts_and_as_modules(form):
    """``python analysis/<driver>.py`` (the README's form) and ``python -m
    analysis.<driver>`` both find the drivers' shared helpers."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    cmd = ([sys.executable, "analysis/fixed_points.py", "--help"] if form == "script"
           else [sys.executable, "-m", "analysis.fixed_points", "--help"])
    done = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "--count-sizes" in done.stdout


@pytest.mark.parametrize("threads, expected", [(["--threads", "1"], 1), ([], None)])
def test_network_drivers_record_backend_and_threads_of_each_run(threads, expected, tmp_path):
    """/runs/<id> holds the backend asked for, the one auto chose and the thread count
    used (every core this process may use without --threads; was missing, or 0 for
    Hopfield)."""
    import h5py

    import reinforcement
    from rrnn import backends
    from rrnn._validation import check_n_threads

    out = tmp_path / "r.h5"
    reinforcement.main(["--out", str(out), "--sizes", "16", "--d-points", "1", "--d-max", "1", "--a-points", "1",
                        "--a-max", "0",
                        "--inits", "1", "--no-progress", *threads])
    with h5py.File(out, "r") as f:
        (run,) = f["runs"].values()
        assert run.attrs["backend"] == "auto"
        assert run.attrs["backend_used"] == backends.get(None).name
        assert run.attrs["n_threads"] == (expected or check_n_threads(None))
