"""``etapiste ops notifier``: the organiser-side service that tells people when a point needs them.

It reads the points' alerts (``point/+/alert``, raised by each agent: :mod:`provisioning.alerts`), their
``online`` flags (retained; the last will writes ``false`` when a point vanishes) and their states (an agent
reports at least every minute; one silent for ``--stale-s`` counts as offline), and e-mails over SMTP:

- the **host's staff** (the point's ``host.contact.email``) and the **organiser's support**
  (``support.email``, and ``--support`` addresses) when a device fails (paper out, a jam, the scanner, the
  card reader or the camera gone), when the kiosk keeps restarting, and when a point is offline during its
  host's opening hours (``host.opening_hours``, :meth:`etapiste.hours.Schedule.is_open`);
- the host's staff when a customer presses "ask the staff for help".

Repeats are grouped: one mail per open problem, a reminder at most every ``reminder_s`` while it stays
open, and an all-clear when it is fixed (the device works again, the point is back online). Once an alert
is accepted — mailed, or grouped into a problem already mailed — the notifier answers
``point/<id>/alert_ack`` with its id; only then does the kiosk tell the customer that the staff know. A
mail the SMTP server did not take is tried again every ``check_s``, and stays unacknowledged until then.
Its broker session is persistent (QoS 1, clean session false): an alert raised while the notifier restarts
is queued for it by the broker (up to ``max_queued_messages``) and handled when it is back.

What a mail says comes from the alert's codes and the fleet's configuration (the host's name, the
device's word, the staff text of the device's code), in Finnish, Swedish and English; nothing from a
customer is in an alert, so nothing can be in a mail (tests scan both). The broker account is
:data:`provisioning.broker.NOTIFIER_USER`: it reads alerts, online flags and states and writes only
acknowledgements of alerts.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email.policy
import json
import logging
import os
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiomqtt
from pydantic import ValidationError

from etapiste import texts
from etapiste.config.loader import ConfigError
from etapiste.hours import Schedule
from etapiste.language import LANGUAGES, Language, Text
from etapiste.retry import Backoff
from provisioning import broker
from provisioning.alerts import Alert, AlertAck
from provisioning.fleet import Fleet

log = logging.getLogger("etapiste.notifier")

Clock = Callable[[], dt.datetime]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --------------------------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class PointInfo:
    """What the notifier needs of one point's configuration."""

    id: str
    host: Text
    host_email: str | None
    support_email: str | None
    hours: Schedule
    zone: ZoneInfo

    def is_open(self, at: dt.datetime) -> bool:
        """Whether the host is open at ``at`` (an aware time), read in the host's time zone."""
        return self.hours.is_open(at.astimezone(self.zone).replace(tzinfo=None))


def points_from_fleet(fleet: Fleet) -> dict[str, PointInfo]:
    """Every point of the fleet that resolves (one that does not is logged and skipped: ops validate)."""
    out: dict[str, PointInfo] = {}
    for pid in fleet.point_ids():
        try:
            c = fleet.resolve(pid).config
        except ConfigError as exc:
            log.error("%s: configuration does not resolve (%d problems); no alerts are mailed for it",
                      pid, len(exc.problems))  # fmt: skip
            continue
        out[pid] = PointInfo(pid, c.host.name, c.host.contact.email, c.support.email, c.host.opening_hours,
                             c.host.zone)  # fmt: skip
    return out


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    starttls: bool = False
    """Upgrade the connection with STARTTLS (and verify the server's certificate) before anything else."""
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    timeout_s: float = 30.0


#: Headers unfolded up to RFC 5322's 998 characters: a subject in two languages folded before its first word
#: would reach the staff's mailbox with a leading space.
MAIL_POLICY = email.policy.SMTP.clone(max_line_length=998)


