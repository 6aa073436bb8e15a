"""Out of service lasts (issue 21, item 3): staff put the room out of service at the screen of the real kiosk
(assembled in this process), the real agent process holds it in its state directory; after the kiosk and the
agent restart, the new kiosk shows the out-of-service screen from its first frame; ``etapiste ops status``
reports it; ops clear it with a signed command, and the next start is back in service."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from kiosk.app import Devices
from kiosk.session import State
from kiosk.views.window import screen_text
from simulation.services.mqtt import Broker
from tests.provisioning.conftest import Ops, Point, eventually
from tests.provisioning.test_alerts import _kiosk, _stop
from tests.provisioning.test_ops_cli import online_args, run_ops

MESSAGE = "Tulostin rikki, huolto tulee huomenna"


async def test_out_of_service_set_by_staff_outlasts_kiosk_and_agent_restarts_until_ops_clear_it(
    qtbot: QtBot, points: Callable[[str], Point], ops: Ops, mosquitto: Broker, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "kiosk-state"))
    a = points("point-a")
    a.start_agent()
    kiosk, link = _kiosk(a, Devices())
    try:
        await ops.state_where("point-a", lambda s: s["kiosk"]["connected"])
        staff = kiosk.window.staff
        staff.message.setText(MESSAGE)
        staff.out_of_service.setChecked(True)  # what the librarian taps in staff mode
        assert kiosk.session.state is State.OUT_OF_SERVICE
        state = await ops.state_where("point-a", lambda s: s["out_of_service"] is not None)
    finally:
        await _stop(kiosk, link)
    assert state["out_of_service"]["message"] == MESSAGE
    assert state["out_of_service"]["by"] == "staff"

    # The nightly restart, a crash, a reboot: the agent and the kiosk start again.
    a.agent.stop()  # type: ignore[union-attr]
    a.start_agent()
    await ops.until(lambda: ops.online.get("point-a") == "true", 20, "agent back")
    await eventually(a.socket.exists, 10, "the kiosk link's socket")
    again, link = _kiosk(a, Devices())
    try:
        # Before the event loop ran anything of the new kiosk: its first frame is the out-of-service screen.
        assert again.session.state is State.OUT_OF_SERVICE
        assert again.window.current_screen is again.window.out_of_service
        assert MESSAGE in screen_text(again.window.out_of_service)
        await ops.state_where("point-a", lambda s: s["kiosk"]["connected"] and s["out_of_service"] is not None)
        code, out = await run_ops("status", *online_args(mosquitto))
        assert code == 0, out
        row = next(line for line in out.splitlines() if line.startswith("point-a"))
        assert "OUT-OF-SERVICE(by-staff-since-" in row

        # Ops clear it with a signed command: the kiosk is back in service at once.
        await ops.command("point-a", "oos-clear-1", "out_of_service", {"on": False})
        assert (await ops.ack("oos-clear-1"))["ok"] is True
        await eventually(lambda: again.session.state is not State.OUT_OF_SERVICE, 10, "back in service")
        await ops.state_where("point-a", lambda s: s["out_of_service"] is None)
    finally:
        await _stop(again, link)

    # And it stays cleared across the next restart.
    a.agent.stop()  # type: ignore[union-attr]
    a.start_agent()
    await ops.until(lambda: ops.online.get("point-a") == "true", 20, "agent back again")
    await eventually(a.socket.exists, 10, "the kiosk link's socket")
    third, link = _kiosk(a, Devices())
    try:
        assert third.session.state is not State.OUT_OF_SERVICE
    finally:
        await _stop(third, link)
