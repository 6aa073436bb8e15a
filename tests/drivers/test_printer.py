"""The printer driver against a private cupsd: real queues, faults injected by a real CUPS backend.

What a user would notice: pages coming out (counted in the file queue's output), what the customer
and the staff are told (fi/sv/en), that a job never just disappears, and that nothing of the job is
left in cupsd's spool or job list afterwards.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pikepdf
import pytest

from drivers.printer import (
    DoorOpen,
    EncryptedPdf,
    Jammed,
    JobCancelled,
    JobFailed,
    JobHeld,
    JobStopped,
    JobTimeout,
    MalformedPdf,
    NoPrinter,
    NotAccepting,
    NotAPdf,
    Offline,
    OutOfPaper,
    Paused,
    Printer,
    PrinterError,
    PrintEvent,
    PrintServiceDown,
    TooLarge,
    TooManyPages,
    print_test_page,
)
from etapiste.config.point import PrinterConfig
from etapiste.language import Language
from simulation.documents import pdf_with_text
from simulation.services.common import require_program, wait_until
from simulation.services.cups import PrivateCupsd, output_pages, output_pdf_bytes, output_text

LANGS: tuple[Language, ...] = ("fi", "sv", "en")


def printer_on(cupsd: PrivateCupsd, queue: str | None, **limits: int) -> Printer:
    return Printer(PrinterConfig(queue=queue, **limits), server=cupsd.socket)


class Recorder:
    """A listener that remembers every event and the thread it arrived on."""

    def __init__(self) -> None:
        self.events: list[PrintEvent] = []
        self.threads: set[int] = set()

    def __call__(self, event: PrintEvent) -> None:
        self.events.append(event)
        self.threads.add(threading.get_ident())

    @property
    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]


def wait_for_cups_to_stop_the_queue(printer: Printer) -> Callable[[PrintEvent], None]:
    """A listener that, once the job stalls, holds the job's thread until CUPS has stopped the queue.

    A stall is reported as soon as the backend names the fault; CUPS stops the queue a moment later
    when the backend exits. Tests that look at the stopped queue afterwards wait for that here, so a
    short ``stall_grace_s`` cannot give the job up (and cancel it) before the queue was stopped.
    """

    def hold(event: PrintEvent) -> None:
        if event.kind == "stalled":
            wait_until(lambda: printer.status().state == "stopped", 20, "CUPS to stop the queue")

    return hold


def both(*listeners: Callable[[PrintEvent], None]) -> Callable[[PrintEvent], None]:
    def call(event: PrintEvent) -> None:
        for listener in listeners:
            listener(event)

    return call


def assert_nothing_left(cupsd: PrivateCupsd, printer: Printer) -> None:
    """No spooled file, no job (pending or history) — as cupsd itself and an admin would see it."""
    assert printer.leftovers() == []
    assert cupsd.job_ids() == []
    assert cupsd.lpstat_all().strip() == ""
    assert cupsd.spool_files() == []


# -- printing that works ---------------------------------------------------------------------------


def test_pdf_prints_every_page_and_progress_reaches_a_listener_on_the_worker_thread(
    cupsd: PrivateCupsd,
) -> None:
    queue = cupsd.add_file_queue()
    printer = printer_on(cupsd, queue.name)
    events = Recorder()

    with ThreadPoolExecutor(1) as pool:
        worker = pool.submit(lambda: (threading.get_ident(), printer.print_pdf(pdf_with_text(4), listener=events)))
        worker_thread, result = worker.result(timeout=60)

    assert result.pages == 4
    assert output_pages(queue.output) == 4
    assert events.kinds[0] == "accepted"
    assert events.kinds[-1] == "completed"
    assert "processing" in events.kinds
    assert events.events[-1].pages_done == events.events[-1].pages_total == 4
    assert events.threads == {worker_thread}
    assert_nothing_left(cupsd, printer)


def test_ready_printer_says_nothing_to_the_customer(cupsd: PrivateCupsd) -> None:
    printer = printer_on(cupsd, cupsd.add_file_queue().name)
    status = printer.status()
    assert status.ready
    assert status.state == "idle"
    assert all(status.customer_message(lang) is None for lang in LANGS)
    assert status.staff_messages("en") == []


def test_job_title_and_printed_header_carry_nothing_of_the_document(cupsd: PrivateCupsd) -> None:
    """A decision titled with the customer's name: the name reaches neither CUPS nor the logs."""
    name = "Maija Meikäläinen 010190-123A"
    pdf = pikepdf.open(io.BytesIO(pdf_with_text(1)))
    pdf.docinfo["/Title"] = f"Päätös {name}"
    buf = io.BytesIO()
    pdf.save(buf)
    queue = cupsd.add_file_queue()
    printer = printer_on(cupsd, queue.name)

    printer.print_pdf(buf.getvalue())

    # The printer's own job header (PJL) shows the title CUPS was given: a random token.
    output = queue.output.read_bytes()
    header = output[: output.find(b"%PDF-")]
    assert b'JOB NAME = "etapiste ' in header
    assert b"Meik" not in header and b"010190" not in header and b"P\xe4\xe4t" not in header
    logs = "".join(p.read_text(errors="replace") for p in (cupsd.root / "log").glob("*"))
    assert "Meik" not in logs and "010190" not in logs


