"""The wire protocol between points, the switchboard and desks — the one module both sides import.

Two layers travel on two transports:

* **Signalling** (JSON text frames on a WebSocket to the switchboard): hello/welcome, queues, call set-up
  (offer/answer/ICE relayed between participants), hang-up, interpreter invitations, the identity nonce
  and the proof's return, errors. :func:`parse_signal` validates every frame received.
* **Call data** (the WebRTC data channel ``etapiste``, end-to-end between the point and the agent, never
  through the switchboard): real-time text, documents (print and scan), their progress, and the
  customer-facing progress of identification. :func:`parse_data` validates its text frames; binary frames
  are the chunks of the document being transferred (see :class:`DocBegin`).

Every message is a pydantic model with a ``type`` literal; unknown fields are refused, so a typo is an
error instead of a silently ignored field. Why pydantic and not hand-written dicts: the models are the
documentation (``docs/protocol.md`` is written from them) and both ends get the same validation.

Versioning: :data:`PROTOCOL_VERSION` is sent in ``hello`` and ``welcome``. A change that an old peer could
misread bumps it; the switchboard refuses a hello with a version it does not speak (``unsupported_version``)
so a point never half-works after an update. Adding an optional field does not bump the version.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal, TypeAlias, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from etapiste import safejson
from etapiste.codes import (
    AppointmentRefusalCode,
    CallEndCode,
    CallTransferReasonCode,
    IdentityAbortCode,
    IdentityResultCode,
    PrintFailureCode,
    ProtocolErrorCode,
    QueueLeftCode,
    ScanFailureCode,
    TransferCode,
)
from etapiste.language import Language, Text

#: The version of this protocol; sent in ``hello`` and echoed in ``welcome``.
PROTOCOL_VERSION = 1
#: Versions the switchboard accepts in a hello.
SUPPORTED_VERSIONS = frozenset({1})
#: Largest signalling frame accepted (an SDP with many candidates is ~10 KB).
MAX_SIGNAL_BYTES = 64 * 1024
#: Label of the call's data channel, negotiated by the point (the offerer).
DATA_CHANNEL_LABEL = "etapiste"
#: Largest document sent either way on the data channel (the point's printer limit is smaller or equal).
MAX_DOCUMENT_BYTES = 20_000_000
#: Size of each binary chunk of a document; SCTP messages larger than this fragment badly in browsers.
CHUNK_BYTES = 16 * 1024
#: A sender pauses when this much is buffered on the data channel and resumes at the low mark.
BUFFER_HIGH_BYTES = 1024 * 1024
BUFFER_LOW_BYTES = 256 * 1024
#: Identity nonces are single-use and expire after this many seconds (Web eID's recommendation).
NONCE_TTL_S = 300

Role = Literal["point", "agent", "interpreter", "organiser", "host"]

Id = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
Feature = Annotated[str, Field(pattern=r"^[a-z_]{1,32}$")]
#: A point that understands ``queue.transferred`` (issue 22): it leaves the call and waits in the new queue.
TRANSFER_FEATURE = "transfer"
#: What this version's point says in its hello (``hello.point.features``).
POINT_FEATURES: tuple[str, ...] = (TRANSFER_FEATURE,)
InterpreterLanguage = Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$")]
"""An interpreter's language as configured at the point and the switchboard: a language code, optionally
with a variant (``ar``, ``so``, ``fi-sign`` for Finnish sign language, ``sv-sign``)."""
"""Identifiers minted by the switchboard (tickets, calls, requests) or configured (points, queues)."""
Ref = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
"""A sender's own correlation id; the switchboard echoes it in the reply or error."""


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ref: Ref | None = None
    """Optional correlation id chosen by the sender, echoed in a reply or error about this message."""


# --------------------------------------------------------------------------------------------------------
# Shared parts


class IceServer(BaseModel):
    """One entry of ``RTCConfiguration.iceServers``; a TURN entry carries short-lived credentials."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    urls: list[Annotated[str, Field(pattern=r"^(stun|turn|turns):", max_length=256)]] = Field(min_length=1)
    username: str | None = Field(None, max_length=256)
    credential: str | None = Field(None, max_length=256)


class Peer(BaseModel):
    """A participant of a call as the others see it; no personal data of the customer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Id
    role: Role
    name: str = Field("", max_length=120)
    """The agent's or interpreter's display name; for a point, the host's name (e.g. the library)."""
    producer: Id | None = None
    """An agent's producer (an addition to version 1, issue 22: in a joint call the kiosk names it when it asks
    the customer whether to show their identification to that agent too)."""


