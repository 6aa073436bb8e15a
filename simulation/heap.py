"""What the process's heap holds, as glibc counts it: to tell memory kept (a leak, a cache) from memory the
allocator merely has not given back (the soak's memory figures, and tests that a customer's data is not kept)."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                     "fsmblks", "uordblks", "fordblks", "keepcost")]  # fmt: skip


def _libc() -> Any:
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
        return libc
    except (OSError, AttributeError):  # not glibc ≥ 2.33: no allocator figures
        return None


_LIBC = _libc()


@dataclass(frozen=True)
class Heap:
    """glibc's heap over all its arenas, in bytes."""

    in_use: int
    held_free: int
    mmapped: int


def trimmed_heap() -> Heap | None:
    """The heap after glibc has handed back what it can (``malloc_trim(0)``); ``None`` where glibc cannot say.
    Call ``gc.collect()`` first when Python's garbage should not count."""
    if _LIBC is None:
        return None
    _LIBC.malloc_trim(0)
    info = _LIBC.mallinfo2()
    return Heap(in_use=info.uordblks, held_free=info.fordblks, mmapped=info.hblkhd)


def rss_mb() -> float:
    """The process's resident memory."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0
