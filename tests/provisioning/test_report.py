"""``etapiste ops report`` on a generated month (fixed seed): the totals in report.csv are the
generator's own (added up without the store), on SQLite and on a real PostgreSQL; a producer's report
shows only its queues and masks small cells so that none can be worked out; the page is self-contained
and prints on A4."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

from provisioning.report_cells import HIDDEN, SMALL, Cells
from provisioning.stats_fake import QUEUES, FakeFleet, month_truth
from provisioning.stats_model import OUTCOMES
from provisioning.stats_store import Store
from tests.fixtures.postgres import postgres_server, postgres_url  # noqa: F401 - fixtures

ETAPISTE = str(Path(sys.executable).with_name("etapiste"))
FLEET = FakeFleet(points=16, seed=11)
YEAR, MONTH = 2026, 11
NOW = dt.datetime(2026, 12, 3, tzinfo=dt.UTC)


def fill(url: str) -> None:
    """The fleet's October and November as the points would have published them (every ~10 days, each
    document its last 35 days), so every day arrives several times."""
    with Store(url) as store:
        for point in FLEET.point_ids():
            last = dt.date(2026, 10, 1)
            while last <= dt.date(2026, 12, 2):
                store.ingest_payload(point, FLEET.payload(point, last), now=NOW)
                last += dt.timedelta(days=10)
            store.ingest_payload(point, FLEET.payload(point, dt.date(2026, 12, 2)), now=NOW)


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('store') / 'statistics.db'}"
    fill(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, sqlite_store: str) -> str:
    if request.param == "sqlite":
        return sqlite_store
    url = str(request.getfixturevalue("postgres_url"))
    fill(url)
    return url


def report(url: str, out: Path, *args: str) -> tuple[str, list[dict[str, str]], str]:
    """Run the real command; (page, CSV rows, what it printed)."""
    done = subprocess.run(
        [ETAPISTE, "ops", "report", "--store", url, "--month", f"{YEAR}-{MONTH:02d}", "--out", str(out), *args],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    page = (out / "report.html").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO((out / "report.csv").read_text(encoding="utf-8"))))
    return page, rows, done.stdout


def value(rows: list[dict[str, str]], section: str, measure: str, **where: str) -> str:
    hits = [r["value"] for r in rows if r["section"] == section and r["measure"] == measure
            and all(r[k] == v for k, v in where.items())]  # fmt: skip
    assert len(hits) == 1, (section, measure, where, len(hits))
    return hits[0]


def test_the_organisers_month_adds_up_to_the_generators(store_url: str, tmp_path: Path) -> None:
    truth = month_truth(FLEET, YEAR, MONTH)
    page, rows, said = report(store_url, tmp_path)
    assert f"{truth['sessions']} sessions" in said
    assert int(value(rows, "total", "sessions")) == truth["sessions"]
    for o in OUTCOMES:
        assert int(value(rows, "total", o)) == truth["outcomes"][o], o
    assert int(value(rows, "total", "answered_within_300s")) == truth["answered_within_300s"]
    assert int(value(rows, "total", "left_before_choosing")) == truth["left_before_choosing"]
    for point, n in truth["per_point"].items():
        assert int(value(rows, "point", "sessions", point=point)) == n, point
    per_queue: dict[tuple[str, str], int] = {}
    for (_point, p, q), n in truth["per_queue"].items():
        per_queue[(p, q)] = per_queue.get((p, q), 0) + n
    for (p, q), n in per_queue.items():
        assert int(value(rows, "queue", "sessions", producer=p, queue=q)) == n
    ratings = [int(r["value"]) for r in rows if r["section"] == "satisfaction"]
    assert ratings == list(truth["ratings"].values())
    assert [int(r["value"]) for r in rows if r["section"] == "wait"] == truth["wait_hist"]
    assert [int(r["value"]) for r in rows if r["section"] == "hours"] == truth["hours"]
    faults = {(r["point"], r["measure"]): int(r["value"]) for r in rows if r["section"] == "faults"}
    assert faults == {(p, f"{d}:{c}"): n for (p, d, c), n in truth["faults"].items()}
    hours_oos = sum(float(r["value"]) for r in rows if r["section"] == "availability"
                    and r["measure"] == "hours_out_of_service")  # fmt: skip
    assert hours_oos == pytest.approx(truth["minutes"]["out_of_service"] / 60, abs=0.1 * len(truth["per_point"]))
    # The page shows the same headline figure, and small numbers as they are (it stays with the organiser).
    assert f"{truth['sessions']:,}".replace(",", "\u202f") in page
    assert SMALL not in {r["value"] for r in rows}


def test_points_below_the_volume_threshold_are_listed(sqlite_store: str, tmp_path: Path) -> None:
    truth = month_truth(FLEET, YEAR, MONTH)
    _page, rows, _ = report(sqlite_store, tmp_path, "--min-sessions", "200")
    listed = {r["point"]: int(r["value"]) for r in rows if r["section"] == "below_threshold"}
    assert listed == {p: n for p, n in truth["per_point"].items() if n < 200}
    assert listed, "the generated fleet has small points"


def _count_cells(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    counted = {"total", "queue", "point", "wait", "abandoned_wait", "satisfaction", "call_quality", "hours", "daily"}
    return [r for r in rows if r["section"] in counted and not r["measure"].endswith(("_pct", "_min"))]


@pytest.mark.parametrize("producer", ["kela", "dvv"])
def test_a_producers_report_shows_only_its_own_queues(sqlite_store: str, tmp_path: Path, producer: str) -> None:
    page, rows, _ = report(sqlite_store, tmp_path, "--producer", producer)
    others = {p for p, _q, _r in QUEUES} - {producer}
    for other in others:
        assert not re.search(rf"\b{other}\b", page), other
        assert not [r for r in rows if other in r.values()], other
    assert {r["producer"] for r in rows if r["producer"]} == {producer}
    # Not the point's figures that count every producer's customers.
    assert not [r for r in rows if r["section"] in ("usage", "faults")]
    assert "left_before_choosing" not in {r["measure"] for r in rows}
    assert "left before choosing" not in page and "Weekday × hour" not in page
    # Only the points where it served anyone.
    truth = month_truth(FLEET, YEAR, MONTH, producer=producer)
    assert {r["point"] for r in rows if r["section"] == "point"} == set(truth["per_point"])


def test_a_producers_report_masks_small_cells_so_none_can_be_worked_out(sqlite_store: str, tmp_path: Path) -> None:
    page, rows, _ = report(sqlite_store, tmp_path, "--producer", "dvv")  # the smallest producer: many small cells
    truth = month_truth(FLEET, YEAR, MONTH, producer="dvv")
    cells = _count_cells(rows)
    shown = [r["value"] for r in cells]
    assert SMALL in shown and HIDDEN in shown
    assert not [v for v in shown if v not in (SMALL, HIDDEN) and 0 < int(v) < 5], "a count of 1–4 shown"
    assert "Disclosure control" in page and "&lt;5" in page
    # Totals are the true totals.
    assert int(value(rows, "total", "sessions")) == truth["sessions"]

    # No masked cell is the only unknown of a row (a point's outcomes against its sessions) or of a column
    # (the points' outcome against the total), nor of the hours against the total.
    def unknown(v: str) -> bool:
        return v in (SMALL, HIDDEN)

    points = sorted({r["point"] for r in rows if r["section"] == "point"})
    for point in points:
        row = [value(rows, "point", m, point=point) for m in ("sessions", *OUTCOMES)]
        assert sum(map(unknown, row)) != 1, (point, row)
    for m in ("sessions", *OUTCOMES):
        column = [value(rows, "total", m)] + [value(rows, "point", m, point=p) for p in points]
        assert sum(map(unknown, column)) != 1, (m, column)
    hours = [value(rows, "total", "sessions")] + [r["value"] for r in rows if r["section"] == "hours"]
    assert sum(map(unknown, hours)) != 1
    # A mean or share of a masked count is not shown either.
    for r in rows:
        if r["section"] in ("total", "queue", "point") and r["measure"].endswith(("_pct", "_min")) and r["value"]:
            den = "served" if r["measure"] != "mean_wait_min" else "waited"
            where = {k: r[k] for k in ("point", "producer", "queue")}
            assert not unknown(value(rows, r["section"], den, **where)), r


def test_the_organiser_can_mask_a_report_for_a_host(sqlite_store: str, tmp_path: Path) -> None:
    point = "point-0002"
    _page, rows, said = report(sqlite_store, tmp_path, "--point", point, "--mask")
    assert "masked" in said
    assert {r["point"] for r in rows if r["point"]} == {point}
    assert not [v for v in (r["value"] for r in _count_cells(rows)) if v not in (SMALL, HIDDEN) and 0 < int(v) < 5]


def test_the_page_is_self_contained_and_prints_on_a4(sqlite_store: str, tmp_path: Path) -> None:
    page, _rows, _ = report(sqlite_store, tmp_path)
    assert "<svg" in page and page.count("<svg") >= 6
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page), "fetches something"
    assert "<script" not in page and "<img" not in page
    assert "@media print" in page and re.search(r"@page\s*{\s*size:\s*A4", page)


def test_a_report_for_a_month_or_store_that_cannot_be_says_why(sqlite_store: str, tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([ETAPISTE, "ops", "report", *args, "--out", str(tmp_path / "x")],
                              capture_output=True, text=True, timeout=120)  # fmt: skip

    bad = run("--store", sqlite_store, "--month", "2026-13")
    assert bad.returncode == 2 and "YYYY-MM" in bad.stderr
    missing = run("--store", f"sqlite:///{tmp_path / 'nothing.db'}", "--month", "2026-11")
    assert missing.returncode == 2 and "no such file" in missing.stderr
    assert not (tmp_path / "nothing.db").exists(), "a mistyped path must not create an empty store"
    both = run("--store", sqlite_store, "--month", "2026-11", "--producer", "kela", "--point", "point-0001")
    assert both.returncode == 2 and "not allowed with" in both.stderr
    hostile = run("--store", sqlite_store, "--month", "2026-11", "--producer", "<script>")
    assert hostile.returncode == 2 and "not a producer id" in hostile.stderr


# ------------------------------------------------------------------------------------------ the rule


def cells(values: dict[str, int], *groups: tuple[str, list[str]]) -> Cells:
    c = Cells(mask=True)
    for k, v in values.items():
        c.add(k, v)
    for total, parts in groups:
        c.group(total, parts)
    c.resolve()
    return c


def test_one_small_cell_in_a_row_hides_one_more_not_the_total() -> None:
    c = cells({"t": 30, "a": 20, "b": 7, "c": 3}, ("t", ["a", "b", "c"]))
    assert [c.show(k) for k in ("t", "a", "b", "c")] == ["30", "20", HIDDEN, SMALL]


def test_small_cells_that_must_all_be_one_are_protected() -> None:
    # 12 = 10 + two masked cells: they add up to 2, so each is 1, unless one more is hidden.
    c = cells({"t": 12, "a": 10, "b": 1, "c": 1}, ("t", ["a", "b", "c"]))
    assert c.show("a") == HIDDEN and c.show("t") == "12"


def test_zeros_are_shown_and_the_organisers_report_masks_nothing() -> None:
    c = cells({"t": 5, "a": 5, "b": 0}, ("t", ["a", "b"]))
    assert [c.show(k) for k in ("t", "a", "b")] == ["5", "5", "0"]
    plain = Cells(mask=False)
    plain.add("x", 3)
    assert plain.show("x") == "3"