class WebEidToken(BaseModel):
    """A Web eID 1.0 authentication token, exactly as web-eid-app produces it (field names included).

    Kept in the standard format so a producer can validate it with the existing Web eID libraries too.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    unverifiedCertificate: str = Field(min_length=100, max_length=8000)
    """The authentication certificate, DER in standard Base64."""
    algorithm: Literal["ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "RS256", "RS384", "RS512"]
    signature: str = Field(min_length=40, max_length=2000)
    """Signature over H(origin) ‖ H(nonce), standard Base64."""
    format: str = Field(pattern=r"^web-eid:1(\.\d+)?$")
    appVersion: str = Field("", max_length=200)


# --------------------------------------------------------------------------------------------------------
# Signalling: connection


class PointHello(_Message):
    """First frame from a point: who it is and its credential (from ``switchboard.credential_file``)."""

    type: Literal["hello.point"] = "hello.point"
    protocol: int
    point: Id
    credential: str = Field(min_length=16, max_length=256)
    software: str = Field("", max_length=100)
    call: Id | None = None
    """The call this point is still in after its connection dropped: the switchboard holds a call for a
    while (``rejoin_grace_s``) when a participant's connection goes, and resumes it on this hello."""
    ticket: Id | None = None
    """The queue ticket this point still holds after its connection dropped: its place in the queue is
    held for as long as a call is, so a network blip does not send the customer to the back."""
    features: list[Feature] = Field(default_factory=list, max_length=16)
    """What this point's software understands beyond protocol 1's first version (:data:`POINT_FEATURES`);
    a point that does not say ``transfer`` is never transferred (it would stay in an ended call). Unknown
    names are accepted and ignored, so a newer point still talks to an older switchboard."""


class DeskHello(_Message):
    """First frame from a desk. The session comes from the login (cookie or this field)."""

    type: Literal["hello.desk"] = "hello.desk"
    protocol: int
    session: str | None = Field(None, max_length=256)
    resume: Id | None = None
    """After a dropped connection: the participant id (``welcome.you``) this desk had, to come back as."""
    call: Id | None = None
    """After a dropped connection: the call this desk is still in (resumed when the switchboard holds it)."""
    languages: list[Language] | None = Field(None, max_length=3)
    """The languages the agent serves customers in this session, as chosen at login (an addition to version
    1, see the changelog; absent: the ``languages`` of the agent's configuration entry, else Finnish)."""


class Welcome(_Message):
    """The switchboard accepted the hello. ``ice_servers`` carry TURN credentials valid ``ice_ttl_s``."""

    type: Literal["welcome"] = "welcome"
    protocol: int = PROTOCOL_VERSION
    role: Role
    you: Id
    """This connection's participant id in calls."""
    name: str = Field("", max_length=120)
    ice_servers: list[IceServer] = Field(default_factory=list)
    ice_ttl_s: int = 0
    origin: str = ""
    """The switchboard's origin for Web eID proofs (``https://host[:port]``)."""
    call: Id | None = None
    """The call this connection was resumed into. ``None`` after a hello that named a call means that call
    has ended (the grace period ran out, or the other side hung up meanwhile)."""
    ticket: Id | None = None
    """The queue ticket resumed (the point is still in the queue at the place it had)."""
    rejoin_grace_s: int = 0
    """How long the switchboard holds a call for a participant whose connection dropped; the desk also gives
    the customer's media this long to come back before it ends the call."""
    server_time: float = 0.0


class Error(_Message):
    """What the receiver sent was not accepted. ``code`` is stable; ``message`` is for logs and staff.

    Desks and the kiosk show a translated text chosen by ``code``; they never show ``message`` to a customer.
    """

    type: Literal["error"] = "error"
    code: ProtocolErrorCode
    message: str = Field("", max_length=1000)


# --------------------------------------------------------------------------------------------------------
# Signalling: queues


class QueueRequest(_Message):
    """The point asks for an agent of ``producer`` in ``queue`` speaking ``language``."""

    type: Literal["queue.request"] = "queue.request"
    producer: Id
    queue: Id
    language: Language = "fi"
    interpreter: InterpreterLanguage | None = None
    """The customer said before queueing that they need an interpreter of this language (an addition to version 1); the
    agent sees it on the waiting entry and can invite one at once. Absent: no need given."""


