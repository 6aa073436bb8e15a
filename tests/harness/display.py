"""Harness plugin: screens for Qt.

Widget tests run on Qt's ``offscreen`` platform (set here for the whole run, before any QApplication
exists). Tests that need a real X server — screenshots as a person would see them, the kiosk as a
separate process — use the ``xvfb`` fixture: a private Xvfb on a free display number, by pid.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.harness.common import Service, require_program, running


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    # Qt's accessibility bridge looks for a D-Bus session bus; there is none in tests.
    os.environ.setdefault("QT_ACCESSIBILITY", "0")


@dataclass(frozen=True)
class Display:
    """A private X server: pass ``env`` to processes that should draw on it."""

    name: str
    width: int
    height: int

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["DISPLAY"] = self.name
        env["QT_QPA_PLATFORM"] = "xcb"
        return env


def _free_display() -> int:
    for n in range(90, 200):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            return n
    raise RuntimeError("no free X display number between :90 and :199")


@pytest.fixture(scope="session")
def xvfb(run_dir: Path) -> Iterator[Display]:
    """A private Xvfb at 1280×1024×24 (the size of a typical point's 19" portrait-less screen)."""
    program = require_program("Xvfb")
    n = _free_display()
    socket_path = Path(f"/tmp/.X11-unix/X{n}")
    service = Service("Xvfb", [program, f":{n}", "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
                      run_dir / f"xvfb-{n}.log")
    with running(service, socket_path.exists):
        yield Display(f":{n}", 1280, 1024)
