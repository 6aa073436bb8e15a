"""The point's configuration: what a point is, where it is, whom it serves and with which devices.

The models are the schema's documentation: each field says what it means and what is valid. The ops
tool resolves layers (fleet defaults → group → point) into one document of this shape; the agent
verifies and applies it; the kiosk reads it through :func:`load_point_config`; the drivers are handed
their own section (``devices.printer`` …) as plain settings. Models are frozen: a running kiosk never
edits its configuration, it is replaced by a new bundle.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, ConfigDict, Field, field_validator, model_validator

from etapiste.config.loader import parse_document, read_text
from etapiste.host import HostKind
from etapiste.hours import Schedule, TimeRange, TimeZoneName
from etapiste.language import LANGUAGES, Language, Text
from etapiste.model import ID_PATTERN, FrozenModel
from etapiste.staffpin import check_stored
from etapiste.webeid.origin import ProofInputError, switchboard_origin

#: The configuration document's format version this code reads.
SCHEMA_VERSION = 1

#: The bundled sample: a library point offering the national producers (the demo's configuration).
SAMPLE_CONFIG = "sample-point.yaml"

class Contact(FrozenModel):
    """How to reach a person or desk."""

    name: str = Field(min_length=1)
    phone: str | None = None
    email: str | None = None


class Host(FrozenModel):
    """The host organisation whose premises the point is in (a library, a town hall…)."""

    name: Text
    """Shown on the idle screen."""
    kind: HostKind = "other"
    """What the host is: ``library``, ``town_hall``, ``shopping_centre``, ``service_point`` or ``other``. The
    customer's texts name its staff by it ("ask the library staff", "ask the staff at the town hall"; see
    :mod:`etapiste.host`); ``other`` says only "the staff"."""
    address: str | None = None
    contact: Contact
    """Who on the host's staff looks after the room."""
    timezone: TimeZoneName = "Europe/Helsinki"
    opening_hours: Schedule
    """The point is open when the host is open."""

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _https_url(value: str) -> str:
    """A privacy notice's address: ``https://`` with a host, no spaces, short enough for a QR code a phone
    reads from a screen at arm's length."""
    rest = value.removeprefix("https://")
    if rest == value or not rest or rest[0] in "/?#" or any(c.isspace() for c in value):
        raise ValueError(f"{value!r} is not an https:// address (write it like 'https://www.kela.fi/tietosuoja')")
    if len(value) > MAX_URL_LENGTH:
        raise ValueError(f"the address is {len(value)} characters; at most {MAX_URL_LENGTH} fit a readable QR code")
    return value


#: The longest privacy-notice address: a longer one makes a QR code too dense to read from the screen.
MAX_URL_LENGTH = 200

HttpsUrl = Annotated[str, AfterValidator(_https_url)]
"""An ``https://`` address shown to customers (as a QR code and on a printout)."""


class Organiser(FrozenModel):
    """The organiser of the point (the national body that runs the room): responsible for the room's data."""

    name: Text
    """Named on the privacy notice before each call as responsible for the room and its equipment."""
    privacy_url: HttpsUrl
    """The organiser's full privacy notice (a QR code on the notice screen, and on the printout)."""


class Producer(FrozenModel):
    """A service producer offered at this point (Kela, Migri, …)."""

    id: str = Field(pattern=ID_PATTERN)
    """Stable identifier, lowercase letters, digits and dashes (e.g. ``kela``)."""
    name: Text
    description: Text | None = None
    """One line on what the producer helps with, shown on the service choice."""
    queue: str = Field(pattern=ID_PATTERN)
    """The switchboard queue calls go to."""
    service_hours: Schedule
    """When the producer's agents answer (in the host's time zone)."""
    privacy_url: HttpsUrl | None = None
    """The producer's full privacy notice: the producer is responsible for the data of its calls, so the
    notice before the call offers this (QR code, printout)."""


#: At most this many switchboard addresses: each is tried in turn on failure, so a long list only delays
#: noticing that the point itself is cut off.
MAX_SWITCHBOARD_URLS = 8


