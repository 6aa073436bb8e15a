"""The switchboard as a national service, as an organiser deploys it: instances as processes of their own on one
Redis behind Debian's HAProxy (the harness in :mod:`simulation.services.haproxy`). Points and desks reach it
through HAProxy's one address; an instance killed is taken out of rotation and the service goes on; a harness
that cannot start says what HAProxy or the instance said. The configuration docs/switchboard.md shows is the
harness's template."""

from __future__ import annotations

import re
import socket
import urllib.request
from pathlib import Path

import pytest

from etapiste import protocol as p
from simulation.services.haproxy import (
    PRODUCTION,
    BalancerSettings,
    SwitchboardCluster,
    haproxy_config,
    start_haproxy,
)
from simulation.services.switchboard_instance import SwitchboardInstance
from simulation.switchboard import make_config

DOCS = Path(__file__).parents[2] / "docs" / "switchboard.md"

#: Every test here starts HAProxy or switchboard processes (the template test alone starts nothing).
pytestmark = pytest.mark.services


def healthz(base: str) -> bytes:
    with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
        assert response.status == 200
        return bytes(response.read())


async def test_points_and_desks_reach_the_service_through_haproxy_on_both_instances(
    switchboard_cluster: SwitchboardCluster,
):
    cluster = switchboard_cluster
    assert sorted(cluster.serving()) == ["sb1", "sb2"]
    assert b'"ok": true' in healthz(cluster.base)
    async with cluster.clients() as sb:
        desk = await sb.desk("anna")  # logged in and connected through HAProxy, with its Origin
        point = await sb.point("oulu-kirjasto")
        welcome = await point.expect("welcome")
        assert welcome.role == "point" and welcome.origin == cluster.base
        # Fewest connections first: the point's WebSocket went to the instance the desk was not using.
        assert all(n >= 1 for n in cluster.sessions().values()), cluster.sessions()
        await point.send(p.QueueRequest(producer="kela", queue="kela-general", language="fi"))
        assert (await point.expect("queue.position")).position == 1
        await desk.ws.close()
        await point.ws.close()


async def test_an_instance_killed_is_taken_out_of_rotation_and_points_get_through_the_other(
    switchboard_cluster: SwitchboardCluster,
):
    cluster = switchboard_cluster
    cluster.kill("sb1")
    assert cluster.serving() == ["sb2"]
    assert "Connection refused" in cluster.balancer.describe("sb1") or "L4CON" in cluster.balancer.describe("sb1")
    assert b'"ok": true' in healthz(cluster.base)
    async with cluster.clients() as sb:
        for point_id in ("oulu-kirjasto", "kemi-kirjasto", "inari-kirjasto"):
            point = await sb.point(point_id)
            assert (await point.expect("welcome")).role == "point"
            await point.ws.close()
    cluster.start_again("sb1")
    assert sorted(cluster.serving()) == ["sb1", "sb2"]


def test_an_instance_that_cannot_start_is_reported_with_its_own_words(tmp_path: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = make_config().model_copy(update={"listen_port": port})
        instance = SwitchboardInstance("sb9", port, tmp_path / "sb9", config)
        with pytest.raises(RuntimeError) as info:
            instance.start(timeout=60)
    message = str(info.value)
    assert "sb9 exited at start" in message
    assert re.search(r"address already in use", message, re.IGNORECASE), message


def test_haproxy_that_cannot_start_is_reported_with_its_alert(tmp_path: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = BalancerSettings(
            bind=f"127.0.0.1:{port}", servers=[("sb1", "127.0.0.1:9")], admin_socket=str(tmp_path / "admin.sock")
        )
        with pytest.raises(RuntimeError) as info:
            start_haproxy(tmp_path, settings, port)
    message = str(info.value)
    assert "haproxy exited at start" in message and "[ALERT]" in message
    assert "cannot bind socket" in message.lower() or "address already in use" in message.lower(), message


def test_the_haproxy_configuration_in_the_docs_is_the_harness_template():
    """docs/switchboard.md shows the template rendered for production; a change to either shows here."""
    text = DOCS.read_text(encoding="utf-8")
    assert haproxy_config(PRODUCTION) in text
