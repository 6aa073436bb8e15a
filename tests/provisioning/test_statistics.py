"""The point's statistics, version 2 (docs/statistics.md): the host's day (not the machine's), kept 35 days
and across an agent restart, a version-1 file moved aside, device faults counted once per onset from the
kiosk's real device health, nothing that could identify a customer in what is published; and the ops
tool's CSV export of it."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import datetime as dt
import io
import json
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from drivers.printer import Printer
from etapiste.config.point import PrinterConfig
from kiosk import call as c
from kiosk.agentlink import AgentLink
from kiosk.health import HealthMonitor, probe_printer
from kiosk.journey import Journey
from kiosk.session import Session, State
from provisioning import stats_model
from provisioning.kiosk_link import Fault, Minutes, SessionReport
from provisioning.statistics import KEEP_DAYS, Statistics, to_csv
from simulation.documents import pdf_with_text
from simulation.services.cups import PrivateCupsd
from tests.kiosk.test_journey import AgentSide
from tests.provisioning.conftest import Ops, Point
from tests.provisioning.test_statistics_flows import always_open_point, until
from tests.provisioning.test_statistics_schema import DOCUMENT_KEYS


@contextlib.asynccontextmanager
async def kiosk_link(session: Session, health: HealthMonitor, socket: Path) -> AsyncIterator[AgentLink]:
    """The kiosk's agent link, as ``kiosk.app.assemble`` makes it, running until the block ends."""
    link = AgentLink(str(socket), session, health, config_path=None, test_print=lambda: None, restart=lambda: None)
    task = asyncio.create_task(link.run())
    try:
        await until(link.client.connected.is_set, "the kiosk link")
        yield link
    finally:
        await asyncio.sleep(0.3)  # what was said reaches the agent
        task.cancel()


def a_zone_whose_day_is_not_utcs() -> str:
    """A host zone whose date differs from UTC's (and so from this machine's) right now."""
    hour = dt.datetime.now(dt.UTC).hour
    return "Pacific/Kiritimati" if hour >= 11 else "Pacific/Pago_Pago"  # UTC+14 / UTC-11


def visits(session: Session) -> None:
    """Two real visits without a switchboard: one leaves before choosing, one cannot be connected."""
    session.choose_language("sv")
    session.back()
    session.choose_language("fi")
    session.choose_producer("kela")
    session.accept_notice()  # no call engine: the journey says at once that the call cannot be placed
    assert session.state is State.SURVEY
    session.rate(None)


async def test_days_and_hours_are_the_hosts_and_an_agent_restart_loses_nothing(
    points: Callable[[str], Point], ops: Ops, switchboard_port: int
) -> None:
    zone = a_zone_whose_day_is_not_utcs()
    config = always_open_point(switchboard_port, timezone=zone)
    a = points("point-a")
    a.start_agent()
    session = Session(config)
    Journey(session, None)
    async with kiosk_link(session, HealthMonitor({}), a.socket):
        host_now = session.now()
        visits(session)
        day = host_now.date().isoformat()
        assert day not in (dt.datetime.now(dt.UTC).date().isoformat(), dt.date.today().isoformat())
        doc = await ops.until(lambda: (d := ops.stats.get("point-a")) and day in d.get("days", {}) and d,
                              what="the host day's statistics")  # fmt: skip
    assert doc["timezone"] == zone
    d = doc["days"][day]
    assert d["left_before_choosing"] == 1
    assert d["queues"]["kela/kela-general"]["outcomes"]["technical_failure"] == 1
    assert d["hours"][host_now.hour] + d["hours"][(host_now.hour + 1) % 24] == 2  # the host's hour
    assert d["usage"]["language"] == {"fi": 1, "sv": 1, "en": 0}
    published = ops.stats["point-a"]

    # An agent restart loses nothing: the document is kept in its state directory, and republished.
    a.agent.stop()  # type: ignore[union-attr]
    ops.stats.clear()
    a.start_agent()
    await ops.until(lambda: "point-a" in ops.stats, what="statistics after restart")
    assert ops.stats["point-a"] == published
    assert json.loads((a.state_dir / "stats.json").read_text()) == published

    # What leaves the point: the contract's keys, and as keys only ids, the day, device names and codes.
    def keys(o: Any) -> set[str]:
        if isinstance(o, dict):
            return set(o) | set().union(*(keys(v) for v in o.values()))
        if isinstance(o, list):
            return set().union(*(keys(v) for v in o)) if o else set()
        return set()

    assert keys(published) <= DOCUMENT_KEYS | {day, "kela/kela-general"}
    rows = list(csv.DictReader(io.StringIO(to_csv(ops.stats))))
    assert [(r["day"], r["producer"], r["queue"], r["sessions"], r["technical_failure"]) for r in rows] == [
        (day, "kela", "kela-general", "1", "1"), (day, "left_before_choosing", "", "1", "")]  # fmt: skip


