"""Queues, calls, interpreters and identity through the real switchboard, with points and desks speaking
the wire protocol over WebSockets on loopback."""

from __future__ import annotations

import datetime as dt

import pytest

from etapiste import protocol as p
from etapiste.webeid.certificate import Holder
from simulation.switchboard import Client, make_config, serve, start_call
from switchboard.identity import ProofRejected

KELA = {"producer": "kela", "queue": "kela-general"}


async def test_customer_sees_position_and_estimate_and_agents_see_the_queue():
    async with serve() as sb:
        oulu, kemi = await sb.point("oulu-kirjasto"), await sb.point("kemi-kirjasto")
        await oulu.expect("welcome")
        await kemi.expect("welcome")
        await oulu.send(p.QueueRequest(**KELA, language="sv"))
        first = await oulu.expect("queue.position")
        assert first.position == 1 and first.estimate_s is None and first.agents_online == 0
        await kemi.send(p.QueueRequest(**KELA))
        second = await kemi.expect("queue.position")
        assert second.position == 2

        desk = await sb.desk("anna")
        snapshot = await desk.expect("queue.snapshot")
        (general,) = [q for q in snapshot.queues if q.queue == "kela-general"]
        assert [(e.point, e.place, e.language) for e in general.entries] == [
            ("oulu-kirjasto", "Oulu library", "sv"),
            ("kemi-kirjasto", "Kemi library", "fi"),
        ]
        assert {q.queue: q.open for q in snapshot.queues} == {"kela-general": True, "kela-closed": False}
        # An agent coming online gives the waiting customers an estimate.
        await oulu.drain()
        assert oulu.latest("queue.position").estimate_s == 30
        await kemi.drain()
        assert kemi.latest("queue.position").estimate_s == 300


async def test_cancel_leaves_the_queue_and_moves_the_others_up():
    async with serve() as sb:
        oulu, kemi = await sb.point("oulu-kirjasto"), await sb.point("kemi-kirjasto")
        await oulu.send(p.QueueRequest(**KELA))
        await oulu.expect("queue.position")
        await kemi.send(p.QueueRequest(**KELA))
        assert (await kemi.expect("queue.position")).position == 2
        await oulu.send(p.QueueCancel())
        assert (await oulu.expect("queue.left")).reason == "cancelled"
        assert (await kemi.expect("queue.position")).position == 1


async def test_point_that_drops_and_does_not_come_back_in_time_loses_its_place_and_agents_see_it_go():
    async with serve() as sb:
        desk = await sb.desk("anna")
        oulu = await sb.point("oulu-kirjasto")
        await oulu.send(p.QueueRequest(**KELA))
        mine = await oulu.expect("queue.position")
        while not any(q.entries for q in (await desk.expect("queue.snapshot")).queues):
            pass
        await oulu.ws.close()
        sb.clock.advance(59)
        await sb.hub.sweep()
        assert [t.id for t in await sb.hub.state.all_tickets()] == [mine.ticket]  # held while it may return
        sb.clock.advance(2)
        await sb.hub.sweep()
        while any(q.entries for q in (await desk.expect("queue.snapshot")).queues):
            pass
        assert await sb.hub.state.all_tickets() == []
        back = await sb.point("oulu-kirjasto", ticket=mine.ticket)
        assert (await back.expect("welcome")).ticket is None  # the point tells the customer


async def test_queue_timeout_tells_the_customer_nobody_could_answer():
    async with serve() as sb:
        oulu = await sb.point("oulu-kirjasto")
        await oulu.send(p.QueueRequest(**KELA))
        await oulu.expect("queue.position")
        sb.clock.advance(599)
        await sb.hub.sweep()
        sb.clock.advance(2)
        await sb.hub.sweep()
        assert (await oulu.expect("queue.left")).reason == "timeout"


