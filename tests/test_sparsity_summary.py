"""The sparsity driver's summary table (analysis/mlcm_sparsity.py), on hand-made histories."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "analysis"))
from mlcm_sparsity import summary_table  # noqa: E402


def test_summary_table_rows():
    two = {"val_accuracy": np.array([[0.5, 0.8, 0.6], [0.7, 0.9, 0.8]]),
           "train_accuracy": np.array([[0.5, 0.9, 0.7], [0.6, 0.9, 0.9]]),
           "val_sparsity": np.array([[[0.2, 0.4], [0.2, 0.4], [0.1, 0.5]],
                                     [[0.2, 0.4], [0.2, 0.4], [0.3, 0.5]]])}
    one = {k: v[:1] for k, v in two.items()}
    lines = summary_table("threshold", {0.1: two, 0.2: one}).splitlines()
    assert lines[0].startswith("| gamma | inits |")
    # mean curve 0.6, 0.85, 0.7: best epoch 2; final half-width t(0.975, 1) * 0.1414 / sqrt(2)
    assert lines[2] == ("| 0.1 | 2 | 60.0% | 85.0% (2) | 70.0 ± 127.1% | 80.0% | "
                        "0.20 / 0.50 |")
    assert lines[3] == "| 0.2 | 1 | 50.0% | 80.0% (2) | 60.0% | 70.0% | 0.10 / 0.50 |"
    assert summary_table("wta", {0.5: one}).startswith("| delta |")
