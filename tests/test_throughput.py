"""rrnn.throughput and ``rrnn bench``: the figures are consistent with each other, the
batched kernel is checked against the plain loop, and bad input is refused up front.
(The speeds themselves are shown by benchmarks/, not asserted here.)"""

import json
import math

import numpy as np
import pytest

import rrnn
from rrnn import cli
from rrnn.throughput import format_throughput, kernel_throughput


def test_figures_are_consistent(c_backend):
    n, batch = 3000, 40
    r = kernel_throughput(n, batch, n_threads=2, repeat=1, seed=3)
    words = -(-n // 64)
    assert (r["n"], r["batch"], r["n_threads"]) == (n, batch, 2)
    assert r["matrix_bytes"] == n * words * 8
    assert r["simd"] == rrnn.config()["simd_selected"]
    for key in ("stream_s", "one_state_s", "batch_s"):
        assert math.isfinite(r[key]) and r[key] > 0, key
    assert r["stream_GBps"] == pytest.approx(r["matrix_bytes"] / r["stream_s"] / 1e9)
    assert r["batch_G_words_per_s"] == pytest.approx(n * words * batch / r["batch_s"] / 1e9)
    assert r["batch_ratio_to_peak"] == pytest.approx(r["batch_G_words_per_s"] / r["peak_G_words_per_s"])
    assert r["batch_ratio_to_plain"] == pytest.approx(r["batch_G_words_per_s"] / r["plain_G_words_per_s"])
    # one pair only: the paired ratio is that pair's ratio
    assert r["one_state_ratio_to_stream"] == pytest.approx(r["one_state_s"] / r["stream_s"])
    text = format_throughput(r)
    assert f"runs at {r['batch_ratio_to_peak']:.2f} of it" in text and "3,000" in text


def test_wrong_kernel_counts_are_reported(c_backend, monkeypatch):
    """The batched kernel's counts are compared with the plain loop's on every call."""
    real = c_backend.xor_popcount

    def off_by_one(rows, packed, n_threads=1):
        out = real(rows, packed, n_threads)
        out[-1, 0] += 1
        return out

    monkeypatch.setattr(c_backend, "xor_popcount", off_by_one)
    with pytest.raises(RuntimeError, match="differ from the plain loop"):
        kernel_throughput(1000, 8, n_threads=1, repeat=1)


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(n=10), r"n: .*>= 64.*10"),
    (dict(n=2.5), r"n: expected an int, got 2.5"),
    (dict(batch=0), r"batch: .*0"),
    (dict(batch=5000), r"batch: .*5000"),
    (dict(repeat=0), r"repeat: .*0"),
    (dict(n_threads=0), r"n_threads: .*0"),
])
def test_bad_input_is_refused(c_backend, kwargs, pattern):
    with pytest.raises((ValueError, TypeError), match=pattern):
        kernel_throughput(**{"n": 1000, **kwargs})


def test_matrix_that_does_not_fit_is_refused(c_backend):
    with pytest.raises(MemoryError, match=r"binary\(n=100000000\)"):
        kernel_throughput(10**8)


def test_cli_prints_and_writes_json(c_backend, tmp_path, capsys):
    out = tmp_path / "bench.json"
    argv = ["bench", "--n", "2000", "--batch", "8", "--repeat", "1", "--threads", "1",
            "--json", str(out)]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "x the stream" in printed and "G word-states/s" in printed
    saved = json.loads(out.read_text())
    assert saved["n"] == 2000 and saved["batch"] == 8 and saved["n_threads"] == 1
    assert np.isfinite(saved["batch_ratio_to_peak"])


def test_cli_bad_input_is_an_error(c_backend, capsys):
    assert cli.main(["bench", "--n", "5"]) == 2
    assert "rrnn: error: n:" in capsys.readouterr().err
