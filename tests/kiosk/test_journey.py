"""The journey controller with the real drivers at their real interfaces: the virtual FINEID card in a
private pcscd, SANE's test scanner, and a private cupsd with a file queue and a fault queue.

The switchboard and the agent are played by :class:`AgentSide`, a recorder that emits the events the
call engine would deliver and records what the journey asks of it; the engine itself is tested against
the real switchboard and desk in ``test_call*.py``. What is asserted here is what the customer sees
(the session's snapshot) and what the agent learns (the reports), plus what the devices really did.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Callable
from typing import Any

import pikepdf
import pytest

from drivers.cardreader import CardReader
from drivers.printer import Printer
from drivers.scanner import Scanner
from etapiste.config.point import PointConfig, PrinterConfig, ScannerConfig, load_point_config
from etapiste.webeid.validator import NonceStore, ProofValidator
from kiosk import call as c
from kiosk.journey import Journey
from kiosk.session import Outcome, Session, SessionRecord, State
from simulation.card.pki import TestPki
from simulation.documents import pdf_with_text
from simulation.privacy import document_files
from simulation.services.cups import PrivateCupsd, output_pages
from simulation.services.pcsc import CardSlot, fineid_card

pytestmark = pytest.mark.integration

ORIGIN = "https://switchboard.example.fi"


class AgentSide:
    """Stands in for the switchboard and the agent behind the call engine's interface."""

    def __init__(self) -> None:
        self.listeners: list[Callable[[Any], None]] = []
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.documents: list[bytes] = []
        self.proofs: list[dict[str, str]] = []

    def subscribe(self, listener: Callable[[Any], None]) -> Callable[[], None]:
        self.listeners.append(listener)
        return lambda: self.listeners.remove(listener)

    def emit(self, event: Any) -> None:
        for listener in list(self.listeners):
            listener(event)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def record(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, args + tuple(kwargs.values())))
            return None

        return record

    def send_document(self, pdf: bytes, kind: str = "scan", name: str = "", request: str | None = None) -> Any:
        self.documents.append(pdf)
        self.calls.append(("send_document", (kind, request)))
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future

    def send_proof(self, request: str, token: dict[str, str]) -> None:
        self.proofs.append(token)
        self.calls.append(("send_proof", (request,)))

    def reports(self, name: str) -> list[tuple[Any, ...]]:
        return [args for n, args in self.calls if n == name]


SCAN_SAFETY_S = 120.0
"""A safety timeout for a scan's preview, not a speed limit: longer than the driver's own answer timeout
(``Scanner.answer_timeout_s``, 90 s), so a backend that hangs shows up as the driver's scanner error
(step "failed") rather than as this test giving up first."""


async def until(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.02)


@pytest.fixture
def config() -> PointConfig:
    return load_point_config()


def in_call(config: PointConfig, agent: AgentSide, **devices: Any) -> tuple[Session, Journey]:
    session = Session(config, lambda: __import__("datetime").datetime(2026, 11, 30, 12, 0))
    journey = Journey(session, agent, **devices)
    session.choose_language("fi")
    session.choose_producer("kela")
    session.accept_notice()
    assert agent.reports("request_call") == [("kela", "fi", None)]  # no interpreter asked for
    agent.emit(c.QueuePosition(position=2, estimate_s=120, agents_online=1))
    assert session.snapshot.queue_position == 2
    agent.emit(c.CallAnswered(call="call-1", agent_name="Kela"))
    assert session.state is State.CALL
    return session, journey


