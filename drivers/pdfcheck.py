"""Is this PDF fit to print here? A gate in front of the printer, with a precise reason when not.

The agent's PDF comes over the network from outside the point, so it is checked before CUPS ever
sees it: a file that is not a PDF, is damaged, is encrypted, is too big or has too many pages is
refused with an :class:`~drivers.printer_errors.InvalidDocument` that tells the agent exactly what
to fix ("42 pages; at most 30"), while the customer is told only that it cannot be printed here.

The check is strict on purpose: qpdf's silent recovery of a damaged cross-reference table is *not*
attempted, because a truncated transfer recovers into a document with pages missing, and a
customer who takes home half a decision is worse off than one whose agent resends it. The check
works on bytes in memory and writes nothing to disk.

**Hostile documents.** A PDF is a program for a parser, and a small one can make a parser allocate
gigabytes (a *flate bomb*: 1 MB that unpacks to 1 GB; an object stream that declares a million
pages). So the gate

* runs in a **confined worker process** (forked from a preloaded server, so ~10 ms, not an
  interpreter start) with its own memory budget (``RLIMIT_DATA``) and processor-time limit
  (``RLIMIT_CPU``): whatever qpdf allocates while parsing stays out of the kiosk's process, and a
  document that needs more is refused as ``too-complex`` instead of the kiosk being killed mid-call;
* **caps what it unpacks**: every stream it decodes is limited by qpdf's own decoder limits
  (``max_stream_bytes``, so a bomb stops at the cap, not after it) and the sum of all decoded
  streams plus every image's declared raster size is capped too (``max_decoded_bytes``), which also
  bounds the work left to CUPS's filters; images are never decoded here, only measured, and a JPEG's
  own header is read, because a decoder believes it rather than the PDF's ``/Width``;
* **refuses what a print point has no business running or decoding**: JavaScript (``/JS``, a
  JavaScript action in ``/OpenAction``, ``/AA`` or a link, the ``/Names`` JavaScript tree), Launch
  actions, attached files (``/EmbeddedFiles``, file-attachment annotations, any ``/EF``), and JBIG2
  and JPEG 2000 images (in XObjects and inline), whose decoders have a long record of exploitable
  bugs;
* **refuses a page that cannot be printed legibly** on the paper: a page larger than the paper is
  fitted by CUPS (``print-scaling`` auto, which shrinks only pages larger than the paper), so the
  gate lets through what shrinks to at least ``min_fit_scale`` (A3, Letter, Tabloid onto A4) and
  names those pages in :attr:`PdfInfo.fitted_pages`; a 5 m × 5 m page (or one made large with
  ``/UserUnit``) would come out at 4 % and is refused with its size.

The original bytes go to CUPS; the document is not re-rendered. Rasterising it here would run the
most exposed code (the renderer) inside the kiosk's own user and cgroup, next to the camera and the
identity card, instead of in CUPS's filters (user ``lp``, cupsd's unit); and re-writing it with qpdf
would change nothing the filters parse that the gate has not already checked (the structure is read
strictly, without recovery, and every object in the file is examined, referenced or not).
"""

from __future__ import annotations

import atexit
import contextlib
import io
import logging
import math
import multiprocessing
import re
import resource
import signal
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import pikepdf

from drivers.printer_errors import (
    DecodedTooLarge,
    EmptyDocument,
    EncryptedPdf,
    HasEmbeddedFiles,
    HasJavascript,
    HasLaunchAction,
    InvalidDocument,
    MalformedPdf,
    NoPages,
    NotAPdf,
    PageTooLarge,
    TooComplex,
    TooLarge,
    TooManyPages,
    UnsupportedImage,
)

log = logging.getLogger(__name__)

#: The PDF header may follow a little leading junk (the spec's readers allow up to 1024 bytes).
_HEADER_WINDOW = 1024
_QPDF_PREFIX = re.compile(r"^stream <[^>]*>(?: \(([^)]*)\))?:\s*")
_MiB = 1 << 20
_PT_PER_MM = 72 / 25.4