def test_two_jobs_in_a_row_both_print_and_leave_nothing(cupsd: PrivateCupsd) -> None:
    queue = cupsd.add_file_queue()
    printer = printer_on(cupsd, queue.name)
    first = printer.print_pdf(pdf_with_text(2))
    assert first.pages == 2
    assert output_pages(queue.output) == 2
    second = printer.print_pdf(pdf_with_text(1))
    assert second.pages == 1
    # Each job came out whole and on its own: the second job's single page, after the first's two.
    assert output_pages(queue.output) == 1
    assert queue.jobs() == [queue.job_output(first.job_id), queue.job_output(second.job_id)]
    assert [output_pages(job) for job in queue.jobs()] == [2, 1]
    assert_nothing_left(cupsd, printer)


# -- faults reported by the device ----------------------------------------------------------------

FAULTS = [
    ("media-empty", OutOfPaper, "out of paper"),
    ("media-jam", Jammed, "stuck"),
    ("door-open", DoorOpen, "cover"),
]


@pytest.mark.parametrize(("mode", "error", "words"), FAULTS)
def test_device_fault_tells_customer_and_staff_and_the_job_is_not_left_behind(
    cupsd: PrivateCupsd, mode: str, error: type[PrinterError], words: str
) -> None:
    queue = cupsd.add_fault_queue(mode)
    printer = printer_on(cupsd, queue.name)
    events = Recorder()

    hold = wait_for_cups_to_stop_the_queue(printer)
    with pytest.raises(error) as caught:
        printer.print_pdf(pdf_with_text(2), listener=both(events, hold), timeout_s=60, stall_grace_s=0.3)

    exc = caught.value
    # The customer hears it at once (a "stalled" event), then that nothing was printed.
    stalled = [e for e in events.events if e.kind == "stalled"]
    assert stalled and stalled[0].condition is not None and stalled[0].condition.keyword == mode
    assert stalled[0].condition.code == error.code
    assert words in (stalled[0].condition.customer_message("en") or "").lower()
    assert events.kinds[-1] == "failed"
    assert words in exc.customer_message("en").lower()
    assert "not printed" in exc.customer_message("en")
    for lang in LANGS:  # "the staff have been told", in the host's words the kiosk fills (etapiste.host)
        assert "{staff_told}" in exc.customer_message(lang)
    for lang in LANGS:
        assert mode in exc.staff_message(lang)
    assert exc.report()["reason"] == error.code and exc.report()["job_id"] == exc.job_id
    # The staff see the device's reason on the status, and the customer a plain sentence.
    status = printer.status()
    assert not status.ready
    assert status.state == "stopped"
    assert status.conditions[0].code == error.code and status.conditions[0].keyword == mode
    assert words in (status.customer_message("en") or "").lower()
    assert any(mode in line for line in status.staff_messages("fi"))
    # The document will not surprise the next customer by coming out later.
    assert_nothing_left(cupsd, printer)


def test_next_document_is_refused_at_once_while_the_printer_is_out_of_paper(cupsd: PrivateCupsd) -> None:
    queue = cupsd.add_fault_queue("media-empty")
    printer = printer_on(cupsd, queue.name)
    with pytest.raises(OutOfPaper):
        printer.print_pdf(
            pdf_with_text(1), listener=wait_for_cups_to_stop_the_queue(printer), timeout_s=60, stall_grace_s=0.3
        )

    with pytest.raises(OutOfPaper) as caught:
        printer.submit(pdf_with_text(1))
    assert caught.value.job_id is None  # refused before anything was queued
    assert_nothing_left(cupsd, printer)


