"""The scanner worker: the only process that talks to SANE (run as ``python -m drivers.scanner_worker``).

Why a separate process rather than a thread in the kiosk:

* a SANE backend can block inside ``sane_read`` forever (a stuck USB transfer; ``scanimage`` is known to
  hang after some errors) or crash — the kiosk must stay responsive, and killing the worker is a cancel
  that always works;
* ``sane_init()`` reads ``SANE_CONFIG_DIR`` and enumerates devices once per process: a fresh worker per job
  sees a scanner that was plugged in later, and tests point each job at their own private configuration;
* the page's imaging (preview, blank measure, JPEG) happens here, next to the 26 MB of raw pixels, so they
  never enter the kiosk process, which is busy with the video call; page *n* is compressed on a second
  thread while page *n + 1* is read.

The protocol with the parent (pipes only, nothing on disk) is :mod:`drivers.scanner_ipc`, which both sides
import: one request line on stdin, then ``cancel`` lines; length-prefixed frames with payloads on stdout.
"""

from __future__ import annotations

import contextlib
import os
import queue
import sys
import threading
import time
from collections.abc import Callable
from typing import IO, Any

from drivers.scanner_ipc import (
    FINAL_TYPES,
    Cancelled,
    Capabilities,
    Done,
    Encoded,
    Fault,
    FinalFrame,
    Frame,
    Opened,
    PageStarted,
    Preview,
    Probe,
    ProbeRequest,
    Progress,
    Request,
    Resolution,
    ScanRequest,
    decode_request,
    encode_header,
)

#: sane_strstatus() texts (the worker runs with LC_ALL=C so they are never translated) → our fault kind.
STATUS_KINDS = {
    "Document feeder jammed": "jammed",
    "Document feeder out of documents": "no_docs",
    "Scanner cover is open": "cover_open",
    "Device busy": "busy",
    "Error during device I/O": "io_error",
    "Operation was canceled": "cancelled",
    "Operation was cancelled": "cancelled",
    "Invalid argument": "invalid",
    "Access to resource has been denied": "access_denied",
    "Out of memory": "io_error",
}

A4_MM = (210.0, 297.0)

BACKEND_SETTLE_S = 2.0
"""How long the worker waits for a backend's reader thread to end (or to park in the kernel) before it lets
SANE cancel that thread; past it, it goes on regardless (the parent kills a worker that then hangs)."""


# ------------------------------------------------------------------------------------------- backend threads
# Backends built on sanei_thread (the test backend among them) read each page in a pthread of their own,
# running with PTHREAD_CANCEL_ASYNCHRONOUS, and sane_cancel() — also called by sane_read() itself on the
# read that completes the page — pthread_cancel()s it. Cancelled while it holds a lock inside libc or the
# dynamic loader (its start-up malloc, its final free() and pthread_exit()), the thread dies holding that
# lock: pthread_join() in sane_cancel then never returns, or the next dlclose()/malloc of this process
# (sane_exit) blocks for ever. Seen: a worker stuck in sane_exit -> dlclose on _dl_load_lock whose owner
# was the dead reader thread. So the worker lets SANE cancel that thread only once it has ended, or is
# parked in the kernel (a blocked pipe write or a sleep, where it holds no such lock).
def _task_ids() -> set[str]:
    try:
        return set(os.listdir("/proc/self/task"))
    except OSError:  # no /proc: nothing to watch, nothing waited for
        return set()


