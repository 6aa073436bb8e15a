"""Login, sessions, point credentials and the pages, through the switchboard's real HTTP and WebSocket server."""

from __future__ import annotations

import aiohttp

from etapiste import protocol as p
from simulation.switchboard import PASSWORDS, POINT_CREDENTIALS, Client, serve


async def _login(sb, username: str, password: str) -> tuple[int, dict]:
    async with sb.session.post(
        f"{sb.base}/api/login", json={"username": username, "password": password}, headers={"Origin": sb.origin}
    ) as r:
        return r.status, await r.json()


async def test_wrong_password_is_refused_without_saying_which_part_was_wrong():
    async with serve() as sb:
        assert await _login(sb, "anna", "not-her-password") == (401, {"error": "wrong_credentials"})
        assert await _login(sb, "nobody", "whatever-password") == (401, {"error": "wrong_credentials"})
        status, body = await _login(sb, "anna", PASSWORDS["anna"])
        assert status == 200 and body["role"] == "agent" and body["name"] == "Anna / Kela"


async def test_repeated_wrong_passwords_lock_the_name_until_the_lockout_passes():
    async with serve() as sb:
        for _ in range(3):
            assert (await _login(sb, "anna", "guess-guess-guess"))[0] == 401
        status, body = await _login(sb, "anna", PASSWORDS["anna"])
        assert status == 429 and body["error"] == "rate_limited" and body["retry_after_s"] == 120
        # Another user from elsewhere is not locked out by Anna's name being attacked.
        assert (await _login(sb, "bertil", PASSWORDS["bertil"]))[0] == 200
        sb.clock.advance(121)
        assert (await _login(sb, "anna", PASSWORDS["anna"]))[0] == 200


async def test_malformed_login_gets_a_clear_error():
    async with (
        serve() as sb,
        sb.session.post(
            f"{sb.base}/api/login",
            data=b"{not json",
            headers={"Origin": sb.origin, "Content-Type": "application/json"},
        ) as r,
    ):
        assert r.status == 400 and (await r.json())["error"] == "malformed"


async def test_expired_session_closes_the_desk_and_asks_for_login_again():
    async with serve() as sb:
        http = await sb.login("anna")
        try:
            async with http.get(f"{sb.base}/api/me") as r:
                assert r.status == 200
            desk = Client(await http.ws_connect(f"{sb.base}/ws/desk"))
            await desk.send(p.DeskHello(protocol=1))
            await desk.expect("welcome")
            sb.clock.advance(3601)
            await sb.hub.sweep()
            assert (await desk.expect("error")).code == "session_expired"
            assert await desk.closed()
            async with http.get(f"{sb.base}/api/me") as r:
                assert r.status == 401
            ws2 = await http.ws_connect(f"{sb.base}/ws/desk")
            await ws2.send_str(p.encode(p.DeskHello(protocol=1)))
            assert p.parse_signal((await ws2.receive()).data).code == "session_expired"
        finally:
            await http.close()


async def test_logout_ends_the_session():
    async with serve() as sb:
        http = await sb.login("anna")
        try:
            async with http.post(f"{sb.base}/api/logout", json={}) as r:
                assert r.status == 200
            async with http.get(f"{sb.base}/api/me") as r:
                assert r.status == 401
        finally:
            await http.close()


async def test_desk_without_login_is_refused():
    async with serve() as sb:
        ws = await sb.session.ws_connect(f"{sb.base}/ws/desk", headers={"Origin": sb.origin})
        await ws.send_str(p.encode(p.DeskHello(protocol=1, session="made-up-token")))
        assert p.parse_signal((await ws.receive()).data).code == "session_expired"


async def test_desk_socket_from_another_site_is_refused():
    async with serve() as sb:
        http = await sb.login("anna")
        try:
            try:
                await http.ws_connect(f"{sb.base}/ws/desk", headers={"Origin": "https://evil.example"})
                raise AssertionError("a cross-site desk socket was accepted")
            except aiohttp.WSServerHandshakeError as exc:
                assert exc.status == 403
        finally:
            await http.close()


async def test_point_using_another_points_credential_is_refused():
    async with serve() as sb:
        point = await sb.point("oulu-kirjasto", credential=POINT_CREDENTIALS["kemi-kirjasto"])
        error = await point.next()
        assert error.type == "error" and error.code == "unauthorised"
        assert await point.closed()
        assert "oulu-kirjasto" not in sb.hub.points


async def test_unknown_point_and_wrong_protocol_version_are_refused():
    async with serve() as sb:
        stranger = await sb.point("kemi-kirjasto", credential="x" * 32)
        assert (await stranger.next()).code == "unauthorised"
        ws = await sb.session.ws_connect(f"{sb.base}/ws/point")
        await ws.send_str(
            p.encode(p.PointHello(protocol=99, point="kemi-kirjasto", credential=POINT_CREDENTIALS["kemi-kirjasto"]))
        )
        assert p.parse_signal((await ws.receive()).data).code == "unsupported_version"