async def test_printer_faults_are_counted_once_per_onset_from_the_real_device_health(
    points: Callable[[str], Point], ops: Ops, switchboard_port: int, cupsd: PrivateCupsd, tmp_path: Path
) -> None:
    queue = cupsd.add_fault_queue("ok")
    printer = Printer(PrinterConfig(queue=queue.name, job_timeout_s=10), server=cupsd.socket)
    health = HealthMonitor({"printer": lambda: probe_printer(printer)})
    session = Session(always_open_point(switchboard_port))
    agent = AgentSide()
    journey = Journey(session, agent, printer=printer)
    a = points("point-a")
    a.start_agent()
    async with kiosk_link(session, health, a.socket):
        await health.check()
        assert health.report["printer"].health == "ok"
        session.choose_language("fi")
        session.choose_producer("kela")
        session.accept_notice()
        agent.emit(c.CallAnswered(call="call-1", agent_name="Kela"))

        async def print_once(n: int) -> str:
            agent.emit(c.PrintRequested(transfer=f"t-{n}", name="x.pdf", pdf=pdf_with_text(1), sha256="0" * 64))
            await journey.idle()
            step = session.snapshot.call.print_.step  # type: ignore[union-attr]
            session.close_print()
            return step

        queue.set("media-jam")
        assert await print_once(1) == "failed"  # the jam's onset: the devices are probed at once
        await until(lambda: health.report["printer"].health == "fault", "the jam in device health")
        assert await print_once(2) == "failed"  # still jammed: the same fault, not a second one
        # The staff clear the jam and resume the printer; its next page makes CUPS forget the jam …
        queue.set("ok")
        await asyncio.to_thread(printer.resume)
        (tmp_path / "page.pdf").write_bytes(pdf_with_text(1))
        cupsd.connection().printFile(queue.name, str(tmp_path / "page.pdf"), "staff", {})
        await until(lambda: probe_printer(printer).health == "ok", "the printer working again")
        await health.check()  # … as the next round of probes sees
        assert await print_once(3) == "done"
        queue.set("media-jam")
        assert await print_once(4) == "failed"  # a second jam
        await until(lambda: health.report["printer"].health == "fault", "the second jam")
        session.hang_up()
        session.rate(5)

    today = session.now().date().isoformat()
    doc = await ops.until(
        lambda: (d := ops.stats.get("point-a")) and d["days"].get(today, {}).get("faults", {}).get("printer")
        and sum(d["days"][today]["hours"]) == 1 and d, what="the printer's faults")  # fmt: skip
    day = doc["days"][today]
    assert day["faults"] == {"printer": {"jammed": 2}}  # the printer condition's code, whatever CUPS said
    assert (day["usage"]["prints"], day["usage"]["print_pages"]) == (1, 1)  # the one printout that came out
    assert day["queues"]["kela/kela-general"]["ratings"]["5"] == 1


# ------------------------------------------------------------------------------------------ the aggregator


class Now:
    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at


def served(day: dt.date, producer: str = "kela", queue: str = "kela-general", **kw: Any) -> SessionReport:
    fields: dict[str, Any] = {"op": "session", "day": day, "hour": 12, "outcome": "served", "producer": producer,
                              "queue": queue, "wait_s": 40.0, "duration_s": 400.0, "rating": 4, **kw}  # fmt: skip
    return SessionReport.model_validate(fields)


def test_a_version_1_file_is_moved_aside_and_counting_starts_afresh(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    v1 = {"buckets_s": [60, 300, 600, 1200, 1800, 3600], "days": {"2026-11-27": {"producers": {"kela": {
        "sessions": 2, "duration_s_sum": 0.0, "wait_s_sum": 300.0, "duration_hist": [2, 0, 0, 0, 0, 0, 0],
        "wait_hist": [0, 2, 0, 0, 0, 0, 0], "ratings": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0, "none": 2}}},
        "faults": {}}}}  # fmt: skip
    path = tmp_path / "stats.json"
    path.write_text(json.dumps(v1))
    caplog.set_level(logging.WARNING)
    stats = Statistics(path, point="point-a")
    assert stats.days == {}
    assert json.loads((tmp_path / "stats.v1.json").read_text()) == v1  # kept for ops, never published
    assert "version 1" in caplog.text
    today = dt.datetime.now(stats.zone).date()
    assert stats.add_session(served(today))
    again = Statistics(path, point="point-a")
    assert again.document() == stats.document() and again.document().version == 2

    path.write_text('{"version": 2, "point": "point-a", "days": {"x": ')  # a torn write
    assert Statistics(path, point="point-a").days == {}
    assert (tmp_path / "stats.damaged.json").exists()


