"""The whole customer journey, end to end, as the customer and the agent live it.

The kiosk's own session, journey controller, call engine and window (offscreen, in this process) run
with their real drivers against the harness's private services: the virtual FINEID card in a private
pcscd, SANE's test scanner (a feeder holding two sheets), a private cupsd with a file queue. The
switchboard serves on loopback; the agent and an interpreter answer in the real desk page in headless
Chromium; the point's provisioning agent carries the session's anonymous statistics over a private
mosquitto to the ops side. Each step asserts what the customer or the agent would notice.

``ETAPISTE_SCREENSHOTS=1`` also writes each step's kiosk and desk pictures to docs/screenshots/journey/.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib.util
import io
import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from drivers.cardreader import CardReader
from drivers.printer import Printer
from drivers.scanner import Scanner
from kiosk import call as c
from kiosk.session import State
from simulation.documents import pdf_with_text
from simulation.kiosk import POINT, Kiosk, build_kiosk, point_config, start_kiosk
from simulation.ops_side import ops_watch, provisioning_agent
from simulation.services.cups import PrivateCupsd, output_pages
from simulation.services.mqtt import Broker
from simulation.services.pcsc import CardSlot, fineid_card
from simulation.services.sane import SaneTestBackend
from simulation.switchboard import PASSWORDS, POINT_CREDENTIALS, make_config, serve
from switchboard.identity import proof_validator
from tests.acceptance.desk import Desk, Screenshots

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300), pytest.mark.usefixtures("loopback_ice")]

ROOT = Path(__file__).resolve().parents[1]
GIVEN, SURNAME, SATU = "SPECIMEN-BABAFÖ", "SPECIMEN-HÄKKINEN", "999020016"


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A short directory for the kiosk ↔ agent unix socket (paths are limited to 108 bytes)."""
    d = Path(tempfile.mkdtemp(prefix="ea-", dir="/tmp"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


async def until(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """Wait for a condition the customer or the agent would notice (polled; no fixed sleeps)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"never happened within {timeout} s: {what}")
        await asyncio.sleep(0.05)


def click(widget: Any) -> None:
    """A finger on a button of the kiosk's screen (a real mouse press and release on the widget)."""
    assert widget.isVisible() and widget.isEnabled(), f"{widget.objectName()} cannot be pressed now"
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton)


async def test_a_customer_is_served_from_service_choice_to_wipe_and_only_anonymous_statistics_remain(
    browser: Any, cupsd: PrivateCupsd, sane_backend: SaneTestBackend, card_slot: CardSlot, test_pki: Any,
    mosquitto_factory: Callable[..., Broker], qapp: Any, tmp_path: Path, short_dir: Path,
) -> None:
    shots = Screenshots()
    ca_file = tmp_path / "trusted-cas.pem"
    ca_file.write_bytes(test_pki.trusted_pem)
    credential = tmp_path / "switchboard-credential"
    credential.write_text(POINT_CREDENTIALS[POINT] + "\n")
    queue = cupsd.add_file_queue()
    mosquitto = mosquitto_factory([POINT])
    identity = test_pki.issue("v4", given_name=GIVEN, surname=SURNAME, satu=SATU)
    socket = short_dir / "agent.sock"

    sb_config = make_config(trusted_ca_files=[str(ca_file)])
    async with (
        serve(sb_config, validator=proof_validator([str(ca_file)])) as sb,
        ops_watch(mosquitto) as ops,
        provisioning_agent(mosquitto, POINT, tmp_path / "agent-state", socket) as agent,
    ):
        config = point_config(sb.base.replace("http://", "ws://") + "/ws/point", credential, queue.name)
        # The feeder holds two sheets: after the second page the backend reports an empty feeder.
        scanner = Scanner(config.devices.scanner, worker_command=sane_backend.worker_with_plan(
            {2: {"read_return_value": "SANE_STATUS_NO_DOCS"}}))
        kiosk = build_kiosk(config, printer=Printer(config.devices.printer, server=cupsd.socket),
                            scanner=scanner, card_reader=CardReader(), agent_socket=socket)
        desk = Desk(browser, "desk", sb.base)
        interpreter = Desk(browser, "interpreter", sb.base)
        try:
            await start_kiosk(kiosk)
            assert await agent.kiosk.wait_connected(30), "the kiosk never reached the provisioning agent"
            await desk.login("anna")
            await interpreter.login("tulkki")
            await journey(kiosk, desk, interpreter, card_slot, identity, queue, cupsd, tmp_path, shots)

            # The session's anonymous record reached the ops side over MQTT: counts, no person.
            def kela_stats() -> dict[str, Any] | None:
                days = ops.stats.get(POINT, {}).get("days", {})
                today = kiosk.session.now().date().isoformat()  # the day on the kiosk's (host's) clock
                queues = days.get(today, {}).get("queues", {}).values()
                kela = next((q for q in queues if q["producer"] == "kela"), None)
                return kela if kela and sum(kela["outcomes"].values()) == 1 else None

            kela = await until(kela_stats, "the session's statistics at the ops side", timeout=60)
            assert kela["outcomes"]["served"] == 1
            assert kela["ratings"]["5"] == 1 and sum(kela["ratings"].values()) == 1
            assert kela["duration_s_sum"] > 0
            published = json.dumps(ops.stats[POINT], ensure_ascii=False)
            for personal in (GIVEN, SURNAME, SATU, "Hei", "skannaus", "paatos"):
                assert personal not in published
        finally:
            await kiosk.close()
            for page in (desk, interpreter):
                with contextlib.suppress(Exception):
                    await page.close()


async def journey(kiosk: Kiosk, desk: Desk, interpreter: Desk, card_slot: CardSlot, identity: Any, queue: Any,
                  cupsd: PrivateCupsd, tmp_path: Path, shots: Screenshots) -> None:
    s, w = kiosk.session, kiosk.window
    await shots.step("idle", kiosk, desk)

    # Choose Finnish, then Kela; the notice; the queue.
    click(w.idle.language_buttons["fi"])
    assert s.state is State.SERVICE_CHOICE
    await shots.step("service choice", kiosk)
    click(w.service_choice.buttons["kela"])
    assert s.state is State.NOTICE
    click(w.notice.go)
    assert s.state is State.QUEUE
    await until(lambda: s.snapshot.queue_position == 1, "the customer sees they are first in the queue")
    assert "1" in w.queue.position.text()
    await desk.call("waitFor", selector="#alert")
    await desk.call("waitFor", selector="li[data-ticket] button.answer")
    await shots.step("queue", kiosk, desk)

    # The agent answers; both see each other.
    await desk.call("click", selector="li[data-ticket] button.answer")
    await until(lambda: s.state is State.CALL, "the call screen")
    assert w.current_screen is w.call
    await until(lambda: any(isinstance(e, c.RemoteVideoFrame) and e.role == "agent" for e in kiosk.events),
                "the agent's video on the kiosk")
    await desk.call("waitForFunction", expression="desk.framesDecoded().then((n) => n >= 10)", timeout=30000)
    await shots.step("answered", kiosk, desk)

    # Real-time text both ways: the agent types, the customer sees it; the customer answers on screen.
    await desk.call("type", selector="#rtt-input", text="Hei, miten voin auttaa?")
    await desk.call("press", selector="#rtt-input", key="Enter")
    await until(lambda: "Hei, miten voin auttaa?" in w.call.transcript.text(), "the agent's words on the kiosk")
    w.call.entry.setFocus()
    QTest.keyClicks(w.call.entry, "Tarvitsen apua")
    QTest.keyClick(w.call.entry, Qt.Key.Key_Return)
    await desk.until_text("#rtt-remote-lines", "Tarvitsen apua")
    assert "Tarvitsen apua" in w.call.transcript.text()
    await shots.step("real-time text", kiosk, desk)

    # Identification: the agent asks, the customer inserts the card and types PIN1 on the pad.
    await desk.call("click", selector="#identify")
    await until(lambda: s.snapshot.call and s.snapshot.call.identify
                and s.snapshot.call.identify.step == "insert_card", "the kiosk asks for the card")
    await shots.step("identify insert card", kiosk, desk)
    card_slot.insert(fineid_card(identity))
    await until(lambda: s.snapshot.call.identify and s.snapshot.call.identify.step == "enter_pin",
                "the PIN pad")
    assert w.pin_pad.isVisible()
    for digit in "1234":
        click(w.pin_pad.digit_keys[int(digit)])
    assert len(w.pin_pad) == 4
    await shots.step("identify PIN", kiosk, desk)
    click(w.pin_pad.ok_key)
    await desk.until_text("#identity-name", f"{GIVEN} {SURNAME}")
    assert await desk.text("#identity-satu") == SATU
    await until(lambda: s.snapshot.call.identify and s.snapshot.call.identify.step == "remove_card",
                "the kiosk asks to take the card")
    await shots.step("identified", kiosk, desk)
    card_slot.remove()
    await until(lambda: s.snapshot.call.identify is None, "the identification panel closes")

    # A scan the agent asked for: two sheets through the feeder, previewed, sent, checked by the desk.
    await desk.call("click", selector="#scan")
    await until(lambda: s.snapshot.call.scan and s.snapshot.call.scan.step == "place_paper",
                "the kiosk asks to place the paper")
    click(w.call.flow_primary)
    await until(lambda: s.snapshot.call.scan.step in ("preview", "failed"), "the scan preview", 60)
    scan = s.snapshot.call.scan
    assert (scan.step, scan.pages) == ("preview", 2), scan
    assert w.call.flow_preview.pixmap() is not None and not w.call.flow_preview.pixmap().isNull()
    scan_result = kiosk.journey._scan_result
    assert scan_result is not None
    await shots.step("scan preview", kiosk, desk)
    click(w.call.flow_primary)
    await until(lambda: s.snapshot.call.scan.step == "sent", "the scan sent", 60)
    await desk.call("waitForFunction", expression="desk.received.length === 1", timeout=30000)
    (sent,) = kiosk.sent_documents
    received = await desk.received_bytes(0)
    assert received == sent
    assert await desk.received_sha256(0) == hashlib.sha256(sent).hexdigest()
    assert len(pikepdf.open(io.BytesIO(received)).pages) == 2
    await desk.until_text("#received", "skannaus.pdf")
    await shots.step("scan received", kiosk, desk)
    click(w.call.flow_primary)  # OK
    assert s.snapshot.call.scan is None

    # The agent sends a three-page PDF; the kiosk prints it; it comes out of the printer, three pages.
    document = pdf_with_text(3, "Kelan päätös – tulosta")
    (tmp_path / "paatos.pdf").write_bytes(document)
    await desk.call("setInputFiles", selector="#print-file", files=[str(tmp_path / "paatos.pdf")])
    await until(lambda: s.snapshot.call.print_ and s.snapshot.call.print_.step in ("done", "failed"),
                "the printout", 90)
    job = s.snapshot.call.print_
    assert (job.step, job.pages) == ("done", 3), job
    await desk.until_text("#print-status", "Printed.")
    await until(lambda: queue.output.exists() and output_pages(queue.output) == 3, "three pages in the tray")
    await shots.step("printed", kiosk, desk)
    click(w.call.flow_primary)  # OK
    assert s.snapshot.call.print_ is None

    # An interpreter joins from a second desk; the customer sees that they are there.
    await desk.call("fill", selector="#interpreter-language", value="ar")
    await desk.call("click", selector="#invite")
    await interpreter.call("click", selector="button.accept-invite")
    await until(lambda: s.snapshot.call.interpreter, "the interpreter on the call")
    assert w.call.interpreter.isVisible()
    await interpreter.call("waitForFunction", expression="desk.framesDecoded().then((n) => n >= 5)", timeout=30000)
    await shots.step("interpreter", kiosk, desk, interpreter)

    # The customer ends the call; the survey; a rating; the wipe.
    click(w.call.end)
    assert s.state is State.SURVEY
    await desk.call("waitFor", selector="#queue-view")
    # The desk forgets the customer too: no verified name, no received document, no text.
    assert await desk.text("#identity-name") == ""
    assert await desk.call("evaluate", expression="desk.received.length") == 0
    assert await desk.call("evaluate", expression="document.getElementById('rtt-remote-lines').textContent") == ""
    await shots.step("survey", kiosk, desk)
    click(w.survey.ratings[4])
    assert s.state is State.IDLE
    await kiosk.journey.idle()

    # Nothing of the customer stayed behind.
    snap = s.snapshot
    assert snap.call is None and snap.selected is None
    assert (w.call.transcript.text(), w.call.agent_typing.text(), w.call.entry.text()) == ("", "", "")
    assert w.call.flow_preview.pixmap() is None or w.call.flow_preview.pixmap().isNull()
    assert scan_result.discarded and kiosk.journey._scan_result is None
    assert cupsd.job_ids() == [] and cupsd.spool_files() == []
    assert kiosk.printer.leftovers() == []
    await shots.step("wiped", kiosk, desk)


def load_demo() -> Any:
    """``scripts/demo_system.py`` as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("demo_system", ROOT / "scripts" / "demo_system.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_the_demo_agent_serves_a_customer_through_turn_with_card_scan_and_print(
    coturn: Any, cupsd: PrivateCupsd, sane_backend: SaneTestBackend, card_slot: CardSlot, test_pki: Any,
    qapp: Any, tmp_path: Path,
) -> None:
    """What README's demo shows a newcomer: its scripted agent (relay-only through coturn, as in the demo)
    greets, has the customer identify (putting the virtual card in when asked), asks for a scan and
    sends a PDF that comes out of the printer; the customer ends the call."""
    demo = load_demo()
    ca_file = tmp_path / "trusted-cas.pem"
    ca_file.write_bytes(test_pki.trusted_pem)
    credential = tmp_path / "switchboard-credential"
    credential.write_text(POINT_CREDENTIALS[POINT] + "\n")
    queue = cupsd.add_file_queue()
    identity = test_pki.issue("v3", given_name="SPECIMEN-MAIJA", surname="SPECIMEN-MEIKÄLÄINEN", satu="99902002X")
    sb_config = make_config(trusted_ca_files=[str(ca_file)], turn={"urls": coturn.urls, "secret": coturn.secret,
                                                                     "ttl_s": 600})
    async with serve(sb_config, validator=proof_validator([str(ca_file)])) as sb:
        config = point_config(sb.base.replace("http://", "ws://") + "/ws/point", credential, queue.name,
                              relay_only=True)
        scanner = Scanner(config.devices.scanner, worker_command=sane_backend.worker_with_plan(
            {1: {"read_return_value": "SANE_STATUS_NO_DOCS"}}))
        kiosk = build_kiosk(config, printer=Printer(config.devices.printer, server=cupsd.socket), scanner=scanner,
                            card_reader=CardReader())
        agent = demo.DemoAgent(sb.base, lambda: card_slot.insert(fineid_card(identity)), card_slot.remove,
                               pdf_with_text(2, "Kelan paatos - demo"), pace=0.02,
                               login=("anna", PASSWORDS["anna"]))
        agent_task = asyncio.create_task(agent.run())
        s: Any = kiosk.session
        w = kiosk.window
        try:
            await start_kiosk(kiosk)
            click(w.idle.language_buttons["fi"])
            click(w.service_choice.buttons["kela"])
            click(w.notice.go)
            await until(lambda: s.state is State.CALL, "the demo agent answers", 60)
            await until(lambda: "demovirkailija" in w.call.transcript.text(), "the greeting on the kiosk")
            await until(lambda: s.snapshot.call and s.snapshot.call.identify
                        and s.snapshot.call.identify.step == "enter_pin", "the PIN pad (the demo put the card in)")
            for digit in "1234":
                click(w.pin_pad.digit_keys[int(digit)])
            click(w.pin_pad.ok_key)
            # The panel asking to take the card goes when the card monitor sees it out; then the scan's.
            await until(lambda: s.snapshot.call.identify is None and s.snapshot.call.scan
                        and s.snapshot.call.scan.step == "place_paper", "the demo agent's scan request")
            assert agent.outcomes["identify"] == "verified"
            click(w.call.flow_primary)
            await until(lambda: s.snapshot.call.scan.step == "preview", "the scan preview", 60)
            click(w.call.flow_primary)
            await until(lambda: s.snapshot.call.print_ and s.snapshot.call.print_.step in ("done", "failed"),
                        "the demo agent's printout", 90)
            assert s.snapshot.call.print_.pages == 2 and s.snapshot.call.print_.step == "done"
            assert agent.outcomes["scan"] == "received"
            await until(lambda: queue.output.exists() and output_pages(queue.output) == 2, "two pages in the tray")
            await until(lambda: "Voit lopettaa" in w.call.transcript.text(), "the demo agent's goodbye", 60)
            assert agent.outcomes["print"] == "done"
            # Every media path went through the private coturn: the kiosk offered nothing else.
            sdp = next(iter(kiosk.engine.peers.values())).pc.localDescription.sdp
            candidates = [line for line in sdp.splitlines() if line.startswith("a=candidate:")]
            assert candidates and all(" typ relay " in c for c in candidates)
            # "Sent" and "printed" each wait for the customer's OK before the call screen comes back.
            for _ in range(2):
                if s.snapshot.call.scan or s.snapshot.call.print_:
                    click(w.call.flow_primary)
            assert s.snapshot.call.scan is None and s.snapshot.call.print_ is None
            click(w.call.end)
            click(w.survey.skip)
            assert s.state is State.IDLE and s.snapshot.call is None
            assert cupsd.job_ids() == [] and cupsd.spool_files() == []
        finally:
            agent_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await agent_task
            await kiosk.close()
