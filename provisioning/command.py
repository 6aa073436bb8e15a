"""Signed remote commands: what the ops tool sends to one point and what that point will run.

A command travels on ``etapiste/point/<id>/command`` signed exactly like a bundle
(:func:`provisioning.bundle.sign_document`, the organiser's Ed25519 keys, the point's
:class:`~provisioning.bundle.TrustStore`)::

    {"signed": {"type": "etapiste-command", "spec": 1, "point": "<point id>", "id": "c-1a2b3c4d5e6f",
                "name": "out_of_service", "args": {"on": true, "message": {"fi": …, "sv": …, "en": …}},
                "issued": "2026-11-28T08:00:00Z", "expires": "2026-11-29T08:00:00Z"},
     "signatures": [{"keyid": "<hex>", "sig": "<base64 Ed25519 signature>"}]}

Why: the broker's ops accounts only authenticate a *connection*. Without a signature, whoever holds an
ops password — or runs the broker — could put any out-of-service text on every kiosk, reboot the fleet
or pull diagnostics. With it, only the holder of an organiser key can, and only for the one point, the
limited time and the single run the organiser signed.

Checks a point makes, in order, each failure with its own code (reported to ops in the ``ack``):

============== ==============================================================================
``malformed``  not JSON, larger than :data:`MAX_COMMAND_BYTES`, or fields/arguments not valid
``unsigned``   no ``signed`` section or no signature (the unsigned format of before)
``signature``  no valid signature by a key this point trusts (forged, tampered, unknown key)
``wrong_point`` addressed to another point
``no_expiry``  no ``expires``: every command must say until when it may run
``expired``    past its ``expires``
``too_long``   valid for longer than :data:`MAX_VALIDITY` after ``issued`` (a replay window must be short)
``replay``     this command id already reached this point (:class:`SeenCommands`, persisted)
============== ==============================================================================
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError

from etapiste import safejson
from etapiste.codes import CommandRefusalCode
from etapiste.model import ID_PATTERN, FrozenModel
from provisioning.bundle import (
    NOT_UNICODE,
    SigningKey,
    TrustStore,
    atomic_write,
    sign_document,
    signer_ids,
    trusted_signer,
    unicode_text,
)

COMMAND_TYPE = "etapiste-command"
COMMAND_SPEC = 1
#: A command larger than this is refused before parsing (the largest real one, out of service with three
#: messages, is well under a kilobyte).
MAX_COMMAND_BYTES = 16 * 1024
#: The longest a command may stay valid after it was issued. A point offline for longer must be handled
#: with a fresh command; this is also how long a point has to remember the ids it has seen.
MAX_VALIDITY = dt.timedelta(days=7)
#: How far ``issued`` may lie ahead of the point's clock (clocks of the ops workstation and the point differ).
CLOCK_SKEW = dt.timedelta(minutes=10)
#: The longest out-of-service message per language (a kiosk screen shows a sentence or two).
MAX_MESSAGE_CHARS = 300

CommandName = Literal["restart", "reboot", "out_of_service", "test_print", "diagnostics"]
COMMAND_NAMES: tuple[CommandName, ...] = ("restart", "reboot", "out_of_service", "test_print", "diagnostics")
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_TIME = "%Y-%m-%dT%H:%M:%SZ"


class CommandRejected(Exception):
    """A command the point will not run; ``code`` is machine-readable (see the module's table).

    ``id`` and ``name`` are what the document claims (only when they look like an id and a command
    name), so ops can match the refusal to what they sent even when it was not signed.
    """

    def __init__(self, code: CommandRefusalCode, message: str, *, id: str | None = None, name: str | None = None):
        self.code: CommandRefusalCode = code
        self.id = id
        self.name = name
        super().__init__(message)


class OutOfServiceArgs(FrozenModel):
    """``out_of_service``: on with a message in all three languages, or off."""

    on: bool = True
    message: dict[Literal["fi", "sv", "en"], str] | None = None


class RemoteCommand(FrozenModel):
    """The signed part of a command (``signed``); everything in it is covered by the signature."""

    type: Literal["etapiste-command"]
    spec: Literal[1]
    point: str = Field(pattern=ID_PATTERN)
    id: str = Field(pattern=_ID.pattern)
    name: CommandName
    args: dict[str, Any] = Field(default_factory=dict)
    issued: dt.datetime
    expires: dt.datetime


def utc_text(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime(_TIME)


def sign_command(
    point: str,
    name: CommandName,
    args: dict[str, Any] | None = None,
    *,
    keys: list[SigningKey],
    valid_for: dt.timedelta,
    command_id: str,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """A command for ``point`` signed with ``keys``, valid from now for ``valid_for`` (at most
    :data:`MAX_VALIDITY`)."""
    if not dt.timedelta(0) < valid_for <= MAX_VALIDITY:
        raise ValueError(f"a command is valid for more than 0 and at most {MAX_VALIDITY.days} days")
    if not _ID.match(command_id):
        raise ValueError(f"{command_id!r} is not a command id (1-64 letters, digits, _ . : -)")
    now = now or dt.datetime.now(dt.UTC)
    signed = {
        "type": COMMAND_TYPE,
        "spec": COMMAND_SPEC,
        "point": point,
        "id": command_id,
        "name": name,
        "args": dict(args or {}),
        "issued": utc_text(now),
        "expires": utc_text(now + valid_for),
    }
    return sign_document(signed, keys)


def _claimed(doc: Any) -> tuple[str | None, str | None]:
    """The id and name a document claims, for the refusal's acknowledgement (never trusted)."""
    if not isinstance(doc, dict):
        return None, None
    signed = doc.get("signed")
    part: dict[str, Any] = signed if isinstance(signed, dict) else doc
    cid, name = part.get("id"), part.get("name")
    return (cid if isinstance(cid, str) and _ID.match(cid) else None,
            name if name in COMMAND_NAMES else None)  # fmt: skip


def _time(signed: dict[str, Any], field: str, cid: str | None, name: str | None) -> dt.datetime:
    text = signed.get(field)
    try:
        if not isinstance(text, str):
            raise ValueError
        return dt.datetime.strptime(text, _TIME).replace(tzinfo=dt.UTC)
    except ValueError:
        raise CommandRejected(
            "malformed", f"{field} {text!r} is not a UTC time like 2026-12-31T00:00:00Z", id=cid, name=name
        ) from None


def verify_command(payload: bytes, *, point: str, trust: TrustStore, now: dt.datetime | None = None) -> RemoteCommand:
    """Check one command for ``point`` (see the module's docstring) or raise :class:`CommandRejected`.

    The signature is checked before anything the document says is believed; the replay check is the
    caller's (:class:`SeenCommands`), since it needs the point's state.
    """
    if len(payload) > MAX_COMMAND_BYTES:
        raise CommandRejected("malformed", f"the command is {len(payload)} bytes; the limit is {MAX_COMMAND_BYTES}")
    try:
        doc = safejson.loads(payload)  # nested past 32 levels is malformed before the signature check walks it
    except ValueError as exc:
        raise CommandRejected("malformed", f"the command is not JSON: {exc}") from None
    cid, name = _claimed(doc)
    if not unicode_text(doc):
        raise CommandRejected("malformed", NOT_UNICODE.format(what="command"), id=cid, name=name)
    if not isinstance(doc, dict) or not isinstance(doc.get("signed"), dict) or not doc.get("signatures"):
        raise CommandRejected(
            "unsigned", "the command is not signed; the ops tool signs commands with the organiser's key"
            " (etapiste ops command --key …)", id=cid, name=name,
        )  # fmt: skip
    signed: dict[str, Any] = doc["signed"]
    if signed.get("type") != COMMAND_TYPE or signed.get("spec") != COMMAND_SPEC:
        raise CommandRejected("malformed", f"not an {COMMAND_TYPE} of spec {COMMAND_SPEC}", id=cid, name=name)
    if trusted_signer(doc, trust) is None:
        raise CommandRejected(
            "signature", f"no valid signature by a trusted key (signed by: {signer_ids(doc)})", id=cid, name=name
        )
    if signed.get("point") != point:
        raise CommandRejected(
            "wrong_point", f"the command is addressed to {signed.get('point')!r}, not to this point", id=cid, name=name
        )
    if "expires" not in signed:
        raise CommandRejected("no_expiry", "the command has no expiry; every command must say until when it may run",
                              id=cid, name=name)  # fmt: skip
    issued, expires = _time(signed, "issued", cid, name), _time(signed, "expires", cid, name)
    now = now or dt.datetime.now(dt.UTC)
    if expires <= now:
        raise CommandRejected("expired", f"the command expired at {utc_text(expires)}; not run", id=cid, name=name)
    if expires - issued > MAX_VALIDITY or expires <= issued:
        raise CommandRejected(
            "too_long", f"the command is valid from {utc_text(issued)} to {utc_text(expires)}; a command may be"
            f" valid for at most {MAX_VALIDITY.days} days", id=cid, name=name,
        )  # fmt: skip
    if issued > now + CLOCK_SKEW:
        raise CommandRejected("malformed", f"the command was issued in the future ({utc_text(issued)})",
                              id=cid, name=name)  # fmt: skip
    try:
        cmd = RemoteCommand.model_validate(signed)
        if cmd.name == "out_of_service":
            _check_out_of_service(OutOfServiceArgs.model_validate(cmd.args))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise CommandRejected("malformed", f"invalid command ({where}: {first['msg']})", id=cid, name=name) from None
    except ValueError as exc:
        raise CommandRejected("malformed", str(exc), id=cid, name=name) from None
    return cmd


def _check_out_of_service(args: OutOfServiceArgs) -> None:
    if not args.on:
        return
    message = args.message or {}
    if not all(message.get(k, "").strip() for k in ("fi", "sv", "en")):
        raise ValueError("out_of_service on needs a message in fi, sv and en")
    longest = max(len(v) for v in message.values())
    if longest > MAX_MESSAGE_CHARS:
        raise ValueError(f"an out-of-service message is at most {MAX_MESSAGE_CHARS} characters (got {longest})")


@dataclass
class _Seen:
    issued: dt.datetime
    expires: dt.datetime


class SeenCommands:
    """The ids of commands that reached this point and could still be valid, kept in ``path``.

    A command is claimed *before* it runs and the claim is on disk first, so a command runs at most
    once, even across agent restarts and reboots (a ``reboot`` redelivered by the broker after the
    reboot must not reboot the point again). Entries are dropped once their command has expired (an
    expired command is refused anyway), which bounds the store by :data:`MAX_VALIDITY`; beyond
    ``limit`` entries the oldest-issued is dropped and its ``issued`` time becomes a floor: anything
    issued at or before it is refused, so forgetting an id never re-opens it to a replay.
    """

    def __init__(self, path: Path, *, limit: int = 1000):
        self.path = path
        self.limit = limit
        self.floor: dt.datetime | None = None
        self.seen: dict[str, _Seen] = {}
        self._load()

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError):
            # A damaged store: refuse everything issued before now rather than risk running a replay.
            self.floor = dt.datetime.now(dt.UTC)
            return
        with contextlib.suppress(TypeError, ValueError, AttributeError, KeyError):
            floor = data.get("floor")
            self.floor = dt.datetime.fromisoformat(floor) if floor else None
            self.seen = {
                k: _Seen(dt.datetime.fromisoformat(v[0]), dt.datetime.fromisoformat(v[1]))
                for k, v in dict(data.get("seen", {})).items()
            }
            return
        self.floor, self.seen = dt.datetime.now(dt.UTC), {}

    def _save(self) -> None:
        data = {
            "floor": self.floor.isoformat() if self.floor else None,
            "seen": {k: [v.issued.isoformat(), v.expires.isoformat()] for k, v in self.seen.items()},
        }
        atomic_write(self.path, json.dumps(data).encode(), mode=0o600)

    def claim(self, cmd: RemoteCommand, now: dt.datetime | None = None) -> None:
        """Record ``cmd`` as run, or raise :class:`CommandRejected` (``replay``) if it ran before."""
        now = now or dt.datetime.now(dt.UTC)
        issued, expires = cmd.issued.astimezone(dt.UTC), cmd.expires.astimezone(dt.UTC)
        if cmd.id in self.seen:
            raise CommandRejected("replay", f"command {cmd.id} already reached this point; not run again",
                                  id=cmd.id, name=cmd.name)  # fmt: skip
        if self.floor is not None and issued <= self.floor:
            raise CommandRejected(
                "replay", f"command {cmd.id} was issued before {utc_text(self.floor)}, older than the commands this"
                " point still remembers; not run (send a new one)", id=cmd.id, name=cmd.name,
            )  # fmt: skip
        self.seen = {k: v for k, v in self.seen.items() if v.expires > now}
        self.seen[cmd.id] = _Seen(issued, expires)
        while len(self.seen) > self.limit:
            oldest = min(self.seen, key=lambda k: self.seen[k].issued)
            dropped = self.seen.pop(oldest).issued
            self.floor = dropped if self.floor is None else max(self.floor, dropped)
        self._save()


__all__ = [
    "COMMAND_NAMES",
    "MAX_VALIDITY",
    "CommandName",
    "CommandRejected",
    "RemoteCommand",
    "SeenCommands",
    "sign_command",
    "verify_command",
]
