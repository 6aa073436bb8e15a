"""Run inside a private network namespace (``unshare -n``) by tests/kiosk/test_call_recovery.py: a real call
(switchboard, kiosk engine, aiortc agent, all on the namespace's own loopback), then the network is cut by
taking the namespace's only interface down, and restored. Prints one JSON line with what happened.

Usage: python -m tests.kiosk.netcut_worker <cut_seconds> <recovery_seconds> [<heartbeat_seconds> [fast|production]]

The heartbeat (switchboard, point and agent alike) decides whether the signalling sockets outlive the cut:
with the production 20 s they survive a short cut; with a short one they die and both sides come back into
the call the switchboard held for them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import time
from typing import Any

import aioice.ice

from kiosk.call import CallAnswered, CallConnected, CallEnded, CallTrouble, RemoteVideoFrame, SwitchboardStatus
from simulation.call import connected_call
from simulation.switchboard import make_config, serve
from tests.fixtures.ice import loopback_addresses


def link(state: str) -> None:
    subprocess.run(["ip", "link", "set", "lo", state], check=True)
    logging.getLogger("netcut").info("link %s", state)


async def scenario(cut_s: float, recovery_s: float, heartbeat_s: float) -> dict[str, Any]:
    result: dict[str, Any] = {}
    config = make_config(heartbeat_s=heartbeat_s)
    async with serve(config) as sb, connected_call(sb, recovery_s=recovery_s, heartbeat_s=heartbeat_s) as (
        _, events, agent
    ):
        await events.first(RemoteVideoFrame)
        # The reference for the recovery time: this call's own set-up, answer → the agent's first picture.
        result["setup_s"] = round(events.time_of(RemoteVideoFrame) - events.time_of(CallAnswered), 2)
        await agent.until(lambda: agent.frames["video"] > 10, what="video before the cut")
        link("down")
        cut_at = time.monotonic()
        await asyncio.sleep(cut_s)
        agent_frames = agent.frames["video"]
        seen = events.count(RemoteVideoFrame)
        link("up")
        restored_at = time.monotonic()
        result["cut_s"] = round(restored_at - cut_at, 2)
        deadline = restored_at + 40
        while time.monotonic() < deadline:
            if events.of(CallEnded):
                break
            fresh = events.count(RemoteVideoFrame) > seen
            if fresh and agent.frames["video"] > agent_frames:
                result["media_back_s"] = round(time.monotonic() - restored_at, 2)
                break
            await asyncio.sleep(0.05)

        def still_told() -> bool:  # the customer's screen still says "reconnecting"
            kinds = [e.kind for e in events.of(CallTrouble)]
            return bool(kinds) and kinds[-1] == "reconnecting"

        while "media_back_s" in result and still_told() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)  # the next quality sample (every 0.5 s here) sees the peer heard again
        if events.of(CallEnded):
            ended = events.of(CallEnded)[0]
            result["ended"] = {"reason": ended.reason, "by": ended.by}
            # The agent learns it from the switchboard (call.ended), or — when the cut outlasted the
            # switchboard's heartbeat — from its own socket closing, which the desk shows as a lost connection.
            await agent.until(lambda: agent.seen("call.ended") or agent.ws is None or agent.ws.closed, timeout=30,
                              what="the end of the call")
            notice = agent.seen("call.ended")
            result["agent_told"] = {"reason": notice[0].reason, "by": notice[0].by} if notice else "socket_closed"
        result["trouble"] = [e.kind for e in events.of(CallTrouble)]
        told = events.time_of(CallTrouble) if events.of(CallTrouble) else None
        result["told_during_cut"] = told is not None and told < restored_at
        result["told_after_s"] = round(told - cut_at, 1) if told is not None else None
        result["recovered"] = any(e.recovered for e in events.of(CallConnected))
        result["offers"] = dict(agent.offers)
        result["engine_ws_kept"] = len(events.of(SwitchboardStatus)) == 1
        result["agent_rejoined"] = [w.call is not None for w in agent.rejoins]
    return result


def main() -> int:
    cut_s, recovery_s = float(sys.argv[1]), float(sys.argv[2])
    heartbeat_s = float(sys.argv[3]) if len(sys.argv) > 3 else 20.0
    consent = sys.argv[4] if len(sys.argv) > 4 else "fast"
    link("up")
    import logging
    import os

    logging.basicConfig(level=os.environ.get("NETCUT_LOG", "WARNING"), stream=sys.stderr,
                        format="%(relativeCreated)7.0f ms %(name)s: %(message)s")
    aioice.ice.get_host_addresses = loopback_addresses
    # Consent checks every ~0.5 s instead of ~5 s: a lost path is noticed after ~3 s instead of ~30 s, so the
    # test exercises the re-offer path with a short cut. The engine's logic is the same either way.
    # ``production``: aioice's own interval (and the point's lenient consent), a lost path noticed after ~30 s.
    if consent == "fast":
        aioice.ice.CONSENT_INTERVAL = 0.5  # type: ignore[assignment]
    result = asyncio.run(scenario(cut_s, recovery_s, heartbeat_s))
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
