"""The kiosk's keep-alive to systemd: ``READY=1`` once the UI is up, then ``WATCHDOG=1`` every
``WATCHDOG_USEC / 2`` — but only from the UI's own event loop and only while the app reports healthy.

Why it is built this way: a kiosk whose UI loop hangs (a deadlock, a blocking driver call) shows a frozen
screen to a customer who cannot do anything about it. The kiosk session unit (``Type=notify``,
``WatchdogSec=``) restarts the app when the keep-alive stops, so the keep-alive must stop exactly when the
UI stops: it is a timer *on the UI's event loop* (asyncio, or Qt through qasync, whose ``call_later`` is a
Qt timer), never a thread that would keep pinging for a dead UI. No Qt import: the app drives it.

Typical use in the app::

    watchdog = Watchdog.from_environment(health=lambda: state_machine.healthy)
    ...  # build the UI
    watchdog.ready("idle")
    watchdog.start()  # on the running loop; or call watchdog.tick() from a QTimer
    ...
    watchdog.stopping()

Outside systemd (no ``NOTIFY_SOCKET``), every call is a no-op, so developers run the app unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable, MutableMapping

__all__ = ["Watchdog", "WatchdogConfigError"]

log = logging.getLogger(__name__)

#: Environment variables systemd sets for a notify service (sd_notify(3), sd_watchdog_enabled(3)).
NOTIFY_SOCKET = "NOTIFY_SOCKET"
WATCHDOG_USEC = "WATCHDOG_USEC"
WATCHDOG_PID = "WATCHDOG_PID"

Health = Callable[[], bool]


class WatchdogConfigError(ValueError):
    """The watchdog environment is malformed (for example ``WATCHDOG_USEC=abc``)."""


def _status_text(text: str) -> str:
    # One line, no control characters: STATUS= is a single line of the notify protocol.
    return " ".join(text.split())[:200]


class Watchdog:
    """Sends the sd_notify messages of one process.

    ``interval`` is the keep-alive period in seconds (``WATCHDOG_USEC / 2``), or ``None`` when systemd
    asked for no watchdog; ``health`` is asked before every keep-alive, and a false answer (or an
    exception) withholds it, so systemd restarts an app that stays unhealthy longer than ``WatchdogSec``.
    """

    def __init__(
        self,
        notify_socket: str | None,
        interval: float | None = None,
        health: Health | None = None,
    ) -> None:
        if interval is not None and interval <= 0:
            raise WatchdogConfigError(f"keep-alive interval must be positive, got {interval!r}")
        self._address = notify_socket or None
        self.interval = interval if self._address else None
        self._health = health
        self._sock: socket.socket | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._warned = False
        self._unhealthy_reported = False

    @classmethod
    def from_environment(
        cls,
        environ: MutableMapping[str, str] | None = None,
        *,
        health: Health | None = None,
        unset: bool = True,
    ) -> Watchdog:
        """The watchdog systemd configured for this process through its environment.

        The kiosk runs as a child of cage, the unit's main process, so ``WATCHDOG_PID`` names our parent:
        the keep-alive is honoured for this process or its parent's, never for a process further down.
        With ``unset`` (the default) the variables are removed, so that helper programs the app starts
        (speech, print filters) cannot send messages on its behalf.
        """
        env: MutableMapping[str, str] = os.environ if environ is None else environ
        address = env.get(NOTIFY_SOCKET) or None
        usec_text = env.get(WATCHDOG_USEC)
        pid_text = env.get(WATCHDOG_PID)
        if unset:
            for name in (NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID):
                env.pop(name, None)
        interval = _interval_from(usec_text, pid_text)
        return cls(address, interval, health)

    @property
    def enabled(self) -> bool:
        """Whether systemd listens at all (a notify socket is set)."""
        return self._address is not None

    @property
    def keepalive_enabled(self) -> bool:
        """Whether systemd expects a keep-alive from this process."""
        return self.interval is not None

    # -- messages ---------------------------------------------------------------------------------

    def ready(self, status: str | None = None) -> bool:
        """Tell systemd the kiosk is up (the unit becomes active); call once the first view shows."""
        lines = ["READY=1"]
        if status:
            lines.append(f"STATUS={_status_text(status)}")
        return self._send("\n".join(lines))

    def status(self, text: str) -> bool:
        """A one-line status for ``systemctl status`` (no personal data: it lands in the journal)."""
        return self._send(f"STATUS={_status_text(text)}")

    def stopping(self) -> bool:
        """Tell systemd the kiosk is shutting down on purpose, and stop the keep-alive."""
        self.stop()
        return self._send("STOPPING=1")

    def tick(self) -> bool:
        """One keep-alive, sent only if the app reports healthy; returns whether it was sent.

        Call it from the UI's event loop (``start()`` does that on an asyncio/qasync loop; a ``QTimer``
        with ``interval`` seconds works too): a loop that does not run does not call it.
        """
        if not self.keepalive_enabled:
            return False
        healthy, reason = self._check_health()
        if not healthy:
            if not self._unhealthy_reported:
                self._unhealthy_reported = True
                log.warning("kiosk reports unhealthy (%s): keep-alive withheld", reason)
                self._send(f"STATUS=unhealthy: {_status_text(reason)}")
            return False
        if self._unhealthy_reported:
            self._unhealthy_reported = False
            self._send("WATCHDOG=1\nSTATUS=healthy again")
            return True
        return self._send("WATCHDOG=1")

    # -- driving it from the event loop -----------------------------------------------------------

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Send a keep-alive now and every ``interval`` seconds from ``loop`` (default: the running one)."""
        if not self.keepalive_enabled:
            return
        self.stop()
        self._loop = loop or asyncio.get_running_loop()
        self._beat()

    def stop(self) -> None:
        """Stop scheduling keep-alives (systemd then restarts the app after ``WatchdogSec``)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def close(self) -> None:
        self.stop()
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _beat(self) -> None:
        assert self._loop is not None and self.interval is not None
        self.tick()
        self._handle = self._loop.call_later(self.interval, self._beat)

    def _check_health(self) -> tuple[bool, str]:
        if self._health is None:
            return True, ""
        try:
            return (True, "") if self._health() else (False, "the app reports a fault")
        except Exception as exc:  # a broken health check must not keep a broken app alive
            return False, f"health check failed: {type(exc).__name__}"

    # -- the wire -----------------------------------------------------------------------------------

    def _send(self, message: str) -> bool:
        if self._address is None:
            return False
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            address = "\0" + self._address[1:] if self._address.startswith("@") else self._address
            self._sock.sendto(message.encode(), address)
        except OSError as exc:
            # systemd gone (shutdown) or a stale socket: never crash the kiosk over it.
            if not self._warned:
                self._warned = True
                log.warning("cannot reach systemd's notify socket %s: %s", self._address, exc)
            with contextlib.suppress(OSError):
                if self._sock is not None:
                    self._sock.close()
            self._sock = None
            return False
        return True


def _interval_from(usec_text: str | None, pid_text: str | None) -> float | None:
    """The keep-alive period from WATCHDOG_USEC / WATCHDOG_PID, or None when not for this process."""
    if not usec_text:
        return None
    try:
        usec = int(usec_text)
    except ValueError:
        raise WatchdogConfigError(f"WATCHDOG_USEC must be a number of microseconds, got {usec_text!r}") from None
    if usec <= 0:
        raise WatchdogConfigError(f"WATCHDOG_USEC must be positive, got {usec_text!r}")
    if pid_text:
        try:
            pid = int(pid_text)
        except ValueError:
            raise WatchdogConfigError(f"WATCHDOG_PID must be a process id, got {pid_text!r}") from None
        if pid not in (os.getpid(), os.getppid()):
            return None
    return usec / 2 / 1_000_000
