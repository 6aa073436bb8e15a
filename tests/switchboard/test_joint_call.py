"""Joint calls (issue 22, item 2) through the real switchboard, with points and desks speaking the wire
protocol over WebSockets on loopback: a Kela agent invites Migri's agents into the customer's call, only
Migri's free agents are asked, the first to accept joins (the others see the invitation withdrawn), no agent
online is an error, the second agent leaves and is invited again as an interpreter would be, and the
identity proven to one agent reaches the other only when the point says the customer agreed; with Redis, the
invited agent is on another instance than the call."""

from __future__ import annotations

import datetime as dt
import secrets
from contextlib import AsyncExitStack

from etapiste import protocol as p
from etapiste.webeid.certificate import Holder
from simulation.clock import FakeClock
from simulation.services.redis import Redis
from simulation.switchboard import FAST_N, Client, make_config, serve, start_call
from switchboard.config import User
from switchboard.credentials import hash_password

SECOND_MIGRI = ("ville", "villen-sana-88")


def _config_with_two_migri_agents():
    config = make_config()
    ville = User(username=SECOND_MIGRI[0], name="Ville / Migri", role="agent", producers=["migri"],
                 password_hash=hash_password(SECOND_MIGRI[1], n=FAST_N))  # fmt: skip
    return config.model_copy(update={"users": [*config.users, ville]})


async def _desk(sb, username: str, password: str) -> Client:
    http = await sb.login(username, password)
    sb._extra.append(http)
    client = Client(await http.ws_connect(f"{sb.base}/ws/desk"))
    await client.send(p.DeskHello(protocol=p.PROTOCOL_VERSION))
    await client.expect("welcome")
    return client


async def _join(sb, desk: Client, call: str, migri: Client) -> p.CallStart:
    await desk.send(p.AgentInvite(call=call, producer="migri"))
    invited = await migri.expect("agent.invited")
    await migri.send(p.AgentAccept(invite=invited.invite))
    return await migri.expect("call.start")


async def test_invitation_goes_to_the_invited_producers_agents_only_and_carries_nothing_of_the_customer():
    async with serve() as sb:
        point, desk, start = await start_call(sb, connected=True)
        bertil = await sb.desk("bertil")  # Kela, free: not asked
        interpreter = await sb.desk("tulkki")
        maija = await sb.desk("maija")
        await desk.send(p.AgentInvite(call=start.call, producer="migri"))
        invited = await maija.expect("agent.invited")
        assert (invited.call, invited.producer_from, invited.agent) == (start.call, "kela", "Anna / Kela")
        assert set(invited.model_dump(exclude_none=True)) == {"type", "invite", "call", "producer_from", "agent"}
        for other in (bertil, interpreter, point):
            await other.drain()
            assert other.latest("agent.invited") is None


async def test_the_first_to_accept_joins_the_mesh_and_the_other_sees_the_invitation_withdrawn():
    async with serve(_config_with_two_migri_agents()) as sb:
        point, desk, start = await start_call(sb, connected=True)
        maija = await sb.desk("maija")
        ville = await _desk(sb, *SECOND_MIGRI)
        await desk.send(p.AgentInvite(call=start.call, producer="migri"))
        invite = (await maija.expect("agent.invited")).invite
        assert (await ville.expect("agent.invited")).invite == invite
        await maija.send(p.AgentAccept(invite=invite))
        joined = await maija.expect("call.start")
        assert joined.offer_to == [] and {(peer.role, peer.producer) for peer in joined.peers} == {
            ("point", None),
            ("agent", None),  # the answering agent's producer is the call's own (call.start.producer)
        }
        assert (await ville.expect("agent.invite_gone")).invite == invite
        await ville.send(p.AgentAccept(invite=invite))
        assert (await ville.expect("error")).code == "invite_gone"
        # The point and the first agent offer to the newcomer; the point learns its producer (for consent).
        for side in (point, desk):
            peer_joined = await side.expect("call.peer_joined")
            assert peer_joined.offer and peer_joined.peer.id == joined.you
            assert (peer_joined.peer.role, peer_joined.peer.producer) == ("agent", "migri")
        await point.send(p.Offer(call=start.call, peer=joined.you, sdp="v=0 point-to-migri"))
        assert (await maija.expect("signal.offer")).sdp == "v=0 point-to-migri"
        # The later participant never offers to the earlier ones (it would push a data channel on them).
        await maija.send(p.Offer(call=start.call, peer=start.you, sdp="v=0 migri's own offer"))
        assert (await maija.expect("error")).code == "not_allowed"
        call = await sb.hub.state.get_call(start.call)
        assert call is not None and call.participants[-1] == joined.you