def test_paper_refilled_and_printer_resumed_prints_the_waiting_document(cupsd: PrivateCupsd) -> None:
    queue = cupsd.add_fault_queue("media-empty")
    printer = printer_on(cupsd, queue.name)
    staff_fixed = threading.Event()

    def staff() -> None:
        wait_until(lambda: printer.status().state == "stopped", 10, "CUPS to stop the queue")
        queue.set("ok")  # paper in the tray
        printer.resume()  # the staff press "resume"

    def staff_refills(event: PrintEvent) -> None:
        if event.kind == "stalled" and not staff_fixed.is_set():
            staff_fixed.set()
            threading.Thread(target=staff).start()

    events = Recorder()
    result = printer.print_pdf(pdf_with_text(3), listener=both(events, staff_refills), timeout_s=30)

    assert result.pages == 3
    assert output_pages(queue.output) == 3
    kinds = events.kinds
    assert kinds.index("stalled") < kinds.index("resumed") < kinds.index("completed")
    assert printer.status().ready
    assert_nothing_left(cupsd, printer)


def test_toner_low_still_prints_and_only_the_staff_hear_of_it(cupsd: PrivateCupsd) -> None:
    queue = cupsd.add_fault_queue("toner-low")
    printer = printer_on(cupsd, queue.name)
    assert printer.print_pdf(pdf_with_text(1)).pages == 1
    assert output_pages(queue.output) == 1

    status = printer.status()
    assert status.ready
    assert status.customer_message("en") is None
    assert [(c.code, c.keyword) for c in status.conditions] == [("toner_low", "toner-low")]
    assert "toner-low" in status.staff_messages("sv")[0]


@pytest.mark.parametrize(
    ("exit_code", "error", "customer_words"),
    [
        (1, JobFailed, "could not be printed"),  # CUPS_BACKEND_FAILED, queue policy abort-job
        (5, JobFailed, "could not be printed"),  # CUPS_BACKEND_CANCEL: not the customer's doing
        (3, JobHeld, "could not be printed"),  # CUPS_BACKEND_HOLD
        (6, JobHeld, "could not be printed"),  # CUPS_BACKEND_RETRY under abort-job
    ],
)
def test_failing_backend_ends_the_job_with_an_explanation_for_everyone(
    cupsd: PrivateCupsd, exit_code: int, error: type[PrinterError], customer_words: str
) -> None:
    queue = cupsd.add_fault_queue(f"exit:{exit_code}")
    printer = printer_on(cupsd, queue.name)
    events = Recorder()

    with pytest.raises(error) as caught:
        printer.print_pdf(pdf_with_text(1), listener=events, timeout_s=20)

    assert type(caught.value) is error
    assert customer_words in caught.value.customer_message("en")
    assert "agent" in caught.value.customer_message("en")
    assert "the document was not printed" in caught.value.staff_message("en")
    assert events.kinds[-1] == "failed" and events.events[-1].error is caught.value
    assert not queue.output.exists()
    assert_nothing_left(cupsd, printer)


def test_job_cupsd_stops_itself_fails_at_once_in_cupsds_own_words(cupsd: PrivateCupsd) -> None:
    """cupsd stops a job whose ``file:`` output it cannot open (what every file queue met after Debian's
    CUPS security update). A stopped job never resumes, so the print fails with cupsd's reason at once
    instead of waiting out the job timeout."""
    queue = cupsd.add_unwritable_file_queue()
    printer = printer_on(cupsd, queue.name)
    events = Recorder()

    with pytest.raises(PrinterError) as caught:
        # A generous timeout: were the stop not recognised, this would end as JobTimeout instead.
        printer.print_pdf(pdf_with_text(1), listener=events, timeout_s=60)

    exc = caught.value
    assert type(exc) is JobStopped
    assert exc.report()["reason"] == "job_stopped" and exc.job_id is not None
    for lang in LANGS:  # the staff and the agent read cupsd's own reason
        assert "Stopping job because the scheduler could not open the output file." in exc.staff_message(lang)
    assert "the document was not printed" in exc.staff_message("en")
    assert exc.customer_message("en") == (
        "Your document could not be printed. The agent can see this and can send it again."
    )
    assert "stalled" not in events.kinds
    assert events.kinds[-1] == "failed" and events.events[-1].error is exc
    queue.assert_nothing_printed()
    assert_nothing_left(cupsd, printer)


