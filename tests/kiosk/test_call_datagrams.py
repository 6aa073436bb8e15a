"""The call's sockets read what waits in batches (kiosk/call/datagrams.py): every packet still arrives, in
order, and none after the call's socket is closed; other sockets keep asyncio's one datagram a turn."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from kiosk.call import datagrams


class Recorder(asyncio.DatagramProtocol):
    """A socket's protocol that keeps what it gets; closes its transport after ``close_after`` datagrams."""

    def __init__(self, close_after: int | None = None) -> None:
        self.got: list[bytes] = []
        self.close_after = close_after
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.got.append(data)
        if self.close_after is not None and len(self.got) == self.close_after:
            self.transport.close()


class CallSocket(Recorder):
    """Counted as a call's socket (as aioice's ``StunProtocol`` is)."""


@pytest.fixture
def batched(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(datagrams, "BATCHED", (CallSocket,))
    assert datagrams.install()
    yield
    datagrams.uninstall()


async def burst(protocol: Recorder, count: int) -> tuple[int, Recorder]:
    """``count`` datagrams queued on a loopback socket before the loop reads any; how many readiness events
    the transport took to read them, and the protocol."""
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: protocol, local_addr=("127.0.0.1", 0))
    events = 0
    read_ready = transport._read_ready  # type: ignore[attr-defined]

    def counted() -> None:
        nonlocal events
        events += 1
        read_ready()

    loop._remove_reader(transport._sock_fd)  # type: ignore[attr-defined]
    loop._add_reader(transport._sock_fd, counted)  # type: ignore[attr-defined]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        for n in range(count):  # all sent before the loop runs again: the kernel holds them
            sender.sendto(b"packet %d" % n, transport.get_extra_info("sockname"))
    for _ in range(200):  # a closed transport reads nothing more: its reader is gone with the close
        if len(protocol.got) >= count or transport.is_closing():
            break
        await asyncio.sleep(0.005)
    transport.close()
    return events, protocol


async def test_every_datagram_of_a_burst_reaches_the_call_in_order_in_a_few_loop_turns(batched: None) -> None:
    events, protocol = await burst(CallSocket(), 50)
    assert protocol.got == [b"packet %d" % n for n in range(50)]
    assert events <= 5  # 16 a turn: 4 turns (and at most one that finds nothing)


async def test_other_sockets_keep_one_datagram_a_loop_turn(batched: None) -> None:
    events, protocol = await burst(Recorder(), 20)
    assert protocol.got == [b"packet %d" % n for n in range(20)]
    assert events >= 20


async def test_no_datagram_reaches_a_call_after_its_socket_is_closed_mid_batch(batched: None) -> None:
    _, protocol = await burst(CallSocket(close_after=3), 10)
    assert protocol.got == [b"packet 0", b"packet 1", b"packet 2"]


def test_install_is_idempotent_and_uninstall_restores_asyncio() -> None:
    from asyncio import selector_events

    transport = selector_events._SelectorDatagramTransport
    was_installed = datagrams._original is not None  # a call engine made earlier in this process installs it
    datagrams.uninstall()
    own = transport._read_ready
    assert own is not datagrams._read_ready
    assert datagrams.install() and datagrams.install()
    assert transport._read_ready is datagrams._read_ready
    datagrams.uninstall()
    assert transport._read_ready is own
    if was_installed:
        datagrams.install()
