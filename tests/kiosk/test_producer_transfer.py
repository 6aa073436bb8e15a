"""Transfer to another producer (issue 22) at the kiosk: the session goes back to waiting for the new producer
without the customer choosing again, the screen (and speech) says where they are going in fi/sv/en, and the call
engine against the real switchboard leaves the call, waits in the new queue and is answered there by an agent of
the other producer (aiortc on both ends)."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from etapiste import protocol as p
from etapiste.config.point import PointConfig, load_point_config
from kiosk import call as c
from kiosk import i18n
from kiosk.session import Outcome, SessionRecord, State
from simulation.call import answering_agent, point_engine
from simulation.desk_agent import AiortcAgent
from simulation.switchboard import serve
from tests.kiosk.test_journey import AgentSide, in_call
from tests.kiosk.test_views import _speaking_window

MIGRI = c.QueueTransferred(call="call-1", producer="migri", queue="migri-general", from_producer="kela",
                           producer_name={"fi": "Migri", "sv": "Migri", "en": "Migri"})


@pytest.fixture
def config() -> PointConfig:
    return load_point_config()


def test_a_transfer_takes_the_customer_back_to_waiting_for_the_new_producer(config: PointConfig) -> None:
    agent = AgentSide()
    session, _ = in_call(config, agent)
    records: list[SessionRecord] = []
    session.on_record(records.append)

    agent.emit(MIGRI)
    agent.emit(c.CallEnded("call-1", "transferred", "agent"))  # the old call's end, after the transfer
    snap = session.snapshot
    assert snap.state is State.QUEUE and snap.transferred and snap.call is None
    assert snap.selected is not None and snap.selected.id == "migri"
    # The switchboard ended the call: the kiosk neither hangs up nor gives up the new place.
    assert agent.reports("hang_up") == [] and agent.reports("cancel_queue") == []
    assert snap.selected.name.in_("en") == "Finnish Immigration Service"  # the point's own name for it

    agent.emit(c.QueuePosition(position=1, estimate_s=30, agents_online=1))
    assert session.snapshot.queue_position == 1
    agent.emit(c.CallAnswered(call="call-2", agent_name="Maija / Migri"))
    assert session.state is State.CALL
    assert session.snapshot.call is not None and session.snapshot.call.producer.id == "migri"
    agent.emit(c.CallEnded("call-2", "hangup", "agent"))
    assert session.state is State.SURVEY
    session.rate(5)
    assert len(records) == 1 and (records[0].producer, records[0].outcome) == ("migri", Outcome.SERVED)
    assert not session.snapshot.transferred  # the wipe forgets it


def test_leaving_the_queue_after_a_transfer_gives_up_the_new_place(config: PointConfig) -> None:
    agent = AgentSide()
    session, _ = in_call(config, agent)
    agent.emit(MIGRI)
    session.cancel_queue()
    assert agent.reports("cancel_queue") == [()]
    assert session.state is State.SERVICE_CHOICE


def test_a_producer_this_point_does_not_offer_is_named_as_the_switchboard_names_it(config: PointConfig) -> None:
    agent = AgentSide()
    session, _ = in_call(config, agent)
    agent.emit(c.QueueTransferred(call="call-1", producer="avi", queue="avi-general", from_producer="kela",
                                  producer_name={"fi": "Aluehallintovirasto", "sv": "Regionförvaltningsverket",
                                                 "en": "Regional State Administrative Agency"}))
    selected = session.snapshot.selected
    assert session.state is State.QUEUE and selected is not None
    assert (selected.id, selected.queue, selected.name.in_("sv")) == ("avi", "avi-general", "Regionförvaltningsverket")


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_the_queue_screen_says_where_the_customer_is_being_transferred_and_speech_reads_it(
    qtbot: QtBot, language: str
) -> None:
    window, session, said = _speaking_window(qtbot, language)
    session.choose_producer("kela")
    session.accept_notice()
    session.call_answered()
    migri = next(prod for prod in session.config.producers if prod.id == "migri")
    session.transferred(migri)
    expected = i18n.text("queue_transferred", language, producer=migri.name.in_(language))  # type: ignore[arg-type]
    assert window.current_screen is window.queue and window.queue.title.text() == expected
    place = i18n.text("queue_transferred_place", language)  # type: ignore[arg-type]
    assert not window.queue.transferred.isHidden() and window.queue.transferred.text() == place
    assert said[-1][1] == language and expected in said[-1][0] and place in said[-1][0]


@pytest.mark.usefixtures("loopback_ice")
async def test_the_point_leaves_the_call_waits_in_the_new_queue_and_an_agent_of_that_producer_answers():
    async with serve() as sb, point_engine(sb) as (engine, events):
        maija = AiortcAgent(sb, username="maija")
        try:
            await maija.connect()
            async with answering_agent(sb, engine) as anna:
                first = await events.first(c.CallConnected)
                await anna.send(p.CallTransfer(call=first.call, queue="migri-general", reason="other_producer_matter"))
                told = await events.first(c.QueueTransferred)
                assert (told.call, told.producer, told.from_producer) == (first.call, "migri", "kela")
                ended = await events.first(c.CallEnded)
                assert (ended.call, ended.reason) == (first.call, "transferred")
                assert engine.peers == {} and engine.state == "queued"  # the media of the first call closed
                after = events.events.index(told)
                position = await events.until(
                    lambda: next((e for e in events.events[after:] if isinstance(e, c.QueuePosition)), None),
                    what="the place in Migri's queue")
                assert position.position == 1
                await anna.until(lambda: anna.seen("call.ended"), what="the call ended for Anna")

            second = await maija.accept_next()
            answered = await events.first(c.CallAnswered, lambda e: e.call == second)
            assert answered.agent_name == "Maija / Migri"
            connected = await events.first(c.CallConnected, lambda e: e.call == second)
            assert connected.call != first.call
            await maija.until(lambda: maija.frames["video"] > 5, what="the point's picture at Migri's agent")
        finally:
            await maija.close()