async def test_point_must_say_hello_first():
    async with serve() as sb:
        ws = await sb.session.ws_connect(f"{sb.base}/ws/point")
        await ws.send_str(p.encode(p.QueueRequest(producer="kela", queue="kela-general")))
        assert p.parse_signal((await ws.receive()).data).code == "unauthorised"


async def test_point_reconnecting_replaces_its_old_connection():
    async with serve() as sb:
        first = await sb.point("oulu-kirjasto")
        await first.expect("welcome")
        second = await sb.point("oulu-kirjasto")
        await second.expect("welcome")
        assert await first.closed()
        assert sb.hub.points["oulu-kirjasto"].conn is not None and len(sb.hub.points) == 1


async def test_welcome_gives_turn_credentials_and_the_identity_origin():
    from simulation.switchboard import make_config

    config = make_config(turn={"urls": ["turn:127.0.0.1:3478"], "secret": "s3cret", "ttl_s": 600})
    async with serve(config) as sb:
        point = await sb.point("oulu-kirjasto")
        welcome = await point.expect("welcome")
        assert welcome.origin == sb.origin
        assert welcome.ice_ttl_s == 600
        (turn,) = welcome.ice_servers
        expiry, who = turn.username.split(":", 1)
        assert int(expiry) == int(sb.clock.time()) + 600 and who == "point-oulu-kirjasto"


async def test_turn_credentials_go_only_to_those_who_carry_media():
    """An organiser's desk (the fleet view) sends no media: a relay credential there would only be one
    more to leak (issue 23). Points, agents and interpreters get theirs in ``welcome``."""
    from simulation.switchboard import make_config

    config = make_config(
        turn={"urls": ["turn:127.0.0.1:3478"], "secret": "s3cret", "ttl_s": 600}, stun_urls=["stun:127.0.0.1:3478"]
    )
    async with serve(config) as sb:
        point = await sb.point("oulu-kirjasto")
        seen = {"point": await point.expect("welcome")}
        for username in ("anna", "tulkki", "ops"):
            http = await sb.login(username)
            sb._extra.append(http)
            desk = Client(await http.ws_connect(f"{sb.base}/ws/desk"))
            await desk.send(p.DeskHello(protocol=p.PROTOCOL_VERSION))
            welcome = await desk.expect("welcome")
            seen[welcome.role] = welcome
        for role in ("point", "agent", "interpreter"):
            assert any(s.username and s.credential for s in seen[role].ice_servers), role
            assert seen[role].ice_ttl_s == 600
        assert seen["organiser"].ice_servers == [] and seen["organiser"].ice_ttl_s == 0


async def test_desk_and_organiser_pages_are_served_with_a_content_security_policy():
    async with serve() as sb:
        for path in ("/", "/organiser"):
            async with sb.session.get(f"{sb.base}{path}") as r:
                assert r.status == 200 and "<html" in (await r.text())
                assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
        async with sb.session.get(f"{sb.base}/static/desk.js") as r:
            assert r.status == 200
        async with sb.session.get(f"{sb.base}/static/..%2Fhub.py") as r:
            assert r.status == 404


async def test_only_the_organiser_sees_the_overview():
    async with serve() as sb:
        agent = await sb.login("anna")
        ops = await sb.login("ops")
        try:
            async with agent.get(f"{sb.base}/api/overview") as r:
                assert r.status == 403
            async with ops.get(f"{sb.base}/api/overview") as r:
                assert r.status == 200
                body = await r.json()
            assert {pt["point"] for pt in body["points"]} == set(POINT_CREDENTIALS)
        finally:
            await agent.close()
            await ops.close()


async def test_oversized_and_binary_frames_get_errors_and_the_connection_stays(monkeypatch):
    async with serve() as sb:
        point = await sb.point("oulu-kirjasto")
        await point.expect("welcome")
        await point.send('{"type": "queue.request", "pad": "' + "x" * p.MAX_SIGNAL_BYTES + '"}')
        assert (await point.expect("error")).code == "too_large"
        await point.ws.send_bytes(b"\x00\x01binary")
        assert (await point.expect("error")).code == "malformed"
        await point.send(p.QueueRequest(producer="kela", queue="kela-general"))
        assert (await point.expect("queue.position")).position == 1


async def test_a_socket_that_never_says_hello_is_closed(monkeypatch):
    import switchboard.web

    monkeypatch.setattr(switchboard.web, "HELLO_TIMEOUT_S", 0.2)
    async with serve() as sb:
        ws = await sb.session.ws_connect(f"{sb.base}/ws/point")
        reply = p.parse_signal((await ws.receive(timeout=5)).data)
        assert reply.code == "unauthorised"
        assert (await ws.receive(timeout=5)).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
