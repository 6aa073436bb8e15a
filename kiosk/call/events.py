"""What the call engine tells its listeners: frozen dataclasses, delivered in order on the event loop's thread.
Documents travelling both ways report with :mod:`kiosk.transfer`'s ``TransferProgress`` and ``TransferDone``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from kiosk import stats as quality
from kiosk.transfer import TransferDone, TransferProgress

RGB = np.ndarray[Any, np.dtype[np.uint8]]


@dataclass(frozen=True)
class SwitchboardStatus:
    connected: bool
    reason: str | None = None
    """When not connected: ``unreachable``, ``unauthorised``, ``unsupported_version``, ``replaced``, ``closed``."""


@dataclass(frozen=True)
class QueuePosition:
    """Our place in the queue (1 = next) and the estimate in seconds (``None``: no agent online)."""

    position: int
    estimate_s: int | None
    agents_online: int
    language_agents: int | None = None
    """Agents online speaking the customer's language (``None``: an older switchboard did not say)."""


@dataclass(frozen=True)
class QueueEstimates:
    """The switchboard's per-queue word before the customer chooses: queue id → (open now, expected wait in
    seconds or ``None`` when no agent is online, agents online)."""

    queues: dict[str, tuple[bool, int | None, int]]


@dataclass(frozen=True)
class QueueLeft:
    reason: Literal["cancelled", "timeout", "closed", "network_lost"]
    """``network_lost``: the switchboard could not be reached for :data:`RECOVERY_S`, or it no longer held
    the point's place when the point came back."""


@dataclass(frozen=True)
class AppointmentCheckedIn:
    """The switchboard accepted the appointment code (issue 22): the point waits first in ``queue`` of
    ``producer`` for the booked time ``start`` (epoch seconds); ``agent_online``: the booked agent was alerted.
    A :class:`QueuePosition` follows."""

    producer: str
    queue: str
    start: float
    agent_online: bool


@dataclass(frozen=True)
class AppointmentRefused:
    """The code was not accepted: an ``appointment`` code (``wrong_code``, ``too_early``…), or ``unavailable``
    when the switchboard could not be asked (not connected, or too old to know appointments)."""

    reason: str
    start: float | None = None
    opens_at: float | None = None


@dataclass(frozen=True)
class BookingsToday:
    """The day's bookings at this point for the staff mode: (start epoch seconds, producer, checked in)."""

    bookings: tuple[tuple[float, str, bool], ...]


@dataclass(frozen=True)
class QueueTransferred:
    """The agent transferred the customer (issue 22): the call is over for the point, which now waits in
    ``queue`` of ``producer`` (placed by when it first queued); ``producer_name`` as the switchboard names it.
    A :class:`CallEnded` (``transferred``) follows for the call left this way, then a :class:`QueuePosition`."""

    call: str
    producer: str
    queue: str
    from_producer: str
    producer_name: dict[str, str] | None = None


@dataclass(frozen=True)
class QueueRefused:
    code: str
    """The switchboard's error code: ``queue_closed``, ``unknown_queue``, ``already_queued``, ``not_connected``."""


@dataclass(frozen=True)
class CallAnswered:
    """An agent answered (their display name); media is being set up."""

    call: str
    agent_name: str


@dataclass(frozen=True)
class CallConnected:
    """Media and the data channel are up (also after a recovery)."""

    call: str
    recovered: bool = False


@dataclass(frozen=True)
class RemoteVideoFrame:
    """A picture from a peer to paint (the newest only), at the size it was decoded: height × width × 4, BGRX
    (what :class:`kiosk.views.video.VideoView` paints as ``QImage.Format_RGB32`` without converting)."""

    peer: str
    role: str
    image: RGB


@dataclass(frozen=True)
class SelfVideoFrame:
    """The customer's own picture, BGRX like :class:`RemoteVideoFrame`, at most ``SELF_VIEW_FPS`` a second and
    at most ``kiosk.media.SELF_VIEW_MAX_WIDTH`` wide (it is painted as a small inset)."""

    image: RGB


