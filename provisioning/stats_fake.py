"""A generated fleet's statistics, for the collector's tests and the statistics benchmark.

Every (point, day) is drawn from its own seeded generator (seed, point number, date), so two documents
that overlap (a point republishing its last 35 days) carry the very same figures for the same day, as
a real point's would; and a month's true totals can be added up here, independently of the store and
the report, to check them. Each day is a valid :class:`provisioning.stats_model.Day` (the contract's
sums hold), so the generator also exercises the model's rules.

Nothing here is personal: the figures are random counts.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from provisioning.stats_model import (
    BUCKETS_S,
    HIST_LEN,
    OUTCOMES,
    QUALITY_BUCKETS,
    Day,
    StatsDocument,
)

#: (producer, queue, sessions a day at a mid-size point on a weekday).
QUEUES: tuple[tuple[str, str, float], ...] = (
    ("kela", "general", 14.0),
    ("kela", "families", 4.0),
    ("migri", "permits", 5.0),
    ("poliisi", "permits", 6.0),
    ("vero", "general", 5.0),
    ("dvv", "general", 2.0),
)
#: Open 9–19; a customer's hour of arrival follows a morning and an afternoon peak.
_HOUR_WEIGHTS = np.array([0] * 9 + [6, 10, 12, 9, 8, 11, 12, 9, 7, 4] + [0] * 5, dtype=float)
_HOUR_P = _HOUR_WEIGHTS / _HOUR_WEIGHTS.sum()
_WEEKDAY = (1.1, 1.0, 1.0, 1.0, 0.9, 0.35, 0.0)  # Monday busiest, Saturday short, Sunday closed
_OUTCOME_P = np.array([0.80, 0.09, 0.03, 0.02, 0.03, 0.03])
_SERVED_WAIT_P = np.array([0.35, 0.40, 0.13, 0.07, 0.03, 0.015, 0.005])
_OTHER_WAIT_P = np.array([0.10, 0.25, 0.20, 0.20, 0.15, 0.07, 0.03])
_DURATION_P = np.array([0.05, 0.25, 0.35, 0.22, 0.08, 0.04, 0.01])
_RATING_P = np.array([0.03, 0.04, 0.10, 0.30, 0.38, 0.15])
_QUALITY_P = {
    "bitrate_kbps_hist": np.array([0.02, 0.05, 0.18, 0.45, 0.30]),
    "fps_hist": np.array([0.01, 0.03, 0.06, 0.20, 0.70]),
    "loss_pct_hist": np.array([0.75, 0.12, 0.08, 0.04, 0.01]),
    "rtt_ms_hist": np.array([0.40, 0.35, 0.17, 0.06, 0.02]),
}
assert all(len(p) == 5 for p in _QUALITY_P.values()) and set(_QUALITY_P) == set(QUALITY_BUCKETS)
#: A bucket's typical value, for the sums (the open last bucket: 1.1 × its lower bound).
_MID_S = [30.0] + [(a + b) / 2 for a, b in itertools.pairwise(BUCKETS_S)] + [BUCKETS_S[-1] * 1.1]
_FAULTS = (("printer", "media-empty"), ("printer", "media-jam"), ("scanner", "cover-open"),
           ("card_reader", "reader-missing"), ("network", "switchboard-unreachable"))  # fmt: skip
OPEN_MINUTES = 600


@dataclass(frozen=True)
class FakeFleet:
    """``points`` points named ``<prefix>-0000``…, each with a size and its own set of queues."""

    points: int = 20
    seed: int = 2026
    prefix: str = "point"
    timezone: str = "Europe/Helsinki"

    def point_ids(self) -> list[str]:
        return [f"{self.prefix}-{i:04d}" for i in range(self.points)]

    @functools.lru_cache(maxsize=4096)  # noqa: B019 - frozen, hashable, few instances
    def _profile(self, index: int) -> tuple[float, list[tuple[str, str, float]]]:
        rng = np.random.default_rng([self.seed, index, 0])
        # Sizes from a small village library (a tenth of the mid size) to a city's main library (3×).
        size = float(rng.choice([0.1, 0.4, 0.8, 1.0, 1.5, 3.0], p=[0.1, 0.15, 0.25, 0.25, 0.15, 0.1]))
        queues = [q for i, q in enumerate(QUEUES) if i == 0 or rng.random() < 0.7]
        return size, queues

    def day(self, point: str, day: dt.date) -> Day | None:
        """The point's figures for ``day``, or ``None`` for a closed day (nothing counted)."""
        raw = self.day_dict(point, day)
        return None if raw is None else Day.model_validate(raw)

    def day_dict(self, point: str, day: dt.date) -> dict[str, Any] | None:
        """As :meth:`day`, as the wire's JSON object, not validated (the benchmark's collector validates)."""
        return self._month(int(point.rsplit("-", 1)[1]), day.year, day.month)[day.day - 1]

    @functools.lru_cache(maxsize=256)  # noqa: B019 - frozen, hashable, few instances
    def _month(self, index: int, year: int, month: int) -> list[dict[str, Any] | None]:
        """One point's month, drawn at once (numpy, vectorised over the days) from a generator seeded
        by (seed, point, month): the same day is the same whichever window asks for it."""
        ndays = calendar.monthrange(year, month)[1]
        factor = np.array([_WEEKDAY[dt.date(year, month, d + 1).weekday()] for d in range(ndays)])
        size, queues = self._profile(index)
        rng = np.random.default_rng([self.seed, index, year, month])
        qs = {f"{p}/{q}": _queues(rng, p, q, rng.poisson(rate * size * factor)) for p, q, rate in queues}
        sessions = sum(q["n"] for q in qs.values())
        served = sum(q["outcomes"][:, 0] for q in qs.values())
        left = rng.poisson(0.6 * size * factor)
        hours = sum(q["hours"] for q in qs.values()) + rng.multinomial(left, _HOUR_P)
        visits = sessions + left
        asked = rng.binomial(sessions, 0.3)
        succeeded = rng.binomial(asked, 0.92)
        scans, prints = rng.binomial(sessions, 0.2), rng.binomial(sessions, 0.25)
        scan_pages, print_pages = scans + rng.poisson(scans * 0.5), prints + rng.poisson(prints * 1.2)
        lang = rng.multinomial(visits, [0.82, 0.06, 0.12])
        interpreter = rng.binomial(served, 0.03)
        text, speech, large = rng.binomial(sessions, 0.05), rng.binomial(visits, 0.02), rng.binomial(visits, 0.08)
        faults = rng.poisson(0.04, size=(ndays, len(_FAULTS)))
        oos = np.where(rng.random(ndays) < 0.03, rng.integers(30, OPEN_MINUTES, ndays), 0)
        offline = np.where(rng.random(ndays) < 0.05, rng.integers(1, 90, ndays), 0)
        out: list[dict[str, Any] | None] = []
        for d in range(ndays):
            if factor[d] == 0.0:
                out.append(None)
                continue
            day_faults: dict[str, dict[str, int]] = {}
            for (device, code), k in zip(_FAULTS, faults[d].tolist(), strict=True):
                if k:
                    day_faults.setdefault(device, {})[code] = k
            out.append({
                "queues": {key: _queue_dict(q, d) for key, q in qs.items()},
                "left_before_choosing": int(left[d]),
                "hours": hours[d].tolist(),
                "usage": {
                    "language": dict(zip(("fi", "sv", "en"), lang[d].tolist(), strict=True)),
                    "identify": {"asked": int(asked[d]), "succeeded": int(succeeded[d]),
                                 "failed": int(asked[d] - succeeded[d])},
                    "scans": int(scans[d]), "scan_pages": int(scan_pages[d]),
                    "prints": int(prints[d]), "print_pages": int(print_pages[d]),
                    "interpreter_joined": int(interpreter[d]), "text_used": int(text[d]),
                    "speech_used": int(speech[d]), "large_text_used": int(large[d]),
                },
                "faults": day_faults,
                "minutes": {"open": OPEN_MINUTES - int(oos[d]), "out_of_service": int(oos[d]),
                            "offline": int(offline[d])},
            })  # fmt: skip
        return out

    def payload(self, point: str, last: dt.date, keep_days: int = 35) -> bytes:
        """:meth:`document`'s payload, built without validating it (fast: for the benchmark)."""
        first = last - dt.timedelta(days=keep_days - 1)
        days = {}
        d = first
        while d <= last:
            raw = self.day_dict(point, d)
            if raw is not None:
                days[d.isoformat()] = raw
            d += dt.timedelta(days=1)
        doc = {"version": 2, "point": point, "timezone": self.timezone, "buckets_s": list(BUCKETS_S), "days": days}
        return json.dumps(doc, separators=(",", ":")).encode()

    def days(self, point: str, first: dt.date, last: dt.date) -> Iterator[tuple[dt.date, Day]]:
        d = first
        while d <= last:
            got = self.day(point, d)
            if got is not None:
                yield d, got
            d += dt.timedelta(days=1)

    def document(self, point: str, last: dt.date, keep_days: int = 35) -> StatsDocument:
        """What the point publishes on ``last``: its last ``keep_days`` days (``last`` included)."""
        first = last - dt.timedelta(days=keep_days - 1)
        return StatsDocument(
            version=2,
            point=point,
            timezone=self.timezone,
            days={d.isoformat(): day for d, day in self.days(point, first, last)},
        )

    def month_days(self, year: int, month: int) -> Iterator[tuple[str, dt.date, Day]]:
        first = dt.date(year, month, 1)
        last = dt.date(year, month, calendar.monthrange(year, month)[1])
        for point in self.point_ids():
            for d, day in self.days(point, first, last):
                yield point, d, day


