"""Booking on the real desk page in headless Chromium, through the real switchboard (issue 22, items 3 and 5): Anna
(Kela) chooses the point, the service and the day, picks a free time and reads the code; the slot is gone from the
free times; her list shows the booking and her calendar feed has it without the code. The point (aiortc) checks
in with a wrong code (refused) and then the right one: Anna's desk alerts her, the waiting entry is marked as her
appointment, she answers and sees the point's picture. Nothing of the customer was ever on the desk's booking.

``DESK_SCREENSHOTS=docs/screenshots`` also saves the booking screen with its code as a picture."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from etapiste import protocol as p
from simulation.clock import FakeClock
from simulation.switchboard import POINT_CREDENTIALS, serve
from tests.browser.point import TestPoint
from tests.browser.test_desk import login, until_frames, wait_in_page

pytestmark = pytest.mark.usefixtures("loopback_ice")

HELSINKI = ZoneInfo("Europe/Helsinki")
ENTRY = "li[data-ticket]"


async def _js(browser, page: str, expression: str):
    return await browser.acall("evaluate", name=page, expression=expression)


async def test_an_agent_books_at_the_desk_and_the_customer_checks_in_at_the_point_with_the_code(browser):
    clock = FakeClock(dt.datetime(2026, 12, 7, 8, 50, tzinfo=HELSINKI))
    async with serve(clock=clock) as sb:
        point = TestPoint(sb.base, "oulu-kirjasto", POINT_CREDENTIALS["oulu-kirjasto"])
        try:
            await login(browser, "anna", sb.base, "anna")
            await browser.acall("waitFor", name="anna", selector="#appointments-view")
            await wait_in_page(browser, "anna", "window.appt && appt.loaded")
            assert await _js(browser, "anna", "document.getElementById('booking-day').value") == "2026-12-07"
            await _js(browser, "anna", "document.getElementById('booking-point').value = 'oulu-kirjasto'")
            await browser.acall("click", name="anna", selector="#booking-show")
            await wait_in_page(browser, "anna", "document.querySelector('#booking-slots button.slot') !== null")
            nine = dt.datetime(2026, 12, 7, 9, 0, tzinfo=HELSINKI).timestamp()
            first = await _js(browser, "anna", "document.querySelector('#booking-slots button.slot').textContent")
            assert first == "09:00"  # the first free time after now (08:50), every 30 minutes
            await browser.acall("click", name="anna", selector=f"#booking-slots button[data-start='{int(nine)}']")
            await wait_in_page(browser, "anna", "document.getElementById('booking-code').textContent.length === 6")
            code = await _js(browser, "anna", "document.getElementById('booking-code').textContent")
            result = await _js(browser, "anna", "document.getElementById('booking-result').textContent")
            assert code in result and "Oulu library" in result
            await wait_in_page(browser, "anna", "document.querySelectorAll('#my-appointments li').length === 1")
            folder = os.environ.get("DESK_SCREENSHOTS")
            if folder:
                await browser.acall("screenshot", name="anna", path=str(Path(folder).resolve() / "desk-booking-en.png"))

            # The time is no longer free, and the calendar feed lists it without the code.
            await browser.acall("click", name="anna", selector="#booking-show")
            await wait_in_page(browser, "anna", "document.querySelector('#booking-slots button.slot') !== null")
            now_first = await _js(browser, "anna", "document.querySelector('#booking-slots button.slot').textContent")
            assert now_first == "09:30"
            feed = await _js(browser, "anna", "document.getElementById('calendar-link').getAttribute('href')")
            async with aiohttp.ClientSession() as http, http.get(sb.base + feed) as r:
                ics = await r.text()
            assert "DTSTART:20261207T070000Z" in ics and code not in ics

            await point.connect()
            await point.send(p.AppointmentCheckIn(code="000000" if code != "000000" else "000001"))
            refused = await point.until(lambda: point.seen("appointment.refused"), what="the wrong code refused")
            assert refused[0].reason == "wrong_code"
            await point.send(p.AppointmentCheckIn(code=code))
            checked = await point.until(lambda: point.seen("appointment.checked_in"), what="the check-in")
            assert checked[0].agent_online

            await wait_in_page(browser, "anna", "!document.getElementById('appointment-alert').hidden")
            alert = await _js(browser, "anna", "document.getElementById('appointment-alert').textContent")
            assert alert == "Your booked customer (09:00) has checked in: Oulu library"
            await wait_in_page(browser, "anna", f"document.querySelector('{ENTRY} .appointment-mark') !== null")
            assert await _js(browser, "anna", f"document.querySelector('{ENTRY} .appointment-mark').textContent") == (
                "Appointment 09:00")
            await browser.acall("click", name="anna", selector=f"{ENTRY} button.answer")
            await browser.acall("waitFor", name="anna", selector="#call-view")
            await until_frames(browser, "anna")
            mine = await _js(browser, "anna", "document.querySelector('#my-appointments li').textContent")
            assert "checked in" in mine
        finally:
            await point.close()
