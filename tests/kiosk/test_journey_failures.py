"""No failure inside a customer's flow leaves the customer stuck.

The journey controller with driver doubles that fail the way nobody planned (``RuntimeError``, a
``ValueError`` from the proof's own origin check) or never answer at all. What is asserted is what the
customer notices (the kiosk's call screen: the words, and a button that leads back to the call), what the
agent learns (the reports the call engine would send, checked against :mod:`etapiste.protocol` so a
reason the switchboard would refuse fails here), and what the log keeps (a code and a message, never the
PIN or the card holder's name).

The real drivers meet the real devices in ``test_journey.py``; this file is about the unforeseen.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import logging
from collections.abc import Callable
from typing import Any, get_args

import pikepdf
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from drivers import scanner as sc
from drivers.proof import AuthToken
from etapiste import protocol as p
from etapiste.codes import IdentityAbortCode
from etapiste.config.point import load_point_config
from etapiste.webeid.origin import check_origin
from etapiste.webeid.validator import NonceStore
from kiosk import call as c
from kiosk import i18n
from kiosk.journey import ABORT_REASONS, INTERNAL_ERROR, IdentifyProblem, Journey
from kiosk.session import Session, State
from kiosk.views.window import KioskWindow

PIN = "1234"
HOLDER = "SPECIMEN-MAIJA SPECIMEN-MEIKÄLÄINEN"
HTTPS_ORIGIN = "https://switchboard.example.fi"


class AgentSide:
    """The call engine's interface as the journey uses it; every report is built as the protocol message
    the engine would send, so a code the switchboard or the desk would refuse fails the test here."""

    def __init__(self) -> None:
        self.listeners: list[Callable[[Any], None]] = []
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.proofs: list[dict[str, str]] = []

    def subscribe(self, listener: Callable[[Any], None]) -> Callable[[], None]:
        self.listeners.append(listener)
        return lambda: self.listeners.remove(listener)

    def emit(self, event: Any) -> None:
        for listener in list(self.listeners):
            listener(event)

    def __getattr__(self, name: str) -> Callable[..., Any]:
        def record(*args: Any, **kwargs: Any) -> None:
            self.calls.append((name, args + tuple(kwargs.values())))

        return record

    def abort_identity(self, request: str, reason: str) -> None:
        p.IdentityAbort(call="call-1", request=request, reason=reason)  # type: ignore[arg-type]
        self.calls.append(("abort_identity", (request, reason)))

    def report_identity_status(self, request: str, state: str, reason: str | None = None) -> bool:
        p.IdentityStatus(request=request, state=state, reason=reason)  # type: ignore[arg-type]
        self.calls.append(("report_identity_status", (request, state, reason)))
        return True

    def report_scan_status(self, request: str, state: str, pages: int | None = None,
                           reason: str | None = None) -> bool:
        p.ScanStatus(request=request, state=state, pages=pages, reason=reason)  # type: ignore[arg-type]
        self.calls.append(("report_scan_status", (request, state, reason)))
        return True

    def report_print_progress(self, transfer: str, state: str, pages: int | None = None,
                              pages_done: int | None = None, reason: str | None = None) -> bool:
        p.PrintStatus(transfer=transfer, state=state, pages=pages, pages_done=pages_done,  # type: ignore[arg-type]
                      reason=reason)
        self.calls.append(("report_print_progress", (transfer, state, reason)))
        return True

    def send_proof(self, request: str, token: dict[str, str]) -> None:
        self.proofs.append(token)
        self.calls.append(("send_proof", (request,)))

    def reports(self, name: str) -> list[tuple[Any, ...]]:
        return [args for n, args in self.calls if n == name]


# -- driver doubles ---------------------------------------------------------------------------------------


class CardReaderDouble:
    """A card in the reader; ``prove_async`` fails with ``error``, or waits until ``release`` is set.

    Like the real driver (``CardSession.prove``) it checks the origin before the card signs."""

    def __init__(self, error: Exception | None = None, hang: bool = False) -> None:
        self.error = error
        self.release = asyncio.Event() if hang else None
        self.started = asyncio.Event()

    def status(self) -> dict[str, bool]:
        return {"Virtual reader 0": True}

    async def pin1_tries_left_async(self) -> int:
        return 5

    async def prove_async(self, origin: str, nonce: str, pin: bytearray) -> AuthToken:
        self.started.set()
        check_origin(origin)
        if self.release is not None:
            await self.release.wait()
        if self.error is not None:
            raise self.error
        return AuthToken(b"\x30\x00" * 60, "ES384", b"\x01" * 96)


class ScanJobDouble:
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ScannerDouble:
    """``scan`` raises ``error``, or hands the journey ``events`` (as the worker thread would), or
    keeps scanning for ever (a backend that never answers)."""

    def __init__(self, error: Exception | None = None, events: list[Any] | None = None) -> None:
        self.error = error
        self.events = events or []
        self.jobs: list[ScanJobDouble] = []

    def prepare(self) -> None: ...

    def end_session(self) -> None: ...

    def scan(self, on_event: Callable[[Any], None]) -> ScanJobDouble:
        if self.error is not None:
            raise self.error
        for event in self.events:
            on_event(event)
        job = ScanJobDouble()
        self.jobs.append(job)
        return job


class PrinterConfigDouble:
    job_timeout_s = 600


class PrinterDouble:
    """``print_pdf_async`` fails with ``error``, or waits for ever (a job no printer takes)."""

    config = PrinterConfigDouble()

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.started = asyncio.Event()
        self.cancelled = False

    async def print_pdf_async(self, pdf: bytes, **_: Any) -> None:
        self.started.set()
        if self.error is not None:
            raise self.error
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise

    def purge(self) -> None: ...


def a_pdf(pages: int = 2) -> bytes:
    pdf = pikepdf.new()
    for _ in range(pages):
        pdf.add_blank_page()
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


# -- the kiosk in a call ------------------------------------------------------------------------------------


def in_call(qtbot: QtBot, agent: AgentSide, **devices: Any) -> tuple[Session, Journey, KioskWindow]:
    """The kiosk's own session, journey controller and window, in a call with Kela, in Finnish."""
    session = Session(load_point_config(), lambda: dt.datetime(2026, 11, 30, 12, 0))
    journey = Journey(session, agent, **devices)
    window = KioskWindow(session, kiosk_mode=False, actions=journey)
    qtbot.addWidget(window)
    window.resize(1280, 1024)
    window.show()
    session.choose_language("fi")
    session.choose_producer("kela")
    session.accept_notice()
    agent.emit(c.CallAnswered(call="call-1", agent_name="Kela"))
    assert session.state is State.CALL
    return session, journey, window


