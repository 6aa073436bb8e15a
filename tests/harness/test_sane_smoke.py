"""The SANE harness really scans: an A4 page from the private ``test`` backend with ``scanimage``."""

from __future__ import annotations

import os
import subprocess

from tests.harness.common import require_program
from tests.harness.sane import SaneTestBackend


def _scanimage(*args: str) -> subprocess.CompletedProcess[bytes]:
    # Always bounded by timeout, always to a pipe (never -o /dev/null: it would replace the device node).
    return subprocess.run([require_program("timeout"), "20", require_program("scanimage"), *args],
                          capture_output=True, env=dict(os.environ), check=False)


def test_private_config_lists_only_the_test_backends_devices(sane_backend: SaneTestBackend) -> None:
    listed = _scanimage("-f", "%d%n")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.decode().split() == ["test:0", "test:1"]


def test_scans_a_full_a4_page_in_colour(sane_backend: SaneTestBackend) -> None:
    done = _scanimage("-d", "test:0", "--format=pnm", "--mode", "Color", "--resolution", "100",
                      "-x", "210", "-y", "297")
    assert done.returncode == 0, done.stderr
    header = [line for line in done.stdout.split(b"\n", 5)[:5] if not line.startswith(b"#")]
    magic, size, maxval = header[:3]
    assert magic == b"P6" and maxval == b"255"
    width, height = map(int, size.split())
    assert (width, height) == (826, 1169)  # A4 at 100 dpi: geometry_max 300 mm lets the page fit
    pixels = done.stdout[-width * height * 3 :]
    assert {0, 255} <= set(pixels)  # the black-on-white grid, not an empty page


def test_rewritten_config_injects_a_fault_for_the_next_scan(sane_backend: SaneTestBackend) -> None:
    sane_backend.configure(read_status_code="SANE_STATUS_JAMMED")
    done = _scanimage("-d", "test:0", "--format=pnm", "--resolution", "50")
    assert done.returncode != 0
    assert b"jammed" in done.stderr
