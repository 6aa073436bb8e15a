"""The kiosk's heap settings: what a visit's documents used goes back to the system, however many threads ran.

Each case runs in a fresh Python process (glibc's arenas and thresholds are the process's, set once), which
reports what glibc itself says: its ``malloc_info`` (one ``<heap>`` per arena) and ``mallinfo2`` (bytes in
mmapped chunks, which are returned to the system when freed).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]

#: Eight threads allocate (as the call's camera, codec and Qt threads do); then a 5 MiB document is made and
#: freed twice (a scan, then the next visit's printout), the second one's placement read while it is alive.
PROBE = textwrap.dedent(
    """
    import ctypes, json, os, sys, tempfile, threading
    from kiosk.heap import settle_allocator

    class MallInfo2(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                   "fsmblks", "uordblks", "fordblks", "keepcost")]

    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = MallInfo2
    libc.fopen.restype = ctypes.c_void_p
    libc.malloc_info.argtypes = (ctypes.c_int, ctypes.c_void_p)
    libc.fclose.argtypes = (ctypes.c_void_p,)
    settled = settle_allocator() if sys.argv[1] == "settled" else None

    def frames():
        for _ in range(50):
            bytearray(2_764_800)  # a 720p picture
    threads = [threading.Thread(target=frames) for _ in range(8)]
    for t in threads: t.start()
    for t in threads: t.join()

    first = bytes(5 * 1024 * 1024); del first
    second = bytes(5 * 1024 * 1024)
    mmapped_mb = libc.mallinfo2().hblkhd / 2**20
    del second
    path = tempfile.mktemp()
    fp = libc.fopen(path.encode(), b"w"); libc.malloc_info(0, fp); libc.fclose(fp)
    arenas = open(path).read().count("<heap nr="); os.unlink(path)
    print(json.dumps({"settled": settled, "arenas": arenas, "mmapped_mb": mmapped_mb}))
    """
)


def probe(mode: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", PROBE, mode], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def glibc() -> None:
    if not Path("/proc/self/maps").read_text().count("libc.so.6"):
        pytest.skip("not glibc: the kiosk leaves the C library's heap as it is")


def test_a_settled_kiosk_shares_two_arenas_and_gives_a_document_back(glibc: None) -> None:
    got = probe("settled")
    assert got["settled"] is True
    assert got["arenas"] <= 2, f"{got['arenas']} arenas: each keeps its own free holes"
    assert got["mmapped_mb"] >= 5, "the second 5 MiB document came from the heap, where its space stays held"


def test_without_the_settings_glibc_keeps_documents_on_its_heap(glibc: None) -> None:
    """The defaults the settings change, shown here so that the test above cannot pass by accident (a glibc
    whose defaults change would show it here first)."""
    got = probe("default")
    assert got["arenas"] > 2
    assert got["mmapped_mb"] < 5