class QueuePosition(_Message):
    """Pushed to the point whenever its place or the wait estimate changes. ``position`` 1 is next."""

    type: Literal["queue.position"] = "queue.position"
    ticket: Id
    position: int = Field(ge=1)
    estimate_s: int | None = None
    """Seconds until an agent is likely to answer; ``None`` when no agent of the queue is online."""
    agents_online: int = Field(0, ge=0)
    language_agents: int | None = Field(None, ge=0)
    """Agents online who speak the customer's language (an addition to version 1; absent from an older switchboard)."""


class QueueEstimate(BaseModel):
    """One queue as the service choice shows it before the customer chooses."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    queue: Id
    producer: Id
    open: bool
    """Inside the queue's service hours now."""
    estimate_s: int | None = Field(None, ge=0)
    """Seconds a customer queueing now would likely wait; ``None`` when no agent of the queue is online."""
    agents_online: int = Field(0, ge=0)
    waiting: int = Field(0, ge=0)


class QueueEstimates(_Message):
    """Pushed to every point on welcome and whenever an estimate or opening changes (an addition to version 1), so the
    service choice can say per producer whether it answers now and how long the wait is."""

    type: Literal["queue.estimates"] = "queue.estimates"
    queues: list[QueueEstimate] = Field(default_factory=list, max_length=500)


class QueueCancel(_Message):
    """The customer gave up waiting (or the session ended) before an agent answered."""

    type: Literal["queue.cancel"] = "queue.cancel"


class QueueLeft(_Message):
    """The point is no longer queued and no call follows (a call would arrive as ``call.start``)."""

    type: Literal["queue.left"] = "queue.left"
    ticket: Id
    reason: QueueLeftCode
    """``timeout``: nobody answered within the queue's limit; ``closed``: the service hours ended."""


class QueueEntry(BaseModel):
    """One waiting point as a desk sees it: no personal data, only where and in which language."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ticket: Id
    point: Id
    place: str = Field("", max_length=120)
    """The host's name (e.g. "Oulu City Library"), so the agent knows where the customer is."""
    language: Language
    waited_s: int = Field(ge=0)
    reconnecting: bool = False
    """The point's connection dropped; its place is held while it reconnects (an answer still reaches it)."""
    interpreter: InterpreterLanguage | None = None
    """The interpreter language the customer asked for before queueing (an addition to version 1)."""
    language_first_s: int | None = Field(None, ge=0)
    """Seconds this entry is still offered only to agents speaking its language (an addition to version 1; absent: open
    to every agent of the queue)."""
    transferred_from: Id | None = None
    """The producer whose agent transferred this customer here (an addition to version 1, issue 22); ``waited_s``
    then counts from when the customer first queued there."""
    transfer_reason: CallTransferReasonCode | None = None
    """Why they were transferred, from the fixed list (never free text)."""
    appointment_start: float | None = None
    """The booked time (epoch seconds) when this customer checked in for an appointment (an addition to version
    1, issue 22): they stand first in line."""


