"""The kiosk's nightly restart comes from the host's opening hours (issue 21, item 8), run on the simulated
clock for weeks: once a night, never while the host is open (nor within half an hour of it), a host open
round the clock restarts in its quietest hour, or not at all without statistics."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence

import pytest

from etapiste.config.point import load_point_config
from etapiste.hours import Schedule
from provisioning.nightly import MARGIN, NightlyRestart, next_restart
from simulation.clock import FakeClock


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
