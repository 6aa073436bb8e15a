"""The scanner worker's protocol, written once: what the kiosk's :mod:`drivers.scanner` asks and what
:mod:`drivers.scanner_worker` answers, as typed messages that both sides encode and decode here.

Pipes only, nothing on disk. The parent writes one JSON request line on the worker's stdin
(:class:`ProbeRequest` or :class:`ScanRequest`), then may write :data:`CANCEL_LINE` lines; closing stdin
also cancels (the parent is gone). The worker answers on stdout with frames: a 4-byte big-endian
length, a JSON header (a :data:`Frame`, its ``type`` naming the class), and — when the header has
``nbytes`` — that many bytes of payload (a preview's pixels, or a compressed page). The payload is
written and read apart from the header, so a 26 MB page is never copied into a JSON document.

Order: :class:`Opened` (again when ``auto`` falls back from the feeder to the glass), per page
:class:`PageStarted`, :class:`Progress`…, :class:`Preview` (the page for the screen, raw pixels) and
:class:`Encoded` (the page compressed for the PDF), and last exactly one :data:`FinalFrame`
(:class:`Done`, :class:`Cancelled` or :class:`Fault`). Every good page's ``Encoded`` frame precedes the
final frame, so a fault mid-stack never loses the pages before it. A probe answers one :class:`Probe`
(or a :class:`Fault` when SANE cannot start).

Every header is validated on receipt (:func:`decode_header`, :func:`decode_request`): an unknown type, a
missing field or a field of the wrong type raises :class:`ProtocolError` (a :class:`ValueError`), which
the parent treats as a broken worker.
"""

from __future__ import annotations

import json
import struct
import types
import typing
from dataclasses import MISSING, asdict, dataclass, fields
from typing import Any, ClassVar, Literal, TypedDict, Union

__all__ = [
    "CANCEL_LINE",
    "Cancelled",
    "Capabilities",
    "Done",
    "Encoded",
    "Fault",
    "FaultKind",
    "FinalFrame",
    "Frame",
    "Opened",
    "PageStarted",
    "Preview",
    "Probe",
    "ProbeRequest",
    "Progress",
    "ProtocolError",
    "Request",
    "ScanRequest",
    "decode_header",
    "decode_request",
    "encode_header",
    "encode_request",
    "frame_length",
]

CANCEL_LINE = b"cancel\n"
"""What the parent writes on the worker's stdin to cancel the running job."""

LENGTH = struct.Struct(">I")
"""The frame's length prefix: 4 bytes, big-endian, the JSON header's size."""

FaultKind = Literal[
    "jammed", "no_docs", "cover_open", "busy", "io_error", "cancelled", "invalid", "access_denied", "missing"
]
"""Why a worker's job failed: a SANE status (see ``STATUS_KINDS`` in the worker), or ``missing`` when no
such device is listed."""


class ProtocolError(ValueError):
    """A request or frame that is not what this protocol allows (says which field and why)."""


class Resolution(TypedDict, total=False):
    """A device's resolutions (dpi): a ``list`` of values, or a ``min``/``max``/``step`` range."""

    list: list[float]
    min: float
    max: float
    step: float


class Capabilities(TypedDict):
    """What a device offers, in the configuration's vocabulary, plus the backend's own names."""

    sources: dict[str, str]
    """``ADF``/``Flatbed`` → the backend's source name (``""``: the device has no source option)."""
    modes: dict[str, str]
    """``Color``/``Gray``/``Lineart`` → the backend's mode name (``…@1``: grey at 1 bit per pixel)."""
    resolution: Resolution
    max_mm: list[float | None]
    """The scan area's width and height in mm, where the backend says."""
    has_depth: bool


# -- requests (parent → worker) -------------------------------------------------------------------


@dataclass(frozen=True)
class ProbeRequest:
    """List the devices and read one device's capabilities."""

    op: ClassVar[str] = "probe"
    device: str | None = None
    """The configured device, or ``None`` for the first one SANE lists."""


@dataclass(frozen=True)
class ScanRequest:
    """Scan with the configured settings (the worker chooses the nearest the device offers)."""

    op: ClassVar[str] = "scan"
    device: str | None = None
    resolution: int = 300
    mode: str = "Color"
    source: str = "auto"
    """``auto`` (the feeder if it has paper, else the glass), ``ADF`` or ``Flatbed``."""


Request = ProbeRequest | ScanRequest


def encode_request(request: Request) -> bytes:
    """The request's line for the worker's stdin."""
    return (json.dumps({"op": request.op, **asdict(request)}) + "\n").encode()


def decode_request(line: bytes) -> Request | None:
    """The request in ``line``; ``None`` for an empty line (a prepared worker that was never used).

    A request without ``op`` is a scan, as it always was.
    """
    data = json.loads(line or b"{}")
    if not isinstance(data, dict):
        raise ProtocolError(f"a request must be a JSON object, not {type(data).__name__}")
    if not data:
        return None
    op = data.pop("op", "scan")
    cls: type[ProbeRequest] | type[ScanRequest] = ProbeRequest if op == "probe" else ScanRequest
    return _build(cls, data, f"{op} request")


# -- frames (worker → parent) ---------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """The answer to a :class:`ProbeRequest`."""

    type: ClassVar[str] = "probe"
    devices: list[list[Any]]
    """SANE's device list: ``[name, vendor, model, type]`` each."""
    device: str | None
    """The device probed (the configured one, else the first listed), ``None`` when none is listed."""
    capabilities: Capabilities | None
    """``None`` when the device could not be opened (see ``error``) or none was listed."""
    error: str | None = None
    """Why the device could not be opened (a :data:`FaultKind`), or, from the parent's side, a fault's
    detail when SANE itself could not start."""