async def test_queue_outside_service_hours_refuses_and_unknown_queue_is_named():
    async with serve() as sb:
        oulu = await sb.point("oulu-kirjasto")
        await oulu.send(p.QueueRequest(producer="kela", queue="kela-closed", ref="q1"))
        error = await oulu.expect("error")
        assert (error.code, error.ref) == ("queue_closed", "q1")
        await oulu.send(p.QueueRequest(producer="migri", queue="kela-general"))
        assert (await oulu.expect("error")).code == "unknown_queue"


async def test_first_agent_to_accept_gets_the_call_the_other_is_told_it_is_gone():
    async with serve() as sb:
        anna, bertil = await sb.desk("anna"), await sb.desk("bertil")
        oulu = await sb.point("oulu-kirjasto")
        await oulu.send(p.QueueRequest(**KELA))
        ticket = (await oulu.expect("queue.position")).ticket
        await anna.send(p.QueueAccept(ticket=ticket))
        await bertil.send(p.QueueAccept(ticket=ticket, ref="late"))
        start = await anna.expect("call.start")
        error = await bertil.expect("error")
        assert (error.code, error.ref) == ("ticket_gone", "late")
        point_start = await oulu.expect("call.start")
        assert point_start.call == start.call
        # The point (earliest participant) offers; the agent waits for the offer.
        assert point_start.offer_to == [start.you] and start.offer_to == []
        assert [peer.role for peer in point_start.peers] == ["agent"]
        assert point_start.peers[0].name == "Anna / Kela"


async def test_offer_answer_and_ice_are_relayed_with_the_sender_as_peer():
    async with serve() as sb:
        point, desk, start = await start_call(sb)
        agent_id = start.offer_to[0]
        await point.send(p.Offer(call=start.call, peer=agent_id, sdp="v=0 offer-sdp"))
        offer = await desk.expect("signal.offer")
        assert offer.sdp == "v=0 offer-sdp" and offer.peer == start.you
        await desk.send(p.Answer(call=start.call, peer=offer.peer, sdp="v=0 answer-sdp"))
        assert (await point.expect("signal.answer")).sdp == "v=0 answer-sdp"
        await desk.send(
            p.Ice(
                call=start.call,
                peer=offer.peer,
                candidate="candidate:1 1 udp 1 127.0.0.1 9 typ host",
                sdp_mid="0",
                sdp_mline_index=0,
            )
        )
        ice = await point.expect("signal.ice")
        assert ice.candidate.startswith("candidate:1") and ice.peer == agent_id


async def test_signals_to_a_call_one_is_not_in_are_refused():
    async with serve() as sb:
        _point, desk, start = await start_call(sb)
        kemi = await sb.point("kemi-kirjasto")
        await kemi.send(p.Offer(call=start.call, peer=start.offer_to[0], sdp="v=0 intruder"))
        assert (await kemi.expect("error")).code == "not_in_call"
        await desk.drain()
        assert desk.latest("signal.offer") is None


async def test_hangup_ends_the_call_for_both_and_the_point_can_queue_again():
    async with serve() as sb:
        point, desk, start = await start_call(sb)
        await desk.send(p.Hangup(call=start.call))
        ended = await point.expect("call.ended")
        assert (ended.reason, ended.by) == ("hangup", "agent")
        assert (await desk.expect("call.ended")).call == start.call
        await point.send(p.QueueRequest(**KELA))
        assert (await point.expect("queue.position")).position == 1


async def test_point_dropping_mid_call_is_held_for_the_grace_then_the_agent_is_told():
    async with serve() as sb:
        point, desk, start = await start_call(sb, connected=True)
        await point.ws.close()
        await desk.drain(0.2)
        assert desk.latest("call.ended") is None  # a network cut is not yet the end of the call
        assert (await sb.hub.overview())["points"][0] | {"place": ""} == {
            "point": "oulu-kirjasto", "place": "", "online": False, "state": "reconnecting"
        }
        sb.clock.advance(59)
        await sb.hub.sweep()
        await desk.drain(0.1)
        assert desk.latest("call.ended") is None and await sb.hub.state.get_call(start.call) is not None
        sb.clock.advance(2)
        await sb.hub.sweep()
        ended = await desk.expect("call.ended")
        assert (ended.reason, ended.by) == ("point_gone", "point")
        assert await sb.hub.state.calls() == []
        assert "point-oulu-kirjasto" not in sb.hub.participants