class QueueView(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    queue: Id
    producer: Id
    open: bool
    entries: list[QueueEntry] = Field(default_factory=list)


class QueueSnapshot(_Message):
    """Pushed to each agent whenever a queue they serve changes; the desk alerts on new tickets."""

    type: Literal["queue.snapshot"] = "queue.snapshot"
    queues: list[QueueView]


class QueueTransferred(_Message):
    """To the point: the agent transferred the customer; the call ``call`` is over for the point, which now
    waits as ``ticket`` in ``queue`` of ``producer``, placed by when it first queued (an addition to version 1,
    issue 22). ``queue.position`` follows as for any ticket; a ``call.ended`` for ``call`` may follow too and
    is ignored."""

    type: Literal["queue.transferred"] = "queue.transferred"
    call: Id
    ticket: Id
    queue: Id
    producer: Id
    from_producer: Id
    producer_name: Text | None = None
    """The target producer's name in fi/sv/en as the switchboard has it, for a point that does not offer that
    producer itself (its own configuration's name is used when it does)."""


class QueueAccept(_Message):
    """An agent answers ``ticket``; if another agent was faster the reply is ``error ticket_gone``."""

    type: Literal["queue.accept"] = "queue.accept"
    ticket: Id


# --------------------------------------------------------------------------------------------------------
# Signalling: calls


class CallStart(_Message):
    """You are now in ``call``. Send an offer to each id in ``offer_to``; wait for offers from the others.

    The rule is that an earlier participant offers to a later one, so the point (first) always offers and
    owns the data channel, and the agent offers to an interpreter who joins.
    """

    type: Literal["call.start"] = "call.start"
    call: Id
    you: Id
    peers: list[Peer]
    offer_to: list[Id] = Field(default_factory=list)
    ice_servers: list[IceServer] = Field(default_factory=list)
    producer: Id | None = None
    language: Language | None = None


class CallTransfer(_Message):
    """The answering agent sends the customer of ``call`` to ``queue`` (another producer's, or another of their
    own) for ``reason`` (an addition to version 1, issue 22). Refused with ``error`` before anything moves
    when the queue is unknown (``unknown_queue``), the call's own (``not_allowed``), closed (``queue_closed``)
    or has no agent online (``no_agent``); otherwise the agent gets ``call.ended`` (``transferred``) and the
    point ``queue.transferred``."""

    type: Literal["call.transfer"] = "call.transfer"
    call: Id
    queue: Id
    reason: CallTransferReasonCode


class AppointmentCheckIn(_Message):
    """The point: the customer typed the check-in ``code`` of a booked appointment (an addition to version 1,
    issue 22). Answered with ``appointment.checked_in`` (then ``queue.position`` as for any ticket) or
    ``appointment.refused``."""

    type: Literal["appointment.check_in"] = "appointment.check_in"
    code: str = Field(pattern=r"^[0-9]{6}$")
    language: Language = "fi"


class AppointmentCheckedIn(_Message):
    """To the point: the code is this point's booking in its time window; the customer waits as ``ticket`` at the
    front of ``queue``. ``agent_online``: the booked agent's desk was alerted (else every agent of the producer
    sees them first in line)."""

    type: Literal["appointment.checked_in"] = "appointment.checked_in"
    ticket: Id
    producer: Id
    queue: Id
    start: float
    agent_online: bool


class AppointmentRefused(_Message):
    """To the point: the code was not accepted; ``start`` and ``opens_at`` (epoch seconds) come with
    ``too_early`` so the kiosk can say when to come back."""

    type: Literal["appointment.refused"] = "appointment.refused"
    reason: AppointmentRefusalCode
    start: float | None = None
    opens_at: float | None = None


class AppointmentArrived(_Message):
    """To the booked agent's desk(s): their customer checked in at ``place``; answer ``ticket`` as usual."""

    type: Literal["appointment.arrived"] = "appointment.arrived"
    booking: Id
    ticket: Id
    point: Id
    place: str = Field("", max_length=120)
    start: float


class AppointmentDayRequest(_Message):
    """The point's staff mode asks for today's bookings at this point."""

    type: Literal["appointment.day_request"] = "appointment.day_request"


class AppointmentSlot(BaseModel):
    """One booking as the point's staff see it: when and which producer, never who."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: float
    length_s: int = Field(ge=0)
    producer: Id
    checked_in: bool = False


class AppointmentDay(_Message):
    """To the point: today's bookings there (in the switchboard's time zone), earliest first."""

    type: Literal["appointment.day"] = "appointment.day"
    bookings: list[AppointmentSlot] = Field(default_factory=list, max_length=500)


class PeerJoined(_Message):
    """A new participant (an interpreter) joined ``call``; offer to it when ``offer`` is true."""

    type: Literal["call.peer_joined"] = "call.peer_joined"
    call: Id
    peer: Peer
    offer: bool


class PeerLeft(_Message):
    type: Literal["call.peer_left"] = "call.peer_left"
    call: Id
    peer: Id


class Offer(_Message):
    """An SDP offer. Sent with ``peer`` = the recipient; relayed with ``peer`` = the sender."""

    type: Literal["signal.offer"] = "signal.offer"
    call: Id
    peer: Id
    sdp: str = Field(min_length=10, max_length=60_000)


class Answer(_Message):
    type: Literal["signal.answer"] = "signal.answer"
    call: Id
    peer: Id
    sdp: str = Field(min_length=10, max_length=60_000)


class Ice(_Message):
    """A trickled ICE candidate (``candidate`` without the ``a=`` prefix); ``None`` ends the candidates."""

    type: Literal["signal.ice"] = "signal.ice"
    call: Id
    peer: Id
    candidate: str | None = Field(None, max_length=1024)
    sdp_mid: str | None = Field(None, max_length=64)
    sdp_mline_index: int | None = Field(None, ge=0, le=64)


class Hangup(_Message):
    """A participant leaves. The point or the agent leaving ends the call; an interpreter just leaves."""

    type: Literal["call.hangup"] = "call.hangup"
    call: Id


class CallEnded(_Message):
    type: Literal["call.ended"] = "call.ended"
    call: Id
    reason: CallEndCode
    """``setup_failed``: offer and answer were not exchanged within 45 s of answering the queue."""
    by: Role | None = None


# --------------------------------------------------------------------------------------------------------
# Signalling: interpreters


class InterpreterInvite(_Message):
    """The agent asks for an interpreter of ``language`` (any interpreter when ``None``)."""

    type: Literal["interpreter.invite"] = "interpreter.invite"
    call: Id
    language: str | None = Field(None, max_length=40)


class InterpreterInvited(_Message):
    """Pushed to every fitting interpreter online; the first ``interpreter.accept`` joins the call."""

    type: Literal["interpreter.invited"] = "interpreter.invited"
    invite: Id
    call: Id
    producer: Id
    language: str | None = None
    agent: str = ""


class InterpreterAccept(_Message):
    type: Literal["interpreter.accept"] = "interpreter.accept"
    invite: Id


class InterpreterInviteGone(_Message):
    """The invitation was taken by another interpreter, withdrawn, or its call ended."""

    type: Literal["interpreter.invite_gone"] = "interpreter.invite_gone"
    invite: Id


# --------------------------------------------------------------------------------------------------------
# Signalling: joint calls (issue 22, an addition to version 1)


class AgentInvite(_Message):
    """An agent in ``call`` asks for an agent of ``producer`` to join it (a joint call)."""

    type: Literal["agent.invite"] = "agent.invite"
    call: Id
    producer: Id


class AgentInvited(_Message):
    """Pushed to every free agent of the invited producer; the first ``agent.accept`` joins the call. Carries
    nothing of the customer: which producer asks and the inviting agent's name."""

    type: Literal["agent.invited"] = "agent.invited"
    invite: Id
    call: Id
    producer_from: Id
    agent: str = Field("", max_length=120)


