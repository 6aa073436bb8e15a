"""TURN credentials issued by the switchboard open a relay on a real (private) coturn — and only while valid."""

from __future__ import annotations

import asyncio
import time

import pytest
from aioice import stun
from aioice.turn import create_turn_endpoint

from simulation.services.common import free_port
from switchboard.turn import turn_credential


class _Inbox(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[bytes, tuple[str, int]]] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.queue.put_nowait((data, addr))


async def test_switchboard_credentials_get_a_relay_that_carries_datagrams_both_ways(coturn):
    username, password = turn_credential(coturn.secret, "point-oulu", time.time(), 600)
    relay, inbox = await create_turn_endpoint(_Inbox, ("127.0.0.1", coturn.port), username, password)
    loop = asyncio.get_running_loop()
    peer_transport, peer = await loop.create_datagram_endpoint(_Inbox, local_addr=("127.0.0.1", free_port()))
    try:
        relayed = relay.get_extra_info("sockname")
        assert relayed[0] == "127.0.0.1" and coturn.min_port <= relayed[1] <= coturn.max_port
        peer_addr = peer_transport.get_extra_info("sockname")
        relay.sendto(b"hello from the point", peer_addr)
        data, source = await asyncio.wait_for(peer.queue.get(), 5)
        assert data == b"hello from the point" and tuple(source) == tuple(relayed)
        peer_transport.sendto(b"hello from the agent", source)
        data, _ = await asyncio.wait_for(inbox.queue.get(), 5)
        assert data == b"hello from the agent"
    finally:
        relay.close()
        peer_transport.close()


@pytest.mark.parametrize("case", ["wrong_secret", "expired"])
async def test_wrong_or_expired_credentials_get_no_relay(coturn, case):
    if case == "wrong_secret":
        username, password = turn_credential("not-the-secret", "point-oulu", time.time(), 600)
    else:
        username, password = turn_credential(coturn.secret, "point-oulu", time.time() - 700, 600)
    with pytest.raises(stun.TransactionFailed) as err:
        await create_turn_endpoint(_Inbox, ("127.0.0.1", coturn.port), username, password)
    assert "401" in str(err.value) or "Unauthorized" in str(err.value)
