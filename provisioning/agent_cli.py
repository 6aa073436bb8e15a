"""``etapiste agent``: run the provisioning agent of this point (see docs/ops-guide.md)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import shutil
import signal
import ssl
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from provisioning import broker
from provisioning.agent import Agent, AgentSettings, RingLog
from provisioning.apply import STEPS
from provisioning.bundle import TrustStore
from provisioning.kiosk_link import DEFAULT_SOCKET


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="etapiste agent", description=__doc__)
    p.add_argument("--point", required=True, help="this point's id (its MQTT username)")
    p.add_argument("--broker", required=True, help="mqtts://host:port; plain mqtt:// only to a local broker")
    p.add_argument("--password-file", required=True, type=Path, help="file holding this point's MQTT password")
    p.add_argument("--state-dir", type=Path, default=Path("/var/lib/etapiste"), help="where point.yaml etc. live")
    p.add_argument(
        "--trust", type=Path, help="the organiser's public keys (installed once; copied to STATE_DIR/trust.json)"
    )
    p.add_argument("--kiosk-socket", type=Path, default=Path(DEFAULT_SOCKET), help="the kiosk link's socket")
    p.add_argument("--health-timeout", type=float, default=60.0, help="seconds to wait for the kiosk's health")
    p.add_argument("--command-timeout", type=float, default=30.0)
    p.add_argument("--state-interval", type=float, default=60.0, help="seconds between periodic state reports")
    p.add_argument("--ca-file", help="CA bundle for mqtts:// (the broker's certificate authority)")
    p.add_argument("--cert", help="client certificate for mqtts:// (mutual TLS)")
    p.add_argument("--key", help="client certificate's key")
    p.add_argument("--reboot-cmd", default="systemctl reboot", help="command the 'reboot' remote command runs")
    p.add_argument(
        "--restart-kiosk-cmd", help="command that restarts the kiosk (default: ask the kiosk to exit and be restarted)"
    )
    p.add_argument("--run-dir", type=Path, help="/run/etapiste: software updates via the root helper (off if unset)")
    p.add_argument("--crash-restarts", type=int, default=5,
                   help="kiosk starts within --crash-window-s that alert the host's staff and support (crash loop)")
    p.add_argument("--crash-window-s", type=float, default=600.0)
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def settings_from(args: argparse.Namespace) -> AgentSettings:
    """Turn the command line into settings; raises ``ValueError`` with a person-readable reason."""
    broker.check_point_id(args.point)
    url = urlsplit(args.broker)
    if url.scheme not in ("mqtt", "mqtts") or not url.hostname:
        raise ValueError(f"--broker {args.broker!r}: write it as mqtt://host:port or mqtts://host:port")
    tls = None
    if url.scheme == "mqtts":
        tls = ssl.create_default_context(cafile=args.ca_file)
        if args.cert:
            tls.load_cert_chain(args.cert, args.key)
    try:
        password = args.password_file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ValueError(f"--password-file {args.password_file}: {exc.strerror}") from None
    state_dir: Path = args.state_dir
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o750)
    trust_file = state_dir / "trust.json"
    if not trust_file.exists():
        if args.trust is None:
            raise ValueError(f"no {trust_file} yet: give --trust with the organiser's public keys")
        try:
            TrustStore.load(args.trust)  # refuse a broken file before copying it
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"--trust {args.trust}: cannot read the organiser's keys ({exc})") from None
        shutil.copyfile(args.trust, trust_file)
    crash_at = os.environ.get("ETAPISTE_AGENT_CRASH_AT") or None
    if crash_at is not None and crash_at not in STEPS:
        raise ValueError(f"ETAPISTE_AGENT_CRASH_AT={crash_at!r}: one of {', '.join(STEPS)}")
    return AgentSettings(
        point=args.point,
        state_dir=state_dir,
        host=url.hostname,
        port=url.port or (8883 if tls else 1883),
        password=password,
        kiosk_socket=args.kiosk_socket,
        tls=tls,
        health_timeout=args.health_timeout,
        command_timeout=args.command_timeout,
        state_interval=args.state_interval,
        reboot_cmd=args.reboot_cmd,
        restart_kiosk_cmd=args.restart_kiosk_cmd,
        crash_at=crash_at,
        run_dir=args.run_dir,
        crash_restarts=args.crash_restarts,
        crash_window_s=args.crash_window_s,
    )


async def _serve(agent: Agent) -> None:
    task = asyncio.create_task(agent.run())
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    ring = RingLog()
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger().addHandler(ring)
    try:
        settings = settings_from(args)
        settings.ring = ring
        agent = Agent(settings)
    except (ValueError, OSError, KeyError) as exc:
        print(f"etapiste agent: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_serve(agent))
    except OSError as exc:  # e.g. the kiosk socket's directory is missing or not ours
        print(f"etapiste agent: {exc}", file=sys.stderr)
        return 1
    return 0
