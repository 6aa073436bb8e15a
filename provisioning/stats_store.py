"""The organiser's statistics store: every point's days, kept for years, in SQLite or PostgreSQL.

Why SQLAlchemy Core (not the ORM, not two plain drivers): one table definition serves both databases,
so the schema test checks the same columns the organiser's PostgreSQL gets; the URL an operator passes
(``sqlite:///path``, ``postgresql://…``) is SQLAlchemy's own; and the month's sums are done by the
database (``GROUP BY``), not by loading a year of rows into Python.

Why columns, not the JSON document: a column exists only if the contract (:mod:`provisioning.stats_model`)
names the figure, so nothing a point sends beyond the contract can be kept (unknown fields are dropped by
the tolerant parse), and ``tests/provisioning/test_collect_store.py`` checks the columns against an allow-
list. Three tables: ``point_day`` (a point's day: visits by hour, usage, minutes), ``queue_day`` (one
producer queue's day) and ``fault_day`` (device faults).

Idempotent: a (point, day) is replaced only by a copy that counted more. A day's figures only grow while
it lasts, so the copy with the larger total of counts is the later one, whatever order copies arrive in
(a retained message seen again after a reconnect, an old copy re-delivered): seen twice, counted once.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from provisioning.stats_model import (
    HIST_LEN,
    OUTCOMES,
    QUALITY_BUCKETS,
    QUALITY_HIST_LEN,
    Day,
    StatsDocument,
    StatsError,
    parse_stats_tolerant,
)

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
#: A day later than the collector's own (UTC) date plus this is refused: the point's clock is wrong, and
#: storing it would put figures into a month that has not happened.
FUTURE_DAYS = 1

HOUR_COLS = [f"hour_{h:02d}" for h in range(24)]
WAIT_COLS = [f"wait_{i}" for i in range(HIST_LEN)]
ABANDONED_WAIT_COLS = [f"abandoned_wait_{i}" for i in range(HIST_LEN)]
DURATION_COLS = [f"duration_{i}" for i in range(HIST_LEN)]
RATING_COLS = ["rating_1", "rating_2", "rating_3", "rating_4", "rating_5", "rating_none"]
QUALITY_COLS = {
    name: [f"{name.removesuffix('_hist')}_{i}" for i in range(QUALITY_HIST_LEN)] for name in QUALITY_BUCKETS
}
#: queue_day's counted (summable) columns, in a fixed order.
QUEUE_COUNTS: list[str] = [
    *OUTCOMES, *WAIT_COLS, "answered_within_300s", *ABANDONED_WAIT_COLS, *DURATION_COLS, *RATING_COLS,
    "quality_calls", *(c for cols in QUALITY_COLS.values() for c in cols), *HOUR_COLS,
]  # fmt: skip
QUEUE_SUMS = ["wait_s_sum", "duration_s_sum"]
USAGE_COLS = [
    "lang_fi", "lang_sv", "lang_en", "identify_asked", "identify_succeeded", "identify_failed", "scans",
    "scan_pages", "prints", "print_pages", "interpreter_joined", "text_used", "speech_used", "large_text_used",
]  # fmt: skip
MINUTE_COLS = ["minutes_open", "minutes_out_of_service", "minutes_offline"]
POINT_COUNTS: list[str] = ["left_before_choosing", *HOUR_COLS, *USAGE_COLS, *MINUTE_COLS]

metadata = sa.MetaData()


def _ints(names: Iterable[str]) -> list[sa.Column[Any]]:
    return [sa.Column(n, sa.Integer, nullable=False, default=0) for n in names]


point_day = sa.Table(
    "point_day", metadata,
    sa.Column("point", sa.String(63), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("progress", sa.BigInteger, nullable=False),
    sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
    *_ints(POINT_COUNTS),
    sa.Index("point_day_by_day", "day"),
)  # fmt: skip
queue_day = sa.Table(
    "queue_day", metadata,
    sa.Column("point", sa.String(63), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("producer", sa.String(63), primary_key=True),
    sa.Column("queue", sa.String(63), primary_key=True),
    *_ints(QUEUE_COUNTS),
    *(sa.Column(n, sa.Float, nullable=False, default=0.0) for n in QUEUE_SUMS),
    sa.Index("queue_day_by_day", "day", "producer"),
)  # fmt: skip
fault_day = sa.Table(
    "fault_day", metadata,
    sa.Column("point", sa.String(63), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("device", sa.String(32), primary_key=True),
    sa.Column("code", sa.String(64), primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Index("fault_day_by_day", "day"),
)  # fmt: skip
store_meta = sa.Table(
    "store_meta", metadata,
    sa.Column("key", sa.String(32), primary_key=True),
    sa.Column("value", sa.String(64), nullable=False),
)  # fmt: skip
DAY_TABLES = (queue_day, fault_day, point_day)


def engine_url(url: str) -> str:
    """The SQLAlchemy URL for an operator's ``--store``: ``sqlite:///path`` or ``postgresql://…``
    (driven by psycopg 3). Anything else is refused with what to write instead."""
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        if not url.startswith("sqlite:///") or url in ("sqlite:///", "sqlite:///:memory:"):
            raise ValueError(f"--store {url!r}: write a file, sqlite:///relative/path.db or sqlite:////abs/path.db")
        return url
    if scheme in ("postgresql", "postgres"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if scheme == "postgresql+psycopg":
        return url
    raise ValueError(f"--store {_redact(url)!r}: use sqlite:///path.db or postgresql://user@host/database")


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


@dataclass
class IngestReport:
    """What one document did to the store, per day."""

    point: str
    stored: list[dt.date] = field(default_factory=list)
    unchanged: list[dt.date] = field(default_factory=list)
    older: list[dt.date] = field(default_factory=list)
    """Copies that counted less than what is stored (an earlier copy arriving late): ignored."""
    refused: dict[dt.date, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{len(self.stored)} day(s) stored", f"{len(self.unchanged)} unchanged"]
        if self.older:
            parts.append(f"{len(self.older)} older copy(ies) ignored")
        if self.refused:
            parts.append(f"{len(self.refused)} refused ({'; '.join(sorted(set(self.refused.values())))})")
        return f"{self.point}: " + ", ".join(parts)


def _queue_row(point: str, day: dt.date, q: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"point": point, "day": day, "producer": q.producer, "queue": q.queue}
    for name in OUTCOMES:
        row[name] = getattr(q.outcomes, name)
    row.update(zip(WAIT_COLS, q.wait_hist, strict=True))
    row.update(zip(ABANDONED_WAIT_COLS, q.abandoned_wait_hist, strict=True))
    row.update(zip(DURATION_COLS, q.duration_hist, strict=True))
    row.update(zip(RATING_COLS, q.ratings.as_dict().values(), strict=True))
    row.update(zip(HOUR_COLS, q.hours, strict=True))
    row["answered_within_300s"] = q.answered_within_300s
    row["quality_calls"] = q.quality.calls
    for name, cols in QUALITY_COLS.items():
        row.update(zip(cols, getattr(q.quality, name), strict=True))
    row["wait_s_sum"] = q.wait_s_sum
    row["duration_s_sum"] = q.duration_s_sum
    return row


def _point_row(point: str, timezone: str, day: dt.date, d: Day, now: dt.datetime) -> dict[str, Any]:
    u = d.usage
    row: dict[str, Any] = {"point": point, "day": day, "timezone": timezone, "stored_at": now,
                           "left_before_choosing": d.left_before_choosing}  # fmt: skip
    row.update(zip(HOUR_COLS, d.hours, strict=True))
    row.update({
        "lang_fi": u.language.fi, "lang_sv": u.language.sv, "lang_en": u.language.en,
        "identify_asked": u.identify.asked, "identify_succeeded": u.identify.succeeded,
        "identify_failed": u.identify.failed, "scans": u.scans, "scan_pages": u.scan_pages, "prints": u.prints,
        "print_pages": u.print_pages, "interpreter_joined": u.interpreter_joined, "text_used": u.text_used,
        "speech_used": u.speech_used, "large_text_used": u.large_text_used,
        "minutes_open": d.minutes.open, "minutes_out_of_service": d.minutes.out_of_service,
        "minutes_offline": d.minutes.offline,
    })  # fmt: skip
    return row


def progress(d: Day) -> int:
    """Every count of the day added up: it only grows while the day lasts, so of two copies of a day the
    one with the larger progress is the later."""
    u, m = d.usage, d.minutes
    total = d.left_before_choosing + sum(d.hours) + m.open + m.out_of_service + m.offline
    total += u.language.fi + u.language.sv + u.language.en + u.identify.asked + u.identify.succeeded
    total += u.identify.failed + u.scans + u.scan_pages + u.prints + u.print_pages + u.interpreter_joined
    total += u.text_used + u.speech_used + u.large_text_used
    total += sum(c for codes in d.faults.values() for c in codes.values())
    for q in d.queues.values():
        total += q.outcomes.total + sum(q.wait_hist) + q.answered_within_300s + sum(q.abandoned_wait_hist)
        total += sum(q.duration_hist) + q.ratings.total + q.quality.calls + sum(q.hours)
        total += sum(sum(getattr(q.quality, name)) for name in QUALITY_BUCKETS)
    return total


class Store:
    """The statistics store at ``url`` (``sqlite:///path.db`` or ``postgresql://…``); its tables are
    created on first use.

    The points' own tests reach it through :meth:`ingest_payload` (what the collector does with an MQTT
    message) and :meth:`day` (a stored day, in the contract's shape)."""

    def __init__(self, url: str, *, create: bool = True):
        self.url = url
        self.engine: Engine = sa.create_engine(engine_url(url), future=True, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        if create:
            self.create()

    def create(self) -> None:
        """Create the tables if they are missing (never alters existing ones), and check the schema version."""
        metadata.create_all(self.engine, checkfirst=True)
        with self.engine.begin() as conn:
            got = conn.execute(sa.select(store_meta.c.value).where(store_meta.c.key == "schema")).scalar()
            if got is None:
                conn.execute(sa.insert(store_meta).values(key="schema", value=str(SCHEMA_VERSION)))
            elif got != str(SCHEMA_VERSION):
                raise StatsError(f"the store's schema is version {got}; this etapiste reads version {SCHEMA_VERSION}")

    def check(self) -> None:
        """:class:`StatsError` unless the database holds this store's tables (for readers, which must not
        create an empty store by mistake, e.g. with a mistyped database name)."""
        try:
            tables = set(sa.inspect(self.engine).get_table_names())
        except sa.exc.SQLAlchemyError as exc:
            raise StatsError(f"cannot open the store: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}") from None
        missing = {t.name for t in metadata.sorted_tables} - tables
        if missing:
            raise StatsError(f"the store has no statistics tables ({', '.join(sorted(missing))}): "
                             "is it the database etapiste ops collect writes?")  # fmt: skip
        with self.engine.connect() as conn:
            got = conn.execute(sa.select(store_meta.c.value).where(store_meta.c.key == "schema")).scalar()
        if got != str(SCHEMA_VERSION):
            raise StatsError(f"the store's schema is version {got}; this etapiste reads version {SCHEMA_VERSION}")

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------------------------------- writing

    def ingest_payload(self, point: str, payload: bytes, *, now: dt.datetime | None = None) -> IngestReport:
        """Store what a point published on ``point/<point>/stats``. :class:`StatsError` if the payload is
        refused as a whole (not the contract, or it names another point than its topic)."""
        doc, warnings = parse_stats_tolerant(payload)
        report = self.ingest(point, doc, now=now)
        report.warnings = warnings
        return report

    def ingest(self, point: str, doc: StatsDocument, *, now: dt.datetime | None = None) -> IngestReport:
        """Store each day of ``doc`` that counts more than the stored copy of that (point, day)."""
        if doc.point != point:
            raise StatsError(f"the document names point {doc.point}, but came on point {point}'s topic")
        now = now or dt.datetime.now(dt.UTC)
        report = IngestReport(point)
        latest = now.date() + dt.timedelta(days=FUTURE_DAYS)
        days: dict[dt.date, Day] = {}
        for key, d in doc.days.items():
            date = dt.date.fromisoformat(key)
            if date > latest:
                report.refused[date] = "a day in the future (the point's clock?)"
            else:
                days[date] = d
        if not days:
            return report
        progresses = {date: progress(d) for date, d in days.items()}
        for attempt in range(3):
            try:
                with self.engine.begin() as conn:
                    self._ingest(conn, point, doc.timezone, days, progresses, now, report)
                return report
            except sa.exc.IntegrityError:  # another collector stored the same day meanwhile: look again
                if attempt == 2:
                    raise
                report.stored, report.unchanged, report.older = [], [], []
        return report

    def _ingest(
        self, conn: Connection, point: str, timezone: str, days: dict[dt.date, Day], progresses: dict[dt.date, int],
        now: dt.datetime, report: IngestReport,
    ) -> None:  # fmt: skip
        stored = dict(
            conn.execute(
                sa.select(point_day.c.day, point_day.c.progress).where(
                    point_day.c.point == point, point_day.c.day.in_(list(days))
                )
            ).all()
        )
        newer = []
        for date in sorted(days):
            before = stored.get(date)
            if before is None or progresses[date] > before:
                newer.append(date)
            elif progresses[date] == before:
                report.unchanged.append(date)
            else:
                report.older.append(date)
        if not newer:
            return
        for table in DAY_TABLES:
            conn.execute(sa.delete(table).where(table.c.point == point, table.c.day.in_(newer)))
        points: list[dict[str, Any]] = []
        queues: list[dict[str, Any]] = []
        faults: list[dict[str, Any]] = []
        for date in newer:
            d = days[date]
            points.append({**_point_row(point, timezone, date, d, now), "progress": progresses[date]})
            queues.extend(_queue_row(point, date, q) for q in d.queues.values())
            faults.extend({"point": point, "day": date, "device": device, "code": code, "count": c}
                          for device, codes in d.faults.items() for code, c in codes.items())  # fmt: skip
        conn.execute(sa.insert(point_day), points)
        if queues:
            conn.execute(sa.insert(queue_day), queues)
        if faults:
            conn.execute(sa.insert(fault_day), faults)
        report.stored.extend(newer)

    # ---------------------------------------------------------------------------------------- reading

    def day(self, point: str, day: dt.date) -> Day | None:
        """The stored (point, day) in the contract's shape, or ``None`` if nothing is stored for it."""
        with self.engine.connect() as conn:
            p = conn.execute(sa.select(point_day).where(point_day.c.point == point, point_day.c.day == day)).first()
            if p is None:
                return None
            qs = conn.execute(sa.select(queue_day).where(queue_day.c.point == point, queue_day.c.day == day)).all()
            fs = conn.execute(sa.select(fault_day).where(fault_day.c.point == point, fault_day.c.day == day)).all()
        pm = p._mapping
        faults: dict[str, dict[str, int]] = {}
        for f in fs:
            faults.setdefault(f.device, {})[f.code] = f._mapping["count"]
        return Day.model_validate({
            "queues": {f"{q.producer}/{q.queue}": _queue_from_row(q._mapping) for q in qs},
            "left_before_choosing": pm["left_before_choosing"],
            "hours": [pm[c] for c in HOUR_COLS],
            "usage": {
                "language": {"fi": pm["lang_fi"], "sv": pm["lang_sv"], "en": pm["lang_en"]},
                "identify": {"asked": pm["identify_asked"], "succeeded": pm["identify_succeeded"],
                             "failed": pm["identify_failed"]},
                **{c: pm[c] for c in USAGE_COLS if not c.startswith(("lang_", "identify_"))},
            },
            "faults": faults,
            "minutes": {c.removeprefix("minutes_"): pm[c] for c in MINUTE_COLS},
        })  # fmt: skip

    def stored_days(self, point: str) -> list[dt.date]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(point_day.c.day).where(point_day.c.point == point).order_by("day"))
            return [r.day for r in rows]

    def points(self) -> list[str]:
        with self.engine.connect() as conn:
            return [r.point for r in conn.execute(sa.select(point_day.c.point).distinct().order_by("point"))]

    def quiet_points(self, first: dt.date, last: dt.date, *, back_days: int = 62) -> list[str]:
        """Points that reported in the ``back_days`` before ``first`` but nothing from ``first`` to ``last``:
        offline, closed or removed (the organiser's report lists them under the volume threshold)."""
        with self.engine.connect() as conn:
            before = sa.select(point_day.c.point).where(
                point_day.c.day >= first - dt.timedelta(days=back_days), point_day.c.day < first
            )
            since = sa.select(point_day.c.point).where(point_day.c.day.between(first, last))
            rows = conn.execute(sa.except_(before, since))
            return sorted(r[0] for r in rows)

    def month(self, year: int, month: int, *, producer: str | None = None, point: str | None = None) -> MonthData:
        """The month's sums, added up by the database: per (point, producer, queue), per point, per day,
        and the faults. ``producer`` keeps only that producer's queues, and only the points it served at."""
        first = dt.date(year, month, 1)
        last = dt.date(year, month, calendar.monthrange(year, month)[1])
        q_in: list[sa.ColumnElement[bool]] = [queue_day.c.day.between(first, last)]
        p_in: list[sa.ColumnElement[bool]] = [point_day.c.day.between(first, last)]
        f_in: list[sa.ColumnElement[bool]] = [fault_day.c.day.between(first, last)]
        if producer is not None:
            q_in.append(queue_day.c.producer == producer)
        if point is not None:
            q_in.append(queue_day.c.point == point)
            p_in.append(point_day.c.point == point)
            f_in.append(fault_day.c.point == point)
        sessions = sum((queue_day.c[o] for o in OUTCOMES[1:]), queue_day.c[OUTCOMES[0]])
        with self.engine.connect() as conn:
            counted = [*QUEUE_COUNTS, *QUEUE_SUMS]
            queues = [
                dict(r._mapping)
                for r in conn.execute(
                    sa.select(queue_day.c.point, queue_day.c.producer, queue_day.c.queue,
                              *(sa.func.sum(queue_day.c[c]).label(c) for c in counted))
                    .where(*q_in).group_by(queue_day.c.point, queue_day.c.producer, queue_day.c.queue)
                    .order_by(queue_day.c.point, queue_day.c.producer, queue_day.c.queue)
                )
            ]  # fmt: skip
            served_points = sorted({q["point"] for q in queues})
            if producer is not None:  # only where the producer served: the others are not its business
                p_in.append(point_day.c.point.in_(served_points) if served_points else sa.false())
                f_in.append(fault_day.c.point.in_(served_points) if served_points else sa.false())
            points = [
                dict(r._mapping)
                for r in conn.execute(
                    sa.select(point_day.c.point, sa.func.count().label("days_reported"),
                              *(sa.func.sum(point_day.c[c]).label(c) for c in POINT_COUNTS))
                    .where(*p_in).group_by(point_day.c.point).order_by(point_day.c.point)
                )
            ]  # fmt: skip
            daily = [
                (r.day, r.producer, int(r.sessions), [int(r._mapping[c]) for c in HOUR_COLS])
                for r in conn.execute(
                    sa.select(queue_day.c.day, queue_day.c.producer, sa.func.sum(sessions).label("sessions"),
                              *(sa.func.sum(queue_day.c[c]).label(c) for c in HOUR_COLS))
                    .where(*q_in).group_by(queue_day.c.day, queue_day.c.producer).order_by(queue_day.c.day)
                )
            ]  # fmt: skip
            visits_by_day = [
                (r.day, [int(r._mapping[c]) for c in HOUR_COLS])
                for r in conn.execute(
                    sa.select(point_day.c.day, *(sa.func.sum(point_day.c[c]).label(c) for c in HOUR_COLS))
                    .where(*p_in).group_by(point_day.c.day).order_by(point_day.c.day)
                )
            ]  # fmt: skip
            faults = [
                (r.point, r.device, r.code, int(r._mapping["count"]))
                for r in conn.execute(
                    sa.select(fault_day.c.point, fault_day.c.device, fault_day.c.code,
                              sa.func.sum(fault_day.c["count"]).label("count"))
                    .where(*f_in).group_by(fault_day.c.point, fault_day.c.device, fault_day.c.code)
                    .order_by(fault_day.c.point, fault_day.c.device, fault_day.c.code)
                )
            ]  # fmt: skip
        for row in [*queues, *points]:
            for k, v in row.items():
                if k not in ("point", "producer", "queue"):
                    row[k] = float(v) if k in QUEUE_SUMS else int(v or 0)
        return MonthData(first, last, producer, point, queues, points, daily, visits_by_day, faults)


@dataclass
class MonthData:
    """A month's sums as the report reads them (no single day, no single session)."""

    first: dt.date
    last: dt.date
    producer: str | None
    point: str | None
    queues: list[dict[str, Any]]
    """One row per (point, producer, queue): the summed queue_day columns."""
    points: list[dict[str, Any]]
    """One row per point: ``days_reported`` and the summed point_day columns."""
    daily: list[tuple[dt.date, str, int, list[int]]]
    """(day, producer, sessions, the producer's sessions by hour) for the daily and weekday×hour charts."""
    visits_by_day: list[tuple[dt.date, list[int]]]
    """(day, every visit by hour, including those who left before choosing)."""
    faults: list[tuple[str, str, str, int]]

    def iter_queue(self, *, producer: str | None = None) -> Iterator[dict[str, Any]]:
        return (q for q in self.queues if producer is None or q["producer"] == producer)


def _queue_from_row(m: Any) -> dict[str, Any]:
    return {
        "producer": m["producer"], "queue": m["queue"],
        "outcomes": {o: m[o] for o in OUTCOMES},
        "wait_hist": [m[c] for c in WAIT_COLS], "wait_s_sum": m["wait_s_sum"],
        "answered_within_300s": m["answered_within_300s"],
        "abandoned_wait_hist": [m[c] for c in ABANDONED_WAIT_COLS],
        "duration_hist": [m[c] for c in DURATION_COLS], "duration_s_sum": m["duration_s_sum"],
        "ratings": dict(zip(("1", "2", "3", "4", "5", "none"), (m[c] for c in RATING_COLS), strict=True)),
        "quality": {"calls": m["quality_calls"], **{k: [m[c] for c in cols] for k, cols in QUALITY_COLS.items()}},
        "hours": [m[c] for c in HOUR_COLS],
    }  # fmt: skip


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    """WAL: the report reads while the collector writes; a busy wait instead of "database is locked"."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def columns(store: Store) -> dict[str, list[str]]:
    """Every table and column the database really has (inspected, not taken from :data:`metadata`)."""
    insp = sa.inspect(store.engine)
    return {t: [c["name"] for c in insp.get_columns(t)] for t in insp.get_table_names()}


def all_columns() -> Sequence[str]:
    return [c.name for t in metadata.sorted_tables for c in t.columns]
