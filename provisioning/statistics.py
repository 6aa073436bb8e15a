"""Anonymous usage statistics of one point: sessions per producer per day, durations, waits,
satisfaction distribution and device faults.

Only aggregates are kept — counts, sums and fixed histograms — never a single session's record, so
nothing identifies a customer or even when exactly they came. The kiosk's ``session`` message has no
room for anything else (:class:`provisioning.kiosk_link.Session` forbids extra fields). The last
:data:`KEEP_DAYS` days are kept in the agent's state directory and published retained, so a restart
loses nothing and ops can export at any time.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

from provisioning.bundle import atomic_write

KEEP_DAYS = 35
#: Upper bounds (seconds) of the duration and wait histograms' buckets; the last bucket is open.
BUCKETS_S: tuple[int, ...] = (60, 300, 600, 1200, 1800, 3600)


def _bucket(seconds: float) -> int:
    return next((i for i, b in enumerate(BUCKETS_S) if seconds < b), len(BUCKETS_S))


def _empty_producer() -> dict[str, Any]:
    n = len(BUCKETS_S) + 1
    return {
        "sessions": 0,
        "duration_s_sum": 0.0,
        "wait_s_sum": 0.0,
        "duration_hist": [0] * n,
        "wait_hist": [0] * n,
        "ratings": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0, "none": 0},
    }


class Statistics:
    """``{"days": {"2026-11-28": {"producers": {"kela": {...}}, "faults": {"printer": {"media-jam": 2}}}}}``."""

    def __init__(self, path: Path | None = None):
        self.path = path
        self.days: dict[str, dict[str, Any]] = {}
        if path is not None and path.exists():
            try:
                self.days = dict(json.loads(path.read_text(encoding="utf-8")).get("days", {}))
            except (ValueError, AttributeError):
                self.days = {}  # a damaged file loses statistics, never the agent

    def _day(self, day: dt.date) -> dict[str, Any]:
        d = self.days.setdefault(day.isoformat(), {"producers": {}, "faults": {}})
        cutoff = (day - dt.timedelta(days=KEEP_DAYS)).isoformat()
        for old in [k for k in self.days if k < cutoff]:
            del self.days[old]
        return d

    def add_session(
        self, day: dt.date, producer: str, duration_s: float, wait_s: float, rating: int | None
    ) -> None:
        p = self._day(day)["producers"].setdefault(producer, _empty_producer())
        p["sessions"] += 1
        p["duration_s_sum"] += duration_s
        p["wait_s_sum"] += wait_s
        p["duration_hist"][_bucket(duration_s)] += 1
        p["wait_hist"][_bucket(wait_s)] += 1
        p["ratings"][str(rating) if rating else "none"] += 1
        self.save()

    def add_fault(self, day: dt.date, device: str, reason: str) -> None:
        faults = self._day(day)["faults"].setdefault(device, {})
        faults[reason] = faults.get(reason, 0) + 1
        self.save()

    def to_json(self) -> dict[str, Any]:
        return {"buckets_s": list(BUCKETS_S), "days": self.days}

    def save(self) -> None:
        if self.path is not None:
            atomic_write(self.path, json.dumps(self.to_json()).encode())


CSV_FIELDS = [
    "day", "point", "producer", "sessions", "mean_duration_s", "mean_wait_s",
    "rating_1", "rating_2", "rating_3", "rating_4", "rating_5", "unrated",
]  # fmt: skip


def to_csv(reports: dict[str, dict[str, Any]]) -> str:
    """One CSV of every point's statistics (``reports``: point id → published statistics), plus
    device faults as rows whose producer column is ``fault:<device>:<reason>`` and count in sessions."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for point in sorted(reports):
        days = reports[point].get("days", {})
        for day in sorted(days):
            for producer, p in sorted(days[day].get("producers", {}).items()):
                n = p["sessions"] or 1
                writer.writerow(
                    {
                        "day": day,
                        "point": point,
                        "producer": producer,
                        "sessions": p["sessions"],
                        "mean_duration_s": round(p["duration_s_sum"] / n, 1),
                        "mean_wait_s": round(p["wait_s_sum"] / n, 1),
                        **{f"rating_{i}": p["ratings"][str(i)] for i in range(1, 6)},
                        "unrated": p["ratings"]["none"],
                    }
                )
            for device, reasons in sorted(days[day].get("faults", {}).items()):
                for reason, count in sorted(reasons.items()):
                    writer.writerow(
                        {"day": day, "point": point, "producer": f"fault:{device}:{reason}", "sessions": count}
                    )
    return out.getvalue()
