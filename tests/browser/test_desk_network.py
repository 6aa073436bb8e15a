"""The desk in Chromium through a real (private) coturn, and the pages around the call: login errors,
session expiry, and the organiser's view."""

from __future__ import annotations

import asyncio

import pytest

from etapiste import protocol as p
from simulation.switchboard import POINT_CREDENTIALS, make_config, serve
from tests.browser.point import TestPoint
from tests.browser.test_desk import login, until_frames, wait_in_page

REMOTE_CANDIDATE_TYPE = """(async () => {
  const pc = desk.pcs.get(desk.call.point);
  const stats = await pc.getStats();
  let pairId = null;
  stats.forEach((r) => {
    if (r.type === 'transport' && r.selectedCandidatePairId) pairId = r.selectedCandidatePairId;
  });
  if (!pairId) return null;
  const pair = stats.get(pairId);
  return stats.get(pair.remoteCandidateId).candidateType;
})()"""


pytestmark = pytest.mark.usefixtures("loopback_ice")


async def test_call_media_flows_through_turn_with_credentials_from_the_switchboard(browser, coturn):
    config = make_config(turn={"urls": [coturn.url], "secret": coturn.secret, "ttl_s": 600})
    async with serve(config) as sb:
        point = TestPoint(sb.base, "oulu-kirjasto", POINT_CREDENTIALS["oulu-kirjasto"], relay_only=True)
        try:
            await login(browser, "turn", sb.base, "anna")
            await browser.acall("waitFor", name="turn", selector="#queue-view")
            welcome = await point.connect()
            assert welcome.ice_servers[0].username.endswith(":point-oulu-kirjasto")
            await point.send(p.QueueRequest(producer="kela", queue="kela-general"))
            await browser.acall("click", name="turn", selector="li[data-ticket] button.answer")
            assert await until_frames(browser, "turn", timeout_s=30) > 0
            agent_id = point.seen("call.start")[0].offer_to[0]
            await point.until(lambda: point.frames[agent_id]["video"] > 5, what="video from the agent via TURN")
            # The point offered only relayed candidates, so the browser talks to coturn's relay address.
            assert await browser.acall("evaluate", name="turn", expression=REMOTE_CANDIDATE_TYPE) == "relay"
        finally:
            await point.close()
            await browser.acall("close", name="turn")


async def test_wrong_password_and_expired_session_are_explained_on_the_page(browser):
    async with serve() as sb:
        try:
            await browser.acall("open", name="login")
            await browser.acall("goto", name="login", url=sb.base + "/")
            await browser.acall("evaluate", name="login", expression="localStorage.setItem('etapiste.lang', 'fi')")
            await browser.acall("goto", name="login", url=sb.base + "/")
            await browser.acall("fill", name="login", selector="#username", value="anna")
            await browser.acall("fill", name="login", selector="#password", value="väärä-salasana")
            await browser.acall("click", name="login", selector="#login-button")
            await wait_in_page(browser, "login", "document.getElementById('login-error').textContent.length > 0")
            error = await browser.acall("text", name="login", selector="#login-error")
            assert error == "Väärä käyttäjätunnus tai salasana."
            assert not await browser.acall("visible", name="login", selector="#queue-view")

            await browser.acall("fill", name="login", selector="#password", value="anna-salasana-1")
            await browser.acall("click", name="login", selector="#login-button")
            await browser.acall("waitFor", name="login", selector="#queue-view")
            sb.clock.advance(3601)
            await sb.hub.sweep()
            await browser.acall("waitFor", name="login", selector="#login-view")
            assert await browser.acall("text", name="login", selector="#login-error") == (
                "Istunto on päättynyt. Kirjaudu uudelleen."
            )
        finally:
            await browser.acall("close", name="login")


async def test_organiser_sees_points_queues_and_calls_but_no_personal_data(browser):
    async with serve() as sb:
        point = TestPoint(sb.base, "inari-kirjasto", POINT_CREDENTIALS["inari-kirjasto"])
        try:
            await point.connect()
            await point.send(p.QueueRequest(producer="kela", queue="kela-general", language="en"))
            await point.until(lambda: point.seen("queue.position"), what="position")
            await login(browser, "ops", sb.base, "ops")
            await wait_in_page(browser, "ops", "location.pathname === '/organiser'")
            await wait_in_page(browser, "ops", "document.getElementById('online-count').textContent === '1 / 3'")
            row = await browser.acall("text", name="ops", selector="tr[data-queue='kela-general']")
            assert row.split("\t")[:4] == ["kela-general", "kela", "yes", "1"]
            assert "queued" in await browser.acall("text", name="ops", selector="tr[data-point='inari-kirjasto']")
            await point.send(p.QueueCancel())
            await asyncio.sleep(0)
            await wait_in_page(
                browser,
                "ops",
                "document.querySelector(\"tr[data-point='inari-kirjasto']\").textContent.includes('idle')",
            )
            page = await browser.acall("text", name="ops", selector="main")
            assert "Anna" not in page and "ticket" not in page.lower()
        finally:
            await point.close()
            await browser.acall("close", name="ops")


async def test_a_queued_point_whose_connection_drops_is_shown_as_held_to_the_agent_and_the_organiser(browser):
    async with serve() as sb:
        point = TestPoint(sb.base, "inari-kirjasto", POINT_CREDENTIALS["inari-kirjasto"])
        try:
            await login(browser, "held-agent", sb.base, "anna")
            await login(browser, "held-ops", sb.base, "ops")
            await point.connect()
            await point.send(p.QueueRequest(producer="kela", queue="kela-general", language="fi"))
            await point.until(lambda: point.seen("queue.position"), what="position")
            await wait_in_page(browser, "held-agent", "document.querySelector('li[data-ticket]') !== null")
            await point.close()  # the point's connection drops; its place is held
            await wait_in_page(
                browser, "held-agent",
                "document.querySelector('li[data-ticket]').textContent.includes('connection interrupted, place held')",
            )
            await wait_in_page(
                browser, "held-ops",
                "document.querySelector(\"tr[data-point='inari-kirjasto']\").textContent.includes('reconnecting')",
            )
        finally:
            await browser.acall("close", name="held-agent")
            await browser.acall("close", name="held-ops")