def _secure_switchboard_url(value: str) -> str:
    """Plain ws:// off the machine would let anyone on the path read the signalling and relay the customer's
    identification; the rule is the identity origin's (etapiste.webeid.origin.switchboard_origin)."""
    try:
        switchboard_origin(value)
    except ProofInputError as exc:
        raise ValueError(str(exc)) from None
    return value


SwitchboardUrl = Annotated[str, AfterValidator(_secure_switchboard_url)]


class SwitchboardLink(FrozenModel):
    """Where the point's calls are routed: one switchboard address, or several tried in turn.

    Several addresses are for an organiser that runs the switchboard in more than one place (two data
    centres, each behind its own load balancer, sharing one Redis): when the address in use fails — refused,
    unreachable, or its connection dropped — the point moves to the next one (after the same jittered
    back-off as any reconnect) and comes back into its queue place or call there, as after a dropped
    connection. It stays on the address that works; there is no moving back while it works."""

    url: SwitchboardUrl | None = None
    """WebSocket address of the switchboard: ``wss://`` (TLS); plain ``ws://`` only for a switchboard on this
    machine (localhost, 127.0.0.0/8, ::1: the demo, development). The card signs identity proofs only for
    the origin derived from a configured address (``wss://host:port`` → ``https://host:port``), so the
    switchboard's ``origin`` must be one of them. Same as ``urls: [url]``."""
    urls: list[SwitchboardUrl] | None = Field(None, min_length=1, max_length=MAX_SWITCHBOARD_URLS)
    """Several addresses, in order of preference: the first is tried first, the next on failure."""
    credential_file: str
    """File holding the point's switchboard credential (never the secret itself in configuration)."""

    @model_validator(mode="after")
    def _one_list(self) -> SwitchboardLink:
        if self.url is not None and self.urls is not None:
            raise ValueError(
                "give either switchboard.urls (a list) or the single switchboard.url, not both "
                "(a fleet layer that lists urls over a url set in defaults sets url: null)"
            )
        if self.url is None and self.urls is None:
            raise ValueError("switchboard.urls (a list of wss:// addresses) or switchboard.url is required")
        if self.urls is not None:
            repeated = sorted({u for u in self.urls if self.urls.count(u) > 1})
            if repeated:
                raise ValueError(f"switchboard.urls lists {', '.join(repeated)} more than once; each address once")
        return self

    @property
    def addresses(self) -> list[str]:
        """Every address in order of preference (``url`` alone is a list of one)."""
        return list(self.urls) if self.urls is not None else [self.url] if self.url is not None else []


class IceServer(FrozenModel):
    urls: list[str] = Field(min_length=1)
    """``stun:``/``turn:``/``turns:`` addresses."""


class Ice(FrozenModel):
    """Media connectivity; TURN credentials are short-lived and issued by the switchboard per call."""

    servers: list[IceServer] = Field(default_factory=list)
    relay_only: bool = False
    """Force media through TURN (for host networks that allow nothing else)."""
    receive_floor_kbps: int = Field(2500, ge=0, le=20_000)
    """The least the point tells the agent's browser it can receive (REMB), kbit/s. aiortc's own estimate
    reads a busy point as a slow network and the agent's picture shrank to a blur
    (:mod:`kiosk.call.bandwidth`); above this the estimate still rules. Lower it for a point whose link is
    slower than this (e.g. 1500 behind a 2 Mbit/s line); 0 sends aiortc's estimate as it is."""


class Camera(FrozenModel):
    device: int | str = 0
    """OpenCV device index or path (``/dev/video0``)."""
    width: int = Field(1280, ge=320, le=3840)
    height: int = Field(720, ge=240, le=2160)
    fps: int = Field(30, ge=5, le=60)


class Audio(FrozenModel):
    microphone: str = "pulse"
    speaker: str = "pulse"
    volume_percent: int = Field(70, ge=0, le=100)
    """Speaker volume at the start of each session (reset after every customer)."""


class PrinterConfig(FrozenModel):
    queue: str | None = "etapiste"
    """CUPS queue name; ``null`` when the point has no printer."""
    max_pages: int = Field(30, ge=1, le=500)
    max_bytes: int = Field(20_000_000, ge=10_000, le=200_000_000)
    job_timeout_s: int = Field(120, ge=10, le=1800)


