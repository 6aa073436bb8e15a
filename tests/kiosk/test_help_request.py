"""The customer's "ask for help" when nobody accepts it: the kiosk link passes it to the agent (a real
:class:`KioskLinkServer` here, with no notifier behind it), and without an acknowledgement in time the request
turns to ``failed`` — the screen then tells the customer to ask the staff — and with no agent at all at once.
The acknowledged path through the real agent, broker and notifier is tests/provisioning/test_alerts.py."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from etapiste.config.point import load_point_config
from kiosk.agentlink import AgentLink
from kiosk.health import HealthMonitor
from kiosk.session import Session
from provisioning.kiosk_link import KioskLinkServer
from tests.provisioning.conftest import eventually


@pytest.fixture
async def agent() -> AsyncIterator[KioskLinkServer]:
    helps: list[int] = []
    with tempfile.TemporaryDirectory(prefix="ek-", dir="/tmp") as d:  # unix socket paths are short
        server = KioskLinkServer(Path(d) / "agent.sock", on_help=lambda: helps.append(1))
        server.helps = helps  # type: ignore[attr-defined]
        await server.start()
        yield server
        await server.close()


def _in_queue(session: Session) -> None:
    session.choose_language("fi")
    session.choose_producer("kela")
    session.accept_notice()


async def test_help_nobody_accepts_turns_to_ask_the_staff_and_an_accepted_one_to_told(
    agent: KioskLinkServer,
) -> None:
    session = Session(load_point_config(), lambda: dt.datetime(2026, 11, 30, 12, 0))
    link = AgentLink(str(agent.path), session, HealthMonitor({}), config_path=None, test_print=lambda: None,
                     restart=lambda: None, help_answer_s=1.0)  # fmt: skip
    task = asyncio.ensure_future(link.run())
    try:
        await eventually(lambda: agent.view.connected, 10, "the kiosk connected")
        _in_queue(session)
        session.ask_for_help()
        await eventually(lambda: agent.helps == [1], 5, "the agent got it")  # type: ignore[attr-defined]
        assert session.snapshot.help_request == "sending"
        await eventually(lambda: session.snapshot.help_request == "failed", 5, "no answer: ask the staff")

        session.reset()  # the next customer
        _in_queue(session)
        session.ask_for_help()
        assert session.snapshot.help_request == "sending"
        await eventually(lambda: agent.helps == [1, 1], 5, "the agent got it")  # type: ignore[attr-defined]
        await agent.alert_acknowledged("help", None)  # the notifier accepted this one
        await eventually(lambda: session.snapshot.help_request == "told", 5, "told")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_help_with_no_agent_running_tells_the_customer_to_ask_the_staff_at_once(tmp_path: Path) -> None:
    session = Session(load_point_config(), lambda: dt.datetime(2026, 11, 30, 12, 0))
    AgentLink(str(tmp_path / "nobody.sock"), session, HealthMonitor({}), config_path=None, test_print=lambda: None,
              restart=lambda: None)  # fmt: skip
    _in_queue(session)
    session.ask_for_help()
    await eventually(lambda: session.snapshot.help_request == "failed", 5, "ask the staff")
