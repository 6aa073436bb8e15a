"""What a joint call (issue 22) costs the point: the kiosk's call engine with one agent (the reference) and with
two agents of two producers (a mesh: the point encodes its camera and sends its microphone to each agent, and
decodes both agents' pictures), in the same run on the same machine, through the real switchboard.

The agents (aiortc, 640×480 at 30 fps, like the point) run in a child process, so the figure is the point's
own: the CPU time of this process (engine and switchboard; the switchboard only relays signalling) over
``--seconds`` of a call whose media flows to and from every agent. Runs alternate one agent and two agents;
medians. Everything stays on loopback.

Run: ``.venv/bin/python bench/bench_joint_call.py [--runs 3] [--seconds 10]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aioice.ice  # noqa: E402

from etapiste import protocol as p  # noqa: E402
from kiosk.call import AgentJoined, CallConnected, RemoteVideoFrame  # noqa: E402
from simulation.call import pattern_media, point_engine  # noqa: E402
from simulation.desk_agent import AiortcAgent  # noqa: E402
from simulation.switchboard import Switchboard, serve  # noqa: E402

WIDTH, HEIGHT, FPS = 640, 480, 30


def _loopback(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    return ["127.0.0.1"]


class _Remote:
    """The switchboard as seen from the agents' process: its address and origin (for the login)."""

    def __init__(self, base: str, origin: str) -> None:
        self.base, self.origin, self._extra = base, origin, []

    async def login(self, username: str) -> Any:
        return await Switchboard.login(self, username)  # type: ignore[arg-type]  # uses base and origin only


async def _agents_child(base: str, origin: str, count: int) -> None:
    """Anna answers the waiting customer; with ``count`` 2 she invites Migri and Maija joins. Runs until killed."""
    aioice.ice.get_host_addresses = _loopback  # type: ignore[assignment]
    sb = _Remote(base, origin)
    anna = AiortcAgent(sb, "anna", heartbeat_s=20)  # type: ignore[arg-type]
    await anna.connect()
    agents = [anna]
    if count > 1:
        maija = AiortcAgent(sb, "maija", heartbeat_s=20)  # type: ignore[arg-type]
        await maija.connect()
        agents.append(maija)
    print("connected", flush=True)
    call = await anna.accept_next()
    if count > 1:
        await anna.send(p.AgentInvite(call=call, producer="migri"))
        invited = (await maija.until(lambda: maija.seen("agent.invited"), what="the invitation"))[0]
        await maija.send(p.AgentAccept(invite=invited.invite))
    await asyncio.gather(*(a.until(lambda a=a: a.frames["video"] > 30, 60, "video") for a in agents))
    print("flowing", flush=True)
    await asyncio.Event().wait()


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _one_run(agents: int, seconds: float) -> float:
    """The point's CPU (% of one core) over ``seconds`` of a call with ``agents`` agents."""
    aioice.ice.get_host_addresses = _loopback  # type: ignore[assignment]
    media = pattern_media(WIDTH, HEIGHT, FPS)
    async with serve() as sb, point_engine(sb, media=media) as (engine, events):
        await engine.start(timeout=10)
        child = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--agents-child", sb.base, sb.origin, str(agents),
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            assert child.stdout is not None
            assert (await asyncio.wait_for(child.stdout.readline(), 60)).strip() == b"connected"
            engine.request_call("kela")
            await events.first(CallConnected, timeout=60)
            if agents > 1:
                await events.first(AgentJoined, timeout=60)
            await events.until(
                lambda: len({e.peer for e in events.of(RemoteVideoFrame)}) >= agents, timeout=60,
                what="every agent's picture",
            )
            assert (await asyncio.wait_for(child.stdout.readline(), 90)).strip() == b"flowing"
            await asyncio.sleep(2)  # past the start-up (key frames, bitrate ramp)
            cpu0, wall0 = _cpu_s(), time.monotonic()
            await asyncio.sleep(seconds)
            return 100 * (_cpu_s() - cpu0) / (time.monotonic() - wall0)
        finally:
            child.terminate()
            await child.wait()


async def main(runs: int, seconds: float) -> dict[str, Any]:
    figures: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(runs):
        for agents in (1, 2):
            figures[agents].append(await _one_run(agents, seconds))
    one, two = statistics.median(figures[1]), statistics.median(figures[2])
    return {
        "media": f"{WIDTH}x{HEIGHT}@{FPS} both ways, audio both ways",
        "runs": runs,
        "seconds": seconds,
        "point_cpu_pct_one_agent": [round(v, 1) for v in figures[1]],
        "point_cpu_pct_two_agents": [round(v, 1) for v in figures[2]],
        "median_one_agent_pct": round(one, 1),
        "median_two_agents_pct": round(two, 1),
        "two_over_one": round(two / one, 2) if one else None,
        "cpus": os.cpu_count(),
        "load_1min_after": round(os.getloadavg()[0], 1),
    }


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--agents-child":
        asyncio.run(_agents_child(sys.argv[2], sys.argv[3], int(sys.argv[4])))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.runs, args.seconds)), indent=2))
