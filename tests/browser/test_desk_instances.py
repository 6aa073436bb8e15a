"""The real desk in Chromium on the switchboard as a national service (issue 17): two ``etapiste switchboard``
instances on one Redis behind Debian's HAProxy, the agent's page reaching them only through HAProxy. The
instance holding the desk's socket is killed with SIGKILL mid-call: the page reconnects by itself (its own
back-off, its ``resume``), HAProxy sends it to the other instance, and it is back in the same call while the
media, peer to peer, never stopped. The point (aiortc, through HAProxy too) never hears of it."""

from __future__ import annotations

import asyncio

import pytest

from etapiste import protocol as p
from simulation.services.haproxy import SwitchboardCluster
from simulation.switchboard import POINT_CREDENTIALS
from tests.browser.point import TestPoint
from tests.browser.test_desk import frames_decoded, login, until_frames, wait_in_page

pytestmark = [pytest.mark.services, pytest.mark.usefixtures("loopback_ice")]

PAGE = "ha-desk"


async def test_the_desk_whose_instance_is_killed_mid_call_comes_back_into_the_call_through_haproxy(
    browser, switchboard_cluster: SwitchboardCluster
):
    cluster = switchboard_cluster
    point = TestPoint(cluster.base, "oulu-kirjasto", POINT_CREDENTIALS["oulu-kirjasto"])
    try:
        await login(browser, PAGE, cluster.base, "anna")
        await browser.acall("waitFor", name=PAGE, selector="#queue-view")
        await point.connect()
        await point.send(p.QueueRequest(producer="kela", queue="kela-general"))
        await wait_in_page(browser, PAGE, "document.querySelector('li[data-ticket] button.answer') !== null")
        await browser.acall("click", name=PAGE, selector="li[data-ticket] button.answer")
        assert await until_frames(browser, PAGE, timeout_s=30) > 0
        call = point.seen("call.start")[0].call
        agent = point.seen("call.start")[0].offer_to[0]
        await point.until(lambda: point.frames[agent]["video"] > 5, what="the agent's video at the point")

        you = await browser.acall("evaluate", name=PAGE, expression="desk.you")
        dead = cluster.holder(f"desk {you} online", f"agent {you} came back")
        desk_before, point_before = await frames_decoded(browser, PAGE), point.frames[agent]["video"]
        cluster.instance(dead).kill()

        # The page is welcomed back by the other instance, into the same call, as the same participant.
        back = f"agent {you} came back (call {call}"
        await point.until(
            lambda: any(back in i.log_text() for i in cluster.instances if i.running()), 40, "the desk back in its call"
        )
        assert cluster.holder(f"desk {you} online", f"agent {you} came back") != dead
        await wait_in_page(browser, PAGE, f"desk.call !== null && desk.call.id === {call!r} && desk.you === {you!r}")
        # Media went on: both ends keep decoding the other's video.
        await point.until(lambda: point.frames[agent]["video"] > point_before + 30, 30, "the agent's video went on")
        for _ in range(100):
            if await frames_decoded(browser, PAGE) > desk_before + 30:
                break
            await asyncio.sleep(0.2)
        else:
            raise AssertionError("the desk stopped decoding the customer's video")
        # The agent's page still serves the call, and the customer was never told anything had happened.
        assert await browser.acall("visible", name=PAGE, selector="#call-view")
        assert not point.seen("call.ended")
        assert not point.seen("queue.left")
    finally:
        await point.close()
        await browser.acall("close", name=PAGE)