async def test_point_coming_back_resumes_its_call_and_gets_what_was_said_meanwhile():
    async with serve() as sb:
        point, desk, start = await start_call(sb, connected=True)
        await point.ws.close()
        await desk.send(p.Ice(call=start.call, peer=start.you, candidate="candidate:1 1 UDP 1 127.0.0.1 9 typ host"))
        sb.clock.advance(30)
        await sb.hub.sweep()
        back = await sb.point("oulu-kirjasto", call=start.call)
        welcome = await back.expect("welcome")
        assert (welcome.you, welcome.call) == (start.you, start.call)
        held = await back.expect("signal.ice")
        assert held.peer == start.offer_to[0] and held.candidate.startswith("candidate:1")
        # The call goes on: signalling flows both ways and a hang-up ends it for both.
        await back.send(p.Offer(call=start.call, peer=start.offer_to[0], sdp="v=0 fresh offer"))
        assert (await desk.expect("signal.offer")).sdp == "v=0 fresh offer"
        await desk.send(p.Hangup(call=start.call))
        assert (await back.expect("call.ended")).reason == "hangup"
        assert all(m.type != "call.ended" for m in desk.backlog)


async def test_point_back_without_its_call_ends_the_held_call_for_the_agent():
    async with serve() as sb:
        point, desk, _start = await start_call(sb, connected=True)
        await point.ws.close()
        back = await sb.point("oulu-kirjasto")  # e.g. the kiosk restarted: it has no call to resume
        assert (await back.expect("welcome")).call is None
        assert (await desk.expect("call.ended")).reason == "point_gone"


async def test_point_reconnecting_before_its_old_socket_is_noticed_keeps_the_call():
    async with serve() as sb:
        point, desk, start = await start_call(sb, connected=True)
        back = await sb.point("oulu-kirjasto", call=start.call)  # the old socket still looks alive here
        assert (await back.expect("welcome")).call == start.call
        assert await point.closed()  # the old one is closed by the switchboard…
        await desk.drain(0.2)
        assert desk.latest("call.ended") is None  # …without ending the call
        await back.send(p.Offer(call=start.call, peer=start.offer_to[0], sdp="v=0 fresh offer"))
        assert (await desk.expect("signal.offer")).peer == start.you


async def test_desk_dropping_mid_call_comes_back_as_the_same_participant():
    async with serve() as sb:
        point, desk, start = await start_call(sb, connected=True)
        you = start.offer_to[0]
        http = await sb.login("anna")
        sb._extra.append(http)
        await desk.ws.close()
        await point.send(p.Offer(call=start.call, peer=you, sdp="v=0 offer while the agent is away"))
        await point.drain(0.1)
        assert point.latest("error") is None and point.latest("call.ended") is None
        back = Client(await http.ws_connect(f"{sb.base}/ws/desk"))
        await back.send(p.DeskHello(protocol=p.PROTOCOL_VERSION, resume=you, call=start.call))
        welcome = await back.expect("welcome")
        assert (welcome.you, welcome.call) == (you, start.call)
        assert (await back.expect("signal.offer")).sdp == "v=0 offer while the agent is away"
        await back.expect("queue.snapshot")  # the queue view is fresh again


