"""Login hardening (issue 23), through the switchboard's real HTTP server on loopback.

What an attacker on the internet could do before, and must not any more: check many passwords at once past
the rate limit, lock every agent out from behind the organiser's reverse proxy, lock a named agent out,
log a desk into their own account from another site, and read TURN credentials as an organiser. The
switchboard's peer in these tests is 127.0.0.1; with ``trusted_proxies: [127.0.0.1]`` the test client
plays the reverse proxy and names the client in ``X-Forwarded-For``, as nginx does.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import threading
from collections import Counter
from typing import Any
from unittest import mock

import aiohttp
import pytest
from aiohttp.test_utils import make_mocked_request
from multidict import CIMultiDict

import switchboard.web
from simulation.switchboard import PASSWORDS, make_config, serve
from simulation.waiting import polled
from switchboard.credentials import hash_password, verify_password
from switchboard.state import MemoryState

BEHIND_PROXY = {"trusted_proxies": ["127.0.0.1"]}
ATTACKER, ANNAS_DESK, BERTILS_DESK = "203.0.113.9", "198.51.100.7", "198.51.100.8"


async def _login(
    sb: Any,
    username: str,
    password: str,
    *,
    client: str | None = None,
    origin: str | None = "configured",
    http: aiohttp.ClientSession | None = None,
) -> tuple[int, dict[str, Any]]:
    """One login as the desk page sends it (JSON, the page's Origin); ``client`` is what the proxy puts in
    ``X-Forwarded-For``; ``origin=None`` sends none."""
    headers = {}
    if origin is not None:
        headers["Origin"] = sb.origin if origin == "configured" else origin
    if client is not None:
        headers["X-Forwarded-For"] = client
    async with (http or sb.session).post(
        f"{sb.base}/api/login", json={"username": username, "password": password}, headers=headers
    ) as r:
        return r.status, await r.json()


# ----------------------------------------------------------------------------------- item 1: rate limit


async def test_forty_guesses_at_once_get_only_max_failures_passwords_checked():
    """Before, every concurrent guess passed the check (failures were counted after scrypt returned)."""
    config = make_config(
        users=[
            {
                "username": "anna",
                "name": "Anna / Kela",
                "role": "agent",
                "producers": ["kela"],
                # a real cost, so the guesses really overlap while they are being checked
                "password_hash": hash_password(PASSWORDS["anna"], n=2**14),
            }
        ]
    )
    async with serve(config) as sb:
        results = await asyncio.gather(*(_login(sb, "anna", f"guess-number-{i:02d}") for i in range(40)))
        statuses = Counter(status for status, _ in results)
        assert statuses == {401: 3, 429: 37}, statuses
        assert all(body["error"] == "rate_limited" for status, body in results if status == 429)


async def test_a_login_flood_neither_fills_the_shared_executor_nor_runs_many_checks_at_once(monkeypatch):
    """Identity validation shares the loop's default executor; logins have their own small one."""
    release = threading.Event()
    lock = threading.Lock()
    running = {"now": 0, "most": 0, "threads": set()}

    def slow_verify(password: str, stored: str) -> bool:
        with lock:
            running["now"] += 1
            running["most"] = max(running["most"], running["now"])
            running["threads"].add(threading.current_thread().name)
        release.wait(60)
        with lock:
            running["now"] -= 1
        return verify_password(password, stored)

    monkeypatch.setattr(switchboard.web, "verify_password", slow_verify)
    config = make_config(login={"max_failures": 100, "window_s": 60, "lockout_s": 60})
    async with serve(config) as sb:
        flood = [asyncio.create_task(_login(sb, f"guest-{i:02d}", "not-a-password")) for i in range(40)]
        try:
            while running["now"] == 0:
                await asyncio.sleep(0.01)
            loop = asyncio.get_running_loop()
            free = loop.run_in_executor(None, lambda: "free")
            done, _ = await asyncio.wait([free], timeout=20)
            assert done, "the loop's default executor stayed full of password checks"
            assert running["most"] <= switchboard.web.LOGIN_VERIFIERS
        finally:
            release.set()
            results = await asyncio.gather(*flood, return_exceptions=True)
    assert [r[0] for r in results] == [401] * 40
    assert running["most"] <= switchboard.web.LOGIN_VERIFIERS
    assert all(name.startswith("login-verify") for name in running["threads"])


async def test_behind_the_proxy_one_attackers_failures_lock_out_only_the_attacker():
    """Before, every login came from the proxy's address: 12 failures (4 × 3) locked every agent out."""
    async with serve(make_config(**BEHIND_PROXY)) as sb:
        for name in ("anna", "bertil", "tulkki", "ops"):
            for _ in range(3):
                assert (await _login(sb, name, "guess-guess-guess", client=ATTACKER))[0] == 401
        status, body = await _login(sb, "nobody", "guess-guess-guess", client=ATTACKER)
        assert status == 429 and body["error"] == "rate_limited"
        assert (await _login(sb, "anna", PASSWORDS["anna"], client=ANNAS_DESK))[0] == 200
        assert (await _login(sb, "bertil", PASSWORDS["bertil"], client=BERTILS_DESK))[0] == 200


async def test_guessing_a_named_agents_password_locks_the_guesser_not_the_agent():
    """Before, three wrong passwords for "anna" from anywhere locked Anna out everywhere."""
    async with serve(make_config(**BEHIND_PROXY)) as sb:
        for _ in range(3):
            assert (await _login(sb, "anna", "guess-guess-guess", client=ATTACKER))[0] == 401
        assert (await _login(sb, "anna", PASSWORDS["anna"], client=ATTACKER))[0] == 429
        status, body = await _login(sb, "anna", PASSWORDS["anna"], client=ANNAS_DESK)
        assert status == 200 and body["name"] == "Anna / Kela"


async def test_forwarded_for_counts_only_when_a_trusted_proxy_wrote_it():
    # The proxy appends the address it saw; what the client itself put in the header is not believed.
    async with serve(make_config(**BEHIND_PROXY)) as sb:
        forged = f"{ANNAS_DESK}, {ATTACKER}"
        for _ in range(3):
            assert (await _login(sb, "anna", "guess-guess-guess", client=forged))[0] == 401
        assert (await _login(sb, "anna", PASSWORDS["anna"], client=forged))[0] == 429
        assert (await _login(sb, "anna", PASSWORDS["anna"], client=ANNAS_DESK))[0] == 200
    # A peer that is not a trusted proxy cannot pick its address by changing the header.
    async with serve(make_config(trusted_proxies=["10.0.0.0/8"])) as sb:
        for i in range(3):
            assert (await _login(sb, "anna", "guess-guess-guess", client=f"192.0.2.{i}"))[0] == 401
        assert (await _login(sb, "anna", PASSWORDS["anna"], client="192.0.2.200"))[0] == 429


def _request_from(peer: str, *forwarded: str) -> Any:
    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: (peer, 443) if name == "peername" else default
    headers = CIMultiDict(("X-Forwarded-For", value) for value in forwarded)
    return make_mocked_request("POST", "/api/login", headers=headers, transport=transport)


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("10.0.0.2", ["198.51.100.7"], "198.51.100.7"),  # one proxy
        ("10.0.0.2", ["203.0.113.9, 10.0.0.3"], "203.0.113.9"),  # two proxies, both trusted
        ("10.0.0.2", ["6.6.6.6, 203.0.113.9"], "203.0.113.9"),  # the client's own entry is not believed
        ("10.0.0.2", ["6.6.6.6", "203.0.113.9"], "203.0.113.9"),  # same, as two header lines
        ("10.0.0.2", ["203.0.113.9:51234"], "203.0.113.9"),  # some proxies add the port
        ("10.0.0.2", ["[2001:db8::7]:443"], "2001:db8::7"),
        ("10.0.0.2", ["2001:db8::7"], "2001:db8::7"),
        ("10.0.0.2", ["not-an-address"], "10.0.0.2"),  # a broken proxy: its own address is all we know
        ("10.0.0.2", [], "10.0.0.2"),
        ("10.0.0.2", ["10.0.0.9"], "10.0.0.9"),  # everything inside: the furthest hop
        ("::ffff:10.0.0.2", ["198.51.100.7"], "198.51.100.7"),  # IPv4 peer on a dual-stack socket
        ("192.0.2.50", ["198.51.100.7"], "192.0.2.50"),  # not a trusted proxy: the header is ignored
    ],
)
def test_the_client_address_is_read_only_from_what_trusted_proxies_wrote(peer, forwarded, client):
    trusted = make_config(trusted_proxies=["10.0.0.0/8"]).proxy_networks
    assert switchboard.web.client_address(_request_from(peer, *forwarded), trusted) == client