class AgentAccept(_Message):
    type: Literal["agent.accept"] = "agent.accept"
    invite: Id


class AgentInviteGone(_Message):
    """The invitation was taken by another agent, withdrawn, or its call ended."""

    type: Literal["agent.invite_gone"] = "agent.invite_gone"
    invite: Id


class IdentityShare(_Message):
    """From the point: the customer agreed on the kiosk that the identity they proved for ``request`` may be
    shown to ``peer`` (another agent in the joint call) too. Without it that agent never sees it."""

    type: Literal["identity.share"] = "identity.share"
    call: Id
    request: Id
    peer: Id


# --------------------------------------------------------------------------------------------------------
# Signalling: identity


class IdentityStart(_Message):
    """The agent presses "Identify"; the switchboard issues a nonce and sends ``identity.request``."""

    type: Literal["identity.start"] = "identity.start"
    call: Id


class IdentityRequest(_Message):
    """To the point: have the customer insert the card and type PIN1, then sign ``nonce`` for ``origin``."""

    type: Literal["identity.request"] = "identity.request"
    call: Id
    request: Id
    nonce: str = Field(min_length=44, max_length=128)
    origin: str = Field(max_length=300)
    expires_in_s: int = NONCE_TTL_S
    agent: Id | None = None
    """The participant id of the agent who asked (an addition to version 1, issue 22): in a joint call the
    proof is shown to that agent alone until the customer agrees to show it to another."""


class IdentityProof(_Message):
    """From the point: the card's Web eID token for the request's nonce."""

    type: Literal["identity.proof"] = "identity.proof"
    call: Id
    request: Id
    token: WebEidToken


class IdentityAbort(_Message):
    """From the point: no proof will come (the customer cancelled, the PIN is blocked, the card failed).

    ``internal_error``: something at the point failed that is no fault of the card or the customer (a
    software fault, an origin the point will not sign for); the customer is told, the agent may ask again.
    ``origin_mismatch``: the request named another origin than the one derived from the point's configured
    switchboard URL; the card was not asked (a misconfigured or impersonated switchboard).
    """

    type: Literal["identity.abort"] = "identity.abort"
    call: Id
    request: Id
    reason: IdentityAbortCode


