"""Load benchmark of the switchboard: 500 points and 200 agents on loopback, then a storm of call set-ups.

    .venv/bin/python bench/bench_switchboard.py [--points 500] [--agents 200] [--runs 3]
    .venv/bin/python bench/bench_switchboard.py --instances 2 [--runs 1]   # several instances on Redis

Each run starts the real switchboard (``etapiste switchboard --config …``) as its own process, connects
every point and logs in every agent (HTTP login + desk WebSocket), then all points ask for an agent at
once. Agents answer what their queue snapshot shows (first come first served, losers get ``ticket_gone``);
each call exchanges an offer, an answer and 4 ICE candidates each way, and the agent hangs up, free for the
next customer, until every point has been served. Measured:

* signalling latency of every relayed frame (offer/answer/ICE, sender → switchboard → receiver), p50/p99;
* queue latency: ``queue.request`` → first ``queue.position``; answer latency: ``queue.accept`` → the
  point's ``call.start``;
* the switchboard process's CPU time during the storm and its peak memory (VmHWM).

Reference peer, same machine, same run: a bare aiohttp WebSocket relay (no validation, no queues, no
state) forwarding the same frames between the same number of connections. The difference is what the
switchboard's validation and logic cost. Figures are medians of ``--runs`` runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from etapiste import protocol as p  # noqa: E402
from switchboard.credentials import hash_password, hash_point_credential  # noqa: E402

PRODUCERS = 10
PASSWORD = "bench-password-1"
ALWAYS = {d: "00:00-24:00" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
FAKE_SDP = "v=0\r\n" + "a=fake-line-of-a-realistic-sdp-size\r\n" * 90  # ~3.5 KB, like a real offer
CANDIDATE = "candidate:1 1 udp 2130706431 127.0.0.1 {port} typ host"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(path: Path, points: int, agents: int, port: int) -> None:
    path.write_text(yaml.safe_dump(config_document(points, agents, port)))


def config_document(points: int, agents: int, port: int) -> dict[str, Any]:
    # A cheaper scrypt cost than production's n=2^17 keeps 200 logins from dominating the run; the
    # benchmark is about signalling, and login cost is measured by its own figure below.
    pw_hash = hash_password(PASSWORD, n=2048)
    config = {
        "listen_host": "127.0.0.1",
        "listen_port": port,
        "origin": f"http://127.0.0.1:{port}",  # served plain on loopback; the desks' Origin must match
        "login": {"max_failures": 100, "window_s": 60, "lockout_s": 60},
        "points": [
            {
                "id": f"point-{i:04d}",
                "place": f"Library {i}",
                "credential_hash": hash_point_credential(f"cred-{i:04d}-" + "x" * 20),
            }
            for i in range(points)
        ],
        "producers": [
            {
                "id": f"prod-{j:02d}",
                "name": {"fi": f"P{j}", "sv": f"P{j}", "en": f"P{j}"},
                "queues": [{"id": f"queue-{j:02d}", "service_hours": {"weekly": ALWAYS}}],
            }
            for j in range(PRODUCERS)
        ],
        "users": [
            {
                "username": f"agent{k:03d}",
                "name": f"Agent {k}",
                "role": "agent",
                "producers": [f"prod-{k % PRODUCERS:02d}"],
                "password_hash": pw_hash,
            }
            for k in range(agents)
        ],
    }
    return config


def proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_mem_mb(pid: int, key: str = "VmHWM") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


async def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


class Storm:
    """Clients of one run: points and agents, their latencies, and the storm's choreography."""

    def __init__(self, base: str, points: int, agents: int):
        self.base, self.n_points, self.n_agents = base, points, agents
        self.relay: list[float] = []
        self.queue_lat: list[float] = []
        self.answer_lat: list[float] = []
        self.served = 0
        self.done = asyncio.Event()
        self.claimed: set[str] = set()
        self.errors = 0
        """Points whose ``queue.request`` was refused (an ``error`` frame before any position)."""

    async def point(self, http: aiohttp.ClientSession, i: int, go: asyncio.Event, ready: list[int]) -> None:
        ws = await http.ws_connect(f"{self.base.replace('http', 'ws')}/ws/point", max_msg_size=0)
        await ws.send_str(
            p.encode(p.PointHello(protocol=1, point=f"point-{i:04d}", credential=f"cred-{i:04d}-" + "x" * 20))
        )
        first = await ws.receive()
        if first.type != aiohttp.WSMsgType.TEXT or json.loads(first.data).get("type") != "welcome":
            raise RuntimeError(f"point-{i:04d} got {first.type.name} {str(first.data)[:200]!r} instead of welcome")
        ready[0] += 1
        await go.wait()
        sent = time.perf_counter()
        await ws.send_str(
            p.encode(p.QueueRequest(producer=f"prod-{i % PRODUCERS:02d}", queue=f"queue-{i % PRODUCERS:02d}"))
        )
        first = True
        async for msg in ws:
            m = json.loads(msg.data)
            kind = m["type"]
            if kind == "queue.position" and first:
                self.queue_lat.append(time.perf_counter() - sent)
                first = False
            elif kind == "call.start":
                call, agent = m["call"], m["offer_to"][0]
                await ws.send_str(
                    json.dumps(
                        {
                            "type": "signal.offer",
                            "call": call,
                            "peer": agent,
                            "sdp": f"{FAKE_SDP}t={time.perf_counter()!r}\r\n",
                        }
                    )
                )
            elif kind == "signal.answer":
                self.relay.append(time.perf_counter() - float(m["sdp"].rsplit("t=", 1)[1]))
                for k in range(4):
                    await ws.send_str(
                        json.dumps(
                            {
                                "type": "signal.ice",
                                "call": m["call"],
                                "peer": m["peer"],
                                "candidate": CANDIDATE.format(port=9000 + k),
                                "sdp_mid": f"{time.perf_counter()!r}",
                                "sdp_mline_index": 0,
                            }
                        )
                    )
            elif kind == "signal.ice":
                self.relay.append(time.perf_counter() - float(m["sdp_mid"]))
            elif kind == "call.ended" or (kind == "error" and first):
                # refused before it was even queued (e.g. the switchboard could not keep up): counted, not served
                self.errors += kind == "error"
                self.served += 1
                if self.served == self.n_points:
                    self.done.set()
                break
        await ws.close()

    async def agent(self, http: aiohttp.ClientSession, k: int, go: asyncio.Event, ready: list[int]) -> None:
        origin = {"Origin": self.base}  # as the desk page sends it; the switchboard checks it
        login = {"username": f"agent{k:03d}", "password": PASSWORD}
        async with http.post(f"{self.base}/api/login", json=login, headers=origin) as r:
            assert r.status == 200, await r.text()
        ws = await http.ws_connect(f"{self.base.replace('http', 'ws')}/ws/desk", max_msg_size=0, headers=origin)
        await ws.send_str(p.encode(p.DeskHello(protocol=1)))
        ready[0] += 1
        in_call: str | None = None
        ice_from_point = 0
        accept_sent: dict[str, float] = {}
        async for msg in ws:
            m = json.loads(msg.data)
            kind = m["type"]
            if kind == "queue.snapshot" and in_call is None and go.is_set():
                tickets = [e["ticket"] for q in m["queues"] for e in q["entries"] if e["ticket"] not in self.claimed]
                if tickets:
                    ticket = random.choice(tickets[:5])
                    self.claimed.add(ticket)
                    in_call = "pending"
                    accept_sent[ticket] = time.perf_counter()
                    await ws.send_str(json.dumps({"type": "queue.accept", "ticket": ticket}))
            elif kind == "error" and m["code"] == "ticket_gone":
                in_call = None
            elif kind == "call.start":
                in_call = m["call"]
                ice_from_point = 0
                if accept_sent:
                    self.answer_lat.append(time.perf_counter() - accept_sent.popitem()[1])
            elif kind == "signal.offer":
                self.relay.append(time.perf_counter() - float(m["sdp"].rsplit("t=", 1)[1]))
                await ws.send_str(
                    json.dumps(
                        {
                            "type": "signal.answer",
                            "call": m["call"],
                            "peer": m["peer"],
                            "sdp": f"{FAKE_SDP}t={time.perf_counter()!r}\r\n",
                        }
                    )
                )
                for k2 in range(4):
                    await ws.send_str(
                        json.dumps(
                            {
                                "type": "signal.ice",
                                "call": m["call"],
                                "peer": m["peer"],
                                "candidate": CANDIDATE.format(port=9100 + k2),
                                "sdp_mid": f"{time.perf_counter()!r}",
                                "sdp_mline_index": 0,
                            }
                        )
                    )
            elif kind == "signal.ice":
                self.relay.append(time.perf_counter() - float(m["sdp_mid"]))
                ice_from_point += 1
                if ice_from_point == 4 and in_call:
                    await ws.send_str(json.dumps({"type": "call.hangup", "call": in_call}))
            elif kind == "call.ended":
                in_call = None
            if self.done.is_set():
                break
        await ws.close()


