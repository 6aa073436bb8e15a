"""The scanner driver: discovery, scanning with progress and cancel, a fast preview, a compressed PDF,
typed faults, and nothing of the customer's left on disk.

How it fits together::

    Scanner(config)                      one per point, built from etapiste.config.point.ScannerConfig
      .status()         -> ScannerStatus ready | busy | missing | disabled | error (never raises)
      .prepare()                         optional: start the worker while the customer places the paper
      .scan(listener)   -> ScanJob       runs in a background thread; events go to ``listener``
      .end_session()                     cancels a running job, wipes every result of the session
    ScanJob.cancel() / .result()         cancel works mid-page; result() raises ScannerError or ScanCancelled
    ScanResult.pages[i].preview          shown to the customer as soon as each page arrives
    ScanResult.blank_pages()             offered for removal
    ScanResult.pdf(skip=...)             compressed PDF in page order, for the agent
    ScanResult.deliver(skip=...)         the PDF, and the pages wiped in the same step
    ScanResult.discard()                 wipe without delivering (the customer changed their mind)

SANE itself runs in a short-lived worker process (:mod:`drivers.scanner_worker`, see there for why), which
also makes each page's preview and compressed form; both sides speak the typed protocol of
:mod:`drivers.scanner_ipc`. Those come back over a pipe and live only in this
process's memory: no file, no temporary directory, no tmpfs is used at all, and ``discard()`` zeroes the
buffers it owns before dropping them.

Compression: JPEG quality 80 (4:2:0), then 70, then 60 while a page exceeds 1 MB; line art CCITT G4; the
reasons and figures are in :mod:`drivers.scanpage`, which runs in the worker next to the pixels.
"""

from __future__ import annotations

import collections
import contextlib
import importlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, ClassVar, Literal

from PIL import Image

from drivers import scanner_ipc as ipc
from drivers.errors import DeviceError
from drivers.scanpage import wipe
from etapiste import texts
from etapiste.codes import ScannerCode
from etapiste.config.point import ScannerConfig
from etapiste.language import Language

log = logging.getLogger(__name__)

BLANK_INK_FRACTION = 0.002
"""A page with less than 0.2 % dark pixels (in the preview) is offered for removal as blank."""
CANCEL_GRACE_S = 3.0
"""How long a cancelled worker may take to stop on its own before it is killed."""


# ------------------------------------------------------------------------------------------- errors
class ScannerError(DeviceError):
    """A scanner fault. ``stopped_at`` is the page the scan stopped on; ``result`` holds the good pages
    scanned before it (possibly none), so a partly scanned stack is never lost."""

    code: ClassVar[ScannerCode] = "scanner_error"

    def __init__(self, detail: str = "", *, stopped_at: int | None = None,
                 result: ScanResult | None = None) -> None:
        super().__init__(detail or self.staff_template("en"))
        self.detail = detail
        self.stopped_at = stopped_at
        self.result = result

    @property
    def kept_pages(self) -> int:
        return len(self.result.pages) if self.result is not None else 0

    def customer_message(self, language: Language) -> str:
        text = self.customer_template(language)
        kept = self.kept_pages
        if kept:
            kept_key = "scanner.kept.one" if kept == 1 else "scanner.kept.many"
            text += " " + texts.text(kept_key, language, n=kept, next=kept + 1)
        return text

    def staff_message(self, language: Language) -> str:
        text = self.staff_template(language)
        if self.stopped_at is not None:
            text += " " + texts.text("scanner.stopped", language, at=self.stopped_at, kept=self.kept_pages)
        if self.detail:
            text += f" [{self.detail}]"
        return text


class ScannerJammed(ScannerError):
    code: ClassVar[ScannerCode] = "scanner_jammed"


class ScannerOutOfDocuments(ScannerError):
    code: ClassVar[ScannerCode] = "scanner_out_of_documents"


class ScannerCoverOpen(ScannerError):
    code: ClassVar[ScannerCode] = "scanner_cover_open"


class ScannerBusy(ScannerError):
    code: ClassVar[ScannerCode] = "scanner_busy"


class ScannerIOError(ScannerError):
    code: ClassVar[ScannerCode] = "scanner_io_error"


class ScannerGone(ScannerError):
    code: ClassVar[ScannerCode] = "scanner_gone"


class ScannerUnavailable(ScannerError):
    """Asked to scan while the scanner is missing or disabled (the state is in ``status()``)."""

    code: ClassVar[ScannerCode] = "scanner_unavailable"


