"""Who is connected: points and desks say hello, come back into the call or queue place they hold within
the rejoin grace (same participant id, held frames delivered), and go."""

from __future__ import annotations

import logging
import secrets

from etapiste import protocol as p
from switchboard.config import User
from switchboard.credentials import verify_point_credential
from switchboard.hub.calls import Calls
from switchboard.hub.participant import Connection, Participant, RemoteParticipant
from switchboard.turn import ice_servers

log = logging.getLogger("switchboard")


class Presence(Calls):
    """Hello, resume and disconnect of points and desks."""

    async def connect_point(self, hello: p.PointHello, conn: Connection) -> Participant | p.Error:
        if hello.protocol not in p.SUPPORTED_VERSIONS:
            return p.Error(code="unsupported_version", message=f"protocol {hello.protocol} is not spoken here")
        stored = self._point_hashes.get(hello.point)
        if stored is None or not verify_point_credential(hello.credential, stored):
            log.warning("point hello refused: unknown point or wrong credential (claimed %s)", hello.point)
            return p.Error(code="unauthorised", message="unknown point or wrong credential")
        old = self._point(hello.point)  # on this instance or another
        if old is not None:
            if await self._point_may_resume(old, hello):
                taken = await self._take_over(old, conn)
                taken.features = frozenset(hello.features)  # its software may have changed meanwhile
                return await self._resume(taken, conn)
            log.info("point %s reconnected; the old connection is closed", hello.point)
            await self._let_go(old, p.Error(code="not_allowed", message="replaced by a newer connection of this point"))
        part = Participant(
            id=f"point-{hello.point}",
            role="point",
            name=self._point_places.get(hello.point, hello.point),
            principal=hello.point,
            conn=conn,
            features=frozenset(hello.features),
        )
        self._adopt(part)
        await part.send(self._welcome(part))
        await self.send_estimates(part)
        log.info("point %s online", hello.point)
        return part

    async def connect_desk(self, hello: p.DeskHello, token: str | None, conn: Connection) -> Participant | p.Error:
        if hello.protocol not in p.SUPPORTED_VERSIONS:
            return p.Error(code="unsupported_version", message=f"protocol {hello.protocol} is not spoken here")
        user = await self.session_user(token or hello.session)
        if user is None:
            return p.Error(code="session_expired", message="log in again")
        held = self._find(hello.resume) if hello.resume else None  # on this instance or another
        if held is not None and held.role != "point" and held.principal == user.username:
            if hello.call is not None and held.call == hello.call and await self.state.get_call(hello.call):
                held = await self._take_over(held, conn)
                held.session = token or hello.session
                part = await self._resume(held, conn)
                if part.role == "agent":
                    await part.send(await self._snapshot(part))
                return part
            if held.away_since is not None:  # it came back without the call it was held for
                await self._let_go(held, None)
        part = Participant(
            id=f"desk-{secrets.token_hex(6)}",
            role=user.role,
            name=user.name,
            principal=user.username,
            conn=conn,
            session=token or hello.session,
            producers=frozenset(user.producers),
            # An agent serves the languages chosen at login (the configuration's by default).
            languages=frozenset(hello.languages if hello.languages and user.role == "agent" else user.languages),
        )
        self._adopt(part)
        await part.send(self._welcome(part))
        if part.role == "agent":
            await part.send(await self._snapshot(part))
            await self._agents_changed(part)
        log.info("desk %s online as %s", part.id, part.role)
        return part

    async def _point_may_resume(self, old: Participant, hello: p.PointHello) -> bool:
        """Whether ``hello`` comes back to what the switchboard holds for this point: its call, or its place
        in the queue — or the call an agent answered that place with while the point was away."""
        if hello.call is not None and old.call == hello.call:
            return await self.state.get_call(hello.call) is not None
        if hello.ticket is None:
            return False
        ticket = await self.state.ticket_of_point(old.principal)
        if ticket is not None:
            return ticket.id == hello.ticket
        call = await self.state.get_call(old.call) if old.call is not None else None
        return call is not None and call.ticket == hello.ticket

    def _welcome(self, part: Participant, ticket: str | None = None) -> p.Welcome:
        servers, ttl = ice_servers(self.config, part.id, self.clock(), role=part.role)
        return p.Welcome(
            role=part.role,
            you=part.id,
            name=part.name,
            ice_servers=servers,
            ice_ttl_s=ttl,
            origin=self.config.origin,
            call=part.call,
            ticket=ticket,
            rejoin_grace_s=self.config.rejoin_grace_s,
            server_time=self.clock(),
        )

    async def _resume(self, part: Participant, conn: Connection) -> Participant:
        """``part`` came back on ``conn`` into the call it is still in: same participant id, so the other
        participants' peer connections and their signalling stay addressed to it; held frames follow."""
        previous, part.conn = part.conn, conn
        was_away, part.away_since = part.away_since is not None, None
        self._publish(part)
        held = await part.held_frames.take_held(part.id)
        if not was_away:
            # The old socket still looked alive here (its heartbeat had not run out) but the participant
            # has given up on it; closing it later is harmless because it is no longer ``part.conn``.
            self._close_later(previous)
        ticket = await self.state.ticket_of_point(part.principal) if part.role == "point" else None
        await part.send(self._welcome(part, ticket.id if ticket else None))
        for text in held:
            await part.send_text(text)
        if part.role == "point":
            await self.send_estimates(part)
        if ticket is not None:
            await self._queue_changed(ticket.queue)  # its position again, and agents see it is back
        log.info("%s %s came back (call %s, queued %s, %d held frames)", part.role, part.id, part.call,
                 ticket is not None, len(held))
        return part

    async def session_user(self, token: str | None) -> User | None:
        if not token:
            return None
        session = await self.state.get_session(token)
        if session is None:
            return None
        if session.expires <= self.clock():
            await self.state.drop_session(token)
            return None
        return self.users.get(session.username)

    async def _let_go(self, part: Participant, error: p.Error | None) -> None:
        """``part`` gave up on its connection (it came back without what it was held for): it is
        disconnected for good (after ``error``), on whichever instance holds it."""
        if isinstance(part, RemoteParticipant):
            text = p.encode(error) if error is not None else None
            await self.relay.send(part.instance, {"op": "let_go", "pid": part.id, "error": text})
            return
        if error is not None:
            await part.send(error)
        await self.disconnect(part, hold=False)
        self._close_later(part.conn)

    async def disconnect(self, part: Participant, conn: Connection | None = None, *, hold: bool = True) -> None:
        """``part``'s connection (``conn``, when given) is gone. A participant in a call, or a point in a
        queue, is held for ``rejoin_grace_s`` first (``hold``), so a network cut neither ends the call nor
        costs the customer their place; the sweep lets go of them if they do not come back in time."""
        if self.participants.get(part.id) is not part:
            return
        if conn is not None and part.conn is not conn:
            return  # an old connection closing after the participant came back on a new one
        ticket = await self.state.ticket_of_point(part.principal) if part.role == "point" else None
        if hold and (part.call or ticket) and part.away_since is None and self.config.rejoin_grace_s > 0:
            part.away_since = self.clock()
            self._publish(part)
            log.info("%s %s lost its connection (call %s, queued %s); holding them %d s for it",
                     part.role, part.id, part.call, ticket is not None, self.config.rejoin_grace_s)
            if ticket is not None:
                await self._queue_changed(ticket.queue)  # agents see the customer's point reconnecting
            return
        del self.participants[part.id]
        await self._forget(part)
        if part.role == "point" and self.points.get(part.principal) is part:
            del self.points[part.principal]
            if ticket is not None:
                if await self.state.take_ticket(ticket.id) is not None:
                    self.metrics.left.labels(ticket.queue, "abandoned").inc()
                await self._queue_changed(ticket.queue)
        if part.call is not None:
            call = await self.state.get_call(part.call)
            if call is not None:
                if part.id in call.interpreters:  # one who joined leaves; the call goes on
                    await self._guest_leaves(call, part)
                else:
                    await self._end_call(call, "point_gone" if part.role == "point" else "agent_gone", part.role)
        if part.role == "agent":
            await self._agents_changed(part)
        log.info("%s %s offline", part.role, part.id)
