"""Signalling: the WebSocket to the switchboard, kept open (reconnecting with back-off, faster in a call or
the queue, whose place the switchboard holds; moving to the next configured address when one fails), and
every frame it brings, validated and dispatched."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import aiohttp

from etapiste import protocol as p
from etapiste.retry import Backoff
from etapiste.webeid.origin import same_origin, switchboard_origin
from kiosk.call.events import (
    AppointmentCheckedIn,
    AppointmentRefused,
    BookingsToday,
    IdentifyRefused,
    IdentifyRequested,
    IdentityResult,
    QueueEstimates,
    QueueLeft,
    QueuePosition,
    QueueRefused,
    QueueTransferred,
    RoomServiceOrder,
    StaffComing,
    SwitchboardStatus,
)
from kiosk.call.recovery import Recovery
from kiosk.logsafe import where

log = logging.getLogger("kiosk.call")

#: Switchboard reconnect delays: full jitter (etapiste.retry) under a ceiling doubling from 0.5 s up to 10 s,
#: so a fleet reconnecting after a switchboard restart arrives spread out rather than in waves.
RECONNECT_BASE_S = 0.5
RECONNECT_CAP_S = 10.0
#: In a call or the queue the switchboard holds our place for a minute, and media should be back within 10 s
#: of the network returning: retry at least this often (the jitter only ever makes it sooner).
IN_CALL_RECONNECT_S = 1.0
#: A refusal staff must act on (unknown credential, unsupported protocol): do not hammer the switchboard.
REFUSED_RETRY_S = 30.0
#: A connection attempt to the switchboard that has not completed by then is given up and retried.
CONNECT_TIMEOUT_S = 10.0
#: A TCP connect whose SYN is not answered by then is retried afresh: when the network returns, a pending
#: attempt would otherwise wait for the kernel's next SYN retransmission (1, 3, 7 s… after the first).
SOCKET_CONNECT_TIMEOUT_S = 3.0
#: The ``ref`` of an appointment check-in, so an ``error`` about it is told apart from a queue's.
CHECK_IN_REF = "appointment-check-in"


class Signalling(Recovery):
    """Connecting to the switchboard and acting on its frames."""

    async def start(self, timeout: float | None = None) -> None:
        """Connect to the switchboard (and keep reconnecting); with ``timeout``, wait until connected."""
        if self._runner is None:
            self._loop = asyncio.get_running_loop()
            self._closing = False
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(
                total=None, connect=CONNECT_TIMEOUT_S, sock_connect=SOCKET_CONNECT_TIMEOUT_S
            ))
            self._runner = asyncio.ensure_future(self._signalling())
            if self.video_encoder == "auto":
                self._spawn(self._find_hardware_encoder())
        if timeout is not None:
            await asyncio.wait_for(self.connected.wait(), timeout)

    async def close(self) -> None:
        """Leave everything: the call (the agent is told), the queue, the switchboard."""
        self._closing = True
        if self.call is not None:
            await self._send(p.Hangup(call=self.call))
            await self._end_call("hangup", "point")
        if self._ws is not None:
            await self._ws.close()
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._runner
            self._runner = None
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def _signalling(self) -> None:
        backoff = Backoff(RECONNECT_BASE_S, RECONNECT_CAP_S)
        assert self._http is not None
        while not self._closing:
            reason = "closed"
            try:
                limit = 4 * p.MAX_SIGNAL_BYTES
                connect = self._http.ws_connect(self.url, heartbeat=self.heartbeat_s, max_msg_size=limit)
                async with connect as ws:
                    self._ws = ws
                    hello = p.PointHello(
                        protocol=p.PROTOCOL_VERSION, point=self.point_id, credential=self._credential,
                        software=self.software,
                        # what to come back to after a dropped connection: the call, or the place in the queue
                        call=self.call,
                        ticket=self.ticket if self.state == "queued" else None,
                        features=list(p.POINT_FEATURES),
                    )
                    await ws.send_str(p.encode(hello))
                    async for msg in ws:
                        if msg.type != aiohttp.WSMsgType.TEXT:
                            break
                        backoff.reset()
                        reason = await self._on_frame(msg.data) or reason
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                log.info("switchboard unreachable: %s", type(exc).__name__)
                reason = "unreachable"
            finally:
                self._ws = None
            was = self.connected.is_set()
            self.connected.clear()
            if was or reason != "closed" or backoff.failures == 0:
                self._emit(SwitchboardStatus(False, reason))
            if self.state not in ("in_call", "queued"):
                self.state = "offline"
            elif was and not self._closing:
                self._spawn(self._without_switchboard())
            if self._closing:
                return
            self._next_switchboard()
            held = self.state in ("in_call", "queued")
            delay = backoff.next_delay(cap_s=IN_CALL_RECONNECT_S if held else None)
            if reason in ("unauthorised", "unsupported_version"):
                delay = REFUSED_RETRY_S  # a configuration problem: staff must act
            await asyncio.sleep(delay)

    def _configured_origins(self) -> list[str]:
        """The origins of the configured switchboard addresses, the one in use first."""
        origins = []
        for url in (self.url, *self.urls):
            try:
                origins.append(switchboard_origin(url))
            except ValueError:  # a URL no origin follows from (the configuration check refuses it)
                continue
        return origins

    def _next_switchboard(self) -> None:
        """The address in use failed (refused, unreachable, or its connection dropped): the next attempt goes
        to the next configured address, round and round. The hello names the call or queue place as after any
        drop, so instances sharing the switchboard's state take the point back into it."""
        if len(self.urls) > 1:
            at = self.urls.index(self.url) if self.url in self.urls else -1
            self.url = self.urls[(at + 1) % len(self.urls)]
            log.info("switchboard: trying address %d of %d next", self.urls.index(self.url) + 1, len(self.urls))

    async def _on_frame(self, raw: str) -> str | None:
        """Handle one switchboard frame; return a disconnect reason when the switchboard refused us."""
        try:
            m = p.parse_signal(raw)
        except p.ProtocolError as exc:
            self.malformed_frames += 1
            log.warning("malformed frame from the switchboard: %s", exc.code)
            return None
        try:
            return await self._dispatch(m)
        except Exception as exc:  # logged without its message (a frame may carry text meant for the customer)
            log.error("handling %s failed: %s", m.type, where(exc))
            return None

    async def _dispatch(self, m: Any) -> str | None:
        if isinstance(m, p.Welcome):
            self.me, self.origin, self.ice_servers = m.you, m.origin, list(m.ice_servers)
            self.connected.set()
            if self.call is not None and m.call == self.call:
                self._resumed()
            elif self.call is not None:
                # The switchboard no longer holds our call: it ended while we were away (and the agent was told).
                await self._end_call("network_lost", None)
            elif self.state == "queued" and m.call is None and (self.ticket is None or m.ticket != self.ticket):
                self._queue_lost()  # (with ``m.call``, an agent answered meanwhile: call.start follows)
            if self.state == "offline":
                self.state = "idle"
            self._emit(SwitchboardStatus(True))
        elif isinstance(m, p.Error):
            return self._on_error(m)
        elif isinstance(m, p.QueuePosition):
            self.state, self.ticket = "queued", m.ticket
            self._emit(QueuePosition(m.position, m.estimate_s, m.agents_online, m.language_agents))
        elif isinstance(m, p.QueueEstimates):
            self._emit(QueueEstimates({q.queue: (q.open, q.estimate_s, q.agents_online) for q in m.queues}))
        elif isinstance(m, p.QueueLeft):
            if self.ticket is not None and m.ticket != self.ticket:
                return None  # an earlier place's, e.g. one the customer cancelled before queueing again
            if self.state == "queued":
                self.state = "idle"
            self.ticket = None
            self._emit(QueueLeft(m.reason))
        elif isinstance(m, p.AppointmentCheckedIn):
            self.state, self.ticket = "queued", m.ticket  # a place held like any other over a drop
            self._emit(AppointmentCheckedIn(m.producer, m.queue, m.start, m.agent_online))
        elif isinstance(m, p.AppointmentRefused):
            self._emit(AppointmentRefused(m.reason, m.start, m.opens_at))
        elif isinstance(m, p.AppointmentDay):
            self._emit(BookingsToday(tuple((b.start, b.producer, b.checked_in) for b in m.bookings)))
        elif isinstance(m, p.QueueTransferred):
            if m.call != self.call:
                # A call this point left meanwhile (the customer hung up as the agent transferred): the
                # switchboard queued it anyway; give the place up, or the next customer would be answered.
                if self.state not in ("queued", "in_call"):
                    self._spawn(self._send(p.QueueCancel()))
                return None
            # Told first, so the customer's screen turns to the new queue rather than the end of the call;
            # then the call's media closes as for any end (the switchboard ends it for the agent).
            name = m.producer_name.model_dump() if m.producer_name is not None else None
            self._emit(QueueTransferred(m.call, m.producer, m.queue, m.from_producer, name))
            await self._end_call("transferred", "agent")
            self.state, self.ticket = "queued", m.ticket
        elif isinstance(m, p.CallStart):
            await self._on_call_start(m)
        elif isinstance(m, p.PeerJoined):
            await self._on_peer_joined(m)
        elif isinstance(m, p.PeerLeft):
            await self._on_peer_left(m)
        elif isinstance(m, p.Answer):
            await self._on_answer(m)
        elif isinstance(m, p.Offer):
            log.warning("unexpected offer from %s: the point always offers", m.peer)
        elif isinstance(m, p.Ice):
            await self._on_ice(m)
        elif isinstance(m, p.CallEnded):
            if m.call == self.call:
                await self._end_call(m.reason, m.by)
        elif isinstance(m, p.IdentityRequest):
            if m.call == self.call:
                if m.agent is not None:  # a joint call: the agent who asked sees the result (kiosk/call/joint.py)
                    self._requester[m.request] = m.agent
                # Sign only for a switchboard we are configured to reach, never for an origin it names:
                # a compromised or impersonated switchboard could otherwise relay the customer's PIN-1
                # authentication to another site. The card is not asked; the agent is told why. Any of
                # the configured addresses: the instances behind them are one service with one origin.
                if any(same_origin(m.origin, ours) for ours in self._configured_origins()):
                    self._emit(IdentifyRequested(m.request, m.nonce, m.origin, m.expires_in_s))
                else:
                    log.error("identification refused: the switchboard asked to sign for another origin")
                    self.abort_identity(m.request, "origin_mismatch")
                    self._emit(IdentifyRefused(m.request, "origin_mismatch"))
        elif isinstance(m, p.IdentityResult) and m.call == self.call:
            self._emit(IdentityResult(m.request, m.ok, m.reason))
            if m.ok:
                self._identity_proven(m.request)
        elif isinstance(m, p.RoomService):
            self._emit(RoomServiceOrder(m.on, m.message))
        elif isinstance(m, p.RoomStaffComing):
            self._emit(StaffComing(m.kind, m.device))
        return None

    def _on_error(self, m: p.Error) -> str | None:
        log.warning("switchboard error %s", m.code)
        if m.code in ("unauthorised", "unsupported_version"):
            return m.code
        if m.code == "not_allowed" and not self.connected.is_set():
            return m.code
        if m.code == "not_allowed" and "replaced" in m.message:
            return "replaced"
        if m.ref == CHECK_IN_REF:  # a switchboard too old to know appointments, or a refusal of the frame
            self._emit(AppointmentRefused("unavailable"))
            return None
        if m.code in ("unknown_queue", "queue_closed", "already_queued"):
            if self.state == "queued":
                self.state = "idle"
            self._emit(QueueRefused(m.code))
        return None

    def send_proof(self, request: str, token: p.WebEidToken | dict[str, Any]) -> None:
        if self.call is None:
            return
        token = token if isinstance(token, p.WebEidToken) else p.WebEidToken.model_validate(token)
        self._spawn(self._send(p.IdentityProof(call=self.call, request=request, token=token)))
        self.report_identity_status(request, "sent")

    def abort_identity(self, request: str, reason: str) -> None:
        if self.call is None:
            return
        message = p.IdentityAbort(call=self.call, request=request, reason=reason)
        self._spawn(self._send(message))
        self.report_identity_status(request, "cancelled" if reason == "cancelled" else "failed", reason)

    def send_room(self, message: p.RoomStatus | p.RoomHelp) -> None:
        """The room's state or a customer's help request, for the host view (:mod:`kiosk.room`); dropped when
        not connected (the state is sent again after every ``welcome``)."""
        self._spawn(self._send(message))
