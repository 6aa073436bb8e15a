"""Anonymous statistics: the kiosk's finished sessions become per-day, per-producer aggregates that
survive an agent restart and export to CSV; nothing that could identify a customer gets in."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable

from provisioning.statistics import to_csv
from tests.provisioning.conftest import Ops, Point, config_for


async def test_sessions_are_reported_as_daily_aggregates_per_producer(
    points: Callable[[str], Point], ops: Ops, switchboard_port: int
) -> None:
    a = points("point-a")
    a.start_agent()
    a.start_kiosk("--sessions", "9")
    await ops.publish_bundle("point-a", a.bundle(1, config_for("point-a", switchboard_port)))
    await ops.until(lambda: "2026-11-27" in ops.stats.get("point-a", {}).get("days", {}), what="statistics")
    day = ops.stats["point-a"]["days"]["2026-11-27"]
    kela = day["producers"]["kela"]  # sessions 0 and 7 (the sample offers 7 producers)
    assert kela["sessions"] == 2
    assert kela["duration_s_sum"] == 300 + 307
    assert kela["wait_s_sum"] == 30 + 37
    assert kela["ratings"] == {"1": 1, "2": 0, "3": 1, "4": 0, "5": 0, "none": 0}
    assert sum(p["sessions"] for p in day["producers"].values()) == 9
    today = dt.datetime.now(dt.UTC).date().isoformat()  # faults are dated by the agent when they happen
    await ops.until(lambda: today in ops.stats["point-a"]["days"], what="the fault's count")
    assert ops.stats["point-a"]["days"][today]["faults"] == {"printer": {"media-empty": 1}}
    published = ops.stats["point-a"]

    # An agent restart loses nothing: the aggregates are kept in its state directory.
    a.agent.stop()  # type: ignore[union-attr]
    ops.stats.clear()
    a.start_agent()
    await ops.until(lambda: "point-a" in ops.stats, what="statistics after restart")
    assert ops.stats["point-a"] == published

    rows = list(csv.DictReader(io.StringIO(to_csv(ops.stats))))
    kela_row = next(r for r in rows if r["producer"] == "kela")
    assert kela_row == {
        "day": "2026-11-27", "point": "point-a", "producer": "kela", "sessions": "2",
        "mean_duration_s": "303.5", "mean_wait_s": "33.5",
        "rating_1": "1", "rating_2": "0", "rating_3": "1", "rating_4": "0", "rating_5": "0", "unrated": "0",
    }  # fmt: skip
    faults = [r for r in rows if r["producer"].startswith("fault:")]
    assert [(r["day"], r["producer"], r["sessions"]) for r in faults] == [(today, "fault:printer:media-empty", "1")]


async def test_reported_state_and_statistics_hold_no_personal_data(
    points: Callable[[str], Point], ops: Ops, switchboard_port: int
) -> None:
    a = points("point-a")
    a.start_agent()
    await ops.publish_bundle("point-a", a.bundle(1, config_for("point-a", switchboard_port)))
    a.start_kiosk("--sessions", "3")
    await ops.until(lambda: "point-a" in ops.stats, what="statistics")
    await ops.state_where("point-a", lambda s: s["kiosk"]["healthy"])
    published = json.dumps(ops.states["point-a"]) + json.dumps(ops.stats["point-a"])
    # Only these keys may ever appear: counts, codes, versions and times — no names, ids or free text.
    allowed = {
        "point", "software", "uptime_s", "applied_version", "last_result", "version", "status", "code", "reason",
        "at", "last_error", "out_of_service", "applied_expires", "kiosk", "connected", "healthy", "devices", "ok",
        "error", "staff_pin", "failures", "lockouts", "locked_until",
        "reported_at", "printer", "scanner", "camera", "buckets_s", "days", "producers", "faults", "sessions",
        "duration_s_sum", "wait_s_sum", "duration_hist", "wait_hist", "ratings", "1", "2", "3", "4", "5", "none",
        "media-empty", "2026-11-27", "kela", "migri", "poliisi", dt.datetime.now(dt.UTC).date().isoformat(),
    }  # fmt: skip

    def keys(o: object) -> set[str]:
        if isinstance(o, dict):
            return set(o) | set().union(*(keys(v) for v in o.values()))
        if isinstance(o, list):
            return set().union(*(keys(v) for v in o)) if o else set()
        return set()

    found = keys(json.loads(json.dumps(ops.states["point-a"]))) | keys(ops.stats["point-a"])
    assert found <= allowed, found - allowed
    assert "@" not in published