_MID = np.array(_MID_S)
_RATING_KEYS = ("1", "2", "3", "4", "5", "none")


def _queues(rng: np.random.Generator, producer: str, queue: str, n: np.ndarray) -> dict[str, Any]:
    """A queue's figures for every day of a month at once (arrays with one row per day)."""
    outcomes = rng.multinomial(n, _OUTCOME_P)
    served = outcomes[:, 0]
    served_wait = rng.multinomial(served, _SERVED_WAIT_P)
    abandoned_wait = rng.multinomial(outcomes[:, 1], _OTHER_WAIT_P)
    # Every outcome but a technical failure reached the queue and waited.
    rest_wait = rng.multinomial(outcomes[:, 2] + outcomes[:, 3] + outcomes[:, 4], _OTHER_WAIT_P)
    wait = served_wait + abandoned_wait + rest_wait
    duration = rng.multinomial(served, _DURATION_P)
    calls = served - rng.binomial(served, 0.02)
    return {
        "producer": producer, "queue": queue, "n": n, "outcomes": outcomes, "wait": wait,
        "wait_s_sum": np.round(wait @ _MID, 1), "within": served_wait[:, 0] + served_wait[:, 1],
        "abandoned_wait": abandoned_wait, "duration": duration, "duration_s_sum": np.round(duration @ _MID, 1),
        "ratings": rng.multinomial(served, _RATING_P), "calls": calls,
        "quality": {k: rng.multinomial(calls, p) for k, p in _QUALITY_P.items()},
        "hours": rng.multinomial(n, _HOUR_P),
    }  # fmt: skip


