"""/metrics for ops (issue 17, item 5): what Prometheus scrapes after a customer queued and a call was
answered, on its own listener, and alert rules that Prometheus's own checker accepts."""

from __future__ import annotations

import subprocess
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from etapiste import protocol as p
from simulation.services.common import free_port
from simulation.switchboard import make_config, serve, start_call

RULES = Path(__file__).resolve().parents[2] / "switchboard" / "prometheus-rules.yaml"


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_promtool_accepts_the_shipped_alert_rules():
    out = subprocess.run(["promtool", "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS: 4 rules found" in out.stdout


async def test_metrics_after_a_queued_customer_and_an_answered_call():
    port = free_port()
    async with serve(make_config(metrics_listen=f"127.0.0.1:{port}")) as sb:
        async with sb.session.post(f"{sb.base}/api/login", json={"username": "anna", "password": "wrong-wrong"},
                                   headers={"Origin": sb.origin}) as r:
            assert r.status == 401
        oulu, anna, _ = await start_call(sb)  # oulu queued, Anna answered
        kemi = await sb.point("kemi-kirjasto")
        await kemi.expect("welcome")
        await kemi.send(p.QueueRequest(producer="kela", queue="kela-general"))
        await kemi.expect("queue.position")
        sb.clock.advance(90)
        async with aiohttp.ClientSession() as scraper, scraper.get(f"http://127.0.0.1:{port}/metrics") as r:
            assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
            got = _samples(await r.text())
        general = (("queue", "kela-general"),)
        assert got[("switchboard_queue_waiting", general)] == 1
        assert got[("switchboard_queue_longest_wait_seconds", general)] == 90
        assert got[("switchboard_queue_answered_total", general)] == 1
        assert got[("switchboard_agents_online", ())] == 1
        assert got[("switchboard_agents_busy", ())] == 1
        assert got[("switchboard_calls_active", ())] == 1
        assert got[("switchboard_connections", (("role", "point"),))] == 2
        assert got[("switchboard_connections", (("role", "agent"),))] == 1
        assert got[("switchboard_frames_in_total", (("role", "point"),))] >= 2
        assert got[("switchboard_frames_out_total", (("role", "agent"),))] >= 3  # welcome, snapshot, call.start
        assert got[("switchboard_login_failures_total", (("reason", "wrong_credentials"),))] == 1
        assert got[("switchboard_state_up", ())] == 1
        assert ("switchboard_state_roundtrip_seconds", ()) in got
        assert got[("switchboard_rate_limited_frames_total", (("role", "point"),))] == 0
        # Not on the public listener: the figures stay on the ops network.
        async with sb.session.get(f"{sb.base}/metrics") as r:
            assert r.status == 404
        await kemi.send(p.QueueCancel())
        await kemi.expect("queue.left")
        async with aiohttp.ClientSession() as scraper, scraper.get(f"http://127.0.0.1:{port}/metrics") as r:
            got = _samples(await r.text())
        assert got[("switchboard_queue_left_total", (("queue", "kela-general"), ("reason", "abandoned")))] == 1
        assert got[("switchboard_queue_waiting", general)] == 0
        # Held to the end: a client nobody refers to is collected and its socket closed (the agent would go away).
        assert oulu.ws is not None and anna.ws is not None


def test_a_metrics_address_that_is_not_host_and_port_is_refused_at_load():
    with pytest.raises(ValueError, match="is not host:port"):
        make_config(metrics_listen="9464")
