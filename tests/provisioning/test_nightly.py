"""The kiosk's nightly restart comes from the host's opening hours (issue 21, item 8), run on the simulated
clock for weeks: once a night, never while the host is open (nor within half an hour of it), a host open
round the clock restarts in its quietest hour, or not at all without statistics."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest

from etapiste.config.point import load_point_config
from etapiste.hours import Schedule
from kiosk.agentlink import AgentLink
from kiosk.health import HealthMonitor
from kiosk.session import Session
from provisioning.agent import Agent, AgentSettings
from provisioning.nightly import MARGIN, NightlyRestart, next_restart
from simulation.clock import FakeClock
from simulation.point_config import SAMPLE
from tests.provisioning.conftest import eventually


class _Past(Exception):
    """The simulated weeks are over."""


def _run(schedule: Schedule, start: str, days: int, *, sessions: Sequence[int] = (), jitter: float = 0.0
         ) -> list[dt.datetime]:  # fmt: skip
    """Restart times the agent's loop makes over ``days`` simulated days from ``start``."""
    clock = FakeClock(start)
    end = clock() + dt.timedelta(days=days)
    restarts: list[dt.datetime] = []

    async def sleep(seconds: float) -> None:
        assert seconds > 0
        clock.advance(seconds)
        if clock() > end:
            raise _Past

    async def restart() -> None:
        restarts.append(clock())

    nightly = NightlyRestart(lambda: schedule, restart, clock=clock, sleep=sleep,
                             sessions_by_hour=lambda: sessions, jitter=jitter)  # fmt: skip
    with pytest.raises(_Past):
        asyncio.run(nightly.run())
    return restarts


def _clear_of_opening(schedule: Schedule, at: dt.datetime) -> bool:
    """Closed from MARGIN before ``at`` until MARGIN after it (checked minute by minute)."""
    minutes = int(MARGIN.total_seconds() // 60)
    return not any(schedule.is_open(at + dt.timedelta(minutes=m)) for m in range(-minutes, minutes + 1))


@pytest.mark.parametrize("jitter", [0.0, 0.99])
def test_the_sample_library_restarts_once_every_night_and_never_while_open(jitter: float) -> None:
    hours = load_point_config().host.opening_hours
    restarts = _run(hours, "2026-12-01T12:00", 28, jitter=jitter)  # over Christmas and New Year
    assert len(restarts) == 28
    assert len({r.date() for r in restarts}) == 28, "one a night"
    for at in restarts:
        assert _clear_of_opening(hours, at), f"restart at {at} within half an hour of the library being open"
        assert dt.time(3, 30) <= at.time() <= dt.time(4, 0)  # the fleet's habit fits a library's night


def _weekly(**days: object) -> Schedule:
    return Schedule.model_validate({"weekly": days})


def test_a_host_closed_only_a_few_hours_restarts_in_the_middle_of_them() -> None:
    # A late-night host closed only 01:00–04:00: 03:30 would leave no half hour before opening (and the
    # fleet's spread), so the restart falls in the middle of what does: 01:30–03:00.
    day = ["00:00-01:00", "04:00-24:00"]
    hours = _weekly(mon=day, tue=day, wed=day, thu=day, fri=day, sat=day, sun=day)
    restarts = _run(hours, "2026-12-01T12:00", 7)
    assert len(restarts) == 7
    for at in restarts:
        assert at.time() == dt.time(2, 15) and _clear_of_opening(hours, at)
    assert next_restart(hours, dt.datetime(2026, 12, 1, 12, 0), jitter=0.5) == dt.datetime(2026, 12, 2, 2, 30)


def test_a_host_open_round_the_clock_restarts_in_its_quietest_hour_or_not_at_all() -> None:
    always = ["00:00-24:00"]
    hours = _weekly(mon=always, tue=always, wed=always, thu=always, fri=always, sat=always, sun=always)
    assert _run(hours, "2026-12-01T12:00", 7) == [], "no statistics: no guessed restart under a customer"
    sessions = [3] * 24
    sessions[5] = 0  # nobody has ever started a session between 05 and 06
    restarts = _run(hours, "2026-12-01T12:00", 7, sessions=sessions)
    assert [r.time() for r in restarts] == [dt.time(5, 30)] * 7


async def test_the_agent_restarts_the_kiosk_only_once_no_customer_is_served(short_dir: Path) -> None:
    """The agent's nightly restart through the real kiosk link and the kiosk's own link end: a customer in a
    call is never cut; the kiosk restarts the moment the visit is over. The time comes from the configuration
    the agent applied (the sample library): a moment the library is closed."""
    agent = Agent(AgentSettings(point="demo-oulu-kirjasto", state_dir=short_dir / "state", host="127.0.0.1",
                                port=1, password="unused", kiosk_socket=short_dir / "agent.sock"))  # fmt: skip
    agent.applier.config_path.parent.mkdir(parents=True)
    shutil.copy(SAMPLE, agent.applier.config_path)
    due = agent.nightly.due()
    assert due is not None and _clear_of_opening(load_point_config().host.opening_hours, due)

    session = Session(load_point_config(), lambda: dt.datetime(2026, 11, 30, 12, 0))
    restarts: list[str] = []
    await agent.kiosk.start()
    link = AgentLink(str(agent.s.kiosk_socket), session, HealthMonitor({}), config_path=None,
                     test_print=lambda: None, restart=lambda: restarts.append(session.state.value))  # fmt: skip
    task = asyncio.ensure_future(link.run())
    try:
        await eventually(lambda: agent.kiosk.view.connected, 10, "the kiosk connected")
        session.choose_language("fi")
        session.choose_producer("kela")
        session.accept_notice()
        session.call_answered()  # a customer is being served
        await agent._restart_nightly()
        await asyncio.sleep(2.5)  # the kiosk looks every second: more than two looks, still in the call
        assert restarts == []
        session.hang_up()
        session.rate(None)  # the visit is over
        await eventually(lambda: restarts == ["idle"], 10, "restarted once the customer left")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await agent.kiosk.close()
