"""Alerts for the host's staff and the organiser's support: what the point raises, and the wire form.

The host's staff are not watching the room; when a device fails, the kiosk keeps restarting or a customer
presses "ask the staff for help", someone must be told. The path is kiosk → agent (kiosk link) → MQTT
``point/<id>/alert`` → the organiser's notifier (:mod:`provisioning.notifier`), which mails the host's staff
and support and answers ``point/<id>/alert_ack`` with the alert's id once it accepted it. Only then does the
agent tell the kiosk, and only then is the customer told "the staff have been told".

An alert names a kind (``device``, ``help``, ``crash_loop``; the notifier adds ``offline`` itself), a device
and a code from :mod:`etapiste.codes` where there is one, and whether it is ``open`` or ``cleared``. It holds
no free text at all: nothing a customer typed, said or showed can reach a mail through it (a test scans the
payloads and the mails).

:class:`AlertBook` is the agent's side: it turns the kiosk's device health into one ``open`` per fault and
one ``cleared`` when the device works again, counts kiosk starts to see a crash loop, and remembers what it
sent so that the notifier's acknowledgement can be matched and passed on to the kiosk.
"""

from __future__ import annotations

import collections
import datetime as dt
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Literal

from pydantic import Field

from etapiste.model import ID_PATTERN, FrozenModel
from provisioning.stats_model import CODE_PATTERN

AlertKind = Literal["device", "help", "crash_loop", "offline"]
AlertState = Literal["open", "cleared"]

#: Devices whose faults the host's staff can do something about (paper, a jam, a cable): they are alerted.
ALERT_DEVICES = ("printer", "scanner", "card_reader", "camera")

#: Codes that are not faults to mail about: a device this point was configured without.
NOT_ALERTED = frozenset({"not_configured"})

#: Alerts remembered for matching acknowledgements (a point raises a handful a day).
REMEMBERED = 200


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


class Alert(FrozenModel):
    """One alert as it travels on MQTT (``point/<id>/alert``): codes and counts only, never free text."""

    id: str = Field(pattern=r"^[a-z0-9-]{4,64}$")
    point: str = Field(pattern=ID_PATTERN)
    kind: AlertKind
    state: AlertState = "open"
    device: str | None = Field(None, pattern=r"^[a-z_]{1,32}$")
    code: str | None = Field(None, pattern=CODE_PATTERN)
    count: int = Field(1, ge=1, le=1_000_000)
    """Kiosk starts seen in the crash-loop window (``crash_loop``); 1 otherwise."""
    at: dt.datetime

    @property
    def key(self) -> tuple[str, str, str | None]:
        """What repeats of one problem share: the point, the kind and the device."""
        return self.point, self.kind, self.device


class AlertAck(FrozenModel):
    """The notifier's answer on ``point/<id>/alert_ack``: it accepted the alert with this id."""

    id: str = Field(pattern=r"^[a-z0-9-]{4,64}$")


def new_id() -> str:
    return f"a-{secrets.token_hex(8)}"


class AlertBook:
    """The agent's alerts: device faults from the kiosk's health, help requests, kiosk crash loops.

    ``crash_restarts`` kiosk starts within ``crash_window_s`` seconds open a crash-loop alert; it clears once
    the kiosk has stayed up (connected, no new start) for that long again.
    """

    def __init__(
        self,
        point: str,
        *,
        crash_restarts: int = 5,
        crash_window_s: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.point = point
        self.crash_restarts = crash_restarts
        self.crash_window_s = crash_window_s
        self._clock = clock
        self.open: dict[str, Alert] = {}
        """Open alerts by device name (``crash_loop`` for the kiosk's own)."""
        self._starts: collections.deque[float] = collections.deque(maxlen=max(crash_restarts, 1))
        self._sent: collections.OrderedDict[str, Alert] = collections.OrderedDict()

    def _make(self, kind: AlertKind, *, state: AlertState = "open", device: str | None = None,
              code: str | None = None, count: int = 1) -> Alert:  # fmt: skip
        alert = Alert(id=new_id(), point=self.point, kind=kind, state=state, device=device, code=code,
                      count=count, at=now_utc())  # fmt: skip
        self._sent[alert.id] = alert
        while len(self._sent) > REMEMBERED:
            self._sent.popitem(last=False)
        return alert

    def devices(self, devices: Mapping[str, tuple[bool, str | None]]) -> list[Alert]:
        """The kiosk reported its devices (``name → (ok, code)``): an alert for each new fault, an all-clear
        for each fixed one. A device not in the report says nothing (the kiosk may be restarting)."""
        out: list[Alert] = []
        for name in ALERT_DEVICES:
            if name not in devices:
                continue
            ok, code = devices[name]
            if not ok and code is None:
                continue  # not probed yet (a kiosk that just started): neither a fault nor a fix
            faulty = not ok and code is not None and code not in NOT_ALERTED
            before = self.open.get(name)
            if faulty and (before is None or before.code != code):
                self.open[name] = alert = self._make("device", device=name, code=code)
                out.append(alert)
            elif not faulty and before is not None:
                del self.open[name]
                out.append(self._make("device", state="cleared", device=name, code=before.code))
        return out

    def help(self) -> Alert:
        """A customer asked for the staff's help (a moment, not a condition: it has no all-clear)."""
        return self._make("help")

    def kiosk_started(self) -> Alert | None:
        """A kiosk connected: the ``crash_restarts``-th start within the window opens a crash-loop alert."""
        now = self._clock()
        self._starts.append(now)
        recent = [t for t in self._starts if now - t <= self.crash_window_s]
        if len(recent) >= self.crash_restarts and "crash_loop" not in self.open:
            self.open["crash_loop"] = alert = self._make("crash_loop", code="crash_loop", count=len(recent))
            return alert
        return None

    def tick(self, kiosk_connected: bool) -> Alert | None:
        """Now and then: a crash loop is over once the kiosk stayed up for a whole window."""
        before = self.open.get("crash_loop")
        if before is None or not kiosk_connected or not self._starts:
            return None
        if self._clock() - self._starts[-1] >= self.crash_window_s:
            del self.open["crash_loop"]
            return self._make("crash_loop", state="cleared", code="crash_loop")
        return None

    def acknowledged(self, alert_id: str) -> Alert | None:
        """The alert the notifier accepted (``None``: not one of ours, or long forgotten)."""
        return self._sent.get(alert_id)
