"""The statistics contract, payload version 2 (``point/<id>/stats``, retained): one pydantic model that
both sides import, so the point cannot publish what the organiser's collector would refuse.

docs/statistics.md is the prose of this module; a field is added there and here before either side uses
it. The model is deliberately closed: every count is bounded, every histogram has its fixed length, the
only strings are ids, dates and codes matched by patterns, and the sums across fields must agree (a
served session has exactly one duration and one rating, …). What cannot be expressed here cannot reach
the organiser's store, which is how "only aggregates leave the kiosk" is enforced rather than hoped for.

The point builds a :class:`StatsDocument` and publishes :meth:`StatsDocument.to_payload`; the collector
reads a payload with :func:`parse_stats_tolerant` (unknown fields ignored with a warning, so an older
collector keeps working while points are upgraded), everything else with :func:`parse_stats` (unknown
fields refused).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ConfigDict, Field, ValidationError, field_validator, model_validator

from etapiste.model import ID_PATTERN, FrozenModel

VERSION: Literal[2] = 2

#: Upper bounds (seconds) of the wait and duration histograms' buckets; the last bucket is open, so a
#: histogram has ``len(BUCKETS_S) + 1`` cells. Fixed by the version: the store adds histograms across
#: points and days, which is only right if every point cuts them in the same places.
BUCKETS_S: tuple[int, ...] = (60, 300, 600, 1200, 1800, 3600)
HIST_LEN = len(BUCKETS_S) + 1

#: Upper bounds of the call-quality histograms (last bucket open): 5 cells each.
QUALITY_BUCKETS: dict[str, tuple[float, ...]] = {
    "bitrate_kbps_hist": (250, 500, 1000, 2000),
    "fps_hist": (10, 20, 25, 28),
    "loss_pct_hist": (0.5, 1, 2, 5),
    "rtt_ms_hist": (50, 100, 200, 400),
}
QUALITY_HIST_LEN = 5

#: The answered-within threshold the contract names (``answered_within_300s``).
ANSWER_TARGET_S = 300

OUTCOMES: tuple[str, ...] = ("served", "abandoned", "queue_timeout", "closed", "connection_lost", "technical_failure")
RATINGS: tuple[str, ...] = ("1", "2", "3", "4", "5", "none")
DEVICES: tuple[str, ...] = ("printer", "scanner", "card_reader", "camera", "microphone", "network")
LANGUAGES: tuple[str, ...] = ("fi", "sv", "en")

#: One cell's ceiling. A point serves a few hundred customers on its busiest day; a count in the
#: millions is a broken or hostile publisher, and the bound keeps every figure inside a 32-bit column.
MAX_COUNT = 100_000
#: Pages are counted separately from documents and may be larger.
MAX_PAGES = 1_000_000
#: Day entries a document may carry: the agent keeps 35 (``KEEP_DAYS``); the margin keeps an off-by-one
#: or a time-zone change from refusing a whole document, the bound keeps a document small.
MAX_DAYS = 40
MAX_QUEUES_PER_DAY = 32
MAX_FAULT_CODES = 32
#: Minutes in the longest host's day (25 hours, the day daylight saving time ends).
MAX_DAY_MINUTES = 25 * 60
#: A wait or a call longer than a day is not one session.
MAX_SESSION_S = 24 * 3600
#: The broker's ``max_packet_size`` (``provisioning.broker.MAX_PACKET_BYTES``) less room for the topic.
MAX_PAYLOAD_BYTES = 600 * 1024

CODE_PATTERN = r"^[a-z0-9][a-z0-9_.:-]{0,63}$"
_ID = re.compile(ID_PATTERN)
_QUEUE_KEY = re.compile(r"^([a-z0-9][a-z0-9-]{1,62})/([a-z0-9][a-z0-9-]{1,62})$")
_CODE = re.compile(CODE_PATTERN)
_TZ = re.compile(r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}$")

Count = Annotated[int, Field(strict=True, ge=0, le=MAX_COUNT)]
Pages = Annotated[int, Field(strict=True, ge=0, le=MAX_PAGES)]
Seconds = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Minutes = Annotated[int, Field(strict=True, ge=0, le=MAX_DAY_MINUTES)]
Hist = Annotated[tuple[Count, ...], Field(min_length=HIST_LEN, max_length=HIST_LEN)]
QualityHist = Annotated[tuple[Count, ...], Field(min_length=QUALITY_HIST_LEN, max_length=QUALITY_HIST_LEN)]
Hours = Annotated[tuple[Count, ...], Field(min_length=24, max_length=24)]


class StatsError(ValueError):
    """A statistics payload the contract refuses; the message says where and why, for the operator."""


class _Model(FrozenModel):
    """The kernel's frozen, strict model, plus one deliberate difference: ``populate_by_name``.

    The payload names some fields by digits (:class:`Ratings`' ``"1"``…``"5"``), which cannot be Python
    names; the aliases are the wire's names and ``populate_by_name`` lets the point build the model with
    the attribute names (``r1=…``) as well."""

    model_config = ConfigDict(populate_by_name=True)


class Outcomes(_Model):
    """One outcome per session that chose a producer (see docs/statistics.md for each one's meaning)."""

    served: Count = 0
    abandoned: Count = 0
    queue_timeout: Count = 0
    closed: Count = 0
    connection_lost: Count = 0
    technical_failure: Count = 0

    @property
    def total(self) -> int:
        return (
            self.served
            + self.abandoned
            + self.queue_timeout
            + self.closed
            + self.connection_lost
            + (self.technical_failure)
        )


class Ratings(_Model):
    """Served sessions' satisfaction, 1–5, or ``none`` when the survey was skipped."""

    r1: Count = Field(0, alias="1")
    r2: Count = Field(0, alias="2")
    r3: Count = Field(0, alias="3")
    r4: Count = Field(0, alias="4")
    r5: Count = Field(0, alias="5")
    none: Count = 0

    def as_dict(self) -> dict[str, int]:
        """``{"1": …, …, "5": …, "none": …}``, the wire's own keys."""
        return {"1": self.r1, "2": self.r2, "3": self.r3, "4": self.r4, "5": self.r5, "none": self.none}

    @property
    def total(self) -> int:
        return self.r1 + self.r2 + self.r3 + self.r4 + self.r5 + self.none


def _zeros(n: int) -> tuple[int, ...]:
    return (0,) * n


class Quality(_Model):
    """One entry per served call whose summary the point had, bucketed by :data:`QUALITY_BUCKETS`."""

    calls: Count = 0
    bitrate_kbps_hist: QualityHist = _zeros(QUALITY_HIST_LEN)
    fps_hist: QualityHist = _zeros(QUALITY_HIST_LEN)
    loss_pct_hist: QualityHist = _zeros(QUALITY_HIST_LEN)
    rtt_ms_hist: QualityHist = _zeros(QUALITY_HIST_LEN)

    @model_validator(mode="after")
    def _each_call_once(self) -> Self:
        for name in QUALITY_BUCKETS:
            if sum(getattr(self, name)) != self.calls:
                raise ValueError(f"{name} holds {sum(getattr(self, name))} calls, calls says {self.calls}")
        return self


class QueueDay(_Model):
    """One producer's queue at one point on one day."""

    producer: str = Field(pattern=ID_PATTERN)
    queue: str = Field(pattern=ID_PATTERN)
    outcomes: Outcomes = Outcomes()
    wait_hist: Hist = _zeros(HIST_LEN)
    wait_s_sum: Seconds = 0.0
    answered_within_300s: Count = 0
    abandoned_wait_hist: Hist = _zeros(HIST_LEN)
    duration_hist: Hist = _zeros(HIST_LEN)
    duration_s_sum: Seconds = 0.0
    ratings: Ratings = Ratings()
    quality: Quality = Quality()
    hours: Hours = _zeros(24)
    """This queue's sessions by the hour they started: a producer staffs its agents by it, and the day's
    own ``hours`` would show it the other producers' customers."""

    @property
    def sessions(self) -> int:
        return self.outcomes.total

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        o = self.outcomes
        waited = sum(self.wait_hist)
        if waited > o.total:
            raise ValueError(f"wait_hist holds {waited} sessions but the outcomes only {o.total}")
        if self.wait_s_sum > waited * MAX_SESSION_S:
            raise ValueError(f"wait_s_sum {self.wait_s_sum} is more than a day per waiting session ({waited})")
        if sum(self.abandoned_wait_hist) != o.abandoned:
            raise ValueError(f"abandoned_wait_hist holds {sum(self.abandoned_wait_hist)}, abandoned is {o.abandoned}")
        if any(a > w for a, w in zip(self.abandoned_wait_hist, self.wait_hist, strict=True)):
            raise ValueError("abandoned_wait_hist has a cell larger than the same cell of wait_hist")
        within = sum(w for w, upper in zip(self.wait_hist, BUCKETS_S, strict=False) if upper <= ANSWER_TARGET_S)
        if self.answered_within_300s > min(o.served, within):
            raise ValueError(
                f"answered_within_300s {self.answered_within_300s} is more than the served sessions ({o.served})"
                f" or the waits under {ANSWER_TARGET_S} s ({within})"
            )
        if sum(self.duration_hist) != o.served:
            raise ValueError(f"duration_hist holds {sum(self.duration_hist)}, served is {o.served}")
        if self.duration_s_sum > o.served * MAX_SESSION_S:
            raise ValueError(f"duration_s_sum {self.duration_s_sum} is more than a day per served session")
        if self.ratings.total != o.served:
            raise ValueError(f"ratings hold {self.ratings.total}, served is {o.served}")
        if self.quality.calls > o.served:
            raise ValueError(f"quality.calls {self.quality.calls} is more than served ({o.served})")
        if sum(self.hours) != o.total:
            raise ValueError(f"hours hold {sum(self.hours)} sessions, the outcomes {o.total}")
        return self


class Identify(_Model):
    asked: Count = 0
    succeeded: Count = 0
    failed: Count = 0

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.succeeded + self.failed > self.asked:
            raise ValueError("identify: succeeded + failed is more than asked")
        return self


class Languages(_Model):
    fi: Count = 0
    sv: Count = 0
    en: Count = 0


class Usage(_Model):
    """Sessions that used a feature; ``scans``/``prints`` count documents, ``*_pages`` their pages."""

    language: Languages = Languages()
    identify: Identify = Identify()
    scans: Count = 0
    scan_pages: Pages = 0
    prints: Count = 0
    print_pages: Pages = 0
    interpreter_joined: Count = 0
    text_used: Count = 0
    speech_used: Count = 0
    large_text_used: Count = 0

    @model_validator(mode="after")
    def _pages(self) -> Self:
        if self.scans > self.scan_pages or self.prints > self.print_pages:
            raise ValueError("usage: a scanned or printed document has at least one page")
        return self


class DayMinutes(_Model):
    """Minutes of the host's opening hours: open, out of service, without the switchboard."""

    open: Minutes = 0
    out_of_service: Minutes = 0
    offline: Minutes = 0

    @model_validator(mode="after")
    def _one_day(self) -> Self:
        if self.open + self.out_of_service > MAX_DAY_MINUTES:
            raise ValueError("minutes: open + out_of_service is longer than a day")
        return self


Device = Literal["printer", "scanner", "card_reader", "camera", "microphone", "network"]


class Day(_Model):
    """One point's host day."""

    queues: dict[str, QueueDay] = Field(default_factory=dict, max_length=MAX_QUEUES_PER_DAY)
    left_before_choosing: Count = 0
    hours: Hours = _zeros(24)
    usage: Usage = Usage()
    faults: dict[Device, dict[str, Count]] = Field(default_factory=dict)
    minutes: DayMinutes = DayMinutes()

    @field_validator("queues")
    @classmethod
    def _queue_keys(cls, queues: dict[str, QueueDay]) -> dict[str, QueueDay]:
        for key, q in queues.items():
            if key != f"{q.producer}/{q.queue}":
                raise ValueError(f"a queue's key must be '<producer>/<queue>' of its fields ({q.producer}/{q.queue})")
        return queues

    @field_validator("faults")
    @classmethod
    def _fault_codes(cls, faults: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
        for device, codes in faults.items():
            if len(codes) > MAX_FAULT_CODES:
                raise ValueError(f"faults.{device}: more than {MAX_FAULT_CODES} codes")
            for code in codes:
                if not _CODE.match(code):
                    raise ValueError(f"faults.{device}: a code is not a driver code ({CODE_PATTERN})")
        return faults

    @property
    def sessions(self) -> int:
        """Sessions that chose a producer (each has exactly one outcome)."""
        return sum(q.sessions for q in self.queues.values())

    @property
    def visits(self) -> int:
        """Every session that started: those that chose a producer and those that left before."""
        return self.sessions + self.left_before_choosing

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        sessions = self.sessions
        visits = sessions + self.left_before_choosing
        if sum(self.hours) != visits:
            raise ValueError(
                f"hours hold {sum(self.hours)} sessions but the day has {visits}"
                " (outcomes + left_before_choosing); a session belongs to the day and hour it started"
            )
        if self.queues:
            by_hour = zip(self.hours, *(q.hours for q in self.queues.values()), strict=True)
            for h, (day_h, *queue_h) in enumerate(by_hour):
                if sum(queue_h) > day_h:
                    raise ValueError(f"hours[{h}] is {day_h} but the queues' hours[{h}] add up to {sum(queue_h)}")
        u = self.usage
        served = sum(q.outcomes.served for q in self.queues.values())
        for name, value, most in (
            ("usage.language", u.language.fi + u.language.sv + u.language.en, visits),
            ("usage.identify.asked", u.identify.asked, sessions),
            ("usage.interpreter_joined", u.interpreter_joined, served),
            ("usage.text_used", u.text_used, sessions),
            ("usage.speech_used", u.speech_used, visits),
            ("usage.large_text_used", u.large_text_used, visits),
        ):
            if value > most:
                raise ValueError(f"{name} is {value}, more than the {most} sessions it can count")
        return self


class StatsDocument(_Model):
    """The whole retained document of one point: the last days, each complete."""

    version: Literal[2]
    point: str = Field(pattern=ID_PATTERN)
    timezone: str = Field(max_length=64)
    buckets_s: tuple[int, ...] = BUCKETS_S
    days: dict[str, Day] = Field(default_factory=dict, max_length=MAX_DAYS)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        if not _TZ.match(value):
            raise ValueError("timezone is not an IANA zone name such as Europe/Helsinki")
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("timezone is not a known IANA zone") from exc
        return value

    @field_validator("buckets_s")
    @classmethod
    def _buckets(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if tuple(value) != BUCKETS_S:
            raise ValueError(f"buckets_s must be {list(BUCKETS_S)} in version 2")
        return value

    @field_validator("days")
    @classmethod
    def _dates(cls, days: dict[str, Day]) -> dict[str, Day]:
        for key in days:
            try:
                ok = dt.date.fromisoformat(key).isoformat() == key
            except ValueError:
                ok = False
            if not ok:
                raise ValueError("a day's key is not a date written YYYY-MM-DD")
        return days

    def to_payload(self) -> bytes:
        """The compact JSON the point publishes (wire names: ratings ``"1"``…``"5"``)."""
        return json.dumps(self.model_dump(mode="json", by_alias=True), separators=(",", ":")).encode()

    def dates(self) -> list[dt.date]:
        return sorted(dt.date.fromisoformat(d) for d in self.days)


_SAFE_PART = re.compile(r"^[a-z0-9][a-z0-9_./:-]{0,63}$")


def _where(loc: Iterable[str | int]) -> str:
    """An error's location, with any key that is not an id, a date or a code replaced by ``<key>``: the
    message reaches the organiser's logs, and a broken point's keys could be any text."""
    return ".".join(str(p) if isinstance(p, int) or _SAFE_PART.match(p) else "<key>" for p in loc)[:160]


def _describe(exc: ValidationError, limit: int = 5) -> str:
    parts = []
    for err in exc.errors(include_input=False, include_url=False)[:limit]:
        parts.append(f"{_where(err['loc']) or '(document)'}: {err['msg']}")
    more = len(exc.errors()) - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def _load(payload: bytes) -> Any:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise StatsError(f"statistics payload is {len(payload)} bytes, more than {MAX_PAYLOAD_BYTES}")
    try:
        data = json.loads(payload.decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise StatsError(f"statistics payload is not JSON: {str(exc)[:200]}") from None
    if not isinstance(data, dict):
        raise StatsError("statistics payload is not a JSON object")
    if data.get("version") != VERSION:
        version = data.get("version")
        shown = version if isinstance(version, int) and not isinstance(version, bool) else "not a number"
        raise StatsError(f"statistics payload version {shown}; this side reads version 2")
    return data


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def parse_stats(payload: bytes) -> StatsDocument:
    """The document in ``payload``, or :class:`StatsError` naming what is wrong (unknown fields refused)."""
    data = _load(payload)
    try:
        return StatsDocument.model_validate(data)
    except ValidationError as exc:
        raise StatsError(f"statistics refused: {_describe(exc)}") from None


def parse_stats_tolerant(payload: bytes) -> tuple[StatsDocument, list[str]]:
    """As :func:`parse_stats`, but fields this version does not know are dropped, each named in the
    returned warnings: a point upgraded before the collector still has its known figures stored."""
    data = _load(payload)
    warnings: list[str] = []
    for _ in range(3):  # nested unknown fields surface once their parent validates: at most a few rounds
        try:
            return StatsDocument.model_validate(data), warnings
        except ValidationError as exc:
            extra = [e["loc"] for e in exc.errors() if e["type"] == "extra_forbidden"]
            if len(extra) != len(exc.errors()):
                raise StatsError(f"statistics refused: {_describe(exc)}") from None
            for loc in extra:
                _drop(data, loc)
                warnings.append("ignored unknown field " + _where(loc))
    raise StatsError("statistics refused: too many unknown fields")


def _drop(data: Any, loc: Iterable[str | int]) -> None:
    *path, last = list(loc)
    node = data
    for key in path:
        node = node[key]
    if isinstance(node, dict):
        node.pop(last, None)


def empty_queue(producer: str, queue: str) -> QueueDay:
    """A queue's day with nothing counted yet."""
    return QueueDay(producer=producer, queue=queue)


def sum_hists(hists: Iterable[Iterable[int]], length: int) -> list[int]:
    """Cell-wise sum of fixed-length histograms (the store and the reports add them)."""
    total = [0] * length
    for h in hists:
        for i, v in enumerate(h):
            total[i] += v
    return total


__all__ = [
    "ANSWER_TARGET_S",
    "BUCKETS_S",
    "DEVICES",
    "HIST_LEN",
    "LANGUAGES",
    "OUTCOMES",
    "QUALITY_BUCKETS",
    "RATINGS",
    "VERSION",
    "Day",
    "QueueDay",
    "StatsDocument",
    "StatsError",
    "empty_queue",
    "parse_stats",
    "parse_stats_tolerant",
]