def click(widget: Any) -> None:
    """A finger on a button of the kiosk's screen."""
    assert widget.isVisible() and widget.isEnabled(), f"{widget.objectName()} cannot be pressed now"
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton)


def on_screen(window: KioskWindow) -> str:
    """The words the current sub-flow panel shows."""
    return f"{window.call.flow_title.text()}\n{window.call.flow_text.text()}"


def back_at_the_call(window: KioskWindow) -> bool:
    """The panel is gone: video, text and the End button are there again."""
    return window.call.main.currentWidget() is not window.call.flow and window.call.end.isVisible()


async def until(check: Callable[[], bool], what: str) -> None:
    """A bounded wait for something the test itself set off (doubles answer at once)."""
    for _ in range(500):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


async def identify_and_type_pin(session: Session, journey: Journey, agent: AgentSide, window: KioskWindow,
                                origin: str = HTTPS_ORIGIN) -> None:
    agent.emit(c.IdentifyRequested(request="i-1", nonce=NonceStore().issue(), origin=origin, expires_in_s=300))
    await until(lambda: session.snapshot.call is not None and session.snapshot.call.identify is not None
                and session.snapshot.call.identify.tries_left == 5, "the PIN pad")
    for digit in PIN:
        click(window.pin_pad.digit_keys[int(digit)])
    click(window.pin_pad.ok_key)


FAILED_TEXT = i18n.text("error_internal_error", "fi")


def logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(f"{r.levelname} {r.name}: {r.getMessage()}" for r in caplog.records)


# -- identification -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("error", [RuntimeError(f"PIN {PIN} for {HOLDER}"), ValueError(f"{HOLDER} {PIN}")],
                         ids=["RuntimeError", "ValueError"])