def _queue_dict(q: dict[str, Any], d: int) -> dict[str, Any]:
    return {
        "producer": q["producer"],
        "queue": q["queue"],
        "outcomes": dict(zip(OUTCOMES, q["outcomes"][d].tolist(), strict=True)),
        "wait_hist": q["wait"][d].tolist(),
        "wait_s_sum": float(q["wait_s_sum"][d]),
        "answered_within_300s": int(q["within"][d]),
        "abandoned_wait_hist": q["abandoned_wait"][d].tolist(),
        "duration_hist": q["duration"][d].tolist(),
        "duration_s_sum": float(q["duration_s_sum"][d]),
        "ratings": dict(zip(_RATING_KEYS, q["ratings"][d].tolist(), strict=True)),
        "quality": {"calls": int(q["calls"][d]), **{k: v[d].tolist() for k, v in q["quality"].items()}},
        "hours": q["hours"][d].tolist(),
    }


def month_truth(
    fleet: FakeFleet, year: int, month: int, *, producer: str | None = None, point: str | None = None
) -> dict[str, Any]:
    """The month's true totals, added up from the generated days (no store, no report involved):
    ``{"sessions": …, "outcomes": {…}, "per_point": {point: sessions}, "per_queue": {(point, p, q): sessions},
    "ratings": {…}, "wait_hist": […], "answered_within_300s": …, "left_before_choosing": …,
    "minutes": {…}, "faults": {(point, device, code): n}}``."""
    t: dict[str, Any] = {
        "sessions": 0, "outcomes": dict.fromkeys(OUTCOMES, 0), "per_point": {}, "per_queue": {},
        "ratings": dict.fromkeys(("1", "2", "3", "4", "5", "none"), 0), "wait_hist": [0] * HIST_LEN,
        "answered_within_300s": 0, "left_before_choosing": 0, "hours": [0] * 24,
        "minutes": {"open": 0, "out_of_service": 0, "offline": 0}, "faults": {},
    }  # fmt: skip
    for pid, _d, day in fleet.month_days(year, month):
        if point is not None and pid != point:
            continue
        for q in day.queues.values():
            if producer is not None and q.producer != producer:
                continue
            n = q.sessions
            t["sessions"] += n
            t["per_point"][pid] = t["per_point"].get(pid, 0) + n
            key = (pid, q.producer, q.queue)
            t["per_queue"][key] = t["per_queue"].get(key, 0) + n
            for o in OUTCOMES:
                t["outcomes"][o] += getattr(q.outcomes, o)
            for k, v in q.ratings.as_dict().items():
                t["ratings"][k] += v
            for i, v in enumerate(q.wait_hist):
                t["wait_hist"][i] += v
            for h, v in enumerate(q.hours):
                t["hours"][h] += v
            t["answered_within_300s"] += q.answered_within_300s
        if producer is None:
            t["left_before_choosing"] += day.left_before_choosing
            for k in t["minutes"]:
                t["minutes"][k] += getattr(day.minutes, k)
            for device, codes in day.faults.items():
                for code, c in codes.items():
                    t["faults"][(pid, device, code)] = t["faults"].get((pid, device, code), 0) + c
    return t
