"""The kiosk's keep-alive (kiosk/watchdog.py), checked the way systemd sees it: on a notify socket of the
test's own, from a child process that takes its watchdog from the environment like the real kiosk under
cage (the test process plays cage's part: WATCHDOG_PID is the child's parent)."""

from __future__ import annotations

import contextlib
import os
import queue
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.watchdog import Watchdog, WatchdogConfigError

REPO = Path(__file__).resolve().parents[2]
WATCHDOG_USEC = 100_000  # keep-alive expected every 50 ms
QUIET_WINDOW = 0.5  # ten keep-alive periods


class NotifySocket:
    """systemd's side of sd_notify: a datagram socket that records every message."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path if not path.startswith("@") else "\0" + path[1:])

    def receive(self, timeout: float) -> str | None:
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(4096).decode()
        except TimeoutError:
            return None

    def wait_for(self, wanted: str, timeout: float = 10.0) -> list[str]:
        """Messages up to and including the first that contains ``wanted``."""
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self.receive(max(0.01, deadline - time.monotonic()))
            if message is None:
                break
            seen.append(message)
            if wanted in message.split("\n"):
                return seen
        raise AssertionError(f"no {wanted!r} on the notify socket; got {seen!r}")

    def drain(self) -> list[str]:
        out = []
        while (message := self.receive(0.001)) is not None:
            out.append(message)
        return out

    def during(self, seconds: float) -> list[str]:
        """Everything that arrives within ``seconds`` (an observation window, not a speed limit)."""
        out = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            message = self.receive(left)
            if message is not None:
                out.append(message)
        return out

    def close(self) -> None:
        self.sock.close()
        if not self.path.startswith("@"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)


@pytest.fixture
def notify_socket() -> Iterator[NotifySocket]:
    # A short directory: AF_UNIX paths are limited to 107 bytes.
    directory = tempfile.mkdtemp(prefix="etapiste-notify-")
    sock = NotifySocket(os.path.join(directory, "notify"))
    try:
        yield sock
    finally:
        sock.close()
        os.rmdir(directory)


class App:
    """The stand-in kiosk app (tests/systemd/watchdog_app.py) as a child process."""

    def __init__(self, kind: str, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.systemd.watchdog_app", kind],
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def expect(self, wanted: str, timeout: float = 30.0) -> None:
        got = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line == wanted:
                return
            got.append(line)
        raise AssertionError(f"the app never printed {wanted!r}; it printed {got!r}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


def app_env(notify: NotifySocket, watchdog_pid: int | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")}
    env.update(
        NOTIFY_SOCKET=notify.path,
        WATCHDOG_USEC=str(WATCHDOG_USEC),
        WATCHDOG_PID=str(os.getpid() if watchdog_pid is None else watchdog_pid),
        QT_QPA_PLATFORM="offscreen",
    )
    return env


@contextlib.contextmanager
def running_app(kind: str, env: dict[str, str]) -> Iterator[App]:
    app = App(kind, env)
    try:
        app.expect("started")
        yield app
    finally:
        app.stop()


def keepalives(messages: list[str]) -> int:
    return sum("WATCHDOG=1" in m.split("\n") for m in messages)


@pytest.mark.parametrize("loop", ["asyncio", "qasync"])
def test_hung_ui_loop_stops_the_keepalive_and_a_released_loop_resumes_it(
    loop: str, notify_socket: NotifySocket
) -> None:
    with running_app(loop, app_env(notify_socket)) as app:
        first = notify_socket.wait_for("READY=1")
        assert keepalives(first) == 0, "READY=1 must come before any keep-alive"
        notify_socket.wait_for("WATCHDOG=1")
        notify_socket.wait_for("WATCHDOG=1")

        app.send("hang")
        app.expect("hung")
        notify_socket.drain()  # sent before the loop blocked
        assert keepalives(notify_socket.during(QUIET_WINDOW)) == 0, "a hung UI loop must not keep the app alive"

        app.send("release")
        app.expect("released")
        notify_socket.wait_for("WATCHDOG=1")


def test_unhealthy_app_withholds_the_keepalive_and_says_why(notify_socket: NotifySocket) -> None:
    with running_app("asyncio", app_env(notify_socket)) as app:
        notify_socket.wait_for("WATCHDOG=1")
        app.send("sick")
        app.expect("ok")
        before_quiet = notify_socket.wait_for("STATUS=unhealthy: the app reports a fault")
        assert before_quiet
        assert keepalives(notify_socket.during(QUIET_WINDOW)) == 0, "an unhealthy app must not be kept alive"

        app.send("well")
        app.expect("ok")
        notify_socket.wait_for("WATCHDOG=1")


def test_a_quitting_app_says_stopping(notify_socket: NotifySocket) -> None:
    with running_app("asyncio", app_env(notify_socket)) as app:
        notify_socket.wait_for("WATCHDOG=1")
        app.send("quit")
        notify_socket.wait_for("STOPPING=1")
        assert app.proc.wait(10) == 0


def test_programs_the_app_starts_cannot_speak_for_it(notify_socket: NotifySocket) -> None:
    with running_app("asyncio", app_env(notify_socket)) as app:
        app.send("env")
        app.expect("clean")


def test_a_watchdog_meant_for_another_process_sends_no_keepalive(notify_socket: NotifySocket) -> None:
    # WATCHDOG_PID names neither the app nor its parent (the variables leaked to a grandchild).
    with running_app("asyncio", app_env(notify_socket, watchdog_pid=1)):
        notify_socket.wait_for("READY=1")
        assert keepalives(notify_socket.during(QUIET_WINDOW)) == 0


def test_health_check_that_raises_counts_as_unhealthy(notify_socket: NotifySocket) -> None:
    def broken() -> bool:
        raise RuntimeError("driver state unknown")

    watchdog = Watchdog(notify_socket.path, interval=0.05, health=broken)
    try:
        assert watchdog.tick() is False
        assert notify_socket.drain() == ["STATUS=unhealthy: health check failed: RuntimeError"]
    finally:
        watchdog.close()


def test_abstract_notify_socket_is_reached() -> None:
    name = f"@etapiste-test-{os.getpid()}"
    notify = NotifySocket(name)
    try:
        watchdog = Watchdog.from_environment(
            {"NOTIFY_SOCKET": name, "WATCHDOG_USEC": "2000000", "WATCHDOG_PID": str(os.getpid())}
        )
        assert watchdog.interval == 1.0
        watchdog.ready("idle")
        watchdog.tick()
        assert notify.drain() == ["READY=1\nSTATUS=idle", "WATCHDOG=1"]
        watchdog.close()
    finally:
        notify.close()


@pytest.mark.parametrize(
    ("variable", "value"), [("WATCHDOG_USEC", "thirty"), ("WATCHDOG_USEC", "0"), ("WATCHDOG_PID", "cage")]
)
def test_malformed_watchdog_environment_is_a_clear_error(variable: str, value: str) -> None:
    env = {"NOTIFY_SOCKET": "/run/systemd/notify", "WATCHDOG_USEC": "1000000", variable: value}
    with pytest.raises(WatchdogConfigError, match=variable):
        Watchdog.from_environment(env)


def test_without_systemd_the_watchdog_does_nothing() -> None:
    env: dict[str, str] = {}
    watchdog = Watchdog.from_environment(env)
    assert not watchdog.enabled and not watchdog.keepalive_enabled
    assert watchdog.ready() is False
    assert watchdog.tick() is False
    assert watchdog.stopping() is False


def test_a_vanished_notify_socket_does_not_crash_the_app(notify_socket: NotifySocket) -> None:
    watchdog = Watchdog(notify_socket.path + "-gone", interval=0.05)
    assert watchdog.tick() is False
    assert watchdog.ready() is False
    watchdog.close()