def _parked(tid: str) -> bool | None:
    """None if the thread has ended; True if it sleeps in the kernel outside a lock wait; else False."""
    try:
        with open(f"/proc/self/task/{tid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        with open(f"/proc/self/task/{tid}/wchan") as f:
            wchan = f.read()
    except (OSError, IndexError):
        return None
    if state in ("Z", "X"):
        return None
    return state in ("S", "D") and "futex" not in wchan


def load_unwinder() -> None:
    """Have glibc load its unwinder link (libgcc_s) now, while this process has one thread.

    A reader thread's pthread_exit() loads it on first use — dlopen() under the loader's lock — unless it
    is loaded already; sane_cancel() first closes the thread's pipe (its blocked write fails, it exits)
    and then cancels it, so that first pthread_exit() and the asynchronous cancel meet, and the thread
    died holding _dl_load_lock. glibc's backtrace() loads the same link (glibc >= 2.34)."""
    with contextlib.suppress(Exception):
        import ctypes

        frames = (ctypes.c_void_p * 1)()
        ctypes.CDLL(None).backtrace(frames, 1)


def settle_threads(tids: set[str], *, ended: bool, timeout: float = BACKEND_SETTLE_S) -> bool:
    """Wait until every thread in ``tids`` has ended (``ended``) or is at least parked; False on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        alive = [state for state in map(_parked, tids) if state is not None]
        if not alive or (not ended and all(alive)):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.001)


def _write_all(out: IO[bytes], data: Any) -> None:
    """Write every byte: a raw pipe write may take only part of a 26 MB page."""
    view = memoryview(data).cast("B")
    while view:
        written = out.write(view)
        view = view[written or 0 :]


def classify(exc: BaseException) -> str:
    """Our fault kind for a SANE error (python-sane raises with the status *text* only)."""
    return STATUS_KINDS.get(str(exc).strip(), "io_error")


def source_kind(name: str) -> str:
    """``ADF``, ``Flatbed`` or ``other`` for a backend's own source name (they differ per vendor)."""
    low = name.lower()
    if "duplex" in low or "back" in low:
        return "other"
    if "adf" in low or "feeder" in low:
        return "ADF"
    if "flatbed" in low or "platen" in low or "document table" in low or low == "normal":
        return "Flatbed"
    return "other"


#: Device mode names seen in SANE backends → the configuration's vocabulary.
MODE_NAMES = {
    "color": "Color", "colour": "Color", "24bit color": "Color",
    "gray": "Gray", "grey": "Gray", "grayscale": "Gray", "8bit gray": "Gray",
    "lineart": "Lineart", "binary": "Lineart", "black & white": "Lineart", "halftone": "",
}


class Worker:
    """One job: a probe or a scan. Subclassed by the test harness to inject faults mid-stack."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.cancel = threading.Event()
        self._lock = threading.Lock()
        self._finished = False
        self.backend_threads: set[str] = set()
        """The threads SANE started for the current page (see settle_threads)."""
        self.pages: queue.Queue[tuple[int, Any, Any, str, int] | None] = queue.Queue()

    # -- framing -------------------------------------------------------------------------------------
    def send(self, frame: Frame, payload: Any = None) -> None:
        if self._finished and not isinstance(frame, FINAL_TYPES):
            return  # nothing after the final frame
        nbytes = len(memoryview(payload).cast("B")) if payload is not None else None
        data = encode_header(frame, nbytes)
        with self._lock:
            _write_all(self.out, data)
            if payload is not None:
                _write_all(self.out, payload)

    def watch_stdin(self, fd: int, pending: bytes) -> None:
        """Read ``cancel`` lines from the raw stdin fd (no buffered reader: a daemon thread holding its
        lock would abort the interpreter at exit)."""

        def run() -> None:
            data = pending
            while True:
                if b"cancel" in data:
                    self.cancel.set()
                chunk = os.read(fd, 4096)
                if not chunk:
                    break
                data = data[-8:] + chunk
            self.cancel.set()  # the parent closed the pipe or died: stop

        threading.Thread(target=run, name="scanner-worker-stdin", daemon=True).start()

    # -- hooks ---------------------------------------------------------------------------------------
    def before_first_page(self, dev: Any) -> None:
        """Called once the device is set up, before the first page; a harness hook like after_page."""

    def after_page(self, dev: Any, page: int) -> None:
        """Called between ADF pages; the harness overrides it to inject a fault at the backend."""

    def wait_encoded(self) -> None:
        """Block until every page read so far has been compressed and sent."""
        self.pages.join()

    # -- the device ----------------------------------------------------------------------------------
    def start(self, dev: Any) -> None:
        """sane_start, noting the reader threads the backend starts for the page."""
        before = _task_ids()
        try:
            dev.start()
        finally:
            self.backend_threads = _task_ids() - before

    def snap(self, dev: Any, progress: Callable[[int, int], None] | None = None) -> Any:
        """Read the started page (python-sane's snap, without its sane_cancel). Before the last scan line
        is read — the read on which the backend cancels its reader thread — wait for that thread to end."""

        def on_line(line: int, total: int) -> None:
            if (line == total - 1 and self.backend_threads
                    and not settle_threads(self.backend_threads, ended=True)):
                print("scanner worker: the backend's reader thread did not end", file=sys.stderr)
            if progress is not None:
                progress(line, total)

        return dev.dev.snap(True, True, on_line)

    def cancel_device(self, dev: Any) -> None:
        """sane_cancel, once the backend's reader thread has ended or is parked (see settle_threads)."""
        if self.backend_threads and not settle_threads(self.backend_threads, ended=False):
            print("scanner worker: cancelling a busy backend reader thread", file=sys.stderr)
        dev.cancel()

    # -- operations ----------------------------------------------------------------------------------
    def run(self, request: Request) -> int:
        import sane  # imported here: the kiosk process itself never loads libsane

        try:
            sane.init()
        except Exception as exc:
            self.send(Fault("io_error", 0, f"sane_init: {exc}"))
            return 1
        try:
            if isinstance(request, ProbeRequest):
                return self.probe(sane, request.device)
            return self.scan(sane, request)
        finally:
            sane.exit()

    def probe(self, sane: Any, wanted: str | None) -> int:
        devices = [list(d) for d in sane.get_devices()]
        name = wanted or (devices[0][0] if devices else None)
        caps: Capabilities | None = None
        error = None
        if name is not None:
            try:
                dev = sane.open(name)
            except Exception as exc:
                error = classify(exc)
            else:
                try:
                    caps = capabilities(dev)
                finally:
                    dev.close()
        self.send(Probe(devices, name, caps, error))
        return 0

    def scan(self, sane: Any, req: ScanRequest) -> int:
        name = req.device
        if not name:
            found = sane.get_devices()
            if not found:
                self.send(Fault("missing", 1, "no SANE device found"))
                return 1
            name = found[0][0]
        try:
            dev = sane.open(name)
        except Exception as exc:
            listed = any(d[0] == name for d in sane.get_devices())
            kind = classify(exc) if listed else "missing"
            self.send(Fault(kind, 1, f"open {name}: {exc}"))
            return 1
        try:
            return self._scan_open(dev, name, req)
        finally:
            try:
                self.cancel_device(dev)
            finally:
                dev.close()

    def _scan_open(self, dev: Any, name: str, req: ScanRequest) -> int:
        """Scan with a second thread compressing page *n* while page *n + 1* is read (both release the
        GIL). The final frame (done, fault, cancelled) is sent only after every good page was."""
        pages: queue.Queue[tuple[int, Any, Any, str, int] | None] = queue.Queue(maxsize=2)
        self.pages = pages
        encoder = threading.Thread(target=self._encode, args=(pages,), name="scanner-worker-encoder")
        encoder.start()
        try:
            final = self._read_pages(dev, name, req, pages)
        except Exception as exc:  # never leave the parent without a final frame
            final = Fault(classify(exc), 0, f"{type(exc).__name__}: {exc}")
        if isinstance(final, Cancelled):
            self.cancel.set()
        pages.put(None)
        encoder.join()
        self.finish(final)
        return 1 if isinstance(final, Fault) else 0

    def finish(self, final: FinalFrame) -> None:
        """Send the final frame (done, fault or cancelled), once."""
        if not self._finished:
            self._finished = True
            with contextlib.suppress(OSError):
                self.send(final)

    def _encode(self, pages: queue.Queue[tuple[int, Any, Any, str, int] | None]) -> None:
        from drivers.scanpage import encode_page, wipe

        while (item := pages.get()) is not None:
            number, image, raw, mode, dpi = item
            if not self.cancel.is_set():
                fmt, data = encode_page(image, mode, dpi)
                self.send(Encoded(number, fmt), data)
            image.close()
            if isinstance(raw, bytearray):
                wipe(raw)  # the customer's raw pixels: gone now
            del image, raw
            pages.task_done()

    def _read_pages(self, dev: Any, name: str, req: ScanRequest,
                    pages: queue.Queue[tuple[int, Any, Any, str, int] | None]) -> FinalFrame:
        from PIL import Image

        from drivers.scanpage import ink_fraction, make_preview

        caps = capabilities(dev)
        try:
            chosen = configure(dev, caps, req)
        except Exception as exc:
            return Fault(classify(exc), 1, f"set options: {exc}")
        sources: list[str] = [chosen["source"]]
        if req.source == "auto" and chosen["source"] == "ADF" and "Flatbed" in caps["sources"]:
            sources.append("Flatbed")  # an empty feeder in "auto" means: the paper is on the glass
        self.send(Opened(name, chosen["source"], chosen["resolution"], chosen["mode"]))
        self.before_first_page(dev)
        page = 0
        for attempt, source in enumerate(sources):
            if attempt:
                set_source(dev, caps, source)
                self.send(Opened(name, source, chosen["resolution"], chosen["mode"]))
            adf = source == "ADF"
            while True:
                if self.cancel.is_set():
                    return Cancelled(page + 1)
                page += 1
                try:
                    self.start(dev)
                    params = dev.get_parameters()
                    self.send(PageStarted(page, params[2][0], params[2][1]))
                    # No sane_cancel() in snap, even for the flatbed: only after the final frame, and
                    # only once the backend's reader thread is safe to cancel (settle_threads).
                    data, width, height, samples, sample_size = self.snap(dev, self._progress(page, dev))
                except Exception as exc:
                    kind = "cancelled" if self.cancel.is_set() else classify(exc)
                    if kind == "cancelled":
                        return Cancelled(page)
                    if kind == "no_docs" and adf and page > 1:
                        return Done(page - 1)
                    if kind == "no_docs" and page == 1 and attempt + 1 < len(sources):
                        self.cancel_device(dev)
                        page = 0
                        break  # try the flatbed
                    return Fault(kind, page, str(exc))
                if self.cancel.is_set():
                    return Cancelled(page)
                if sample_size == 2:  # 16-bit backends: keep the high byte (screens and JPEG are 8-bit)
                    import numpy

                    data = bytearray((numpy.frombuffer(data, "<u2") >> 8).astype(numpy.uint8).tobytes())
                pil_mode = "RGB" if samples == 3 else "L"
                image = Image.frombuffer(pil_mode, (width, height), data, "raw", pil_mode, 0, 1)
                preview = make_preview(image)
                self.send(Preview(page, width, height, chosen["resolution"], pil_mode, list(preview.size),
                                  ink_fraction(preview)), preview.tobytes())
                preview.close()
                pages.put((page, image, data, chosen["mode"], chosen["resolution"]))
                del image, data
                if not adf:
                    return Done(page)
                self.after_page(dev, page)
        return Done(page)

    def _progress(self, page: int, dev: Any) -> Callable[[int, int], None]:
        """python-sane's per-scan-line callback, looking only every 32 lines (< 3 mm at 300 dpi)."""
        report = self._reporter(page, dev)

        def progress(line: int, total: int) -> None:
            if line & 31 == 0 or line == total:
                report(line / total if total > 0 else 0.0)

        return progress

    def _reporter(self, page: int, dev: Any) -> Callable[[float], None]:
        """Progress frames at most every 5 % or 0.2 s; and the place where a cancel takes effect."""
        last = [0.0, -1.0]

        def report(fraction: float) -> None:
            if self.cancel.is_set():
                # Tell the parent first: after sane_cancel() this process may not get to say anything
                # (a backend may still hang there); the parent kills a worker that does not exit in time.
                self.finish(Cancelled(page))
                self.cancel_device(dev)  # from the reading thread: the next sane_read stops
                return
            now = time.monotonic()
            if fraction - last[1] >= 0.05 or (now - last[0] > 0.2 and fraction > last[1]):
                last[0], last[1] = now, fraction
                self.send(Progress(page, round(fraction, 4)))

        return report


def capabilities(dev: Any) -> Capabilities:
    """What the device offers, in the configuration's vocabulary, plus the backend's own names."""
    opts = {o[1]: o for o in dev.get_options() if o[1]}

    def constraint(name: str) -> Any:
        return opts[name][8] if name in opts else None

    raw_sources = constraint("source") or []
    sources: dict[str, str] = {}
    for s in raw_sources if isinstance(raw_sources, list) else []:
        kind = source_kind(s)
        if kind != "other" and kind not in sources:
            sources[kind] = s
    if not sources:
        sources["Flatbed"] = ""  # a device without a source option is a flatbed
    raw_modes = constraint("mode") or []
    modes: dict[str, str] = {}
    for m in raw_modes if isinstance(raw_modes, list) else []:
        ours = MODE_NAMES.get(m.lower(), "")
        if ours and ours not in modes:
            modes[ours] = m
    depths = constraint("depth")
    if "Lineart" not in modes and "Gray" in modes and isinstance(depths, list) and 1 in depths:
        modes["Lineart"] = modes["Gray"] + "@1"  # grey at 1 bit per pixel is line art
    res = constraint("resolution")
    resolution: Resolution
    if isinstance(res, tuple):
        resolution = {"min": float(res[0]), "max": float(res[1]), "step": float(res[2] or 1)}
    elif isinstance(res, list):
        resolution = {"list": [float(r) for r in res]}
    else:
        resolution = {"list": []}
    area = {k: constraint(k) for k in ("br-x", "br-y")}
    return {"sources": sources, "modes": modes, "resolution": resolution,
            "max_mm": [area["br-x"][1] if isinstance(area["br-x"], tuple) else None,
                       area["br-y"][1] if isinstance(area["br-y"], tuple) else None],
            "has_depth": "depth" in opts}


def nearest_resolution(wanted: int, resolution: Resolution) -> int:
    """The supported resolution closest to the configured one."""
    if "list" in resolution:
        values = resolution["list"] or [float(wanted)]
        return int(min(values, key=lambda r: (abs(r - wanted), -r)))
    lo, hi, step = resolution["min"], resolution["max"], resolution["step"]
    value = min(max(float(wanted), lo), hi)
    return round(lo + round((value - lo) / step) * step)


def set_source(dev: Any, caps: Capabilities, source: str) -> None:
    backend_name = caps["sources"].get(source)
    if backend_name:
        dev.source = backend_name


def configure(dev: Any, caps: Capabilities, req: ScanRequest) -> dict[str, Any]:
    """Apply the configured mode, resolution, source and an A4 area; return what was really chosen."""
    mode = req.mode
    backend_mode = caps["modes"].get(mode) or next(iter(caps["modes"].values()), "")
    if backend_mode:
        dev.mode = backend_mode.split("@")[0]
        if caps["has_depth"]:
            dev.depth = 1 if backend_mode.endswith("@1") else 8
    resolution = nearest_resolution(req.resolution, caps["resolution"])
    dev.resolution = resolution
    wanted = req.source
    source = "ADF" if wanted == "auto" and "ADF" in caps["sources"] else wanted
    if source not in caps["sources"]:
        source = "Flatbed" if "Flatbed" in caps["sources"] else next(iter(caps["sources"]))
    set_source(dev, caps, source)
    width, height = A4_MM
    max_x, max_y = caps["max_mm"]
    for opt, value, limit in (("tl_x", 0.0, None), ("tl_y", 0.0, None), ("br_x", width, max_x),
                              ("br_y", height, max_y)):
        if opt in dev.optlist:
            setattr(dev, opt, float(min(value, limit) if limit else value))
    for opt, value in (("page_width", width), ("page_height", height)):
        if opt in dev.optlist:
            with contextlib.suppress(Exception):  # inactive for the flatbed on many backends
                setattr(dev, opt, float(value))
    chosen_mode = next((k for k, v in caps["modes"].items() if v == backend_mode), mode)
    return {"source": source, "resolution": resolution, "mode": chosen_mode}


def _read_request(fd: int) -> tuple[Request | None, bytes]:
    data = b""
    while b"\n" not in data:
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    line, _, rest = data.partition(b"\n")
    return decode_request(line), rest


def main(worker_class: type[Worker] = Worker) -> int:
    import faulthandler
    import signal

    faulthandler.register(signal.SIGUSR1, all_threads=True)  # ops: kill -USR1 <pid> shows where it hangs
    # Import everything a scan needs *before* waiting for the request: a worker started ahead of time
    # (Scanner.prepare) then begins scanning the moment it is asked to. sane.init() waits for the
    # request, so a scanner plugged in meanwhile is still found.
    import PIL.Image  # noqa: F401
    import sane  # noqa: F401

    import drivers.scanpage  # noqa: F401

    load_unwinder()

    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
    with contextlib.suppress(OSError):  # a 1 MiB pipe: fewer wake-ups per preview (Linux F_SETPIPE_SZ)
        import fcntl

        fcntl.fcntl(out.fileno(), 1031, 1 << 20)
    sys.stdout = sys.stderr  # nothing a library prints may corrupt the frames
    request, rest = _read_request(0)
    if request is None:
        return 0  # a prepared worker that was never used: the parent closed our stdin
    worker = worker_class(out)
    worker.watch_stdin(0, rest)
    return worker.run(request)


def run_and_exit(worker_class: type[Worker] = Worker) -> None:
    """Run, then leave at once: the stdin watcher may still be blocked in read()."""
    code = main(worker_class)
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run_and_exit()
