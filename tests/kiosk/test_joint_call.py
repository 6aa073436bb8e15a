"""A joint call at the point (issue 22, item 2): the aiortc point engine against the real switchboard with two
aiortc agents of two producers (Kela answers, Migri joins). Each agent gets a data channel of their own; a scan
goes to the agent who asked for it and nobody else; the customer's text reaches both; the identity proven to
one agent reaches the other only after the customer's yes. Then the controller and the screen: the question
is asked in the customer's language, one agent at a time, and only a yes is passed on."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from etapiste import protocol as p
from etapiste.config.point import load_point_config
from etapiste.webeid.certificate import Holder
from kiosk import call as c
from kiosk import i18n
from kiosk.call import (
    AgentJoined,
    AgentLeft,
    CallConnected,
    CallEnded,
    CallEngine,
    IdentifyRequested,
    IdentityResult,
    RemoteVideoFrame,
    ScanRequested,
    ShareIdentityAsked,
)
from kiosk.session import State
from simulation.call import Recorder, point_engine
from simulation.desk_agent import AiortcAgent
from simulation.documents import pdf_of_size
from simulation.switchboard import Switchboard, serve
from tests.kiosk.test_journey import AgentSide, in_call
from tests.kiosk.test_views import _speaking_window

MIGRI_EN = "Finnish Immigration Service"

_EXPIRY = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


def _validator(token: p.WebEidToken, nonce: str, origin: str, now: float) -> Holder:
    return Holder(given_name="SPECIMEN-ANNA", surname="MEIKÄLÄINEN", satu="999020016", not_after=_EXPIRY)


def _token() -> p.WebEidToken:
    return p.WebEidToken(unverifiedCertificate="MII" + "A" * 200, algorithm="ES384", signature="c2ln" * 16,
                         format="web-eid:1.0", appVersion="etapiste")  # fmt: skip


@contextlib.asynccontextmanager
async def kela_answers_with_migri_online(
    sb: Switchboard, engine: CallEngine, events: Recorder
) -> AsyncIterator[tuple[AiortcAgent, AiortcAgent, str]]:
    """The point asks for Kela; Anna (Kela) answers while Maija (Migri) is online to be invited. Both
    agents are closed after."""
    kela, migri = AiortcAgent(sb), AiortcAgent(sb, "maija")
    try:
        await engine.start(timeout=10)
        await kela.connect()
        await migri.connect()
        engine.request_call("kela")
        call = await kela.accept_next()
        await events.first(CallConnected)
        yield kela, migri, call
    finally:
        await migri.close()
        await kela.close()


@pytest.mark.usefixtures("loopback_ice")
async def test_scans_go_to_the_agent_who_asked_and_identity_reaches_the_other_only_with_consent():
    async with (
        serve(validator=_validator) as sb, point_engine(sb) as (engine, events),
        kela_answers_with_migri_online(sb, engine, events) as (kela, migri, call),
    ):
        await kela.channel_open()

        await kela.send(p.AgentInvite(call=call, producer="migri"))
        invited = (await migri.until(lambda: migri.seen("agent.invited"), what="the invitation"))[0]
        await migri.send(p.AgentAccept(invite=invited.invite))
        joined = await events.first(AgentJoined, timeout=20)
        assert (joined.peer, joined.producer, joined.name) == (migri.you, "migri", "Maija / Migri")
        await migri.channel_open()  # the point opened a data channel to the second agent too
        # The customer sees the second agent: their picture arrives as a peer of its own.
        await events.first(RemoteVideoFrame, lambda e: e.peer == migri.you, timeout=30)
        await migri.until(lambda: migri.frames["video"] > 5, what="the customer's picture")

        # The customer's text reaches both agents.
        assert engine.send_rtt("Hei molemmat", final=True)
        for agent in (kela, migri):
            await agent.until(lambda a=agent: a.data_seen("rtt"), what="the customer's line")

        # Migri asks for a scan: it goes to Migri alone, and so do its statuses.
        migri.dc_send(p.ScanRequest(request="s-migri"))
        await events.first(ScanRequested, lambda e: e.request == "s-migri")
        engine.report_scan_status("s-migri", "waiting_customer")
        scan = pdf_of_size(120)
        done = await engine.send_document(scan, "scan", "passi.pdf", request="s-migri")
        assert done.ok
        await migri.until(lambda: migri.received, what="the scan")
        assert migri.received[0][1] == scan
        await migri.until(lambda: [s.state for s in migri.data_seen("scan.status")][-1:] == ["sent"], what="sent")
        assert [s.state for s in migri.data_seen("scan.status")] == ["waiting_customer", "sending", "sent"]
        assert kela.received == [] and kela.data_seen("scan.status") == [] and kela.data_seen("doc.begin") == []

        # Migri identifies the customer: Kela sees nothing until the customer says yes.
        await migri.send(p.IdentityStart(call=call))
        request = (await events.first(IdentifyRequested)).request
        engine.send_proof(request, _token())
        assert (await events.first(IdentityResult)).ok
        await migri.until(lambda: migri.seen("identity.result"), what="the verified holder")
        asked = await events.first(ShareIdentityAsked)
        assert (asked.request, asked.peer, asked.producer) == (request, kela.you, "kela")
        assert kela.seen("identity.result") == []
        await migri.until(lambda: migri.data_seen("identity.status"), what="identity.status")
        assert [s.state for s in migri.data_seen("identity.status")] == ["sent"]
        assert kela.data_seen("identity.status") == []
        engine.share_identity(request, kela.you)
        shared = (await kela.until(lambda: kela.seen("identity.result"), what="the shared identity"))[0]
        assert shared.ok and (shared.satu, shared.shared_from) == ("999020016", "migri")

        # Migri leaves; the customer's call with Kela goes on.
        await migri.send(p.Hangup(call=call))
        assert (await events.first(AgentLeft, timeout=20)).peer == migri.you
        assert engine.call == call and [peer.role for peer in engine.peers.values()] == ["agent"]
        # Kela ends the call: the point keeps nothing of who asked for what or of the proven identity.
        await kela.send(p.Hangup(call=call))
        await events.first(CallEnded, timeout=20)
        assert engine._requester == {} and engine._proven is None and engine._consent_asked == set()


@pytest.mark.usefixtures("loopback_ice")
async def test_a_second_agent_whose_media_does_not_come_back_is_dropped_and_the_call_goes_on():
    async with (
        serve() as sb, point_engine(sb, recovery_s=3.0) as (engine, events),
        kela_answers_with_migri_online(sb, engine, events) as (kela, migri, call),
    ):
        await kela.send(p.AgentInvite(call=call, producer="migri"))
        invited = (await migri.until(lambda: migri.seen("agent.invited"), what="the invitation"))[0]
        await migri.send(p.AgentAccept(invite=invited.invite))
        joined = await events.first(AgentJoined, timeout=20)
        await migri.channel_open()
        # Migri's media path dies and her side answers no fresh offer.
        migri.auto_answer = False
        await migri.close_pcs()
        left = await events.first(AgentLeft, timeout=30)
        assert left.peer == joined.peer
        # Only Migri is lost: the customer's call with Kela goes on (no network_lost end).
        assert engine.call == call and [peer.role for peer in engine.peers.values()] == ["agent"]
        assert not [e for e in events.events if isinstance(e, CallEnded)]


def test_the_customer_is_asked_once_per_agent_and_only_a_yes_is_passed_on() -> None:
    config = load_point_config()
    agent = AgentSide()
    session, journey = in_call(config, agent)
    agent.emit(c.AgentJoined("desk-2", "Maija / Migri", "migri"))
    call = session.snapshot.call
    assert call is not None and call.joined_agent is not None and call.joined_agent.in_("en") == MIGRI_EN
    assert call.share_identity is None  # nothing proven yet: nothing to ask

    agent.emit(c.ShareIdentityAsked("r-1", "desk-2", "migri"))
    agent.emit(c.ShareIdentityAsked("r-1", "desk-3", "avi"))  # a third agent: asked after the first answer
    question = session.snapshot.call.share_identity  # type: ignore[union-attr]
    assert question is not None and question.producer.in_("en") == MIGRI_EN
    journey.answer_share_identity(True)
    assert agent.reports("share_identity") == [("r-1", "desk-2")]
    question = session.snapshot.call.share_identity  # type: ignore[union-attr]
    assert question is not None and question.producer.in_("fi") == "avi"  # not offered here: named by its id
    journey.answer_share_identity(False)
    assert agent.reports("share_identity") == [("r-1", "desk-2")]  # a no tells the switchboard nothing
    assert session.snapshot.call.share_identity is None  # type: ignore[union-attr]

    # A question about an agent who left is withdrawn unanswered; the notice of the joined agent goes.
    agent.emit(c.ShareIdentityAsked("r-2", "desk-2", "migri"))
    agent.emit(c.AgentLeft("desk-2"))
    call = session.snapshot.call
    assert call is not None and call.share_identity is None and call.joined_agent is None
    journey.answer_share_identity(True)  # a late press on a withdrawn question
    assert agent.reports("share_identity") == [("r-1", "desk-2")]

    # A question still open when the session ends is forgotten with the rest of the customer's session.
    agent.emit(c.ShareIdentityAsked("r-3", "desk-4", "migri"))
    session.hang_up()
    session.rate(None)
    assert session.state is State.IDLE and session.snapshot.call is None and journey._share_asks == []


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_the_call_screen_asks_in_the_customers_language_and_speech_reads_it(qtbot: QtBot, language: str) -> None:
    window, session, said = _speaking_window(qtbot, language)
    answers: list[bool] = []

    class Actions:
        def answer_share_identity(self, yes: bool) -> None:
            answers.append(yes)
            session.share_identity_answered()

    window.call._actions = Actions()  # type: ignore[assignment]
    session.choose_producer("kela")
    session.accept_notice()
    session.call_answered()
    migri = next(prod for prod in session.config.producers if prod.id == "migri")
    session.agent_joined(migri.name)
    joined = i18n.text("agent_joined", language, producer=migri.name.in_(language))  # type: ignore[arg-type]
    assert said[-1][1] == language and joined in said[-1][0]  # a customer who cannot see is told who joined
    session.ask_share_identity(migri.name)
    question = i18n.text("share_identity_question", language, producer=migri.name.in_(language))  # type: ignore[arg-type]
    screen = window.call
    assert window.current_screen is screen and screen.flow_text.text() == question
    assert screen.flow_primary.text() == i18n.text("share_identity_yes", language)  # type: ignore[arg-type]
    assert screen.flow_secondary.text() == i18n.text("share_identity_no", language)  # type: ignore[arg-type]
    assert said[-1][1] == language and question in said[-1][0]
    qtbot.mouseClick(screen.flow_secondary, Qt.MouseButton.LeftButton)
    assert answers == [False] and session.snapshot.call is not None and session.snapshot.call.share_identity is None
    assert joined in screen.interpreter.text()