@dataclass(frozen=True)
class RttReceived:
    """The agent's current line of real-time text, or a committed line when ``final``."""

    text: str
    final: bool


@dataclass(frozen=True)
class IdentifyRequested:
    """The agent asks the customer to identify: have the card sign for ``nonce`` and ``origin``."""

    request: str
    nonce: str
    origin: str
    expires_in_s: int


@dataclass(frozen=True)
class IdentifyRefused:
    """The switchboard asked for a proof for another origin than the configured switchboard URL's: the
    point refused (``origin_mismatch``) and told the agent; the customer should see identification fail."""

    request: str
    reason: str


@dataclass(frozen=True)
class IdentityResult:
    """What the switchboard concluded of the proof (``ok``, ``reason``; never the name)."""

    request: str
    ok: bool
    reason: str | None


@dataclass(frozen=True)
class ScanRequested:
    """The agent asks for a scan."""

    request: str


@dataclass(frozen=True)
class PrintRequested:
    """The agent sent a PDF to print, already checked against its size and SHA-256."""

    transfer: str
    name: str
    pdf: bytes = field(repr=False)
    sha256: str


@dataclass(frozen=True)
class InterpreterJoined:
    peer: str
    name: str


@dataclass(frozen=True)
class InterpreterLeft:
    peer: str


@dataclass(frozen=True)
class AgentJoined:
    """Another producer's agent joined the call (a joint call, issue 22): the customer sees and hears them."""

    peer: str
    name: str
    producer: str | None


@dataclass(frozen=True)
class AgentLeft:
    """A joint call's second agent left; the call goes on."""

    peer: str


@dataclass(frozen=True)
class ShareIdentityAsked:
    """The customer proved their identity to one agent and another agent (of ``producer``) is in the call:
    ask the customer whether that agent may see it too. Only a yes (:meth:`CallEngine.share_identity`) shows
    it to them."""

    request: str
    peer: str
    producer: str | None


@dataclass(frozen=True)
class CallQuality:
    """Bitrate, frame rate, loss and round trip of one peer connection (see :mod:`kiosk.stats`)."""

    peer: str
    role: str
    sample: quality.QualitySample


@dataclass(frozen=True)
class CallTrouble:
    """Something the customer and the staff should see now."""

    kind: Literal[
        "reconnecting", "recovered", "turn_refused", "turn_unreachable", "camera_unavailable", "camera_back"
    ]
    detail: str = ""


@dataclass(frozen=True)
class CallEnded:
    """``reason``: ``hangup`` (``by`` whom), ``agent_gone``, ``point_gone``, ``setup_failed``, ``network_lost``
    (no recovery within 60 s) or ``media_failed`` (no route, e.g. TURN refused)."""

    call: str
    reason: str
    by: str | None = None


@dataclass(frozen=True)
class RoomServiceOrder:
    """The host's staff set (``on``) or cleared the room's out of service in the host view (``room.service``)."""

    on: bool
    message: str | None = None


@dataclass(frozen=True)
class StaffComing:
    """A host's staff member pressed "I'm on it" in the host view for a help request or a device's fault."""

    kind: Literal["help", "device"]
    device: str | None = None


CallEvent = (
    SwitchboardStatus
    | QueuePosition
    | QueueEstimates
    | QueueLeft
    | QueueTransferred
    | AppointmentCheckedIn
    | AppointmentRefused
    | BookingsToday
    | QueueRefused
    | CallAnswered
    | CallConnected
    | RemoteVideoFrame
    | SelfVideoFrame
    | RttReceived
    | IdentifyRequested
    | IdentifyRefused
    | IdentityResult
    | ScanRequested
    | PrintRequested
    | InterpreterJoined
    | InterpreterLeft
    | AgentJoined
    | AgentLeft
    | ShareIdentityAsked
    | CallQuality
    | CallTrouble
    | CallEnded
    | TransferProgress
    | TransferDone
    | RoomServiceOrder
    | StaffComing
)
Listener = Callable[[CallEvent], None]