@dataclass(frozen=True)
class GateLimits:
    """What the gate allows beyond the configured page and byte limits. The defaults are for an A4
    point and a kiosk unit with ``MemoryMax=2G`` (systemd/units/etapiste-kiosk.service)."""

    max_stream_bytes: int = 64 * _MiB
    """One stream decoded by the gate (page content, form, font, object stream…). Ordinary content is
    kilobytes; a large embedded CJK font is ~20 MB."""
    max_image_bytes: int = 256 * _MiB
    """One image's raster as declared (width × height × components × bits): A3 at 600 dpi in colour is
    200 MiB. Images are never decoded by the gate; this bounds what CUPS's filters would decode."""
    max_decoded_bytes: int = 2048 * _MiB
    """All decoded streams and image rasters together: the work left to CUPS for one document."""
    memory_bytes: int = 512 * _MiB
    """The worker's memory budget above what it starts with (qpdf's objects and one decoded stream)."""
    cpu_seconds: int = 30
    """The worker's processor time; an ordinary 30-page document takes well under a second."""
    max_warnings: int = 500
    """qpdf gives up on a file after this many repairs-in-passing (e.g. the same page listed 300 000
    times, which it would otherwise copy 300 000 times)."""
    paper_mm: tuple[float, float] = (210.0, 297.0)
    paper_name: str = "A4"
    min_fit_scale: float = 0.65
    """The smallest scale CUPS may shrink a larger page to (A3 → A4 is 0.71, Tabloid → A4 0.69):
    10-point text stays above 6.5 points."""
    tolerance_mm: float = 2.0
    """A page this much larger than the paper still counts as the paper's size (rounding in writers)."""


DEFAULT_LIMITS = GateLimits()


@dataclass(frozen=True)
class PdfInfo:
    """What the check learnt about an acceptable document."""

    pages: int
    size: int
    """Bytes."""
    decoded_bytes: int = 0
    """Decoded streams plus declared image rasters, as counted against ``max_decoded_bytes``."""
    fitted_pages: tuple[int, ...] = ()
    """Pages larger than the paper that CUPS will shrink to fit (1-based)."""
    peak_memory: int = 0
    """The most memory the check itself took above its start, in bytes, as the kernel measured it in
    the worker (0 where unknown)."""


def _megabytes(size: int, limit: int) -> tuple[str, str]:
    """Both sizes in MB with enough decimals that a file just over the limit does not read as equal."""
    for decimals in (1, 3, 6):
        a, b = f"{size / 1e6:.{decimals}f}", f"{limit / 1e6:.{decimals}f}"
        if a != b:
            return a, b
    return str(size / 1e6), str(limit / 1e6)


def _mb(n: int) -> str:
    return f"{n / 1e6:.0f}"


