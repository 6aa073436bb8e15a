"""The point's configuration: what a point is, where it is, whom it serves and with which devices.

The models are the schema's documentation: each field says what it means and what is valid. The ops
tool resolves layers (fleet defaults → group → point) into one document of this shape; the agent
verifies and applies it; the kiosk reads it through :func:`provisioning.loader.load_point_config`.
Models are frozen: a running kiosk never edits its configuration, it is replaced by a new bundle.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from drivers.proof import ProofInputError, switchboard_origin
from provisioning.pinhash import check_stored

#: The configuration document's format version this code reads.
SCHEMA_VERSION = 1

Language = Literal["fi", "sv", "en"]
LANGUAGES: tuple[Language, ...] = ("fi", "sv", "en")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_RANGE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")
_ID = r"^[a-z0-9][a-z0-9-]{1,62}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Model):
    """A text shown to people, in each of the three languages (all three required)."""

    fi: str = Field(min_length=1)
    sv: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def in_(self, language: Language) -> str:
        return str(getattr(self, language))


class TimeRange(_Model):
    """An opening period within one day, e.g. ``09:00-16:00`` (end exclusive; ``24:00`` allowed)."""

    start: dt.time
    end: dt.time | None
    """``None`` means midnight at the end of the day (written ``24:00``)."""

    @classmethod
    def parse(cls, text: str) -> TimeRange:
        m = _RANGE.match(text.strip())
        if not m:
            raise ValueError(f"{text!r} is not a time range; write it like '09:00-16:00'")
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        if h2 == 24 and m2 != 0:
            raise ValueError(f"{text!r}: the latest end time is 24:00")
        start = dt.time(h1, m1)
        end = None if h2 == 24 else dt.time(h2, m2)
        if end is not None and end <= start:
            raise ValueError(f"{text!r}: the end must be after the start (periods cannot cross midnight)")
        return cls(start=start, end=end)

    def contains(self, t: dt.time) -> bool:
        return self.start <= t and (self.end is None or t < self.end)

    def __str__(self) -> str:
        end = "24:00" if self.end is None else self.end.strftime("%H:%M")
        return f"{self.start.strftime('%H:%M')}–{end}"


def _parse_ranges(value: object) -> object:
    """Accept ``"closed"``, one ``"09:00-16:00"`` or a list of them."""
    if value is None or value == "closed":
        return []
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list):
        return [TimeRange.parse(v) if isinstance(v, str) else v for v in value]
    return value


DayHours = Annotated[list[TimeRange], Field(default_factory=list)]


class WeeklyHours(_Model):
    """Opening periods per weekday; a missing day or ``closed`` means closed that day."""

    mon: DayHours
    tue: DayHours
    wed: DayHours
    thu: DayHours
    fri: DayHours
    sat: DayHours
    sun: DayHours

    @field_validator(*WEEKDAYS, mode="before")
    @classmethod
    def _ranges(cls, value: object) -> object:
        return _parse_ranges(value)

    def on(self, day: dt.date) -> list[TimeRange]:
        return list(getattr(self, WEEKDAYS[day.weekday()]))


class HoursException(_Model):
    """A day whose hours differ from the week's: a holiday (closed) or shorter hours."""

    date: dt.date
    hours: DayHours
    """Opening periods that day; empty (or ``closed``) means closed all day."""
    note: Text | None = None
    """Why, shown to customers (e.g. "Christmas Eve")."""

    @field_validator("hours", mode="before")
    @classmethod
    def _ranges(cls, value: object) -> object:
        return _parse_ranges(value)


class Schedule(_Model):
    """Weekly hours plus dated exceptions, in the host's time zone."""

    weekly: WeeklyHours
    exceptions: list[HoursException] = Field(default_factory=list)

    def on(self, day: dt.date) -> list[TimeRange]:
        """The opening periods of ``day``, exceptions first."""
        for exc in self.exceptions:
            if exc.date == day:
                return list(exc.hours)
        return self.weekly.on(day)

    def exception_on(self, day: dt.date) -> HoursException | None:
        return next((e for e in self.exceptions if e.date == day), None)

    def is_open(self, at: dt.datetime) -> bool:
        """Whether ``at`` (already in the host's time zone) falls in an opening period."""
        return any(r.contains(at.time()) for r in self.on(at.date()))


