"""Building blocks shared by the simulated services: free ports, waiting for a service, and processes
that are started by a test run (or the demo, or a benchmark) and always stopped by pid.

Whoever starts services starts the run's watchdog (:mod:`simulation.services.watchdog`) first: the tests'
plugin ``tests/fixtures/run.py`` at pytest's configure time, the demo and the benchmarks at their start.
If the run is killed, the watchdog stops whatever it left running. Nothing here imports pytest: a service
that cannot start raises :class:`ServiceUnavailable`, which a fixture reports as the test's error.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from simulation.services import watchdog


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port on 127.0.0.1 that nothing listens on right now (TCP by default, or SOCK_DGRAM)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], bool], timeout: float = 10.0, what: str = "service") -> None:
    """Poll ``check`` until it returns true; fail the test with ``what`` named if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if check():
                return
        time.sleep(0.02)
    raise TimeoutError(f"{what} did not become ready within {timeout} s")


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


class ServiceUnavailable(RuntimeError):
    """A simulated service cannot start on this machine (a program or file missing, a path too long); the
    message says what to install or fix. A test meeting it fails (an error in its fixture), never skips,
    because README's test command installs everything."""


def require_program(name: str) -> str:
    """The path of a program the simulation needs; :class:`ServiceUnavailable` when it is missing."""
    path = shutil.which(name) or next(
        (p for d in ("/usr/sbin", "/sbin", "/usr/bin") if os.path.exists(p := f"{d}/{name}")), None
    )
    if path is None:
        raise ServiceUnavailable(f"{name} is not installed; run scripts/setup.sh (README's test command does)")
    return path


@dataclass
class Service:
    """A process the harness started; ``stop()`` kills its whole process group by pid.

    It runs in a session of its own (a Ctrl-C at the terminal reaches pytest, which stops services in
    order, not the services first), carries the run's marker even when started with an explicit ``env``
    (the watchdog finds the run's processes by it), and its group is registered with the watchdog.
    """

    name: str
    argv: Sequence[str]
    log_path: Path
    env: dict[str, str] | None = None
    cwd: Path | None = None
    pass_fds: tuple[int, ...] = ()
    """Descriptors the process inherits (e.g. Xvfb's ``-displayfd``); no other one is (``close_fds``)."""
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self) -> Service:
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self._log = log
        self.proc = subprocess.Popen(
            list(self.argv),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=watchdog.marked(self.env),
            cwd=self.cwd,
            pass_fds=self.pass_fds,
            start_new_session=True,
        )
        watchdog.register(self.proc.pid)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 5.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout)
        watchdog.unregister(self.proc.pid)
        self._log.close()


@contextlib.contextmanager
def running(service: Service, ready: Callable[[], bool], timeout: float = 10.0) -> Iterator[Service]:
    """Start ``service``, wait for ``ready``, yield it, and stop it whatever happens."""
    service.start()
    try:
        try:
            wait_until(lambda: ready() or not service.running(), timeout, service.name)
        except TimeoutError:
            raise TimeoutError(f"{service.name} not ready; its log:\n{service.log_text()[-3000:]}") from None
        if not service.running():
            raise RuntimeError(f"{service.name} exited at start; its log:\n{service.log_text()[-3000:]}")
        yield service
    finally:
        service.stop()