def _qpdf_detail(exc: BaseException) -> str:
    """qpdf's own words, without the in-memory stream's name, short enough for a status line."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    match = _QPDF_PREFIX.match(text)
    if match:
        where = f"{match.group(1)}: " if match.group(1) else ""
        text = where + text[match.end() :]
    return text[:160]


def _limit_hit(exc: BaseException) -> bool:
    """qpdf stopped a decoder at its memory limit (``PL_Flate memory limit exceeded`` and kin)."""
    return "memory limit exceeded" in str(exc)


def check_pdf(
    data: bytes,
    *,
    max_pages: int,
    max_bytes: int,
    limits: GateLimits = DEFAULT_LIMITS,
    confined: bool = True,
) -> PdfInfo:
    """Accept ``data`` as a printable PDF or raise the precise :class:`InvalidDocument`.

    Order matters: size first (never parse what is too big), then the header (a Word file is "not a
    PDF", not "damaged"); both here, cheaply. Then, in the confined worker: structure, encryption,
    pages, page sizes, active content and codecs, and what every stream unpacks to. ``confined=False``
    runs that part in this process (qpdf's decoder limits still apply, process-wide).
    """
    size = len(data)
    if size == 0:
        raise EmptyDocument()
    if size > max_bytes:
        size_mb, max_mb = _megabytes(size, max_bytes)
        raise TooLarge(size=size, max_bytes=max_bytes, size_mb=size_mb, max_mb=max_mb)
    if b"%PDF-" not in data[:_HEADER_WINDOW]:
        raise NotAPdf()
    if confined:
        try:
            return _check_confined(data, max_pages, limits)
        except _NoWorker as exc:
            # The confinement is a second wall; the caps below still hold without it.
            if not _warned:
                log.warning("PDF gate worker unavailable (%s); checking in the kiosk's process", exc)
                _warned.append(True)
    _arm_qpdf(limits)
    try:
        return _inspect(data, max_pages, limits)
    except MemoryError:
        raise TooComplex(limit="memory", memory_mb=_mb(limits.memory_bytes)) from None


# -- the confined worker ---------------------------------------------------------------------------


class _NoWorker(Exception):
    """The worker process could not be started (not a verdict on the document)."""


_context: Any = None
_warned: list[bool] = []


def _worker_context() -> Any:
    """A forkserver that has imported this module (and pikepdf) once: each check forks a fresh,
    single-threaded copy of it, never of the kiosk's own multi-threaded process.

    As with any use of multiprocessing, each worker re-imports the program's main script (for the
    ``etapiste`` entry point that is ``etapiste.cli``, ~20 ms), so a program that calls the gate must
    keep its main script import-safe (``if __name__ == "__main__":``)."""
    global _context
    if _context is None:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([__name__])
        _context = ctx
    return _context


@atexit.register
def _stop_worker_server() -> None:
    """End the worker's server (and multiprocessing's resource tracker) with the kiosk, not after it:
    they would notice the closed pipe and exit anyway, a moment later."""
    if _context is None:
        return
    from multiprocessing import forkserver, resource_tracker

    for helper in (getattr(forkserver, "_forkserver", None), getattr(resource_tracker, "_resource_tracker", None)):
        with contextlib.suppress(Exception):
            helper._stop()  # type: ignore[union-attr]


def warm_up() -> None:
    """Start the worker's server now (≈0.3 s for importing pikepdf) rather than at the first print;
    blocking, so call it from a thread at start-up."""
    with contextlib.suppress(Exception):
        worker = _worker_context().Process(target=_noop, daemon=True)
        worker.start()
        worker.join(30)


def _noop() -> None:
    return None


_REFUSALS: dict[str, type[InvalidDocument]] = {
    cls.code: cls
    for cls in (
        MalformedPdf, EncryptedPdf, NoPages, TooManyPages, PageTooLarge, DecodedTooLarge, TooComplex,
        UnsupportedImage, HasJavascript, HasEmbeddedFiles, HasLaunchAction,
    )
}  # fmt: skip


def _check_confined(data: bytes, max_pages: int, limits: GateLimits) -> PdfInfo:
    ctx = _worker_context()
    receive, send = ctx.Pipe(duplex=False)
    try:
        worker = ctx.Process(target=_worker, args=(send, data, max_pages, limits), daemon=True)
        worker.start()
    except (OSError, ValueError, RuntimeError) as exc:
        receive.close()
        send.close()
        raise _NoWorker(type(exc).__name__) from None
    send.close()  # the worker holds the only sending end: its death reads as EOF here
    answer: tuple[Any, ...] | None = None
    timed_out = False
    try:
        # Wall-clock backstop only; the worker's own processor-time limit is what normally ends it.
        if receive.poll(limits.cpu_seconds * 4 + 30):
            answer = receive.recv()
        else:
            timed_out = True
    except (EOFError, OSError):
        answer = None
    finally:
        receive.close()
        if answer is None and worker.is_alive():
            worker.kill()
        worker.join(10)
    if answer is None:
        code = worker.exitcode
        if timed_out or code == -signal.SIGXCPU:
            raise TooComplex(limit="time", cpu_s=limits.cpu_seconds)
        if code in (-signal.SIGSEGV, -signal.SIGABRT, -signal.SIGBUS):
            raise MalformedPdf(detail=f"the check stopped on it (signal {-code})")
        # Out of its memory budget (a MemoryError too deep to answer, or killed by the kernel).
        raise TooComplex(limit="memory", memory_mb=_mb(limits.memory_bytes))
    kind = answer[0]
    if kind == "ok":
        return PdfInfo(**answer[1])
    if kind == "refused":
        code, params = answer[1], answer[2]
        raise _REFUSALS.get(code, MalformedPdf)(**params)
    raise TooComplex(limit="memory", memory_mb=_mb(limits.memory_bytes))


def _status_bytes(field_name: str) -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _worker(send: Connection, data: bytes, max_pages: int, limits: GateLimits) -> None:
    """Runs in the forked worker: confine, check, answer with plain data (exceptions are rebuilt in
    the kiosk's process from their explicit code and parameters)."""
    logging.getLogger("pikepdf").setLevel(logging.ERROR)  # a damaged file's warnings are not news
    start = _status_bytes("VmData")
    with contextlib.suppress(OSError, ValueError):
        _soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
        cap = start + limits.memory_bytes
        resource.setrlimit(resource.RLIMIT_DATA, (cap, cap if hard == resource.RLIM_INFINITY else min(cap, hard)))
    with contextlib.suppress(OSError, ValueError):
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
        refs.write("5")  # the kernel's peak-RSS mark starts again here
    rss0 = _status_bytes("VmRSS")
    _arm_qpdf(limits)
    answer: tuple[Any, ...]
    try:
        info = _inspect(data, max_pages, limits)
        peak = max(0, _status_bytes("VmHWM") - rss0)
        answer = ("ok", {**info.__dict__, "peak_memory": peak})
    except InvalidDocument as exc:
        params = {**exc.params, "peak_memory": max(0, _status_bytes("VmHWM") - rss0)}
        answer = ("refused", exc.code, params)
    except MemoryError:
        answer = ("refused", TooComplex.code, {"limit": "memory", "memory_mb": _mb(limits.memory_bytes)})
    try:
        send.send(answer)
    finally:
        send.close()


def _arm_qpdf(limits: GateLimits) -> None:
    """qpdf's own decoder limits (pikepdf ≥ 10 with qpdf 12): a bomb stops at the cap while decoding."""
    setter = getattr(pikepdf.settings, "set_qpdf_limits", None)
    if setter is None:
        return
    cap = limits.max_stream_bytes
    setter(
        flate_max_memory=cap,
        png_max_memory=cap,
        tiff_max_memory=cap,
        run_length_max_memory=cap,
        dct_max_memory=cap,
        doc_max_warnings=limits.max_warnings,
    )


# -- the checks ------------------------------------------------------------------------------------


def _inspect(data: bytes, max_pages: int, limits: GateLimits) -> PdfInfo:
    try:
        pdf = pikepdf.open(io.BytesIO(data), attempt_recovery=False)
    except pikepdf.PasswordError:
        raise EncryptedPdf() from None
    except (pikepdf.PdfError, ValueError, RuntimeError) as exc:
        if _limit_hit(exc):
            raise DecodedTooLarge(where="document", limit_mb=_mb(limits.max_stream_bytes), scope="part") from None
        if _qpdf_detail(exc) == "no pages found":  # what qpdf says with a warnings limit set
            raise NoPages() from None
        if "bad_alloc" in str(exc):
            raise MemoryError() from None
        raise MalformedPdf(detail=_qpdf_detail(exc)) from None
    with pdf:
        if pdf.is_encrypted:
            # Opens with an empty user password but still carries restrictions (e.g. no printing).
            raise EncryptedPdf()
        try:
            pages = len(pdf.pages)
        except (pikepdf.PdfError, ValueError, RuntimeError) as exc:
            raise MalformedPdf(detail=_qpdf_detail(exc)) from None
        if pages == 0:
            raise NoPages()
        if pages > max_pages:
            raise TooManyPages(pages=pages, max_pages=max_pages)
        try:
            fitted = _check_page_sizes(pdf, limits)
            decoded = _Walk(pdf, limits).run()
        except (pikepdf.PdfError, ValueError, RuntimeError, TypeError, KeyError, AttributeError) as exc:
            raise MalformedPdf(detail=_qpdf_detail(exc)) from None
    return PdfInfo(pages=pages, size=len(data), decoded_bytes=decoded, fitted_pages=fitted)


def _number(obj: Any) -> float:
    value = float(obj)
    if not math.isfinite(value):
        raise ValueError("a page size is not a finite number")
    return value


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    """The length of the overlap of two intervals given in any order (the crop box within the media box)."""
    return min(max(a0, a1), max(b0, b1)) - max(min(a0, a1), min(b0, b1))


def _check_page_sizes(pdf: pikepdf.Pdf, limits: GateLimits) -> tuple[int, ...]:
    """Every page has a size; larger than the paper is fitted by CUPS if it stays readable, else refused.

    The printed area is the crop box (within the media box), times ``/UserUnit`` (PDF 1.6: a page
    may declare its unit to be up to 75 000 points)."""
    paper_w, paper_h = limits.paper_mm
    fitted = []
    for number, page in enumerate(pdf.pages, start=1):
        try:
            media = [_number(v) for v in page.mediabox]
            crop = [_number(v) for v in page.cropbox]
            if len(media) != 4 or len(crop) != 4:
                raise ValueError("page size (MediaBox) is not four numbers")
            unit = _number(page.obj.get("/UserUnit", 1))
        except (pikepdf.PdfError, ValueError, TypeError, KeyError) as exc:
            raise MalformedPdf(detail=f"page {number}: {_qpdf_detail(exc)}") from None
        width = _overlap(media[0], media[2], crop[0], crop[2]) * unit / _PT_PER_MM
        height = _overlap(media[1], media[3], crop[1], crop[3]) * unit / _PT_PER_MM
        if width <= 0 or height <= 0 or unit <= 0:
            raise MalformedPdf(detail=f"page {number}: the page has no size")
        short, long_ = sorted((width, height))
        if short <= paper_w + limits.tolerance_mm and long_ <= paper_h + limits.tolerance_mm:
            continue
        scale = min(paper_w / short, paper_h / long_)
        if scale < limits.min_fit_scale:
            raise PageTooLarge(
                page=number, width_mm=round(width), height_mm=round(height), paper=limits.paper_name,
                percent=max(1, math.floor(scale * 100)), min_percent=round(limits.min_fit_scale * 100),
            )  # fmt: skip
        fitted.append(number)
    return tuple(fitted)


_REFUSED_CODECS = {"/JBIG2Decode": "JBIG2", "/JPXDecode": "JPEG 2000"}
#: Escaped names (``/JBIG2#44ecode``) in a decoded content stream: rare, so looked at one by one.
_ESCAPED_NAME = re.compile(rb"/[^\s()<>\[\]{}/%]*#[0-9A-Fa-f]{2}[^\s()<>\[\]{}/%]*")
_HEX = re.compile(rb"#([0-9A-Fa-f]{2})")
#: Inline images' colour spaces and their components (abbreviations allowed there).
_COMPONENTS = {
    "/DeviceGray": 1, "/G": 1, "/CalGray": 1, "/Indexed": 1, "/I": 1, "/Separation": 1,
    "/DeviceRGB": 3, "/RGB": 3, "/CalRGB": 3, "/Lab": 3, "/DeviceCMYK": 4, "/CMYK": 4,
}  # fmt: skip
#: Keys that lead from one page to others (or up the tree): not part of what a page draws.
#: Keys under which an action hangs, named in the refusal so the author knows where to look.
_ACTION_KEYS = {"/OpenAction", "/AA", "/A"}
_NOT_THIS_PAGE = {"/Parent", "/P", "/Dest", "/D", "/Prev", "/Next", "/First", "/Last", "/B", "/StructParent"}


def _where_en(where: tuple[str, int]) -> str:
    """For qpdf's own (English) words in a MalformedPdf detail."""
    return "document" if where[0] == "document" else f"{where[0]} {where[1]}"


def _unescape(name: bytes) -> str:
    return "/" + _HEX.sub(lambda m: bytes([int(m.group(1), 16)]), name[1:]).decode("latin-1")


def _filters(obj: Any) -> list[str]:
    value = obj.get("/Filter", obj.get("/F")) if isinstance(obj, pikepdf.Dictionary) else obj.get("/Filter")
    if value is None:
        return []
    if isinstance(value, pikepdf.Array):
        return [str(v) for v in value if isinstance(v, pikepdf.Name)]
    return [str(value)] if isinstance(value, pikepdf.Name) else []


def _components(colour_space: Any) -> int:
    if isinstance(colour_space, pikepdf.Name):
        return _COMPONENTS.get(str(colour_space), 4)
    if isinstance(colour_space, pikepdf.Array) and len(colour_space) > 0:
        family = str(colour_space[0])
        if family in ("/ICCBased",) and len(colour_space) > 1:
            return int(colour_space[1].get("/N", 4))
        if family == "/DeviceN" and len(colour_space) > 1:
            return max(1, len(colour_space[1]))
        return _COMPONENTS.get(family, 4)
    return 4


def _jpeg_size(data: bytes) -> tuple[int, int, int] | None:
    """Width, height and components from a JPEG's frame header (SOFn), or None if there is none."""
    i = 2 if data[:2] == b"\xff\xd8" else -1
    while 0 <= i < len(data) - 9:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height = int.from_bytes(data[i + 5 : i + 7], "big")
            width = int.from_bytes(data[i + 7 : i + 9], "big")
            return width, height, data[i + 9] if i + 9 < len(data) else 3
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return None


@dataclass
class _Walk:
    """One pass over every object in the file (referenced or not), knowing which page each belongs to."""

    pdf: pikepdf.Pdf
    limits: GateLimits
    decoded: int = 0
    owner: dict[tuple[int, int], tuple[str, int]] = field(default_factory=dict)

    def run(self) -> int:
        self._attribute()
        for obj in self.pdf.objects:
            if not isinstance(obj, (pikepdf.Dictionary, pikepdf.Stream, pikepdf.Array)):
                continue
            where = self.owner.get(obj.objgen, ("object", obj.objgen[0]))
            self._scan(obj, where)
            if isinstance(obj, pikepdf.Stream):
                self._stream(obj, where)
        return self.decoded

    # -- where things are ------------------------------------------------------------------------

    def _attribute(self) -> None:
        """Objects a page draws (contents, resources, annotations) belong to that page; what the
        catalog reaches otherwise (names, outlines, the opening action) is document level."""
        for number, page in enumerate(self.pdf.pages, start=1):
            self._claim(page.obj, ("page", number))
        root = self.pdf.Root
        self._claim(root, ("document", 0), skip={"/Pages"})

    def _claim(self, start: Any, where: tuple[str, int], skip: frozenset[str] | set[str] = frozenset()) -> None:
        stack = [start]
        while stack:
            obj = stack.pop()
            if obj.is_indirect:
                if obj.objgen in self.owner:
                    continue
                if obj is not start and isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") in (
                    pikepdf.Name.Page, pikepdf.Name.Pages,
                ):
                    continue  # another page (a link's destination, the tree): not drawn by this one
                self.owner[obj.objgen] = where
            if isinstance(obj, (pikepdf.Dictionary, pikepdf.Stream)):
                for key in obj.keys():  # noqa: SIM118 (iterating a pikepdf Dictionary is untyped)
                    if key in _NOT_THIS_PAGE or key in skip:
                        continue
                    value = obj.get(key)
                    if isinstance(value, (pikepdf.Dictionary, pikepdf.Stream, pikepdf.Array)):
                        stack.append(value)
            elif isinstance(obj, pikepdf.Array):
                stack.extend(v for v in obj if isinstance(v, (pikepdf.Dictionary, pikepdf.Stream, pikepdf.Array)))

    @staticmethod
    def _params(where: tuple[str, int], key: str | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {"where": where[0], "n": where[1]}
        if key:
            params["key"] = key
        return params

    # -- active content --------------------------------------------------------------------------

    def _scan(self, top: Any, where: tuple[str, int]) -> None:
        """Actions and attachments anywhere in this object's direct structure (an annotation's ``/A``
        is usually a direct dictionary); indirect children are scanned as objects of their own."""
        stack: list[tuple[Any, str | None]] = [(top, None)]
        while stack:
            obj, via = stack.pop()
            if isinstance(obj, (pikepdf.Dictionary, pikepdf.Stream)):
                keys = set(obj.keys())
                action = obj.get("/S") if "/S" in keys else None
                if "/JS" in keys or action == pikepdf.Name.JavaScript:
                    raise HasJavascript(**self._params(where, via))
                if action == pikepdf.Name.Launch:
                    raise HasLaunchAction(**self._params(where, via))
                if (
                    "/EF" in keys
                    or "/EmbeddedFiles" in keys
                    or obj.get("/Type") == pikepdf.Name.EmbeddedFile
                    or obj.get("/Subtype") == pikepdf.Name.FileAttachment
                ):
                    raise HasEmbeddedFiles(**self._params(where, via))
                for key in keys:
                    value = obj.get(key)
                    if isinstance(value, (pikepdf.Dictionary, pikepdf.Array)) and not value.is_indirect:
                        stack.append((value, via or (key if key in _ACTION_KEYS else None)))
            elif isinstance(obj, pikepdf.Array):
                children = (v for v in obj if isinstance(v, (pikepdf.Dictionary, pikepdf.Array)))
                stack.extend((v, via) for v in children if not v.is_indirect)

    # -- streams ---------------------------------------------------------------------------------

    def _count(self, n: int, where: tuple[str, int]) -> None:
        self.decoded += n
        if self.decoded > self.limits.max_decoded_bytes:
            raise DecodedTooLarge(
                **self._params(where), scope="total", limit_mb=_mb(self.limits.max_decoded_bytes),
                decoded_bytes=self.decoded,
            )  # fmt: skip

    def _too_large(self, where: tuple[str, int], limit: int) -> DecodedTooLarge:
        return DecodedTooLarge(**self._params(where), scope="part", limit_mb=_mb(limit), decoded_bytes=self.decoded)

    def _stream(self, stream: pikepdf.Stream, where: tuple[str, int]) -> None:
        kind = stream.get("/Type")
        if kind in (pikepdf.Name.ObjStm, pikepdf.Name.XRef):
            return  # qpdf decoded these while reading the file, under the same caps
        filters = _filters(stream)
        for name in filters:
            if name in _REFUSED_CODECS:
                raise UnsupportedImage(**self._params(where), codec=_REFUSED_CODECS[name])
        if stream.get("/Subtype") == pikepdf.Name.Image:
            self._image(stream, filters, where)
            return
        try:
            data = stream.read_bytes(decode_level=pikepdf.StreamDecodeLevel.specialized)
        except (pikepdf.PdfError, RuntimeError, ValueError) as exc:
            if _limit_hit(exc):
                raise self._too_large(where, self.limits.max_stream_bytes) from None
            raise MalformedPdf(detail=f"{_where_en(where)}: {_qpdf_detail(exc)}") from None
        if len(data) > self.limits.max_stream_bytes:  # qpdf without decoder limits (pikepdf < 10)
            raise self._too_large(where, self.limits.max_stream_bytes)
        self._count(len(data), where)
        self._inline_images(data, where)

    def _image(self, stream: pikepdf.Stream, filters: list[str], where: tuple[str, int]) -> None:
        """An image is measured, not decoded: its declared raster (and a JPEG's own, which is what a
        decoder allocates for) against ``max_image_bytes`` and the document's total."""
        width, height = int(stream.get("/Width", 0)), int(stream.get("/Height", 0))
        if width <= 0 or height <= 0:
            raise MalformedPdf(detail=f"{_where_en(where)}: an image without a size")
        mask = bool(stream.get("/ImageMask", False))
        bits = 1 if mask else int(stream.get("/BitsPerComponent", 8))
        comps = 1 if mask else _components(stream.get("/ColorSpace"))
        raster = math.ceil(width * comps * bits / 8) * height
        if filters and filters[-1] == "/DCTDecode":
            header = stream.read_raw_bytes() if len(filters) == 1 else self._generalized(stream, where)
            found = _jpeg_size(header[:65536])
            if found is not None:
                raster = max(raster, found[0] * found[1] * max(1, found[2]))
        if raster > self.limits.max_image_bytes:
            raise self._too_large(where, self.limits.max_image_bytes)
        self._count(raster, where)

    def _generalized(self, stream: pikepdf.Stream, where: tuple[str, int]) -> bytes:
        try:
            return bytes(stream.read_bytes(decode_level=pikepdf.StreamDecodeLevel.generalized))
        except (pikepdf.PdfError, RuntimeError, ValueError) as exc:
            if _limit_hit(exc):
                raise self._too_large(where, self.limits.max_stream_bytes) from None
            return b""

    def _inline_images(self, data: bytes, where: tuple[str, int]) -> None:
        """JBIG2/JPX named anywhere in decoded content (an inline image's ``/F``), escaped or not;
        inline images are measured like XObjects. Only content that has an ``ID`` is parsed."""
        for codec, label in _REFUSED_CODECS.items():
            if codec[1:].encode() in data:
                raise UnsupportedImage(**self._params(where), codec=label)
        if b"#" in data:
            for token in _ESCAPED_NAME.findall(data):
                escaped = _REFUSED_CODECS.get(_unescape(token))
                if escaped:
                    raise UnsupportedImage(**self._params(where), codec=escaped)
        if b"ID" not in data or not re.search(rb"(?:^|\s)BI\s", data):
            return
        try:
            items = pikepdf.parse_content_stream(pikepdf.Stream(self.pdf, data), "BI ID EI")
        except (pikepdf.PdfError, RuntimeError, ValueError, TypeError):
            return  # not content (a font program, say): renderers will not draw it either
        for item in items:
            if isinstance(item, pikepdf.ContentStreamInlineImage):
                image = item.iimage
                for name in image.filters:
                    if name in _REFUSED_CODECS:
                        raise UnsupportedImage(**self._params(where), codec=_REFUSED_CODECS[name])
                comps = _components(image.colorspace) if not image.image_mask else 1
                bits = 1 if image.image_mask else image.bits_per_component
                self._count(math.ceil(image.width * comps * bits / 8) * image.height, where)

