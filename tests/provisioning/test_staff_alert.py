"""Someone guessing the staff PIN at the screen shows up at the organiser: the kiosk (the real one,
assembled in this process) tells the real agent over the kiosk link, the agent reports it in its state,
and ``etapiste ops status`` raises an alert — also after the kiosk restarted."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from etapiste.config.point import load_point_config
from kiosk.app import Devices, Kiosk, assemble, stop
from simulation.services.mqtt import Broker
from tests.provisioning.conftest import Ops, Point
from tests.provisioning.test_ops_cli import online_args, run_ops

WRONG = "135790"


def _kiosk(qtbot: QtBot, point: Point) -> tuple[Kiosk, asyncio.Task[None]]:
    kiosk = assemble(load_point_config(), devices=Devices(), engine=None, kiosk_mode=False,
                     agent_socket=str(point.socket))  # fmt: skip
    assert kiosk.link is not None  # closed by _stop (the kiosk window closes once, when allowed)
    return kiosk, asyncio.ensure_future(kiosk.link.run())


async def _stop(kiosk: Kiosk, task: asyncio.Task[None]) -> None:
    await stop(kiosk, [task])
    with contextlib.suppress(asyncio.CancelledError):
        await task
    kiosk.window.allow_close()
    kiosk.window.close()


async def test_repeated_wrong_staff_pins_reach_ops_as_an_alert(
    qtbot: QtBot, points: Callable[[str], Point], ops: Ops, mosquitto: Broker, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "kiosk-state"))
    a = points("point-a")
    a.start_agent()
    kiosk, link = _kiosk(qtbot, a)
    try:
        state = await ops.state_where("point-a", lambda s: s["kiosk"]["connected"] and s.get("staff_pin"))
        assert state["staff_pin"] == {"failures": 0, "lockouts": 0, "locked_until": None}
        kiosk.session.open_staff_login()
        pad = kiosk.window.staff_login.pin_pad
        for _ in range(5):
            for digit in WRONG:
                pad.digit_keys[int(digit)].click()
            pad.ok_key.click()
        state = await ops.state_where("point-a", lambda s: (s.get("staff_pin") or {}).get("lockouts") == 1)
    finally:
        await _stop(kiosk, link)
    assert state["staff_pin"]["failures"] == 5
    until = dt.datetime.strptime(state["staff_pin"]["locked_until"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    assert dt.timedelta(minutes=4) < until - dt.datetime.now(dt.UTC) <= dt.timedelta(minutes=5)
    code, out = await run_ops("status", *online_args(mosquitto))
    assert code == 0, out
    row = next(line for line in out.splitlines() if line.startswith("point-a"))
    assert "ALERT:staff-PIN-5-wrong-locked-until-" in row

    # The kiosk restarts (and the agent forgets what it was told): the lockout comes back from its file.
    a.agent.stop()  # type: ignore[union-attr]
    a.start_agent()
    await ops.until(lambda: ops.online.get("point-a") == "true", 20, "agent back")
    ops.states.pop("point-a", None)
    again, link = _kiosk(qtbot, a)
    try:
        state = await ops.state_where("point-a", lambda s: (s.get("staff_pin") or {}).get("lockouts") == 1)
        assert state["staff_pin"]["failures"] == 5
    finally:
        await _stop(again, link)