async def test_an_unforeseen_card_failure_tells_the_customer_and_the_agent_and_the_call_goes_on(
    qtbot: QtBot, caplog: pytest.LogCaptureFixture, error: Exception
) -> None:
    caplog.set_level(logging.DEBUG)
    agent = AgentSide()
    session, journey, window = in_call(qtbot, agent, card_reader=CardReaderDouble(error))
    await identify_and_type_pin(session, journey, agent, window)
    await journey.idle()

    ident = session.snapshot.call.identify  # type: ignore[union-attr]
    assert ident is not None and (ident.step, ident.error) == ("failed", INTERNAL_ERROR)
    assert "Tarkistetaan" not in on_screen(window)
    assert FAILED_TEXT in on_screen(window) and "Virkailija on saanut siitä tiedon" in on_screen(window)
    assert agent.reports("abort_identity") == [("i-1", INTERNAL_ERROR)]
    assert agent.proofs == []
    click(window.call.flow_primary)  # OK
    assert back_at_the_call(window) and session.state is State.CALL

    # The log names the step, the code and the exception's type (and where), never the PIN or the holder.
    text = logged(caplog)
    assert f"identification failed: {INTERNAL_ERROR} ({type(error).__name__} at " in text
    assert PIN not in text and "SPECIMEN" not in text


async def test_an_origin_the_card_will_not_sign_for_is_a_named_internal_error_not_a_stuck_screen(
    qtbot: QtBot, caplog: pytest.LogCaptureFixture
) -> None:
    """The demo's fault (issue 15): an http origin off the machine; the origin check's own message is logged."""
    caplog.set_level(logging.DEBUG)
    agent = AgentSide()
    session, journey, window = in_call(qtbot, agent, card_reader=CardReaderDouble())
    await identify_and_type_pin(session, journey, agent, window, origin="http://switchboard.example.fi")
    await journey.idle()
    assert session.snapshot.call.identify.step == "failed"  # type: ignore[union-attr]
    assert FAILED_TEXT in on_screen(window)
    assert agent.reports("abort_identity") == [("i-1", INTERNAL_ERROR)]
    text = logged(caplog)
    assert "internal_error (ProofInputError: not an https origin" in text
    assert "'http://switchboard.example.fi'" in text
    assert PIN not in text


async def test_a_request_the_point_refused_to_sign_tells_the_customer_without_a_second_abort(qtbot: QtBot) -> None:
    """The engine refused a request naming another origin (and told the agent itself): the customer reads
    that identification did not work and can go back to the call; the journey sends no abort of its own."""
    agent = AgentSide()
    session, journey, window = in_call(qtbot, agent, card_reader=CardReaderDouble())
    agent.emit(c.IdentifyRefused("i-1", "origin_mismatch"))
    await journey.idle()
    ident = session.snapshot.call.identify  # type: ignore[union-attr]
    assert ident is not None and (ident.step, ident.error) == ("failed", INTERNAL_ERROR)
    assert FAILED_TEXT in on_screen(window)
    assert agent.reports("abort_identity") == [] and agent.proofs == []
    click(window.call.flow_primary)  # OK
    assert back_at_the_call(window) and session.state is State.CALL


async def test_a_loopback_http_origin_gives_a_proof(qtbot: QtBot) -> None:
    agent = AgentSide()
    session, journey, window = in_call(qtbot, agent, card_reader=CardReaderDouble())
    await identify_and_type_pin(session, journey, agent, window, origin="http://127.0.0.1:8443")
    await journey.idle()
    assert session.snapshot.call.identify.step == "remove_card"  # type: ignore[union-attr]
    assert len(agent.proofs) == 1


async def test_a_card_that_never_answers_can_be_left_and_its_late_proof_is_never_sent(qtbot: QtBot) -> None:
    agent = AgentSide()
    reader = CardReaderDouble(hang=True)
    session, journey, window = in_call(qtbot, agent, card_reader=reader)
    await identify_and_type_pin(session, journey, agent, window)
    await reader.started.wait()
    assert session.snapshot.call.identify.step == "checking"  # type: ignore[union-attr]
    assert "Tarkistetaan" in on_screen(window)
    assert window.call.flow_secondary.text() == "Peruuta"
    click(window.call.flow_secondary)
    assert back_at_the_call(window) and session.snapshot.call.identify is None  # type: ignore[union-attr]
    assert agent.reports("abort_identity") == [("i-1", "cancelled")]

    assert reader.release is not None
    reader.release.set()  # the card finally signs
    await journey.idle()
    assert agent.proofs == [] and session.snapshot.call.identify is None  # type: ignore[union-attr]


async def test_every_identification_failure_reaches_the_switchboard_as_a_reason_it_accepts(qtbot: QtBot) -> None:
    """A card that is not a FINEID card, or the last wrong PIN, are reported with protocol reasons."""
    from drivers.carderrors import NotAFinnishIdCard, WrongPin

    for error, shown, reason in ((NotAFinnishIdCard(), "card_error", "card_error"),
                                 (WrongPin(tries_left=0), "wrong_pin", "pin_blocked")):
        agent = AgentSide()
        session, journey, window = in_call(qtbot, agent, card_reader=CardReaderDouble(error))
        await identify_and_type_pin(session, journey, agent, window)
        await journey.idle()
        assert session.snapshot.call.identify.step == "failed"  # type: ignore[union-attr]
        assert session.snapshot.call.identify.error == shown  # type: ignore[union-attr]
        assert agent.reports("abort_identity") == [("i-1", reason)]


