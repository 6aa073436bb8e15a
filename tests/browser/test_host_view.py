"""The host view (issue 21, item 2) in headless Chromium through the real switchboard: a host's staff member
logs in at the desk's login and lands on the host view; a printer fault of the room appears with a browser
notification and a sound, "I'm on it" reaches the point, a help request notifies too, and out of service set
from the page reaches the point (and clearing it too). ``ETAPISTE_SCREENSHOTS=1`` also writes
docs/screenshots/host-view-{fi,en}.png."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

from etapiste import protocol as p
from simulation.clock import FakeClock
from simulation.switchboard import PASSWORDS, Client, Switchboard, make_config, serve
from tests.switchboard.test_host_view import with_hours

ROOT = Path(__file__).resolve().parents[2]
PAGE = "host"
OULU = '[data-point="oulu-kirjasto"]'


async def _js(browser, expression: str):
    return await browser.acall("evaluate", name=PAGE, expression=expression)


async def _until(browser, expression: str, timeout_ms: int = 15000):
    return await browser.acall("waitForFunction", name=PAGE, expression=expression, timeout=timeout_ms)


async def _text(browser, selector: str) -> str:
    return str(await browser.acall("text", name=PAGE, selector=selector))


async def _state_is(browser, point_selector: str, words: str) -> None:
    await _until(browser, f"document.querySelector('{point_selector} .state')?.textContent === {json.dumps(words)}")


async def _open_host_view(browser, sb: Switchboard, username: str, lang: str = "en") -> None:
    await browser.acall("open", name=PAGE, permissions=["notifications"], viewport={"width": 1280, "height": 900})
    assert await browser.acall("goto", name=PAGE, url=sb.base + "/") == 200
    await _js(browser, f"localStorage.setItem('etapiste.lang', '{lang}')")
    await browser.acall("goto", name=PAGE, url=sb.base + "/")
    await browser.acall("fill", name=PAGE, selector="#username", value=username)
    await browser.acall("fill", name=PAGE, selector="#password", value=PASSWORDS[username])
    await browser.acall("click", name=PAGE, selector="#login-button")
    await browser.acall("waitFor", name=PAGE, selector=f"{OULU} .state")  # the desk's login sent us to /host


async def _point(sb: Switchboard) -> Client:
    point = await sb.point("oulu-kirjasto")
    await point.expect("welcome")
    await point.send(p.RoomStatus())
    return point


async def test_a_fault_notifies_im_on_it_reaches_the_point_and_out_of_service_is_set_from_the_page(browser):
    async with serve(make_config(**with_hours("oulu-kirjasto", "08:00-20:00"))) as sb:
        point = await _point(sb)
        try:
            await _open_host_view(browser, sb, "liisa")
            assert await _js(browser, "location.pathname") == "/host"
            assert await _text(browser, "#who") == "Liisa / Oulu library"
            await _state_is(browser, OULU, "Free")
            await _state_is(browser, '[data-point="kemi-kirjasto"]', "Offline")
            assert (await _text(browser, f"{OULU} .hours")).startswith("Open today 08:00–20:00")  # now: either
            assert await _js(browser, "document.querySelectorAll('[data-point]').length") == 2  # not Inari's room
            assert await _js(browser, "document.querySelector('[data-point=\"kemi-kirjasto\"] .set-out').disabled")
            await browser.acall("click", name=PAGE, selector="#enable-alerts")
            assert await _js(browser, "Notification.permission") == "granted"

            # The printer runs out of paper: the room's card lists it, with a notification and a sound.
            await point.send(p.RoomStatus(faults=[p.RoomFault(device="printer", code="out_of_paper")]))
            await browser.acall("waitFor", name=PAGE, selector=f"{OULU} .alerts li.device")
            fault = await _text(browser, f"{OULU} .alerts li.device .what")
            assert fault.startswith("Printer: Out of paper")
            notified = await _js(browser, "host.notified")
            assert notified[-1]["title"] == "Fault: Oulu library" and "Out of paper" in notified[-1]["body"]
            assert await _js(browser, "host.sounds") >= 1
            assert (await _js(browser, "document.title")).startswith("(1) ")

            # "I'm on it": the point hears of it (its customer is told staff are coming), the page says who.
            await browser.acall("click", name=PAGE, selector=f"{OULU} .alerts li.device .on-it")
            coming = await point.expect("room.staff_coming")
            assert (coming.kind, coming.device) == ("device", "printer")
            await browser.acall("waitFor", name=PAGE, selector=f"{OULU} .alerts li.taken")
            assert await _text(browser, f"{OULU} .alerts li.taken .who") == "Liisa / Oulu library is on it"

            # A customer asks for help: a second notification, a second sound.
            sounds = await _js(browser, "host.sounds")
            await point.send(p.RoomHelp())
            await browser.acall("waitFor", name=PAGE, selector=f"{OULU} .alerts li.help")
            assert (await _js(browser, "host.notified"))[-1]["title"] == "A customer asks for help: Oulu library"
            assert await _js(browser, "host.sounds") == sounds + 1
            if os.environ.get("ETAPISTE_SCREENSHOTS"):
                await browser.acall("screenshot", name=PAGE, path=str(ROOT / "docs/screenshots/host-view-en.png"))
                await _js(browser, "document.getElementById('lang').value = 'fi'; "
                                   "document.getElementById('lang').dispatchEvent(new Event('change'))")  # fmt: skip
                await _state_is(browser, OULU, "Vapaa")
                await browser.acall("screenshot", name=PAGE, path=str(ROOT / "docs/screenshots/host-view-fi.png"))
                await _js(browser, "document.getElementById('lang').value = 'en'; "
                                   "document.getElementById('lang').dispatchEvent(new Event('change'))")  # fmt: skip
                await _state_is(browser, OULU, "Free")

            # Out of service from the page reaches the point, with the staff's message.
            message = "Printer broken: please use the service desk"
            await browser.acall("fill", name=PAGE, selector=f"{OULU} .service-message", value=message)
            await browser.acall("click", name=PAGE, selector=f"{OULU} .set-out")
            told = await point.expect("room.service")
            assert (told.on, told.message) == (True, message)
            printer = p.RoomFault(device="printer", code="out_of_paper")
            await point.send(p.RoomStatus(out_of_service=True, faults=[printer]))
            await _state_is(browser, OULU, "Out of service")
            assert await browser.acall("visible", name=PAGE, selector=f"{OULU} .set-in")
            assert not await browser.acall("visible", name=PAGE, selector=f"{OULU} .set-out")

            await browser.acall("click", name=PAGE, selector=f"{OULU} .set-in")
            told = await point.expect("room.service")
            assert (told.on, told.message) == (False, None)
            await point.send(p.RoomStatus(out_of_service=False))
            await _state_is(browser, OULU, "Free")
            assert await _js(browser, f"document.querySelectorAll('{OULU} .alerts li.device').length") == 0
        finally:
            await browser.acall("close", name=PAGE)
            await point.ws.close()


async def test_the_room_state_follows_a_customer_queueing_and_leaving(browser):
    async with serve() as sb:
        point = await _point(sb)
        try:
            await _open_host_view(browser, sb, "liisa", lang="fi")
            await _state_is(browser, OULU, "Vapaa")
            await point.send(p.QueueRequest(producer="kela", queue="kela-general", language="fi"))
            await point.expect("queue.position")
            await _state_is(browser, OULU, "Asiakas odottaa vuoroaan")
            await point.send(p.QueueCancel())
            await _state_is(browser, OULU, "Vapaa")
            await point.ws.close()
            await _state_is(browser, OULU, "Ei yhteyttä")
        finally:
            await browser.acall("close", name=PAGE)


async def test_a_room_open_today_says_when_it_is_closed_now(browser):
    """The switchboard's ``open_now``: after the last opening period the page says the room is closed now."""
    clock = FakeClock(dt.datetime(2026, 12, 3, 17, 50, tzinfo=dt.UTC))  # 19:50 in Helsinki, open until 20:00
    async with serve(make_config(**with_hours("oulu-kirjasto", "08:00-20:00")), clock=clock) as sb:
        try:
            await _open_host_view(browser, sb, "liisa")
            hours = f"document.querySelector('{OULU} .hours')?.textContent"
            await _until(browser, f"{hours} === 'Open today 08:00–20:00'")
            clock.advance(15 * 60)  # 20:05: still today's hours, but closed at this moment
            await _until(browser, f"{hours} === 'Open today 08:00–20:00 – closed now'")
            await _js(browser, "document.getElementById('lang').value = 'fi'; "
                               "document.getElementById('lang').dispatchEvent(new Event('change'))")  # fmt: skip
            await _until(browser, f"{hours} === 'Avoinna tänään 08:00–20:00 – nyt suljettu'")
        finally:
            await browser.acall("close", name=PAGE)
