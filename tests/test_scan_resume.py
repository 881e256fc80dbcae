"""A scan killed by a real SIGKILL resumes: same results, finished units not recomputed."""

import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

import rrnn
from rrnn import scans, storage

ARGS = ["scan", "--sizes", "60,90", "--draws", "3", "--inits", "4", "--max-steps", "150",
        "--tol", "0.01", "--backend", "numpy", "--threads", "1", "--no-progress"]


def _command(out):
    return [sys.executable, "-m", "rrnn.cli", *ARGS, "--out", str(out)]


def _units(path):
    if not path.exists():
        return {}
    try:
        return storage.read_units(path)          # read-only: never touches the writer's files
    except (OSError, KeyError, ValueError):
        return {}


def test_killed_scan_resumes_without_recomputing(tmp_path):
    interrupted = tmp_path / "interrupted.h5"
    proc = subprocess.Popen(_command(interrupted), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    try:
        while len(_units(interrupted)) < 2:
            if proc.poll() is not None:
                pytest.fail(f"scan ended before it could be interrupted: {proc.stderr.read().decode()}")
            if time.monotonic() > deadline:
                pytest.fail("scan wrote no unit within 120 s")
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    before = _units(interrupted)
    assert 2 <= len(before) < 6, f"expected a partial scan, found {len(before)} units"

    subprocess.run(_command(interrupted), check=True, capture_output=True, timeout=300)
    after = _units(interrupted)
    assert sorted(after) == sorted(f"n={n}/draw={d}" for n in (60, 90) for d in range(3))
    for name, unit in before.items():          # finished units were kept, not recomputed
        assert after[name]["attrs"]["run_id"] == unit["attrs"]["run_id"]
    new_ids = {after[name]["attrs"]["run_id"] for name in set(after) - set(before)}
    assert new_ids and not new_ids & {u["attrs"]["run_id"] for u in before.values()}

    fresh = tmp_path / "fresh.h5"
    subprocess.run(_command(fresh), check=True, capture_output=True, timeout=300)
    reference = _units(fresh)
    for name, unit in reference.items():
        np.testing.assert_array_equal(after[name]["jd_critical"], unit["jd_critical"])
        np.testing.assert_array_equal(after[name]["steps"], unit["steps"])
    assert (tmp_path / "interrupted.png").exists()


def test_rerun_with_other_arguments_is_refused(tmp_path):
    out = tmp_path / "scan.h5"
    subprocess.run([sys.executable, "-m", "rrnn.cli", "scan", "--sizes", "40", "--draws", "1",
                    "--inits", "2", "--backend", "numpy", "--no-progress", "--out", str(out)],
                   check=True, capture_output=True, timeout=300)
    proc = subprocess.run([sys.executable, "-m", "rrnn.cli", "scan", "--sizes", "40", "--draws", "2",
                           "--inits", "2", "--backend", "numpy", "--no-progress", "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert "holds a different run" in proc.stderr


def test_option_added_later_at_its_default_resumes(tmp_path):
    """A file written before a driver gained an option resumes when the option is left
    at its default, and is refused when it is not (or when no default is declared)."""
    out = tmp_path / "run.h5"
    storage.ResultFile(out, "kind", {"a": 1, "b": [0.5, 2]})
    storage.ResultFile(out, "kind", {"a": 1, "b": [0.5, 2], "new": "random"},
                       defaults={"new": "random"})
    with pytest.raises(ValueError, match="holds a different run"):
        storage.ResultFile(out, "kind", {"a": 1, "b": [0.5, 2], "new": "imprint"},
                           defaults={"new": "random"})
    with pytest.raises(ValueError, match="holds a different run"):
        storage.ResultFile(out, "kind", {"a": 1, "b": [0.5, 2], "new": "random"})
    with pytest.raises(ValueError, match="holds a different run"):
        storage.ResultFile(out, "kind", {"a": 2, "b": [0.5, 2]}, defaults={"a": 2})


@pytest.mark.parametrize("bad, message", [
    (dict(tol=0.0), "tol: expected a number > 0, got 0.0"),
    (dict(jd_start=-1.0), "jd_start: expected a number > 0, got -1.0"),
    (dict(max_steps=1 << 40), "max_steps: expected an int <= 4294967295"),
    (dict(backend="bogus"), "backend: unknown backend 'bogus'"),
    (dict(draws={30: 1}), r"draws: expected a count for every size; missing \[20\]"),
    (dict(inits=10**12), r"critical scan at n=20, inits=1000000000000 needs about 900.00 TB.*; "
                         r"use a smaller n or fewer inits"),
])
def test_bad_scan_arguments_fail_before_the_file_exists(tmp_path, bad, message):
    """Every argument is checked before the result file is created, so the corrected
    command is not refused as "a different run" (and tol = 0 cannot bisect forever)."""
    out = tmp_path / "scan.h5"
    kwargs = dict(draws=1, inits=2, progress=False)
    kwargs.update(bad)
    with pytest.raises((ValueError, MemoryError), match=message):
        scans.run_critical_scan(out, [20], **kwargs)
    assert not out.exists()


def test_bisection_ends_when_tol_is_below_the_float_spacing():
    """A bracket of two neighbouring floats cannot be split: with tol below the
    float spacing the bisection stops there, at a J_D that converges while the
    float just below it does not."""
    from rrnn.self_coupling import bisect_draw, initial_states
    J = rrnn.couplings.binary(30, seed=4, backend="numpy")
    s0 = initial_states(30, 3, seed=5)
    hi, _ = bisect_draw(J, s0, tol=1e-300, backend="numpy")
    at = rrnn.simulate(J, s0, self_coupling=hi, backend="numpy")
    below = rrnn.simulate(J, s0, self_coupling=np.nextafter(hi, 0.0), backend="numpy")
    assert at.converged.all()
    assert not below.converged.any()


def test_sizes_in_another_order_or_repeated_are_the_same_scan(tmp_path):
    out = tmp_path / "scan.h5"
    kwargs = dict(draws=1, inits=2, progress=False, backend="numpy")
    first = scans.run_critical_scan(out, [30, 20], **kwargs)
    again = scans.run_critical_scan(out, [20, 30, 20], **kwargs)     # resumes: nothing to do
    assert storage.read_config(out)[1]["sizes"] == [20, 30]
    assert sorted(again.read_units()) == sorted(first.read_units()) and len(first.read_units()) == 2
    with h5py.File(tmp_path / "plain.h5", "w"):
        pass
    with pytest.raises(ValueError, match=r"plain.h5: not an rrnn result file"):
        storage.read_config(tmp_path / "plain.h5")


def test_info_reports_a_scan_s_progress(tmp_path, capsys):
    from rrnn import cli

    out = tmp_path / "scan.h5"
    scans.run_critical_scan(out, [20, 30], draws=2, inits=2, progress=False, backend="numpy")
    with h5py.File(out, "a") as f:                   # as if killed before the last two units
        del f["units/n=30/draw=0"], f["units/n=30/draw=1"]
    assert cli.main(["info", str(out)]) == 0
    assert "units: 2 of 4 finished; 2 left, next n=30/draw=0" in capsys.readouterr().out
