"""The kiosk and the provisioning agent over their real local link: the kiosk (a real process, offscreen)
reports its version and health, obeys remote commands, refuses a broken configuration while it keeps
running, and restarts itself on a good one, reporting health for the new version."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from etapiste.config.point import SAMPLE_CONFIG
from provisioning.kiosk_link import KioskLinkServer

SAMPLE = (Path(__file__).parents[2] / "etapiste" / "config" / SAMPLE_CONFIG).read_text(encoding="utf-8")


def config_file(path: Path, version: int, text: str = SAMPLE) -> Path:
    path.write_text(f"# etapiste-config-version: {version}\n{text}", encoding="utf-8")
    return path


@pytest.fixture
async def agent(tmp_path: Path) -> AsyncIterator[KioskLinkServer]:
    server = KioskLinkServer(tmp_path / "agent.sock")
    await server.start()
    yield server
    await server.close()


@pytest.fixture
def kiosk(tmp_path: Path, agent: KioskLinkServer) -> subprocess.Popen[bytes]:
    config = config_file(tmp_path / "point.yaml", 1)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "ETAPISTE_AGENT_SOCKET": str(agent.path)}
    env.pop("NOTIFY_SOCKET", None)
    proc = subprocess.Popen([sys.executable, "-m", "etapiste", "kiosk", "--windowed", "--config", str(config)],
                            env=env, stdout=subprocess.DEVNULL, stderr=(tmp_path / "kiosk.log").open("wb"))
    yield proc
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


async def test_the_kiosk_reports_its_version_and_why_it_is_not_healthy(
    agent: KioskLinkServer, kiosk: subprocess.Popen[bytes]
) -> None:
    assert await agent.wait_connected(60)
    ok, why = await agent.wait_healthy(1, 60)
    # No switchboard credential on this machine: the configuration cannot work, and the agent is told why.
    assert not ok
    assert "switchboard" in why
    assert agent.view.version == 1
    assert set(agent.view.devices) >= {"printer", "scanner", "card_reader", "camera", "switchboard"}


async def test_remote_out_of_service_and_diagnostics(agent: KioskLinkServer, kiosk: subprocess.Popen[bytes]) -> None:
    assert await agent.wait_connected(60)
    result = await agent.command("out_of_service", {"on": True, "message": {
        "fi": "Huolto", "sv": "Service", "en": "Maintenance"}}, timeout=30)
    assert result.ok
    diagnostics = await agent.command("diagnostics", {}, timeout=30)
    assert diagnostics.ok and "state=out_of_service" in diagnostics.detail
    await agent.command("out_of_service", {"on": False}, timeout=30)
    diagnostics = await agent.command("diagnostics", {}, timeout=30)
    assert "state=out_of_service" not in diagnostics.detail


async def test_a_broken_configuration_is_refused_and_a_good_one_restarts_the_kiosk_on_it(
    tmp_path: Path, agent: KioskLinkServer, kiosk: subprocess.Popen[bytes]
) -> None:
    assert await agent.wait_connected(60)
    await agent.wait_healthy(1, 60)
    broken = config_file(tmp_path / "broken.yaml", 2, SAMPLE.replace("  idle_timeout_s: 90", "  idle_timeout_s: 5"))
    await agent.reload(2, broken)
    ok, why = await agent.wait_healthy(2, 30)
    assert not ok and "ui.idle_timeout_s" in why
    assert kiosk.poll() is None  # still running on version 1
    connections = agent.connections

    good = config_file(tmp_path / "point.yaml", 3)
    await agent.reload(3, good)
    assert await agent.wait_connected(60, after=connections)
    await agent.wait_healthy(3, 60)
    assert agent.view.version == 3
    assert kiosk.poll() is None  # the same process id, re-executed (systemd keeps supervising it)
    await asyncio.sleep(0)