async def run_switchboard_storm(points: int, agents: int, tmp: Path) -> dict[str, float]:
    port = free_port()
    cfg = tmp / "switchboard.yaml"
    write_config(cfg, points, agents, port)
    log = open(tmp / "switchboard.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "etapiste.cli", "switchboard", "--config", str(cfg), "--log-level", "WARNING"],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
        start_new_session=True,
    )
    try:
        await wait_port(port)
        return await storm_against(f"http://127.0.0.1:{port}", points, agents, [proc.pid])
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
        log.close()


async def settle(done: Any, tasks: list[asyncio.Task[Any]], what: str, count: list[int], timeout: float = 300) -> None:
    """Until ``done()``; a client task that failed, or the time running out, stops the run saying so."""
    deadline = time.monotonic() + timeout
    while not done():
        failed = next((t for t in tasks if t.done() and not t.cancelled() and t.exception() is not None), None)
        if failed is not None:
            raise RuntimeError(f"waiting for {what} ({count[0]} so far), a client failed: {failed.exception()!r}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: only {count[0]} after {timeout:.0f} s")
        await asyncio.sleep(0.02)


async def storm_against(base: str, points: int, agents: int, pids: list[int]) -> dict[str, float]:
    """The storm through ``base``; CPU and memory are those of the switchboard processes ``pids`` together."""
    storm = Storm(base, points, agents)
    go = asyncio.Event()
    ready = [0]
    conn = aiohttp.TCPConnector(limit=0)
    sessions = [
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), cookie_jar=aiohttp.CookieJar(unsafe=True))
        for _ in range(agents)
    ]
    async with aiohttp.ClientSession(connector=conn) as http:
        login_t0 = time.perf_counter()
        agent_tasks = [asyncio.create_task(storm.agent(sessions[k], k, go, ready)) for k in range(agents)]
        await settle(lambda: ready[0] >= agents, agent_tasks, "desks logged in and connected", ready)
        login_s = time.perf_counter() - login_t0
        point_tasks = [asyncio.create_task(storm.point(http, i, go, ready)) for i in range(points)]
        await settle(lambda: ready[0] >= agents + points, point_tasks + agent_tasks, "points welcomed", ready)
        connected_rss = sum(proc_mem_mb(pid, "VmRSS") for pid in pids)
        cpu0, t0 = sum(proc_cpu_s(pid) for pid in pids), time.perf_counter()
        go.set()
        await asyncio.wait_for(storm.done.wait(), 600)
        elapsed = time.perf_counter() - t0
        cpu = sum(proc_cpu_s(pid) for pid in pids) - cpu0
        for task in agent_tasks + point_tasks:
            task.cancel()
        await asyncio.gather(*agent_tasks, *point_tasks, return_exceptions=True)
    for s in sessions:
        await s.close()
    q = statistics.quantiles
    return {
        "relay_p50_ms": 1000 * statistics.median(storm.relay),
        "relay_p99_ms": 1000 * q(storm.relay, n=100)[98],
        "queue_p50_ms": 1000 * statistics.median(storm.queue_lat),
        "queue_p99_ms": 1000 * q(storm.queue_lat, n=100)[98],
        "answer_p50_ms": 1000 * statistics.median(storm.answer_lat),
        "answer_p99_ms": 1000 * q(storm.answer_lat, n=100)[98],
        "storm_s": elapsed,
        "calls_per_s": points / elapsed,
        "cpu_s": cpu,
        "cpu_percent": 100 * cpu / elapsed,
        "rss_connected_mb": connected_rss,
        "peak_mb": sum(proc_mem_mb(pid) for pid in pids),
        "logins_per_s": agents / login_s,
        "relayed": len(storm.relay),
        "refused": storm.errors,
    }