async def test_no_free_agent_of_that_producer_is_an_error_and_the_call_goes_on():
    async with serve() as sb:
        _point, desk, start = await start_call(sb, connected=True)
        await desk.send(p.AgentInvite(call=start.call, producer="migri", ref="j1"))
        error = await desk.expect("error")
        assert (error.code, error.ref) == ("no_agent", "j1")
        await desk.send(p.AgentInvite(call=start.call, producer="kela"))  # one's own producer: not a joint call
        assert (await desk.expect("error")).code == "not_allowed"
        await desk.send(p.AgentInvite(call=start.call, producer="nobody"))
        assert (await desk.expect("error")).code == "no_agent"
        assert await sb.hub.state.invites() == []
        assert await sb.hub.state.get_call(start.call) is not None


async def test_the_second_agent_leaves_alone_and_can_be_invited_again():
    async with serve() as sb:
        point, desk, start = await start_call(sb, connected=True)
        maija = await sb.desk("maija")
        joined = await _join(sb, desk, start.call, maija)
        await maija.send(p.Hangup(call=start.call))
        assert (await maija.expect("call.ended")).call == start.call
        assert (await point.expect("call.peer_left")).peer == joined.you
        assert (await desk.expect("call.peer_left")).peer == joined.you
        call = await sb.hub.state.get_call(start.call)
        assert call is not None and call.interpreters == []  # the customer and Anna go on
        again = await _join(sb, desk, start.call, maija)
        assert again.call == start.call
        # The answering agent hanging up ends the call for everyone, the second agent too.
        await desk.send(p.Hangup(call=start.call))
        assert (await maija.expect("call.ended")).call == start.call
        assert (await point.expect("call.ended")).call == start.call


async def test_an_interpreter_invited_by_the_joined_agent_is_told_the_joined_agents_producer():
    """Maija (Migri) joined Anna's Kela call and invites an interpreter: the invitation names Migri, the
    producer the interpreter will interpret for; Anna's own invitation still names Kela."""
    async with serve() as sb:
        _point, desk, start = await start_call(sb, connected=True)
        tulkki = await sb.desk("tulkki")
        maija = await sb.desk("maija")
        await _join(sb, desk, start.call, maija)
        await maija.send(p.InterpreterInvite(call=start.call))
        invited = await tulkki.expect("interpreter.invited")
        assert (invited.call, invited.producer, invited.agent) == (start.call, "migri", "Maija / Migri")
        await desk.send(p.InterpreterInvite(call=start.call))
        invited = await tulkki.expect("interpreter.invited")
        assert (invited.producer, invited.agent) == ("kela", "Anna / Kela")


async def test_a_second_agent_whose_connection_drops_is_held_then_leaves_the_call():
    async with serve() as sb:
        point, desk, start = await start_call(sb, connected=True)
        maija = await sb.desk("maija")
        joined = await _join(sb, desk, start.call, maija)
        await maija.ws.close()
        sb.clock.advance(61)
        await sb.hub.sweep()
        assert (await point.expect("call.peer_left")).peer == joined.you
        assert (await desk.expect("call.peer_left")).peer == joined.you
        assert await sb.hub.state.get_call(start.call) is not None


async def test_a_second_agent_whose_connection_drops_comes_back_into_the_call_within_the_grace():
    async with serve() as sb:
        point, desk, start = await start_call(sb, connected=True)
        maija = await sb.desk("maija")
        joined = await _join(sb, desk, start.call, maija)
        http = await sb.login("maija")
        sb._extra.append(http)
        await maija.ws.close()
        await point.send(p.Offer(call=start.call, peer=joined.you, sdp="v=0 offer while Migri is away"))
        sb.clock.advance(30)
        await sb.hub.sweep()
        back = Client(await http.ws_connect(f"{sb.base}/ws/desk"))
        await back.send(p.DeskHello(protocol=p.PROTOCOL_VERSION, resume=joined.you, call=start.call))
        welcome = await back.expect("welcome")
        assert (welcome.you, welcome.call) == (joined.you, start.call)
        assert (await back.expect("signal.offer")).sdp == "v=0 offer while Migri is away"
        await point.drain(0.1)
        assert point.latest("call.peer_left") is None
        call = await sb.hub.state.get_call(start.call)
        assert call is not None and call.interpreters == [joined.you] and call.joined_producers == {joined.you: "migri"}


async def test_an_open_invitation_is_withdrawn_when_the_call_ends():
    async with serve() as sb:
        point, desk, start = await start_call(sb, connected=True)
        maija = await sb.desk("maija")
        await desk.send(p.AgentInvite(call=start.call, producer="migri"))
        invite = (await maija.expect("agent.invited")).invite
        await point.send(p.Hangup(call=start.call))
        assert (await maija.expect("agent.invite_gone")).invite == invite
        await maija.send(p.AgentAccept(invite=invite))
        assert (await maija.expect("error")).code == "invite_gone"


async def test_an_interpreter_cannot_take_an_agent_invitation():
    async with serve() as sb:
        _point, desk, start = await start_call(sb, connected=True)
        maija = await sb.desk("maija")
        interpreter = await sb.desk("tulkki")
        await desk.send(p.AgentInvite(call=start.call, producer="migri"))
        invite = (await maija.expect("agent.invited")).invite
        await interpreter.send(p.InterpreterAccept(invite=invite))
        assert (await interpreter.expect("error")).code == "invite_gone"
        await maija.send(p.AgentAccept(invite=invite))  # still open for Migri
        assert (await maija.expect("call.start")).call == start.call


