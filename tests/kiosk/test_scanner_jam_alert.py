"""A scanner jam reaches the agent (and so the host's staff): SANE reports a jammed feeder only to the scan that
met it — asked afterwards, its real test backend says "ready" — so the kiosk's agent link holds the fault the
scan saw in the device health it reports, until a scan works again. The agent's alerts from that health are
tested in tests/provisioning/test_alerts.py and test_alert_grouping.py."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from drivers.scanner import Scanner
from etapiste.config.point import ScannerConfig, load_point_config
from kiosk.agentlink import AgentLink
from kiosk.health import HealthMonitor, probe_scanner
from kiosk.session import Session
from provisioning.kiosk_link import KioskLinkServer
from tests.provisioning.conftest import eventually


@pytest.fixture
async def agent() -> AsyncIterator[KioskLinkServer]:
    with tempfile.TemporaryDirectory(prefix="ek-", dir="/tmp") as d:  # unix socket paths are short
        server = KioskLinkServer(Path(d) / "agent.sock")
        await server.start()
        yield server
        await server.close()


def _scanner_code(agent: KioskLinkServer) -> str | None:
    report = agent.view.devices.get("scanner")
    return report.code if report is not None and not report.ok else None


async def test_a_jam_seen_by_a_scan_is_reported_until_a_scan_works_again(
    agent: KioskLinkServer, sane_backend: Any
) -> None:
    scanner = Scanner(ScannerConfig(device="test:0", resolution=75, source="Flatbed"))
    session = Session(load_point_config(), lambda: dt.datetime(2026, 11, 30, 12, 0))
    health = HealthMonitor({"scanner": lambda: probe_scanner(scanner)})
    link = AgentLink(str(agent.path), session, health, config_path=None, test_print=lambda: None,
                     restart=lambda: None)  # fmt: skip
    task = asyncio.ensure_future(link.run())
    try:
        await eventually(lambda: agent.view.connected, 10, "the kiosk connected")
        await health.check()
        await eventually(lambda: "scanner" in agent.view.devices and agent.view.devices["scanner"].ok, 10, "ok")
        session.choose_language("fi")
        session.choose_producer("kela")
        session.accept_notice()
        session.call_answered()
        session.scan_requested()
        session.scan_started()
        session.scan_failed("scanner_jammed")  # what the journey does when SANE says SANE_STATUS_JAMMED
        await eventually(lambda: _scanner_code(agent) == "scanner_jammed", 10, "the jam reported")
        await health.check()  # the real scanner says "ready" when asked: the jam the scan met stands
        assert probe_scanner(scanner).health == "ok"
        await asyncio.sleep(0.1)
        assert _scanner_code(agent) == "scanner_jammed"

        session.close_scan()
        session.scan_requested()
        session.scan_started()
        session.scan_ready(1, None)  # it scanned: the paper is out of the feeder
        await eventually(lambda: agent.view.devices["scanner"].ok, 10, "the scanner ok again")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
