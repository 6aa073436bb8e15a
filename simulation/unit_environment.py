"""The environment the point's systemd units give their processes, for a harness that runs the same code
outside systemd and must run it the same way (the soak's kiosk allocates memory as the unit's does)."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

UNITS = Path(__file__).resolve().parents[1] / "systemd" / "units"


def unit_environment(unit: str, prefix: str = "") -> dict[str, str]:
    """The ``Environment=`` assignments of ``unit`` (e.g. ``etapiste-kiosk.service``) whose names start with
    ``prefix``, as systemd reads them (several per line, quoted words kept whole)."""
    found: dict[str, str] = {}
    for line in (UNITS / unit).read_text(encoding="utf-8").splitlines():
        if line.startswith("Environment="):
            for item in shlex.split(line.removeprefix("Environment=")):
                name, _, value = item.partition("=")
                if name.startswith(prefix):
                    found[name] = value
    return found


def run_with_unit_malloc(unit: str) -> None:
    """Start this program again with ``unit``'s glibc allocator settings (``MALLOC_*``) unless it has them:
    glibc reads them once, when the process starts, so they cannot be set from inside it afterwards."""
    wanted = unit_environment(unit, "MALLOC_")
    if any(os.environ.get(name) != value for name, value in wanted.items()):
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **wanted})
