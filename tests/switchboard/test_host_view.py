"""The host view (issue 21, item 2) through the switchboard's real HTTP and WebSocket server: a host user sees
only its own rooms, each room's state follows its point (free, customer waiting, in a call, out of service,
offline), faults and help requests appear, "I'm on it" reaches the point, and out of service set from the
view reaches the point. Nothing of a customer is in what the view gets."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from etapiste import protocol as p
from simulation.services.redis import Redis
from simulation.switchboard import Switchboard, make_config, serve, start_call
from tests.switchboard.test_instances import instances


async def _rooms(sb: Switchboard, http: aiohttp.ClientSession) -> dict[str, dict[str, Any]]:
    async with http.get(f"{sb.base}/api/host") as r:
        assert r.status == 200, await r.text()
        return {room["point"]: room for room in (await r.json())["rooms"]}


async def _post(sb: Switchboard, http: aiohttp.ClientSession, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    async with http.post(f"{sb.base}/api/host/{path}", json=body) as r:
        return r.status, await r.json()


async def test_a_host_sees_only_its_own_rooms_and_others_are_refused_the_view():
    async with serve() as sb:
        liisa, kalle, anna = await sb.login("liisa"), await sb.login("kalle"), await sb.login("anna")
        try:
            assert list(await _rooms(sb, liisa)) == ["oulu-kirjasto", "kemi-kirjasto"]
            assert list(await _rooms(sb, kalle)) == ["inari-kirjasto"]
            async with anna.get(f"{sb.base}/api/host") as r:
                assert r.status == 403
            async with sb.session.get(f"{sb.base}/api/host") as r:  # not logged in
                assert r.status == 401
            # Kalle can neither act on Liisa's rooms nor learn anything of them.
            point = await sb.point("oulu-kirjasto")
            await point.expect("welcome")
            await point.send(p.RoomHelp())
            alert = (await _rooms(sb, liisa))["oulu-kirjasto"]["alerts"][0]["id"]
            assert (await _post(sb, kalle, "ack", {"point": "oulu-kirjasto", "alert": alert}))[0] == 403
            assert (await _post(sb, kalle, "service", {"point": "oulu-kirjasto", "on": True}))[0] == 403
            await point.drain()
            assert point.latest("room.staff_coming") is None and point.latest("room.service") is None
        finally:
            for http in (liisa, kalle, anna):
                await http.close()


async def test_each_room_state_follows_its_point_queueing_calling_out_of_service_and_leaving():
    async with serve() as sb:
        liisa = await sb.login("liisa")
        try:
            assert (await _rooms(sb, liisa))["oulu-kirjasto"]["state"] == "offline"
            point, desk, start = await start_call(sb)
            assert (await _rooms(sb, liisa))["oulu-kirjasto"]["state"] == "in_call"
            assert (await _rooms(sb, liisa))["kemi-kirjasto"]["state"] == "offline"
            await desk.send(p.Hangup(call=start.call))
            await point.expect("call.ended")
            assert (await _rooms(sb, liisa))["oulu-kirjasto"]["state"] == "free"

            await point.send(p.QueueRequest(producer="kela", queue="kela-general", language="fi"))
            await point.expect("queue.position")
            assert (await _rooms(sb, liisa))["oulu-kirjasto"]["state"] == "waiting"
            await point.send(p.QueueCancel())
            await point.expect("queue.left")

            await point.send(p.RoomStatus(out_of_service=True))
            await point.send(p.RoomStatus(out_of_service=True))  # said twice: still one state
            await point.drain()
            assert (await _rooms(sb, liisa))["oulu-kirjasto"]["state"] == "out_of_service"
            await point.send(p.RoomStatus(out_of_service=False))
            await point.drain()
            assert (await _rooms(sb, liisa))["oulu-kirjasto"]["state"] == "free"

            await point.ws.close()
            await sb.hub.sweep()
            assert (await _rooms(sb, liisa))["oulu-kirjasto"]["state"] == "offline"
        finally:
            await liisa.close()


async def test_faults_and_help_appear_and_im_on_it_tells_the_point_once():
    async with serve() as sb:
        liisa = await sb.login("liisa")
        try:
            point = await sb.point("oulu-kirjasto")
            await point.expect("welcome")
            await point.send(p.RoomStatus(faults=[p.RoomFault(device="printer", code="out_of_paper")]))
            await point.send(p.RoomHelp())
            await point.send(p.RoomHelp())  # pressed twice before anyone came: one request
            await point.drain()
            alerts = (await _rooms(sb, liisa))["oulu-kirjasto"]["alerts"]
            assert [(a["kind"], a["device"], a["code"], a["ack_by"]) for a in alerts] == [
                ("help", None, None, None),
                ("device", "printer", "out_of_paper", None),
            ]
            printer = alerts[1]["id"]
            assert alerts[1]["device_name"]["fi"] == "tulostin"
            assert alerts[1]["advice"]["en"].startswith("Out of paper")  # the words the notifier's mails use

            # The same fault said again keeps its alert (and its time); "I'm on it" tells the point once.
            await point.send(p.RoomStatus(faults=[p.RoomFault(device="printer", code="out_of_paper")]))
            await point.drain()
            assert (await _rooms(sb, liisa))["oulu-kirjasto"]["alerts"][1]["id"] == printer
            assert await _post(sb, liisa, "ack", {"point": "oulu-kirjasto", "alert": printer}) == (
                200, {"ok": True, "error": None})  # fmt: skip
            coming = await point.expect("room.staff_coming")
            assert (coming.kind, coming.device) == ("device", "printer")
            assert (await _post(sb, liisa, "ack", {"point": "oulu-kirjasto", "alert": printer}))[0] == 200
            await point.drain()
            assert point.latest("room.staff_coming") is None  # not a second time
            alerts = (await _rooms(sb, liisa))["oulu-kirjasto"]["alerts"]
            assert alerts[1]["ack_by"] == "Liisa / Oulu library"

            help_id = alerts[0]["id"]
            assert (await _post(sb, liisa, "ack", {"point": "oulu-kirjasto", "alert": help_id}))[0] == 200
            assert (await point.expect("room.staff_coming")).kind == "help"

            # The printer works again: its alert goes. An unknown alert is "gone".
            await point.send(p.RoomStatus(faults=[]))
            await point.drain()
            assert [a["kind"] for a in (await _rooms(sb, liisa))["oulu-kirjasto"]["alerts"]] == ["help"]
            assert (await _post(sb, liisa, "ack", {"point": "oulu-kirjasto", "alert": printer}))[0] == 404
        finally:
            await liisa.close()


async def test_out_of_service_set_and_cleared_from_the_view_reaches_the_point():
    async with serve() as sb:
        liisa = await sb.login("liisa")
        try:
            # An offline room cannot be reached: the view says so rather than pretending.
            status, body = await _post(sb, liisa, "service", {"point": "kemi-kirjasto", "on": True})
            assert (status, body["error"]) == (409, "offline")

            point = await sb.point("oulu-kirjasto")
            await point.expect("welcome")
            message = "Tulostin rikki, palvelemme tiskillä / The printer is broken"
            body = {"point": "oulu-kirjasto", "on": True, "message": message}
            assert (await _post(sb, liisa, "service", body))[0] == 200
            told = await point.expect("room.service")
            assert (told.on, told.message) == (True, message)
            body = {"point": "oulu-kirjasto", "on": False, "message": "x"}
            assert (await _post(sb, liisa, "service", body))[0] == 200
            told = await point.expect("room.service")
            assert (told.on, told.message) == (False, None)
            assert (await _post(sb, liisa, "service", {"point": "oulu-kirjasto", "on": "yes"}))[0] == 400
        finally:
            await liisa.close()


async def test_the_views_actions_refuse_another_sites_page():
    async with serve() as sb:
        liisa = await sb.login("liisa")
        try:
            point = await sb.point("oulu-kirjasto")
            await point.expect("welcome")
            headers = {"Origin": "https://evil.example"}
            async with liisa.post(f"{sb.base}/api/host/service", json={"point": "oulu-kirjasto", "on": True},
                                  headers=headers) as r:  # fmt: skip
                assert r.status == 403
            await point.drain()
            assert point.latest("room.service") is None
        finally:
            await liisa.close()


async def test_what_the_view_gets_holds_codes_and_staff_names_only():
    async with serve() as sb:
        liisa = await sb.login("liisa")
        try:
            point, _desk, start = await start_call(sb)
            await point.send(p.RoomStatus(faults=[p.RoomFault(device="card_reader", code="reader_gone")]))
            await point.send(p.RoomHelp())
            await point.drain()
            async with liisa.get(f"{sb.base}/api/host") as r:
                text = await r.text()
            keys = {k for room in json.loads(text)["rooms"] for a in room["alerts"] for k in a}
            assert keys == {"id", "kind", "device", "code", "since", "ack_by", "device_name", "advice"}
            for leak in ("Anna", "kela", start.call, "satu", "language"):
                assert leak not in text
        finally:
            await liisa.close()


def with_hours(point: str, hours: str) -> dict[str, Any]:
    """The simulation's configuration with ``point`` open ``hours`` every day (``points[].hours``)."""
    config = make_config()
    week = {d: hours for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    points = [pt.model_dump(exclude_none=True) | ({"hours": {"weekly": week}} if pt.id == point else {})
              for pt in config.points]  # fmt: skip
    return {"points": points}


async def test_todays_opening_hours_are_shown_when_the_point_has_them():
    async with serve(make_config(**with_hours("oulu-kirjasto", "08:00-20:00"))) as sb:
        liisa = await sb.login("liisa")
        try:
            rooms = await _rooms(sb, liisa)
            assert rooms["oulu-kirjasto"]["hours_today"] == ["08:00–20:00"]
            assert isinstance(rooms["oulu-kirjasto"]["open_now"], bool)
            assert rooms["kemi-kirjasto"]["hours_today"] is None  # none configured: the view says nothing
        finally:
            await liisa.close()


async def test_the_host_page_is_served_with_the_desks_content_security_policy():
    async with serve() as sb:
        async with sb.session.get(f"{sb.base}/host") as r:
            assert r.status == 200 and "default-src 'self'" in r.headers["Content-Security-Policy"]
            assert 'src="/static/host.js"' in await r.text()
        for name in ("host.js", "host.css"):
            async with sb.session.get(f"{sb.base}/static/{name}") as r:
                assert r.status == 200


async def test_a_host_on_another_instance_sees_the_room_and_its_orders_reach_the_point(redis_server: Redis):
    """Several instances on Redis: the point's reports are in the shared state, the orders are relayed."""
    async with instances(redis_server, 2) as (a, b):
        liisa = await b.login("liisa")
        try:
            point = await a.point("oulu-kirjasto")
            await point.expect("welcome")
            await point.send(p.RoomStatus(faults=[p.RoomFault(device="scanner", code="scanner_gone")]))
            await point.send(p.RoomHelp())
            await point.drain()
            room = (await _rooms(b, liisa))["oulu-kirjasto"]
            assert room["state"] == "free"
            assert sorted(a["kind"] for a in room["alerts"]) == ["device", "help"]
            for alert in room["alerts"]:
                assert (await _post(b, liisa, "ack", {"point": "oulu-kirjasto", "alert": alert["id"]}))[0] == 200
            told = {(await point.expect("room.staff_coming")).kind for _ in range(2)}
            assert told == {"help", "device"}
            assert all(a["ack_by"] for a in (await _rooms(b, liisa))["oulu-kirjasto"]["alerts"])
            assert (await _post(b, liisa, "service", {"point": "oulu-kirjasto", "on": True}))[0] == 200
            assert (await point.expect("room.service")).on is True
        finally:
            await liisa.close()


async def test_im_on_it_is_not_lost_when_the_points_instance_rewrites_the_report_it_read_before(
    redis_server: Redis,
):
    """The point's instance (a) rewrites the room's report from what it read a moment before — a fault report
    arriving just as Liisa, served by instance b, presses "I'm on it". Her acknowledgement must survive that
    rewrite (it did not: it lived inside the report), and a second press anywhere tells the point nothing new."""
    async with instances(redis_server, 2) as (a, b):
        liisa = await b.login("liisa")
        try:
            point = await a.point("oulu-kirjasto")
            await point.expect("welcome")
            await point.send(p.RoomHelp())
            await point.drain()
            help_alert = (await _rooms(b, liisa))["oulu-kirjasto"]["alerts"][0]
            read_before = await a.hub.state.get_room("oulu-kirjasto")  # a's handler has read the report…
            assert (await _post(b, liisa, "ack", {"point": "oulu-kirjasto", "alert": help_alert["id"]}))[0] == 200
            assert read_before is not None
            await a.hub.state.put_room("oulu-kirjasto", read_before)  # …and writes it back after her press
            for sb in (a, b):  # whichever instance serves her page
                (alert,) = (await _rooms(sb, liisa))["oulu-kirjasto"]["alerts"]
                assert alert["id"] == help_alert["id"] and alert["ack_by"], "the acknowledgement was lost"
            assert (await point.expect("room.staff_coming")).kind == "help"
            # Pressed again on the other instance: she is already on it, the point is not told twice.
            liisa_on_a = await a.login("liisa")
            again = {"point": "oulu-kirjasto", "alert": help_alert["id"]}
            assert (await _post(a, liisa_on_a, "ack", again))[0] == 200
            await liisa_on_a.close()
            await point.drain(0.3)
            assert point.latest("room.staff_coming") is None
        finally:
            await liisa.close()