class ScannerConfig(FrozenModel):
    device: str | None = None
    """SANE device name (e.g. ``fujitsu:fi-7160:1234``); ``null`` for the first found, or no scanner."""
    enabled: bool = True
    resolution: int = Field(300, ge=75, le=600)
    mode: Literal["Color", "Gray", "Lineart"] = "Color"
    source: Literal["Flatbed", "ADF", "auto"] = "auto"


class CardReaderConfig(FrozenModel):
    reader: str | None = None
    """PC/SC reader name prefix; ``null`` for the first reader."""


class Devices(FrozenModel):
    camera: Camera = Field(default_factory=Camera)
    audio: Audio = Field(default_factory=Audio)
    printer: PrinterConfig = Field(default_factory=PrinterConfig)
    scanner: ScannerConfig = Field(default_factory=ScannerConfig)
    card_reader: CardReaderConfig = Field(default_factory=CardReaderConfig)
    video_encoder: Literal["auto", "software"] = "auto"
    """``auto``: the kiosk looks for the PC's hardware H.264 encoder (Intel Quick Sync, NVIDIA NVENC, V4L2) at
    start, uses it if it works and then offers H.264 first; ``software``: never (a switch for a misbehaving
    graphics driver)."""


class Ui(FrozenModel):
    languages: list[Language] = Field(default_factory=lambda: list(LANGUAGES), min_length=1)
    default_language: Language = "fi"
    idle_timeout_s: int = Field(90, ge=30, le=3600)
    """Inactivity before a session is ended and wiped (warned ahead, extendable)."""
    timeout_warning_s: int = Field(30, ge=20, le=300)
    """How long before the inactivity timeout the customer is warned (at least 20 s, WCAG 2.2.1)."""
    interpreter_languages: list[Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$")]] = Field(
        default_factory=list, max_length=12
    )
    """Interpreter languages a customer can ask for before queueing (``fi-sign``, ``sv-sign``, ``ar``…;
    each needs a ``kiosk.interpreter.<code>`` text); empty: the question is not asked."""

    @model_validator(mode="after")
    def _default_offered(self) -> Ui:
        if self.default_language not in self.languages:
            raise ValueError(f"default_language {self.default_language!r} must be one of languages {self.languages}")
        return self


class Staff(FrozenModel):
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


class Telemetry(FrozenModel):
    enabled: bool = True
    interval_s: int = Field(60, ge=10, le=3600)


class Software(FrozenModel):
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


class PointIdentity(FrozenModel):
    id: str = Field(pattern=ID_PATTERN)
    """The point's identifier across the fleet (MQTT username, switchboard identity)."""
    group: str | None = Field(None, pattern=ID_PATTERN)
    """Fleet group, for configuration published to a group (e.g. a region)."""


class PointConfig(FrozenModel):
    """One point's whole resolved configuration."""

    schema_version: Literal[1] = Field(1, alias="schema")
    point: PointIdentity
    host: Host
    support: Contact
    """The organiser's support desk, shown to host staff."""
    organiser: Organiser | None = None
    """Who runs the room (its privacy notice before each call); ``null``: the notice names only the producer."""
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


def parse_point_config(text: str, file: str = "<config>") -> PointConfig:
    """Validate ``text`` (YAML) into a :class:`PointConfig` or raise :class:`ConfigError` naming each line."""
    return parse_document(
        PointConfig, text, file, not_a_mapping="the document must be a mapping of sections (point, host, …)"
    )


def device_settings(path: str | Path | None = None) -> Devices:
    """The ``devices`` section of the point's configuration at ``path`` (or of the bundled sample): what the
    drivers' diagnostics commands (``etapiste printer``/``scanner``) hand their driver as plain settings."""
    return load_point_config(path).devices


def load_point_config(path: str | Path | None = None) -> PointConfig:
    """Load the configuration at ``path``, or the bundled sample when ``path`` is ``None``."""
    if path is None:
        text = resources.files("etapiste.config").joinpath(SAMPLE_CONFIG).read_text(encoding="utf-8")
        return parse_point_config(text, f"(bundled) {SAMPLE_CONFIG}")
    return parse_point_config(read_text(Path(path)), str(path))