async def test_another_user_cannot_take_over_a_held_desk():
    async with serve() as sb:
        point, desk, start = await start_call(sb, connected=True)
        you = start.offer_to[0]
        await desk.ws.close()
        http = await sb.login("bertil")
        sb._extra.append(http)
        other = Client(await http.ws_connect(f"{sb.base}/ws/desk"))
        await other.send(p.DeskHello(protocol=p.PROTOCOL_VERSION, resume=you, call=start.call))
        welcome = await other.expect("welcome")
        assert welcome.you != you and welcome.call is None
        assert sb.hub.participants[you].away_since is not None  # Anna's seat is still held for her
        await point.drain(0.1)
        assert point.latest("call.ended") is None


async def test_without_a_grace_period_a_dropped_point_ends_the_call_at_once():
    async with serve(make_config(rejoin_grace_s=0)) as sb:
        point, desk, _start = await start_call(sb, connected=True)
        await point.ws.close()
        assert (await desk.expect("call.ended")).reason == "point_gone"
        assert await sb.hub.state.calls() == []


async def test_interpreter_dropping_is_held_too_then_leaves_the_call():
    async with serve() as sb:
        point, desk, start = await start_call(sb, connected=True)
        interpreter = await sb.desk("tulkki")
        await desk.send(p.InterpreterInvite(call=start.call, language="ar"))
        invited = await interpreter.expect("interpreter.invited")
        await interpreter.send(p.InterpreterAccept(invite=invited.invite))
        joined = await interpreter.expect("call.start")
        await interpreter.ws.close()
        sb.clock.advance(61)
        await sb.hub.sweep()
        assert (await point.expect("call.peer_left")).peer == joined.you
        assert (await desk.expect("call.peer_left")).peer == joined.you
        assert await sb.hub.state.get_call(start.call) is not None  # the customer and the agent go on


async def test_message_its_role_may_not_send_is_refused():
    async with serve() as sb:
        point = await sb.point("oulu-kirjasto")
        await point.send(p.QueueAccept(ticket="t-1", ref="x"))
        error = await point.expect("error")
        assert (error.code, error.ref) == ("not_allowed", "x")
        desk = await sb.desk("anna")
        await desk.send(p.QueueRequest(**KELA))
        assert (await desk.expect("error")).code == "not_allowed"


async def test_interpreter_joins_as_a_third_participant_and_everyone_connects_to_them():
    async with serve() as sb:
        point, desk, start = await start_call(sb)
        interpreter = await sb.desk("tulkki")
        await desk.send(p.InterpreterInvite(call=start.call, language="so"))
        assert (await desk.expect("error")).code == "no_interpreter"
        await desk.send(p.InterpreterInvite(call=start.call, language="ar"))
        invited = await interpreter.expect("interpreter.invited")
        assert invited.agent == "Anna / Kela" and invited.language == "ar"
        await interpreter.send(p.InterpreterAccept(invite=invited.invite))
        istart = await interpreter.expect("call.start")
        assert istart.offer_to == [] and {peer.role for peer in istart.peers} == {"point", "agent"}
        for side in (point, desk):
            joined = await side.expect("call.peer_joined")
            assert joined.offer and joined.peer.id == istart.you and joined.peer.role == "interpreter"
        await desk.send(p.Offer(call=start.call, peer=istart.you, sdp="v=0 agent-to-interpreter"))
        assert (await interpreter.expect("signal.offer")).sdp == "v=0 agent-to-interpreter"
        # The interpreter leaving does not end the customer's call.
        await interpreter.send(p.Hangup(call=start.call))
        assert (await point.expect("call.peer_left")).peer == istart.you
        assert await sb.hub.state.get_call(start.call) is not None


def _token(signature: str = "c2lnbmF0dXJl" * 8) -> p.WebEidToken:
    return p.WebEidToken(
        unverifiedCertificate="MII" + "A" * 200,
        algorithm="ES384",
        signature=signature,
        format="web-eid:1.0",
        appVersion="etapiste",
    )


_CARD_EXPIRY = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


