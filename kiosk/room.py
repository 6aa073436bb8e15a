"""The room as the host view sees it (issue 21): what the point tells the switchboard, and what it takes from it.

The host's staff watch their rooms in the switchboard's host view (``/host``). The point already holds a
connection to the switchboard, so it reports there: ``room.status`` (out of service, and the devices that
fail, by code) after every ``welcome`` and whenever either changes, and ``room.help`` when a customer asks
for the staff. From the view come ``room.service`` — the staff set or cleared out of service; the session
takes it exactly as if staff had ticked it at the screen, so the agent link hands it to the provisioning
agent, which holds it over restarts (:mod:`provisioning.out_of_service`) — and ``room.staff_coming`` ("I'm on
it"): a customer who asked for help is told someone is on the way; a device's fault counts as told to the
staff, as the notifier's acknowledgement of the e-mail does.

Nothing of a customer travels: device codes, a flag, a moment. The e-mails stay the agent's and the
notifier's (:mod:`kiosk.agentlink`); this is the second, live path for staff who keep the view open.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from etapiste import protocol as p
from kiosk.call.events import RoomServiceOrder, StaffComing, SwitchboardStatus
from kiosk.health import HealthMonitor, Report
from kiosk.session import Session, Snapshot
from provisioning.alerts import ALERT_DEVICES, NOT_ALERTED

log = logging.getLogger("kiosk.room")


class RoomLink(Protocol):
    """What the reporter needs of the call engine: its events, and a way to send the room's frames."""

    def subscribe(self, listener: Any) -> Any: ...
    def send_room(self, message: p.RoomStatus | p.RoomHelp) -> None: ...


def faults(report: Report) -> list[p.RoomFault]:
    """The devices the host's staff can do something about that fail now, by code — the same devices and
    codes the agent raises e-mailed alerts for (:data:`provisioning.alerts.ALERT_DEVICES`)."""
    out = []
    for name in ALERT_DEVICES:
        health = report.get(name)
        if health is not None and health.health in ("fault", "missing") and health.code and (
            health.code not in NOT_ALERTED
        ):
            out.append(p.RoomFault(device=name, code=health.code))
    return out


class RoomReporter:
    """Keeps the switchboard's picture of this room current and acts on the host view's orders."""

    def __init__(self, session: Session, health: HealthMonitor, link: RoomLink) -> None:
        self._session, self._health, self._link = session, health, link
        self._sent: p.RoomStatus | None = None
        self._help_seen: str | None = session.snapshot.help_request
        health.subscribe(lambda _report: self._report())
        session.subscribe(self._on_snapshot)
        link.subscribe(self._on_event)

    def status(self) -> p.RoomStatus:
        return p.RoomStatus(out_of_service=self._session.out_of_service, faults=faults(self._health.report))

    def _report(self, *, again: bool = False) -> None:
        now = self.status()
        if again or now != self._sent:
            self._sent = now
            self._link.send_room(now)

    def _on_snapshot(self, snap: Snapshot) -> None:
        self._report()
        if snap.help_request != self._help_seen:
            self._help_seen = snap.help_request
            if snap.help_request == "sending":
                self._link.send_room(p.RoomHelp())

    def _on_event(self, event: Any) -> None:
        if isinstance(event, SwitchboardStatus) and event.connected:
            self._report(again=True)  # a new connection (or another instance) knows nothing of the room yet
        elif isinstance(event, RoomServiceOrder):
            log.info("host view: %s", "out of service" if event.on else "back in service")
            if event.on:
                self._session.set_out_of_service(event.message)
            elif self._session.out_of_service:
                self._session.back_in_service()
        elif isinstance(event, StaffComing):
            if event.kind == "help":
                self._session.staff_coming()
            elif event.device and event.device not in self._session.snapshot.staff_told:
                self._session.set_staff_told((*self._session.snapshot.staff_told, event.device))
