"""Result files shared by concurrent runs, and the per-run provenance records."""

import subprocess
import sys
import textwrap
import threading
import time

import h5py
import pytest

from rrnn import storage


def test_a_run_opened_during_a_write_waits_and_keeps_that_write(tmp_path):
    """A second run must not delete the first's in-progress copy (``.tmp``): it waits
    for the lock, then sees the finished write."""
    out = tmp_path / "run.h5"
    first = storage.ResultFile(out, "kind", {"a": 1})
    writing, release = threading.Event(), threading.Event()
    errors = []

    def slow_write():
        try:
            with first._writing() as f:
                f["units"].create_group("slow").attrs["_unit"] = True
                writing.set()
                release.wait(10)
        except Exception as exc:            # reported by the assertion below
            errors.append(exc)

    writer = threading.Thread(target=slow_write)
    writer.start()
    assert writing.wait(10)
    opened = []
    second = threading.Thread(target=lambda: opened.append(storage.ResultFile(out, "kind", {"a": 1})))
    second.start()
    second.join(0.5)
    waited = second.is_alive()
    tmp_kept = (tmp_path / "run.h5.tmp").exists()
    release.set()
    writer.join(10)
    second.join(10)
    assert waited and tmp_kept, "the second run did not wait for the write in progress"
    assert not errors, errors
    assert opened and opened[0].done() == {"slow"}


# Opens the file, then waits for the start signal so that both writers overlap.
_WRITER = textwrap.dedent("""
    import os, sys, time
    from rrnn import storage
    result = storage.ResultFile(sys.argv[1], "kind", {"a": 1})
    while not os.path.exists(sys.argv[4]):
        time.sleep(0.005)
    for i in range(int(sys.argv[3])):
        result.write_unit(f"{sys.argv[2]}/{i}", {"x": [i]})
""")


def test_two_processes_writing_one_file_lose_no_unit(tmp_path):
    out, start = tmp_path / "shared.h5", tmp_path / "start"
    count = 40
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(out), name, str(count), str(start)])
             for name in ("p", "q")]
    deadline = time.monotonic() + 60
    while not _runs_opened(out, 2) and time.monotonic() < deadline:
        time.sleep(0.01)
    start.touch()
    assert [p.wait(120) for p in procs] == [0, 0]
    units = storage.read_units(out)
    assert set(units) == {f"{name}/{i}" for name in "pq" for i in range(count)}
    with h5py.File(out, "r") as f:
        assert len(f["runs"]) == 2
    assert not (tmp_path / "shared.h5.tmp").exists()


def _runs_opened(path, count):
    try:
        with h5py.File(path, "r") as f:
            return len(f.get("runs", ())) >= count
    except OSError:                       # not created yet
        return False


def test_every_run_records_how_it_computed_its_units(tmp_path):
    out = tmp_path / "run.h5"
    first = storage.ResultFile(out, "kind", {"a": 1}, extra_attrs=dict(backend="numpy", n_threads=1))
    first.write_unit("u0", {"x": [0]})
    resumed = storage.ResultFile(out, "kind", {"a": 1}, extra_attrs=dict(backend="c", n_threads=None))
    resumed.write_unit("u1", {"x": [1]})
    with pytest.raises(ValueError, match="holds a different run"):
        storage.ResultFile(out, "kind", {"a": 2}, extra_attrs=dict(backend="numba"))
    units = storage.read_units(out)
    with h5py.File(out, "r") as f:
        runs = {run_id: dict(group.attrs) for run_id, group in f["runs"].items()}
        assert (f.attrs["backend"], f.attrs["n_threads"]) == ("numpy", 1)     # the creating run
    assert set(runs) == {first.run_id, resumed.run_id}                       # not the refused one
    assert runs[units["u0"]["attrs"]["run_id"]]["backend"] == "numpy"
    assert runs[units["u1"]["attrs"]["run_id"]]["backend"] == "c"
    assert runs[resumed.run_id]["n_threads"] == "none"
    assert runs[first.run_id]["started"] < runs[resumed.run_id]["started"]


def test_info_describes_kind_config_runs_units_and_summary(tmp_path, capsys):
    from rrnn import cli

    out = tmp_path / "run.h5"
    first = storage.ResultFile(out, "demo", {"sizes": [10, 20]}, extra_attrs=dict(backend="numpy"))
    for name in ("n=10", "n=20"):
        first.write_unit(name, {"x": [1.0]})
    resumed = storage.ResultFile(out, "demo", {"sizes": [10, 20]}, extra_attrs=dict(backend="c"))
    resumed.write_unit("n=30", {"x": [2.0]})
    resumed.write_summary({"median": [0.5, 0.6, 0.7]})
    assert cli.main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "kind: demo" in text and "sizes = [10, 20]" in text
    assert f"{first.run_id[:8]}  started" in text and "backend numpy" in text
    run_lines = [line for line in text.splitlines() if "started" in line]
    assert [line.split()[-1] for line in run_lines] == ["2", "1"]      # units per run, in start order
    assert "units: 3 finished" in text and "median (3,) float64" in text
    assert cli.main(["info", str(tmp_path / "missing.h5")]) == 2
    assert "missing.h5: no such file" in capsys.readouterr().err
    with h5py.File(tmp_path / "plain.h5", "w"):
        pass
    assert cli.main(["info", str(tmp_path / "plain.h5")]) == 2
    assert "not an rrnn result file" in capsys.readouterr().err
    (tmp_path / "text.h5").write_text("not hdf5")
    assert cli.main(["info", str(tmp_path / "text.h5")]) == 2
    assert "text.h5: not an HDF5 file" in capsys.readouterr().err
    assert cli.main(["info", str(tmp_path)]) == 2
    assert f"{tmp_path}: a directory, not a result file" in capsys.readouterr().err