class _RecordingValidator:
    """Stands in for the Web eID validator in these flow tests: accepts the token whose signature names the nonce."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def __call__(self, token: p.WebEidToken, nonce: str, origin: str, now: float) -> Holder:
        self.calls.append((nonce, origin))
        if token.signature != "c2lnbmF0dXJl" * 8:
            raise ProofRejected("signature_invalid", "the signature does not match")
        return Holder(given_name="SPECIMEN-ANNA", surname="MEIKÄLÄINEN", satu="999020016", not_after=_CARD_EXPIRY)


async def test_identify_issues_a_single_use_nonce_and_shows_the_agent_the_verified_holder(caplog):
    validator = _RecordingValidator()
    async with serve(validator=validator) as sb:
        point, desk, start = await start_call(sb)
        await desk.send(p.IdentityStart(call=start.call))
        request = await point.expect("identity.request")
        assert request.origin == sb.origin and len(request.nonce) == 44
        await point.send(p.IdentityProof(call=start.call, request=request.request, token=_token()))
        result = await desk.expect("identity.result")
        assert result.ok and (result.given_name, result.surname, result.satu) == (
            "SPECIMEN-ANNA",
            "MEIKÄLÄINEN",
            "999020016",
        )
        told = await point.expect("identity.result")
        assert told.ok and told.satu is None and told.given_name is None
        assert validator.calls == [(request.nonce, sb.origin)]
        # The same request again: the nonce was used up.
        await point.send(p.IdentityProof(call=start.call, request=request.request, token=_token()))
        again = await desk.expect("identity.result")
        assert not again.ok and again.reason == "nonce_reused"
    assert "999020016" not in caplog.text and "MEIKÄLÄINEN" not in caplog.text


async def test_identify_fails_clearly_when_the_proof_is_late_or_invalid():
    async with serve(validator=_RecordingValidator()) as sb:
        point, desk, start = await start_call(sb)
        await desk.send(p.IdentityStart(call=start.call))
        request = await point.expect("identity.request")
        sb.clock.advance(p.NONCE_TTL_S + 1)
        await point.send(p.IdentityProof(call=start.call, request=request.request, token=_token()))
        assert (await desk.expect("identity.result")).reason == "nonce_expired"
        await desk.send(p.IdentityStart(call=start.call))
        request = await point.expect("identity.request")
        await point.send(p.IdentityProof(call=start.call, request=request.request, token=_token("YmFk" * 12)))
        result = await desk.expect("identity.result")
        assert not result.ok and result.reason == "signature_invalid" and result.satu is None
        await desk.send(p.IdentityStart(call=start.call))
        request = await point.expect("identity.request")
        await point.send(p.IdentityAbort(call=start.call, request=request.request, reason="pin_blocked"))
        assert (await desk.expect("identity.result")).reason == "pin_blocked"


@pytest.mark.parametrize("who", ["point", "interpreter"])
async def test_only_the_answering_agent_can_ask_for_identification(who):
    async with serve(validator=_RecordingValidator()) as sb:
        point, _desk, start = await start_call(sb)
        if who == "point":
            await point.send(p.IdentityStart(call=start.call))
            assert (await point.expect("error")).code == "not_allowed"
        else:
            interpreter = await sb.desk("tulkki")
            await interpreter.send(p.IdentityStart(call=start.call))
            assert (await interpreter.expect("error")).code == "not_allowed"


async def test_organiser_overview_shows_counts_but_no_personal_data():
    async with serve(validator=_RecordingValidator()) as sb:
        point, desk, start = await start_call(sb)
        await desk.send(p.IdentityStart(call=start.call))
        request = await point.expect("identity.request")
        await point.send(p.IdentityProof(call=start.call, request=request.request, token=_token()))
        await desk.expect("identity.result")
        kemi = await sb.point("kemi-kirjasto")
        await kemi.send(p.QueueRequest(**KELA))
        await kemi.expect("queue.position")
        overview = await sb.hub.overview()
        states = {pt["point"]: pt["state"] for pt in overview["points"]}
        assert states == {"oulu-kirjasto": "in_call", "kemi-kirjasto": "queued", "inari-kirjasto": "offline"}
        general = next(q for q in overview["queues"] if q["queue"] == "kela-general")
        assert (general["waiting"], general["agents_online"], general["agents_in_call"]) == (1, 1, 1)
        assert len(overview["calls"]) == 1 and overview["calls"][0]["participants"] == 2
        text = repr(overview)
        for personal in ("999020016", "SPECIMEN", "MEIKÄLÄINEN", "Anna"):
            assert personal not in text


async def test_call_that_never_connects_is_ended_for_both_sides():
    async with serve() as sb:
        point, desk, start = await start_call(sb)
        sb.clock.advance(44)
        await sb.hub.sweep()
        assert await sb.hub.state.get_call(start.call) is not None
        sb.clock.advance(2)
        await sb.hub.sweep()
        assert (await point.expect("call.ended")).reason == "setup_failed"
        assert (await desk.expect("call.ended")).reason == "setup_failed"


async def test_call_with_offer_and_answer_exchanged_is_not_timed_out():
    async with serve() as sb:
        point, desk, start = await start_call(sb)
        await point.send(p.Offer(call=start.call, peer=start.offer_to[0], sdp="v=0 offer-sdp"))
        offer = await desk.expect("signal.offer")
        await desk.send(p.Answer(call=start.call, peer=offer.peer, sdp="v=0 answer-sdp"))
        await point.expect("signal.answer")
        sb.clock.advance(1800)
        await sb.hub.sweep()
        assert await sb.hub.state.get_call(start.call) is not None


async def test_a_queued_point_that_drops_keeps_its_place_while_it_reconnects():
    async with serve() as sb:
        desk = await sb.desk("anna")
        kemi, oulu = await sb.point("kemi-kirjasto"), await sb.point("oulu-kirjasto")
        await kemi.send(p.QueueRequest(**KELA))
        await kemi.expect("queue.position")
        await oulu.send(p.QueueRequest(**KELA))
        mine = await oulu.expect("queue.position")
        assert mine.position == 2
        await oulu.ws.close()
        entries: dict[str, bool] = {}
        while not entries.get("oulu-kirjasto"):  # snapshots are coalesced: the one after the drop comes
            entries = {e.point: e.reconnecting for e in (await desk.expect("queue.snapshot")).queues[0].entries}
        assert entries == {"kemi-kirjasto": False, "oulu-kirjasto": True}  # the agent sees it is held
        sb.clock.advance(30)
        await sb.hub.sweep()
        back = await sb.point("oulu-kirjasto", ticket=mine.ticket)
        welcome = await back.expect("welcome")
        assert (welcome.ticket, welcome.call) == (mine.ticket, None)
        again = await back.expect("queue.position")
        assert (again.ticket, again.position) == (mine.ticket, 2)  # the same place, not the back of the line


async def test_an_agent_answering_a_point_that_is_reconnecting_reaches_it_when_it_is_back():
    async with serve() as sb:
        desk = await sb.desk("anna")
        oulu = await sb.point("oulu-kirjasto")
        await oulu.send(p.QueueRequest(**KELA))
        mine = await oulu.expect("queue.position")
        await oulu.ws.close()
        await desk.send(p.QueueAccept(ticket=mine.ticket))
        start = await desk.expect("call.start")
        back = await sb.point("oulu-kirjasto", ticket=mine.ticket)
        welcome = await back.expect("welcome")
        assert welcome.call == start.call
        assert (await back.expect("call.start")).call == start.call  # held for it, delivered now


async def test_a_point_back_without_its_ticket_is_not_queued_any_more():
    async with serve() as sb:
        oulu = await sb.point("oulu-kirjasto")
        await oulu.send(p.QueueRequest(**KELA))
        await oulu.expect("queue.position")
        await oulu.ws.close()
        back = await sb.point("oulu-kirjasto")  # e.g. the customer cancelled while the network was down
        assert (await back.expect("welcome")).ticket is None
        assert await sb.hub.state.all_tickets() == []


async def _second_interpreter(sb) -> Client:
    """Another interpreter online ("tolk", Swedish only): the one who was not invited."""
    http = await sb.login("tolk", "tolkens-losen-5")
    sb._extra.append(http)
    client = Client(await http.ws_connect(f"{sb.base}/ws/desk"))
    await client.send(p.DeskHello(protocol=p.PROTOCOL_VERSION))
    await client.expect("welcome")
    return client


def _config_with_two_interpreters():
    from simulation.switchboard import FAST_N
    from switchboard.config import User
    from switchboard.credentials import hash_password

    config = make_config()
    tolk = User(username="tolk", name="Tolk Sv", role="interpreter", languages=["sv"],
                password_hash=hash_password("tolkens-losen-5", n=FAST_N))  # fmt: skip
    return config.model_copy(update={"users": [*config.users, tolk]})


async def test_an_interpreter_who_was_not_invited_cannot_take_the_invitation():
    async with serve(_config_with_two_interpreters()) as sb:
        _point, desk, start = await start_call(sb)
        invited_one = await sb.desk("tulkki")
        outsider = await _second_interpreter(sb)
        await desk.send(p.InterpreterInvite(call=start.call, language="ar"))
        invite = (await invited_one.expect("interpreter.invited")).invite
        await outsider.drain()
        assert outsider.latest("interpreter.invited") is None  # only Arabic interpreters were asked

        # The invitation's id leaked (or was guessed): accepting it is refused with a clear reason.
        await outsider.send(p.InterpreterAccept(invite=invite, ref="mine"))
        error = await outsider.expect("error")
        assert (error.code, error.ref) == ("not_allowed", "mine")
        assert "not invited" in error.message
        await outsider.drain()
        assert outsider.latest("call.start") is None
        call = await sb.hub.state.get_call(start.call)
        assert call is not None and call.interpreters == []

        # The invitation is still open for the interpreter it was meant for.
        await invited_one.send(p.InterpreterAccept(invite=invite))
        istart = await invited_one.expect("call.start")
        assert (await desk.expect("call.peer_joined")).peer.id == istart.you


async def test_a_joined_interpreter_cannot_offer_to_the_agent_or_the_point():
    """Earlier participants offer to later ones (the point owns the data channel, the agent offers to the
    interpreter). An interpreter offering the other way could push its own data channel on the agent."""
    async with serve() as sb:
        point, desk, start = await start_call(sb, connected=True)
        interpreter = await sb.desk("tulkki")
        await desk.send(p.InterpreterInvite(call=start.call, language="ar"))
        invite = (await interpreter.expect("interpreter.invited")).invite
        await interpreter.send(p.InterpreterAccept(invite=invite))
        istart = await interpreter.expect("call.start")
        agent_id = start.offer_to[0]
        for target in (agent_id, start.you):
            await interpreter.send(p.Offer(call=start.call, peer=target, sdp="v=0 interpreter's own offer"))
            error = await interpreter.expect("error")
            assert error.code == "not_allowed" and "offer" in error.message
        await desk.drain()
        await point.drain()
        assert desk.latest("signal.offer") is None and point.latest("signal.offer") is None
        # The agent cannot offer to the point either; the agent → interpreter offer is how it is done.
        await desk.send(p.Offer(call=start.call, peer=start.you, sdp="v=0 agent's offer to the point"))
        assert (await desk.expect("error")).code == "not_allowed"
        await desk.send(p.Offer(call=start.call, peer=istart.you, sdp="v=0 agent-to-interpreter"))
        assert (await interpreter.expect("signal.offer")).peer == agent_id
        # Answers and candidates still go both ways.
        await interpreter.send(p.Answer(call=start.call, peer=agent_id, sdp="v=0 interpreter's answer"))
        assert (await desk.expect("signal.answer")).peer == istart.you