def test_only_the_kept_host_days_are_published(tmp_path: Path) -> None:
    now = Now(dt.datetime(2026, 11, 30, 22, 30, tzinfo=dt.UTC))  # 00:30 on 1 December in Helsinki
    stats = Statistics(tmp_path / "stats.json", point="point-a", timezone="Europe/Helsinki", now=now)
    today = dt.date(2026, 12, 1)
    assert stats.today() == today
    first = today - dt.timedelta(days=KEEP_DAYS - 1)
    assert stats.add_session(served(first))
    assert not stats.add_session(served(first - dt.timedelta(days=1)))  # older than the kept days
    assert not stats.add_session(served(today + dt.timedelta(days=2)))  # a kiosk clock far ahead
    assert stats.add_session(served(today + dt.timedelta(days=1)))  # a little ahead is a zone's margin
    assert sorted(stats.days) == [first.isoformat(), (today + dt.timedelta(days=1)).isoformat()]
    now.at += dt.timedelta(days=1)
    stats.add_minutes(Minutes(op="minutes", day=today, open=1))
    assert first.isoformat() not in stats.document().days


def test_a_message_that_would_break_the_contract_changes_nothing(tmp_path: Path) -> None:
    stats = Statistics(tmp_path / "stats.json", point="point-a")
    today = stats.today()
    for i in range(stats_model.MAX_QUEUES_PER_DAY):
        assert stats.add_session(served(today, queue=f"queue-{i:02d}"))
    before = stats.document()
    assert not stats.add_session(served(today, queue="one-queue-too-many"))
    assert stats.document() == before
    assert stats.add_fault(Fault(op="fault", day=today, device="printer", reason="jammed"))
    assert stats.add_minutes(Minutes(op="minutes", day=today, open=1000))
    assert not stats.add_minutes(Minutes(op="minutes", day=today, open=600))  # longer than the longest day
    day = stats.document().days[today.isoformat()]
    assert (day.minutes.open, day.queues) == (1000, before.days[today.isoformat()].queues)
    assert Statistics(tmp_path / "stats.json", point="point-a").document() == stats.document()  # as saved


def test_each_session_lands_in_its_cells(tmp_path: Path) -> None:
    stats = Statistics(tmp_path / "stats.json", point="point-a")
    today = stats.today()
    quality = {"bitrate_kbps": 800.0, "fps": 29.0, "loss_pct": 0.5, "rtt_ms": 400.0}
    stats.add_session(served(today, wait_s=299.0, duration_s=60.0, rating=None, quality=quality,
                             usage={"language": "sv", "identify_asked": True, "identify_failed": True,
                                    "prints": 2, "print_pages": 5}))  # fmt: skip
    stats.add_session(SessionReport.model_validate({
        "op": "session", "day": today, "hour": 23, "outcome": "abandoned", "producer": "kela",
        "queue": "kela-general", "wait_s": 3600.0}))  # fmt: skip
    day = stats.document().days[today.isoformat()]
    q = day.queues["kela/kela-general"]
    assert (q.outcomes.served, q.outcomes.abandoned, q.answered_within_300s) == (1, 1, 1)
    assert list(q.wait_hist) == [0, 1, 0, 0, 0, 0, 1] and list(q.abandoned_wait_hist) == [0, 0, 0, 0, 0, 0, 1]
    assert list(q.duration_hist) == [0, 1, 0, 0, 0, 0, 0] and q.ratings.none == 1
    # Each figure's upper bound is its bucket's: 0.5 % loss is in the second cell, 400 ms in the open last.
    qual = q.quality
    assert (qual.calls, list(qual.bitrate_kbps_hist), list(qual.fps_hist)) == (1, [0, 0, 1, 0, 0], [0, 0, 0, 0, 1])
    assert (list(qual.loss_pct_hist), list(qual.rtt_ms_hist)) == ([0, 1, 0, 0, 0], [0, 0, 0, 0, 1])
    assert (day.hours[12], day.hours[23], q.hours[12], q.hours[23]) == (1, 1, 1, 1)
    u = day.usage
    assert (u.language.sv, u.identify.asked, u.identify.failed, u.prints, u.print_pages) == (1, 1, 1, 2, 5)


def test_the_kiosk_link_refuses_statistics_that_disagree_with_their_outcome() -> None:
    bad = [
        {"outcome": "left_before_choosing", "producer": "kela", "queue": "kela-general", "wait_s": 1.0},
        {"outcome": "abandoned", "producer": "kela", "queue": "kela-general", "wait_s": 1.0, "rating": 5},
        {"outcome": "served", "producer": "kela", "queue": "kela-general", "wait_s": 1.0},  # no duration
        {"outcome": "queue_timeout", "producer": "kela", "queue": "kela-general"},  # no wait
        {"outcome": "left_before_choosing", "usage": {"text_used": True}},
        {"outcome": "served", "producer": "Kela Meikäläinen", "queue": "kela-general", "wait_s": 1.0,
         "duration_s": 2.0},
    ]  # fmt: skip
    for fields in bad:
        with pytest.raises(ValueError):
            SessionReport.model_validate({"op": "session", "day": "2026-11-28", "hour": 3, **fields})