async def test_a_card_read_as_not_a_finnish_id_card_says_so_and_reports_card_error(qtbot: QtBot) -> None:
    """The card is read as soon as it is in the reader (PIN1's tries left): a card that is not a FINEID
    card shows its own message (``not_fineid``) and reaches the switchboard as ``card_error``."""
    from drivers.carderrors import NotAFinnishIdCard

    class NotFineid(CardReaderDouble):
        async def pin1_tries_left_async(self) -> int:
            raise NotAFinnishIdCard()

    agent = AgentSide()
    session, _journey, _window = in_call(qtbot, agent, card_reader=NotFineid())
    agent.emit(c.IdentifyRequested(request="i-1", nonce=NonceStore().issue(), origin=HTTPS_ORIGIN, expires_in_s=300))
    await until(lambda: agent.reports("abort_identity") != [], "the abort")
    assert session.snapshot.call.identify.step == "failed"  # type: ignore[union-attr]
    assert session.snapshot.call.identify.error == "not_fineid"  # type: ignore[union-attr]
    assert agent.reports("abort_identity") == [("i-1", "card_error")]


def test_every_identification_problem_has_a_text_and_an_abort_reason_the_switchboard_accepts() -> None:
    for problem in get_args(IdentifyProblem):
        assert all(i18n.text(f"error_{problem}", lang) for lang in ("fi", "sv", "en")), problem
        assert ABORT_REASONS[problem] in get_args(IdentityAbortCode), problem
    assert set(ABORT_REASONS) == set(get_args(IdentifyProblem))


# -- scanning -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "scanner",
    [
        pytest.param(lambda: ScannerDouble(error=RuntimeError("scan of a passport")), id="scan-raises"),
        pytest.param(lambda: ScannerDouble(events=[sc.PagePreview(1, None, False)]),  # type: ignore[arg-type]
                     id="unreadable-preview"),
    ],
)
async def test_an_unforeseen_scanner_failure_tells_the_customer_and_the_agent(
    qtbot: QtBot, caplog: pytest.LogCaptureFixture, scanner: Callable[[], ScannerDouble]
) -> None:
    caplog.set_level(logging.DEBUG)
    agent = AgentSide()
    session, _, window = in_call(qtbot, agent, scanner=scanner())
    agent.emit(c.ScanRequested(request="s-1"))
    click(window.call.flow_primary)  # Skannaa
    await until(lambda: session.snapshot.call.scan.step != "scanning", "the scan ends")  # type: ignore[union-attr]
    scan = session.snapshot.call.scan  # type: ignore[union-attr]
    assert scan is not None and (scan.step, scan.error) == ("failed", INTERNAL_ERROR)
    assert FAILED_TEXT in on_screen(window) and "Skannaus ei onnistunut" in on_screen(window)
    assert agent.reports("report_scan_status")[-1] == ("s-1", "failed", INTERNAL_ERROR)
    click(window.call.flow_primary)  # OK
    assert back_at_the_call(window)
    text = logged(caplog)
    assert "scan" in text and INTERNAL_ERROR in text and "passport" not in text


async def test_a_scan_that_never_ends_and_a_scan_being_sent_can_both_be_cancelled(qtbot: QtBot) -> None:
    agent = AgentSide()
    scanner = ScannerDouble()
    session, journey, window = in_call(qtbot, agent, scanner=scanner)
    agent.emit(c.ScanRequested(request="s-1"))
    click(window.call.flow_primary)  # Skannaa: the backend never answers
    assert session.snapshot.call.scan.step == "scanning"  # type: ignore[union-attr]
    assert window.call.flow_secondary.text() == "Peruuta"
    click(window.call.flow_secondary)
    assert back_at_the_call(window) and scanner.jobs[0].cancelled
    assert agent.reports("report_scan_status")[-1] == ("s-1", "declined", None)

    # A finished scan whose transfer hangs: Cancel stops the transfer.
    agent.emit(c.ScanRequested(request="s-2"))
    session.scan_started()
    image = Image.new("L", (40, 60), 255)
    result = type("Result", (), {"pages": [type("Page", (), {"preview": image})()], "blank_pages": lambda self: [],
                                 "deliver": lambda self, skip=(): b"%PDF-1.7", "discard": lambda self: None})()
    journey._scan_event(sc.ScanFinished(result))  # type: ignore[arg-type]
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    agent.send_document = lambda *args: never  # type: ignore[method-assign]
    click(window.call.flow_primary)  # Lähetä
    await until(lambda: session.snapshot.call.scan.step == "sending", "sending")  # type: ignore[union-attr]
    click(window.call.flow_secondary)
    assert back_at_the_call(window)
    assert agent.reports("cancel_document") == [()]
    never.cancel()
    await journey.idle()
    assert session.snapshot.call.scan is None  # type: ignore[union-attr]