class ScanCancelled(Exception):
    """The scan was cancelled; every page of it has been discarded."""


#: The worker's fault kinds (SANE's statuses, named in drivers/scanner_worker.py) mapped to our errors, whose
#: own ``code`` is what travels: this is the driver boundary, the kinds go no further.
_FAULTS: dict[str, type[ScannerError]] = {
    "jammed": ScannerJammed,
    "no_docs": ScannerOutOfDocuments,
    "cover_open": ScannerCoverOpen,
    "busy": ScannerBusy,
    "access_denied": ScannerBusy,
    "io_error": ScannerIOError,
    "invalid": ScannerIOError,
    "gone": ScannerGone,
    "missing": ScannerUnavailable,
}


# ------------------------------------------------------------------------------------------- status
@dataclass
class ScannerStatus:
    """What staff and ops see. ``state`` is ready, busy (scanning, or held by another program), missing,
    disabled or error (the backend crashed or hung while asked); never an exception."""

    state: Literal["ready", "busy", "missing", "disabled", "error"]
    device: str | None = None
    vendor: str | None = None
    model: str | None = None
    sources: list[str] = field(default_factory=list)
    modes: list[str] = field(default_factory=list)
    resolutions: dict[str, Any] = field(default_factory=dict)
    configured: dict[str, Any] = field(default_factory=dict)
    effective: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    devices_found: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)


# ------------------------------------------------------------------------------------------- events
@dataclass(frozen=True)
class ScanStarted:
    source: str
    resolution: int
    mode: str


@dataclass(frozen=True)
class PageStarted:
    page: int


@dataclass(frozen=True)
class PageProgress:
    page: int
    fraction: float
    """0…1 of this page read from the scanner."""


@dataclass(frozen=True)
class PagePreview:
    """The page for the screen, sent before it is compressed: show it now."""

    page: int
    image: Image.Image
    blank: bool


@dataclass(frozen=True)
class PageReady:
    """The page is compressed and will be in the PDF."""

    page: int
    size: int


@dataclass(frozen=True)
class ScanFinished:
    result: ScanResult


@dataclass(frozen=True)
class ScanFailed:
    error: ScannerError


@dataclass(frozen=True)
class ScanWasCancelled:
    page: int


ScanEvent = (ScanStarted | PageStarted | PageProgress | PagePreview | PageReady | ScanFinished | ScanFailed
             | ScanWasCancelled)
ScanListener = Callable[[ScanEvent], None]
"""Called on the scan's background thread, in order. A Qt view re-emits it as a signal; asyncio code
uses ``loop.call_soon_threadsafe``. It must not block for long: the next page waits for it."""


# ------------------------------------------------------------------------------------------- pages
@dataclass
class ScannedPage:
    number: int
    width: int
    height: int
    dpi: int
    mode: str
    preview: Image.Image
    blank: bool
    ink_fraction: float
    encoded: bytearray = field(default_factory=bytearray, repr=False)
    """JPEG (colour, grey) or CCITT G4 TIFF (line art), ready for img2pdf."""
    format: str = "jpeg"


@dataclass
class ScanResult:
    """The pages of one scan, in page order, in memory only."""

    source: str
    resolution: int
    mode: str
    pages: list[ScannedPage] = field(default_factory=list)
    discarded: bool = False

    def blank_pages(self) -> list[int]:
        """Page numbers that look blank; the kiosk offers to leave them out of the PDF."""
        return [p.number for p in self.pages if p.blank]

    def pdf(self, *, skip: Iterable[int] = ()) -> bytes:
        """A PDF of the pages in order, without the page numbers in ``skip``."""
        import img2pdf

        if self.discarded:
            raise ValueError("this scan was already discarded")
        skipped = set(skip)
        chosen = [bytes(p.encoded) for p in self.pages if p.number not in skipped]
        if not chosen:
            raise ValueError("no pages left to put in the PDF")
        return bytes(img2pdf.convert(chosen, nodate=True, engine=img2pdf.Engine.internal))

    def deliver(self, *, skip: Iterable[int] = ()) -> bytes:
        """The PDF for the agent, and the pages wiped at once: after delivery only the caller's PDF
        bytes remain, which it sends over the call and drops."""
        pdf = self.pdf(skip=skip)
        self.discard()
        return pdf

    def discard(self) -> None:
        """Forget every page: zero the compressed data, close the previews, empty the list."""
        for page in self.pages:
            wipe(page.encoded)
            page.encoded.clear()
            page.preview.close()
        self.pages.clear()
        self.discarded = True


