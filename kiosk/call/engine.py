"""The call engine's façade: what :mod:`kiosk.session` and the app drive."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from drivers.camera import CameraStatus
from etapiste import protocol as p
from kiosk import stats as quality
from kiosk.call.events import AppointmentRefused, CallTrouble, Listener, QueueLeft, QueueRefused
from kiosk.call.signalling import CHECK_IN_REF, Signalling
from kiosk.media import MediaConfig

log = logging.getLogger("kiosk.call")


class CallEngine(Signalling):
    """One engine per point, kept for the life of the app: ``start()`` connects (and keeps reconnecting) to the
    switchboard, ``subscribe(listener)`` delivers every event of :mod:`kiosk.call.events`, ``close()`` leaves
    the call, the queue and the switchboard. Intents (``request_call``, ``send_rtt``, ``send_document``…)
    return at once and never raise for a network problem: their outcome arrives as events."""

    @classmethod
    def from_config(cls, config: Any, media: MediaConfig | None = None, **overrides: Any) -> CallEngine:
        """An engine from the point's :class:`etapiste.config.point.PointConfig`."""
        credential = Path(config.switchboard.credential_file).read_text().strip()
        addresses = config.switchboard.addresses
        args: dict[str, Any] = {
            "url": addresses[0],
            "fallback_urls": addresses[1:],
            "point_id": config.point.id,
            "credential": credential,
            "media": media,
            "queues": {prod.id: prod.queue for prod in config.producers},
            "ice_urls": [url for server in config.ice.servers for url in server.urls],
            "relay_only": config.ice.relay_only,
            "receive_floor_bps": config.ice.receive_floor_kbps * 1000,
            "max_print_bytes": config.devices.printer.max_bytes,
            "video_encoder": config.devices.video_encoder,
        }
        args.update(overrides)
        return cls(**args)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def request_call(
        self, producer_id: str, language: str = "fi", queue: str | None = None, interpreter: str | None = None
    ) -> None:
        """Queue for ``producer_id``'s queue; :class:`QueuePosition` (or :class:`QueueRefused`) follows.
        ``interpreter``: the interpreter language the customer asked for, shown to the agent."""
        queue = queue or self.queues.get(producer_id)
        if queue is None:
            raise ValueError(f"producer {producer_id!r} has no queue at this point")
        if not self.connected.is_set():
            self._emit(QueueRefused("not_connected"))
            return
        self.state = "queued"
        message = p.QueueRequest(producer=producer_id, queue=queue, language=language,
                                 interpreter=interpreter)
        self._spawn(self._send_or_refuse(message))

    def check_in(self, code: str, language: str = "fi") -> None:
        """Check in for a booked appointment with its code; :class:`AppointmentCheckedIn` (then
        :class:`QueuePosition`) or :class:`AppointmentRefused` follows."""
        if not self.connected.is_set():
            self._emit(AppointmentRefused("unavailable"))
            return
        message = p.AppointmentCheckIn(code=code, language=language, ref=CHECK_IN_REF)

        async def go() -> None:
            if not await self._send(message):
                self._emit(AppointmentRefused("unavailable"))

        self._spawn(go())

    def request_bookings_today(self) -> None:
        """Ask for the day's bookings at this point (staff mode); :class:`BookingsToday` follows when connected."""
        if self.connected.is_set():
            self._spawn(self._send(p.AppointmentDayRequest()))

    async def _send_or_refuse(self, message: p.BaseModel) -> None:
        if not await self._send(message):
            self.state = "idle"
            self._emit(QueueRefused("not_connected"))

    def cancel_queue(self) -> None:
        if self.state != "queued":
            return
        self.ticket = None  # never come back to a place the customer gave up

        async def go() -> None:
            if not await self._send(p.QueueCancel()) and self.state == "queued":
                # The switchboard is out of reach: it lets go of the place when its hold runs out, or when
                # this point comes back without naming it.
                self.state = "idle" if self.connected.is_set() else "offline"
                self._emit(QueueLeft("cancelled"))

        self._spawn(go())

    def hang_up(self) -> asyncio.Task[None] | None:
        """End the call; the agent is told. Returns the task that finishes when everything is closed."""
        if self.call is None:
            return None
        call = self.call

        async def go() -> None:
            await self._send(p.Hangup(call=call))
            await self._end_call("hangup", "point")

        return self._spawn(go())

    def camera_changed(self, status: CameraStatus) -> None:
        """From the camera reader's thread: the track already sends the placeholder; tell the UI, staff and
        the agent (the placeholder picture says it in fi/sv/en, ``device.status`` puts it on the desk)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            self.camera = status
            return
        loop.call_soon_threadsafe(self._camera_changed, status)

    def _camera_changed(self, status: CameraStatus) -> None:
        was = self.camera
        self.camera = status
        if status.ready and was is not None and not was.ready:
            self._emit(CallTrouble("camera_back", status.state))
        elif not status.ready and (was is None or was.ready):
            self._emit(CallTrouble("camera_unavailable", status.state))
        self._tell_camera()

    def call_quality(self) -> quality.CallSummary | None:
        """The call's quality summary for the session's record: the call under way's so far, or the last
        call's once it ended (``None`` until the call had samples with every figure)."""
        return self._this_call.summary() if self.call is not None else self.last_call_quality

    def health(self) -> dict[str, Any]:
        """The engine's part of the point's health report (no customer data): for staff and the organiser."""
        return {
            "switchboard": "connected" if self.connected.is_set() else "disconnected",
            "state": self.state,
            "turn": self.turn_problem or "ok",
            "camera": self.camera.to_dict() if self.camera is not None else None,
            "quality": self.aggregate.to_dict(),
            "malformed_frames": self.malformed_frames,
        }