def test_failing_filter_stops_the_job_and_the_staff_read_the_filters_own_error(cupsd: PrivateCupsd) -> None:
    queue = cupsd.add_failing_filter_queue("ERROR: injected filter failure")
    printer = printer_on(cupsd, queue.name)

    with pytest.raises(JobStopped) as caught:
        printer.print_pdf(pdf_with_text(1), timeout_s=60)

    staff = caught.value.staff_message("en")
    assert "Job stopped due to filter errors" in staff  # cupsd's words…
    assert "injected filter failure" in staff  # …and the filter's own error line
    queue.assert_nothing_printed()
    assert_nothing_left(cupsd, printer)


def test_failing_backend_on_a_stop_printer_queue_ends_as_paused_not_as_silence(cupsd: PrivateCupsd) -> None:
    queue = cupsd.add_fault_queue("exit:1", error_policy="stop-printer")
    printer = printer_on(cupsd, queue.name)
    with pytest.raises(Paused) as caught:
        printer.print_pdf(pdf_with_text(1), timeout_s=60, stall_grace_s=0.3)
    assert "not printed" in caught.value.customer_message("en")
    assert printer.status().state == "stopped"
    assert_nothing_left(cupsd, printer)


# -- the print system cannot take work ------------------------------------------------------------


def test_paused_queue_refuses_the_document_before_anything_is_spooled(cupsd: PrivateCupsd) -> None:
    queue = cupsd.add_file_queue()
    cupsd.connection().disablePrinter(queue.name)
    printer = printer_on(cupsd, queue.name)

    status = printer.status()
    assert status.state == "stopped" and not status.ready
    assert [(c.code, c.keyword) for c in status.errors] == [("paused", "paused")]
    assert status.customer_message("en") == "Printing is not available right now. {staff_told}"
    with pytest.raises(Paused) as caught:
        printer.print_pdf(pdf_with_text(1))
    assert "paused" in caught.value.staff_message("sv")
    queue.assert_nothing_printed()
    assert_nothing_left(cupsd, printer)

    printer.resume()
    assert printer.print_pdf(pdf_with_text(1)).pages == 1


def test_queue_rejecting_jobs_refuses_the_document_and_says_why(cupsd: PrivateCupsd) -> None:
    queue = cupsd.add_file_queue()
    cupsd.connection().rejectJobs(queue.name)
    printer = printer_on(cupsd, queue.name)

    status = printer.status()
    assert not status.accepting and not status.ready
    assert (status.errors[0].code, status.errors[0].keyword) == ("not_accepting", "not-accepting-jobs")
    with pytest.raises(NotAccepting) as caught:
        printer.print_pdf(pdf_with_text(1))
    assert "not accepting jobs" in caught.value.staff_message("en")
    assert "Tulostus ei ole juuri nyt käytettävissä" in caught.value.customer_message("fi")
    assert_nothing_left(cupsd, printer)


def test_missing_queue_names_the_queue_for_the_staff(cupsd: PrivateCupsd) -> None:
    printer = printer_on(cupsd, "no-such-queue")
    status = printer.status()
    assert status.state == "missing"
    assert "no-such-queue" in status.staff_messages("en")[0]
    with pytest.raises(NoPrinter):
        printer.print_pdf(pdf_with_text(1))


def test_stopped_cupsd_is_a_state_and_printing_returns_when_it_is_back(own_cupsd: PrivateCupsd) -> None:
    queue = own_cupsd.add_file_queue()
    printer = printer_on(own_cupsd, queue.name)
    own_cupsd.stop()

    status = printer.status()
    assert status.state == "unreachable" and not status.ready
    assert (status.errors[0].code, status.errors[0].keyword) == ("print_service_down", "cupsd-unreachable")
    assert "Utskrift är inte tillgänglig just nu" in (status.customer_message("sv") or "")
    assert "cupsd" in status.staff_messages("en")[0]
    with pytest.raises(PrintServiceDown):
        printer.print_pdf(pdf_with_text(1))

    own_cupsd.start()
    assert printer.status().ready
    assert printer.print_pdf(pdf_with_text(2)).pages == 2
    assert output_pages(queue.output) == 2


# -- cancel, timeout ------------------------------------------------------------------------------