# -- printing -----------------------------------------------------------------------------------------------


async def test_an_unforeseen_printer_failure_tells_the_customer_and_the_agent(
    qtbot: QtBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    agent = AgentSide()
    session, journey, window = in_call(qtbot, agent, printer=PrinterDouble(RuntimeError("Kelan päätös")))
    agent.emit(c.PrintRequested(transfer="t-1", name="päätös.pdf", pdf=a_pdf(2), sha256="0" * 64))
    await journey.idle()
    job = session.snapshot.call.print_  # type: ignore[union-attr]
    assert job is not None and (job.step, job.error) == ("failed", INTERNAL_ERROR)
    assert FAILED_TEXT in on_screen(window) and "Tulostus ei onnistunut" in on_screen(window)
    assert agent.reports("report_print_progress")[-1] == ("t-1", "failed", INTERNAL_ERROR)
    click(window.call.flow_primary)  # OK
    assert back_at_the_call(window)
    text = logged(caplog)
    assert f"printing failed: {INTERNAL_ERROR} (RuntimeError at " in text and "päätös" not in text


async def test_a_printout_that_never_comes_can_be_cancelled_and_the_agent_sees_it(qtbot: QtBot) -> None:
    agent = AgentSide()
    printer = PrinterDouble()
    session, journey, window = in_call(qtbot, agent, printer=printer)
    agent.emit(c.PrintRequested(transfer="t-2", name="päätös.pdf", pdf=a_pdf(3), sha256="0" * 64))
    await printer.started.wait()
    assert session.snapshot.call.print_.step == "printing"  # type: ignore[union-attr]
    assert window.call.flow_secondary.text() == "Peruuta"
    click(window.call.flow_secondary)
    await journey.idle()
    assert back_at_the_call(window) and printer.cancelled
    assert agent.reports("report_print_progress")[-1] == ("t-2", "cancelled", None)
    click(window.call.end)
    assert session.state is State.SURVEY


# -- every waiting screen has a way out ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "reach",
    [
        lambda s: (s.identify_requested(card_present=False)),
        lambda s: (s.identify_requested(card_present=True), s.card_inserted(5)),
        lambda s: (s.identify_requested(card_present=True), s.card_inserted(5), s.pin_submitted()),
        lambda s: (s.identify_requested(card_present=True), s.identify_done()),
        lambda s: (s.identify_requested(card_present=True), s.identify_failed("card_error")),
        lambda s: s.scan_requested(),
        lambda s: (s.scan_requested(), s.scan_started()),
        lambda s: (s.scan_requested(), s.scan_ready(1, None), s.scan_sending()),
        lambda s: (s.scan_requested(), s.scan_failed("jammed")),
        lambda s: s.print_started(2),
        lambda s: (s.print_started(2), s.print_stalled("out_of_paper")),
        lambda s: (s.print_started(2), s.print_done()),
    ],
    ids=["insert-card", "enter-pin", "checking", "remove-card", "identify-failed", "place-paper", "scanning",
         "sending", "scan-failed", "printing", "printer-stalled", "printed"],
)
async def test_every_sub_flow_screen_has_a_button_back_to_the_call(qtbot: QtBot, reach: Any) -> None:
    agent = AgentSide()
    session, _, window = in_call(qtbot, agent, scanner=ScannerDouble(), printer=PrinterDouble())
    reach(session)
    assert window.call.main.currentWidget() is window.call.flow
    buttons = [b for b in (window.call.flow_secondary, window.call.flow_primary) if b.isVisible()]
    assert buttons, "a sub-flow screen without any button"
    # The way out is Cancel where there is one, else the screen's only button (OK).
    click(window.call.flow_secondary if window.call.flow_secondary.isVisible() else window.call.flow_primary)
    assert back_at_the_call(window)