# ----------------------------------------------------------------------------------------------------------
# Several instances (--instances N): the same storm through HAProxy in front of N switchboard processes on one
# Redis (the tests' harness, simulation/services/haproxy.py), beside one instance in memory in the same run;
# then one instance killed with SIGKILL while every point waits in a queue: how long until each of its
# points is back in its place through the others (the kiosk's reconnect: full jitter, at most 1 s apart).


async def run_cluster_storm(points: int, agents: int, instances: int, tmp: Path) -> dict[str, float]:
    from simulation.services.haproxy import start_cluster
    from switchboard.config import SwitchboardConfig

    config = SwitchboardConfig.model_validate(config_document(points, agents, 0))
    with start_cluster(tmp, instances, base_config=config, log_level="WARNING", check_inter="2s") as cluster:
        pids = [i.pid for i in cluster.instances]
        # Beside the instances, what else the Redis variant runs on the same cores (memory's has neither).
        others = {"redis": cluster.redis.service.pid, "haproxy": cluster.balancer.service.pid}
        before = {name: proc_cpu_s(pid) for name, pid in others.items()}
        result = await storm_against(cluster.base, points, agents, pids)
        for name, pid in others.items():
            result[f"{name}_cpu_s"] = proc_cpu_s(pid) - before[name]
        return result


