"""ICE consent on a busy point (kiosk/consent.py): answers to the consent checks that arrive late — a
saturated processor, a link queueing a document and video — do not end a working call; a peer that stops
answering altogether still loses consent, and the engine's recovery brings the call back.

The delay is injected at the agent's own ICE transport (its STUN answers are sent late). Consent is checked
every 0.5 s here instead of 5 s, and expires after 4 checks' time (2 s) without an answer instead of 6 (30 s), so
silence is noticed after about 2–3 s instead of 30–36 s; answers 1.2 s late are later than aioice's own check
accepts (0.5 s) but within the expiry, as a busy point's answers, seconds late, are within 30 s. The logic is the
same."""

from __future__ import annotations

import asyncio
from typing import Any

import aioice.ice
import pytest
from aioice import stun

from kiosk.call import CallConnected, CallTrouble
from simulation.call import connected_call
from simulation.switchboard import serve

pytestmark = pytest.mark.usefixtures("loopback_ice")


#: aioice's constants as these tests set them (aioice: 5 s and 6).
CONSENT_INTERVAL_S = 0.5
CONSENT_FAILURES = 4
#: aioice's own check waits 0.5 s for each answer (no retransmission) and closes the connection after
#: ``CONSENT_FAILURES`` unanswered checks in a row, the checks ``CONSENT_INTERVAL_S`` ± 20 % apart.
AIOICE_WOULD_CLOSE_WITHIN_S = CONSENT_FAILURES * (1.2 * CONSENT_INTERVAL_S + 0.5)


@pytest.fixture(autouse=True)
def fast_consent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aioice.ice, "CONSENT_INTERVAL", CONSENT_INTERVAL_S)
    monkeypatch.setattr(aioice.ice, "CONSENT_FAILURES", CONSENT_FAILURES)


def answer_checks_late(pc: Any, seconds: float) -> None:
    """Make this peer connection answer STUN checks ``seconds`` late (its ICE transport's own send)."""
    connection = pc.getTransceivers()[0].sender.transport.transport.iceGatherer._connection
    loop = asyncio.get_running_loop()
    for protocol in connection._protocols:
        send = protocol.send_stun

        def late(message: stun.Message, addr: tuple[str, int], send: Any = send) -> None:
            if message.message_class == stun.Class.RESPONSE:
                loop.call_later(seconds, send, message, addr)
            else:
                send(message, addr)

        protocol.send_stun = late


async def test_consent_answers_that_come_late_do_not_end_a_working_call() -> None:
    async with serve() as sb, connected_call(sb) as (engine, events, agent):
        (pc,) = agent.pcs.values()
        answer_checks_late(pc, 1.2)  # aioice's own check gives up on an answer after 0.5 s
        # Past the time aioice's own check would have closed the call by, with a check to spare.
        await asyncio.sleep(AIOICE_WOULD_CLOSE_WITHIN_S + 1.2 + 1.2 * CONSENT_INTERVAL_S)
        assert not events.of(CallTrouble)
        assert [p.pc.connectionState for p in engine.peers.values()] == ["connected"]
        frames = agent.frames["video"]
        await agent.until(lambda: agent.frames["video"] > frames + 10, what="video still flowing")


async def test_a_peer_that_stops_answering_loses_consent_and_the_call_recovers() -> None:
    async with serve() as sb, connected_call(sb) as (_engine, events, agent):
        (pc,) = agent.pcs.values()
        answer_checks_late(pc, 3600)  # silence
        trouble = await events.first(CallTrouble, lambda e: e.kind == "reconnecting", timeout=30)
        assert trouble.detail == "agent"
        await events.first(CallConnected, lambda e: e.recovered, timeout=30)  # a fresh offer, answered
