"""A small real process that plays the kiosk's side of the kiosk link in tests.

It does what the real kiosk does with a configuration: loads it with ``load_point_config`` and checks
that the switchboard it names is reachable (a TCP connect); that decides ``healthy``. It answers
commands and records what it was told, one JSON object per line, in ``--events`` for the test to read.

    python -m tests.provisioning.kiosk_player --socket S --config point.yaml --events events.jsonl
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import socket
import sys
from pathlib import Path
from urllib.parse import urlsplit

from etapiste.config.loader import ConfigError
from etapiste.config.point import load_point_config
from provisioning.kiosk_link import (
    Command,
    DeviceHealthReport,
    KioskLinkClient,
    Reload,
    SessionReport,
    read_config_version,
)


def _record(events: Path, **event: object) -> None:
    with events.open("a") as f:
        f.write(json.dumps(event) + "\n")


def check(path: Path) -> tuple[bool, str | None]:
    """Whether the configuration at ``path`` works: it loads and its switchboard answers."""
    if not path.exists():
        return False, "no configuration"
    try:
        config = load_point_config(path)
    except ConfigError as exc:
        return False, f"configuration invalid: {exc.problems[0]}"
    url = urlsplit(config.switchboard.url)
    try:
        with socket.create_connection((url.hostname or "", url.port or 443), timeout=1.0):
            pass
    except OSError as exc:
        return False, f"switchboard unreachable: {exc.strerror or exc}"
    return True, None


async def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--socket", type=Path, required=True)
    p.add_argument("--config", type=Path, required=True)
    p.add_argument("--events", type=Path, required=True)
    p.add_argument("--sessions", type=int, default=0,
                   help="report this many finished (served) sessions of today after connecting")
    p.add_argument("--diagnostics", default="kiosk ok", help="text the diagnostics command returns")
    args = p.parse_args(argv)
    devices = {name: DeviceHealthReport(ok=True) for name in ("printer", "scanner", "camera")}
    exit_code: list[int] = []
    sent_sessions = False

    async def report() -> None:
        nonlocal sent_sessions
        version = read_config_version(args.config)
        healthy, error = check(args.config)
        _record(args.events, op="health", version=version, healthy=healthy, error=error)
        await link.health(version, healthy=healthy, devices=devices, error=error)
        if healthy and args.sessions and not sent_sessions:
            sent_sessions = True  # customers come once the point is configured
            config = load_point_config(args.config)
            now = dt.datetime.now(config.host.zone)
            for i in range(args.sessions):
                producer = config.producers[i % len(config.producers)]
                await link.session(SessionReport(
                    op="session", day=now.date(), hour=now.hour, outcome="served", producer=producer.id,
                    queue=producer.queue, wait_s=30 + i, duration_s=300 + i, rating=(i % 5) + 1,
                ))  # fmt: skip

    async def on_connect() -> None:
        await report()

    async def on_reload(msg: Reload) -> None:
        _record(args.events, op="reload", version=msg.version)
        await report()

    async def on_command(cmd: Command) -> tuple[bool, str]:
        _record(args.events, op="command", name=cmd.name, args=cmd.args)
        if cmd.name == "restart":
            exit_code.append(0)
            asyncio.get_running_loop().call_later(0.1, stop.set)
            return True, "restarting"
        if cmd.name == "test_print":
            return True, "test page printed"
        if cmd.name == "diagnostics":
            return True, args.diagnostics
        return True, "out of service" if cmd.args.get("on") else "in service"

    link = KioskLinkClient(
        args.socket,
        software="player-1",
        version=read_config_version(args.config),
        on_reload=on_reload,
        on_command=on_command,
        on_connect=on_connect,
        retry_s=0.1,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(link.run())
    await stop.wait()
    task.cancel()
    return exit_code[0] if exit_code else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