def test_a_read_only_result_file_is_refused_and_permissions_are_kept(tmp_path):
    """Replacing a file the user made read-only would lift the protection silently (the
    directory stays writable), so it is refused before any work; a writable file keeps
    its mode (e.g. group-writable) across the replacement."""
    out = tmp_path / "run.h5"
    storage.ResultFile(out, "demo", {"a": 1}).write_unit("u0", {"x": [0]})
    out.chmod(0o444)
    with pytest.raises(PermissionError, match=r"run.h5: the file is read-only; make it writable"):
        storage.ResultFile(out, "demo", {"a": 1})
    with pytest.raises(PermissionError, match="read-only"):
        with storage.new_file(out):
            pass
    assert out.stat().st_mode & 0o777 == 0o444 and list(storage.read_units(out)) == ["u0"]
    out.chmod(0o664)
    storage.ResultFile(out, "demo", {"a": 1}).write_unit("u1", {"x": [1]})
    assert out.stat().st_mode & 0o777 == 0o664
    assert sorted(storage.read_units(out)) == ["u0", "u1"]


def test_a_scan_records_the_backend_that_auto_chose(tmp_path, capsys):
    from rrnn import backends, cli
    from rrnn.scans import run_critical_scan

    out = tmp_path / "scan.h5"
    run_critical_scan(out, [16], draws=1, inits=2, max_steps=20, tol=0.1, backend=None,
                      progress=False)
    with h5py.File(out, "r") as f:
        (run,) = f["runs"].values()
        assert run.attrs["backend_used"] == backends.get(None).name
    assert cli.main(["info", str(out)]) == 0
    assert f"backend auto ({backends.get(None).name})" in capsys.readouterr().out


def test_scan_sizes_with_an_empty_item_are_refused(capsys):
    from rrnn import cli

    with pytest.raises(SystemExit) as exc:
        cli.main(["scan", "--sizes", "200,,400"])
    assert exc.value.code == 2
    assert "argument --sizes: expected comma-separated integers, got '200,,400'" in capsys.readouterr().err


_SAVER = textwrap.dedent("""
    import os, sys, time
    import numpy as np
    from rrnn import storage
    open(sys.argv[3] + "." + sys.argv[2], "w").close()      # ready
    while not os.path.exists(sys.argv[3]):
        time.sleep(0.001)
    for i in range(100):
        with storage.new_file(sys.argv[1]) as f:       # as MLCM.save and Perceptron.save do
            f.attrs["writer"] = sys.argv[2]
            f["x"] = np.full(1000, i)
""")


def test_two_processes_saving_one_model_file_both_succeed(tmp_path):
    out, start = tmp_path / "ck.h5", tmp_path / "start"
    procs = [subprocess.Popen([sys.executable, "-c", _SAVER, str(out), name, str(start)])
             for name in ("p", "q")]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"start.{name}").exists() for name in "pq") and time.monotonic() < deadline:
        time.sleep(0.005)
    start.touch()
    assert [p.wait(120) for p in procs] == [0, 0]
    with h5py.File(out, "r") as f:      # the last complete save
        assert f.attrs["writer"] in ("p", "q") and (f["x"][()] == 99).all()
    assert not (tmp_path / "ck.h5.tmp").exists()


def test_a_file_system_without_flock_still_gets_its_results(tmp_path, monkeypatch):
    import errno

    def no_flock(handle, operation):
        raise OSError(errno.ENOSYS, "Function not implemented")

    monkeypatch.setattr(storage.fcntl, "flock", no_flock)
    with pytest.warns(RuntimeWarning, match="does not support flock .*Function not implemented"):
        result = storage.ResultFile(tmp_path / "run.h5", "kind", {"a": 1})
        result.write_unit("u", {"x": [1]})
    assert result.done() == {"u"}

    def broken(handle, operation):
        raise OSError(errno.EBADF, "Bad file descriptor")

    monkeypatch.setattr(storage.fcntl, "flock", broken)
    with pytest.raises(OSError, match="Bad file descriptor"):
        result.write_unit("v", {"x": [2]})


def test_a_refusal_abbreviates_long_lists_to_where_they_differ(tmp_path):
    out = tmp_path / "grid.h5"
    grid = [round(0.025 * k, 3) for k in range(61)]
    storage.ResultFile(out, "demo", {"jd_grid": grid, "sizes": list(range(10, 50))})
    changed = grid[:30] + [9.0] + grid[31:]
    with pytest.raises(ValueError) as exc:
        storage.ResultFile(out, "demo", {"jd_grid": changed, "sizes": list(range(10, 51))})
    text = str(exc.value)
    assert "jd_grid: stored and expected differ first at [30] of 61 values: stored 0.75, expected 9.0" in text
    assert "sizes: stored [10, 11, ..., 49] (40 values), expected [10, 11, ..., 50] (41 values)" in text
    assert "0.725" not in text                       # the long grid is not printed whole