class IdentityResult(_Message):
    """The switchboard's verdict, to the agent (with the verified holder) and to the point (without).

    ``reason`` on failure: the validator's code (``signature_invalid``, ``certificate_untrusted``,
    ``certificate_expired``, ``certificate_policy``, …, see docs/protocol.md), the revocation check's
    ``revoked`` (the card has been revoked) or ``revocation_unknown`` (its validity could not be checked),
    ``nonce_reused``, ``nonce_expired``, ``unavailable`` (all :data:`~etapiste.codes.IdentityResultCode`),
    or the point's abort reason (:data:`~etapiste.codes.IdentityAbortCode`).
    """

    type: Literal["identity.result"] = "identity.result"
    call: Id
    request: Id
    ok: bool
    given_name: str | None = Field(None, max_length=200)
    surname: str | None = Field(None, max_length=200)
    satu: str | None = Field(None, max_length=20)
    reason: IdentityResultCode | IdentityAbortCode | None = None
    message: str = Field("", max_length=500)
    shared_from: Id | None = None
    """Set when the customer agreed to show another agent's verified identity to this one (a joint call,
    issue 22): the producer of the agent it was proven to."""


# --------------------------------------------------------------------------------------------------------
# Signalling: the room as the host's staff see it (issue 21, the host view; additions to version 1)

RoomDevice = Annotated[str, Field(pattern=r"^[a-z_]{1,32}$")]
"""A device of the room as the point's health names it (``printer``, ``scanner``, ``card_reader``, ``camera``)."""


class RoomFault(BaseModel):
    """One device that does not work, by its code from :mod:`etapiste.codes` (never free text)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device: RoomDevice
    code: str = Field(pattern=r"^[a-z0-9_]{1,48}$")


class RoomStatus(_Message):
    """From the point, after ``welcome`` and whenever it changes: whether the room is out of service and
    which devices fail. Codes only: nothing a customer did is in it. The host view shows it."""

    type: Literal["room.status"] = "room.status"
    out_of_service: bool = False
    faults: list[RoomFault] = Field(default_factory=list, max_length=16)


class RoomHelp(_Message):
    """From the point: a customer pressed "ask the staff for help" (a moment; no details travel)."""

    type: Literal["room.help"] = "room.help"


class RoomStaffComing(_Message):
    """To the point: a host's staff member pressed "I'm on it" for a help request (``kind help``) or a
    device's fault (``kind device``, ``device`` set); the customer can be told someone is coming."""

    type: Literal["room.staff_coming"] = "room.staff_coming"
    kind: Literal["help", "device"]
    device: RoomDevice | None = None


class RoomService(_Message):
    """To the point: the host's staff set (``on``) or cleared the room's out of service from the host view.
    The point holds it as staff set it at the screen do (its agent keeps it over restarts)."""

    type: Literal["room.service"] = "room.service"
    on: bool
    message: str | None = Field(None, max_length=300)
    """The staff's words for the customers (shown as written), only with ``on``."""


SignalMessage: TypeAlias = Annotated[
    PointHello
    | DeskHello
    | Welcome
    | Error
    | QueueRequest
    | QueuePosition
    | QueueEstimates
    | QueueCancel
    | QueueLeft
    | QueueSnapshot
    | QueueAccept
    | QueueTransferred
    | CallTransfer
    | CallStart
    | AppointmentCheckIn
    | AppointmentCheckedIn
    | AppointmentRefused
    | AppointmentArrived
    | AppointmentDayRequest
    | AppointmentDay
    | PeerJoined
    | PeerLeft
    | Offer
    | Answer
    | Ice
    | Hangup
    | CallEnded
    | InterpreterInvite
    | InterpreterInvited
    | InterpreterAccept
    | InterpreterInviteGone
    | AgentInvite
    | AgentInvited
    | AgentAccept
    | AgentInviteGone
    | IdentityShare
    | IdentityStart
    | IdentityRequest
    | IdentityProof
    | IdentityAbort
    | IdentityResult
    | RoomStatus
    | RoomHelp
    | RoomStaffComing
    | RoomService,
    Field(discriminator="type"),
]

