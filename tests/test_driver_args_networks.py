"""Argument checks of the network drivers (convergence_times, damage_spreading,
fixed_points, reinforcement, hopfield): a bad value is refused before the result
file is created (a file holding the bad config would refuse the corrected command),
with a message that names the option and the value. Nothing is simulated: every
command here is refused while its arguments are checked.

Each command carries small valid settings first (the bad option comes after and
overrides them), so that a driver that failed to refuse it would run quickly
and leave its file, which the tests catch."""

import sys
from pathlib import Path

import numpy as np
import pytest

from rrnn import storage

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "analysis"))
import convergence_times  # noqa: E402
import damage_spreading  # noqa: E402
import fixed_points  # noqa: E402
import hopfield  # noqa: E402
import reinforcement  # noqa: E402


def refused(main, argv, tmp_path, capsys, option, value):
    """``main(argv)`` exits with status 2 naming ``option`` and ``value``, and leaves
    no file at --out (nor its lock)."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert option in last, last
    assert value in last, last
    assert not any(tmp_path.glob("out*")), sorted(p.name for p in tmp_path.iterdir())


def _other_kind_file(path):
    """A valid rrnn result file of another kind."""
    storage.ResultFile(path, "some_other_kind", {"x": 1})
    return path


# ---------------------------------------------------------------------------
# convergence_times
# ---------------------------------------------------------------------------

CT_BASE = ["--sizes", "8", "--points", "3", "--draws", "1", "--inits", "1", "--max-steps", "50",
           "--no-progress"]

CT_CASES = [
    (["--updates", "foo"], "--updates", "'foo'"),
    (["--updates", "sync,foo"], "--updates", "'foo'"),
    (["--updates", "sync,sync"], "--updates", "sync,sync"),
    (["--updates", ""], "--updates", "''"),
    (["--sizes", "-5"], "--sizes", "'-5'"),
    (["--sizes", "1"], "--sizes", "'1'"),
    (["--sizes", "8,,16"], "--sizes", "'8,,16'"),
    (["--sizes", "8,8"], "--sizes", "8,8"),
    (["--sizes", "8.5"], "--sizes", "'8.5'"),
    (["--jd-min", "nan"], "--jd-min", "'nan'"),
    (["--jd-max", "inf"], "--jd-max", "'inf'"),
    (["--jd-min", "x"], "--jd-min", "'x'"),
    (["--jd-min", "1.5", "--jd-max", "0.5"], "--jd-min", "1.5"),
    (["--jd-min", "0.7", "--jd-max", "0.7"], "--jd-min", "0.7"),
    (["--points", "1", "--jd-min", "0.2"], "--jd-max", "1.5"),
    (["--points", "0"], "--points", "'0'"),
    (["--points", "-4"], "--points", "'-4'"),
    (["--points", "2.5"], "--points", "'2.5'"),
    (["--draws", "0"], "--draws", "'0'"),
    (["--inits", "0"], "--inits", "'0'"),
    (["--inits", "-1"], "--inits", "'-1'"),
    (["--max-steps", "0"], "--max-steps", "'0'"),
    (["--max-steps", "-1"], "--max-steps", "'-1'"),
    (["--max-steps", "4294967296"], "--max-steps", "'4294967296'"),
    (["--threads", "0"], "--threads", "'0'"),
    (["--seed", "-3"], "--seed", "'-3'"),
]


@pytest.mark.parametrize("bad,option,value", CT_CASES, ids=[" ".join(c[0]) for c in CT_CASES])
def test_convergence_times_refuses(bad, option, value, tmp_path, capsys):
    argv = ["--out", str(tmp_path / "out.h5"), *CT_BASE, *bad]
    refused(convergence_times.main, argv, tmp_path, capsys, option, value)


def test_convergence_times_refuses_png_in_missing_directory(tmp_path, capsys):
    png = str(tmp_path / "missing" / "fig.png")
    refused(convergence_times.main, ["--out", str(tmp_path / "out.h5"), *CT_BASE, "--png", png],
            tmp_path, capsys, "--png", png)


def test_convergence_times_refuses_png_that_is_a_directory(tmp_path, capsys):
    (tmp_path / "fig.png").mkdir()
    png = str(tmp_path / "fig.png")
    refused(convergence_times.main, ["--out", str(tmp_path / "out.h5"), *CT_BASE, "--png", png],
            tmp_path, capsys, "--png", png)


@pytest.mark.parametrize("name", ["fig", "fig.gif", "fig.h5"])
def test_convergence_times_refuses_png_of_unknown_format(name, tmp_path, capsys):
    png = str(tmp_path / name)
    refused(convergence_times.main, ["--out", str(tmp_path / "out.h5"), *CT_BASE, "--png", png],
            tmp_path, capsys, "--png", png)


def test_convergence_times_writes_the_figure_in_the_format_of_its_suffix(tmp_path):
    """--png fig.svg writes fig.svg as SVG (it used to write fig.png)."""
    svg = tmp_path / "fig.svg"
    convergence_times.main(["--out", str(tmp_path / "out.h5"), "--sizes", "16", "--updates", "sync",
                            "--points", "2", "--jd-min", "0", "--jd-max", "0.5", "--draws", "1",
                            "--inits", "1", "--png", str(svg)])
    assert svg.read_text().lstrip().startswith("<?xml") and "<svg" in svg.read_text()
    assert not (tmp_path / "fig.png").exists()


def test_convergence_times_refuses_missing_also(tmp_path, capsys):
    also = str(tmp_path / "missing.h5")
    refused(convergence_times.main, ["--out", str(tmp_path / "out.h5"), *CT_BASE, "--also", also],
            tmp_path, capsys, "--also", also)


def test_convergence_times_refuses_also_not_hdf5(tmp_path, capsys):
    also = tmp_path / "notes.h5"
    also.write_text("not a result file")
    refused(convergence_times.main, ["--out", str(tmp_path / "out.h5"), *CT_BASE, "--also", str(also)],
            tmp_path, capsys, "--also", str(also))


def test_convergence_times_refuses_also_of_another_kind(tmp_path, capsys):
    also = str(_other_kind_file(tmp_path / "other.h5"))
    refused(convergence_times.main, ["--out", str(tmp_path / "out.h5"), *CT_BASE, "--also", also],
            tmp_path, capsys, "--also", "'some_other_kind'")


def _ct_file(path, update, n):
    result = storage.ResultFile(path, convergence_times.KIND, {"sizes": [n]})
    zeros = np.zeros((3, 1), dtype=np.int64)
    result.write_unit(f"{update}/n={n}/draw=0",
                      {"steps": zeros, "converged": zeros.astype(bool), "period": zeros},
                      {"n": n, "draw": 0, "update": update, "seconds": 0.0})
    return str(path)


def test_convergence_times_refuses_also_holding_a_size_of_this_run(tmp_path, capsys):
    also = _ct_file(tmp_path / "small.h5", "sync", 8)
    refused(convergence_times.main, ["--out", str(tmp_path / "out.h5"), *CT_BASE, "--also", also],
            tmp_path, capsys, "--also", "N=8")


def test_convergence_times_refuses_two_also_files_with_one_size(tmp_path, capsys):
    a = _ct_file(tmp_path / "a.h5", "async", 16)
    b = _ct_file(tmp_path / "b.h5", "async", 16)
    refused(convergence_times.main, ["--out", str(tmp_path / "out.h5"), *CT_BASE, "--also", a, b],
            tmp_path, capsys, "--also", "N=16")


def test_convergence_times_refuses_the_same_also_twice(tmp_path, capsys):
    a = _ct_file(tmp_path / "a.h5", "async", 16)
    refused(convergence_times.main, ["--out", str(tmp_path / "out.h5"), *CT_BASE, "--also", a, a],
            tmp_path, capsys, "--also", a)


def test_convergence_times_refuses_out_as_also(tmp_path, capsys):
    out = str(tmp_path / "out.h5")
    refused(convergence_times.main, ["--out", out, *CT_BASE, "--also", out],
            tmp_path, capsys, "--also", out)


# ---------------------------------------------------------------------------
# damage_spreading
# ---------------------------------------------------------------------------

DS_BASE = ["--sizes", "16", "--jd", "0.5", "--draws", "1", "--pairs", "1", "--max-steps", "10",
           "--checkpoints", "3", "--no-progress"]

DS_CASES = [
    (["--sizes", "1"], "--sizes", "'1'"),
    (["--sizes", "0"], "--sizes", "'0'"),
    (["--sizes", "-16"], "--sizes", "'-16'"),
    (["--sizes", "16,16"], "--sizes", "16,16"),
    (["--sizes", ""], "--sizes", "''"),
    (["--jd", "nan"], "--jd", "'nan'"),
    (["--jd", "0.5,"], "--jd", "'0.5,'"),
    (["--draws", "0"], "--draws", "'0'"),
    (["--draws", "1.5"], "--draws", "'1.5'"),
    (["--pairs", "0"], "--pairs", "'0'"),
    (["--pairs", "-2"], "--pairs", "'-2'"),
    (["--max-steps", "0"], "--max-steps", "'0'"),
    (["--max-steps", "-1"], "--max-steps", "'-1'"),
    (["--checkpoints", "0"], "--checkpoints", "'0'"),
    (["--checkpoints", "-3"], "--checkpoints", "'-3'"),
    (["--checkpoints", "1"], "--checkpoints", "got 1"),
    (["--seed", "-1"], "--seed", "'-1'"),
    (["--threads", "0"], "--threads", "'0'"),
    (["--threads", "2000"], "--threads", "'2000'"),
]


@pytest.mark.parametrize("bad,option,value", DS_CASES, ids=[" ".join(c[0]) for c in DS_CASES])
def test_damage_spreading_refuses(bad, option, value, tmp_path, capsys):
    argv = ["--out", str(tmp_path / "out.h5"), *DS_BASE, *bad]
    refused(damage_spreading.main, argv, tmp_path, capsys, option, value)


# ---------------------------------------------------------------------------
# fixed_points
# ---------------------------------------------------------------------------

FP_BASE = ["--count-sizes", "6", "--count-draws", "2", "--jd", "0.5", "--cycle-sizes", "8",
           "--cycle-jd", "0.2", "--cycle-draws", "1", "--cycle-inits", "2", "--max-steps", "100",
           "--no-progress"]

FP_CASES = [
    (["--count-sizes", "-3"], "--count-sizes", "'-3'"),
    (["--count-sizes", "1"], "--count-sizes", "'1'"),
    (["--count-sizes", "33"], "--count-sizes", "'33'"),
    (["--count-sizes", "6,6"], "--count-sizes", "6,6"),
    (["--count-draws", "0"], "--count-draws", "'0'"),
    (["--count-draws", "1"], "--count-draws", "'1'"),
    (["--count-draws", "-2"], "--count-draws", "'-2'"),
    (["--jd", "nan"], "--jd", "'nan'"),
    (["--jd", ""], "--jd", "''"),
    (["--cycle-sizes", "0"], "--cycle-sizes", "'0'"),
    (["--cycle-sizes", "8,8"], "--cycle-sizes", "8,8"),
    (["--cycle-jd", "inf"], "--cycle-jd", "'inf'"),
    (["--cycle-draws", "0"], "--cycle-draws", "'0'"),
    (["--cycle-inits", "0"], "--cycle-inits", "'0'"),
    (["--cycle-inits", "-5"], "--cycle-inits", "'-5'"),
    (["--max-steps", "0"], "--max-steps", "'0'"),
    (["--max-steps", "-1"], "--max-steps", "'-1'"),
    (["--seed", "-1"], "--seed", "'-1'"),
    (["--threads", "0"], "--threads", "'0'"),
]


@pytest.mark.parametrize("bad,option,value", FP_CASES, ids=[" ".join(c[0]) for c in FP_CASES])
def test_fixed_points_refuses(bad, option, value, tmp_path, capsys):
    argv = ["--out", str(tmp_path / "out.h5"), *FP_BASE, *bad]
    refused(fixed_points.main, argv, tmp_path, capsys, option, value)


# ---------------------------------------------------------------------------
# reinforcement
# ---------------------------------------------------------------------------

RF_BASE = ["--sizes", "10", "--d-points", "2", "--a-points", "2", "--draws", "1", "--inits", "1",
           "--max-steps", "20", "--no-progress"]

RF_CASES = [
    (["--d-min", "3"], "--d-min", "'3'"),
    (["--d-min", "-1"], "--d-min", "'-1'"),
    (["--d-max", "2.5"], "--d-max", "'2.5'"),
    (["--d-min", "nan"], "--d-min", "'nan'"),
    (["--a-min", "nan"], "--a-min", "'nan'"),
    (["--a-max", "inf"], "--a-max", "'inf'"),
    (["--d-points", "0", "--a-points", "2"], "--d-points", "'0'"),
    (["--a-points", "0"], "--a-points", "'0'"),
    (["--d-points", "-1"], "--d-points", "'-1'"),
    (["--d-min", "1.8", "--d-max", "1.2"], "--d-min", "1.8"),
    (["--d-min", "1.5", "--d-max", "1.5"], "--d-min", "1.5"),
    (["--a-min", "1", "--a-max", "0"], "--a-min", "1"),
    (["--d-points", "1"], "--d-max", "2"),
    (["--a-points", "1", "--a-min", "0.2"], "--a-max", "1"),
    (["--sizes", "1"], "--sizes", "'1'"),
    (["--sizes", "10,10"], "--sizes", "10,10"),
    (["--draws", "0"], "--draws", "'0'"),
    (["--inits", "0"], "--inits", "'0'"),
    (["--max-steps", "0"], "--max-steps", "'0'"),
    (["--seed", "-1"], "--seed", "'-1'"),
]


@pytest.mark.parametrize("bad,option,value", RF_CASES, ids=[" ".join(c[0]) for c in RF_CASES])
def test_reinforcement_refuses(bad, option, value, tmp_path, capsys):
    argv = ["--out", str(tmp_path / "out.h5"), *RF_BASE, *bad]
    refused(reinforcement.main, argv, tmp_path, capsys, option, value)


@pytest.mark.parametrize("bad,match", [
    (["--d-min", "1", "--d-max", "1.001", "--d-points", "21"], r"--d-min/--d-max/--d-points: two values give the same unit name 'd=1\.000"),
    (["--a-min", "0", "--a-max", "1e-7", "--a-points", "3"], r"--a-min/--a-max/--a-points.*'a=0\.000000'"),
])
def test_reinforcement_refuses_grids_that_round_together(bad, match, tmp_path):
    with pytest.raises(ValueError, match=match):
        reinforcement.main(["--out", str(tmp_path / "out.h5"), *RF_BASE, *bad])
    assert not any(tmp_path.glob("out*"))


# ---------------------------------------------------------------------------
# hopfield
# ---------------------------------------------------------------------------

HF_VALUES = dict(sizes="50", n="50", alphas="0.1", factors="1", draws="1", cues="2", points="2",
                 triples="1", tested="2", max_steps="20")


def hf_base(part):
    """Small valid values of the options ``part`` uses (it refuses the others)."""
    argv = []
    for key in hopfield.DEFAULTS[part]:
        argv += ["--" + key.replace("_", "-"), HF_VALUES[key]]
    return argv + ["--no-progress"]


HF_CASES = [
    (["capacity", "--cues", "0"], "--cues", "'0'"),
    (["basins", "--cues", "-1"], "--cues", "'-1'"),
    (["basins", "--points", "0"], "--points", "'0'"),
    (["basins", "--points", "1"], "--points", "'1'"),
    (["capacity", "--alphas", "-0.1"], "--alphas", "'-0.1'"),
    (["capacity", "--alphas", "0"], "--alphas", "'0'"),
    (["mixtures", "--alphas", "nan"], "--alphas", "'nan'"),
    (["capacity", "--alphas", "0.1,,0.2"], "--alphas", "'0.1,,0.2'"),
    (["capacity", "--sizes", "1000", "--alphas", "0.0001"], "--alphas", "0.0001"),
    (["basins", "--n", "1000", "--alphas", "0.0004"], "--alphas", "0.0004"),
    (["perfect", "--factors", "-1"], "--factors", "'-1'"),
    (["perfect", "--factors", "0"], "--factors", "'0'"),
    (["perfect", "--sizes", "20", "--factors", "0.05"], "--factors", "0.05"),
    (["capacity", "--sizes", "1"], "--sizes", "'1'"),
    (["perfect", "--sizes", "50,50"], "--sizes", "50,50"),
    (["basins", "--n", "1"], "--n", "'1'"),
    (["mixtures", "--n", "0"], "--n", "'0'"),
    (["capacity", "--draws", "0"], "--draws", "'0'"),
    (["mixtures", "--triples", "0"], "--triples", "'0'"),
    (["perfect", "--tested", "0"], "--tested", "'0'"),
    (["capacity", "--max-steps", "0"], "--max-steps", "'0'"),
    (["mixtures", "--max-steps", "-1"], "--max-steps", "'-1'"),
    (["capacity", "--seed", "-1"], "--seed", "'-1'"),
    (["basins", "--threads", "0"], "--threads", "'0'"),
    # an option the part does not use is refused, not ignored
    (["perfect", "--max-steps", "5"], "--max-steps", "not used by the perfect part"),
    (["capacity", "--n", "60"], "--n", "not used by the capacity part"),
    (["mixtures", "--cues", "3"], "--cues", "not used by the mixtures part"),
]


@pytest.mark.parametrize("bad,option,value", HF_CASES, ids=[" ".join(c[0]) for c in HF_CASES])
def test_hopfield_refuses(bad, option, value, tmp_path, capsys):
    argv = [bad[0], "--out", str(tmp_path / "out.h5"), *hf_base(bad[0]), *bad[1:]]
    refused(hopfield.main, argv, tmp_path, capsys, option, value)


def test_hopfield_all_checks_every_part_before_the_first_file(tmp_path, capsys):
    """'all' runs capacity first; a load too small for the basins size is refused
    before capacity creates its file."""
    every = [x for key, v in HF_VALUES.items() for x in ("--" + key.replace("_", "-"), v)]
    argv = ["all", "--out-dir", str(tmp_path), *every, "--no-progress", "--sizes", "5000", "--n", "1000",
            "--alphas", "0.0004"]
    with pytest.raises(SystemExit) as exc:
        hopfield.main(argv)
    assert exc.value.code == 2
    assert "--alphas" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_hopfield_plot_only_refuses_missing_out(tmp_path, capsys):
    out = str(tmp_path / "out.h5")
    refused(hopfield.main, ["capacity", "--plot-only", "--out", out], tmp_path, capsys, "--out", out)


def test_hopfield_plot_only_refuses_out_of_another_kind(tmp_path, capsys):
    other = storage.ResultFile(tmp_path / "basins.h5", "hopfield_basins", {"n": 50})
    refused(hopfield.main, ["capacity", "--plot-only", "--out", str(other.path)], tmp_path, capsys,
            "--out", "'hopfield_basins'")


def test_hopfield_plot_only_all_refuses_missing_out_dir_files(tmp_path, capsys):
    out_dir = str(tmp_path / "nothing")
    refused(hopfield.main, ["all", "--plot-only", "--out-dir", out_dir], tmp_path, capsys,
            "--out-dir", out_dir)
    assert not (tmp_path / "nothing").exists()


def test_hopfield_all_with_out_is_refused(tmp_path, capsys):
    refused(hopfield.main, ["all", "--out", str(tmp_path / "out.h5")], tmp_path, capsys, "--out", "'all'")