async def test_a_pdf_from_the_agent_is_printed_and_both_ends_see_it_done(
    config: PointConfig, cupsd: PrivateCupsd
) -> None:
    agent = AgentSide()
    queue = cupsd.add_file_queue()
    printer = Printer(PrinterConfig(queue=queue.name), server=cupsd.socket)
    session, journey = in_call(config, agent, printer=printer)
    agent.emit(c.PrintRequested(transfer="t-1", name="päätös.pdf", pdf=pdf_with_text(3), sha256="0" * 64))
    await journey.idle()
    job = session.snapshot.call.print_  # type: ignore[union-attr]
    assert (job.step, job.pages) == ("done", 3)
    states = [args[1] for args in agent.reports("report_print_progress")]
    assert states[0] == "received" and states[-1] == "done"
    assert output_pages(queue.output) == 3
    assert cupsd.job_ids() == [] and cupsd.spool_files() == []


async def test_out_of_paper_tells_the_customer_in_plain_words_and_the_agent_the_reason(
    config: PointConfig, cupsd: PrivateCupsd
) -> None:
    agent = AgentSide()
    queue = cupsd.add_fault_queue("media-empty")
    printer = Printer(PrinterConfig(queue=queue.name, job_timeout_s=10), server=cupsd.socket)
    session, journey = in_call(config, agent, printer=printer)
    agent.emit(c.PrintRequested(transfer="t-2", name="lomake.pdf", pdf=pdf_with_text(1), sha256="0" * 64))
    await journey.idle()
    job = session.snapshot.call.print_  # type: ignore[union-attr]
    assert job.step == "failed"
    assert job.message is not None and "paperi" in job.message.fi
    reports = agent.reports("report_print_progress")
    # The agent heard about the empty tray while the job waited for the staff, not only at the end.
    assert any(r[1] == "printing" and r[-1] == "out_of_paper" for r in reports)
    final = reports[-1]
    assert final[1] == "failed" and final[-1] and "paper" in final[-1]
    printer.purge()
    assert cupsd.job_ids() == []


async def test_an_unprintable_document_is_refused_and_the_agent_is_told(
    config: PointConfig, cupsd: PrivateCupsd
) -> None:
    agent = AgentSide()
    printer = Printer(PrinterConfig(queue=cupsd.add_file_queue().name), server=cupsd.socket)
    session, journey = in_call(config, agent, printer=printer)
    agent.emit(c.PrintRequested(transfer="t-3", name="x.pdf", pdf=b"%PDF-1.7 this is not a pdf", sha256="0" * 64))
    await journey.idle()
    assert session.snapshot.call.print_.step == "failed"  # type: ignore[union-attr]
    assert agent.reports("report_print_progress")[-1][1] == "failed"


async def test_a_scan_is_previewed_then_sent_as_a_pdf_and_nothing_is_kept(
    config: PointConfig, sane_backend: Any
) -> None:
    agent = AgentSide()
    scanner = Scanner(ScannerConfig(device="test:0", resolution=150, source="Flatbed"))
    session, journey = in_call(config, agent, scanner=scanner)
    agent.emit(c.ScanRequested(request="s-1"))
    assert session.snapshot.call.scan.step == "place_paper"  # type: ignore[union-attr]
    journey.start_scan()
    await until(lambda: session.snapshot.call.scan.step in ("preview", "failed"), "scan preview",  # type: ignore[union-attr]
                SCAN_SAFETY_S)
    scan = session.snapshot.call.scan  # type: ignore[union-attr]
    assert scan.step == "preview" and scan.pages == 1
    assert scan.preview is not None and scan.preview[:2] == b"\xff\xd8"  # a JPEG for the screen
    journey.send_scan()
    await journey.idle()
    assert session.snapshot.call.scan.step == "sent"  # type: ignore[union-attr]
    (pdf,) = agent.documents
    assert len(pikepdf.open(io.BytesIO(pdf)).pages) == 1
    statuses = [args[1] for args in agent.reports("report_scan_status")]
    assert statuses[:3] == ["waiting_customer", "scanning", "preview"]
    assert journey._scan_result is None