_EXPIRY = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
_SIGNATURE = "c2lnbmF0dXJl" * 8


def _validator(token: p.WebEidToken, nonce: str, origin: str, now: float) -> Holder:
    return Holder(given_name="SPECIMEN-ANNA", surname="MEIKÄLÄINEN", satu="999020016", not_after=_EXPIRY)


def _token() -> p.WebEidToken:
    return p.WebEidToken(unverifiedCertificate="MII" + "A" * 200, algorithm="ES384", signature=_SIGNATURE,
                         format="web-eid:1.0", appVersion="etapiste")  # fmt: skip


async def test_identity_proven_to_one_agent_reaches_the_other_only_with_the_customers_consent(caplog):
    async with serve(validator=_validator) as sb:
        point, desk, start = await start_call(sb, connected=True)
        maija = await sb.desk("maija")
        joined = await _join(sb, desk, start.call, maija)
        # Migri's agent asks: the point learns who asked, the proof goes to her alone.
        await maija.send(p.IdentityStart(call=start.call))
        request = await point.expect("identity.request")
        assert request.agent == joined.you
        await point.send(p.IdentityProof(call=start.call, request=request.request, token=_token()))
        result = await maija.expect("identity.result")
        assert result.ok and result.satu == "999020016" and result.shared_from is None
        await desk.drain()
        assert desk.latest("identity.result") is None
        # Only the point can share, only to an agent of this call other than the one it was proven to.
        await desk.send(p.IdentityShare(call=start.call, request=request.request, peer=start.offer_to[0]))
        assert (await desk.expect("error")).code == "not_allowed"
        await point.send(p.IdentityShare(call=start.call, request=request.request, peer=joined.you))
        assert (await point.expect("error")).code == "not_allowed"
        await point.send(p.IdentityShare(call=start.call, request="r-unknown", peer=start.offer_to[0]))
        assert (await point.expect("error")).code == "not_allowed"
        await desk.drain()
        assert desk.latest("identity.result") is None
        # The customer said yes on the kiosk: Kela's agent sees the holder, marked as shared from Migri.
        await point.send(p.IdentityShare(call=start.call, request=request.request, peer=start.offer_to[0]))
        shared = await desk.expect("identity.result")
        assert shared.ok and (shared.given_name, shared.satu, shared.shared_from) == (
            "SPECIMEN-ANNA", "999020016", "migri",
        )  # fmt: skip
        # When the call is over the proof is forgotten: nothing more can be shown.
        await desk.send(p.Hangup(call=start.call))
        await point.expect("call.ended")
        assert sb.hub._proven == {}
    assert "999020016" not in caplog.text and "MEIKÄLÄINEN" not in caplog.text


async def test_with_redis_an_agent_on_another_instance_is_invited_joins_and_sees_a_shared_identity(
    redis_server: Redis,
):
    config = make_config(redis_url=redis_server.url, redis_prefix=f"jc{secrets.token_hex(3)}:")
    clock = FakeClock()
    async with AsyncExitStack() as stack:
        a = await stack.enter_async_context(serve(config, clock=clock, validator=_validator))
        b = await stack.enter_async_context(serve(config, clock=clock, validator=_validator))
        maija = await b.desk("maija")  # on the other instance
        point, desk, start = await start_call(a, connected=True)
        await desk.send(p.AgentInvite(call=start.call, producer="migri"))
        invited = await maija.expect("agent.invited")
        await maija.send(p.AgentAccept(invite=invited.invite))
        joined = await maija.expect("call.start")
        assert joined.call == start.call
        peer_joined = await point.expect("call.peer_joined")
        assert (peer_joined.peer.id, peer_joined.peer.producer) == (joined.you, "migri")
        await point.send(p.Offer(call=start.call, peer=joined.you, sdp="v=0 point-to-migri"))
        assert (await maija.expect("signal.offer")).sdp == "v=0 point-to-migri"
        # Anna identifies the customer; the customer agrees; Maija, on the other instance, sees the holder.
        await desk.send(p.IdentityStart(call=start.call))
        request = await point.expect("identity.request")
        assert request.agent == start.offer_to[0]
        await point.send(p.IdentityProof(call=start.call, request=request.request, token=_token()))
        assert (await desk.expect("identity.result")).ok
        await point.send(p.IdentityShare(call=start.call, request=request.request, peer=joined.you))
        shared = await maija.expect("identity.result")
        assert shared.ok and (shared.satu, shared.shared_from) == ("999020016", "kela")
        # Maija leaves from her instance; the call goes on.
        await maija.send(p.Hangup(call=start.call))
        assert (await point.expect("call.peer_left")).peer == joined.you
        call = await a.hub.state.get_call(start.call)
        assert call is not None and call.interpreters == [] and call.joined_producers == {}