class Waiting:
    """Points that queue and stay, reconnecting like the kiosk when their connection drops."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.tickets: dict[int, str] = {}
        self.dropped_at: dict[int, float] = {}
        self.back: dict[int, float] = {}
        self.lost: set[int] = set()
        self.killed_at = 0.0
        self.stop = asyncio.Event()

    async def point(self, http: aiohttp.ClientSession, i: int) -> None:
        from etapiste.retry import Backoff

        backoff = Backoff(0.5, 1.0)  # the kiosk's in the queue: full jitter, at most 1 s apart
        credential = f"cred-{i:04d}-" + "x" * 20
        while not self.stop.is_set():
            with contextlib.suppress(aiohttp.ClientError, OSError, asyncio.TimeoutError):
                ws = await http.ws_connect(f"{self.base.replace('http', 'ws')}/ws/point", max_msg_size=0)
                try:
                    ticket = self.tickets.get(i)
                    hello = p.PointHello(protocol=1, point=f"point-{i:04d}", credential=credential, ticket=ticket)
                    await ws.send_str(p.encode(hello))
                    async for msg in ws:
                        if msg.type != aiohttp.WSMsgType.TEXT:
                            break
                        m = json.loads(msg.data)
                        if m["type"] == "welcome":
                            backoff.reset()
                            if ticket is None:
                                await ws.send_str(
                                    p.encode(
                                        p.QueueRequest(
                                            producer=f"prod-{i % PRODUCERS:02d}", queue=f"queue-{i % PRODUCERS:02d}"
                                        )
                                    )
                                )
                            elif m.get("ticket") == ticket and i in self.dropped_at:
                                self.back.setdefault(i, time.perf_counter() - self.killed_at)
                            elif m.get("ticket") != ticket:
                                self.lost.add(i)
                        elif m["type"] == "queue.position" and i not in self.tickets:
                            self.tickets[i] = m["ticket"]
                        elif m["type"] == "queue.left":
                            self.lost.add(i)
                        if self.stop.is_set():
                            break
                finally:
                    await ws.close()
            if self.stop.is_set():
                return
            if self.killed_at and i not in self.dropped_at:
                self.dropped_at[i] = time.perf_counter()
            await asyncio.sleep(backoff.next_delay())


async def idle_desk(http: aiohttp.ClientSession, base: str, k: int, ready: list[int]) -> None:
    origin = {"Origin": base}
    login = {"username": f"agent{k:03d}", "password": PASSWORD}
    for attempt in range(10):  # an agent whose login failed (a busy switchboard) tries again
        async with http.post(f"{base}/api/login", json=login, headers=origin) as r:
            if r.status == 200:
                break
            if attempt == 9:
                raise AssertionError(f"login {r.status}: {await r.text()}")
        await asyncio.sleep(random.uniform(0, 2.0))
    ws = await http.ws_connect(f"{base.replace('http', 'ws')}/ws/desk", max_msg_size=0, headers=origin)
    await ws.send_str(p.encode(p.DeskHello(protocol=1)))
    ready[0] += 1
    async for _ in ws:  # the desk renders its snapshots; here they are read and dropped
        pass


async def run_kill_under_load(points: int, agents: int, instances: int, tmp: Path) -> dict[str, float]:
    from simulation.services.haproxy import start_cluster
    from switchboard.config import SwitchboardConfig

    config = SwitchboardConfig.model_validate(config_document(points, agents, 0))
    with start_cluster(tmp, instances, base_config=config, log_level="WARNING", check_inter="2s") as cluster:
        waiting = Waiting(cluster.base)
        sessions = [
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), cookie_jar=aiohttp.CookieJar(unsafe=True))
            for _ in range(agents)
        ]
        ready = [0]
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            desks = [asyncio.create_task(idle_desk(sessions[k], cluster.base, k, ready)) for k in range(agents)]
            tasks = [asyncio.create_task(waiting.point(http, i)) for i in range(points)]
            queued = [0]

            def all_queued() -> bool:
                queued[0] = len(waiting.tickets)
                return queued[0] >= points and ready[0] >= agents

            try:  # under a Redis instance's storm a few points may never get their place: go on without them
                await settle(all_queued, desks, "every point queued, every desk connected", queued, timeout=180)
            except TimeoutError as exc:
                print(f"  (kill under load: {exc}; measuring the {queued[0]} queued)", file=sys.stderr)
            await asyncio.sleep(2.0)  # snapshots and positions settle
            victim = cluster.instances[0]
            waiting.killed_at = time.perf_counter()
            victim.kill()
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                await asyncio.sleep(0.2)
                dropped = set(waiting.dropped_at)
                if (
                    dropped
                    and dropped <= set(waiting.back) | waiting.lost
                    and time.perf_counter() - waiting.killed_at > 5
                ):
                    break
            waiting.stop.set()
            for task in tasks + desks:
                task.cancel()
            await asyncio.gather(*tasks, *desks, return_exceptions=True)
        for s in sessions:
            await s.close()
    times = sorted(waiting.back.values())
    q = statistics.quantiles(times, n=100) if len(times) > 1 else [times[0]] * 99 if times else [float("nan")] * 99
    return {
        "queued": len(waiting.tickets),
        "dropped": len(waiting.dropped_at),
        "back": len(times),
        "lost": len(waiting.lost),
        "back_p50_s": statistics.median(times) if times else float("nan"),
        "back_p99_s": q[98],
        "back_max_s": times[-1] if times else float("nan"),
    }


async def instances_main(args: argparse.Namespace) -> None:
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-instances-", dir="/tmp") as tmp:
        for i in range(args.runs):
            kill: dict[str, float] = {k: float("nan") for k in ("queued", "dropped", "back", "lost", "back_p50_s",
                                                                 "back_p99_s", "back_max_s")}  # fmt: skip
            if not args.storm_only:
                kill = await run_kill_under_load(args.points, args.agents, args.instances, Path(tmp))
                print(f"  kill under load: {kill}", file=sys.stderr, flush=True)
            if args.kill_only:
                print(f"one of {args.instances} instances SIGKILLed under load: {kill}")
                continue
            memory = await run_switchboard_storm(args.points, args.agents, Path(tmp))
            print(f"  one instance in memory: {memory}", file=sys.stderr, flush=True)
            redis = await run_cluster_storm(args.points, args.agents, args.instances, Path(tmp))
            print(f"  {args.instances} instances on Redis: {redis}", file=sys.stderr, flush=True)
            rows.append((memory, redis, kill))
            print(
                f"run {i + 1}/{args.runs}: relay p99 memory {memory['relay_p99_ms']:.0f} ms, "
                f"{args.instances} on Redis {redis['relay_p99_ms']:.0f} ms "
                f"(×{redis['relay_p99_ms'] / max(memory['relay_p99_ms'], 0.1):.2f}); back after a kill p99 "
                f"{kill['back_p99_s']:.2f} s",
                file=sys.stderr,
            )
    if args.kill_only:
        return
    memory = median_of([r[0] for r in rows])
    redis = median_of([r[1] for r in rows])
    kill = median_of([r[2] for r in rows])
    print(
        f"switchboard instances: {args.points} points, {args.agents} agents, {PRODUCERS} queues; "
        f"{args.instances} instances on Redis behind HAProxy vs one in memory; medians of {args.runs} runs"
    )
    print(f"  {'':38} {'one, memory':>14} {f'{args.instances}, Redis':>14}")
    for label, key, unit in (
        ("relay latency p50", "relay_p50_ms", "ms"),
        ("relay latency p99", "relay_p99_ms", "ms"),
        ("queue.request → position p99", "queue_p99_ms", "ms"),
        ("queue.accept → call.start p99", "answer_p99_ms", "ms"),
        ("storm (all calls set up and ended)", "storm_s", "s"),
        ("switchboard CPU during the storm", "cpu_s", "s"),
        ("switchboard memory, connected", "rss_connected_mb", "MB"),
        ("points refused (error before queueing)", "refused", ""),
    ):
        print(f"  {label:38} {memory[key]:>11.1f} {unit:2} {redis[key]:>11.1f} {unit:2}")
    print(f"  redis-server CPU during the storm      {redis['redis_cpu_s']:.1f} s")
    print(f"  HAProxy CPU during the storm           {redis['haproxy_cpu_s']:.1f} s")
    print(f"  Redis p99 / memory p99                 ×{redis['relay_p99_ms'] / max(memory['relay_p99_ms'], 0.1):.2f}")
    if args.storm_only:
        return
    print(
        f"  one instance SIGKILLed with every point waiting: {kill['dropped']:.0f} of {kill['queued']:.0f} points "
        f"dropped, {kill['back']:.0f} back in their place, {kill['lost']:.0f} lost; back after "
        f"p50 {kill['back_p50_s']:.2f} s / p99 {kill['back_p99_s']:.2f} s / max {kill['back_max_s']:.2f} s"
    )


REFERENCE = r"""
import sys
from aiohttp import web, WSMsgType
conns = {}
async def ws(request):
    w = web.WebSocketResponse(max_msg_size=0); await w.prepare(request)
    me = request.query["id"]; conns[me] = w
    async for m in w:
        if m.type == WSMsgType.TEXT:
            to, _, payload = m.data.partition("|")
            t = conns.get(to)
            if t is not None: await t.send_str(payload)
    conns.pop(me, None); return w