async def test_declining_a_scan_sends_nothing_and_tells_the_agent(config: PointConfig, sane_backend: Any) -> None:
    agent = AgentSide()
    scanner = Scanner(ScannerConfig(device="test:0", resolution=75, source="Flatbed"))
    session, journey = in_call(config, agent, scanner=scanner)
    agent.emit(c.ScanRequested(request="s-2"))
    journey.start_scan()
    await until(lambda: session.snapshot.call.scan.step in ("preview", "failed"), "preview",  # type: ignore[union-attr]
                SCAN_SAFETY_S)
    assert session.snapshot.call.scan.step == "preview"  # type: ignore[union-attr]
    journey.decline_scan()
    assert session.snapshot.call.scan is None  # type: ignore[union-attr]
    assert agent.documents == []
    assert agent.reports("report_scan_status")[-1][1] == "declined"


async def test_identify_with_a_wrong_pin_then_the_right_one_gives_a_proof_the_switchboard_accepts(
    config: PointConfig, card_slot: CardSlot, test_pki: TestPki, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    identity = test_pki.issue("v4", given_name="SPECIMEN-BABAFÖ", surname="SPECIMEN-HÄKKINEN", satu="999020016")
    card_slot.insert_and_wait(fineid_card(identity))
    agent = AgentSide()
    session, journey = in_call(config, agent, card_reader=CardReader())
    nonces = NonceStore()
    nonce = nonces.issue()
    agent.emit(c.IdentifyRequested(request="i-1", nonce=nonce, origin=ORIGIN, expires_in_s=300))
    await until(lambda: session.snapshot.call.identify is not None  # type: ignore[union-attr]
                and session.snapshot.call.identify.tries_left is not None, "tries left read")  # type: ignore[union-attr]
    assert session.snapshot.call.identify.step == "enter_pin"  # type: ignore[union-attr]

    wrong = bytearray(b"9999")
    journey.submit_pin(wrong)
    await journey.idle()
    ident = session.snapshot.call.identify  # type: ignore[union-attr]
    assert (ident.step, ident.error) == ("enter_pin", "wrong_pin")
    assert ident.tries_left is not None and ident.tries_left >= 1
    assert wrong == bytearray(4)  # the PIN was overwritten

    journey.submit_pin(bytearray(b"1234"))
    await journey.idle()
    assert session.snapshot.call.identify.step == "remove_card"  # type: ignore[union-attr]
    (token,) = agent.proofs
    import json

    holder = ProofValidator(ORIGIN, test_pki.trusted, nonces).validate(json.dumps(token), nonce)
    assert (holder.given_name, holder.satu) == ("SPECIMEN-BABAFÖ", "999020016")
    states = [args[1] for args in agent.reports("report_identity_status")]
    assert states[0] == "enter_pin" and "signing" in states
    # Nothing of the card holder or the PIN reached any log, at any level.
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in ("SPECIMEN", "999020016", "1234", "9999"):
        assert secret not in logged


async def test_a_card_pulled_out_before_the_pin_asks_for_it_again(
    config: PointConfig, card_slot: CardSlot, test_pki: TestPki
) -> None:
    identity = test_pki.issue("v3", given_name="SPECIMEN-ANNA", surname="SPECIMEN-VIRTANEN", satu="99902002X")
    agent = AgentSide()
    session, journey = in_call(config, agent, card_reader=CardReader())
    agent.emit(c.IdentifyRequested(request="i-2", nonce=NonceStore().issue(), origin=ORIGIN, expires_in_s=300))
    await journey.idle()
    assert session.snapshot.call.identify.step == "insert_card"  # type: ignore[union-attr]
    card_slot.insert_and_wait(fineid_card(identity, version="v3.1"))
    await journey.card_inserted()
    assert session.snapshot.call.identify.step == "enter_pin"  # type: ignore[union-attr]
    card_slot.remove()
    journey.card_removed()
    ident = session.snapshot.call.identify  # type: ignore[union-attr]
    assert (ident.step, ident.error) == ("insert_card", "card_removed")


async def test_the_end_of_a_visit_wipes_scans_and_print_jobs_and_records_no_personal_data(
    config: PointConfig, cupsd: PrivateCupsd, sane_backend: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    temp_before = document_files()
    agent = AgentSide()
    records: list[SessionRecord] = []
    printer = Printer(PrinterConfig(queue=cupsd.add_file_queue().name), server=cupsd.socket)
    scanner = Scanner(ScannerConfig(device="test:0", resolution=75, source="Flatbed"))
    session, journey = in_call(config, agent, printer=printer, scanner=scanner)
    journey_records = records
    session.on_record(journey_records.append)
    agent.emit(c.RttReceived(text="Hei, miten voin auttaa?", final=True))
    journey.send_text("Minulla on kysymys", True)
    session.type_text("Minulla on kysymys", final=True)
    agent.emit(c.ScanRequested(request="s-3"))
    journey.start_scan()
    await until(lambda: session.snapshot.call.scan.step in ("preview", "failed"), "preview",  # type: ignore[union-attr]
                SCAN_SAFETY_S)
    assert session.snapshot.call.scan.step == "preview"  # type: ignore[union-attr]
    result = journey._scan_result
    assert result is not None
    agent.emit(c.CallEnded(call="call-1", reason="hangup", by="agent"))
    assert session.state is State.SURVEY
    session.rate(4)

    assert session.state is State.IDLE
    assert session.snapshot.call is None
    assert result.discarded and all(len(p.encoded) == 0 or not any(p.encoded) for p in result.pages)
    assert printer.leftovers() == [] and cupsd.job_ids() == []
    (record,) = records
    assert (record.outcome, record.producer, record.waited_s, record.call_s, record.rating) == (
        Outcome.SERVED, "kela", 0, 0, 4)  # fmt: skip
    assert (record.usage.scans, record.usage.text_used) == (0, True)  # the scan was never sent
    # the agent was not told to hang up again: the agent ended the call
    assert agent.reports("hang_up") == []
    # No file of the visit anywhere in the temporary directories, and nothing said in the logs.
    assert document_files() - temp_before == set()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "kysymys" not in logged and "auttaa" not in logged


async def test_a_network_cut_is_shown_to_the_customer_until_the_call_recovers(config: PointConfig) -> None:
    agent = AgentSide()
    session, _ = in_call(config, agent)
    agent.emit(c.CallTrouble(kind="reconnecting"))
    assert session.snapshot.call.trouble == "reconnecting"  # type: ignore[union-attr]
    # The agent's connection is back, but the engine has not yet said the whole call is (an interpreter may
    # still be cut off): the notice stays until it does.
    agent.emit(c.CallConnected(call="call-1", recovered=True))
    assert session.snapshot.call.trouble == "reconnecting"  # type: ignore[union-attr]
    agent.emit(c.CallTrouble(kind="recovered", detail="agent"))
    assert session.snapshot.call.trouble is None  # type: ignore[union-attr]
    agent.emit(c.CallEnded(call="call-1", reason="network_lost", by=None))
    assert session.state is State.SURVEY and session.snapshot.end_reason == "network"


async def test_a_dropped_switchboard_connection_in_the_queue_is_shown_and_a_lost_place_explained(
    config: PointConfig,
) -> None:
    agent = AgentSide()
    session = Session(config, lambda: __import__("datetime").datetime(2026, 11, 30, 12, 0))
    Journey(session, agent)
    session.choose_language("fi")
    session.choose_producer("kela")
    session.accept_notice()
    agent.emit(c.QueuePosition(position=4, estimate_s=900, agents_online=1))
    agent.emit(c.SwitchboardStatus(False, "unreachable"))
    assert session.state is State.QUEUE and session.snapshot.queue_interrupted  # still queued, told to stay
    agent.emit(c.SwitchboardStatus(True))
    assert not session.snapshot.queue_interrupted
    agent.emit(c.SwitchboardStatus(False, "unreachable"))
    agent.emit(c.QueueLeft("network_lost"))  # the place could not be kept
    assert session.state is State.SURVEY and session.snapshot.end_reason == "queue_network_lost"
