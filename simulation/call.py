"""A point's call engine on the in-process switchboard (:mod:`simulation.switchboard`), for the call tests
and bench/bench_call.py: an event recorder, a test-pattern camera and tone microphone, the engine itself
(loopback candidates only) and an aiortc agent (:mod:`simulation.desk_agent`) answering it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from kiosk.call import CallEngine, CallEvent, RemoteVideoFrame, SelfVideoFrame
from kiosk.media import MediaConfig, PatternSource, ToneTrack
from simulation.switchboard import POINT_CREDENTIALS, Switchboard
from simulation.waiting import polled, until_changed


def loopback_only(candidate: str) -> bool:
    """Only candidates on 127.0.0.1: no test traffic may leave loopback (the browser offers every interface)."""
    parts = candidate.split()
    return len(parts) > 5 and parts[4] == "127.0.0.1"


class Recorder:
    """Collects the engine's events; ``until`` waits for one matching a predicate."""

    __test__ = False

    #: Only the first few frame events of each peer are kept (a call makes ~45 pictures a second); the rest
    #: are counted.
    KEEP_FRAMES = 5

    def __init__(self) -> None:
        self.events: list[CallEvent] = []
        self.times: list[float] = []
        """``time.monotonic()`` at each kept event's arrival (for benchmarks)."""
        self._changed = asyncio.Event()
        self._frames: dict[type, int] = {}
        self._kept: dict[tuple[type, str | None], int] = {}

    def __call__(self, event: CallEvent) -> None:
        if isinstance(event, (RemoteVideoFrame, SelfVideoFrame)):
            self._frames[type(event)] = self._frames.get(type(event), 0) + 1
            source = (type(event), getattr(event, "peer", None))
            n = self._kept.get(source, 0)
            self._kept[source] = n + 1
            if n >= self.KEEP_FRAMES:
                self._changed.set()
                return
        self.events.append(event)
        self.times.append(time.monotonic())
        self._changed.set()

    def count(self, kind: type) -> int:
        """How many events of ``kind`` arrived (frame events included, though only the first few are kept)."""
        return self._frames.get(kind, 0) if kind in (RemoteVideoFrame, SelfVideoFrame) else len(self.of(kind))

    def time_of(self, kind: type) -> float:
        """When the first event of ``kind`` arrived."""
        return next(t for e, t in zip(self.events, self.times, strict=True) if isinstance(e, kind))

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    async def until(self, check: Callable[[], Any], timeout: float = 20.0, what: str = "event") -> Any:
        def failure() -> str:
            return f"the point never saw: {what} (saw {sorted({type(e).__name__ for e in self.events})})"

        return await until_changed(check, self._changed, timeout, failure)

    async def first(self, kind: type, check: Callable[[Any], bool] = lambda e: True, timeout: float = 20.0) -> Any:
        return await self.until(lambda: next((e for e in self.of(kind) if check(e)), None), timeout, kind.__name__)


def pattern_media(width: int = 320, height: int = 240, fps: int = 30) -> MediaConfig:
    return MediaConfig(video=PatternSource(width, height), width=width, height=height, fps=fps, audio=ToneTrack)


@contextlib.asynccontextmanager
async def point_engine(
    sb: Switchboard, point_id: str = "oulu-kirjasto", credential: str | None = None, **kwargs: Any
) -> AsyncIterator[tuple[CallEngine, Recorder]]:
    """The point's engine on ``sb`` (``url=`` another first address, ``fallback_urls=`` the ones after it)."""
    kwargs.setdefault("media", pattern_media())
    kwargs.setdefault("candidate_filter", loopback_only)
    engine = CallEngine(
        url=kwargs.pop("url", None) or sb.base.replace("http://", "ws://") + "/ws/point",
        point_id=point_id,
        credential=credential or POINT_CREDENTIALS[point_id],
        queues={"kela": "kela-general", "migri": "migri-general"},
        stats_interval_s=kwargs.pop("stats_interval_s", 0.5),
        **kwargs,
    )
    recorder = Recorder()
    engine.subscribe(recorder)
    try:
        yield engine, recorder
    finally:
        await engine.close()


@contextlib.asynccontextmanager
async def answering_agent(sb: Switchboard, engine: CallEngine, relay_only: bool = False) -> AsyncIterator[Any]:
    """The point (started here) queues for Kela and an aiortc agent answers; the agent is closed after.
    ``relay_only``: the agent offers only relayed candidates (a desk behind a strict firewall)."""
    from simulation.desk_agent import AiortcAgent

    agent = AiortcAgent(sb)
    agent.relay_only = relay_only
    try:
        await engine.start(timeout=10)
        await agent.connect()
        engine.request_call("kela")
        await agent.accept_next()
        yield agent
    finally:
        await agent.close()


@contextlib.asynccontextmanager
async def connected_call(sb: Switchboard, **kwargs: Any) -> AsyncIterator[tuple[CallEngine, Recorder, Any]]:
    """A point engine in a call with an aiortc agent, the data channel open on both sides."""
    from kiosk.call import CallConnected

    async with point_engine(sb, **kwargs) as (engine, events), answering_agent(sb, engine) as agent:
        await events.first(CallConnected)
        await agent.channel_open()
        await point_channel_open(engine)
        yield engine, events, agent


async def point_channel_open(engine: CallEngine, timeout: float = 30.0) -> None:
    """Wait for the point's own side of the data channel: it opens after the agent's, later still under load
    (a document sent before then fails with ``not_connected``, as a test once did on a busy machine)."""

    def open_() -> bool:
        return bool(engine.peers) and all(
            peer.channel is not None and peer.channel.readyState == "open" for peer in engine.peers.values()
        )

    await polled(open_, "the point's own side of the data channel open", timeout)
