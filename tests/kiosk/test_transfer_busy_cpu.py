"""A document over a call on a starved processor: slower, never lost (issue 18, "a transfer survives a busy CPU").

The call's process shares one core with busy loops of the same priority (pinned to that core, so the test starves
itself and not the rest of the machine): it gets a fraction of the core for the call's video both ways, its
data channel and the document. The bench's documents scenario measures how long that takes; here only the outcome
counts: the scan reaches the agent whole and acknowledged, the printout reaches the point whole, and the call is
still up afterwards. A transfer bound that counted seconds instead of progress would fail here."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from etapiste import protocol as p
from kiosk.call import PrintRequested, RttReceived
from simulation.call import connected_call
from simulation.documents import pdf_of_size
from simulation.switchboard import serve

pytestmark = pytest.mark.usefixtures("loopback_ice")

#: Busy loops sharing the core: the call's process gets about a third of it. A 5 MiB scan with video both ways
#: took 4 s on a free core, 53 s at a quarter and 217 s at a sixth, delivered each time (this test's steps in a
#: script, 2026-12-03); here the documents are small enough to keep the test near 15 s. With the sender's answer
#: bound cut to 2 s it fails with ``no_answer``.
HOGS = 2


@pytest.fixture
def starved_core() -> Iterator[int]:
    """Pin this thread (and the threads it starts: aiortc's encoders, the loop's executor) to one core with
    :data:`HOGS` busy loops; put everything back after."""
    before = os.sched_getaffinity(0)
    core = min(before)
    hogs = [
        subprocess.Popen(["taskset", "-c", str(core), sys.executable, "-c", "while True: pass"]) for _ in range(HOGS)
    ]
    os.sched_setaffinity(0, {core})
    try:
        yield core
    finally:
        os.sched_setaffinity(0, before)
        for hog in hogs:
            hog.kill()
            hog.wait()


async def test_a_scan_and_a_printout_cross_a_call_whose_processor_is_starved(starved_core: int):
    scan, printout = pdf_of_size(384), pdf_of_size(192)
    async with serve() as sb, connected_call(sb) as (engine, events, agent):
        assert os.sched_getaffinity(0) == {starved_core}

        done = await engine.send_document(scan, "scan", "skannaus.pdf")
        assert done.ok and done.sha256 == hashlib.sha256(scan).hexdigest()
        body = (await agent.until(lambda: agent.received, 120, "the scan at the desk"))[0][1]
        assert body == scan

        await agent.send_document(printout, transfer="printout")
        received = await events.first(PrintRequested, timeout=120)
        assert received.pdf == printout
        ack = await agent.until(lambda: [m for m in agent.data_seen("doc.ack") if m.transfer == "printout"], 60)
        assert ack[0].ok

        agent.dc_send(p.Rtt(seq=1, text="tuliko perille?", final=True))
        await events.first(RttReceived, lambda e: e.text == "tuliko perille?", timeout=60)
