"""Several switchboard instances on one Redis: what this instance does with what the others tell it (through
:mod:`switchboard.relay`), and what it tells them.

* A frame for one of our participants from another instance is delivered (or held, if it is away); a
  ``call.start`` or ``call.ended`` also moves it into or out of that call here, where its record lives.
* "These queues changed": our points get their positions and our agents their snapshots, coalesced as for
  our own changes; ours are announced to the others once per burst.
* Member records keep :attr:`~switchboard.hub.core.HubCore.remote` current: agents on every instance count in
  the estimates (our points get new ones when an agent elsewhere comes, goes or takes a call) and the
  language routing; interpreters on every instance are invited.
* A participant that came back on another instance (``moved``) is let go of here without ending anything; one
  replaced by a newer connection there (``let_go``) is disconnected here as on one instance.

With :class:`~switchboard.relay.LocalRelay` nothing arrives and nothing is announced: the same code is one
instance alone.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from typing import Any

from switchboard.hub.participant import Participant, RemoteParticipant
from switchboard.hub.presence import Presence
from switchboard.relay import Member

log = logging.getLogger("switchboard")


class Instances(Presence):
    """The other instances' messages and this one's announcements."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._announce: set[str] = set()
        self._announcer: asyncio.Task[None] | None = None
        self._news: list[dict[str, RemoteParticipant | None]] = []
        """For each reread of the member records under way: who came (or went) meanwhile, by notice."""

    async def start(self) -> None:
        """Listen to the other instances and learn who is connected to them (before serving)."""
        await self.relay.start(self._on_relay)
        await self.refresh_members()

    async def refresh_members(self) -> None:
        """Rewrite our members' records (they stay alive) and reread the others' (a dead instance's go).

        What the notices told while the read was on its way is newer than what it brings back (Redis may
        have answered before a record was written whose notice came first): kept over the read, or an agent
        who just logged in elsewhere vanished from here for a tick — not counted in our points' estimates,
        frames to it refused."""
        await self.relay.refresh([self._member(part) for part in self.participants.values()])
        news: dict[str, RemoteParticipant | None] = {}
        self._news.append(news)
        try:
            members = await self.relay.members()
        finally:
            self._news.remove(news)
        remote = {m.id: self._remote(m) for m in members}
        for pid, heard in news.items():
            if heard is None:
                remote.pop(pid, None)
            else:
                remote[pid] = heard
        self.remote = {pid: r for pid, r in remote.items() if pid not in self.participants}

    def _heard(self, pid: str, remote: RemoteParticipant | None) -> None:
        """A notice about another instance's ``pid`` (``None``: gone): our view now, and for the rereads under
        way (so that what they bring back does not undo it)."""
        if remote is None:
            self.remote.pop(pid, None)
        else:
            self.remote[pid] = remote
        for news in self._news:
            news[pid] = remote

    def _agents(self, producer: str) -> list[Participant]:
        """The producer's agents on every instance."""
        here = super()._agents(producer)
        return [*here, *(a for a in self.remote.values() if a.role == "agent" and producer in a.producers)]

    async def _queue_changed(self, queue: str) -> None:
        """Ours: every other instance is told too (once per burst), so their desks and points see it."""
        self._announce.add(queue)
        if self._announcer is None or self._announcer.done():
            self._announcer = asyncio.get_running_loop().create_task(self._announce_changes())
        await super()._queue_changed(queue)

    async def _announce_changes(self) -> None:
        await asyncio.sleep(0)  # a burst of frames changes the queues first
        while self._announce:
            queues, self._announce = sorted(self._announce), set()
            try:
                await self.relay.broadcast({"op": "queues", "queues": queues})
            except Exception as exc:  # Redis down: the others resync when it is back
                log.warning("could not announce queue changes: %s", type(exc).__name__)

    async def _on_relay(self, msg: dict[str, Any]) -> None:
        op = msg.get("op")
        if op == "frame":
            await self._relayed_frame(str(msg["to"]), str(msg["text"]), int(msg.get("hops", 0)))
        elif op == "queues":
            for queue in msg.get("queues", []):
                if queue in self._queues:
                    await super()._queue_changed(queue)  # not announced again
        elif op == "member":
            member = Member(**msg["member"])
            if member.id not in self.participants:
                self._heard(member.id, self._remote(member))
                if member.role == "agent":  # online or busy: our points' estimates change
                    self._estimates_soon()
        elif op == "gone":
            known = self.remote.get(str(msg.get("pid")))
            if known is not None and known.instance == msg.get("instance"):
                self._heard(known.id, None)
                if known.role == "agent":
                    self._estimates_soon()
        elif op == "moved":
            await self._moved(str(msg["pid"]), str(msg["to"]))
        elif op == "let_go":
            part = self.participants.get(str(msg["pid"]))
            if part is not None:
                if msg.get("error"):
                    await part.send_text(str(msg["error"]))
                await self.disconnect(part, hold=False)
                self._close_later(part.conn)
        elif op == "resync":  # Redis was away: what the others said meanwhile is lost
            await self.refresh_members()
            for queue in self._queues:
                await super()._queue_changed(queue)

    async def _relayed_frame(self, pid: str, text: str, hops: int) -> None:
        part = self.participants.get(pid)
        if part is None:
            elsewhere = self.remote.get(pid)
            if elsewhere is not None and hops == 0:  # it moved on while the frame travelled
                await self.relay.send(elsewhere.instance, {"op": "frame", "to": pid, "text": text, "hops": 1})
            else:
                log.info("a relayed frame for %s, who is not here, was dropped", pid)
            return
        self.metrics.relayed.labels("in").inc()
        frame = json.loads(text)
        kind, call = frame.get("type"), frame.get("call")
        if kind == "call.start":
            part.call = call
            self._publish(part)
        elif kind == "call.ended":
            if part.call != call:
                return  # it has left that call already (or is a newer connection of the point)
            part.call = None
            self._publish(part)
        await part.send_text(text)

    async def _moved(self, pid: str, to: str) -> None:
        """``pid`` came back on instance ``to``: no longer ours; its old socket goes, nothing ends. Frames we
        held for it after ``to`` took its held frames follow it there (we handle messages in order, so
        every frame that reached us before this message is held by now; later ones are forwarded)."""
        part = self.participants.pop(pid, None)
        if part is None:
            return
        self._heard(pid, self._remote(dataclasses.replace(self._member(part), instance=to, away_since=None)))
        if part.role == "point" and self.points.get(part.principal) is part:
            del self.points[part.principal]
        self._close_later(part.conn)
        log.info("%s %s moved to another instance", part.role, pid)
        for text in await self.relay.take_held(pid):
            await self._forward(to, pid, text)