async def test_login_records_are_forgotten_when_they_no_longer_count_but_a_recent_lock_is_kept():
    state = MemoryState()
    await state.login_attempt("idle", 100.0, 0.0)
    await state.login_attempt("locked", 100.0, 0.0)
    assert await state.lock_login("locked", 100.0, 60, 3600, 86400) == 160.0
    await state.drop_idle_logins(since=200.0, strikes_since=0.0)
    assert (await state.login_attempt("idle", 300.0, 200.0)).attempts == [300.0]
    assert await state.lock_login("locked", 300.0, 60, 3600, 86400) == 420.0  # second strike: twice as long
    # A day after the last lock ended, the strikes are forgotten: the next lock is the first again.
    assert await state.lock_login("locked", 420.0 + 86401, 60, 3600, 86400) == 420.0 + 86401 + 60
    await state.drop_idle_logins(since=1e9, strikes_since=1e9)
    assert (await state.login_attempt("locked", 1e9, 1e9)).strikes == 0


async def test_each_further_lockout_lasts_twice_as_long_and_a_success_starts_afresh():
    config = make_config(login={"max_failures": 3, "window_s": 60, "lockout_s": 120, "max_lockout_s": 300})
    async with serve(config) as sb:

        async def three_wrong_then_locked_for() -> int:
            for _ in range(3):
                assert (await _login(sb, "anna", "guess-guess-guess"))[0] == 401
            status, body = await _login(sb, "anna", PASSWORDS["anna"])
            assert status == 429
            return int(body["retry_after_s"])

        assert await three_wrong_then_locked_for() == 120
        sb.clock.advance(121)
        assert await three_wrong_then_locked_for() == 240
        sb.clock.advance(241)
        assert await three_wrong_then_locked_for() == 300  # the ceiling
        sb.clock.advance(100)
        status, body = await _login(sb, "anna", PASSWORDS["anna"])
        assert status == 429 and body["retry_after_s"] == 200  # what is left of the lock
        sb.clock.advance(201)
        assert (await _login(sb, "anna", PASSWORDS["anna"]))[0] == 200
        assert await three_wrong_then_locked_for() == 120


