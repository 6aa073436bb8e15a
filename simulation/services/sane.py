"""Harness plugin: SANE's ``test`` backend behind a private ``SANE_CONFIG_DIR``.

Init order, decided: **the test process never calls ``sane.init()``.** libsane reads ``SANE_CONFIG_DIR``
once, at ``sane_init()``, so a process-wide init would pin every test to the first test's configuration.
The scanner driver runs SANE in a fresh worker process per job (``drivers.scanner_worker``), and
``scanimage`` is a process too; both inherit the environment at start. So each test gets its *own*
configuration directory, set into ``os.environ`` with ``monkeypatch`` for that test only, and may rewrite
``test.conf`` between jobs — the backend's own initial option values are how faults, slow reads and blank
pages are injected, at the device's interface rather than in a mock.

Note: ``number_of_devices 0`` makes the test backend crash (SIGSEGV, also in ``scanimage -L``); use
``load_backends()`` for "no scanner at all".

* ``dll.conf`` holds only ``test``: no other backend loads (network ones such as airscan/escl would
  otherwise probe the LAN).
* ``test.conf`` sets ``geometry_max 300.0`` (the default 200 mm makes A4 impossible) and the "Grid"
  picture: black on white with sharp edges compresses like a printed page, where the default "Solid
  black" looks like neither a document nor a blank page. "Color pattern" (pixel-wide colour stripes)
  is the compressor's worst case; "Solid white" is a blank page.

Faults in the middle of a feeder stack cannot be set up from ``test.conf`` (it sets the value for every
page), so :meth:`SaneTestBackend.worker_with_plan` gives a worker command that changes backend options
after given pages (``simulation/services/sane_plan_worker.py``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

BASE_OPTIONS: dict[str, Any] = {
    "number_of_devices": 2,
    "geometry_max": 300.0,
    "test-picture": "Grid",
}


class SaneTestBackend:
    """A private configuration directory for SANE's ``test`` backend (devices ``test:0`` and ``test:1``)."""

    def __init__(self, config_dir: Path) -> None:
        """Write the configuration into ``config_dir`` (made if missing; meant to be new and empty)."""
        self.config_dir = config_dir
        config_dir.mkdir(parents=True, exist_ok=True)
        (config_dir / "dll.conf").write_text("test\n")
        self.options: dict[str, Any] = {}
        self.configure()

    def configure(self, **options: Any) -> None:
        """Rewrite ``test.conf`` with the base options plus these (``_`` in a name means ``-``), e.g.
        ``configure(read_status_code="SANE_STATUS_JAMMED")``; the next job's worker reads it."""
        self.options = {**BASE_OPTIONS, **{k.replace("_", "-") if k not in BASE_OPTIONS else k: v
                                            for k, v in options.items()}}
        lines = []
        for key, value in self.options.items():
            if isinstance(value, bool):
                value = "true" if value else "false"
            elif isinstance(value, str):
                value = f'"{value}"'
            lines.append(f"{key} {value}")
        (self.config_dir / "test.conf").write_text("\n".join(lines) + "\n")

    def load_backends(self, *names: str) -> None:
        """Rewrite ``dll.conf``; ``load_backends()`` leaves SANE with no backend, hence no scanner."""
        (self.config_dir / "dll.conf").write_text("".join(f"{n}\n" for n in names))

    @property
    def env(self) -> dict[str, str]:
        return {"SANE_CONFIG_DIR": str(self.config_dir), "LC_ALL": "C"}

    def worker_with_plan(self, plan: dict[int, dict[str, Any]]) -> list[str]:
        """A scanner worker command that, after page *n* of a feeder stack, sets the backend options
        ``plan[n]`` (python-sane names, e.g. ``{"read_return_value": "SANE_STATUS_JAMMED"}``)."""
        script = Path(__file__).with_name("sane_plan_worker.py")
        # -P: the script's folder must not shadow python-sane's ``sane`` with this plugin's sane.py.
        return [sys.executable, "-P", str(script), json.dumps({str(k): v for k, v in plan.items()})]