app = web.Application(); app.router.add_get("/ws", ws)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""


async def run_reference(pairs: int, tmp: Path) -> dict[str, float]:
    """The same relayed frames (offer, answer, 4+4 ICE per call) through a bare WebSocket forwarder."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", REFERENCE, str(port)],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await wait_port(port)
        relay: list[float] = []
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            socks = {}
            for i in range(pairs):
                for side in ("p", "a"):
                    socks[f"{side}{i}"] = await http.ws_connect(
                        f"ws://127.0.0.1:{port}/ws?id={side}{i}", max_msg_size=0
                    )
            cpu0, t0 = proc_cpu_s(proc.pid), time.perf_counter()

            async def call(i: int) -> None:
                pt, ag = socks[f"p{i}"], socks[f"a{i}"]
                await pt.send_str(
                    f"a{i}|" + json.dumps({"type": "signal.offer", "sdp": f"{FAKE_SDP}t={time.perf_counter()!r}"})
                )
                m = json.loads((await ag.receive()).data)
                relay.append(time.perf_counter() - float(m["sdp"].rsplit("t=", 1)[1]))
                await ag.send_str(
                    f"p{i}|" + json.dumps({"type": "signal.answer", "sdp": f"{FAKE_SDP}t={time.perf_counter()!r}"})
                )
                for _ in range(4):
                    await ag.send_str(
                        f"p{i}|" + json.dumps({"type": "signal.ice", "sdp_mid": f"{time.perf_counter()!r}"})
                    )
                m = json.loads((await pt.receive()).data)
                relay.append(time.perf_counter() - float(m["sdp"].rsplit("t=", 1)[1]))
                for _ in range(4):
                    await pt.send_str(
                        f"a{i}|" + json.dumps({"type": "signal.ice", "sdp_mid": f"{time.perf_counter()!r}"})
                    )
                for ws in (pt, ag):
                    for _ in range(4):
                        m = json.loads((await ws.receive()).data)
                        relay.append(time.perf_counter() - float(m["sdp_mid"]))

            await asyncio.gather(*(call(i) for i in range(pairs)))
            elapsed = time.perf_counter() - t0
            cpu = proc_cpu_s(proc.pid) - cpu0
            for ws in socks.values():
                await ws.close()
        return {
            "relay_p50_ms": 1000 * statistics.median(relay),
            "relay_p99_ms": 1000 * statistics.quantiles(relay, n=100)[98],
            "storm_s": elapsed,
            "cpu_s": cpu,
            "peak_mb": proc_mem_mb(proc.pid),
        }
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)


# ----------------------------------------------------------------------------------------------------------
# What the three-way mesh costs the point: its CPU with one peer (the agent) and with two (agent and
# interpreter), two-way 640×480 video and audio, measured on the point's own process. The reference is the
# same point with one peer; the ratio is the mesh's price (each peer connection encodes its own stream).

MESH_POINT = r"""
import asyncio, json, os, sys, time, resource
import aioice.ice
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]
sys.path.insert(0, sys.argv[3])
from bench.bench_switchboard import Pattern
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError

