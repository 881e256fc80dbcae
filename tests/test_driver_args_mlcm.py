"""Argument checks of the MLCM and reference drivers (analysis/mlcm_baseline.py,
mlcm_sparsity.py, mlcm_tuning.py, mlcm_large.py, backprop_reference.py,
kernel_ceiling.py): a bad value is refused before the result file is created (a file
holding the bad config would refuse the corrected command), with a message that names
the option and the value.

No run trains anything: every command here is refused. Data-dependent checks (sample
counts against the data set's size, a missing data set) use tiny synthetic IDX files
written by the tests (60 training and 20 test images of 28 x 28), registered under the
real data set names for the test only; downloads are disabled.
"""

import gzip
import hashlib
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

from rrnn import datasets

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "analysis"))
import backprop_reference  # noqa: E402
import kernel_ceiling  # noqa: E402
import mlcm_baseline  # noqa: E402
import mlcm_large  # noqa: E402
import mlcm_sparsity  # noqa: E402
import mlcm_tuning  # noqa: E402

N_TRAIN, N_TEST = 60, 20
MISSING = "<tmp>/no-such-dir"          # replaced by a path under tmp_path


def _idx_bytes(arr: np.ndarray) -> bytes:
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    return bytes([0, 0, 0x08, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()


@pytest.fixture(autouse=True)
def offline(tmp_path, monkeypatch):
    """No real data and no download: an empty cache, RRNN_DATA_DIR unset, and a
    download that fails at once as it does offline."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("RRNN_DATA_DIR", raising=False)

    def no_download(name):
        raise datasets.DataUnavailableError(f"{name}: files not found (download disabled in tests)")

    monkeypatch.setattr(datasets, "_download", no_download)


@pytest.fixture
def small_data(tmp_path, monkeypatch):
    """A data folder with tiny MNIST and Fashion-MNIST look-alikes (their own checksums)."""
    root = tmp_path / "data"
    rng = np.random.default_rng(7)
    for name, (sub, mirrors, _) in list(datasets.DATASETS.items()):
        folder = root / sub
        folder.mkdir(parents=True)
        hashes = {}
        for split, n in (("train", N_TRAIN), ("test", N_TEST)):
            img_stem, lab_stem = datasets._FILES[split]
            images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
            labels = np.arange(n, dtype=np.uint8) % 10
            for stem, arr in ((img_stem, images), (lab_stem, labels)):
                raw = _idx_bytes(arr)
                hashes[stem] = hashlib.sha256(raw).hexdigest()
                with gzip.open(folder / f"{stem}.gz", "wb") as f:
                    f.write(raw)
        monkeypatch.setitem(datasets.DATASETS, name, (sub, mirrors, hashes))
    return root


def _refused(module, argv, out, capsys, *expected):
    """``module.main(argv + --out)`` exits with status 2 naming ``expected`` on stderr,
    and leaves no result file (nor checkpoint folder)."""
    with pytest.raises(SystemExit) as info:
        module.main([*argv, "--out", str(out)])
    err = capsys.readouterr().err
    assert info.value.code == 2, err
    for text in expected:
        assert text in err, f"{text!r} not in {err!r}"
    assert not out.exists()
    assert not Path(str(out) + ".ckpt").exists()


def _subst(argv, tmp_path):
    return [str(tmp_path / "no-such-dir") if a == MISSING else a for a in argv]


# (argv, texts the message must hold): refused while the command line is parsed
# or by the cross-option checks, no data needed
PARSE_CASES = {
    mlcm_baseline: [
        (["--seed", "-1"], ["--seed", "'-1'"]),
        (["--inits", "0"], ["--inits", "'0'"]),
        (["--mlp-hidden", "-3"], ["--mlp-hidden", "'-3'"]),
        (["--train-samples", "0"], ["--train-samples", "'0'"]),
        (["--test-samples", "-1"], ["--test-samples", "'-1'"]),
        (["--train-eval", "-1"], ["--train-eval", "'-1'"]),
        (["--data-dir", MISSING], ["--data-dir", "no-such-dir"]),
        (["--sln-lr", ""], ["--sln-lr", "''"]),
        (["--sln-lr", "0.01,"], ["--sln-lr", "'0.01,'"]),
        (["--sln-lr", "0"], ["--sln-lr", "'0'"]),
        (["--sln-lr", "nan"], ["--sln-lr", "'nan'"]),
        (["--n-units", "1"], ["--n-units", "'1'"]),
        (["--n-layers", "0"], ["--n-layers", "'0'"]),
        (["--n-layers", "6"], ["--n-layers", "'6'"]),
        (["--input-density", "0"], ["--input-density", "'0'"]),
        (["--input-density", "1.5"], ["--input-density", "'1.5'"]),
        (["--input-patch", "0"], ["--input-patch", "'0'"]),
        (["--connectivity", "0"], ["--connectivity", "'0'"]),
        (["--learning-rate", "-0.1"], ["--learning-rate", "'-0.1'"]),
        (["--learning-rate", "nan"], ["--learning-rate", "'nan'"]),
        (["--margin", "-1"], ["--margin", "'-1'"]),
        (["--readout-lr", "0"], ["--readout-lr", "'0'"]),
        (["--readout-margin", "-1"], ["--readout-margin", "'-1'"]),
        (["--lambda-out", "inf"], ["--lambda-out", "'inf'"]),
        (["--weight-decay", "-0.1"], ["--weight-decay", "'-0.1'"]),
        (["--init-scale", "-1"], ["--init-scale", "'-1'"]),
        (["--mlp-lr", "0"], ["--mlp-lr", "'0'"]),
        (["--batch-size", "0"], ["--batch-size", "'0'"]),
        (["--max-steps", "0"], ["--max-steps", "'0'"]),
        (["--max-steps", "3e9"], ["--max-steps", "'3e9'"]),
        (["--epochs", "0"], ["--epochs", "'0'"]),
        (["--epochs", "1.5"], ["--epochs", "'1.5'"]),
        (["--datasets", "mnist,foo"], ["--datasets", "'foo'"]),
        (["--datasets", "mnist,,fashion"], ["--datasets", "'mnist,,fashion'"]),
        (["--datasets", "mnist,mnist"], ["--datasets", "mnist,mnist"]),
        (["--datasets", "mnist-grey"], ["--datasets", "mnist-grey"]),
        (["--n-units", "1000", "--connectivity", "1000"], ["--connectivity", "1000"]),
        (["--learning-rate", "0.5", "--weight-decay", "2"], ["--weight-decay", "2"]),
    ],
    mlcm_sparsity: [
        (["--mode", "threshold", "--seed", "-2"], ["--seed", "'-2'"]),
        (["--mode", "threshold", "--values", "-0.1"], ["--values", "'-0.1'"]),
        (["--mode", "threshold", "--values", "nan"], ["--values", "'nan'"]),
        (["--mode", "threshold", "--values", "0.1,"], ["--values", "'0.1,'"]),
        (["--mode", "threshold", "--values", "0.1,0.1"], ["--values", "0.1,0.1"]),
        (["--mode", "wta", "--values", "0"], ["--values", "0"]),
        (["--mode", "wta", "--values", "0.5,1.5"], ["--values", "1.5"]),
        (["--mode", "threshold", "--inits", "0"], ["--inits", "'0'"]),
        (["--mode", "threshold", "--epochs", "0"], ["--epochs", "'0'"]),
        (["--mode", "threshold", "--train-samples", "0"], ["--train-samples", "'0'"]),
        (["--mode", "threshold", "--max-steps", "-1"], ["--max-steps", "'-1'"]),
        (["--mode", "threshold", "--data-dir", MISSING], ["--data-dir", "no-such-dir"]),
        (["--mode", "sparse"], ["--mode", "'sparse'"]),
        # the baseline's reference-model options: accepted by the shared parser, unused here
        (["--mode", "wta", "--mlp-hidden", "10"], ["--mlp-hidden", "not used", "10"]),
        (["--mode", "wta", "--sln-lr", "0.5"], ["--sln-lr", "not used", "0.5"]),
        (["--mode", "wta", "--mlp-lr", "0.1"], ["--mlp-lr", "not used", "0.1"]),
    ],
    mlcm_tuning: [
        (["--learning-rates", "nan"], ["--learning-rates", "'nan'"]),
        (["--learning-rates", "-0.01"], ["--learning-rates", "'-0.01'"]),
        (["--readout-states", "foo"], ["--readout-states", "'foo'"]),
        (["--readout-states", "clamped,"], ["--readout-states", "'clamped,'"]),
        (["--batch-sizes", "0"], ["--batch-sizes", "'0'"]),
        (["--batch-sizes", "100,-5"], ["--batch-sizes", "'-5'"]),
        (["--holdout", "0"], ["--holdout", "'0'"]),
        (["--final", "--final-epochs", "0"], ["--final-epochs", "'0'"]),
        (["--margins", "-1"], ["--margins", "'-1'"]),
        (["--weight-decays", "-0.1"], ["--weight-decays", "'-0.1'"]),
        (["--readout-lrs", "0"], ["--readout-lrs", "'0'"]),
        (["--init-scales", "-1"], ["--init-scales", "'-1'"]),
        (["--epochs", "0"], ["--epochs", "'0'"]),
        (["--train-samples", "0"], ["--train-samples", "'0'"]),
        (["--seed", "-1"], ["--seed", "'-1'"]),
        (["--data-dir", MISSING], ["--data-dir", "no-such-dir"]),
        (["--dataset", "cifar"], ["--dataset", "'cifar'"]),
        (["--learning-rates", "0.5", "--weight-decays", "0,2"], ["--weight-decays", "2"]),
    ],
    mlcm_large: [
        (["--n-units", "1000", "--connectivity", "5000"], ["--connectivity", "5000"]),
        (["--threads", "0"], ["--threads", "'0'"]),
        (["--threads", "2000"], ["--threads", "'2000'"]),
        (["--epochs", "0"], ["--epochs", "'0'"]),
        (["--n-units", "500"], ["--n-units", "'500'"]),
        (["--n-layers", "0"], ["--n-layers", "'0'"]),
        (["--connectivity", "0"], ["--connectivity", "'0'"]),
        (["--train-samples", "0"], ["--train-samples", "'0'"]),
        (["--test-samples", "0"], ["--test-samples", "'0'"]),
        (["--train-eval", "-1"], ["--train-eval", "'-1'"]),
        (["--learning-rate", "-1"], ["--learning-rate", "'-1'"]),
        (["--margin", "nan"], ["--margin", "'nan'"]),
        (["--readout-lr", "0"], ["--readout-lr", "'0'"]),
        (["--max-steps", "0"], ["--max-steps", "'0'"]),
        (["--seed", "-1"], ["--seed", "'-1'"]),
        (["--data-dir", MISSING], ["--data-dir", "no-such-dir"]),
    ],
    backprop_reference: [
        (["--lr", "-1"], ["--lr", "'-1'"]),
        (["--lr", "0"], ["--lr", "'0'"]),
        (["--weight-decay", "nan"], ["--weight-decay", "'nan'"]),
        (["--weight-decay", "-0.1"], ["--weight-decay", "'-0.1'"]),
        (["--lr", "0.5", "--weight-decay", "2"], ["--weight-decay", "2"]),
        (["--hidden", "0"], ["--hidden", "'0'"]),
        (["--epochs", "0"], ["--epochs", "'0'"]),
        (["--batch-size", "0"], ["--batch-size", "'0'"]),
        (["--inits", "0"], ["--inits", "'0'"]),
        (["--dropout", "1,0.5"], ["--dropout", "'1,0.5'"]),
        (["--dropout", "0.1"], ["--dropout", "'0.1'"]),
        (["--dropout", "nan,0.1"], ["--dropout", "'nan'"]),
        (["--train-samples", "0"], ["--train-samples", "'0'"]),
        (["--test-samples", "-1"], ["--test-samples", "'-1'"]),
        (["--train-eval", "-1"], ["--train-eval", "'-1'"]),
        (["--seed", "-1"], ["--seed", "'-1'"]),
        (["--data-dir", MISSING], ["--data-dir", "no-such-dir"]),
        (["--dataset", "cifar"], ["--dataset", "'cifar'"]),
    ],
    kernel_ceiling: [
        (["--data-dir", MISSING], ["--data-dir", "no-such-dir"]),
        (["--train-sizes", "0"], ["--train-sizes", "'0'"]),
        (["--train-sizes", "100,50000"], ["--train-sizes", "'50000'"]),
        (["--train-sizes", "100,"], ["--train-sizes", "'100,'"]),
        (["--ridge", "0"], ["--ridge", "'0'"]),
        (["--ridge", "nan"], ["--ridge", "'nan'"]),
        (["--bias", "-1"], ["--bias", "'-1'"]),
        (["--dataset", "cifar"], ["--dataset", "'cifar'"]),
    ],
}


@pytest.mark.parametrize("module, argv, expected", [
    pytest.param(m, argv, expected, id=f"{m.__name__}:{' '.join(argv)}")
    for m, cases in PARSE_CASES.items() for argv, expected in cases])
def test_bad_arguments_are_refused_before_the_file_exists(module, argv, expected, tmp_path, capsys):
    _refused(module, _subst(argv, tmp_path), tmp_path / "run.h5", capsys, *expected)


# Refused against the data set's size (the synthetic one: 60 training, 20 test images);
# without the check the slices would silently use fewer images (or overlap).
DATA_CASES = [
    (mlcm_baseline, ["--train-samples", "61"], ["--train-samples", "61", "60"]),
    (mlcm_baseline, ["--datasets", "mnist,fashion-projected", "--test-samples", "21"],
     ["--test-samples", "21", "20"]),
    (mlcm_sparsity, ["--mode", "wta", "--train-samples", "100000"], ["--train-samples", "100000"]),
    (mlcm_tuning, ["--train-samples", "50", "--holdout", "11"], ["--holdout", "11", "10"]),
    (mlcm_tuning, ["--train-samples", "60", "--holdout", "1"], ["--train-samples", "60"]),
    (mlcm_tuning, [], ["--train-samples", "20000"]),     # defaults 20,000 + 5,000 > 60
    (mlcm_large, ["--n-units", "1000", "--connectivity", "8", "--test-samples", "21"],
     ["--test-samples", "21"]),
    (backprop_reference, ["--dataset", "mnist", "--train-samples", "61"], ["--train-samples", "61"]),
    (kernel_ceiling, ["--dataset", "mnist-projected", "--train-sizes", "10,61"],
     ["--train-sizes", "61"]),
]


@pytest.mark.parametrize("module, argv, expected", [
    pytest.param(m, argv, expected, id=f"{m.__name__}:{' '.join(argv)}") for m, argv, expected in DATA_CASES])
def test_sample_counts_beyond_the_data_set_are_refused(module, argv, expected, small_data, tmp_path,
                                                       capsys):
    _refused(module, [*argv, "--data-dir", str(small_data)], tmp_path / "run.h5", capsys, *expected)


MISSING_DATA = [
    (mlcm_baseline, ["--datasets", "fashion"]),
    (mlcm_sparsity, ["--mode", "threshold"]),
    (mlcm_tuning, []),
    (mlcm_large, ["--n-units", "1000", "--connectivity", "8"]),
    (backprop_reference, []),
    (kernel_ceiling, ["--train-sizes", "100"]),
]


@pytest.mark.parametrize("module, argv", [
    pytest.param(m, argv, id=m.__name__) for m, argv in MISSING_DATA])
def test_missing_data_is_refused_before_the_file_exists(module, argv, tmp_path):
    """An existing --data-dir without the files, an empty cache, no download."""
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "run.h5"
    with pytest.raises(FileNotFoundError, match="files not found"):
        module.main([*argv, "--data-dir", str(empty), "--out", str(out)])
    assert not out.exists()


# Refused by rrnn (ValueError, one line under run_main) after the data check, still
# before the file is created.
LATE_CASES = [
    (mlcm_baseline, ["--datasets", "mnist", "--sln-lr", "0.01,0.010"], "--sln-lr: two values"),
    (mlcm_sparsity, ["--mode", "wta", "--n-layers", "2"], "n_layers >= 3"),
    (mlcm_tuning, ["--learning-rates", "0.01,0.010", "--train-samples", "10", "--holdout", "10"],
     "two values give the same unit name"),
    (kernel_ceiling, ["--dataset", "mnist", "--train-sizes", "10,10"],
     "--train-sizes/--ridge/--bias: two values"),
]


@pytest.mark.parametrize("module, argv, match", [
    pytest.param(m, argv, match, id=f"{m.__name__}:{' '.join(argv)}") for m, argv, match in LATE_CASES])
def test_values_rrnn_refuses_leave_no_file(module, argv, match, small_data, tmp_path):
    out = tmp_path / "run.h5"
    with pytest.raises(ValueError, match=match):
        module.main([*argv, "--data-dir", str(small_data), "--out", str(out)])
    assert not out.exists()


def test_defaults_are_unchanged():
    """Valid inputs keep their stored config: the defaults a resumed file compares with."""
    d = mlcm_baseline.model_defaults()
    assert (d["n_units"], d["n_layers"], d["epochs"], d["inits"], d["train_eval"], d["sln_lr"],
            d["mlp_hidden"], d["max_steps"], d["seed"], d["train_samples"]) == \
        (1000, 5, 20, 10, 10000, [0.01], 0, 50, 0, None)


def test_finished_large_run_is_read_back_where_it_would_not_fit(small_data, tmp_path, monkeypatch,
                                                                capsys):
    """mlcm_large on a machine too small for its network: a new run is refused with the
    memory estimate, but a finished run's file is still reported (no memory check)."""
    from rrnn import memory

    argv = ["--n-units", "1000", "--connectivity", "8", "--train-samples", "60",
            "--test-samples", "20", "--train-eval", "0", "--max-steps", "3",
            "--data-dir", str(small_data)]
    out = tmp_path / "large.h5"
    mlcm_large.main([*argv, "--out", str(out)])
    capsys.readouterr()
    monkeypatch.setattr(memory, "available_bytes", lambda: 1000)
    mlcm_large.main([*argv, "--out", str(out)])
    assert "already done" in capsys.readouterr().out
    fresh = tmp_path / "fresh.h5"
    with pytest.raises(MemoryError, match="needs about"):
        mlcm_large.main([*argv, "--out", str(fresh)])
    assert not fresh.exists()


TINY_MODEL = ["--n-units", "800", "--n-layers", "3", "--epochs", "1", "--inits", "1",
              "--train-samples", "30", "--test-samples", "10", "--train-eval", "0",
              "--max-steps", "3", "--no-progress"]
FINISHED_RUNS = [
    (mlcm_baseline, ["--datasets", "mnist", *TINY_MODEL], None),
    (mlcm_sparsity, ["--mode", "threshold", "--values", "0.05", *TINY_MODEL], None),
    (mlcm_tuning, ["--learning-rates", "0.01", "--margins", "1", "--epochs", "1",
                   "--train-samples", "30", "--holdout", "10", "--no-progress"], None),
    (mlcm_large, ["--n-units", "1000", "--connectivity", "8", "--train-samples", "30",
                  "--test-samples", "10", "--train-eval", "0", "--max-steps", "3"], 1),
]


@pytest.mark.parametrize("module, argv, threads", [
    pytest.param(m, argv, t, id=m.__name__) for m, argv, t in FINISHED_RUNS])
def test_mlcm_drivers_record_their_thread_count(module, argv, threads, small_data, tmp_path):
    """Every MLCM driver stores the numba thread count it trained with in /runs/<id>
    (``--threads`` where the driver has it, else all of numba's threads)."""
    import h5py
    import numba

    out = tmp_path / "run.h5"
    extra = [] if threads is None else ["--threads", str(threads)]
    module.main([*argv, *extra, "--data-dir", str(small_data), "--out", str(out)])
    with h5py.File(out, "r") as f:
        runs = list(f["runs"].values())
        assert len(runs) == 1 and len(f["units"]) >= 1
        assert runs[0].attrs["n_threads"] == (threads or numba.get_num_threads())