# ------------------------------------------------------------------------------------------- worker
def default_worker_command() -> list[str]:
    return [sys.executable, "-m", "drivers.scanner_worker"]


def _worker_env() -> dict[str, str]:
    env = dict(os.environ)
    env["LC_ALL"] = "C"  # sane_strstatus() texts untranslated, so faults are recognised
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _read_exact(stream: IO[bytes], n: int) -> bytearray:
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        chunk = stream.readinto(view[got:])  # type: ignore[attr-defined]
        if not chunk:
            raise EOFError(f"worker stream ended after {got} of {n} bytes")
        got += chunk
    return buf


class _Worker:
    """The parent's side of one worker process."""

    def __init__(self, command: Sequence[str], request: ipc.Request | None = None) -> None:
        self.proc = subprocess.Popen(
            list(command), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=_worker_env(), cwd="/", start_new_session=True,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdout = self.proc.stdout
        self._stdin_lock = threading.Lock()
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=80)
        self._stderr_thread = threading.Thread(target=self._drain_stderr, name="scanner-worker-stderr",
                                               daemon=True)
        self._stderr_thread.start()
        if request is not None:
            self.request(request)

    def request(self, request: ipc.Request) -> None:
        self._write(ipc.encode_request(request))

    def alive(self) -> bool:
        return self.proc.poll() is None

    def _write(self, data: bytes) -> None:
        with self._stdin_lock, contextlib.suppress(OSError, ValueError):
            assert self.proc.stdin is not None
            self.proc.stdin.write(data)
            self.proc.stdin.flush()

    def cancel(self) -> None:
        self._write(ipc.CANCEL_LINE)

    def frames(self) -> Iterable[tuple[ipc.Frame, bytearray | None]]:
        """The worker's frames, each validated (:class:`~drivers.scanner_ipc.ProtocolError` if not)."""
        while True:
            head = self.stdout.read(4)
            if len(head) < 4:
                return
            frame, nbytes = ipc.decode_header(_read_exact(self.stdout, ipc.frame_length(head)))
            payload = _read_exact(self.stdout, nbytes) if nbytes is not None else None
            yield frame, payload

    def _drain_stderr(self) -> None:
        """Keep the last lines the worker printed (a backend's complaint), and never let it block."""
        assert self.proc.stderr is not None
        with contextlib.suppress(OSError, ValueError):
            for line in self.proc.stderr:
                self._stderr_tail.append(line.decode(errors="replace").rstrip())

    def stderr_tail(self, lines: int = 5) -> str:
        return " | ".join(list(self._stderr_tail)[-lines:])

    def dump_stacks(self) -> str:
        """Where a hung worker is stuck: it prints every thread's stack on SIGUSR1 (faulthandler)."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGUSR1)
            time.sleep(0.5)
        return "\n".join(self._stderr_tail)

    def stop(self, grace: float = CANCEL_GRACE_S) -> None:
        """Let the worker finish, else kill its process group (by its pid)."""
        with contextlib.suppress(OSError, ValueError):
            assert self.proc.stdin is not None
            self.proc.stdin.close()
        try:
            self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, 9)
            self.proc.wait()
        self._stderr_thread.join(1.0)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError, ValueError):
                    stream.close()

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, 9)


# ------------------------------------------------------------------------------------------- job
class ScanJob:
    """One scan running in the background. Create with :meth:`Scanner.scan`."""

    def __init__(self, scanner: Scanner, listener: ScanListener | None) -> None:
        self._scanner = scanner
        self._listener = listener
        self._cancelled = threading.Event()
        self._done = threading.Event()
        self._worker: _Worker | None = None
        self._result: ScanResult | None = None
        self._received = 0
        self._last_frame = time.monotonic()
        self._silent = False
        self._device_name: str | None = None
        self._source: str | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="scan-job", daemon=True)
        self._thread.start()

    # -- public ---------------------------------------------------------------------------------------
    def cancel(self) -> None:
        """Stop now, mid-page if need be; the pages are discarded. Safe from any thread."""
        self._cancelled.set()
        worker = self._worker
        if worker is not None:
            self._stop_worker(worker)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def result(self, timeout: float | None = None) -> ScanResult:
        """The scanned pages; raises :class:`ScannerError` (with the good pages) or :class:`ScanCancelled`."""
        if not self._done.wait(timeout):
            raise TimeoutError("the scan is still running")
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result

    # -- internals ------------------------------------------------------------------------------------
    def _stop_worker(self, worker: _Worker) -> None:
        """Ask the worker to cancel (sane_cancel within 32 scan lines); kill it if it has not stopped in time."""
        worker.cancel()
        timer = threading.Timer(CANCEL_GRACE_S, self._kill_if_running, args=(worker,))
        timer.daemon = True
        timer.start()

    def _kill_if_running(self, worker: _Worker) -> None:
        if not self._done.is_set():
            worker.kill()

    def _watchdog(self, worker: _Worker) -> None:
        """A backend that stops answering (stuck USB transfer) is killed; the job then fails as gone."""
        limit = self._scanner.answer_timeout_s
        while not self._done.wait(min(1.0, limit / 4)):
            if time.monotonic() - self._last_frame > limit and worker.proc.poll() is None:
                self._silent = True  # first: the dump below may already end the worker
                log.warning("scanner worker silent for %.0f s: killing it; its threads:\n%s", limit,
                            worker.dump_stacks())
                worker.kill()
                return

    def _emit(self, event: ScanEvent) -> None:
        if self._listener is None:
            return
        try:
            self._listener(event)
        except Exception:  # a broken view must not break the scan
            log.exception("scan listener failed on %s", type(event).__name__)

    def _run(self) -> None:
        result = ScanResult(source="", resolution=0, mode="")
        error: BaseException | None
        try:
            error = self._talk(result)
        except Exception as exc:  # the worker could not even start
            log.exception("scanner worker failed")
            error = ScannerIOError(f"worker: {type(exc).__name__}: {exc}", stopped_at=self._received + 1)
        if error is None and self._cancelled.is_set():
            error = ScanCancelled(self._received + 1)
        if isinstance(error, ScanCancelled):
            result.discard()
        else:
            self._scanner._register(result)  # also the good pages of a partly scanned stack
        if isinstance(error, ScannerError):
            error.result = result
        self._result, self._error = result, error
        self._done.set()
        if isinstance(error, ScannerError):
            self._emit(ScanFailed(error))
        elif isinstance(error, ScanCancelled):
            self._emit(ScanWasCancelled(error.args[0] if error.args else 0))
        else:
            self._emit(ScanFinished(result))

    def _talk(self, result: ScanResult) -> BaseException | None:
        config = self._scanner.config
        request = ipc.ScanRequest(config.device, config.resolution, config.mode, config.source)
        worker = self._worker = self._scanner._take_worker()
        worker.request(request)
        if self._cancelled.is_set():
            self._stop_worker(worker)
        self._last_frame = time.monotonic()
        threading.Thread(target=self._watchdog, args=(worker,), name="scan-watchdog", daemon=True).start()
        outcome: BaseException | None = None
        finished = False
        previewed: dict[int, ScannedPage] = {}
        try:
            for frame, payload in worker.frames():
                self._last_frame = time.monotonic()
                if isinstance(frame, ipc.Opened):
                    self._device_name, self._source = frame.device, frame.source
                    result.source, result.resolution, result.mode = frame.source, frame.resolution, frame.mode
                    self._emit(ScanStarted(result.source, result.resolution, result.mode))
                elif isinstance(frame, ipc.PageStarted):
                    self._emit(PageStarted(frame.page))
                elif isinstance(frame, ipc.Progress):
                    self._emit(PageProgress(frame.page, frame.fraction))
                elif isinstance(frame, ipc.Preview) and payload is not None:
                    self._received = frame.page
                    page = self._preview(frame, payload, result)
                    previewed[page.number] = page
                    self._emit(PagePreview(page.number, page.preview, page.blank))
                elif isinstance(frame, ipc.Encoded) and payload is not None:
                    page = previewed.pop(frame.page)
                    page.encoded, page.format = payload, frame.format
                    if self._cancelled.is_set():
                        wipe(payload)
                        continue
                    result.pages.append(page)
                    self._emit(PageReady(page.number, len(payload)))
                elif isinstance(frame, ipc.Done):
                    finished = True
                    break
                elif isinstance(frame, ipc.Cancelled):
                    outcome = ScanCancelled(frame.page)
                    break
                elif isinstance(frame, ipc.Fault):
                    outcome = self._fault(frame)
                    break
        except (EOFError, ValueError, KeyError) as exc:
            log.warning("scanner worker stream broke: %s", exc)
        finally:
            for page in previewed.values():
                page.preview.close()
        if outcome is None and not finished:
            worker.stop(CANCEL_GRACE_S)  # the stream ended without a final frame: the worker is dead
            if self._cancelled.is_set():
                outcome = ScanCancelled(self._received + 1)
            else:  # the worker died mid-scan: the backend crashed or the device vanished
                stopped = len(result.pages) + 1  # a page previewed but not yet compressed is lost too
                why = "not answering" if self._silent else f"worker exited {worker.proc.returncode}"
                outcome = ScannerGone(f"{why}: {worker.stderr_tail()}", stopped_at=stopped)
        else:
            # The final frame is all we need: the worker parks the device and exits in its own time
            # (killed if it hangs there) without delaying the customer's result.
            threading.Thread(target=worker.stop, name="scan-reaper", daemon=True).start()
        return outcome

    def _fault(self, fault: ipc.Fault) -> ScannerError:
        kind = fault.kind
        page = fault.page or self._received + 1
        if kind == "no_docs" and (page > 1 or self._source == "Flatbed"):
            kind = "io_error"  # not an empty feeder: a flatbed, or a feeder that stopped mid-stack
        if kind == "missing" and self._scanner._seen_device:
            kind = "gone"  # it was there a moment ago
        if kind == "io_error":
            # An I/O error and the device no longer listed: it was unplugged or lost power.
            name = self._device_name or self._scanner.config.device
            probe = self._scanner._probe(timeout=5.0)
            if probe is None or name not in [d[0] for d in probe.devices]:
                kind = "gone"
        cls = _FAULTS.get(kind, ScannerIOError)
        return cls(fault.detail, stopped_at=page)

    def _preview(self, frame: ipc.Preview, payload: bytearray, result: ScanResult) -> ScannedPage:
        size = (frame.size[0], frame.size[1])
        preview = Image.frombytes(frame.mode, size, payload)
        wipe(payload)
        ink = frame.ink
        return ScannedPage(number=frame.page, width=frame.width, height=frame.height, dpi=frame.dpi,
                           mode=result.mode,
                           preview=preview, blank=ink < BLANK_INK_FRACTION, ink_fraction=ink)


# ------------------------------------------------------------------------------------------- scanner
class Scanner:
    """The point's scanner, as configured by ``devices.scanner`` of the bundle."""

    def __init__(self, config: ScannerConfig | None = None, *,
                 worker_command: Sequence[str] | None = None, answer_timeout_s: float = 90.0) -> None:
        """``worker_command`` runs :mod:`drivers.scanner_worker`; override it to wrap the worker in a
        sandbox (bwrap, systemd-run) or, in tests, to inject faults at the SANE backend.
        ``answer_timeout_s``: silence after which the backend is declared hung (a lamp warm-up or a
        slow first page can take tens of seconds on real flatbeds, so it is generous)."""
        self.config = config or ScannerConfig()
        self.answer_timeout_s = answer_timeout_s
        self.worker_command = list(worker_command or default_worker_command())
        self._results: list[ScanResult] = []
        self._jobs: list[ScanJob] = []
        self._lock = threading.Lock()
        self._seen_device = False
        self._spare: _Worker | None = None
        # img2pdf (with pikepdf) takes ~0.15 s to import: load it in the background now, not after
        # the customer's last page.
        threading.Thread(target=importlib.import_module, args=("img2pdf",), name="img2pdf-import",
                         daemon=True).start()

    def prepare(self) -> None:
        """Start a worker ahead of the scan (when the customer opens the scan view): the interpreter and
        libraries load while the paper is being placed, so the first page starts ~60 ms sooner."""
        with self._lock:
            if self._spare is None or not self._spare.alive():
                self._spare = _Worker(self.worker_command)

    def _take_worker(self) -> _Worker:
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None and spare.alive():
            return spare
        if spare is not None:
            spare.stop(0.1)
        return _Worker(self.worker_command)

    # -- discovery ------------------------------------------------------------------------------------
    def _probe(self, timeout: float = 10.0) -> ipc.Probe | None:
        worker = _Worker(self.worker_command, ipc.ProbeRequest(self.config.device))
        timer = threading.Timer(timeout, worker.kill)
        timer.start()
        try:
            for frame, _ in worker.frames():
                if isinstance(frame, ipc.Probe):
                    return frame
                if isinstance(frame, ipc.Fault):
                    return ipc.Probe(devices=[], device=None, capabilities=None, error=frame.detail or frame.kind)
            return None
        except (EOFError, ValueError):
            return None
        finally:
            timer.cancel()
            worker.stop(1.0)

    def status(self) -> ScannerStatus:
        """Where the scanner stands now. A missing or broken scanner is a state, never an exception."""
        cfg = self.config
        configured = {"device": cfg.device, "resolution": cfg.resolution, "mode": cfg.mode,
                      "source": cfg.source}
        if not cfg.enabled:
            return ScannerStatus("disabled", configured=configured)
        if self._running():  # probing now would only find our own scan holding the device
            return ScannerStatus("busy", device=cfg.device, configured=configured, problems=["a scan is running"])
        probe = self._probe()
        if probe is None:
            return ScannerStatus("error", configured=configured,
                                 problems=["the SANE worker did not answer (backend hung or crashed)"])
        devices = probe.devices
        names = [d[0] for d in devices]
        caps = probe.capabilities
        if caps is None and probe.error in ("busy", "access_denied") and probe.device in names:
            return ScannerStatus("busy", device=probe.device, configured=configured, devices_found=names,
                                 problems=["the scanner is in use by another program"])
        if caps is None:
            self._seen_device = False
            problem = (f"configured device {cfg.device!r} not found" if cfg.device else "no scanner found")
            if probe.error:
                problem += f" ({probe.error})"
            return ScannerStatus("missing", device=probe.device, configured=configured,
                                 problems=[problem], devices_found=names)
        self._seen_device = True
        from drivers.scanner_worker import nearest_resolution

        info = next((d for d in devices if d[0] == probe.device), [probe.device, None, None, None])
        problems = []
        sources, modes = list(caps["sources"]), list(caps["modes"])
        effective_source: str = ("ADF" if "ADF" in sources else "Flatbed") if cfg.source == "auto" else cfg.source
        if cfg.source != "auto" and cfg.source not in sources:
            problems.append(f"configured source {cfg.source} not offered; using {sources[0]}")
            effective_source = sources[0]
        effective_mode: str = cfg.mode
        if cfg.mode not in modes:
            problems.append(f"configured mode {cfg.mode} not offered; using {modes[0] if modes else '-'}")
            effective_mode = modes[0] if modes else ""
        resolution = nearest_resolution(cfg.resolution, caps["resolution"])
        if resolution != cfg.resolution:
            problems.append(f"configured resolution {cfg.resolution} dpi not offered; using {resolution}")
        return ScannerStatus(
            "ready", device=info[0], vendor=info[1], model=info[2], sources=sources, modes=modes,
            resolutions=dict(caps["resolution"]), configured=configured,
            effective={"source": effective_source, "mode": effective_mode, "resolution": resolution},
            problems=problems, devices_found=names,
        )

    # -- scanning -------------------------------------------------------------------------------------
    def scan(self, listener: ScanListener | None = None) -> ScanJob:
        """Start scanning the flatbed page or the feeder's stack; returns at once."""
        if not self.config.enabled:
            raise ScannerUnavailable("scanner disabled in the configuration")
        if self._running():
            raise ScannerBusy("a scan is already running (pressed twice?)")
        job = ScanJob(self, listener)
        with self._lock:
            self._jobs.append(job)
        return job

    def _running(self) -> bool:
        with self._lock:
            return any(not job.done for job in self._jobs)

    def _register(self, result: ScanResult) -> None:
        with self._lock:
            self._results.append(result)

    def end_session(self) -> None:
        """The customer's session is over: cancel what runs and wipe every page it scanned."""
        with self._lock:
            jobs, self._jobs = self._jobs, []
            spare, self._spare = self._spare, None
        if spare is not None:
            spare.stop(0.5)  # it holds nothing yet; closing its stdin ends it
        for job in jobs:
            if not job.done:
                job.cancel()
        for job in jobs:
            job._done.wait(CANCEL_GRACE_S + 2)
        with self._lock:
            results, self._results = self._results, []
        for result in results:
            result.discard()


__all__ = [
    "PagePreview", "PageProgress", "PageReady", "PageStarted", "ScanCancelled", "ScanEvent", "ScanFailed",
    "ScanFinished", "ScanJob", "ScanListener", "ScanResult", "ScanStarted", "ScanWasCancelled", "ScannedPage",
    "Scanner", "ScannerBusy", "ScannerCoverOpen", "ScannerError", "ScannerGone", "ScannerIOError",
    "ScannerJammed", "ScannerOutOfDocuments", "ScannerStatus", "ScannerUnavailable",
]
