"""The kiosk's call engine: signalling to the switchboard, the WebRTC call to the agent, and everything that
travels on the call's data channel. Plain asyncio and aiortc — no Qt — so it runs headless in tests and
benchmarks and under qasync in the kiosk app.

How it is built. :class:`CallEngine` (:mod:`~kiosk.call.engine`) is the one object callers hold; what it
does is split by concern into mixins over :class:`~kiosk.call.core.EngineCore` (the engine's state, events,
tasks and the ending of a call), each building on the one before:

- :mod:`~kiosk.call.datachannel` — the data channel to the agent: real-time text, statuses, documents;
- :mod:`~kiosk.call.peer` — the peer connections, one per participant, the point always offering;
- :mod:`~kiosk.call.recovery` — a lost connection is offered to afresh until media returns, and a dropped
  signalling socket is waited for while the switchboard holds the call or the place in the queue;
- :mod:`~kiosk.call.signalling` — the WebSocket to the switchboard and the dispatch of its frames.

Mixins rather than collaborators because every concern acts on the same call, peers and queue state, and
they call each other both ways (the signalling starts peer connections, recovery re-offers through them
and the data channel opens on them). Intents return at once and never raise for a network problem; their
outcome arrives as events (:mod:`~kiosk.call.events`, frozen dataclasses delivered in order on the event
loop's thread). The methods' own docstrings are the reference; callers import from ``kiosk.call``.
"""

from kiosk.call.engine import CallEngine
from kiosk.call.events import (
    AgentJoined,
    AgentLeft,
    AppointmentCheckedIn,
    AppointmentRefused,
    BookingsToday,
    CallAnswered,
    CallConnected,
    CallEnded,
    CallEvent,
    CallQuality,
    CallTrouble,
    IdentifyRefused,
    IdentifyRequested,
    IdentityResult,
    InterpreterJoined,
    InterpreterLeft,
    PrintRequested,
    QueueEstimates,
    QueueLeft,
    QueuePosition,
    QueueRefused,
    QueueTransferred,
    RemoteVideoFrame,
    RttReceived,
    ScanRequested,
    SelfVideoFrame,
    ShareIdentityAsked,
    SwitchboardStatus,
)
from kiosk.transfer import TransferDone, TransferProgress

__all__ = [
    "AgentJoined",
    "AgentLeft",
    "AppointmentCheckedIn",
    "AppointmentRefused",
    "BookingsToday",
    "CallAnswered",
    "CallConnected",
    "CallEnded",
    "CallEngine",
    "CallEvent",
    "CallQuality",
    "CallTrouble",
    "IdentifyRefused",
    "IdentifyRequested",
    "IdentityResult",
    "InterpreterJoined",
    "InterpreterLeft",
    "PrintRequested",
    "QueueEstimates",
    "QueueLeft",
    "QueuePosition",
    "QueueRefused",
    "QueueTransferred",
    "RemoteVideoFrame",
    "RttReceived",
    "ScanRequested",
    "SelfVideoFrame",
    "ShareIdentityAsked",
    "SwitchboardStatus",
    "TransferDone",
    "TransferProgress",
]
