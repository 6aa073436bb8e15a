"""Language routing and the interpreter need on the real desk page in headless Chromium, through the real
switchboard (issue 21, items 5 and 6): a Swedish-speaking customer reaches the agent who ticked Swedish at
login first and everyone else after the queue's wait (on the switchboard's simulated clock); the waiting
entry says the customer needs an interpreter, and once answered one press invites one of that language."""

from __future__ import annotations

import pytest

from etapiste import protocol as p
from simulation.switchboard import POINT_CREDENTIALS, make_config, serve
from tests.browser.point import TestPoint
from tests.browser.test_desk import login, wait_in_page

pytestmark = pytest.mark.usefixtures("loopback_ice")

ENTRY = "li[data-ticket]"


async def _entries(browser, page: str) -> int:
    return int(await browser.acall("evaluate", name=page, expression=f"document.querySelectorAll('{ENTRY}').length"))


async def test_a_swedish_customer_needing_an_interpreter_goes_to_the_swedish_speaker_first_then_to_anyone(browser):
    config = make_config()
    users = [u.model_copy(update={"languages": ["ar", "fi-sign"]}) if u.username == "tulkki" else u
             for u in config.users]
    async with serve(config.model_copy(update={"users": users})) as sb:
        point = TestPoint(sb.base, "oulu-kirjasto", POINT_CREDENTIALS["oulu-kirjasto"])
        try:
            await login(browser, "anna", sb.base, "anna")  # ticks nothing: Finnish, as configured
            await browser.acall("open", name="bertil")
            await browser.acall("goto", name="bertil", url=sb.base + "/")
            await browser.acall("evaluate", name="bertil", expression="localStorage.setItem('etapiste.lang', 'en')")
            await browser.acall("goto", name="bertil", url=sb.base + "/")
            await browser.acall("fill", name="bertil", selector="#username", value="bertil")
            await browser.acall("fill", name="bertil", selector="#password", value="bertils-losen-2")
            await browser.acall("click", name="bertil", selector="#serve-fi")
            await browser.acall("click", name="bertil", selector="#serve-sv")
            await browser.acall("click", name="bertil", selector="#login-button")
            await login(browser, "tulkki", sb.base, "tulkki")
            for page, view in (("anna", "#queue-view"), ("bertil", "#queue-view"), ("tulkki", "#invite-view")):
                await browser.acall("waitFor", name=page, selector=view)
            await point.connect()
            await point.send(p.QueueRequest(producer="kela", queue="kela-general", language="sv",
                                            interpreter="fi-sign"))

            await wait_in_page(browser, "bertil", f"document.querySelector('{ENTRY}') !== null")
            need = await browser.acall("evaluate", name="bertil",
                                       expression=f"document.querySelector('{ENTRY} .interpreter-need').textContent")
            assert need == "Needs an interpreter: Finnish Sign Language"
            entry = await browser.acall("evaluate", name="bertil",
                                        expression=f"document.querySelector('{ENTRY} span').textContent")
            assert "SV" in entry and "Offered first to speakers of the language for 120 s more" in entry
            assert await _entries(browser, "anna") == 0  # Anna does not speak Swedish: not hers yet

            sb.clock.advance(121)
            await sb.hub.sweep()
            await wait_in_page(browser, "anna", f"document.querySelector('{ENTRY}') !== null")
            await browser.acall("click", name="anna", selector=f"{ENTRY} button.answer")
            await browser.acall("waitFor", name="anna", selector="#invite-needed")
            label = await browser.acall("evaluate", name="anna",
                                        expression="document.querySelector('#invite-needed').textContent")
            assert label == "Invite the interpreter: Finnish Sign Language"
            await browser.acall("click", name="anna", selector="#invite-needed")
            await browser.acall("waitFor", name="tulkki", selector="button.accept-invite")
            invites = await sb.hub.state.invites()
            assert [i.language for i in invites] == ["fi-sign"]
        finally:
            await point.close()
            for page in ("anna", "bertil", "tulkki"):
                await browser.acall("close", name=page)