class Mailer:
    """Sends one mail per call with :mod:`smtplib` on a worker thread (one at a time)."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.s = settings
        self._lock = asyncio.Lock()

    def _send(self, message: EmailMessage) -> None:
        s = self.s
        with smtplib.SMTP(s.host, s.port, timeout=s.timeout_s) as smtp:
            if s.starttls:
                smtp.starttls(context=ssl.create_default_context(cafile=s.ca_file))
            if s.username:
                smtp.login(s.username, s.password or "")
            smtp.send_message(message)

    async def send(self, to: list[str], subject: str, body: str) -> None:
        message = EmailMessage(policy=MAIL_POLICY)
        message["From"] = self.s.sender
        message["To"] = ", ".join(to)
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=self.s.sender.rsplit("@", 1)[-1] or None)
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to the notifier
        message.set_content(body)
        async with self._lock:
            await asyncio.to_thread(self._send, message)


# --------------------------------------------------------------------------------------------- the words


def _when(t: dt.datetime, language: Language) -> str:
    """A time as each language writes it (the host's zone): ``2.12.2026 11.00``, in English ``11:00``."""
    sep = ":" if language == "en" else "."
    return f"{t.day}.{t.month}.{t.year} {t.hour}{sep}{t.minute:02d}"


def compose(event: str, info: PointInfo | None, point: str, *, device: str | None = None,
            code: str | None = None, count: int = 1, since: dt.datetime | None = None,
            reminder: bool = False) -> tuple[str, str]:  # fmt: skip
    """A mail's subject and body for ``event`` (``device``, ``device_cleared``, ``help``, ``crash_loop``,
    ``crash_loop_cleared``, ``offline``, ``online``): every language, from the catalogue (``alert.*``)."""
    subjects, bodies = [], []
    for lang in LANGUAGES:
        host = info.host.in_(lang) if info else point
        zone = info.zone if info else dt.UTC
        when = _when(since.astimezone(zone), lang) if since else ""
        params: dict[str, Any] = {
            "point": point, "host": host, "device": texts.word(f"kiosk.device.{device}", lang) if device else "",
            "problem": texts.staff_advice(code, lang), "count": count, "since": when,
        }  # fmt: skip
        subjects.append(texts.text(f"alert.subject.{event}", lang, **params))
        body = texts.text(f"alert.body.{event}", lang, **params)
        if reminder:
            body = texts.text("alert.reminder", lang, **params) + "\n" + body
        bodies.append(body + "\n\n" + texts.text("alert.footer", lang, **params))
    prefix = texts.text("alert.reminder_tag", "fi") + " " if reminder else ""
    return prefix + subjects[0] + " / " + subjects[2], "\n\n-- \n\n".join(bodies) + "\n"


# --------------------------------------------------------------------------------------------- the logic


@dataclass
class Problem:
    """One open problem of one point (a device's fault, a crash loop, an offline point, recent help)."""

    key: tuple[str, str, str | None]
    code: str | None
    since: dt.datetime
    mailed_at: dt.datetime | None = None
    reports: int = 1


def save_problems(path: Path, problems: dict[tuple[str, str, str | None], Problem]) -> None:
    """Keep the open problems over a restart (written atomically): a fault mailed before a restart still gets
    its all-clear, and its repeats are not mailed again."""
    rows = [{"key": list(p.key), "code": p.code, "since": p.since.isoformat(), "reports": p.reports,
             "mailed_at": p.mailed_at.isoformat() if p.mailed_at else None} for p in problems.values()]  # fmt: skip
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(rows), encoding="utf-8")
    os.replace(tmp, path)