@dataclass(frozen=True)
class Opened:
    """The device is open and set up: what was really chosen for the configured settings."""

    type: ClassVar[str] = "opened"
    device: str
    source: str
    resolution: int
    mode: str


@dataclass(frozen=True)
class PageStarted:
    type: ClassVar[str] = "page_started"
    page: int
    width: int
    """Pixels per line; the height may be -1 (unknown) for a feeder."""
    height: int


@dataclass(frozen=True)
class Progress:
    type: ClassVar[str] = "progress"
    page: int
    fraction: float


@dataclass(frozen=True)
class Preview:
    """The page for the screen; the payload is the preview's raw pixels (``mode``, ``size``)."""

    type: ClassVar[str] = "preview"
    page: int
    width: int
    height: int
    dpi: int
    mode: str
    """PIL's mode of the preview: ``RGB`` or ``L``."""
    size: list[int]
    ink: float
    """The fraction of dark pixels in the preview (a blank page has almost none)."""


@dataclass(frozen=True)
class Encoded:
    """The page compressed for the PDF; the payload is the JPEG or CCITT G4 data."""

    type: ClassVar[str] = "encoded"
    page: int
    format: str


@dataclass(frozen=True)
class Done:
    """Final: every page was sent."""

    type: ClassVar[str] = "done"
    pages: int


@dataclass(frozen=True)
class Cancelled:
    """Final: the job was cancelled while reading ``page``."""

    type: ClassVar[str] = "cancelled"
    page: int = 0


@dataclass(frozen=True)
class Fault:
    """Final: the job failed at ``page`` (0: before a page was known)."""

    type: ClassVar[str] = "fault"
    kind: str = "io_error"
    """A :data:`FaultKind`; the parent maps an unknown one to an I/O error."""
    page: int = 0
    detail: str = ""


FinalFrame = Done | Cancelled | Fault
Frame = Probe | Opened | PageStarted | Progress | Preview | Encoded | Done | Cancelled | Fault
FINAL_TYPES = (Done, Cancelled, Fault)

_FRAMES: dict[str, type[Any]] = {
    cls.type: cls for cls in (Probe, Opened, PageStarted, Progress, Preview, Encoded, Done, Cancelled, Fault)
}


def encode_header(frame: Frame, nbytes: int | None = None) -> bytes:
    """The frame's length prefix and JSON header; ``nbytes`` announces a payload that follows."""
    header: dict[str, Any] = {"type": frame.type, **asdict(frame)}
    if nbytes is not None:
        header["nbytes"] = nbytes
    data = json.dumps(header).encode()
    return LENGTH.pack(len(data)) + data


def frame_length(prefix: bytes) -> int:
    """The header's length from a frame's 4-byte prefix."""
    (length,) = LENGTH.unpack(prefix)
    return int(length)


def decode_header(data: bytes | bytearray) -> tuple[Frame, int | None]:
    """A frame's JSON header → the frame and the payload's size (``None``: no payload)."""
    header = json.loads(data)
    if not isinstance(header, dict):
        raise ProtocolError(f"a frame header must be a JSON object, not {type(header).__name__}")
    kind = header.pop("type", None)
    cls = _FRAMES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ProtocolError(f"unknown frame type {kind!r}; expected one of {', '.join(_FRAMES)}")
    nbytes = header.pop("nbytes", None)
    if nbytes is not None and (type(nbytes) is not int or nbytes < 0):
        raise ProtocolError(f"{kind} frame: nbytes must be a size in bytes, not {nbytes!r}")
    frame: Frame = _build(cls, header, f"{kind} frame")
    return frame, nbytes


# -- validation -----------------------------------------------------------------------------------


def _build(cls: type[Any], data: dict[str, Any], what: str) -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ProtocolError(f"{what}: unknown field(s) {', '.join(sorted(unknown))}")
    for f in fields(cls):
        if f.name in data:
            data[f.name] = _check(data[f.name], hints[f.name], f"{what}: {f.name}")
        elif f.default is MISSING and f.default_factory is MISSING:
            raise ProtocolError(f"{what}: {f.name} is missing")
    return cls(**data)


def _check(value: Any, hint: Any, where: str) -> Any:
    """``value`` if it fits ``hint`` (an int is accepted where a float is expected), else ProtocolError."""
    origin = typing.get_origin(hint)
    if hint is Any:
        return value
    if origin in (Union, types.UnionType):
        for option in typing.get_args(hint):
            try:
                return _check(value, option, where)
            except ProtocolError:
                continue
        raise ProtocolError(f"{where}: {value!r} is not {hint}")
    if hint is type(None):
        if value is None:
            return None
    elif hint is float:
        if type(value) in (int, float):
            return float(value)
    elif hint in (int, str, bool):
        if type(value) is hint:
            return value
    elif origin is list:
        if isinstance(value, list):
            (item,) = typing.get_args(hint) or (Any,)
            return [_check(v, item, where) for v in value]
    elif origin is dict:
        if isinstance(value, dict):
            key, item = typing.get_args(hint) or (Any, Any)
            return {_check(k, key, where): _check(v, item, where) for k, v in value.items()}
    elif typing.is_typeddict(hint) and isinstance(value, dict):
        hints = typing.get_type_hints(hint)
        missing = hint.__required_keys__ - set(value)
        if missing:
            raise ProtocolError(f"{where}: {', '.join(sorted(missing))} missing")
        return {k: _check(v, hints[k], f"{where}.{k}") if k in hints else v for k, v in value.items()}
    raise ProtocolError(f"{where}: {value!r} is not {getattr(hint, '__name__', hint)}")
