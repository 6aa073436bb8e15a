"""When a connected peer goes silent, the customer is told at once, and only then (kiosk/call/peer.py,
``SILENT_S``); the network-level behaviour is in test_call_recovery.py (the namespace's loopback cut)."""

from __future__ import annotations

from aiortc import RTCPeerConnection

from kiosk.call import CallEngine, CallTrouble
from kiosk.call.peer import SILENT_S, Peer
from kiosk.stats import QualitySample


def sample(interval_s: float, receive_kbps: float) -> QualitySample:
    return QualitySample(interval_s=interval_s, send_kbps=500.0, receive_kbps=receive_kbps, fps_received=0.0,
                         loss_percent=0.0, rtt_ms=None)  # fmt: skip


async def test_silence_is_told_after_its_limit_and_cleared_when_the_peer_is_heard_again() -> None:
    engine = CallEngine(url="ws://127.0.0.1:9/ws/point", point_id="oulu-kirjasto", credential="c" * 32)
    told: list[str] = []
    engine.subscribe(lambda e: told.append(e.kind) if isinstance(e, CallTrouble) else None)
    pc = RTCPeerConnection()
    try:
        peer = Peer("desk-1", "agent", "Anna", pc, we_offer=True)
        engine._watch_silence(peer, sample(2.0, 900.0))  # its first sample
        engine._watch_silence(peer, sample(2.0, 900.0))
        engine._watch_silence(peer, sample(2.0, 0.0))
        assert told == [] and SILENT_S > 2.0  # one quiet interval is not yet a silent network
        engine._watch_silence(peer, sample(2.0, 0.0))
        assert told == ["reconnecting"]
        engine._watch_silence(peer, sample(2.0, 0.0))
        assert told == ["reconnecting"]  # told once
        engine._watch_silence(peer, sample(2.0, 0.4))  # an RTCP report: heard again
        assert told == ["reconnecting", "recovered"]

        # A connection made to replace a lost one carries its meter: its first sample's interval reaches back
        # over the whole gap with nothing counted on the new connection. That is not the new one's silence
        # (it told the customer "reconnecting" again right after "recovered", seen under load in CI).
        fresh = Peer("desk-1", "agent", "Anna", pc, we_offer=True)
        engine._watch_silence(fresh, sample(7.0, 0.0))
        engine._watch_silence(fresh, sample(0.5, 300.0))
        assert told == ["reconnecting", "recovered"]
    finally:
        await pc.close()


async def test_a_silent_participant_who_leaves_takes_the_trouble_notice_with_them() -> None:
    # An interpreter's network went quiet ("reconnecting" on the customer's screen), then they left the call:
    # the customer's call with the agent goes on, and the screen must not go on saying it is reconnecting.
    from etapiste import protocol as p

    engine = CallEngine(url="ws://127.0.0.1:9/ws/point", point_id="oulu-kirjasto", credential="c" * 32)
    told: list[str] = []
    engine.subscribe(lambda e: told.append(e.kind) if isinstance(e, CallTrouble) else None)
    pc = RTCPeerConnection()
    interpreter = Peer("desk-2", "interpreter", "Ilona", pc, we_offer=True, sampled=True)
    engine.peers[interpreter.id] = interpreter
    engine.call = "call-1"
    for _ in range(3):
        engine._watch_silence(interpreter, sample(2.0, 0.0))
    assert told == ["reconnecting"]
    await engine._on_peer_left(p.PeerLeft(call="call-1", peer="desk-2"))
    assert told == ["reconnecting", "recovered"] and pc.connectionState == "closed"


async def test_the_notice_stays_while_any_participant_is_still_cut_off() -> None:
    # Agent and interpreter both went quiet (a network cut on the way to both): the customer reads that the call
    # is interrupted. The agent is heard again first; the interpreter's picture is still frozen, so the notice
    # must stay until the interpreter is back too (before, the agent's return cleared it for both).
    engine = CallEngine(url="ws://127.0.0.1:9/ws/point", point_id="oulu-kirjasto", credential="c" * 32)
    told: list[tuple[str, str]] = []
    engine.subscribe(lambda e: told.append((e.kind, e.detail)) if isinstance(e, CallTrouble) else None)
    pcs = [RTCPeerConnection(), RTCPeerConnection()]
    try:
        agent = Peer("desk-1", "agent", "Anna", pcs[0], we_offer=True, sampled=True)
        interpreter = Peer("desk-2", "interpreter", "Ilona", pcs[1], we_offer=True, sampled=True)
        engine.peers.update({agent.id: agent, interpreter.id: interpreter})
        for _ in range(2):
            engine._watch_silence(agent, sample(2.0, 0.0))
            engine._watch_silence(interpreter, sample(2.0, 0.0))
        assert [kind for kind, _ in told] == ["reconnecting", "reconnecting"]

        engine._watch_silence(agent, sample(2.0, 800.0))  # the agent is back, the interpreter is not
        assert [kind for kind, _ in told] == ["reconnecting", "reconnecting"]
        engine._watch_silence(interpreter, sample(2.0, 0.0))
        engine._watch_silence(interpreter, sample(2.0, 300.0))
        assert told[-1] == ("recovered", "interpreter")  # now the whole call is back

        # Lost (ICE gave up) rather than silent counts the same: the interpreter's connection is being
        # recovered while the agent goes quiet and comes back.
        interpreter.lost_at = 1.0
        for _ in range(2):
            engine._watch_silence(agent, sample(2.0, 0.0))
        engine._watch_silence(agent, sample(2.0, 500.0))
        assert told[-1] == ("reconnecting", "agent")
        interpreter.lost_at = None
        engine._trouble_over(interpreter)  # what the interpreter's reconnected connection reports
        assert told[-1] == ("recovered", "interpreter")
    finally:
        for pc in pcs:
            await pc.close()
