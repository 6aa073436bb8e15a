"""The scanner driver against SANE's real ``test`` backend in a private configuration (simulation/services/sane.py).

Faults are injected at the backend: its ``read-status-code`` in ``test.conf`` for a whole job, or its
``read-return-value`` option after a given feeder page (the harness's plan worker).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from PIL import Image

from drivers.errors import DeviceError
from drivers.scanner import (
    PagePreview,
    PageProgress,
    PageReady,
    PageStarted,
    ScanCancelled,
    ScanEvent,
    ScanFailed,
    ScanFinished,
    ScanJob,
    Scanner,
    ScannerBusy,
    ScannerCoverOpen,
    ScannerError,
    ScannerGone,
    ScannerIOError,
    ScannerJammed,
    ScannerOutOfDocuments,
    ScannerUnavailable,
    ScanStarted,
    ScanWasCancelled,
)
from etapiste.config.point import ScannerConfig
from simulation.services.common import require_program
from simulation.services.sane import SaneTestBackend

A4_300 = (2480, 3507)
LANGS = ("fi", "sv", "en")


class Recorder:
    """A listener that keeps every event and the thread it came on."""

    def __init__(self) -> None:
        self.events: list[ScanEvent] = []
        self.threads: set[str] = set()

    def __call__(self, event: ScanEvent) -> None:
        self.threads.add(threading.current_thread().name)
        self.events.append(event)

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


def scanner(**config: Any) -> Scanner:
    return Scanner(ScannerConfig(**{"device": "test:0", **config}))


def scanner_with_plan(backend: SaneTestBackend, plan: dict[int, dict[str, Any]], **config: Any) -> Scanner:
    return Scanner(ScannerConfig(**{"device": "test:0", "source": "ADF", **config}),
                   worker_command=backend.worker_with_plan(plan))


_open_pdfs: list[pikepdf.Pdf] = []


def pdf_pages(data: bytes) -> list[pikepdf.Page]:
    """The pages of a PDF (the document is kept open for the test session: pages refer to it)."""
    pdf = pikepdf.open(io.BytesIO(data))
    _open_pdfs.append(pdf)
    return list(pdf.pages)


def filters(image: pikepdf.Stream) -> list[str]:
    value = image.Filter
    return [str(f) for f in value] if isinstance(value, pikepdf.Array) else [str(value)]


def page_image(page: pikepdf.Page) -> pikepdf.Stream:
    images = list(page.get_images().values())
    assert len(images) == 1
    return images[0]


# ------------------------------------------------------------------------------------------- discovery
def test_status_lists_sources_modes_and_resolutions_of_the_configured_scanner(sane_backend) -> None:
    status = scanner().status()
    assert status.state == "ready"
    assert (status.device, status.vendor, status.model) == ("test:0", "Noname", "frontend-tester")
    assert status.sources == ["Flatbed", "ADF"]
    assert set(status.modes) == {"Color", "Gray", "Lineart"}
    assert status.resolutions == {"min": 1.0, "max": 1200.0, "step": 1.0}
    assert status.effective == {"source": "ADF", "mode": "Color", "resolution": 300}
    assert status.problems == []
    assert status.devices_found == ["test:0", "test:1"]


def test_status_with_no_device_named_takes_the_first_scanner_found(sane_backend) -> None:
    status = Scanner(ScannerConfig(device=None)).status()
    assert (status.state, status.device) == ("ready", "test:0")


def test_missing_scanner_is_a_state_and_scanning_it_tells_the_customer(sane_backend) -> None:
    missing = scanner(device="test:7")
    status = missing.status()
    assert status.state == "missing"
    assert "test:7" in status.problems[0]
    assert status.devices_found == ["test:0", "test:1"]
    with pytest.raises(ScannerUnavailable) as caught:
        missing.scan().result(60)
    assert caught.value.customer_message("en").startswith("The scanner cannot be used right now")


def test_no_scanner_at_all_is_reported_missing(sane_backend) -> None:
    sane_backend.load_backends()
    status = Scanner(ScannerConfig(device=None)).status()
    assert status.state == "missing"
    assert status.problems == ["no scanner found"]


def test_a_crashing_backend_is_an_error_state_not_a_crash(sane_backend) -> None:
    sane_backend.configure(number_of_devices=0)  # the test backend segfaults on this
    status = scanner().status()
    assert status.state == "error"
    assert "crashed" in status.problems[0]


def test_disabled_scanner_says_so_and_refuses_to_scan(sane_backend) -> None:
    off = scanner(enabled=False)
    assert off.status().state == "disabled"
    with pytest.raises(ScannerUnavailable):
        off.scan()


# ------------------------------------------------------------------------------------------- scanning
def test_flatbed_a4_colour_page_is_previewed_before_it_becomes_a_compact_pdf(sane_backend) -> None:
    recorder = Recorder()
    job = scanner(source="Flatbed").scan(recorder)
    result = job.result(60)

    kinds = [type(e) for e in recorder.events if not isinstance(e, PageProgress)]
    assert kinds == [ScanStarted, PageStarted, PagePreview, PageReady, ScanFinished]
    assert recorder.of(ScanStarted)[0] == ScanStarted("Flatbed", 300, "Color")
    assert "MainThread" not in recorder.threads  # events come from the background thread
    fractions = [e.fraction for e in recorder.of(PageProgress)]
    assert fractions == sorted(fractions) and fractions[-1] >= 0.95

    preview = recorder.of(PagePreview)[0]
    assert max(preview.image.size) <= 1200 and preview.image.mode == "RGB"
    assert preview.blank is False

    [page] = result.pages
    assert (page.width, page.height, page.dpi) == (*A4_300, 300)
    pdf = result.pdf()
    assert len(pdf) < 1_000_000
    [pdf_page] = pdf_pages(pdf)
    width_pt, height_pt = float(pdf_page.mediabox[2]), float(pdf_page.mediabox[3])
    assert abs(width_pt - 595.3) < 1 and abs(height_pt - 841.9) < 1  # A4 in points
    image = page_image(pdf_page)
    assert (int(image.Width), int(image.Height)) == A4_300
    assert filters(image) == ["/DCTDecode"] and image.ColorSpace == pikepdf.Name.DeviceRGB


def test_feeder_stack_of_ten_pages_becomes_a_ten_page_pdf_in_page_order(sane_backend) -> None:
    # After each page the plan worker raises the backend's resolution, so every page has its own width.
    plan = {n: {"resolution": 100 + 10 * n} for n in range(1, 10)}
    recorder = Recorder()
    result = scanner_with_plan(sane_backend, plan, resolution=100).scan(recorder).result(60)

    assert [p.number for p in result.pages] == list(range(1, 11))
    assert [e.page for e in recorder.of(PagePreview)] == list(range(1, 11))
    assert recorder.of(ScanStarted)[0].source == "ADF"
    widths = [int(page_image(p).Width) for p in pdf_pages(result.pdf())]
    assert widths == [int(210 / 25.4 * (100 + 10 * n)) for n in range(10)]  # the backend truncates


def test_auto_source_scans_the_glass_when_the_feeder_is_empty(sane_backend) -> None:
    plan = {0: {"__empty_feeder__": True}}
    recorder = Recorder()
    result = scanner_with_plan(sane_backend, plan, source="auto", resolution=75).scan(recorder).result(60)
    assert [e.source for e in recorder.of(ScanStarted)] == ["ADF", "Flatbed"]
    assert result.source == "Flatbed" and len(result.pages) == 1


def jpeg_quantization(quality: int) -> dict[int, Any]:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 100, 50)).save(out, "JPEG", quality=quality, subsampling="4:2:0")
    return Image.open(io.BytesIO(out.getvalue())).quantization  # type: ignore[attr-defined]


def test_a_page_over_the_size_budget_is_stepped_down_to_the_floor_quality(sane_backend) -> None:
    page_jpegs = {}
    for picture in ("Grid", "Color pattern"):
        sane_backend.configure(test_picture=picture)
        result = scanner(source="Flatbed").scan().result(60)
        page_jpegs[picture] = Image.open(io.BytesIO(bytes(result.pages[0].encoded)))
    assert page_jpegs["Grid"].quantization == jpeg_quantization(80)  # type: ignore[attr-defined]
    # Pixel-wide colour stripes stay over 1 MB at every quality: the floor is used.
    assert page_jpegs["Color pattern"].quantization == jpeg_quantization(60)  # type: ignore[attr-defined]


def test_grey_and_line_art_modes_give_grey_jpeg_and_lossless_g4_pages(sane_backend) -> None:
    grey = scanner(source="Flatbed", mode="Gray", resolution=150).scan().result(60)
    image = page_image(pdf_pages(grey.pdf())[0])
    assert image.ColorSpace == pikepdf.Name.DeviceGray and filters(image) == ["/DCTDecode"]

    line_art = scanner(source="Flatbed", mode="Lineart", resolution=300).scan().result(60)
    image = page_image(pdf_pages(line_art.pdf())[0])
    assert filters(image) == ["/CCITTFaxDecode"] and int(image.BitsPerComponent) == 1
    assert len(line_art.pdf()) < len(grey.pdf())


def test_blank_pages_are_offered_for_removal_and_left_out_on_request(sane_backend) -> None:
    plan = {1: {"test_picture": "Solid white"}, 2: {"test_picture": "Grid"}}
    recorder = Recorder()
    result = scanner_with_plan(sane_backend, plan, resolution=100).scan(recorder).result(60)
    assert result.blank_pages() == [2]
    assert [e.blank for e in recorder.of(PagePreview)] == [False, True] + [False] * 8
    assert len(pdf_pages(result.pdf())) == 10
    assert len(pdf_pages(result.pdf(skip=result.blank_pages()))) == 9


def test_a_failing_listener_does_not_stop_the_scan(sane_backend) -> None:
    def broken(event: ScanEvent) -> None:
        raise RuntimeError("a view bug")

    result = scanner(source="Flatbed", resolution=75).scan(broken).result(60)
    assert len(result.pages) == 1


def test_while_a_scan_runs_status_says_busy_and_a_second_scan_is_refused(sane_backend) -> None:
    sane_backend.configure(read_delay=True, read_delay_duration=10000)
    scan = scanner(source="Flatbed")
    job = scan.scan()
    try:
        assert scan.status().state == "busy"
        with pytest.raises(ScannerBusy):
            scan.scan()
    finally:
        job.cancel()
    with pytest.raises(ScanCancelled):
        job.result(30)
    sane_backend.configure()
    assert scan.status().state == "ready"


def test_a_prepared_scanner_scans_and_an_unused_one_ends_with_the_session(sane_backend) -> None:
    scan = scanner(source="Flatbed", resolution=100)
    scan.prepare()
    assert len(scan.scan().result(60).pages) == 1
    scan.prepare()
    spare = scan._spare
    assert spare is not None and spare.alive()
    scan.end_session()
    assert not spare.alive()


# ------------------------------------------------------------------------------------------- cancel
def test_cancel_mid_page_stops_the_scan_and_keeps_nothing(sane_backend) -> None:
    # 10 ms per 32 KB read: an A4 colour page would take about 8 s to read.
    sane_backend.configure(read_delay=True, read_delay_duration=10000)
    recorder = Recorder()
    jobs: list[ScanJob] = []
    job_known = threading.Event()

    def cancel_on_second_progress(event: ScanEvent) -> None:
        job_known.wait(10)
        recorder(event)
        if isinstance(event, PageProgress) and len(recorder.of(PageProgress)) == 2:
            jobs[0].cancel()

    jobs.append(scanner(source="Flatbed").scan(cancel_on_second_progress))
    job_known.set()
    with pytest.raises(ScanCancelled):
        jobs[0].result(60)
    assert not recorder.of(PagePreview) and not recorder.of(PageReady)
    assert max(e.fraction for e in recorder.of(PageProgress)) < 0.5
    assert recorder.events[-1] == ScanWasCancelled(1)
    assert jobs[0]._worker is not None
    assert jobs[0]._worker.proc.wait(10) is not None  # the worker process ends


def test_cancel_stops_a_scanner_that_does_not_answer(sane_backend) -> None:
    # A backend stuck in sane_read cannot be produced by the test backend; a worker that never answers
    # stands in for it. Cancel must still end the job (the worker is killed by its pid).
    hung = Scanner(ScannerConfig(device="test:0"),
                   worker_command=[sys.executable, "-c", "import time; time.sleep(600)"])
    job = hung.scan()
    job.cancel()
    with pytest.raises(ScanCancelled):
        job.result(30)
    assert job._worker is not None and job._worker.proc.returncode is not None


def test_a_scanner_that_stops_answering_is_reported_gone(sane_backend) -> None:
    hung = Scanner(ScannerConfig(device="test:0"), answer_timeout_s=1.0,
                   worker_command=[sys.executable, "-c", "import time; time.sleep(600)"])
    with pytest.raises(ScannerGone) as caught:
        hung.scan().result(30)
    assert "not answering" in caught.value.staff_message("en")


# ------------------------------------------------------------------------------------------- faults
FAULTS = [
    ("SANE_STATUS_JAMMED", ScannerJammed, "Paperi juuttui"),
    ("SANE_STATUS_NO_DOCS", ScannerOutOfDocuments, "Syöttölaitteessa ei ole papereita"),
    ("SANE_STATUS_COVER_OPEN", ScannerCoverOpen, "kansi on auki"),
    ("SANE_STATUS_DEVICE_BUSY", ScannerBusy, "varattu"),
    ("SANE_STATUS_IO_ERROR", ScannerIOError, "Skannauksessa tapahtui virhe"),
]


@pytest.mark.parametrize(("status", "error", "finnish"), FAULTS, ids=[f[0] for f in FAULTS])
def test_each_backend_fault_tells_customer_and_staff_in_three_languages(
    sane_backend: SaneTestBackend, status: str, error: type[ScannerError], finnish: str
) -> None:
    sane_backend.configure(read_status_code=status)
    recorder = Recorder()
    with pytest.raises(error) as caught:
        scanner(source="ADF", resolution=75).scan(recorder).result(60)
    fault = caught.value
    assert isinstance(fault, DeviceError)
    assert finnish in fault.customer_message("fi")
    customer = [fault.customer_message(lang) for lang in LANGS]
    staff = [fault.staff_message(lang) for lang in LANGS]
    assert len(set(customer)) == 3 and len(set(staff)) == 3
    assert set(customer).isdisjoint(staff)
    assert fault.stopped_at == 1 and fault.kept_pages == 0
    assert "(stopped at page 1; 0 page(s) kept)" in fault.staff_message("en")
    assert recorder.events[-1] == ScanFailed(fault)


def test_a_worker_ends_by_itself_after_every_backend_fault(sane_backend) -> None:
    # A fault on the first read makes the worker sane_cancel() while the test backend's reader thread is
    # still writing; sane_cancel closes that thread's pipe and cancels it asynchronously as it exits. It
    # used to die holding the dynamic loader's lock in about 2 % of jobs on a loaded 2-core machine, and
    # the worker then hung in sane_exit until the driver killed it. Racy by nature, so many jobs; each
    # worker must exit with its own fault status, never be killed (-9).
    sane_backend.configure(read_status_code="SANE_STATUS_JAMMED")
    codes = []
    for _ in range(40):
        job = scanner(source="ADF", resolution=75).scan()
        with pytest.raises(ScannerJammed):
            job.result(60)
        assert job._worker is not None
        codes.append(job._worker.proc.wait(30))
    assert set(codes) == {1}


def test_jam_mid_stack_keeps_the_good_pages_and_says_where_it_stopped(sane_backend) -> None:
    plan = {3: {"read_return_value": "SANE_STATUS_JAMMED"}}
    with pytest.raises(ScannerJammed) as caught:
        scanner_with_plan(sane_backend, plan, resolution=100).scan().result(60)
    fault = caught.value
    assert fault.stopped_at == 4 and fault.kept_pages == 3
    assert fault.result is not None and [p.number for p in fault.result.pages] == [1, 2, 3]
    assert len(pdf_pages(fault.result.pdf())) == 3
    assert fault.customer_message("en").endswith("Pages 1–3 were scanned and kept. Continue from page 4.")
    assert "Sivut 1–3 on skannattu" in fault.customer_message("fi")
    assert "Fortsätt från sida 4" in fault.customer_message("sv")
    assert "(stopped at page 4; 3 page(s) kept)" in fault.staff_message("en")


def test_scanner_unplugged_after_status_is_reported_gone_and_then_missing(sane_backend) -> None:
    unplugged = scanner(device="test:1")
    assert unplugged.status().state == "ready"
    sane_backend.configure(number_of_devices=1)  # test:1 no longer exists
    with pytest.raises(ScannerGone) as caught:
        unplugged.scan().result(60)
    assert caught.value.customer_message("en") == "The scanner cannot be reached. {staff_told}"
    assert unplugged.status().state == "missing"


def test_io_error_mid_stack_with_the_scanner_vanished_is_device_gone(sane_backend) -> None:
    plan = {2: {"read_return_value": "SANE_STATUS_IO_ERROR"}}

    def unplug_after_page_two(event: ScanEvent) -> None:
        if isinstance(event, PagePreview) and event.page == 2:
            sane_backend.configure(number_of_devices=1)

    with pytest.raises(ScannerGone) as caught:
        scanner_with_plan(sane_backend, plan, device="test:1", resolution=100).scan(
            unplug_after_page_two).result(60)
    assert caught.value.stopped_at == 3 and caught.value.kept_pages == 2


def test_worker_crash_mid_stack_keeps_the_pages_scanned_before_it(sane_backend) -> None:
    # The backend dying with the process (a segfault in a vendor backend) looks like this to the driver.
    plan = {2: {"__crash__": True}}
    crashing = Scanner(ScannerConfig(device="test:0", source="ADF", resolution=100),
                       worker_command=sane_backend.worker_with_plan(plan))
    with pytest.raises(ScannerGone) as caught:
        crashing.scan().result(60)
    assert caught.value.stopped_at == 3 and caught.value.kept_pages == 2


# ------------------------------------------------------------------------------------------- privacy
def test_end_of_session_wipes_every_scanned_page(sane_backend) -> None:
    scan = scanner(resolution=100)
    result = scan.scan().result(60)
    kept = [page.encoded for page in result.pages]
    assert len(kept) == 10 and all(len(b) > 1000 for b in kept)
    scan.end_session()
    assert result.pages == [] and result.discarded
    assert all(len(b) == 0 for b in kept)  # the compressed pages' buffers were emptied in place
    with pytest.raises(ValueError):
        result.pdf()


def test_delivery_hands_over_the_pdf_and_wipes_the_pages(sane_backend) -> None:
    result = scanner(source="Flatbed", resolution=100).scan().result(60)
    kept = result.pages[0].encoded
    pdf = result.deliver()
    assert len(pdf_pages(pdf)) == 1
    assert result.pages == [] and len(kept) == 0


def test_end_of_session_cancels_a_running_scan(sane_backend) -> None:
    sane_backend.configure(read_delay=True, read_delay_duration=10000)
    scan = scanner(source="Flatbed")
    job = scan.scan()
    scan.end_session()
    with pytest.raises(ScanCancelled):
        job.result(30)


JOURNEY = textwrap.dedent("""
    from drivers.scanner import Scanner
    from etapiste.config.point import ScannerConfig
    scan = Scanner(ScannerConfig(device="test:0", source="ADF", resolution=150))
    previews = []
    result = scan.scan(lambda e: previews.append(e)).result(120)
    assert len(result.pages) == 10
    pdf = result.deliver(skip=result.blank_pages())
    assert pdf.startswith(b"%PDF")
    scan.end_session()
    print("journey done", len(pdf))