async def test_failed_logins_are_logged_with_name_and_address_but_never_the_password(caplog):
    caplog.set_level(logging.INFO, logger="switchboard.web")
    async with serve() as sb:
        for _ in range(3):
            await _login(sb, "anna", "Salainen-arvaus-99")
        await _login(sb, "anna", "Salainen-arvaus-99")
    failed = [r.getMessage() for r in caplog.records if "failed" in r.getMessage()]
    refused = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(failed) == 3 and all("'anna'" in m and "127.0.0.1" in m for m in failed)
    assert refused and "'anna'" in refused[0] and "127.0.0.1" in refused[0]
    assert "Salainen-arvaus-99" not in caplog.text


async def test_an_unknown_name_costs_the_same_scrypt_work_as_a_known_one(monkeypatch):
    """Otherwise the answer's timing tells which usernames exist."""
    costs: list[str] = []

    def recording_verify(password: str, stored: str) -> bool:
        costs.append("$".join(stored.split("$")[1:4]))
        return verify_password(password, stored)

    monkeypatch.setattr(switchboard.web, "verify_password", recording_verify)
    async with serve() as sb:
        await _login(sb, "anna", "guess-guess-guess")
        await _login(sb, "nobody", "guess-guess-guess")
    assert len(costs) == 2 and costs[0] == costs[1]


# ---------------------------------------------------------------------- item 2: login CSRF, cookie, headers


async def test_login_and_logout_need_json_from_the_desk_pages_own_origin():
    async with serve() as sb:
        assert await _login(sb, "anna", PASSWORDS["anna"], origin="https://evil.example") == (
            403,
            {"error": "cross_origin"},
        )
        assert (await _login(sb, "anna", PASSWORDS["anna"], origin=None))[0] == 403
        body = b'{"username": "anna", "password": "%s"}' % PASSWORDS["anna"].encode()
        for content_type in ("text/plain", "application/x-www-form-urlencoded"):
            async with sb.session.post(
                f"{sb.base}/api/login", data=body, headers={"Origin": sb.origin, "Content-Type": content_type}
            ) as r:
                assert r.status == 415 and (await r.json())["error"] == "json_required"
                assert "Set-Cookie" not in r.headers
        http = await sb.login("anna")
        try:
            for headers in ({"Origin": "https://evil.example"}, {"Origin": ""}):
                async with http.post(f"{sb.base}/api/logout", json={}, headers=headers) as r:
                    assert r.status == 403
            async with http.post(f"{sb.base}/api/logout", data=b"") as r:
                assert r.status == 415
            async with http.get(f"{sb.base}/api/me") as r:
                assert r.status == 200  # still logged in
            async with http.post(f"{sb.base}/api/logout", json={}) as r:
                assert r.status == 200
            async with http.get(f"{sb.base}/api/me") as r:
                assert r.status == 401
        finally:
            await http.close()


