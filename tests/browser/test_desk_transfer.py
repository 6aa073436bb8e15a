"""Transfer on the real desk page in headless Chromium, through the real switchboard (issue 22, items 1 and 5):
Anna (Kela) answers a customer, opens the transfer dialog, is told in plain words that a closed queue cannot
take the customer (the call goes on), transfers them to Migri with a reason from the list; Maija (Migri) sees
the waiting entry marked as a transfer from Kela with that reason, answers, and gets the point's picture.

``DESK_SCREENSHOTS=docs/screenshots`` also saves the dialog, the refusal and the marked entry as pictures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from etapiste import protocol as p
from simulation.switchboard import POINT_CREDENTIALS, serve
from tests.browser.point import TestPoint
from tests.browser.test_desk import login, until_frames, wait_in_page

pytestmark = pytest.mark.usefixtures("loopback_ice")

ENTRY = "li[data-ticket]"


async def _picture(browser, page: str, name: str) -> None:
    folder = os.environ.get("DESK_SCREENSHOTS")
    if folder:
        path = Path(folder).resolve() / f"{name}.png"
        await browser.acall("screenshot", name=page, path=str(path))


async def _text(browser, page: str, selector: str) -> str:
    return str(await browser.acall("evaluate", name=page,
                                   expression=f"document.querySelector('{selector}').textContent"))


async def test_an_agent_transfers_a_customer_to_another_producer_who_sees_it_marked_and_answers(browser):
    async with serve() as sb:
        point = TestPoint(sb.base, "oulu-kirjasto", POINT_CREDENTIALS["oulu-kirjasto"])
        try:
            await login(browser, "anna", sb.base, "anna")
            await login(browser, "maija", sb.base, "maija")
            for page in ("anna", "maija"):
                await browser.acall("waitFor", name=page, selector="#queue-view")
            await point.connect()
            await point.send(p.QueueRequest(producer="kela", queue="kela-general", language="fi"))
            await wait_in_page(browser, "anna", f"document.querySelector('{ENTRY}') !== null")
            await browser.acall("click", name="anna", selector=f"{ENTRY} button.answer")
            await browser.acall("waitFor", name="anna", selector="#call-view")
            first = await point.until(lambda: point.call, what="the first call")

            # The dialog lists the queues with what would take the customer now; the call's own is left out.
            await browser.acall("click", name="anna", selector="#transfer")
            await browser.acall("waitFor", name="anna", selector="#transfer-dialog")
            await wait_in_page(browser, "anna", "!document.getElementById('transfer-confirm').disabled")
            options = await browser.acall("evaluate", name="anna", expression=(
                "[...document.querySelectorAll('#transfer-queue option')].map((o) => [o.value, o.textContent])"))
            assert dict(options) == {"kela-closed": "Kela · kela-closed (closed)",
                                     "migri-general": "Migri · migri-general"}
            assert await browser.acall("evaluate", name="anna",
                                       expression="document.getElementById('transfer-queue').value") == "migri-general"
            await _picture(browser, "anna", "desk-transfer-dialog-en")

            # A closed queue: refused in plain words before anything moves; the call goes on.
            await browser.acall("evaluate", name="anna",
                                expression="document.getElementById('transfer-queue').value = 'kela-closed'")
            await browser.acall("click", name="anna", selector="#transfer-confirm")
            await wait_in_page(browser, "anna", "document.getElementById('transfer-error').textContent !== ''")
            assert await _text(browser, "anna", "#transfer-error") == (
                "That queue is closed now. The customer was not moved; the call goes on.")
            await _picture(browser, "anna", "desk-transfer-refused-en")
            assert await browser.acall("visible", name="anna", selector="#call-view")
            assert not point.seen("queue.transferred") and point.call == first

            # To Migri, because a specialist is needed.
            await browser.acall("evaluate", name="anna",
                                expression="document.getElementById('transfer-queue').value = 'migri-general'")
            await browser.acall("evaluate", name="anna",
                                expression="document.getElementById('transfer-reason').value = 'specialist_needed'")
            await browser.acall("click", name="anna", selector="#transfer-confirm")
            told = await point.until(lambda: next(iter(point.seen("queue.transferred")), None), what="the transfer")
            assert (told.producer, told.from_producer) == ("migri", "kela")
            await wait_in_page(browser, "anna", "document.getElementById('call-view').hidden")
            assert await _text(browser, "anna", "#message") == (
                "The customer was transferred to Migri. They keep their place in the queue.")
            assert not await browser.acall("visible", name="anna", selector="#transfer-dialog")

            # Maija sees a transfer from Kela and why; she answers and the customer's picture arrives.
            await wait_in_page(browser, "maija", f"document.querySelector('{ENTRY} .transfer-mark') !== null")
            assert await _text(browser, "maija", f"{ENTRY} .transfer-mark") == (
                "Transferred from Kela – A specialist is needed")
            await _picture(browser, "maija", "desk-transferred-entry-en")
            await browser.acall("click", name="maija", selector=f"{ENTRY} button.answer")
            await browser.acall("waitFor", name="maija", selector="#call-view")
            second = await point.until(lambda: point.call if point.call != first else None, what="the second call")
            assert second != first
            assert await until_frames(browser, "maija") > 0
        finally:
            await point.close()
            for page in ("anna", "maija"):
                await browser.acall("close", name=page)