def load_problems(path: Path) -> dict[tuple[str, str, str | None], Problem]:
    """The open problems :func:`save_problems` kept (none if the file is missing or unreadable)."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        out = {}
        for r in rows:
            key = (str(r["key"][0]), str(r["key"][1]), None if r["key"][2] is None else str(r["key"][2]))
            mailed = dt.datetime.fromisoformat(r["mailed_at"]) if r["mailed_at"] else None
            out[key] = Problem(key, r["code"], dt.datetime.fromisoformat(r["since"]), mailed, int(r["reports"]))
        return out
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        log.error("open problems not read from %s (%s): starting with none", path, type(exc).__name__)
        return {}


@dataclass
class Notifier:
    """Groups alerts into problems and mails them; ``publish_ack`` answers accepted alerts."""

    points: dict[str, PointInfo]
    mailer: Mailer
    publish_ack: Callable[[str, str], Any]
    """``(point, alert id)`` → an awaitable publishing the acknowledgement."""
    support: list[str] = field(default_factory=list)
    reminder_s: float = 3600.0
    offline_grace_s: float = 300.0
    clock: Clock = _now
    open: dict[tuple[str, str, str | None], Problem] = field(default_factory=dict)
    online: dict[str, bool] = field(default_factory=dict)
    offline_since: dict[str, dt.datetime] = field(default_factory=dict)
    stale_s: float = 600.0
    """A point whose agent reported no state for this long counts as offline, even if its ``online`` flag
    (the last will) says otherwise: a hung agent, or a network that drops packets without closing the link."""
    last_state: dict[str, dt.datetime] = field(default_factory=dict)
    silent: dict[str, bool] = field(default_factory=dict)
    unsent: list[Alert] = field(default_factory=list)
    """Alerts whose mail the SMTP server did not take yet (tried again by :meth:`tick`)."""
    mails_sent: int = 0
    state_path: Path | None = None
    """Where the open problems are kept over restarts (:func:`save_problems`); ``None``: in memory only."""

    def _save(self) -> None:
        if self.state_path is not None:
            try:
                save_problems(self.state_path, self.open)
            except OSError as exc:
                log.error("open problems not saved: %s", exc.strerror)

    def _recipients(self, point: str, *, support: bool = True) -> list[str]:
        info = self.points.get(point)
        to = [info.host_email] if info and info.host_email else []
        if support or not to:
            to += ([info.support_email] if info and info.support_email else []) + self.support
        return list(dict.fromkeys(to))

    async def _mail(self, point: str, event: str, *, support: bool = True, **kw: Any) -> bool:
        to = self._recipients(point, support=support)
        if not to:
            log.error("%s: %s not mailed: no host or support address is configured", point, event)
            return False
        subject, body = compose(event, self.points.get(point), point, **kw)
        try:
            await self.mailer.send(to, subject, body)
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("%s: %s not mailed (%s); trying again", point, event, type(exc).__name__)
            return False
        self.mails_sent += 1
        log.info("%s: %s mailed to %d recipient(s)", point, event, len(to))
        return True

    async def on_alert(self, alert: Alert) -> bool:
        """Handle one alert; ``True`` (and acknowledged) once it is accepted."""
        accepted = await self._handle(alert)
        self._save()
        if accepted:
            with contextlib.suppress(aiomqtt.MqttError):
                await self.publish_ack(alert.point, alert.id)
        elif alert not in self.unsent:
            self.unsent.append(alert)
            del self.unsent[:-200]
        return accepted

    async def _handle(self, alert: Alert) -> bool:
        now = self.clock()
        key = alert.key
        problem = self.open.get(key)
        if alert.kind == "help":  # a moment, grouped with the presses of the last reminder period
            recent = problem is not None and problem.mailed_at is not None and (
                (now - problem.mailed_at).total_seconds() < self.reminder_s
            )
            if problem is not None and recent:
                problem.reports += 1
                return True
            if not await self._mail(alert.point, "help", support=False):
                return False
            self.open[key] = Problem(key, None, alert.at, mailed_at=now)
            return True
        if alert.state == "cleared":
            if problem is None or problem.mailed_at is None:
                self.open.pop(key, None)
                return True  # never mailed: nobody needs an all-clear
            event = "crash_loop_cleared" if alert.kind == "crash_loop" else "device_cleared"
            if not await self._mail(alert.point, event, device=alert.device, code=problem.code):
                return False
            del self.open[key]
            return True
        # an open fault or crash loop
        if problem is not None and problem.code == alert.code and problem.mailed_at is not None:
            problem.reports += 1
            if (now - problem.mailed_at).total_seconds() < self.reminder_s:
                return True  # grouped: the staff were told of this one
            reminder = True
        else:
            problem = self.open[key] = Problem(key, alert.code, alert.at)
            reminder = False
        kind = "crash_loop" if alert.kind == "crash_loop" else "device"
        if not await self._mail(alert.point, kind, device=alert.device, code=alert.code, count=alert.count,
                                since=problem.since, reminder=reminder):  # fmt: skip
            return False
        problem.mailed_at = now
        return True

    def on_online(self, point: str, online: bool, *, since: dt.datetime | None = None) -> None:
        was = self.online.get(point)
        self.online[point] = online
        if not online and was is not False:
            self.offline_since.setdefault(point, since or self.clock())
        elif online:
            self.offline_since.pop(point, None)

    def on_state(self, point: str) -> None:
        """A point reported its state: its agent is alive (a silent one is offline, see :meth:`tick`)."""
        self.last_state[point] = self.clock()
        if self.silent.pop(point, False):
            self.on_online(point, True)

    async def tick(self) -> None:
        """Now and then: offline points in opening hours, their all-clears, reminders and unsent mails."""
        now = self.clock()
        for point, seen in self.last_state.items():
            if not self.silent.get(point) and self.online.get(point) and (now - seen).total_seconds() >= self.stale_s:
                self.silent[point] = True
                self.on_online(point, False, since=seen)
        for alert in list(self.unsent):
            self.unsent.remove(alert)
            await self.on_alert(alert)
        for point, since in list(self.offline_since.items()):
            key: tuple[str, str, str | None] = (point, "offline", None)
            info = self.points.get(point)
            if info is None or (now - since).total_seconds() < self.offline_grace_s or not info.is_open(now):
                continue
            problem = self.open.get(key)
            if problem is None:
                problem = self.open[key] = Problem(key, "offline", since)
            elif problem.mailed_at and (now - problem.mailed_at).total_seconds() < self.reminder_s:
                continue
            reminder = problem.mailed_at is not None
            if await self._mail(point, "offline", since=since, reminder=reminder):
                problem.mailed_at = now
        for open_key, problem in list(self.open.items()):
            point, kind, _ = open_key
            back = kind == "offline" and self.online.get(point)
            if back and (problem.mailed_at is None or await self._mail(point, "online", since=problem.since)):
                del self.open[open_key]
        self._save()


# --------------------------------------------------------------------------------------------- the service


async def run(make_client: Callable[[], aiomqtt.Client], notifier: Notifier, *, check_s: float = 30.0,
              ready: Callable[[], None] | None = None) -> None:  # fmt: skip
    """Notify until cancelled; reconnect with full jitter whenever the broker goes away."""
    backoff = Backoff(base_s=1.0, cap_s=30.0)
    client_box: list[aiomqtt.Client] = []

    async def publish_ack(point: str, alert_id: str) -> None:
        if client_box:
            payload = AlertAck(id=alert_id).model_dump_json().encode()
            await client_box[0].publish(broker.topic(point, "alert_ack"), payload, qos=1)

    notifier.publish_ack = publish_ack

    async def ticker() -> None:
        while True:
            await asyncio.sleep(check_s)
            try:
                await notifier.tick()
            except Exception:  # a bug in one round must not stop the notifier
                log.exception("notifier round failed")

    ticking = asyncio.create_task(ticker())
    try:
        while True:
            try:
                async with make_client() as client:
                    client_box[:] = [client]
                    for kind in ("alert", "online", "state"):
                        await client.subscribe(broker.all_points(kind), qos=1)
                    log.info("notifier connected; %d points known", len(notifier.points))
                    backoff.reset()
                    if ready is not None:
                        ready()
                        ready = None
                    async for message in client.messages:
                        await _dispatch(notifier, message)
            except aiomqtt.MqttError as exc:
                client_box.clear()
                delay = next(backoff)
                log.warning("broker: %s; connecting again in %.1f s", exc, delay)
                await asyncio.sleep(delay)
    finally:
        ticking.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticking


async def _dispatch(notifier: Notifier, message: aiomqtt.Message) -> None:
    topic = message.topic.value
    point = broker.point_of(topic)
    payload = bytes(message.payload) if isinstance(message.payload, bytes | bytearray) else b""
    if point is None or not payload:
        return
    try:
        broker.check_point_id(point)
    except ValueError:
        return
    kind = topic.rsplit("/", 1)[-1]
    if kind == "online":
        notifier.on_online(point, payload.strip() == b"true")
    elif kind == "state":
        notifier.on_state(point)
    elif kind == "alert":
        try:
            alert = Alert.model_validate_json(payload)
        except ValidationError:
            log.warning("%s: malformed alert ignored", point)
            return
        if alert.point != point:  # the ACL lets a point write only its own topic; the payload must agree
            log.warning("%s: alert naming another point ignored", point)
            return
        await notifier.on_alert(alert)


class NotifierError(ValueError):
    """A setting the operator must fix."""


def main(args: Any, make_client: Callable[[], aiomqtt.Client]) -> int:
    """``etapiste ops notifier``: run until stopped (systemd's SIGTERM)."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    host, _, port = args.smtp.rpartition(":")
    if not host or not port.isdigit():
        raise NotifierError(f"--smtp {args.smtp!r}: write it as host:port")
    password = None
    if args.smtp_password_file:
        try:
            with open(args.smtp_password_file, encoding="utf-8") as f:
                password = f.read().strip()
        except OSError as exc:
            raise NotifierError(f"--smtp-password-file: {exc.strerror}") from None
    smtp = SmtpSettings(host, int(port), args.sender, starttls=args.starttls, username=args.smtp_user,
                        password=password, ca_file=args.smtp_ca_file)  # fmt: skip
    try:
        points = points_from_fleet(Fleet(args.fleet))
    except (ConfigError, OSError) as exc:
        raise NotifierError(f"--fleet {args.fleet}: {exc}") from None

    async def no_ack(point: str, alert_id: str) -> None:  # replaced by run() once connected
        return None

    notifier = Notifier(points, Mailer(smtp), no_ack, support=list(args.support or []),
                        reminder_s=args.reminder_min * 60, offline_grace_s=args.offline_grace_s,
                        stale_s=args.stale_s, state_path=Path(args.state) if args.state else None)  # fmt: skip
    if notifier.state_path is not None:
        notifier.open = load_problems(notifier.state_path)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(make_client, notifier, check_s=args.check_s))
    return 0
