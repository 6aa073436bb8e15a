"""No one socket freezes the others (issue 17): a desk that stops reading its socket, a point that loops
queue requests, and a connection that floods frames, all against the real switchboard on loopback."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import select
import socket
import struct
import time
from typing import Any

import pytest
from yarl import URL

from etapiste import protocol as p
from simulation.switchboard import Client, Switchboard, make_config, serve
from switchboard.web import COOKIE

KELA = {"producer": "kela", "queue": "kela-general"}


class RawDesk:
    """A desk on a raw socket with a tiny receive buffer that never reads after its hello: what a browser
    tab frozen by its machine, or a desk behind a dead Wi-Fi whose TCP window stays full, looks like."""

    def __init__(self, sock: socket.socket):
        self.sock = sock

    @classmethod
    async def open(cls, sb: Switchboard, username: str) -> RawDesk:
        http = await sb.login(username)
        token = http.cookie_jar.filter_cookies(URL(sb.base))[COOKIE].value
        await http.close()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)  # set before connecting: the window stays small
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        await loop.sock_connect(sock, ("127.0.0.1", sb.server.port))
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET /ws/desk HTTP/1.1\r\nHost: 127.0.0.1:{sb.server.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Origin: {sb.origin}\r\nCookie: {COOKIE}={token}\r\n\r\n"
        )
        await loop.sock_sendall(sock, request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += await loop.sock_recv(sock, 1)
        assert head.startswith(b"HTTP/1.1 101"), head
        desk = cls(sock)
        await desk.send(p.DeskHello(protocol=p.PROTOCOL_VERSION))
        return desk

    async def send(self, message: Any) -> None:
        """One masked text frame, as a client must send it."""
        data = p.encode(message).encode()
        mask = os.urandom(4)
        size = len(data)
        head = bytes([0x81]) + (
            bytes([0x80 | size]) if size < 126 else bytes([0x80 | 126]) + struct.pack("!H", size)
        )
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        await asyncio.get_running_loop().sock_sendall(self.sock, head + mask + masked)

    async def cut_off(self, guard_s: float = 30.0) -> bool:
        """Wait, still never reading, until the switchboard resets the connection: True once the desk's own
        machine sees the reset (its socket hung up with an error), as a frozen tab sees it when it thaws.

        The socket is polled, never read: reading would un-stall the desk, which would then catch up and rightly
        stay connected. A reset is what the desk must get, not a closing handshake or a FIN queued behind the
        megabytes its full window holds back: those never reach a reader that does not read."""
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        deadline = time.monotonic() + guard_s  # a hang guard, not a limit: the reset is awaited, not timed
        while time.monotonic() < deadline:
            for _, events in poller.poll(0):
                if events & (select.POLLHUP | select.POLLERR):
                    return True
            await asyncio.sleep(0.05)
        return False

    async def read_to_end(self) -> bytes:
        """What the thawed desk reads after the reset: the little its own buffer held, then the reset."""
        loop = asyncio.get_running_loop()
        data = b""
        while True:
            chunk = await loop.sock_recv(self.sock, 65536)  # raises ConnectionResetError at the reset
            if not chunk:
                return data
            data += chunk


def _entries(snapshot: Any) -> list[str]:
    return [e.point for q in snapshot.queues if q.queue == "kela-general" for e in q.entries]


async def _snapshot_where(desk: Client, check: Any, guard_s: float = 20.0) -> Any:
    while True:
        snapshot = await desk.expect("queue.snapshot", timeout=guard_s)
        if check(_entries(snapshot)):
            return snapshot


async def _loop_request_and_cancel(point: Client, times: int) -> None:
    """A point stuck in a loop (a kiosk bug, or a script): it asks, sees its place, cancels, sees it gone."""
    for _ in range(times):
        await point.send(p.QueueRequest(**KELA))
        await point.expect("queue.position", timeout=20)
        await point.send(p.QueueCancel())
        await point.expect("queue.left", timeout=20)


async def test_a_desk_that_stops_reading_neither_freezes_the_queue_nor_the_sweep_and_is_cut_off():
    config = make_config(connections={"rate_per_s": 10_000, "burst": 10_000, "send_stall_s": 0.5})
    async with serve(config) as sb:
        stalled = await RawDesk.open(sb, "anna")  # first in line for every fan-out
        bertil = await sb.desk("bertil")
        oulu, kemi = await sb.point("oulu-kirjasto"), await sb.point("kemi-kirjasto")
        await oulu.expect("welcome")
        await kemi.expect("welcome")
        await kemi.send(p.QueueRequest(**KELA))
        ticket = (await kemi.expect("queue.position")).ticket
        await stalled.send(p.QueueAccept(ticket=ticket))
        start = await kemi.expect("call.start")
        stalled_id = start.offer_to[0]
        # The point's offers are relayed to the desk that does not read: megabytes nobody takes.
        sdp = "v=0 " + "a" * 59_000
        for _ in range(120):
            await kemi.send(p.Offer(call=start.call, peer=stalled_id, sdp=sdp))

        # A busy queue: every change is a snapshot for each desk, the stalled one included.
        inari = await sb.point("inari-kirjasto")
        await inari.expect("welcome")
        await _loop_request_and_cancel(inari, 300)

        # Everyone else is still served: Bertil sees Oulu's customer queue up.
        await oulu.send(p.QueueRequest(**KELA))
        await oulu.expect("queue.position")
        await _snapshot_where(bertil, lambda points: "oulu-kirjasto" in points)

        # The sweep still runs: the call that never got connected ends for the point.
        sb.clock.advance(46)
        sweep = asyncio.create_task(sb.hub.sweep())
        assert (await kemi.expect("call.ended", timeout=20)).reason == "setup_failed"
        await asyncio.wait_for(sweep, 20)

        # The stalled desk is reset while it still reads nothing (it reconnects and resumes like any dropped
        # connection); when it thaws it reads what its own small buffer held and then the reset, not the
        # megabytes of stale offers and snapshots the switchboard had queued for it …
        assert await stalled.cut_off()
        with pytest.raises(ConnectionResetError):
            await stalled.read_to_end()
        # … and the queue keeps moving for everyone else.
        await oulu.send(p.QueueCancel())
        assert (await oulu.expect("queue.left")).reason == "cancelled"
        await _snapshot_where(bertil, lambda points: "oulu-kirjasto" not in points)
        stalled.sock.close()


async def test_a_point_looping_request_and_cancel_does_not_make_desks_rerender_thousands_of_times():
    config = make_config(connections={"rate_per_s": 100_000, "burst": 100_000})  # coalescing alone
    async with serve(config) as sb:
        anna, bertil = await sb.desk("anna"), await sb.desk("bertil")
        for desk in (anna, bertil):
            await desk.drain()
            desk.backlog.clear()
        oulu = await sb.point("oulu-kirjasto")
        await oulu.expect("welcome")
        began = time.monotonic()
        await _loop_request_and_cancel(oulu, 2000)
        await asyncio.sleep(0.5)  # the last coalesced snapshot goes out
        elapsed = time.monotonic() - began
        for desk in (anna, bertil):
            await desk.drain(0.3)
            snapshots = [m for m in desk.backlog if m.type == "queue.snapshot"]
            # At most one snapshot per 100 ms (the coalescing interval is at least that), plus the edges.
            assert 1 <= len(snapshots) <= elapsed / 0.1 + 3, (len(snapshots), elapsed)
            assert _entries(snapshots[-1]) == []  # and the last one is the truth: nobody waits


async def test_a_flooding_connection_is_answered_rate_limited_and_others_are_not():
    config = make_config(connections={"rate_per_s": 5, "burst": 20})
    async with serve(config) as sb:
        oulu, kemi = await sb.point("oulu-kirjasto"), await sb.point("kemi-kirjasto")
        await oulu.expect("welcome")
        await kemi.expect("welcome")
        await oulu.expect("queue.estimates")  # what every point gets after its welcome
        for _ in range(60):
            await oulu.send(json.dumps({"type": "queue.cancel"}))
        replies = [await oulu.next() for _ in range(60)]
        codes = [r.code for r in replies]
        assert codes.count("ticket_gone") >= 20 and codes.count("rate_limited") >= 30, codes
        limited = next(r for r in replies if r.code == "rate_limited")
        assert "slow down" in limited.message
        # Another point's frames are its own: it is served as usual.
        await kemi.send(p.QueueRequest(**KELA))
        assert (await kemi.expect("queue.position")).position == 1
        # The bucket refills: the flooding point is served again after a pause.
        await asyncio.sleep(1.0)
        await oulu.send(p.QueueRequest(**KELA))
        assert (await oulu.expect("queue.position")).position == 2