class Contact(_Model):
    """How to reach a person or desk."""

    name: str = Field(min_length=1)
    phone: str | None = None
    email: str | None = None


class Host(_Model):
    """The host organisation whose premises the point is in (a library, a town hall…)."""

    name: Text
    """Shown on the idle screen."""
    address: str | None = None
    contact: Contact
    """Who on the host's staff looks after the room."""
    timezone: str = "Europe/Helsinki"
    opening_hours: Schedule
    """The point is open when the host is open."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            hint = "use an IANA name such as 'Europe/Helsinki'"
            raise ValueError(f"{value!r} is not a known time zone; {hint}") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Producer(_Model):
    """A service producer offered at this point (Kela, Migri, …)."""

    id: str = Field(pattern=_ID)
    """Stable identifier, lowercase letters, digits and dashes (e.g. ``kela``)."""
    name: Text
    description: Text | None = None
    """One line on what the producer helps with, shown on the service choice."""
    queue: str = Field(pattern=_ID)
    """The switchboard queue calls go to."""
    service_hours: Schedule
    """When the producer's agents answer (in the host's time zone)."""


class SwitchboardLink(_Model):
    """Where the point's calls are routed."""

    url: str
    """WebSocket address of the switchboard: ``wss://`` (TLS); plain ``ws://`` only for a switchboard on this
    machine (localhost, 127.0.0.0/8, ::1: the demo, development). The card signs identity proofs for the
    origin derived from it (``wss://host:port`` → ``https://host:port``), so it must be the switchboard's
    public address."""
    credential_file: str
    """File holding the point's switchboard credential (never the secret itself in configuration)."""

    @field_validator("url")
    @classmethod
    def _secure(cls, value: str) -> str:
        """Plain ws:// off the machine would let anyone on the path read the signalling and relay the
        customer's identification; the rule is the identity origin's (drivers.proof.switchboard_origin)."""
        try:
            switchboard_origin(value)
        except ProofInputError as exc:
            raise ValueError(str(exc)) from None
        return value


class IceServer(_Model):
    urls: list[str] = Field(min_length=1)
    """``stun:``/``turn:``/``turns:`` addresses."""


class Ice(_Model):
    """Media connectivity; TURN credentials are short-lived and issued by the switchboard per call."""

    servers: list[IceServer] = Field(default_factory=list)
    relay_only: bool = False
    """Force media through TURN (for host networks that allow nothing else)."""


class Camera(_Model):
    device: int | str = 0
    """OpenCV device index or path (``/dev/video0``)."""
    width: int = Field(1280, ge=320, le=3840)
    height: int = Field(720, ge=240, le=2160)
    fps: int = Field(30, ge=5, le=60)


class Audio(_Model):
    microphone: str = "pulse"
    speaker: str = "pulse"
    volume_percent: int = Field(70, ge=0, le=100)
    """Speaker volume at the start of each session (reset after every customer)."""


class PrinterConfig(_Model):
    queue: str | None = "etapiste"
    """CUPS queue name; ``null`` when the point has no printer."""
    max_pages: int = Field(30, ge=1, le=500)
    max_bytes: int = Field(20_000_000, ge=10_000, le=200_000_000)
    job_timeout_s: int = Field(120, ge=10, le=1800)


class ScannerConfig(_Model):
    device: str | None = None
    """SANE device name (e.g. ``fujitsu:fi-7160:1234``); ``null`` for the first found, or no scanner."""
    enabled: bool = True
    resolution: int = Field(300, ge=75, le=600)
    mode: Literal["Color", "Gray", "Lineart"] = "Color"
    source: Literal["Flatbed", "ADF", "auto"] = "auto"


class CardReaderConfig(_Model):
    reader: str | None = None
    """PC/SC reader name prefix; ``null`` for the first reader."""


