"""Figures drawn from stored HDF5 results only (never from live objects)."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from . import fits


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def read_summary(path) -> dict[str, np.ndarray]:
    with h5py.File(path, "r") as f:
        if "summary" not in f:
            raise ValueError(f"{path}: no /summary group; the scan has not finished any size yet")
        return {k: v[()] for k, v in f["summary"].items()}


def plot_critical_scan(path, png=None) -> tuple[Path, list]:
    """J_D* against N (log axis): max, median with 95% CI, quartiles, fitted laws.

    Parameters
    ----------
    path : str or Path
        HDF5 file of a critical self-coupling scan.
    png : str or Path, optional
        Output figure; defaults to the HDF5 path with ``.png``.

    Returns
    -------
    (png path, list of :class:`rrnn.fits.Fit` for the median, best first)
    """
    plt = _pyplot()
    s = read_summary(path)
    n = s["n"].astype(np.float64)
    png = Path(png) if png else Path(path).with_suffix(".png")
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.fill_between(n, s["q25"], s["q75"], color="tab:blue", alpha=0.15, label="quartiles")
    ax.errorbar(n, s["median"], yerr=[s["median"] - s["median_lo"], s["median_hi"] - s["median"]],
                fmt="o", color="tab:blue", capsize=3, label="median (95% bootstrap CI)")
    ax.errorbar(n, s["max"], yerr=[s["max"] - s["max_lo"], s["max_hi"] - s["max"]],
                fmt="s", color="tab:red", capsize=3, label=r"max over samples ($J_D^*$, thesis)")
    found = []
    if n.size >= 4:
        sigma = np.maximum((s["median_hi"] - s["median_lo"]) / 3.92, 1e-4)
        found = fits.fit_candidates(n, s["median"], sigma)
        grid = np.geomspace(n.min(), n.max() * 3, 200)
        for i, f in enumerate(found):
            ax.plot(grid, f(grid), lw=2.0 if i == 0 else 1.0, ls="-" if i == 0 else "--",
                    label=f"{f.formula}{'  (best AICc)' if i == 0 else ''}")
    ax.set_xscale("log")
    ax.set_xlabel("network size N")
    ax.set_ylabel(r"critical self-coupling $J_D$")
    counts = ", ".join(f"{int(a)}:{int(c)}" for a, c in zip(s["n"], s["count"]))
    # the sample counts wrap onto a second line so the title fits the axes
    ax.set_title(f"Critical self-coupling vs N\nsamples per N: {counts}", fontsize=8)
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(png, dpi=130)
    plt.close(fig)
    return png, found