async def main(n, seconds):
    relay, video, audio = MediaRelay(), Pattern(), AudioStreamTrack()
    pcs, frames = [], [0]
    async def consume(track):
        try:
            while True:
                await track.recv()
                if track.kind == "video": frames[0] += 1
        except MediaStreamError:
            pass
    for i in range(n):
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc.addTrack(relay.subscribe(audio)); pc.addTrack(relay.subscribe(video))
        pc.on("track", lambda t: asyncio.ensure_future(consume(t)))
        await pc.setLocalDescription(await pc.createOffer())
        print(json.dumps({"sdp": pc.localDescription.sdp}), flush=True)
        pcs.append(pc)
    loop = asyncio.get_running_loop()
    for pc in pcs:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=json.loads(line)["sdp"], type="answer"))
    await asyncio.sleep(4)  # connect, warm up the encoders
    c0, f0, t0 = time.process_time(), frames[0], time.monotonic()
    await asyncio.sleep(seconds)
    cpu, got, wall = time.process_time() - c0, frames[0] - f0, time.monotonic() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"cpu_percent": 100 * cpu / wall, "fps_in": got / wall / n, "rss_mb": rss}), flush=True)
    os._exit(0)  # measured; closing peer connections whose far ends go away at once can hang aiortc

asyncio.run(main(int(sys.argv[1]), float(sys.argv[2])))
"""


class Pattern:
    """640×480 moving pattern standing in for a camera (a real VideoStreamTrack, so aiortc paces it)."""

    def __new__(cls, width: int = 640, height: int = 480):  # type: ignore[misc]
        import av
        import numpy as np
        from aiortc import VideoStreamTrack

        class _Pattern(VideoStreamTrack):
            def __init__(self) -> None:
                super().__init__()
                x = np.linspace(0, 255, width, dtype=np.uint8)
                self.base = np.stack([np.tile(x, (height, 1))] * 3, axis=-1)
                self.n = 0

            async def recv(self):  # type: ignore[no-untyped-def]
                pts, time_base = await self.next_timestamp()
                self.n += 1
                frame = av.VideoFrame.from_ndarray(np.roll(self.base, self.n * 4, axis=1), format="bgr24")
                frame.pts, frame.time_base = pts, time_base
                return frame

        return _Pattern()


async def mesh_point_cpu(peers: int, seconds: float) -> dict[str, float]:
    import aioice.ice
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
    from aiortc.mediastreams import AudioStreamTrack, MediaStreamError

    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        MESH_POINT,
        str(peers),
        str(seconds),
        str(ROOT),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        start_new_session=True,
        cwd=ROOT,
    )
    assert proc.stdin is not None and proc.stdout is not None
    remote: list[RTCPeerConnection] = []
    tasks = []

    async def drain(track: Any) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                await track.recv()

    for _ in range(peers):
        offer = json.loads(await proc.stdout.readline())
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc.addTrack(AudioStreamTrack())
        pc.addTrack(Pattern())
        pc.on("track", lambda t: tasks.append(asyncio.ensure_future(drain(t))))
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer["sdp"], type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        proc.stdin.write((json.dumps({"sdp": pc.localDescription.sdp}) + "\n").encode())
        await proc.stdin.drain()
        remote.append(pc)
    line = await asyncio.wait_for(proc.stdout.readline(), seconds + 60)
    try:
        await asyncio.wait_for(proc.wait(), 10)
    except TimeoutError:
        proc.kill()
        await proc.wait()
    if not line:
        raise RuntimeError(f"the point process ended without a result (exit status {proc.returncode})")
    result = json.loads(line)
    for pc in remote:
        await pc.close()
    for task in tasks:
        task.cancel()
    return dict(result)


async def mesh_main(args: argparse.Namespace) -> None:
    one, two = [], []
    for _ in range(args.runs):
        one.append(await mesh_point_cpu(1, args.seconds))
        two.append(await mesh_point_cpu(2, args.seconds))
    a, b = median_of(one), median_of(two)
    print(f"mesh cost at the point (aiortc, two-way 640×480@30 + audio, medians of {args.runs} runs, 2 shared cores)")
    for label, r in (("agent only (reference)         ", a), ("agent + interpreter (mesh of 3)", b)):
        print(f"  {label}  {r['cpu_percent']:.0f} % of a core, {r['fps_in']:.0f} fps in per peer, {r['rss_mb']:.0f} MB")
    print(
        f"  the interpreter costs the point  +{b['cpu_percent'] - a['cpu_percent']:.0f} percentage points "
        f"(×{b['cpu_percent'] / max(a['cpu_percent'], 0.1):.2f})"
    )


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


async def main_async(args: argparse.Namespace) -> None:
    sb_runs, ref_runs = [], []
    with tempfile.TemporaryDirectory(prefix="bench-switchboard-") as tmp:
        for i in range(args.runs):
            sb_runs.append(await run_switchboard_storm(args.points, args.agents, Path(tmp)))
            ref_runs.append(await run_reference(args.points, Path(tmp)))
            print(
                f"run {i + 1}/{args.runs}: switchboard relay p50 {sb_runs[-1]['relay_p50_ms']:.1f} ms, "
                f"storm {sb_runs[-1]['storm_s']:.1f} s",
                file=sys.stderr,
            )
    sb, ref = median_of(sb_runs), median_of(ref_runs)
    print(
        f"switchboard load: {args.points} points, {args.agents} agents, {PRODUCERS} queues; "
        f"medians of {args.runs} runs (2 shared cores)"
    )
    print(f"  relayed signalling frames per run      {sb['relayed']:.0f}")
    print(
        f"  relay latency p50 / p99                {sb['relay_p50_ms']:.1f} / {sb['relay_p99_ms']:.1f} ms"
        f"   (reference bare relay {ref['relay_p50_ms']:.1f} / {ref['relay_p99_ms']:.1f} ms)"
    )
    print(f"  queue.request → position p50 / p99     {sb['queue_p50_ms']:.1f} / {sb['queue_p99_ms']:.1f} ms")
    print(f"  queue.accept → call.start p50 / p99    {sb['answer_p50_ms']:.1f} / {sb['answer_p99_ms']:.1f} ms")
    print(
        f"  storm: all calls set up and ended in   {sb['storm_s']:.1f} s ({sb['calls_per_s']:.0f} calls/s)"
        f"   (reference relays the same frames in {ref['storm_s']:.1f} s)"
    )
    print(
        f"  switchboard CPU during the storm       {sb['cpu_s']:.1f} s ({sb['cpu_percent']:.0f} % of a core)"
        f"   (reference {ref['cpu_s']:.1f} s)"
    )
    print(
        f"  switchboard memory: connected / peak   {sb['rss_connected_mb']:.0f} / {sb['peak_mb']:.0f} MB"
        f"   (reference peak {ref['peak_mb']:.0f} MB)"
    )
    print(f"  desk logins (scrypt n=2048)            {sb['logins_per_s']:.0f} /s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=500)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--mesh", action="store_true", help="measure what the three-way mesh costs the point")
    parser.add_argument("--seconds", type=float, default=10.0, help="measuring time per mesh run")
    parser.add_argument(
        "--instances", type=int, default=0, help="N instances on Redis behind HAProxy beside one in memory"
    )
    parser.add_argument("--kill-only", action="store_true", help="with --instances: only the kill under load")
    parser.add_argument(
        "--storm-only", action="store_true", help="with --instances: only the storms, memory and Redis (no kill)"
    )
    args = parser.parse_args()
    if args.instances:
        asyncio.run(instances_main(args))
    else:
        asyncio.run(mesh_main(args) if args.mesh else main_async(args))


if __name__ == "__main__":
    main()
