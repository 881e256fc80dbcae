"""cffi builder of ``_rrnn_core`` (out-of-line API mode), a top-level module so that
the installed core is found even when ``rrnn`` itself is imported from a source checkout.

Used by ``setup.py`` (``cffi_modules=["csrc/build_core.py:ffibuilder"]``) and
runnable on its own from the project root (``python csrc/build_core.py``) to
build the extension in place.

The cdef is ``csrc/rrnn_core.h`` itself, minus its preprocessor lines (integer
``#define`` constants are kept: cffi understands them).

OpenMP is chosen by the environment variable ``RRNN_OPENMP``:

``auto`` (default)
    probe the compiler with a tiny OpenMP program; without OpenMP, build a
    serial core and say so.
``on``
    require OpenMP; fail the build if the probe fails.
``off``
    build the serial core.

``RRNN_SANITIZE=on`` (default ``off``) builds the core for AddressSanitizer and
UndefinedBehaviorSanitizer (``-O1 -g``, recoverable reports, signed-overflow checks
that Python's ``-fwrapv`` would otherwise disable); run it with the sanitizer
runtimes preloaded, as the README's "Checking the C core" says. For audits only.

No ``-march`` flag: the SIMD kernels are compiled for AVX2 and AVX-512 with
per-function target attributes and chosen at run time.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import sysconfig
import tempfile

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
HEADER = os.path.join(HERE, "rrnn_core.h")
SOURCES = ["rrnn_util.c", "rrnn_kernels.c", "rrnn_fields.c", "rrnn_simulate.c", "rrnn_count.c"]

# Exact IEEE arithmetic in the field formula (no FMA contraction, no
# fast-math reassociation): results must match numpy bit for bit.
BASE_FLAGS = ["-O3", "-ffp-contract=off", "-fno-fast-math",
              "-Wall", "-Wno-unknown-pragmas"]

_PROBE = r"""
#include <omp.h>
int main(void)
{
    int s = 0;
#pragma omp parallel for reduction(+ : s) num_threads(2)
    for (int i = 0; i < 100; i++)
        s += i;
    return (s == 4950 && omp_get_max_threads() >= 1) ? 0 : 1;
}
"""


def _say(message: str) -> None:
    print(f"rrnn build: {message}", file=sys.stderr, flush=True)


def _compiler() -> list[str]:
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    return shlex.split(cc)


def _openmp_works() -> tuple[bool, str]:
    """Compile, link and run a tiny OpenMP program with the build compiler."""
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe.c")
        exe = os.path.join(tmp, "probe")
        with open(src, "w") as f:
            f.write(_PROBE)
        cmd = _compiler() + ["-fopenmp", src, "-o", exe]
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.SubprocessError) as exc:
            return False, f"{' '.join(cmd)}: {exc}"
        if res.returncode != 0:
            return False, f"{' '.join(cmd)} failed: {res.stderr.strip()[:500]}"
        try:
            run = subprocess.run([exe], capture_output=True, timeout=60)
        except (OSError, subprocess.SubprocessError) as exc:
            return False, f"probe did not run: {exc}"
        if run.returncode != 0:
            return False, "probe ran but returned a wrong result"
    return True, ""


def openmp_flags() -> list[str]:
    """``-fopenmp`` or nothing, according to ``RRNN_OPENMP``."""
    mode = os.environ.get("RRNN_OPENMP", "auto").strip().lower() or "auto"
    if mode not in ("auto", "on", "off"):
        raise SystemExit(f"RRNN_OPENMP={mode!r}: expected auto, on or off")
    if mode == "off":
        _say("RRNN_OPENMP=off: building the serial core (no OpenMP)")
        return []
    ok, why = _openmp_works()
    if ok:
        _say("OpenMP enabled (-fopenmp)")
        return ["-fopenmp"]
    if mode == "on":
        raise SystemExit(f"rrnn build: RRNN_OPENMP=on but OpenMP does not work: {why}")
    _say(f"OpenMP not available, building the serial core ({why})")
    return []


SANITIZE_FLAGS = ["-O1", "-g", "-fno-omit-frame-pointer", "-fno-wrapv",
                  "-fsanitize=address,undefined", "-fsanitize-recover=address"]


def sanitize_flags() -> tuple[list[str], list[str]]:
    """(compile, link) flags according to ``RRNN_SANITIZE``."""
    mode = os.environ.get("RRNN_SANITIZE", "off").strip().lower() or "off"
    if mode not in ("on", "off"):
        raise SystemExit(f"RRNN_SANITIZE={mode!r}: expected on or off")
    if mode == "off":
        return [], []
    _say("RRNN_SANITIZE=on: building for AddressSanitizer + UBSan (slow; audits only)")
    return SANITIZE_FLAGS, ["-fsanitize=address,undefined"]


def cdef_text(path: str = HEADER) -> str:
    """The header without preprocessor lines, except integer constants."""
    keep = []
    define = re.compile(r"^#define\s+[A-Za-z_]\w*\s+-?\d+\s*$")
    with open(path) as f:
        for line in f:
            stripped = line.strip()
            if stripped.startswith("#") and not define.match(stripped):
                continue
            keep.append(line)
    return "".join(keep)


def _relative(path: str) -> str:
    # setuptools wants source paths relative to the project root (the cwd of
    # the build); fall back to absolute when run from elsewhere.
    rel = os.path.relpath(path, os.getcwd())
    return path if rel.startswith("..") else rel


_omp = openmp_flags()
_san_compile, _san_link = sanitize_flags()

ffibuilder = FFI()
ffibuilder.cdef(cdef_text())
ffibuilder.set_source(
    "_rrnn_core",
    '#include "rrnn_core.h"',
    sources=[_relative(os.path.join(HERE, s)) for s in SOURCES],
    include_dirs=[_relative(HERE)],
    depends=[_relative(os.path.join(HERE, h)) for h in
             ("rrnn_core.h", "rrnn_internal.h", "rrnn_kernels_internal.h")],
    # the sanitizer's -O1 comes after BASE_FLAGS' -O3 and wins
    extra_compile_args=BASE_FLAGS + _omp + _san_compile,
    extra_link_args=list(_omp) + _san_link,
)

if __name__ == "__main__":
    root = os.path.dirname(HERE)
    os.chdir(root)
    ffibuilder.compile(tmpdir=root, verbose=True)
