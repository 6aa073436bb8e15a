"""The local agent↔kiosk protocol over a real unix socket: validation of every message, anonymous
statistics by construction, and the client/server pair the kiosk and the agent use."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

from provisioning.kiosk_link import (
    Command,
    DeviceHealthReport,
    Fault,
    KioskLinkClient,
    KioskLinkServer,
    Reload,
    SessionReport,
    read_config_version,
)
from provisioning.privacy import scrub


async def _raw(server: KioskLinkServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_unix_connection(str(server.path))
    return reader, writer


async def _say(w: asyncio.StreamWriter, r: asyncio.StreamReader, line: bytes) -> dict | None:
    w.write(line + b"\n")
    await w.drain()
    try:
        async with asyncio.timeout(0.3):
            return json.loads(await r.readline())
    except TimeoutError:
        return None


async def test_malformed_and_personal_messages_are_refused_and_the_link_survives(short_dir: Path) -> None:
    sessions: list[SessionReport] = []
    faults: list[Fault] = []
    server = KioskLinkServer(short_dir / "a.sock", on_session=sessions.append, on_fault=faults.append)
    await server.start()
    try:
        r, w = await _raw(server)
        assert (await _say(w, r, b"not json"))["op"] == "error"  # type: ignore[index]
        reply = await _say(w, r, b'{"op":"format_disk"}')
        assert reply is not None and reply["op"] == "error"
        # A session carrying anything beyond the aggregate fields is refused whole.
        reply = await _say(
            w, r,
            b'{"op":"session","day":"2026-11-28","hour":10,"outcome":"served","producer":"kela",'
            b'"queue":"kela-general","duration_s":60,"wait_s":5,"rating":4,"name":"Matti Meikalainen"}',
        )  # fmt: skip
        assert reply is not None and "name" in reply["reason"]
        reply = await _say(
            w, r, b'{"op":"fault","day":"2026-11-28","device":"printer","reason":"jam at page of Matti"}'
        )
        assert reply is not None and reply["op"] == "error"
        assert sessions == [] and faults == []

        good = (b'{"op":"session","day":"2026-11-28","hour":10,"outcome":"served","producer":"kela",'
                b'"queue":"kela-general","duration_s":60,"wait_s":5,"rating":null}')
        assert await _say(w, r, good) is None
        await _say(w, r, b'{"op":"health","version":3,"healthy":false,"devices":{},"error":"card of 131052-308T"}')
        assert [s.producer for s in sessions] == ["kela"]
        assert server.view.version == 3 and server.view.healthy is False
        assert server.view.error == "card of [hetu]"
        w.close()
    finally:
        await server.close()


async def test_staff_pin_reports_carry_counts_only_and_reach_the_agent_again_after_a_reconnect(
    short_dir: Path,
) -> None:
    server = KioskLinkServer(short_dir / "s.sock")
    await server.start()
    try:
        r, w = await _raw(server)
        reply = await _say(w, r, b'{"op":"staff_pin","failures":3,"lockouts":0,"locked_until":null,"pin":"135790"}')
        assert reply is not None and "pin" in reply["reason"]  # no room for a PIN, not even a wrong one
        w.close()
        client = KioskLinkClient(server.path, software="t", version=0, on_reload=_nothing, on_command=_no_command,
                                 retry_s=0.05)  # fmt: skip
        client.staff_pin(5, 1, None)  # known before the link is up: sent on connect
        task = asyncio.create_task(client.run())
        try:
            await _until(lambda: server.view.staff_pin is not None and server.view.staff_pin.lockouts == 1)
            await server.close()  # the agent restarts…
            server = KioskLinkServer(short_dir / "s.sock")
            await server.start()  # …and learns it again from the reconnecting kiosk
            await _until(lambda: server.view.staff_pin is not None and server.view.staff_pin.failures == 5)
        finally:
            task.cancel()
    finally:
        await server.close()


async def _nothing(_: Reload) -> None:
    return None


async def _no_command(_: Command) -> tuple[bool, str]:
    return False, "no commands here"


async def _until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.02)


async def test_client_and_server_carry_reload_health_and_commands(short_dir: Path) -> None:
    server = KioskLinkServer(short_dir / "b.sock")
    await server.start()
    reloads: list[Reload] = []

    async def on_reload(msg: Reload) -> None:
        reloads.append(msg)
        printer = DeviceHealthReport(ok=False, reason="media-empty")
        await client.health(msg.version, healthy=True, devices={"printer": printer})

    async def on_command(cmd: Command) -> tuple[bool, str]:
        return cmd.name == "test_print", f"did {cmd.name}"

    client = KioskLinkClient(server.path, software="t", version=0, on_reload=on_reload, on_command=on_command,
                             retry_s=0.05)  # fmt: skip
    task = asyncio.create_task(client.run())
    try:
        assert await server.wait_connected(5)
        await server.reload(9, "/var/lib/etapiste/point.yaml")
        assert await server.wait_healthy(9, 5) == (True, "")
        assert reloads[0].path == "/var/lib/etapiste/point.yaml"
        assert server.view.devices["printer"].reason == "media-empty"
        result = await server.command("test_print", {}, 5)
        assert (result.ok, result.detail) == (True, "did test_print")
        result = await server.command("diagnostics", {}, 5)
        assert result.ok is False
        # The agent restarting: the kiosk reconnects by itself.
        await server.close()
        server2 = KioskLinkServer(short_dir / "b.sock")
        await server2.start()
        assert await server2.wait_connected(5)
        await server2.close()
    finally:
        task.cancel()


async def test_a_kiosk_serving_a_customer_puts_the_health_check_off_until_it_restarts_on_the_configuration(
    short_dir: Path,
) -> None:
    """Found by the soak (journey 24:482): a configuration pushed during a call that went on longer than the
    agent's health check was rolled back as unhealthy (and never retried), though the kiosk was only waiting
    for its customer to leave before restarting on it. Now the kiosk says so, and the check starts after."""
    server = KioskLinkServer(short_dir / "w.sock")
    await server.start()

    async def on_reload(msg: Reload) -> None:
        await serving.reload_waits(msg.version)
        await asyncio.Event().wait()  # the customer is still there; the process ends when they leave

    serving = KioskLinkClient(server.path, software="t", version=6, on_reload=on_reload, on_command=_no_command,
                              retry_s=0.05)  # fmt: skip
    first = asyncio.create_task(serving.run())
    restarted: asyncio.Task[None] | None = None
    try:
        assert await server.wait_connected(5)
        await server.reload(7, "/var/lib/etapiste/point.yaml")
        check = asyncio.create_task(server.wait_healthy(7, 0.5))
        await asyncio.sleep(1.5)  # the visit outlasts the health check's 0.5 s
        assert not check.done(), "the health check ran out while the kiosk served its customer"
        # Meanwhile the kiosk still hears the agent (a command, a help request's acknowledgement).
        assert (await server.command("diagnostics", {}, 2)).detail == "no commands here"

        first.cancel()  # the customer left: the kiosk restarts on version 7 and reports its health
        connections = server.connections

        async def healthy() -> None:
            await fresh.health(7, healthy=True)

        fresh = KioskLinkClient(server.path, software="t", version=7, on_reload=_nothing, on_command=_no_command,
                                on_connect=healthy, retry_s=0.05)  # fmt: skip
        restarted = asyncio.create_task(fresh.run())
        assert await server.wait_connected(5, after=connections)
        assert await asyncio.wait_for(check, 5) == (True, "")
        silent = await server.wait_healthy(8, 0.2)  # a kiosk that says nothing of a version is still not healthy
        assert silent == (False, "the kiosk did not report health for version 8 within 0.2 s")
    finally:
        first.cancel()
        if restarted is not None:
            restarted.cancel()
        await server.close()


async def test_unhealthy_report_gives_the_kiosks_reason(short_dir: Path) -> None:
    server = KioskLinkServer(short_dir / "c.sock")
    await server.start()
    try:
        r, w = await _raw(server)
        await _say(w, r, b'{"op":"hello","software":"x","version":2}')
        await _say(w, r, b'{"op":"health","version":2,"healthy":false,"error":"switchboard unreachable"}')
        assert await server.wait_healthy(2, 1) == (False, "the kiosk reported unhealthy: switchboard unreachable")
        silent = await server.wait_healthy(3, 0.2)
        assert silent == (False, "the kiosk did not report health for version 3 within 0.2 s")
        w.close()
    finally:
        await server.close()


def test_config_version_is_read_from_the_files_header(tmp_path: Path) -> None:
    p = tmp_path / "point.yaml"
    assert read_config_version(p) == 0
    p.write_text("# etapiste-config-version: 42\n# …\nschema: 1\n")
    assert read_config_version(p) == 42
    p.write_text("schema: 1\n")
    assert read_config_version(p) == 0


def test_scrub_redacts_personal_data_but_keeps_device_codes() -> None:
    text = "131052-308T 010199A123X matti@example.fi +358 40 123 4567 media-empty-error v17 port 8443"
    assert scrub(text) == "[hetu] [hetu] [email] [number] media-empty-error v17 port 8443"