#: What each role may send to the switchboard; anything else is answered with ``error not_allowed``.
POINT_SENDS = frozenset(
    {
        "hello.point",
        "queue.request",
        "queue.cancel",
        "signal.offer",
        "signal.answer",
        "signal.ice",
        "call.hangup",
        "identity.proof",
        "identity.abort",
        "identity.share",
        "appointment.check_in",
        "appointment.day_request",
        "room.status",
        "room.help",
    }
)
AGENT_SENDS = frozenset(
    {
        "hello.desk",
        "queue.accept",
        "signal.offer",
        "signal.answer",
        "signal.ice",
        "call.hangup",
        "interpreter.invite",
        "identity.start",
        "call.transfer",
        "agent.invite",
        "agent.accept",
    }
)
INTERPRETER_SENDS = frozenset(
    {"hello.desk", "interpreter.accept", "signal.offer", "signal.answer", "signal.ice", "call.hangup"}
)
ORGANISER_SENDS = frozenset({"hello.desk"})
#: The host's staff use the host view over HTTP (``/host``); a desk socket shows them nothing.
HOST_SENDS = frozenset({"hello.desk"})
SENDS: dict[Role, frozenset[str]] = {
    "point": POINT_SENDS,
    "agent": AGENT_SENDS,
    "interpreter": INTERPRETER_SENDS,
    "organiser": ORGANISER_SENDS,
    "host": HOST_SENDS,
}


# --------------------------------------------------------------------------------------------------------
# Call data channel (point ↔ agent, end-to-end)


class Rtt(_Message):
    """Real-time text: the sender's whole current line after each keystroke; ``final`` commits it.

    Sending the whole line (not key events) makes a lost or reordered frame harmless and keeps the
    receiver simple; a line is at most 2000 characters.
    """

    type: Literal["rtt"] = "rtt"
    seq: int = Field(ge=0)
    text: str = Field(max_length=2000)
    final: bool = False


class DocBegin(_Message):
    """A document follows as binary frames of at most :data:`CHUNK_BYTES`, then ``doc.end``.

    One transfer per direction at a time: binary frames belong to the open transfer of that direction.
    ``sha256`` (hex) is checked by the receiver, which answers ``doc.ack``.
    """

    type: Literal["doc.begin"] = "doc.begin"
    transfer: Id
    purpose: Literal["print", "scan"]
    name: str = Field(min_length=1, max_length=200)
    mime: Literal["application/pdf"] = "application/pdf"
    size: int = Field(ge=1, le=MAX_DOCUMENT_BYTES)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class DocEnd(_Message):
    type: Literal["doc.end"] = "doc.end"
    transfer: Id


class DocProgress(_Message):
    """Receiver → sender, about every 256 KiB, so both sides show the same progress."""

    type: Literal["doc.progress"] = "doc.progress"
    transfer: Id
    received: int = Field(ge=0)


class DocAck(_Message):
    """Receiver's verdict on a transfer: ``ok`` only when size and SHA-256 match and the content is a PDF."""

    type: Literal["doc.ack"] = "doc.ack"
    transfer: Id
    ok: bool
    reason: TransferCode | None = None


class DocCancel(_Message):
    type: Literal["doc.cancel"] = "doc.cancel"
    transfer: Id


class ScanRequest(_Message):
    """Agent → point: ask the customer to scan a paper; the PDF comes back as a ``scan`` transfer."""

    type: Literal["scan.request"] = "scan.request"
    request: Id


class ScanStatus(_Message):
    """Point → agent: where the scan is. ``declined`` means the customer chose not to send it."""

    type: Literal["scan.status"] = "scan.status"
    request: Id
    state: Literal["waiting_customer", "scanning", "preview", "sending", "sent", "declined", "failed"]
    pages: int | None = Field(None, ge=0)
    reason: ScanFailureCode | None = None
    """On failure, the scanner error's code (:data:`etapiste.codes.ScannerCode`, e.g. ``scanner_jammed``,
    ``scanner_out_of_documents``), the point's (``scanner_unavailable``, ``internal_error``) or a failed
    transfer's (:data:`etapiste.codes.TransferFailureCode`); never personal data."""


class PrintStatus(_Message):
    """Point → agent: progress of a document sent for printing (``transfer`` of its ``doc.begin``)."""

    type: Literal["print.status"] = "print.status"
    transfer: Id
    state: Literal["received", "printing", "done", "failed", "cancelled"]
    pages: int | None = Field(None, ge=0)
    pages_done: int | None = Field(None, ge=0)
    reason: PrintFailureCode | None = None
    """On failure, or while a print is stalled, the printer error's code
    (:data:`etapiste.codes.PrintFailureCode`, e.g. ``out_of_paper``)."""