def test_cancel_from_another_thread_stops_the_job_and_removes_it(cupsd: PrivateCupsd) -> None:
    queue = cupsd.add_fault_queue("hang")
    printer = printer_on(cupsd, queue.name)
    cancel = threading.Event()

    def cancel_once_printing(event: PrintEvent) -> None:
        if event.kind == "processing":
            threading.Timer(0.2, cancel.set).start()

    with pytest.raises(JobCancelled) as caught:
        printer.print_pdf(pdf_with_text(1), listener=cancel_once_printing, cancel=cancel, timeout_s=60)
    assert caught.value.customer_message("en") == "Printing was cancelled."
    wait_until(lambda: printer.status().state == "idle", 10, "the printer to go idle")
    assert_nothing_left(cupsd, printer)


def test_job_that_never_finishes_times_out_and_is_cancelled(cupsd: PrivateCupsd) -> None:
    queue = cupsd.add_fault_queue("hang")
    printer = printer_on(cupsd, queue.name)
    with pytest.raises(JobTimeout) as caught:
        printer.print_pdf(pdf_with_text(1), timeout_s=1.5)
    assert "2 s" in caught.value.staff_message("en")
    assert "could not be printed" in caught.value.customer_message("en")
    wait_until(lambda: printer.status().state == "idle", 10, "the printer to go idle")
    assert_nothing_left(cupsd, printer)


# -- documents refused before printing -------------------------------------------------------------


def _encrypted(data: bytes) -> bytes:
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(data)) as pdf:
        pdf.save(out, encryption=pikepdf.Encryption(owner="owner", user="1234"))
    return out.getvalue()


_ONE_PAGE = pdf_with_text(1)