""")


def test_a_customer_scan_creates_no_file_anywhere(sane_backend, tmp_path: Path) -> None:
    """Every file-creating or writing syscall of the kiosk side and the worker is traced (strace -f)."""
    strace = require_program("strace")
    trace = tmp_path / "trace.log"  # the trace itself is the only file, written by strace
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [strace, "-f", "-qq", "-e", "trace=%file,memfd_create", "-e", "signal=none", "-o", str(trace),
         sys.executable, "-c", JOURNEY],
        capture_output=True, env=env, cwd=tmp_path, timeout=240, check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert b"journey done" in done.stdout
    lines = trace.read_text(errors="replace").splitlines()
    # The worker was traced too: it is the process that opened the private SANE configuration.
    assert any(str(sane_backend.config_dir / "dll.conf") in line for line in lines)
    writes = []
    for line in lines:
        syscall = line.split(None, 1)[1] if " " in line else line
        if syscall.startswith(("open", "creat", "mkdir", "rename", "link", "symlink", "mknod", "truncate",
                               "memfd_create", "unlink")):
            creating = any(flag in syscall for flag in ("O_WRONLY", "O_RDWR", "O_CREAT", "O_TMPFILE"))
            if creating or not syscall.startswith("open"):
                if '"/dev/null"' in syscall or '"/dev/tty"' in syscall:
                    continue
                writes.append(syscall)
    assert writes == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trace.log"]
