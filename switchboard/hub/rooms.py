"""The rooms as the host's staff see them (issue 21, the host view): each room's state, its open faults and
help requests, "I'm on it", and out of service set from the view.

A point tells the switchboard over the connection it already holds (``room.status`` after ``welcome`` and on
every change, ``room.help`` when a customer asks for the staff): the switchboard already knows whether the
point is connected, queued or in a call, so the room's whole state comes from one place, with no second path
from the organiser's notifier. The e-mails stay the notifier's (:mod:`provisioning.notifier`); the view is
for staff who have it open in a browser tab. Out of service set here goes to the point as ``room.service``;
the point holds it as if staff had set it at the screen, so the point's agent keeps it over restarts
(:mod:`provisioning.out_of_service`).

What a point reported is kept in the shared state (:mod:`switchboard.rooms_state`: memory, or Redis for
several instances), so the host's page sees it on any instance; while the point is not connected its room shows
as offline and the report is not shown (the point sends a fresh one after every connect). Nothing in it names
a customer: device codes, the time it was first seen, and the name of the staff member who acknowledged it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any, Literal

from etapiste import protocol as p
from etapiste import texts
from etapiste.language import LANGUAGES
from switchboard.config import User
from switchboard.hub.core import HubCore
from switchboard.hub.participant import Participant

log = logging.getLogger("switchboard.rooms")

#: An acknowledged help request stays on the view this long ("Liisa is on it"), then goes.
ACKED_HELP_SHOWN_S = 900.0

RoomState = Literal["free", "waiting", "in_call", "out_of_service", "offline"]


@dataclass
class RoomAlert:
    """A fault or a help request open at a room."""

    id: str
    kind: Literal["help", "device"]
    since: float
    device: str | None = None
    code: str | None = None
    ack_by: str | None = None
    """The display name of the host's staff member who pressed "I'm on it"."""
    ack_at: float | None = None

    def view(self) -> dict[str, Any]:
        """As the host view gets it, with the device's name and the staff's advice in every language (the
        words of the notifier's mails, from the catalogue)."""
        device = {lang: texts.word(f"kiosk.device.{self.device}", lang) for lang in LANGUAGES} if self.device else None
        advice = {lang: texts.staff_advice(self.code, lang) for lang in LANGUAGES} if self.code else None
        return {"id": self.id, "kind": self.kind, "device": self.device, "code": self.code, "since": self.since,
                "ack_by": self.ack_by, "device_name": device, "advice": advice}  # fmt: skip


@dataclass
class RoomReport:
    """What one point last said of its room, kept in the shared state (:mod:`switchboard.rooms_state`)."""

    out_of_service: bool = False
    faults: dict[str, RoomAlert] = field(default_factory=dict)
    help: RoomAlert | None = None

    def alerts(self) -> list[RoomAlert]:
        return [*([self.help] if self.help else []), *self.faults.values()]

    def dump(self) -> str:
        return json.dumps(dataclasses.asdict(self), separators=(",", ":"))

    @classmethod
    def load(cls, raw: str) -> RoomReport:
        data = json.loads(raw)
        help_ = data.get("help")
        return cls(
            out_of_service=bool(data.get("out_of_service")),
            faults={device: RoomAlert(**alert) for device, alert in data.get("faults", {}).items()},
            help=RoomAlert(**help_) if help_ else None,
        )


def _alert_id() -> str:
    return f"r-{secrets.token_hex(6)}"