class IdentityStatus(_Message):
    """Point → agent: the customer's progress through identification, so the agent can guide them."""

    type: Literal["identity.status"] = "identity.status"
    request: Id
    state: Literal["insert_card", "enter_pin", "signing", "sent", "cancelled", "failed"]
    reason: str | None = Field(None, max_length=60)


class DeviceStatus(_Message):
    """Point → agent: the room's camera stopped or came back, so the agent knows why the picture changed and
    that the customer still sees and hears them. Sent when it changes, and at the start of a call when the
    camera is not working. ``reason``: ``missing``, ``unplugged``. Only the camera is reported for now."""

    type: Literal["device.status"] = "device.status"
    device: Literal["camera"]
    ok: bool
    reason: str | None = Field(None, max_length=60)


DataMessage: TypeAlias = Annotated[
    Rtt
    | DocBegin
    | DocEnd
    | DocProgress
    | DocAck
    | DocCancel
    | ScanRequest
    | ScanStatus
    | PrintStatus
    | IdentityStatus
    | DeviceStatus,
    Field(discriminator="type"),
]

_signal_adapter: TypeAdapter[Any] = TypeAdapter(SignalMessage)
_data_adapter: TypeAdapter[Any] = TypeAdapter(DataMessage)



def _types(union: Any) -> frozenset[str]:
    models = get_args(get_args(union)[0])
    return frozenset(str(m.model_fields["type"].default) for m in models)


#: Every ``type`` of each layer.
SIGNAL_TYPES: frozenset[str] = _types(SignalMessage)
DATA_TYPES: frozenset[str] = _types(DataMessage)


class ProtocolError(Exception):
    """A received frame is not a valid message; ``code`` and ``ref`` go into the ``error`` reply."""

    def __init__(self, code: str, message: str, ref: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref

    def reply(self) -> Error:
        return Error.model_validate({"code": self.code, "message": self.message[:1000], "ref": self.ref})


_REF = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def _parse(raw: str | bytes, adapter: TypeAdapter[Any], known: frozenset[str], limit: int) -> Any:
    if len(raw) > limit:
        raise ProtocolError("too_large", f"frame of {len(raw)} bytes exceeds the limit of {limit}")
    try:
        data = safejson.loads(raw)  # never RecursionError: a kilobyte of brackets is just malformed
    except safejson.JsonTooDeep as exc:
        raise ProtocolError("malformed", str(exc)) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError("malformed", f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ProtocolError("malformed", "a message is a JSON object")
    raw_ref = data.get("ref")
    ref = raw_ref if isinstance(raw_ref, str) and _REF.fullmatch(raw_ref) else None
    kind = data.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("malformed", "the message has no 'type' string", ref)
    if kind not in known:
        raise ProtocolError("unknown_type", f"unknown message type {kind[:60]!r}", ref)
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:]) or '(message)'}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise ProtocolError("malformed", f"invalid {kind}: {problems}", ref) from None
    except (ValueError, TypeError, RecursionError) as exc:
        raise ProtocolError("malformed", f"invalid {kind}: {exc}", ref) from None


def parse_signal(raw: str | bytes) -> SignalMessage:
    """Validate one signalling frame; raise :class:`ProtocolError` (with the reply's code) if invalid."""
    return _parse(raw, _signal_adapter, SIGNAL_TYPES, MAX_SIGNAL_BYTES)


def parse_data(raw: str | bytes) -> DataMessage:
    """Validate one text frame of the call's data channel."""
    return _parse(raw, _data_adapter, DATA_TYPES, MAX_SIGNAL_BYTES)


def encode(message: BaseModel) -> str:
    """The JSON text of ``message`` (fields left at ``None`` are omitted)."""
    return message.model_dump_json(exclude_none=True)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of both layers, for producers who write their own desk or point."""
    return {
        "protocol": PROTOCOL_VERSION,
        "signal": _signal_adapter.json_schema(),
        "data": _data_adapter.json_schema(),
    }


if __name__ == "__main__":  # pragma: no cover - `python -m etapiste.protocol` prints the schema
    print(json.dumps(json_schema(), indent=2))
