"""Alerts that really go out (issue 21, item 1): the real kiosk (assembled in this process, a real CUPS queue
for its printer), the real agent process, the private broker, the real notifier process (``etapiste ops
notifier``) and a real SMTP server on loopback. A printer out of paper mails the host's staff and support
once, a repeat is grouped, the fix sends an all-clear; the customer's help request mails the staff and the
screen says so only after the notifier accepted it; a point offline in its opening hours is mailed about,
one offline while its host is closed is not. No customer data in any mail or MQTT payload."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
import yaml
from pytestqt.qtbot import QtBot

from drivers.printer import Printer
from etapiste import texts
from etapiste.config.point import PrinterConfig, load_point_config
from kiosk import i18n
from kiosk.app import Devices, Kiosk, assemble, stop
from provisioning import broker
from provisioning.alerts import AlertBook
from simulation.documents import pdf_with_text
from simulation.point_config import config_for
from simulation.services.common import Service, running
from simulation.services.cups import PrivateCupsd
from simulation.services.mqtt import Broker
from simulation.services.smtp import Mail, SmtpServer
from tests.provisioning.conftest import Ops, Point, eventually

ETAPISTE = str(Path(sys.executable).with_name("etapiste"))
HOST_MAIL = "kirjasto@host.example"
SUPPORT_MAIL = "tuki@organiser.example"
#: A customer's name, on the document they print: it must never reach an alert.
CUSTOMER = "Meikäläinen"
ALWAYS = {day: "00:00-24:00" for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
NEVER = {day: "closed" for day in ALWAYS}


def monday_noon() -> dt.datetime:
    """A constant clock: the sample host is open then (the kiosk shows its customer screens)."""
    return dt.datetime(2026, 11, 30, 12, 0)


def _fleet(root: Path, hours: dict[str, dict[str, str]]) -> Path:
    """A fleet directory with one file per point: the host's address and its opening hours."""
    (root / "points").mkdir(parents=True)
    for pid, weekly in hours.items():
        data = config_for(pid, 9)
        data["host"] = {**data["host"], "contact": {"name": "Kirjasto", "email": HOST_MAIL},
                        "opening_hours": {"weekly": weekly}}  # fmt: skip
        data["support"] = {**data["support"], "email": SUPPORT_MAIL}
        (root / "points" / f"{pid}.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    return root


@contextlib.contextmanager
def _notifier(mosquitto: Broker, smtp: SmtpServer, fleet: Path, log: Path, *, offline_grace_s: float = 60.0
              ) -> Iterator[Service]:  # fmt: skip
    argv = [
        ETAPISTE, "ops", "notifier", "--broker", mosquitto.url,
        "--password-file", str(mosquitto.password_file(broker.NOTIFIER_USER)), "--fleet", str(fleet),
        "--smtp", smtp.address, "--from", "etapiste@organiser.example", "--support", SUPPORT_MAIL,
        "--reminder-min", "60", "--offline-grace-s", str(offline_grace_s), "--check-s", "0.2",
    ]  # fmt: skip
    # Ready once subscribed: an alert published before the notifier's first connection has no session to
    # wait in (a machine under load takes seconds to start the process).
    with running(Service("notifier", argv, log), lambda: "notifier connected" in log.read_text(errors="replace")
                 if log.exists() else False, timeout=60) as service:  # fmt: skip
        yield service


class Wire:
    """Every alert and acknowledgement on the broker, as an observer with the ops account sees them."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self.client = client
        self.alerts: list[dict[str, Any]] = []
        self.acks: list[dict[str, Any]] = []
        self.payloads: list[bytes] = []

    async def listen(self) -> None:
        await self.client.subscribe(broker.all_points("alert"), qos=1)
        await self.client.subscribe(broker.all_points("alert_ack"), qos=1)
        async for m in self.client.messages:
            payload = bytes(m.payload) if isinstance(m.payload, bytes | bytearray) else b""
            self.payloads.append(payload)
            (self.acks if m.topic.value.endswith("/alert_ack") else self.alerts).append(json.loads(payload))


@pytest.fixture
async def wire(mosquitto: Broker) -> AsyncIterator[Wire]:
    async with aiomqtt.Client(**mosquitto.credentials(broker.OPS_USER)) as client:
        w = Wire(client)
        task = asyncio.create_task(w.listen())
        await asyncio.sleep(0.05)
        yield w
        task.cancel()


def _kiosk(point: Point, devices: Devices) -> tuple[Kiosk, asyncio.Task[None]]:
    kiosk = assemble(load_point_config(), devices=devices, engine=None, kiosk_mode=False, clock=monday_noon,
                     agent_socket=str(point.socket))  # fmt: skip
    assert kiosk.link is not None
    return kiosk, asyncio.ensure_future(kiosk.link.run())


async def _stop(kiosk: Kiosk, task: asyncio.Task[None]) -> None:
    await stop(kiosk, [task])
    with contextlib.suppress(asyncio.CancelledError):
        await task
    kiosk.window.allow_close()
    kiosk.window.close()


async def _mails(smtp: SmtpServer, n: int, timeout: float = 20.0) -> list[Mail]:
    await eventually(lambda: len(smtp.taken()) >= n, timeout, f"{n} mail(s)")
    return smtp.taken()


async def _until_printer(printer: Printer, reason: str, *, reported: bool = True) -> None:
    """Wait for CUPS to report ``reason`` on the queue, or with ``reported=False`` to stop reporting it.

    Each look is a new CUPS connection: look calmly.
    """
    for _ in range(150):
        if (reason in printer.status().reasons) == reported:
            return
        await asyncio.sleep(0.2)
    state = "report" if reported else "clear"
    raise AssertionError(f"the printer did not {state} {reason}: {printer.status()}")


def _no_customer_data(mails: list[Mail], wire: Wire) -> None:
    for text in [m.raw for m in mails] + [p.decode() for p in wire.payloads]:
        assert CUSTOMER not in text
    for alert in wire.alerts:  # codes and counts only: no field could carry a sentence
        assert set(alert) <= {"id", "point", "kind", "state", "device", "code", "count", "at"}


async def test_a_printer_out_of_paper_mails_the_host_once_groups_repeats_and_mails_an_all_clear(
    qtbot: QtBot, points: Callable[[str], Point], ops: Ops, mosquitto: Broker, smtp_server: SmtpServer,
    wire: Wire, cupsd: PrivateCupsd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "kiosk-state"))
    fleet = _fleet(tmp_path / "fleet", {"point-a": ALWAYS})
    queue = cupsd.add_fault_queue("media-empty")
    printer = Printer(PrinterConfig(queue=queue.name), server=cupsd.socket)
    a = points("point-a")
    a.start_agent()
    with _notifier(mosquitto, smtp_server, fleet, tmp_path / "notifier.log"):
        kiosk, link = _kiosk(a, Devices(printer=printer))
        try:
            await ops.state_where("point-a", lambda s: s["kiosk"]["connected"])
            # A customer's printout meets the empty tray: CUPS stops the queue with media-empty.
            document = tmp_path / f"{CUSTOMER}.pdf"
            document.write_bytes(pdf_with_text(1))
            cupsd.connection().printFile(queue.name, str(document), f"{CUSTOMER} hakemus", {})
            await _until_printer(printer, "media-empty-error")
            await kiosk.health.check()
            mails = await _mails(smtp_server, 1)
            first = mails[0]
            assert set(first.recipients) == {HOST_MAIL, SUPPORT_MAIL}
            assert "point-a" in first.subject and "tulostin" in first.subject
            assert texts.template("error.out_of_paper.staff", "fi").split(" (")[0] in first.body
            assert texts.template("error.out_of_paper.staff", "sv").split(" (")[0] in first.body
            # The notifier accepted it, and the kiosk knows the staff were told of the printer.
            await eventually(lambda: kiosk.session.snapshot.staff_told == ("printer",), 10, "the kiosk told")

            # A repeat: the agent restarts and raises the still-open fault again. Grouped: no second mail,
            # yet acknowledged.
            a.agent.stop()  # type: ignore[union-attr]
            ops.states.pop("point-a", None)  # what the new agent says, not the old one's last word
            a.start_agent()
            await eventually(lambda: len([x for x in wire.alerts if x["state"] == "open"]) >= 2, 30, "the repeat")
            await eventually(lambda: len(wire.acks) >= 2, 10, "the repeat acknowledged")
            assert len(smtp_server.taken()) == 1
            # The kiosk's link finds the new agent by its own retry; the all-clear travels over it.
            await ops.state_where("point-a", lambda s: s["kiosk"]["connected"], 60)

            # Staff fill the tray and resume printing: the all-clear.
            queue.set("ok")
            await asyncio.to_thread(printer.resume)
            # CUPS reprints the held job and only then clears the reason: the kiosk's next check after that
            # (every 15 s in service) is the one that sees a working printer.
            await _until_printer(printer, "media-empty-error", reported=False)
            await kiosk.health.check()
            mails = await _mails(smtp_server, 2)
        finally:
            await _stop(kiosk, link)
    clear = mails[1]
    assert "point-a" in clear.subject and "toimii taas" in clear.subject
    assert [x["state"] for x in wire.alerts] == ["open", "open", "cleared"]
    assert len(smtp_server.taken()) == 2
    _no_customer_data(smtp_server.taken(), wire)


async def test_the_help_button_mails_the_staff_and_the_screen_says_so_only_after_the_notifier_accepted(
    qtbot: QtBot, points: Callable[[str], Point], ops: Ops, mosquitto: Broker, smtp_server: SmtpServer,
    wire: Wire, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "kiosk-state"))
    fleet = _fleet(tmp_path / "fleet", {"point-a": ALWAYS})
    a = points("point-a")
    a.start_agent()
    smtp_server.refuse = True  # the organiser's mail server is down for a moment
    with _notifier(mosquitto, smtp_server, fleet, tmp_path / "notifier.log"):
        kiosk, link = _kiosk(a, Devices())
        try:
            await ops.state_where("point-a", lambda s: s["kiosk"]["connected"])
            session, window = kiosk.session, kiosk.window
            session.choose_language("sv")
            assert window.help.isVisibleTo(window)
            window.help.click()
            status = window.help_status
            await eventually(lambda: smtp_server.refused >= 1, 20, "the notifier tried to mail")
            # Not accepted yet: the customer is not told the staff know; they are told to ask.
            assert session.snapshot.help_request == "sending"
            assert status.text() == i18n.text("help_sending", "sv", host=session.snapshot.host_kind)
            assert "personal" in status.text().lower()
            assert not wire.acks

            smtp_server.refuse = False  # the notifier's next round gets through
            mails = await _mails(smtp_server, 1)
            await eventually(lambda: session.snapshot.help_request == "told", 10, "the help acknowledged")
            assert status.text() == i18n.text("help_told", "sv", host=session.snapshot.host_kind)
            assert window.help_status.isVisibleTo(window)
            # The next customer starts afresh.
            session.reset()
            assert session.snapshot.help_request is None
        finally:
            await _stop(kiosk, link)
    assert mails[0].recipients == (HOST_MAIL,)  # help is for the staff in the building
    assert "point-a" in mails[0].subject
    _no_customer_data(mails, wire)


async def test_a_point_offline_in_opening_hours_is_mailed_about_and_one_whose_host_is_closed_is_not(
    points: Callable[[str], Point], ops: Ops, mosquitto: Broker, smtp_server: SmtpServer, tmp_path: Path,
) -> None:  # fmt: skip
    fleet = _fleet(tmp_path / "fleet", {"point-a": ALWAYS, "point-b": NEVER})
    a, b = points("point-a"), points("point-b")
    a.start_agent()
    b.start_agent()
    await ops.until(lambda: ops.online.get("point-a") == ops.online.get("point-b") == "true", 20, "both online")
    with _notifier(mosquitto, smtp_server, fleet, tmp_path / "notifier.log", offline_grace_s=0.3):
        await asyncio.sleep(0.5)  # the notifier has read both online flags
        b.kill_agent()  # the last will: point-b is offline, but its host is closed
        await ops.until(lambda: ops.online.get("point-b") == "false", 10, "point-b offline")
        a.kill_agent()
        await ops.until(lambda: ops.online.get("point-a") == "false", 10, "point-a offline")
        mails = await _mails(smtp_server, 1)
        assert "point-a" in mails[0].subject
        assert set(mails[0].recipients) == {HOST_MAIL, SUPPORT_MAIL}
        a.start_agent()
        mails = await _mails(smtp_server, 2)
    assert "point-a" in mails[1].subject
    assert all("point-b" not in m.subject for m in smtp_server.taken())
    assert len(smtp_server.taken()) == 2


async def test_a_kiosk_that_keeps_restarting_is_mailed_to_the_host_and_support_once(
    points: Callable[[str], Point], ops: Ops, mosquitto: Broker, smtp_server: SmtpServer, wire: Wire,
    tmp_path: Path,
) -> None:  # fmt: skip
    fleet = _fleet(tmp_path / "fleet", {"point-a": ALWAYS})
    a = points("point-a")
    a.start_agent(extra=["--crash-restarts", "3", "--crash-window-s", "120"])
    with _notifier(mosquitto, smtp_server, fleet, tmp_path / "notifier.log"):
        for _ in range(4):  # the kiosk starts, dies, is started again by systemd…
            a.start_kiosk()
            await ops.state_where("point-a", lambda s: s["kiosk"]["connected"])
            a.kiosk.stop()  # type: ignore[union-attr]
            await ops.state_where("point-a", lambda s: not s["kiosk"]["connected"])
        mails = await _mails(smtp_server, 1)
        await eventually(lambda: len(wire.acks) >= 1, 10, "the crash loop acknowledged")
    loops = [x for x in wire.alerts if x["kind"] == "crash_loop"]
    assert [(x["state"], x["count"]) for x in loops] == [("open", 3)]  # the fourth start is the same loop
    assert set(mails[0].recipients) == {HOST_MAIL, SUPPORT_MAIL}
    assert "point-a" in mails[0].subject and "3" in mails[0].body
    assert len(smtp_server.taken()) == 1


async def test_a_help_request_raised_while_the_notifier_restarts_is_mailed_when_it_is_back(
    mosquitto: Broker, smtp_server: SmtpServer, wire: Wire, tmp_path: Path,
) -> None:  # fmt: skip
    """The notifier's broker session is persistent: a help request published while it is down (an upgrade, a
    crash) waits at the broker and is mailed and acknowledged once it is back, not lost with the customer
    left waiting for staff who were never told."""
    fleet = _fleet(tmp_path / "fleet", {"point-a": ALWAYS})
    with _notifier(mosquitto, smtp_server, fleet, tmp_path / "notifier-1.log"):
        pass  # connected once: the broker now keeps its session
    alert = AlertBook("point-a").help()
    async with aiomqtt.Client(**mosquitto.credentials("point-a")) as point:  # what the point's agent does
        await point.publish(broker.topic("point-a", "alert"), alert.model_dump_json().encode(), qos=1)
    await asyncio.sleep(0.5)
    assert not smtp_server.taken()  # nobody was there to mail it
    with _notifier(mosquitto, smtp_server, fleet, tmp_path / "notifier-2.log"):
        mails = await _mails(smtp_server, 1)
        await eventually(lambda: [x["id"] for x in wire.acks] == [alert.id], 10, "the help acknowledged")
    assert mails[0].recipients == (HOST_MAIL,)
    assert "point-a" in mails[0].subject
