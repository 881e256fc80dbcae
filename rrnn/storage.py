"""HDF5 result files: one file per run, written one finished unit at a time.

File layout (every file written by rrnn)::

    /                       attributes: kind, config (JSON), created, rrnn_version,
                            numpy_version, numba_version, git_revision, and the
                            run metadata the driver passes (``extra_attrs``, e.g.
                            backend, n_threads, seed_entropy) of the creating run
    /units/<name>/          one group per finished unit of work (e.g. one (N, draw)
                            of a scan): datasets + attributes (including run_id, the
                            id of the process that computed it), written atomically
    /runs/<run_id>/         one group per process that opened the file (attributes:
                            started, versions, git revision, backend, n_threads, ...),
                            so each unit's run_id says how it was computed
    /summary/...            optional derived tables (rewritten at the end)

Crash safety: each unit is added by copying the file to ``<path>.tmp``,
writing the unit there and ``os.replace``-ing it over the original, so a kill
at any moment leaves either the old or the new complete file. Result files of
scans are small (kB to MB), so the copy costs little next to the unit itself.
A rerun with the same ``kind`` and configuration resumes: :meth:`ResultFile.done`
lists the finished units. A rerun with a different configuration is refused.

Concurrent runs on one path: every write holds an exclusive ``flock`` on
``<path>.lock`` (an empty file left in place), so two processes never share the
``.tmp`` copy, and each copy starts from the other's latest write: no unit is
lost, though both runs may compute the same units. A file system without flock
gets unlocked writes and a RuntimeWarning.
"""

from __future__ import annotations

import datetime
import errno
import fcntl
import json
import os
import shutil
import subprocess
import uuid
import warnings
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

import h5py
import numpy as np


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


def _attr(value):
    """An HDF5 attribute value; None is stored as the string 'none'."""
    return value if value is not None else "none"


def git_revision() -> str:
    """The git revision of the rrnn source tree, or 'unknown'."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True,
                             text=True, timeout=5)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _canonical(config: dict) -> str:
    return json.dumps(config, sort_keys=True, default=_json_default)


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"config value {value!r} is not JSON serialisable")


#: errno values of a file system without flock support.
_NO_FLOCK = {errno.ENOLCK, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP}


@contextmanager
def locked(path):
    """Hold an exclusive ``flock`` on ``<path>.lock`` (created if missing, left in place):
    another process entering ``locked(path)`` waits until this one leaves.

    Parameters
    ----------
    path : str or Path
        The file that the lock guards; its directory must exist.
    """
    path = Path(path)
    with open(path.with_name(path.name + ".lock"), "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)      # released when the handle closes
        except OSError as exc:
            if exc.errno not in _NO_FLOCK:
                raise
            # Some cluster file systems (e.g. Lustre mounted without -o flock) have no
            # flock: write unlocked, as before locks existed, rather than not at all.
            warnings.warn(f"{path}: the file system does not support flock ({exc.strerror}); "
                          f"writing without a lock, so do not run two jobs on this file at once",
                          RuntimeWarning, stacklevel=3)
        yield


@contextmanager
def new_file(path):
    """Write a whole HDF5 file atomically (models, checkpoints): yields an ``h5py.File``
    open on ``<path>.tmp``, which replaces ``path`` only after a clean close. Held under
    :func:`locked`, so two processes saving one path never share the copy.

    Parameters
    ----------
    path : str or Path
        Destination; its directory is created if missing.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with locked(path), _replacing(path, copy=False) as f:
        yield f