REFUSED = [
    ("not-pdf", b"PK\x03\x04 a zip file, not a PDF", NotAPdf, "not a PDF"),
    ("malformed", _ONE_PAGE[: len(_ONE_PAGE) // 2], MalformedPdf, "damaged"),
    ("encrypted", _encrypted(_ONE_PAGE), EncryptedPdf, "encrypted"),
    ("oversize", _ONE_PAGE + b"\n%" + bytes(range(256)) * 60, TooLarge, "0.016 MB; at most 0.010 MB"),
    ("too-many-pages", pdf_with_text(4), TooManyPages, "4 pages; at most 3"),
]


@pytest.mark.parametrize(("data", "error", "reason"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_unfit_document_is_refused_with_its_reason_and_never_reaches_cups(
    cupsd: PrivateCupsd, data: bytes, error: type[PrinterError], reason: str
) -> None:
    queue = cupsd.add_file_queue()
    printer = printer_on(cupsd, queue.name, max_pages=3, max_bytes=10_000)
    events = Recorder()
    with pytest.raises(error) as caught:
        printer.print_pdf(data, listener=events)
    assert reason in caught.value.staff_message("en")  # what the agent reads
    assert caught.value.customer_message("en") == "This document cannot be printed here. The agent can see why."
    assert events.kinds == []  # nothing was ever accepted
    queue.assert_nothing_printed()
    assert_nothing_left(cupsd, printer)


# -- privacy -------------------------------------------------------------------------------------


@pytest.mark.cupsd_keeps_history
def test_purge_leaves_nothing_even_on_a_cupsd_that_keeps_files_and_history(own_cupsd: PrivateCupsd) -> None:
    """Debian's defaults keep job files and completed-job history; the driver's purge removes both."""
    queue = own_cupsd.add_file_queue()
    printer = printer_on(own_cupsd, queue.name)
    printer.print_pdf(pdf_with_text(1))
    # The driver's own job is purged as it ends, even here.
    assert own_cupsd.job_ids() == [] and own_cupsd.spool_files() == []
    # Jobs someone else left: one completed by lp (history + file kept), one waiting in a stopped queue.
    lp = require_program("lp")
    doc = own_cupsd.root / "other.pdf"
    doc.write_bytes(pdf_with_text(1))
    import subprocess

    subprocess.run([lp, "-d", queue.name, str(doc)], env=own_cupsd.env, check=True, capture_output=True)
    wait_until(lambda: not own_cupsd.connection().getJobs(), 20, "lp's job to complete")
    own_cupsd.connection().disablePrinter(queue.name)
    subprocess.run([lp, "-d", queue.name, str(doc)], env=own_cupsd.env, check=True, capture_output=True)
    doc.unlink()
    assert own_cupsd.job_ids(), "the history-keeping cupsd should remember the jobs"
    assert own_cupsd.spool_files(), "and keep their files"

    printer.purge()

    assert_nothing_left(own_cupsd, printer)


def test_completed_job_leaves_no_history_even_right_after_printing(cupsd: PrivateCupsd) -> None:
    queue = cupsd.add_file_queue()
    printer = printer_on(cupsd, queue.name)
    spool_during: list[list[Path]] = []

    def look(event: PrintEvent) -> None:
        if event.kind == "accepted":
            spool_during.append(cupsd.spool_files())

    printer.print_pdf(pdf_with_text(1), listener=look)
    # The document was in cupsd's spool while printing (so the check below can see a difference)…
    assert spool_during and spool_during[0]
    # …and is gone, with its history, the moment print_pdf returns.
    assert_nothing_left(cupsd, printer)
    assert cupsd.lpstat_all().strip() == ""


# -- staff test page -----------------------------------------------------------------------------


def test_staff_test_page_shows_host_date_and_status_and_no_customer_data(cupsd: PrivateCupsd) -> None:
    queue = cupsd.add_file_queue()
    printer = printer_on(cupsd, queue.name)
    result = print_test_page(printer)
    assert result.pages == 1
    assert output_pages(queue.output) == 1
    text = output_text(queue.output)
    assert socket.gethostname() in text
    assert f"Date: {dt.date.today().isoformat()}" in text
    assert f"Queue: {queue.name}" in text
    assert "idle, ready" in text
    assert "no customer data" in text
    pdf = pikepdf.open(io.BytesIO(output_pdf_bytes(queue.output)))
    assert len(pdf.pages) == 1
    assert_nothing_left(cupsd, printer)


def test_printer_not_answering_tells_the_customer_it_cannot_be_reached(cupsd: PrivateCupsd) -> None:
    queue = cupsd.add_fault_queue("offline")
    printer = printer_on(cupsd, queue.name)
    events = Recorder()
    with pytest.raises(Offline) as caught:
        printer.print_pdf(pdf_with_text(1), listener=events, timeout_s=5)
    assert "stalled" in events.kinds
    assert caught.value.customer_message("en").startswith("The printer cannot be reached.")
    assert "not printed" in caught.value.customer_message("en")
    assert "offline" in caught.value.staff_message("fi")
    wait_until(lambda: printer.status().state == "idle", 10, "the printer to go idle")
    assert_nothing_left(cupsd, printer)


def test_cupsd_dying_mid_job_is_reported_and_the_job_purged_when_it_returns(own_cupsd: PrivateCupsd) -> None:
    """A job cupsd restores after a restart would print for the next customer: the purge stops that."""
    queue = own_cupsd.add_fault_queue("hang")
    printer = printer_on(own_cupsd, queue.name)

    stopper = threading.Thread(target=own_cupsd.stop)

    def stop_cupsd_once_printing(event: PrintEvent) -> None:
        if event.kind == "processing" and stopper.ident is None:
            stopper.start()

    with pytest.raises(PrintServiceDown) as caught:
        printer.print_pdf(pdf_with_text(1), listener=stop_cupsd_once_printing, timeout_s=30)
    assert "not printed" in caught.value.customer_message("en")
    stopper.join(20)

    own_cupsd.start()
    printer.purge()  # what the kiosk does at session end and at start
    assert_nothing_left(own_cupsd, printer)


# -- the kiosk's event loop ----------------------------------------------------------------------


async def test_async_print_delivers_events_on_the_event_loop(cupsd: PrivateCupsd) -> None:
    queue = cupsd.add_file_queue()
    printer = printer_on(cupsd, queue.name)
    events = Recorder()
    result = await printer.print_pdf_async(pdf_with_text(2), listener=events)
    await asyncio.sleep(0)  # let the last call_soon_threadsafe run
    assert result.pages == 2 and output_pages(queue.output) == 2
    assert events.threads == {threading.get_ident()}
    assert events.kinds[0] == "accepted" and events.kinds[-1] == "completed"
    assert (await printer.status_async()).ready


async def test_cancelling_the_awaiting_task_cancels_the_job_and_leaves_nothing(cupsd: PrivateCupsd) -> None:
    """The customer walks away mid-print: the session ends, the print task is cancelled."""
    queue = cupsd.add_fault_queue("hang")
    printer = printer_on(cupsd, queue.name)
    printing = asyncio.Event()

    def on_event(event: PrintEvent) -> None:
        if event.kind == "processing":
            printing.set()

    task = asyncio.create_task(printer.print_pdf_async(pdf_with_text(1), listener=on_event, timeout_s=60))
    await asyncio.wait_for(printing.wait(), 20)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    wait_until(lambda: printer.status().state == "idle", 10, "the printer to go idle")
    assert_nothing_left(cupsd, printer)
