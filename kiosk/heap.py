"""The kiosk process's heap: glibc told, once at start, to give back what a visit's documents used.

A point runs one kiosk process for weeks, and every visit with a document moves megabytes through it (a scan
up, a printout down) beside a call whose threads (camera, codecs, Qt) allocate video frames all the time. With
glibc's defaults the heap's free-but-held part grew visit after visit (issue 24's soak: held free +76.6 MB
over 713 journeys, trimmed RSS +62.6 MB, while what was in use grew 18.7 MB). Two defaults caused it, measured
with 20 calls in one process, each with a 3 MiB scan up and a 2 MiB printout down (docs/reliability.md):

- **one arena per thread, up to 8 a core**: each thread's arena keeps its own holes; at most two arenas held
  28 → 33 MB free over the 20 calls instead of 32 → 62, and trimmed RSS stayed flat (+2 MB instead of +23);
- **the dynamic mmap threshold**: a freed 5 MiB buffer raises it, so later large buffers come from the heap and
  stay there. A fixed threshold of 4 MiB keeps video frames (a 720p picture is 2.7 MB) on the heap; glibc
  then also fixes the trim threshold at 128 KiB, and returning and re-faulting the heap's top made a 720p
  frame's capture and conversion cost 8.5 ms of CPU instead of 6.5-7.5; a 32 MiB trim threshold brings it to
  5.4-6.0 ms.

The call's CPU was the same with and without (``bench/bench_call.py --parts 2``, kiosk ÷ Chromium at 720p:
1.16 and 1.08 by default, 1.12 and 1.18 with these settings, runs alternating on a quiet machine; the kiosk
itself 90-92 % of a core and 91-93 %).
"""

from __future__ import annotations

import ctypes
import logging

log = logging.getLogger(__name__)

#: ``mallopt`` parameters, from glibc's ``<malloc.h>``.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8

ARENA_MAX = 2
MMAP_THRESHOLD = 4 * 1024 * 1024
TRIM_THRESHOLD = 32 * 1024 * 1024


def settle_allocator() -> bool:
    """Set the heap's limits before the process starts its threads (a thread keeps the arena it got first).
    False where the C library is not glibc: nothing is changed there, and the kiosk runs as before."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        log.info("not glibc: the heap keeps the C library's defaults")
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    done = all(mallopt(param, value) == 1 for param, value in (
        (M_ARENA_MAX, ARENA_MAX), (M_MMAP_THRESHOLD, MMAP_THRESHOLD), (M_TRIM_THRESHOLD, TRIM_THRESHOLD)))  # fmt: skip
    if not done:
        log.warning("glibc refused a heap setting: the kiosk's memory may grow visit after visit")
    return done
