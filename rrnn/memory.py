"""Memory estimates: refuse work that cannot fit before allocating anything."""

from __future__ import annotations

import os

#: Fraction of the currently available memory a single request may use.
USABLE_FRACTION = 0.9


def available_bytes() -> int:
    """Memory the operating system can give us now (MemAvailable on Linux)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 1 << 62


def format_bytes(n: float) -> str:
    """Human-readable size, e.g. ``'1.25 GB'`` (decimal units)."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1000.0
    return f"{n:.2f} TB"


#: What :func:`require` suggests unless its caller knows better.
DEFAULT_ADVICE = "use a smaller n or batch, or bit-packed/sparse couplings"

#: The advice for bit-packed matrices, which cannot get any smaller per coupling.
SMALLER_N = "use a smaller n (the matrix is already bit-packed, one bit per coupling)"


def require(nbytes: int, what: str, advice: str = DEFAULT_ADVICE) -> None:
    """Raise :class:`MemoryError` if ``nbytes`` will not fit in memory now.

    Parameters
    ----------
    nbytes : int
        Estimated peak allocation of the request.
    what : str
        Description of the request, used in the message, e.g.
        ``"binary(n=300000)"``.
    advice : str
        What the caller can change, ending the message.
    """
    avail = available_bytes()
    if nbytes > USABLE_FRACTION * avail:
        raise MemoryError(
            f"{what} needs about {format_bytes(nbytes)} of memory, but only "
            f"{format_bytes(avail)} is available; {advice}")
