"""How alerts are grouped, on a clock the test sets: the agent's book (one open per device fault, none for a
device the point has none of, an all-clear when fixed, a crash loop after N kiosk starts in the window and its
end once the kiosk stayed up), and the notifier mailing a real SMTP server: one mail per open problem, a
reminder only after the reminder interval, help presses grouped, an all-clear only for what was mailed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from etapiste.hours import WEEKDAYS, Schedule
from etapiste.language import Text
from provisioning.alerts import AlertBook
from provisioning.notifier import Mailer, Notifier, PointInfo, SmtpSettings, load_problems
from simulation.services.smtp import SmtpServer


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_the_book_raises_one_alert_per_fault_and_an_all_clear_and_sees_a_crash_loop() -> None:
    clock = Clock()
    book = AlertBook("point-a", crash_restarts=3, crash_window_s=60, clock=clock)
    assert book.devices({"printer": (True, None), "scanner": (False, "not_configured")}) == []
    [opened] = book.devices({"printer": (False, "out_of_paper")})
    assert (opened.kind, opened.state, opened.device, opened.code) == ("device", "open", "printer", "out_of_paper")
    assert book.devices({"printer": (False, "out_of_paper")}) == []  # the same fault, reported again
    assert book.devices({"printer": (False, None)}) == []  # a restarted kiosk has not probed it yet
    [jam] = book.devices({"printer": (False, "jammed")})  # another fault of the same device
    assert jam.code == "jammed"
    [cleared] = book.devices({"printer": (True, None)})
    assert (cleared.state, cleared.code) == ("cleared", "jammed")
    assert book.acknowledged(opened.id) == opened

    assert book.kiosk_started() is None
    clock.t += 10
    assert book.kiosk_started() is None
    clock.t += 10
    loop = book.kiosk_started()
    assert loop is not None and (loop.kind, loop.count) == ("crash_loop", 3)
    assert book.kiosk_started() is None  # still the same loop
    clock.t += 30
    assert book.tick(kiosk_connected=True) is None  # up for 30 s of the 60
    clock.t += 31
    over = book.tick(kiosk_connected=True)
    assert over is not None and over.state == "cleared"


async def test_the_notifier_mails_once_reminds_after_the_interval_and_clears_only_what_it_mailed(
    smtp_server: SmtpServer,
) -> None:
    now = [dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)]
    acks: list[str] = []

    async def ack(point: str, alert_id: str) -> None:
        acks.append(alert_id)

    mailer = Mailer(SmtpSettings(smtp_server.host, smtp_server.port, "etapiste@organiser.example"))
    notifier = Notifier({}, mailer, ack, support=["tuki@organiser.example"], reminder_s=3600, clock=lambda: now[0])
    book = AlertBook("point-a")
    [first] = book.devices({"printer": (False, "out_of_paper")})
    assert await notifier.on_alert(first)
    assert len(smtp_server.taken()) == 1

    book2 = AlertBook("point-a")  # the agent restarted: the same fault is raised again
    [again] = book2.devices({"printer": (False, "out_of_paper")})
    now[0] += dt.timedelta(minutes=10)
    assert await notifier.on_alert(again)
    assert len(smtp_server.taken()) == 1  # grouped
    now[0] += dt.timedelta(minutes=55)
    assert await notifier.on_alert(again)
    mails = smtp_server.taken()
    assert len(mails) == 2 and mails[1].subject.startswith("[Muistutus]")

    for _ in range(3):  # three presses of "ask for help": one mail
        assert await notifier.on_alert(book.help())
    assert len(smtp_server.taken()) == 3

    [fixed] = book.devices({"printer": (True, None)})
    assert await notifier.on_alert(fixed)
    assert "toimii taas" in smtp_server.taken()[-1].subject
    [scanner_gone] = book.devices({"scanner": (False, "scanner_unavailable")})
    [scanner_back] = book.devices({"scanner": (True, None)})
    smtp_server.refuse = True  # the fault's mail did not go out…
    assert not await notifier.on_alert(scanner_gone)
    assert await notifier.on_alert(scanner_back)  # …so no all-clear is sent either
    assert len(smtp_server.taken()) == 4
    assert len(acks) == 8  # every accepted alert, and not the refused one


async def test_a_point_whose_agent_falls_silent_in_opening_hours_is_mailed_as_offline(smtp_server: SmtpServer) -> None:
    """A hung agent, or a network that drops packets without closing the link: the last will never comes, but
    the states stop."""
    now = [dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)]
    always = Schedule.model_validate({"weekly": {d: "00:00-24:00" for d in WEEKDAYS}})
    info = PointInfo("point-a", Text(fi="Kirjasto", sv="Bibliotek", en="Library"), "host@example.fi", None,
                     always, ZoneInfo("Europe/Helsinki"))  # fmt: skip

    async def ack(point: str, alert_id: str) -> None:
        return None

    mailer = Mailer(SmtpSettings(smtp_server.host, smtp_server.port, "etapiste@organiser.example"))
    notifier = Notifier({"point-a": info}, mailer, ack, offline_grace_s=300, stale_s=600, clock=lambda: now[0])
    notifier.on_online("point-a", True)
    notifier.on_state("point-a")
    now[0] += dt.timedelta(minutes=9)
    await notifier.tick()
    assert smtp_server.taken() == []
    now[0] += dt.timedelta(minutes=2)  # 11 minutes without a state
    await notifier.tick()
    [offline] = smtp_server.taken()
    assert offline.recipients == ("host@example.fi",) and "point-a" in offline.subject
    assert "11.00" in offline.body  # offline since the last state, 09:00 UTC = 11.00 in Helsinki
    notifier.on_state("point-a")  # the agent reports again
    await notifier.tick()
    assert len(smtp_server.taken()) == 2 and "point-a" in smtp_server.taken()[1].subject


async def test_open_problems_outlast_a_notifier_restart(smtp_server: SmtpServer, tmp_path: Path) -> None:
    """A fault mailed before the notifier restarted: its repeat is not mailed again, its fix is."""

    async def ack(point: str, alert_id: str) -> None:
        return None

    def notifier() -> Notifier:
        mailer = Mailer(SmtpSettings(smtp_server.host, smtp_server.port, "etapiste@organiser.example"))
        n = Notifier({}, mailer, ack, support=["tuki@organiser.example"], state_path=tmp_path / "open.json")
        n.open = load_problems(tmp_path / "open.json")
        return n

    book = AlertBook("point-a")
    [fault] = book.devices({"printer": (False, "jammed")})
    assert await notifier().on_alert(fault)
    again = notifier()  # restarted (a deployment, a reboot of the server)
    [repeat] = AlertBook("point-a").devices({"printer": (False, "jammed")})
    assert await again.on_alert(repeat)
    assert len(smtp_server.taken()) == 1
    [fixed] = book.devices({"printer": (True, None)})
    assert await notifier().on_alert(fixed)
    assert len(smtp_server.taken()) == 2 and "toimii taas" in smtp_server.taken()[1].subject
    assert load_problems(tmp_path / "open.json") == {}
