"""Harness plugin: screens for Qt.

Widget tests run on Qt's ``offscreen`` platform (set here for the whole run, before any QApplication
exists). Tests that need a real X server — screenshots as a person would see them, the kiosk as a
separate process — use the ``xvfb`` fixture: a private Xvfb on a free display number, by pid
(:func:`start_xvfb` copes with another run taking the same number at the same moment).
"""

from __future__ import annotations

import os
import select
import time
from dataclasses import dataclass
from pathlib import Path

from simulation.services.common import Service, require_program


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


def _free_display(skip: set[int]) -> int:
    for n in range(90, 200):
        if n not in skip and not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            return n
    raise RuntimeError("no free X display number between :90 and :199")


def _displayfd_line(fd: int, timeout: float) -> bytes:
    """What Xvfb writes on its ``-displayfd`` pipe: the display number once it listens; empty if it exited."""
    data = b""
    deadline = time.monotonic() + timeout
    while not data.endswith(b"\n"):
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise TimeoutError(f"Xvfb did not become ready within {timeout} s")
        chunk = os.read(fd, 64)
        if not chunk:
            break
        data += chunk
    return data


def start_xvfb(directory: Path, attempts: int = 10) -> tuple[Service, int]:
    """Start Xvfb on a free display number; returns the service and its number.

    Other test runs on the machine pick numbers the same way at the same time, so a number can be taken
    between the check and the start. Xvfb takes its display's lock atomically and exits if another server
    has it; ``-displayfd`` tells which happened (the number once it listens, or EOF when it exits), where
    waiting for the socket file would accept the *other* run's server. On a lost race: the next number.
    """
    program = require_program("Xvfb")
    lost: set[int] = set()
    for _ in range(attempts):
        n = _free_display(lost)
        read_fd, write_fd = os.pipe()
        service = Service(
            "Xvfb",
            [program, f":{n}", "-displayfd", str(write_fd), "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
            directory / f"xvfb-{len(lost)}.log",
            pass_fds=(write_fd,),
        )
        try:
            service.start()
        finally:
            os.close(write_fd)
        try:
            line = _displayfd_line(read_fd, 10)
        except BaseException:
            service.stop()
            raise
        finally:
            os.close(read_fd)
        if line.strip() == str(n).encode():
            return service, n
        service.stop()
        if "already running" not in service.log_text() and "already active" not in service.log_text():
            raise RuntimeError(f"Xvfb exited at start; its log:\n{service.log_text()[-3000:]}")
        lost.add(n)
    raise RuntimeError(f"Xvfb lost the race for a display number {attempts} times (tried {sorted(lost)})")