@contextmanager
def _replacing(path: Path, copy: bool):
    """Open ``<path>.tmp`` for writing (a copy of ``path`` when ``copy`` and it exists,
    else empty) and replace ``path`` with it only after a clean close, so a kill at
    any moment leaves the old or the new complete file. The caller holds the lock."""
    if path.is_dir():
        raise IsADirectoryError(f"{path}: a directory; expected a file path")
    if path.exists() and (not os.access(path, os.W_OK) or not path.stat().st_mode & 0o222):
        # The user protected it (no write bit: root may write anyway, so the bits
        # are checked too); replacing it would lift that silently.
        raise PermissionError(f"{path}: the file is read-only; make it writable "
                              f"(chmod u+w) to add to it, or choose another path")
    tmp = path.with_name(path.name + ".tmp")
    if tmp.exists():            # left by a kill during a write (writers hold the lock)
        tmp.unlink()
    if copy and path.exists():
        shutil.copyfile(path, tmp)
    try:
        with h5py.File(tmp, "a" if copy else "w") as f:
            yield f
        if path.exists():       # keep its permissions (e.g. group-writable)
            shutil.copymode(path, tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


class ResultFile:
    """An HDF5 result file that grows one finished unit at a time.

    Parameters
    ----------
    path : str or Path
    kind : str
        What the file holds, e.g. ``"critical_self_coupling_scan"``.
    config : dict
        Everything that determines the results (JSON-serialisable). A file with
        the same path but another kind or config is refused.
    extra_attrs : dict, optional
        Run metadata (backend, threads, seed entropy, ...): stored in the root
        attributes by the run that creates the file, and in ``/runs/<run_id>`` by
        every run.
    defaults : dict, optional
        Default values of options that a driver may have gained after a file was
        written: a stored config without such a key still matches (and resumes) when
        this run's value is the default, since the older run behaved as the default.
    """

    def __init__(self, path, kind: str, config: dict, extra_attrs: dict | None = None,
                 defaults: dict | None = None):
        self.path = Path(path)
        self.kind = kind
        self.config = config
        self.defaults = defaults or {}
        # Identifies this process's writes: a resumed run keeps older units' ids.
        self.run_id = uuid.uuid4().hex
        self.path.parent.mkdir(parents=True, exist_ok=True)
        run_attrs = dict(started=_now(), rrnn_version=_version("rrnn"),
                         numpy_version=np.__version__, numba_version=_version("numba"),
                         git_revision=git_revision(), **(extra_attrs or {}))
        with locked(self.path):
            if self.path.exists():
                self._check_matches()
            with _replacing(self.path, copy=True) as f:
                if "kind" not in f.attrs:          # a new file
                    f.attrs["kind"] = kind
                    f.attrs["config"] = _canonical(config)
                    f.attrs["created"] = run_attrs["started"]
                    for key, value in run_attrs.items():
                        if key != "started":
                            f.attrs[key] = _attr(value)
                    f.create_group("units")
                run = f.require_group("runs").create_group(self.run_id)
                for key, value in run_attrs.items():
                    run.attrs[key] = _attr(value)

    def _check_matches(self) -> None:
        try:
            with h5py.File(self.path, "r") as f:
                kind = f.attrs.get("kind")
                config = f.attrs.get("config")
        except OSError as exc:
            raise ValueError(f"output file {str(self.path)!r} exists but is not a readable HDF5 "
                             f"file ({exc}); move it away or choose another path") from exc
        if kind != self.kind or config != self._as_stored(config):
            raise ValueError(
                f"output file {str(self.path)!r} holds a different run ({self._differences(kind, config)}). "
                f"Choose another path to start a new run, or rerun with the same arguments to resume")

    def _differences(self, kind, stored) -> str:
        """What differs between the file and this run, key by key where possible."""
        if kind != self.kind:
            return f"kind: stored {kind!r}, expected {self.kind!r}"
        try:
            old, new = json.loads(stored), json.loads(self._as_stored(stored))
        except (TypeError, ValueError):
            return f"config: stored {stored!r}, expected {_canonical(self.config)}"
        return "; ".join(differing_keys(old, new))

    def _as_stored(self, stored: str | None) -> str:
        """This run's config in canonical form, without the keys that ``stored`` lacks
        and that hold their default here (options added after the file was written)."""
        try:
            stored_keys = set(json.loads(stored))
        except (TypeError, ValueError):
            return _canonical(self.config)
        return _canonical({k: v for k, v in self.config.items()
                           if k in stored_keys or k not in self.defaults
                           or _canonical(v) != _canonical(self.defaults[k])})

    @contextmanager
    def _writing(self):
        """Open a copy for writing, under the lock; replace the original after a clean close."""
        with locked(self.path), _replacing(self.path, copy=True) as f:
            yield f

    def done(self) -> set[str]:
        """Names of the finished units."""
        names: set[str] = set()
        with h5py.File(self.path, "r") as f:
            f["units"].visititems(
                lambda name, obj: names.add(name) if obj.attrs.get("_unit", False) else None)
        return names

    def write_unit(self, name: str, arrays: dict, attrs: dict | None = None) -> None:
        """Store one finished unit atomically.

        Parameters
        ----------
        name : str
            Unit name, unique in the file (e.g. ``"n=10000/draw=3"`` becomes
            nested groups).
        arrays : dict of str -> array_like
            Datasets (compressed when larger than a few kB).
        attrs : dict, optional
            Scalar attributes of the unit.
        """
        with self._writing() as f:
            units = f["units"]
            if name in units:
                del units[name]
            g = units.create_group(name)
            for key, value in arrays.items():
                value = np.asarray(value)
                big = value.nbytes > 4096
                g.create_dataset(key, data=value, compression="gzip" if big else None,
                                 chunks=True if big else None)
            for key, value in (attrs or {}).items():
                g.attrs[key] = value
            g.attrs["_unit"] = True
            g.attrs["run_id"] = self.run_id

    def write_summary(self, arrays: dict, attrs: dict | None = None) -> None:
        """(Re)write the ``/summary`` group of derived tables."""
        with self._writing() as f:
            if "summary" in f:
                del f["summary"]
            g = f.create_group("summary")
            for key, value in arrays.items():
                g.create_dataset(key, data=np.asarray(value))
            for key, value in (attrs or {}).items():
                g.attrs[key] = value

    def read_units(self) -> dict[str, dict]:
        """All finished units: name -> {dataset: array, 'attrs': dict}."""
        return read_units(self.path)


def read_units(path) -> dict[str, dict]:
    """The finished units of any rrnn result file, read-only (for plots and checks).

    Returns
    -------
    dict name -> {dataset name: array, 'attrs': dict (including 'run_id')}
    """
    out: dict[str, dict] = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if obj.attrs.get("_unit", False):
                entry = {k: v[()] for k, v in obj.items() if isinstance(v, h5py.Dataset)}
                entry["attrs"] = {k: v for k, v in obj.attrs.items() if k != "_unit"}
                entry["attrs"]["run_id"] = str(obj.attrs.get("run_id", ""))
                out[name] = entry
        f["units"].visititems(visit)
    return out


def _brief(value, limit: int = 80) -> str:
    """``repr(value)``; a long list shows its first and last items and its length
    (a 61-point grid would otherwise fill the terminal)."""
    text = repr(value)
    if len(text) <= limit or not isinstance(value, list) or len(value) < 5:
        return text
    return f"[{value[0]!r}, {value[1]!r}, ..., {value[-1]!r}] ({len(value)} values)"


def differing_keys(stored: dict, wanted: dict, ignore=()) -> list[str]:
    """``"key: stored X, expected Y"`` for each key (outside ``ignore``) whose value
    differs between two settings dicts, a key missing from one as ``(absent)``; long
    lists are abbreviated to their ends and length."""
    return [_difference(k, stored.get(k, "(absent)"), wanted.get(k, "(absent)"))
            for k in sorted(set(stored) | set(wanted))
            if k not in ignore and stored.get(k) != wanted.get(k)]


def _difference(key, old, new) -> str:
    if (isinstance(old, list) and isinstance(new, list) and len(old) == len(new)
            and len(repr(old)) > 80):
        i = next(i for i, (a, b) in enumerate(zip(old, new)) if a != b)
        return (f"{key}: stored and expected differ first at [{i}] of {len(old)} values: "
                f"stored {old[i]!r}, expected {new[i]!r}")
    return f"{key}: stored {_brief(old)}, expected {_brief(new)}"


def open_for_reading(path) -> h5py.File:
    """``path`` opened read-only; a missing path, a directory or a file that is not
    HDF5 is refused with a message that names it."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path}: a directory, not a result file")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise ValueError(f"{path}: not an HDF5 file ({exc})") from exc


def read_config(path) -> tuple[str, dict]:
    """(kind, config) of an rrnn result file."""
    with open_for_reading(path) as f:
        return _kind_and_config(f, path)


def _kind_and_config(f: h5py.File, path) -> tuple[str, dict]:
    if "kind" not in f.attrs or "config" not in f.attrs:
        raise ValueError(f"{path}: not an rrnn result file (no 'kind' and 'config' attributes)")
    return str(f.attrs["kind"]), json.loads(f.attrs["config"])


#: Kinds of the whole-file models written through :func:`new_file`.
MODEL_KINDS = ("rrnn.MLCM", "rrnn.Perceptron")


def describe(path, expected_units=None) -> str:
    """A readable summary of an rrnn result file: kind, configuration, the runs that
    wrote it (with how many units each computed), the units and the summary tables.
    A model or checkpoint file (``MLCM.save``, ``Perceptron.save``) is described by
    its parameters, the epochs done and the per-epoch history.

    Parameters
    ----------
    path : str or Path
    expected_units : callable, optional
        ``expected_units(kind, config)``: all the unit names of the complete run, or
        None when the code that writes this kind does not know them; for reporting
        progress and what is left.

    Returns
    -------
    str
        Several lines, for ``rrnn info``.
    """
    with open_for_reading(path) as f:
        if f.attrs.get("kind") in MODEL_KINDS:
            return _describe_model(f, path)
        kind, config = _kind_and_config(f, path)
    expected = None if expected_units is None else expected_units(kind, config)
    units = read_units(path)
    per_run: dict[str, int] = {}
    for entry in units.values():
        run_id = entry["attrs"]["run_id"]
        per_run[run_id] = per_run.get(run_id, 0) + 1
    lines = [f"file: {path}", f"kind: {kind}", "config:"]
    lines += [f"  {key} = {json.dumps(value)}" for key, value in sorted(config.items())]
    with h5py.File(path, "r") as f:
        created = {k: str(f.attrs.get(k, "?")) for k in ("created", "rrnn_version", "git_revision")}
        lines.append(f"created: {created['created']} (rrnn {created['rrnn_version']}, "
                     f"git {created['git_revision']})")
        runs = f.get("runs")
        if runs is None:
            lines.append("runs: not recorded (file written before rrnn recorded its runs)")
        else:
            lines.append(f"runs: {len(runs)}")
            for run_id, group in sorted(runs.items(), key=lambda item: str(item[1].attrs["started"])):
                attrs = {k: str(v) for k, v in group.attrs.items()}
                if "backend_used" in attrs and attrs.get("backend") != attrs["backend_used"]:
                    attrs["backend"] = f"{attrs.get('backend', '?')} ({attrs['backend_used']})"
                shown = [f"{label} {attrs[key]}" for key, label in
                         (("started", "started"), ("backend", "backend"),
                          ("n_threads", "threads"), ("git_revision", "git")) if key in attrs]
                lines.append(f"  {run_id[:8]}  " + "  ".join(shown)
                             + f"  units {per_run.get(run_id, 0)}")
        if expected is None:
            lines.append(f"units: {len(units)} finished")
        else:
            left = [name for name in expected if name not in units]
            lines.append(f"units: {len(units)} of {len(expected)} finished"
                         + (f"; {len(left)} left, next {left[0]}" if left else "; complete"))
        names = sorted(units)
        if names:
            shown = names if len(names) <= 6 else names[:3] + ["..."] + names[-2:]
            lines.append("  " + ", ".join(shown))
        summary = f.get("summary")
        if summary is None:
            lines.append("summary: none yet")
        else:
            lines.append("summary:")
            lines += [f"  {name} {dataset.shape} {dataset.dtype}"
                      for name, dataset in summary.items() if isinstance(dataset, h5py.Dataset)]
    return "\n".join(lines)


def _describe_model(f: h5py.File, path) -> str:
    """The lines of :func:`describe` for a file written by ``MLCM.save`` or
    ``Perceptron.save``."""
    params = json.loads(f.attrs["params"])
    lines = [f"file: {path}", f"kind: {f.attrs['kind']}", "params:"]
    lines += [f"  {key} = {json.dumps(value)}" for key, value in sorted(params.items())]
    progress = f"epochs done: {int(f.attrs['epochs_done'])} of {params.get('epochs', '?')}"
    if "samples_seen" in f.attrs:
        progress += f", samples seen: {int(f.attrs['samples_seen'])}"
    lines.append(progress)
    history = f.get("history")
    series = {k: v[()] for k, v in history.items() if v.ndim == 1} if history is not None else {}
    if series:
        names = sorted(series)
        width = {name: max(len(name), 9) for name in names}
        lines.append("history (one row per epoch):")
        lines.append("  epoch " + " ".join(f"{name:>{width[name]}}" for name in names))
        for epoch in range(max(len(v) for v in series.values())):
            cells = [f"{series[name][epoch]:{width[name]}.4f}" if epoch < len(series[name])
                     else " " * width[name] for name in names]
            lines.append(f"  {epoch + 1:>5} " + " ".join(cells))
    return "\n".join(lines)
