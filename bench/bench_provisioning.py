"""Benchmark: publish a signed configuration to a fleet of 500 simulated points on loopback and time
how long until each point has applied it and reported back; and the agent's memory.

    .venv/bin/python bench/bench_provisioning.py [--points 500] [--rounds 3]

A private mosquitto (the test harness's, with per-point passwords and the fleet ACL) carries
everything. The points run in ``--workers`` processes (one per core by default); each is the real
:class:`provisioning.agent.Agent` (signature and schema check, atomic write with fsync, kiosk reload
over its own unix socket, health, last-known-good, state report) with an in-process kiosk that
answers the reload at once. The organiser's side (this process) signs one bundle per point,
publishes them all, and records when each point's state reports the new version.

Reference peer, same broker, same machine, same run: 500 bare MQTT clients that answer the retained
message with a state report without verifying or applying anything — the transport's floor. For memory
the peer is a bare Python process holding one aiomqtt connection.

Figures are medians over ``--rounds`` rounds of each round's p50 and p99.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiomqtt  # noqa: E402

from provisioning import broker  # noqa: E402

POINT = "bench-{:04d}"


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


# --------------------------------------------------------------------------------------------- worker


async def _agent_worker(args: argparse.Namespace, passwords: dict[str, str]) -> None:
    import logging

    from provisioning.agent import Agent, AgentSettings
    from provisioning.kiosk_link import DeviceHealthReport, KioskLinkClient, Reload

    logging.basicConfig(level=logging.ERROR)
    base = Path(args.base)
    tasks = []
    for i in range(args.first, args.first + args.count):
        pid = POINT.format(i)
        state = base / pid
        state.mkdir(parents=True)
        shutil.copyfile(args.trust, state / "trust.json")
        settings = AgentSettings(
            point=pid, state_dir=state, host="127.0.0.1", port=args.port, password=passwords[pid],
            kiosk_socket=base / f"{i}.sock", health_timeout=60, state_interval=3600,
        )  # fmt: skip
        agent = Agent(settings)
        tasks.append(asyncio.create_task(agent.run()))

        def make_kiosk(sock: Path) -> KioskLinkClient:
            async def on_reload(msg: Reload) -> None:
                await client.health(msg.version, healthy=True, devices={"printer": DeviceHealthReport(ok=True)})

            async def on_command(_: Any) -> tuple[bool, str]:
                return True, ""

            client = KioskLinkClient(sock, software="bench", version=0, on_reload=on_reload,
                                     on_command=on_command, retry_s=0.2)  # fmt: skip
            return client

        tasks.append(asyncio.create_task(make_kiosk(settings.kiosk_socket).run()))
    print("started", flush=True)
    await asyncio.Event().wait()


async def _echo_worker(args: argparse.Namespace, passwords: dict[str, str]) -> None:
    async def one(i: int) -> None:
        pid = POINT.format(i)
        async with aiomqtt.Client("127.0.0.1", args.port, username=pid, password=passwords[pid],
                                  identifier=pid, clean_session=False) as c:  # fmt: skip
            await c.subscribe(broker.topic(pid, "desired"), qos=1)
            await c.publish(broker.topic(pid, "state"), b'{"applied_version": 0}', qos=1, retain=True)
            async for m in c.messages:
                version = json.loads(m.payload)["signed"]["version"]
                state = json.dumps({"applied_version": version}).encode()
                await c.publish(broker.topic(pid, "state"), state, qos=1, retain=True)

    await asyncio.gather(*(one(i) for i in range(args.first, args.first + args.count)))


def worker(args: argparse.Namespace) -> None:
    passwords = json.loads(Path(args.passwords).read_text())
    asyncio.run((_agent_worker if args.mode == "agent" else _echo_worker)(args, passwords))


# --------------------------------------------------------------------------------------------- organiser


class Watch:
    def __init__(self, client: aiomqtt.Client):
        self.client = client
        self.versions: dict[str, int] = {}
        self.when: dict[str, float] = {}
        self.target = 0
        self.event = asyncio.Event()

    async def run(self) -> None:
        await self.client.subscribe(broker.all_points("state"), qos=1)
        async for m in self.client.messages:
            pid = broker.point_of(m.topic.value)
            if pid is None or not isinstance(m.payload, bytes | bytearray) or not m.payload:
                continue
            v = int(json.loads(m.payload).get("applied_version", -1))
            self.versions[pid] = v
            if v == self.target and pid not in self.when:
                self.when[pid] = time.perf_counter()
            self.event.set()

    async def until(self, check: Any, timeout: float) -> None:
        async with asyncio.timeout(timeout):
            while not check():
                self.event.clear()
                await self.event.wait()


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


async def rounds(mode: str, b: Any, n: int, count: int, key: Any, config: dict[str, Any], base: Path,
                 pw_file: Path, trust: Path, workers: int) -> tuple[list[tuple[float, float, float]], int]:  # fmt: skip
    from provisioning.bundle import sign_bundle

    share = -(-count // workers)
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "worker", "--mode", mode, "--port", str(b.port), "--passwords", str(pw_file),
             "--base", str(base / mode), "--first", str(first), "--count", str(min(share, count - first)),
             "--trust", str(trust)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
        )
        for first in range(0, count, share)
    ]  # fmt: skip
    results = []
    try:
        async with aiomqtt.Client(**b.credentials("ops-watch")) as watcher_client, aiomqtt.Client(
            **b.credentials(broker.OPS_USER)
        ) as ops:
            watch = Watch(watcher_client)
            task = asyncio.create_task(watch.run())
            await watch.until(lambda: sum(1 for v in watch.versions.values() if v == 0) >= count, 300)
            expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
            for r in range(1, n + 1):
                payloads = []
                for i in range(count):
                    pid = POINT.format(i)
                    cfg = {**config, "point": {"id": pid, "group": "bench"}}
                    payloads.append((pid, json.dumps(sign_bundle(cfg, version=r, expires=expires, keys=[key]))))
                watch.target, watch.when = r, {}
                t0 = time.perf_counter()
                await asyncio.gather(
                    *(ops.publish(broker.topic(pid, "desired"), p.encode(), qos=1, retain=True) for pid, p in payloads)
                )
                await watch.until(lambda: len(watch.when) >= count, 300)
                lat = [t - t0 for t in watch.when.values()]
                results.append((pct(lat, 0.5), pct(lat, 0.99), max(lat)))
                print(f"  {mode} round {r}: p50 {results[-1][0]:.2f} s, p99 {results[-1][1]:.2f} s", flush=True)
            rss = sum(rss_kib(p.pid) for p in procs)
            task.cancel()
    finally:
        for p in procs:
            p.terminate()
            p.wait(10)
    return results, rss


async def clear_retained(b: Any, count: int) -> None:
    """Forget the previous mode's retained bundles and states (an empty retained message deletes one)."""
    async with aiomqtt.Client(**b.credentials(broker.OPS_USER)) as ops:
        for i in range(count):
            for kind in ("desired", "state"):
                await ops.publish(broker.topic(POINT.format(i), kind), b"", qos=1, retain=True)