class Devices(_Model):
    camera: Camera = Field(default_factory=Camera)
    audio: Audio = Field(default_factory=Audio)
    printer: PrinterConfig = Field(default_factory=PrinterConfig)
    scanner: ScannerConfig = Field(default_factory=ScannerConfig)
    card_reader: CardReaderConfig = Field(default_factory=CardReaderConfig)


class Ui(_Model):
    languages: list[Language] = Field(default_factory=lambda: list(LANGUAGES), min_length=1)
    default_language: Language = "fi"
    idle_timeout_s: int = Field(90, ge=30, le=3600)
    """Inactivity before a session is ended and wiped (warned ahead, extendable)."""
    timeout_warning_s: int = Field(30, ge=20, le=300)
    """How long before the inactivity timeout the customer is warned (at least 20 s, WCAG 2.2.1)."""

    @model_validator(mode="after")
    def _default_offered(self) -> Ui:
        if self.default_language not in self.languages:
            raise ValueError(f"default_language {self.default_language!r} must be one of languages {self.languages}")
        return self


class Staff(_Model):
    """The host staff's mode: one PIN for the host's staff at this point (each point its own PIN).

    One PIN per point rather than one per staff member: host staff come and go without the organiser
    knowing them, and staff mode shows no customer data (device health, test print, out of service);
    a PIN per person would put host staff's names in the organiser's configuration and give a guesser
    several right answers to hit. When staff leave, ops publish a new hash.
    """

    pin_hash: str
    """``scrypt-min6$<n>$<r>$<p>$<salt-b64>$<hash-b64>``, made by ``etapiste ops hash-pin`` for a PIN of
    6–12 digits (an older ``scrypt$…`` hash may hide a 4-digit PIN and is refused)."""

    @field_validator("pin_hash")
    @classmethod
    def _min_six_digits(cls, value: str) -> str:
        return check_stored(value)


class Telemetry(_Model):
    enabled: bool = True
    interval_s: int = Field(60, ge=10, le=3600)


class Software(_Model):
    """The point's software version, installed by the agent's root helper from the organiser's signed apt
    repository (provisioning/update.py). Staged publishing stages it like any configuration change."""

    version: str = Field(pattern=r"^[0-9][A-Za-z0-9.+~]{0,63}$")
    """The ``etapiste-point`` package version to run (``etapiste --version``), e.g. ``0.2.0``."""
    window: str = "02:00-05:00"
    """Local time when updates may be installed; never while the host is open (opening hours win)."""
    health_timeout_s: int = Field(300, ge=30, le=3600)
    """How long the new version's kiosk has to report healthy before the previous version is put back."""
    security_updates: bool = True
    """Run Debian's security updates (unattended-upgrades) in the same window, with the same health check."""

    @field_validator("window")
    @classmethod
    def _range(cls, value: str) -> str:
        TimeRange.parse(value)
        return value


class PointIdentity(_Model):
    id: str = Field(pattern=_ID)
    """The point's identifier across the fleet (MQTT username, switchboard identity)."""
    group: str | None = Field(None, pattern=_ID)
    """Fleet group, for configuration published to a group (e.g. a region)."""


class PointConfig(_Model):
    """One point's whole resolved configuration."""

    schema_version: Literal[1] = Field(1, alias="schema")
    point: PointIdentity
    host: Host
    support: Contact
    """The organiser's support desk, shown to host staff."""
    producers: list[Producer] = Field(min_length=1)
    switchboard: SwitchboardLink
    ice: Ice = Field(default_factory=Ice)
    devices: Devices = Field(default_factory=Devices)
    ui: Ui = Field(default_factory=Ui)
    staff: Staff
    telemetry: Telemetry = Field(default_factory=Telemetry)
    software: Software | None = None
    """``null``: the point keeps the version it has (no remote update)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _unique_producers(self) -> PointConfig:
        seen: set[str] = set()
        for p in self.producers:
            if p.id in seen:
                raise ValueError(f"producer id {p.id!r} appears twice; each producer once")
            seen.add(p.id)
        return self

    def producer(self, producer_id: str) -> Producer:
        for p in self.producers:
            if p.id == producer_id:
                return p
        raise KeyError(producer_id)