class Rooms(HubCore):
    """Builds on :class:`~switchboard.hub.core.HubCore`: the participants and the shared state."""

    async def room(self, point: str) -> RoomReport:
        """What ``point`` last reported (an empty report when nothing, or nothing readable)."""
        raw = await self.state.get_room(point)
        try:
            report = RoomReport.load(raw) if raw else RoomReport()
        except (ValueError, TypeError, AttributeError):
            log.warning("room %s: stored report unreadable; starting afresh", point)
            report = RoomReport()
        acks = await self.state.room_acks(point)  # kept apart: see switchboard/rooms_state.py
        for alert in report.alerts():
            if alert.id in acks and alert.ack_by is None:
                try:
                    ack = json.loads(acks[alert.id])
                    alert.ack_by, alert.ack_at = str(ack["by"]), float(ack["at"])
                except (ValueError, TypeError, KeyError):
                    log.warning("room %s: stored acknowledgement unreadable; ignored", point)
        return report

    async def _room_status(self, part: Participant, msg: p.RoomStatus) -> None:
        point, now = part.principal, self.clock()
        report = await self.room(point)
        before = report.faults
        faults: dict[str, RoomAlert] = {}
        for fault in msg.faults:
            old = before.get(fault.device)
            same = old is not None and old.code == fault.code
            faults[fault.device] = old if old is not None and same else RoomAlert(
                _alert_id(), "device", now, device=fault.device, code=fault.code
            )
        if report.out_of_service != msg.out_of_service or set(faults) != set(before):
            log.info("room %s: out of service %s, faults %s", point, msg.out_of_service, sorted(faults) or "none")
        report.out_of_service, report.faults = msg.out_of_service, faults
        await self.state.put_room(point, report.dump())

    async def _room_help(self, part: Participant, msg: p.RoomHelp) -> None:
        report = await self.room(part.principal)
        if report.help is None or report.help.ack_by is not None:  # repeats of an open request are one
            report.help = RoomAlert(_alert_id(), "help", self.clock())
            await self.state.put_room(part.principal, report.dump())
        log.info("room %s: a customer asks for the staff", part.principal)

    async def host_rooms(self, user: User) -> list[dict[str, Any]]:
        """The host view's rooms: ``user``'s points only, in its configured order."""
        now = self.clock()
        calls = {c.point for c in await self.state.calls()}
        queued = {t.point for t in await self.state.all_tickets()}
        entries = {pt.id: pt for pt in self.config.points}
        local_now = self.config.local(now)
        bookings = [b for b in await self.state.bookings() if self.config.local(b.start).date() == local_now.date()]
        names = {prod.id: prod.name for prod in self.config.producers}
        out = []
        for point in user.points:
            entry = entries[point]
            part = self._point(point)
            report = await self.room(point) if part is not None and part.away_since is None else None
            acked_at = report.help.ack_at if report is not None and report.help is not None else None
            if report is not None and acked_at is not None and now - acked_at > ACKED_HELP_SHOWN_S:
                report.help = None  # shown no more (the stored one is replaced by the next request)
            state: RoomState
            if part is None or part.away_since is not None:
                state = "offline"
            elif report is not None and report.out_of_service:
                state = "out_of_service"
            elif part.id in calls:
                state = "in_call"
            elif point in queued:
                state = "waiting"
            else:
                state = "free"
            hours = entry.hours  # the host's opening hours (``points[].hours``); absent: not shown
            out.append({
                "point": point,
                "place": entry.place,
                "state": state,
                "alerts": [a.view() for a in report.alerts()] if report else [],
                "hours_today": [str(r) for r in hours.on(local_now.date())] if hours is not None else None,
                "open_now": hours.is_open(local_now) if hours is not None else None,
                # The day's appointments (issue 22): time and producer, never who (nor the code).
                "bookings_today": [{"start": b.start, "producer": b.producer, "checked_in": b.checked_in is not None,
                                    "producer_name": names[b.producer].model_dump() if b.producer in names else None}
                                   for b in bookings if b.point == point],
            })  # fmt: skip
        return out

    async def host_ack(self, user: User, point: str, alert: str) -> str | None:
        """``user`` is on it: the point is told (its customer sees staff are coming). An error code, or ``None``."""
        if point not in user.points:
            return "not_allowed"
        part = self._point(point)
        report = await self.room(point)
        found = next((a for a in report.alerts() if a.id == alert), None)
        if part is None or found is None:
            return "gone"
        ack = json.dumps({"by": user.name, "at": self.clock()})
        if found.ack_by is None and await self.state.ack_room_alert(point, alert, ack):  # the first one only
            kind: Literal["help", "device"] = found.kind
            await part.send(p.RoomStaffComing(kind=kind, device=found.device))
            log.info("room %s: %s %s acknowledged by host staff", point, found.kind, found.device or "")
        return None

    async def host_service(self, user: User, point: str, on: bool, message: str | None) -> str | None:
        """``user`` sets or clears ``point``'s out of service; the point holds it. An error code, or ``None``."""
        if point not in user.points:
            return "not_allowed"
        part = self._point(point)
        if part is None or part.away_since is not None:
            return "offline"
        await part.send(p.RoomService(on=on, message=message if on else None))
        log.info("room %s: host staff %s out of service", point, "set" if on else "cleared")
        return None