async def single_agent_memory(b: Any, base: Path, trust: Path, key: Any, config: dict[str, Any]) -> tuple[int, int]:
    """RSS of one real ``etapiste agent`` process after it applied a bundle, and of a bare aiomqtt client."""
    from provisioning.bundle import sign_bundle
    from provisioning.kiosk_link import KioskLinkClient, Reload

    pid = POINT.format(0)
    pw = base / "single.pw"
    pw.write_text(b.passwords[pid])
    sock = base / "single.sock"
    agent = subprocess.Popen(
        [str(Path(sys.executable).with_name("etapiste")), "agent", "--point", pid, "--broker", b.url,
         "--password-file", str(pw), "--state-dir", str(base / "single"), "--trust", str(trust),
         "--kiosk-socket", str(sock)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip

    async def on_reload(msg: Reload) -> None:
        await kiosk.health(msg.version, healthy=True)

    async def on_command(_: Any) -> tuple[bool, str]:
        return True, ""

    kiosk = KioskLinkClient(sock, software="bench", version=0, on_reload=on_reload, on_command=on_command,
                            retry_s=0.1)  # fmt: skip
    ktask = asyncio.create_task(kiosk.run())
    peer = subprocess.Popen(
        [sys.executable, "-c",
         "import asyncio, aiomqtt, sys\n"
         "async def m():\n"
         f"    async with aiomqtt.Client('127.0.0.1', {b.port}, username='{POINT.format(1)}', "
         f"password='{b.passwords[POINT.format(1)]}') as c:\n"
         f"        await c.subscribe('{broker.topic(POINT.format(1), 'desired')}')\n"
         "        await asyncio.sleep(3600)\n"
         "asyncio.run(m())"],
    )  # fmt: skip
    try:
        async with aiomqtt.Client(**b.credentials("ops-watch")) as wc, aiomqtt.Client(
            **b.credentials(broker.OPS_USER)
        ) as ops:
            watch = Watch(wc)
            task = asyncio.create_task(watch.run())
            cfg = {**config, "point": {"id": pid, "group": "bench"}}
            doc = sign_bundle(cfg, version=99, expires=dt.datetime.now(dt.UTC) + dt.timedelta(days=1), keys=[key])
            watch.target = 99
            await ops.publish(broker.topic(pid, "desired"), json.dumps(doc).encode(), qos=1, retain=True)
            await watch.until(lambda: watch.versions.get(pid) == 99, 60)
            await asyncio.sleep(1.0)
            task.cancel()
        return rss_kib(agent.pid), rss_kib(peer.pid)
    finally:
        ktask.cancel()
        for p in (agent, peer):
            p.terminate()
            p.wait(10)


async def single_apply_ms(base: Path, key: Any, config: dict[str, Any], n: int = 50) -> float:
    """Median time of one apply on its own (verify, write with fsync, last-known-good), kiosk answering at once."""
    from provisioning.apply import Applier
    from provisioning.bundle import TrustStore, sign_bundle

    class InstantKiosk:
        async def reload(self, version: int, path: Any) -> None:
            pass

        async def wait_healthy(self, version: int, timeout: float, *, total: float | None = None) -> tuple[bool, str]:
            return True, ""

        async def wait_connected(self, timeout: float, *, after: int = 0) -> bool:
            return True

    state = base / "alone"
    state.mkdir()
    (state / "trust.json").write_text(TrustStore.from_entries([key.public_entry()]).to_json())
    pid = POINT.format(0)
    applier = Applier(state, pid, InstantKiosk())
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    cfg = {**config, "point": {"id": pid, "group": "bench"}}
    payloads = [json.dumps(sign_bundle(cfg, version=v, expires=expires, keys=[key])).encode() for v in range(1, n + 1)]
    times = []
    for p in payloads:
        t = time.perf_counter()
        outcome = await applier.offer(p)
        times.append(time.perf_counter() - t)
        assert outcome.status == "applied", outcome
    return statistics.median(times) * 1000


async def organiser(args: argparse.Namespace) -> None:
    import logging

    import yaml

    logging.getLogger("mqtt").setLevel(logging.ERROR)  # aiomqtt's "pending publish calls" notes

    from provisioning.bundle import SigningKey, TrustStore
    from provisioning.fleet import _jsonable
    from simulation.services.mqtt import start_broker

    base = Path(tempfile.mkdtemp(prefix="ebench-", dir="/tmp"))
    try:
        key = SigningKey.generate()
        trust = base / "trust.json"
        trust.write_text(TrustStore.from_entries([key.public_entry()]).to_json())
        config = _jsonable(yaml.safe_load((ROOT / "etapiste" / "config" / "sample-point.yaml").read_text()))
        size = len(json.dumps(config))
        users = [POINT.format(i) for i in range(args.points)]
        with start_broker(base, users) as b:
            pw_file = base / "passwords.json"
            pw_file.write_text(json.dumps(b.passwords))
            print(f"{args.points} points in {args.workers} worker processes, bundle ≈ {size / 1024:.1f} KiB "
                  f"of configuration, {args.rounds} rounds")  # fmt: skip
            common = (args.rounds, args.points, key, config, base, pw_file, trust, args.workers)
            echo, echo_rss = await rounds("echo", b, *common)
            await clear_retained(b, args.points)
            agents, agents_rss = await rounds("agent", b, *common)
            broker_rss = rss_kib(b.service.pid)
            single, peer = await single_agent_memory(b, base, trust, key, config)
        alone = await single_apply_ms(base, key, config)

        def med(rows: list[tuple[float, float, float]], i: int) -> float:
            return statistics.median(r[i] for r in rows)

        print()
        print(f"publish to all {args.points} → applied and reported (median of {args.rounds} rounds)")
        print(f"  {'':34} {'p50':>8} {'p99':>8} {'max':>8}")
        for label, rows in (("etapiste agents (verify+apply)", agents), ("reference: bare MQTT echo clients", echo)):
            print(f"  {label:34} {med(rows, 0):7.2f}s {med(rows, 1):7.2f}s {med(rows, 2):7.2f}s")
        print(f"  one apply on its own (verify, write+fsync, last-known-good): {alone:.1f} ms (median of 50)")
        print("memory (RSS)")
        print(f"  one etapiste agent process:           {single / 1024:6.1f} MiB")
        print(f"  reference: bare aiomqtt client:       {peer / 1024:6.1f} MiB")
        extra = (agents_rss - args.workers * single) / max(1, args.points - args.workers)
        print(f"  {args.points} simulated agents ({args.workers} processes): {agents_rss / 1024:6.1f} MiB "
              f"({extra:.0f} KiB per additional agent in a process)")  # fmt: skip
        print(f"  {args.points} echo clients ({args.workers} processes):  {echo_rss / 1024:6.1f} MiB")
        print(f"  mosquitto broker:                     {broker_rss / 1024:6.1f} MiB")
    finally:
        shutil.rmtree(base, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd")
    w = sub.add_parser("worker")
    w.add_argument("--mode", choices=("agent", "echo"), required=True)
    w.add_argument("--port", type=int, required=True)
    w.add_argument("--passwords", required=True)
    w.add_argument("--base", required=True)
    w.add_argument("--first", type=int, default=0)
    w.add_argument("--count", type=int, required=True)
    w.add_argument("--trust", required=True)
    p.add_argument("--points", type=int, default=500)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--workers", type=int, default=2, help="processes the simulated points are spread over")
    args = p.parse_args()
    if args.cmd == "worker":
        os.makedirs(args.base, exist_ok=True)
        worker(args)
    else:
        asyncio.run(organiser(args))


if __name__ == "__main__":
    main()