async def test_desk_socket_needs_the_configured_origin():
    config = make_config(origin="https://desk.example.fi")
    async with serve(config) as sb:
        http = await sb.login("anna")
        try:
            # No Origin at all (a script, or a browser feature that leaves it out), and the switchboard's
            # own address when that is not the configured origin.
            for origin in (None, f"http://127.0.0.1:{sb.server.port}"):
                headers = {"Origin": origin} if origin else {}
                async with aiohttp.ClientSession(cookie_jar=http.cookie_jar) as bare:
                    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                        await bare.ws_connect(f"{sb.base}/ws/desk", headers=headers)
                    assert refused.value.status == 403
            ws = await http.ws_connect(f"{sb.base}/ws/desk")
            await ws.close()
        finally:
            await http.close()


async def test_session_cookie_is_secure_whenever_the_origin_is_https():
    # Behind a TLS-terminating proxy the switchboard itself is reached over plain http.
    for origin, secure in (("https://desk.example.fi", True), ("http://127.0.0.1:8443", False)):
        async with serve(make_config(origin=origin)) as sb:
            async with sb.session.post(
                f"{sb.base}/api/login",
                json={"username": "anna", "password": PASSWORDS["anna"]},
                headers={"Origin": origin},
            ) as r:
                assert r.status == 200
                cookie = r.headers["Set-Cookie"]
            assert ("Secure" in cookie) is secure and "HttpOnly" in cookie and "SameSite=Strict" in cookie


async def test_pages_and_answers_carry_the_security_headers():
    async with serve(make_config(origin="https://desk.example.fi")) as sb:
        for path in ("/", "/organiser", "/static/desk.js", "/api/me", "/healthz"):
            async with sb.session.get(f"{sb.base}{path}") as r:
                assert r.headers["X-Content-Type-Options"] == "nosniff", path
                assert r.headers["Strict-Transport-Security"].startswith("max-age="), path
        async with sb.session.get(f"{sb.base}/") as r:
            csp = dict(d.strip().split(" ", 1) for d in r.headers["Content-Security-Policy"].split(";"))
        assert csp["connect-src"].split() == ["'self'", "blob:"]
    async with serve(make_config(origin="http://127.0.0.1:8443")) as sb, sb.session.get(f"{sb.base}/") as r:
        assert "Strict-Transport-Security" not in r.headers  # plain http (the demo): HSTS means nothing
        assert r.headers["X-Content-Type-Options"] == "nosniff"


# ---------------------------------------------------------------------------- item 12: password hashes


def test_new_desk_password_hashes_cost_n_2_17_and_older_hashes_still_verify():
    made = hash_password("uusi-hyvä-salasana")
    scheme, n, r, p, salt, digest = made.split("$")
    assert (scheme, int(n), int(r), int(p)) == ("scrypt", 2**17, 8, 1)
    assert len(base64.b64decode(salt)) == 16 and len(base64.b64decode(digest)) == 32
    assert verify_password("uusi-hyvä-salasana", made)
    assert not verify_password("uusi-hyvä-salasanA", made)
    older = hash_password("vanha-hyvä-salasana", n=16384)
    assert verify_password("vanha-hyvä-salasana", older)


async def test_the_real_desk_in_chromium_logs_in_connects_and_logs_out(browser):
    """The desk page itself still works under the stricter rules: its login (JSON, its own Origin), its
    socket under ``connect-src 'self'`` (no ``ws:`` any more), and its logout, which must end the session
    on the switchboard and not only on the page. The origin is ``http://127.0.0.1:PORT``, as in the demo."""
    async with serve() as sb:
        await browser.acall("open", name="security")
        try:
            assert await browser.acall("goto", name="security", url=sb.base + "/") == 200
            await browser.acall("evaluate", name="security", expression="localStorage.setItem('etapiste.lang', 'en')")
            await browser.acall("goto", name="security", url=sb.base + "/")
            await browser.acall("fill", name="security", selector="#username", value="anna")
            await browser.acall("fill", name="security", selector="#password", value=PASSWORDS["anna"])
            await browser.acall("click", name="security", selector="#login-button")
            await browser.acall("waitFor", name="security", selector="#queue-view")
            await browser.acall(
                "waitForFunction", name="security", expression="desk.ws && desk.ws.readyState === WebSocket.OPEN"
            )
            # The page sees its socket open a moment before the switchboard has the agent in its hub.
            await polled(
                lambda: [part.role for part in sb.hub.participants.values()] == ["agent"],
                "the switchboard has the desk's agent, and no one else, connected",
            )
            await browser.acall("click", name="security", selector="#logout")
            await browser.acall("waitFor", name="security", selector="#login-view")
            status = "fetch('/api/me', {credentials: 'same-origin'}).then((r) => r.status)"
            assert await browser.acall("evaluate", name="security", expression=status) == 401
        finally:
            await browser.acall("close", name="security")
