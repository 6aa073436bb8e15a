"""The agent's side of the point's statistics: the kiosk's session records, device faults and minutes added
up into the version-2 document of docs/statistics.md, kept for :data:`KEEP_DAYS` days and published
retained on ``point/<id>/stats``.

Only aggregates are kept — counts, sums and fixed histograms per host day, producer and queue — never a
single session's record, so nothing identifies a customer or even when exactly they came (the hour a
session started only ever moves one cell of a 24-cell histogram). The kiosk's messages have no room for
anything else (:class:`provisioning.kiosk_link.SessionReport` forbids extra fields and free text).

The document is built and checked with the contract's own model (:mod:`provisioning.stats_model`), which
the organiser's collector reads with too, so the two sides cannot drift: a message that would make a day
break the contract (a count past its bound, a 33rd queue…) is refused here, with a warning, and the day
stays as it was. The days are the host's (``host.timezone``, which the kiosk names in its hello): a
session belongs to the day and hour it started on the host's clock, whatever the machine's zone.

The file in the state directory (``stats.json``) is the published document itself. A file of payload
version 1 (before outcomes were counted: every session, abandoned or not, was a "session" with its waiting
as its duration) cannot be split into outcomes; it is moved aside to ``stats.v1.json`` and counting starts
afresh, as is a damaged file (to ``stats.damaged.json``), so the agent always starts.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from provisioning import stats_model as sm
from provisioning.bundle import atomic_write
from provisioning.kiosk_link import Fault, Minutes, SessionReport

log = logging.getLogger(__name__)

KEEP_DAYS = 35
"""The host days kept and published: today and the 34 before it."""
#: Upper bounds (seconds) of the duration and wait histograms' buckets (the contract's).
BUCKETS_S: tuple[int, ...] = sm.BUCKETS_S
#: The zone days are counted in until the kiosk names its host's (the configuration's default).
DEFAULT_TIMEZONE = "Europe/Helsinki"


def bucket(value: float, bounds: tuple[float, ...]) -> int:
    """The histogram cell of ``value``: the first bucket whose upper bound it is below (the last is open)."""
    return next((i for i, b in enumerate(bounds) if value < b), len(bounds))


def _dump(model: Any) -> dict[str, Any]:
    return dict(model.model_dump(mode="json", by_alias=True))


class Statistics:
    """The point's statistics document, added to message by message and saved after each change."""

    def __init__(
        self,
        path: Path | None = None,
        *,
        point: str = "point",
        timezone: str = DEFAULT_TIMEZONE,
        now: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.path = path
        self.point = point
        self.timezone = timezone
        self._now = now or (lambda: dt.datetime.now(dt.UTC))
        self.days: dict[str, dict[str, Any]] = {}
        """Each host day as the contract's JSON (``stats_model.Day``), mutable."""
        if path is not None and path.exists():
            self._load(path)

    # -- the file --------------------------------------------------------------------------------------

    def _load(self, path: Path) -> None:
        try:
            raw = path.read_bytes()
            data = json.loads(raw)
        except (OSError, ValueError) as exc:
            self._set_aside(path, "damaged", f"cannot be read ({type(exc).__name__})")
            return
        if not isinstance(data, dict) or data.get("version") != sm.VERSION:
            if isinstance(data, dict) and "version" not in data and "days" in data:
                self._set_aside(path, "v1", "is of payload version 1 (no outcomes); counting starts afresh")
            else:
                self._set_aside(path, "damaged", "is not a statistics document")
            return
        try:
            doc = sm.parse_stats(raw)
        except sm.StatsError as exc:
            self._set_aside(path, "damaged", f"breaks the contract ({str(exc)[:200]})")
            return
        if doc.point != self.point:
            self._set_aside(path, "damaged", f"belongs to point {doc.point}, not {self.point}")
            return
        self.timezone = doc.timezone
        self.days = {day: _dump(d) for day, d in doc.days.items()}
        self._prune()

    def _set_aside(self, path: Path, kind: str, why: str) -> None:
        target = path.with_name(f"{path.stem}.{kind}{path.suffix}")
        log.warning("statistics file %s %s: moved to %s", path.name, why, target.name)
        try:
            path.replace(target)
        except OSError as exc:
            log.warning("could not move %s aside (%s); it will be overwritten", path.name, exc.strerror)

    def save(self) -> None:
        if self.path is not None:
            atomic_write(self.path, self.to_payload())

    # -- the host's days ---------------------------------------------------------------------------------

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def set_timezone(self, timezone: str | None) -> None:
        """The host's zone as the kiosk names it (its configuration's ``host.timezone``)."""
        if timezone and timezone != self.timezone:
            log.info("statistics: host days are counted in %s (was %s)", timezone, self.timezone)
            self.timezone = timezone
            self._prune()
            self.save()

    def today(self) -> dt.date:
        return self._now().astimezone(self.zone).date()

    def _prune(self) -> None:
        first = (self.today() - dt.timedelta(days=KEEP_DAYS - 1)).isoformat()
        for day in [d for d in self.days if d < first]:
            del self.days[day]

    def _accept_day(self, day: dt.date, what: str) -> bool:
        """Only the kept days, and not beyond tomorrow (a kiosk clock a little ahead of the agent's)."""
        today = self.today()
        if day < today - dt.timedelta(days=KEEP_DAYS - 1) or day > today + dt.timedelta(days=1):
            log.warning("statistics: %s for %s refused (kept: the %d days up to %s)", what, day, KEEP_DAYS, today)
            return False
        return True

    def _change(self, day: dt.date, what: str, change: Callable[[dict[str, Any]], None]) -> bool:
        """Apply ``change`` to a copy of ``day``; keep it only if the day still meets the contract."""
        if not self._accept_day(day, what):
            return False
        key = day.isoformat()
        current = self.days.get(key) or _dump(sm.Day())
        updated = json.loads(json.dumps(current))
        change(updated)
        try:
            sm.Day.model_validate(updated)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            log.warning("statistics: %s for %s refused: %s: %s", what, key, where[:120], first["msg"][:200])
            return False
        self.days[key] = updated
        self._prune()
        self.save()
        return True

    # -- what the kiosk reports --------------------------------------------------------------------------

    def add_session(self, s: SessionReport) -> bool:
        """One finished session: its outcome under its queue, its hour, its usage (docs/statistics.md)."""

        def change(day: dict[str, Any]) -> None:
            day["hours"][s.hour] += 1
            u, usage = s.usage, day["usage"]
            if u.language is not None:
                usage["language"][u.language] += 1
            usage["identify"]["asked"] += int(u.identify_asked)
            usage["identify"]["succeeded"] += int(u.identify_succeeded)
            usage["identify"]["failed"] += int(u.identify_failed)
            for name in ("scans", "scan_pages", "prints", "print_pages"):
                usage[name] += getattr(u, name)
            for name in ("interpreter_joined", "text_used", "speech_used", "large_text_used"):
                usage[name] += int(getattr(u, name))
            if s.outcome == "left_before_choosing":
                day["left_before_choosing"] += 1
                return
            assert s.producer is not None and s.queue is not None and s.wait_s is not None  # the model's rule
            q = day["queues"].setdefault(f"{s.producer}/{s.queue}", _dump(sm.empty_queue(s.producer, s.queue)))
            q["outcomes"][s.outcome] += 1
            q["hours"][s.hour] += 1
            q["wait_hist"][bucket(s.wait_s, BUCKETS_S)] += 1
            q["wait_s_sum"] += s.wait_s
            if s.outcome == "abandoned":
                q["abandoned_wait_hist"][bucket(s.wait_s, BUCKETS_S)] += 1
            if s.outcome == "served":
                assert s.duration_s is not None
                q["answered_within_300s"] += int(s.wait_s < sm.ANSWER_TARGET_S)
                q["duration_hist"][bucket(s.duration_s, BUCKETS_S)] += 1
                q["duration_s_sum"] += s.duration_s
                q["ratings"][str(s.rating) if s.rating else "none"] += 1
                if s.quality is not None:
                    quality = q["quality"]
                    quality["calls"] += 1
                    for name, value in (("bitrate_kbps_hist", s.quality.bitrate_kbps), ("fps_hist", s.quality.fps),
                                        ("loss_pct_hist", s.quality.loss_pct), ("rtt_ms_hist", s.quality.rtt_ms)):
                        quality[name][bucket(value, sm.QUALITY_BUCKETS[name])] += 1  # fmt: skip

        return self._change(s.day, f"a session ({s.outcome})", change)

    def add_fault(self, f: Fault) -> bool:
        """A device fault's onset, on the host day it began."""

        def change(day: dict[str, Any]) -> None:
            codes = day["faults"].setdefault(f.device, {})
            codes[f.reason] = codes.get(f.reason, 0) + 1

        return self._change(f.day, f"a {f.device} fault", change)

    def add_minutes(self, m: Minutes) -> bool:
        """Minutes of the host's opening hours: open, out of service, offline."""

        def change(day: dict[str, Any]) -> None:
            for name in ("open", "out_of_service", "offline"):
                day["minutes"][name] += getattr(m, name)

        return self._change(m.day, "minutes", change)

    # -- the document ----------------------------------------------------------------------------------------

    def document(self) -> sm.StatsDocument:
        """The whole document, checked by the contract's model."""
        self._prune()
        days = dict(sorted(self.days.items()))
        return sm.StatsDocument.model_validate(
            {"version": sm.VERSION, "point": self.point, "timezone": self.timezone, "days": days}
        )

    def to_payload(self) -> bytes:
        """What is published retained on ``point/<id>/stats`` (and kept in ``stats.json``)."""
        return self.document().to_payload()


CSV_FIELDS = [
    "day", "point", "producer", "queue", "sessions", "served", "abandoned", "queue_timeout", "closed",
    "connection_lost", "technical_failure", "mean_wait_s", "answered_within_300s", "mean_duration_s",
    "rating_1", "rating_2", "rating_3", "rating_4", "rating_5", "unrated",
]  # fmt: skip


def to_csv(reports: dict[str, Any], warnings: list[str] | None = None) -> str:
    """One CSV of every point's published statistics (``reports``: point id → the document, as JSON).

    A row per (day, point, producer, queue); then per day and point a row whose producer column is
    ``left_before_choosing`` (count in ``sessions``), and one per device fault, ``fault:<device>:<code>``.
    A document this version cannot read (a point not yet upgraded) is left out and named in ``warnings``.
    """
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n", restval="")
    writer.writeheader()
    for point in sorted(reports):
        try:
            doc, ignored = sm.parse_stats_tolerant(json.dumps(reports[point]).encode())
        except sm.StatsError as exc:
            note = f"{point}: left out: {exc}"
            log.warning("%s", note)
            if warnings is not None:
                warnings.append(note)
            continue
        if warnings is not None:
            warnings.extend(f"{point}: {w}" for w in ignored)
        for day, d in sorted(doc.days.items()):
            for _, q in sorted(d.queues.items()):
                o = q.outcomes
                waited = sum(q.wait_hist)
                writer.writerow({
                    "day": day, "point": point, "producer": q.producer, "queue": q.queue, "sessions": o.total,
                    **{name: getattr(o, name) for name in sm.OUTCOMES},
                    "mean_wait_s": round(q.wait_s_sum / waited, 1) if waited else "",
                    "answered_within_300s": q.answered_within_300s,
                    "mean_duration_s": round(q.duration_s_sum / o.served, 1) if o.served else "",
                    **{f"rating_{i}": v for i, v in zip(range(1, 6), list(q.ratings.as_dict().values())[:5],
                                                        strict=True)},
                    "unrated": q.ratings.none,
                })  # fmt: skip
            if d.left_before_choosing:
                writer.writerow({"day": day, "point": point, "producer": "left_before_choosing",
                                 "sessions": d.left_before_choosing})  # fmt: skip
            for device, codes in sorted(d.faults.items()):
                for code, count in sorted(codes.items()):
                    writer.writerow({"day": day, "point": point, "producer": f"fault:{device}:{code}",
                                     "sessions": count})  # fmt: skip
    return out.getvalue()
