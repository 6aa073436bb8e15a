"""The fuzz campaign's core (issue 24): seeded generators of hostile messages and one driver per endpoint
that feeds them to the real code and judges each answer. ``bench/fuzz.py`` runs it long (100 000 messages per
endpoint), ``tests/test_fuzz.py`` short (a few thousand), so a regression shows in the suite at once.

Why a seeded ``random.Random`` and not hypothesis: the campaign is a throughput run (hundreds of thousands of
messages against live sockets, each judged on the spot) whose figures are reproduced by ``--seed``; hypothesis
is built for shrinking one failing example of a property, and its per-example overhead and database would be
most of the run. A failure here prints the exact frame, which then becomes a regression test of its own.

Two kinds of input, for every endpoint:

* **raw**: random bytes, truncated valid frames, huge strings, deep nesting, unicode oddities (lone
  surrogates, NUL, overlong UTF-8), ``NaN``/``Infinity``, integers past Python's digit limit, duplicate keys,
  JSON that is not an object;
* **structure-aware**: a valid message of the endpoint (with the live ids of the scene, so it reaches the
  handlers behind the parser) mutated field by field: dropped, added, retyped, oversized, boundary values, a
  wrong ``type``/``op``, a wrong protocol version; nested objects are mutated too. A share stays valid, so the
  endpoint's state moves (queues, calls, transfers, applied bundles).

The oracle, per message: no exception escapes (or is logged as one: the endpoints catch and log rather than
die, and a caught bug is still a crash here), the handler answers within ``hang_s`` (a watchdog, not a
performance figure), the connection stays usable (a valid message still works, checked periodically), and
every refusal carries a code from :mod:`etapiste.codes` (or is a documented silent drop: the data channel
and a stray document chunk answer nothing, by design).

Production code never imports this module (the layers' contract forbids it)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import logging
import random
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast, get_args

import aiohttp

from etapiste import codes
from etapiste import protocol as p

#: A handler that has not answered within this many seconds is a hang.
HANG_S = 2.0
#: Names of the endpoints, in the order ``bench/fuzz.py`` runs them.
ENDPOINTS = (
    "switchboard.point",
    "switchboard.desk",
    "kiosk.datachannel",
    "agent.bundle",
    "agent.command",
    "agent.kiosk_link",
)

PROTOCOL_CODES = frozenset(get_args(codes.ProtocolErrorCode))
TRANSFER_CODES = frozenset(get_args(codes.TransferCode))
BUNDLE_CODES = frozenset(get_args(codes.BundleRefusalCode))
COMMAND_CODES = frozenset(get_args(codes.CommandRefusalCode))


# ------------------------------------------------------------------------------------------------ tallies


@dataclass
class Tally:
    """What one endpoint did with its messages."""

    endpoint: str
    messages: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    """Messages answered with a refusal, by code."""
    ignored: int = 0
    """Messages dropped without an answer, by design (documented per endpoint)."""
    accepted: int = 0
    """Valid messages acted on."""
    crashes: list[str] = field(default_factory=list)
    hangs: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def crash(self, what: str, frame: Any) -> None:
        self.crashes.append(f"{what}: {_show(frame)}")

    def hang(self, frame: Any) -> None:
        self.hangs.append(f"no answer within the bound: {_show(frame)}")

    def summary(self) -> str:
        refused = ", ".join(f"{c} {n}" for c, n in self.refused.most_common())
        return (
            f"{self.endpoint}: {self.messages} messages in {self.seconds:.1f} s; refused {sum(self.refused.values())}"
            f" ({refused}); accepted {self.accepted}; ignored {self.ignored}; crashes {len(self.crashes)};"
            f" hangs {len(self.hangs)}"
        )


def _show(frame: Any, limit: int = 300) -> str:
    text = repr(frame)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} chars)"


class Errors(logging.Handler):
    """Every ERROR record (a caught-and-logged exception is still a crash for the fuzz)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def take(self) -> list[str]:
        out = [
            f"{r.name}: {r.getMessage()[:200]}" + (f" ({r.exc_info[1]!r})" if r.exc_info else "") for r in self.records
        ]
        self.records.clear()
        return out


@contextlib.contextmanager
def watching_errors() -> Any:
    handler = Errors()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


# ------------------------------------------------------------------------------------------------ generators

_ODD_TEXT = [
    "",
    " ",
    "\x00",
    "\u202e",
    "\ufeff",
    "🙂" * 3,
    "e\u0301",
    "\ud800",
    "\udfff",
    "a" * 65,
    "../../etc/passwd",
    "<script>",
    "%s%n",
    "NaN",
    "null",
    "\n",
    "\r\n",
    "ä" * 10,
    "\u2028",
]
_ODD_NUMBERS: list[Any] = [
    0,
    -1,
    1,
    2**31,
    2**63,
    2**64,
    -(2**63),
    10**30,
    0.5,
    -0.0,
    1e308,
    float("nan"),
    float("inf"),
    float("-inf"),
    True,
    False,
]


class Fuzz:
    """The seeded generator: ``raw()`` for hostile text and bytes, ``mutate()`` for a valid message changed."""

    def __init__(self, seed: int):
        self.r = random.Random(seed)

    # ---- values
    def text(self, n: int | None = None) -> str:
        r = self.r
        n = r.choice([0, 1, 8, 64, 300]) if n is None else n
        pick = r.random()
        if pick < 0.4:
            return "".join(r.choice("abcdefghijklmnopqrstuvwxyz0123456789-_.:") for _ in range(n))
        if pick < 0.7:
            return r.choice(_ODD_TEXT)
        return "".join(chr(r.randrange(0x20, 0x2FFF)) for _ in range(min(n, 64)))

    def value(self, depth: int = 0) -> Any:
        r = self.r
        pick = r.randrange(9)
        if pick == 0:
            return None
        if pick == 1:
            return r.choice(_ODD_NUMBERS)
        if pick == 2:
            return r.randrange(-1000, 1000)
        if pick == 3:
            return self.text()
        if pick == 4 and depth < 3:
            return [self.value(depth + 1) for _ in range(r.randrange(4))]
        if pick == 5 and depth < 3:
            return {self.text(4): self.value(depth + 1) for _ in range(r.randrange(4))}
        if pick == 6:
            return "x" * r.choice([61, 65, 121, 257, 1001, 2001, 8001, 70_000])
        if pick == 7:
            return r.choice([True, False])
        return r.random() * 10 ** r.randrange(-5, 20)

    # ---- raw input
    def raw(self, valid: str) -> str | bytes:
        """Hostile text or bytes; ``valid`` is a valid frame of the endpoint, to cut and splice."""
        r = self.r
        kind = r.randrange(13)
        if kind == 0:
            return bytes(r.randrange(256) for _ in range(r.randrange(200)))
        if kind == 1:
            return valid[: r.randrange(len(valid) + 1)]
        if kind == 2:
            cut = r.randrange(len(valid) + 1)
            return valid[:cut] + self.text() + valid[cut:]
        if kind == 3:
            return '{"type": "' + "x" * r.choice([100, 70_000, 300_000]) + '"}'
        if kind == 4:
            d = r.choice([2, 31, 32, 33, 200, 1000, 5000])
            return r.choice(["[" * d + "]" * d, '{"a":' * d + "1" + "}" * d, "[" * d])
        if kind == 5:
            odd: list[str | bytes] = [
                b"\xc0\xaf",
                b"\xff\xfe{}",
                b'{"type": "\xed\xa0\x80"}',
                '{"type": "\\ud800"}',
                '{"\\u0000": 1}',
                "\ufeff{}",
                '{"type": "rtt\\u0000"}',
            ]
            return r.choice(odd)
        if kind == 6:
            token = r.choice(["NaN", "Infinity", "-Infinity", "1e999", "-0", "1" * 5000, "9" * 4301])
            return valid.replace(": 0", ": " + token, 1) if ": 0" in valid else '{"seq": ' + token + "}"
        if kind == 7:
            return valid[:-1] + ', "type": "' + self.text(6) + '"}' if valid.endswith("}") else valid
        if kind == 8:
            return json.dumps(self.value())
        if kind == 9:
            return valid.encode("utf-8") if r.random() < 0.5 else valid.encode("utf-16")
        if kind == 10:
            return valid + r.choice(["", "x", "\n" + valid, " " * 10, "}"])
        if kind == 11:
            chars = list(valid)
            for _ in range(r.randrange(1, 5)):
                if chars:
                    chars[r.randrange(len(chars))] = chr(r.randrange(0x20, 0x80))
            return "".join(chars)
        return self.text(r.randrange(200))

    # ---- structure-aware
    def mutate(self, message: dict[str, Any], *, kind_key: str = "type", kinds: frozenset[str] = frozenset()) -> Any:
        """A deep copy of ``message`` with one to three changes (field by field, also inside nested objects).

        A change that makes the message larger than :data:`MAX_MUTATED_BYTES` is taken back: lists grow by
        repeating their own items, so three growths in a row on a bundle's nested lists multiply into
        gigabytes (a long run died of a ``MemoryError`` in ``json.dumps``); every endpoint refuses far less."""
        doc = json.loads(json.dumps(message))
        for _ in range(self.r.randrange(1, 4)):
            before = json.dumps(doc)
            self._change(doc, kind_key, kinds)
            if _larger_than(doc, MAX_MUTATED_BYTES):
                return json.loads(before)
        return doc

    def _containers(self, doc: Any) -> list[Any]:
        found: list[Any] = []
        stack = [doc]
        while stack:
            item = stack.pop()
            if isinstance(item, dict | list):
                found.append(item)
                stack.extend(item.values() if isinstance(item, dict) else item)
        return found

    def _change(self, doc: Any, kind_key: str, kinds: frozenset[str]) -> None:
        r = self.r
        where = doc if r.random() < 0.6 else r.choice(self._containers(doc))
        if isinstance(where, list):
            if where and r.random() < 0.5:
                where[r.randrange(len(where))] = self.value()
            elif r.random() < 0.5:
                where.extend([r.choice(where) if where else self.value()] * r.choice([1, 20, 200]))
            else:
                where.clear()
            return
        if not isinstance(where, dict):
            return
        op = r.randrange(8)
        keys = list(where)
        if op == 0 and keys:
            del where[r.choice(keys)]
        elif op == 1:
            where[r.choice([self.text(6), "ref", "extra", kind_key, "__proto__"])] = self.value()
        elif op in (2, 3) and keys:
            key = r.choice(keys)
            where[key] = self._retype(where[key])
        elif op == 4 and keys:
            key = r.choice(keys)
            where[key] = self._oversize(where[key])
        elif op == 5 and where is doc:
            where[kind_key] = r.choice([*kinds, self.text(8), "", None, 1]) if kinds else self.text(8)
        elif op == 6 and where is doc and "protocol" in where:
            where["protocol"] = r.choice([0, 2, -1, 2**70, "1", 1.0, None, 1.5])
        elif keys:
            key = r.choice(keys)
            where[key] = r.choice(_ODD_TEXT + _ODD_NUMBERS + [None, [], {}])

    def _retype(self, value: Any) -> Any:
        r = self.r
        if isinstance(value, bool):
            return r.choice([0, 1, "true", None, []])
        if isinstance(value, int):
            return r.choice(
                [str(value), float(value), -value - 1, value + 2**64, None, [value], r.choice(_ODD_NUMBERS)]
            )
        if isinstance(value, str):
            return r.choice([0, None, [value], {"v": value}, value.upper(), value[::-1], value + self.text(3), ""])
        if isinstance(value, list):
            return r.choice([{}, "list", None, 0, [value]])
        if isinstance(value, dict):
            return r.choice([[], "dict", None, 0, [value]])
        return self.value()

    def _oversize(self, value: Any) -> Any:
        r = self.r
        if isinstance(value, str):
            return value + "x" * r.choice([60, 120, 300, 2000, 10_000, 70_000])
        if isinstance(value, bool):
            return 2
        if isinstance(value, int | float):
            return r.choice([10**20, -(10**20), 2**63, 2**64 + 1, 1e300])
        if isinstance(value, list):
            return value * r.choice([50, 500]) if value else [self.value()] * 500
        return value

    def encode(self, doc: Any) -> str:
        """JSON text as a hostile sender writes it (``NaN`` and ``Infinity`` included)."""
        try:
            return json.dumps(doc, allow_nan=True, ensure_ascii=self.r.random() < 0.5)
        except (ValueError, UnicodeEncodeError):
            return json.dumps(doc, allow_nan=True)


MAX_MUTATED_BYTES = 2 * 1024 * 1024
"""Above every endpoint's own limit (the switchboard's 256 KiB frame, the bundle's and the link's sizes)."""


def _larger_than(doc: Any, limit: int) -> bool:
    """Whether ``doc`` as JSON would take more than about ``limit`` bytes, found without encoding it (shared
    items count each time they appear, as the encoder would write them); stops as soon as it knows."""
    total = 0
    stack = [doc]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            total += 2 + 4 * len(item) + sum(len(str(k)) for k in item)
            stack.extend(item.values())
        elif isinstance(item, list):
            total += 2 + len(item)
            stack.extend(item)
        elif isinstance(item, str):
            total += len(item) + 2
        else:
            total += 8 if not isinstance(item, int) else 8 + item.bit_length() // 3
        if total > limit:
            return True
    return False


def frame(fz: Fuzz, valid: dict[str, Any], kinds: frozenset[str], *, kind_key: str = "type") -> tuple[Any, str]:
    """One fuzz frame from ``valid``: unchanged (10 %), mutated (60 %) or raw (30 %); and its kind."""
    roll = fz.r.random()
    if roll < 0.1:
        return json.dumps(valid), "valid"
    if roll < 0.7:
        return fz.encode(fz.mutate(valid, kind_key=kind_key, kinds=kinds)), "mutated"
    return fz.raw(json.dumps(valid)), "raw"


async def _bounded(awaitable: Any, hang_s: float) -> tuple[bool, Any]:
    """(finished, result) of ``awaitable`` within the watchdog's bound."""
    try:
        return True, await asyncio.wait_for(awaitable, hang_s)
    except TimeoutError:
        return False, None


# ------------------------------------------------------------------------------------------------ switchboard


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


async def _send(ws: aiohttp.ClientWebSocketResponse, data: str | bytes) -> None:
    """Bytes as a binary frame; text as a text frame, also when it is not valid UTF-8 (a lone surrogate)."""
    if isinstance(data, bytes):
        await ws.send_bytes(data)
    elif _utf8(data):
        await ws.send_str(data)
    else:
        await ws.send_frame(data.encode("utf-8", "surrogatepass"), aiohttp.WSMsgType.TEXT)


def _closed_by_design(tally: Tally, data: str | bytes) -> bool:
    """The WebSocket itself fails a connection whose frame is not UTF-8 text (RFC 6455 §8.1, close 1007) or is
    larger than the switchboard's ``max_msg_size`` (close 1009): by design, counted under those names."""
    if isinstance(data, str) and not _utf8(data):
        tally.refused["invalid_utf8"] += 1
        return True
    if len(data) > 4 * p.MAX_SIGNAL_BYTES:
        tally.refused["message_too_big"] += 1
        return True
    return False


class Wire:
    """A signalling socket whose frames a reader task collects (a passive one's are thrown away)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, *, keep: bool = True):
        self.ws = ws
        self.frames: asyncio.Queue[str | None] = asyncio.Queue()
        self.keep = keep
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type == aiohttp.WSMsgType.TEXT and self.keep:
                self.frames.put_nowait(msg.data)
        self.frames.put_nowait(None)

    async def send(self, text: str | bytes) -> None:
        await _send(self.ws, text)

    async def until(self, kind: str, timeout: float = 5.0) -> Any:
        async with asyncio.timeout(timeout):
            while True:
                raw = await self.frames.get()
                if raw is None:
                    raise ConnectionError(f"closed while waiting for {kind}")
                msg = p.parse_signal(raw)
                if msg.type == kind:
                    return msg

    async def close(self) -> None:
        self.reader.cancel()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await self.ws.close()


@dataclass
class Scene:
    """A point in a call with an agent, an interpreter joined, and an identity request open: the live ids
    that valid messages carry so they reach the handlers behind the parser."""

    point: Wire
    agent: Wire
    interpreter: Wire
    ids: dict[str, str]

    async def close(self) -> None:
        for wire in (self.point, self.agent, self.interpreter):
            await wire.close()
        await asyncio.sleep(0)


async def _scene(sb: Any, http: dict[str, aiohttp.ClientSession]) -> Scene:
    from simulation.switchboard import POINT_CREDENTIALS

    base = sb.base.replace("http://", "ws://")
    point = Wire(await sb.session.ws_connect(f"{base}/ws/point"))
    await point.send(
        p.encode(p.PointHello(protocol=1, point="oulu-kirjasto", credential=POINT_CREDENTIALS["oulu-kirjasto"]))
    )
    pw = await point.until("welcome")
    agent = Wire(await http["anna"].ws_connect(f"{base}/ws/desk"))
    await agent.send(p.encode(p.DeskHello(protocol=1)))
    aw = await agent.until("welcome")
    interpreter = Wire(await http["tulkki"].ws_connect(f"{base}/ws/desk"))
    await interpreter.send(p.encode(p.DeskHello(protocol=1)))
    iw = await interpreter.until("welcome")
    await point.send(p.encode(p.QueueRequest(producer="kela", queue="kela-general", language="fi")))
    ticket = (await point.until("queue.position")).ticket
    await agent.send(p.encode(p.QueueAccept(ticket=ticket)))
    call = (await point.until("call.start")).call
    await agent.send(p.encode(p.InterpreterInvite(call=call, language="ar")))
    invite = (await interpreter.until("interpreter.invited")).invite
    await agent.send(p.encode(p.IdentityStart(call=call)))
    request = await point.until("identity.request")
    ids = {
        "point": pw.you,
        "agent": aw.you,
        "interpreter": iw.you,
        "ticket": ticket,
        "call": call,
        "invite": invite,
        "request": request.request,
        "nonce": request.nonce,
    }
    return Scene(point, agent, interpreter, ids)


_CERT = "MII" + "A" * 200
_TOKEN = {
    "unverifiedCertificate": _CERT,
    "algorithm": "ES384",
    "signature": "B" * 96,
    "format": "web-eid:1.0",
    "appVersion": "https://web-eid.eu/web-eid-app/releases/2.5.0",
}


def signal_templates(ids: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Valid frames per role, with the scene's live ids."""
    call, me = ids["call"], ids
    relay: list[dict[str, Any]] = [
        {"type": "signal.offer", "call": call, "peer": me["agent"], "sdp": "v=0 fuzz offer"},
        {"type": "signal.answer", "call": call, "peer": me["point"], "sdp": "v=0 fuzz answer"},
        {
            "type": "signal.ice",
            "call": call,
            "peer": me["interpreter"],
            "candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host",
            "sdp_mid": "0",
            "sdp_mline_index": 0,
        },
        {"type": "signal.ice", "call": call, "peer": me["agent"]},
    ]
    return {
        "point": [
            *relay,
            {"type": "queue.request", "producer": "kela", "queue": "kela-general", "language": "fi", "ref": "q1"},
            {"type": "queue.cancel"},
            {"type": "identity.proof", "call": call, "request": ids["request"], "token": _TOKEN},
            {"type": "identity.abort", "call": call, "request": ids["request"], "reason": "cancelled"},
            {"type": "call.hangup", "call": call},
        ],
        "agent": [
            *relay,
            {"type": "queue.accept", "ticket": ids["ticket"]},
            {"type": "interpreter.invite", "call": call, "language": "ar"},
            {"type": "identity.start", "call": call, "ref": "id-1"},
            {"type": "call.hangup", "call": call},
        ],
        "interpreter": [
            *relay,
            {"type": "interpreter.accept", "invite": ids["invite"]},
            {"type": "call.hangup", "call": call},
        ],
    }


def hello_templates() -> dict[str, list[dict[str, Any]]]:
    from simulation.switchboard import POINT_CREDENTIALS

    return {
        "point": [
            {
                "type": "hello.point",
                "protocol": 1,
                "point": "kemi-kirjasto",
                "credential": POINT_CREDENTIALS["kemi-kirjasto"],
                "software": "fuzz",
                "call": "c-1",
                "ticket": "t-1",
            }
        ],
        "desk": [
            {"type": "hello.desk", "protocol": 1, "resume": "d-1", "call": "c-1"},
            {"type": "hello.desk", "protocol": 1},
        ],
    }


#: A frame each role may not send, but that parses: its ``not_allowed`` answer (with the probe's ref) marks
#: the end of the answers to the frame before it (the hub handles one socket's frames in order).
_PROBE = {
    "point": '{"type": "queue.accept", "ticket": "probe", "ref": "%s"}',
    "agent": '{"type": "queue.cancel", "ref": "%s"}',
    "interpreter": '{"type": "queue.cancel", "ref": "%s"}',
}


def _judge_error(tally: Tally, raw: str, fz_frame: Any) -> bool:
    """Count an ``error`` answer; False when it is not a valid, coded one."""
    try:
        msg = p.parse_signal(raw)
    except p.ProtocolError:
        tally.crash("the switchboard sent a frame its own protocol refuses", raw)
        return False
    if msg.type != "error":
        return True
    if msg.code == "internal" or msg.code not in PROTOCOL_CODES:
        tally.crash(f"error code {msg.code}", fz_frame)
        return False
    tally.refused[msg.code] += 1
    return True


async def _after_hello(wire: Wire, role: str, data: Any, n: int, tally: Tally, hang_s: float) -> bool:
    """Send one frame and a probe on a live socket; classify the answers. False: the socket is gone."""
    ref = f"probe-{n}"
    try:
        await wire.send(data)
        await wire.send(_PROBE[role] % ref)
    except (ConnectionError, aiohttp.ClientError):
        # The switchboard closed while the frame was still going out (one past max_msg_size closes at its
        # header, and the rest of it meets a reset): judged like any close below, by design or a crash.
        if not _closed_by_design(tally, data):
            tally.crash("the switchboard reset the socket", data)
        return False
    answers: list[str] = []

    async def collect() -> bool:
        while True:
            raw = await wire.frames.get()
            if raw is None:
                return False
            if f'"{ref}"' in raw:
                return True
            answers.append(raw)

    done, alive = await _bounded(collect(), hang_s)
    if not done:
        tally.hang(data)
        return False
    if not alive:
        if not _closed_by_design(tally, data):
            tally.crash("the switchboard closed the socket", data)
        return False
    errors = [a for a in answers if '"type":"error"' in a]
    for raw in errors:
        _judge_error(tally, raw, data)
    if not errors:
        valid = True
        try:
            p.parse_signal(data)
        except p.ProtocolError:
            valid = False
        if valid:
            tally.accepted += 1
        else:
            tally.crash("a bad frame was not answered", data)
    return True


async def _before_hello(
    sb: Any, http: aiohttp.ClientSession, path: str, data: Any, tally: Tally, hang_s: float
) -> None:
    """A fresh socket whose first frame is ``data``: welcomed, or refused with a coded error and closed."""
    base = sb.base.replace("http://", "ws://")
    ws = await http.ws_connect(f"{base}{path}")
    try:
        await _send(ws, data)
        msg = await asyncio.wait_for(ws.receive(), hang_s)
        if msg.type != aiohttp.WSMsgType.TEXT:
            if not _closed_by_design(tally, data):
                tally.crash(f"no answer before the close ({msg.type.name})", data)
            return
        if '"type":"welcome"' in msg.data:
            tally.accepted += 1
        else:
            _judge_error(tally, msg.data, data)
    except TimeoutError:
        tally.hang(data)
    finally:
        await ws.close()


async def fuzz_switchboard(side: str, messages: int, seed: int, hang_s: float = HANG_S) -> Tally:
    """``side`` ``point`` (the point socket, before and after hello) or ``desk`` (agent and interpreter)."""
    from simulation.clock import FakeClock
    from simulation.switchboard import PASSWORDS, make_config, serve

    tally = Tally(f"switchboard.{side}")
    fz = Fuzz(seed)
    started = time.monotonic()
    kinds = p.SIGNAL_TYPES
    with watching_errors() as errors:
        # The fuzz sends thousands of frames a second on one socket, far past the per-connection rate limit
        # a real point or desk never reaches: lifted here, or every frame would only meet rate_limited.
        # (tests/switchboard/test_slow_sockets.py proves the limit itself.)
        unlimited = make_config(connections={"rate_per_s": 1_000_000, "burst": 1_000_000})
        async with serve(unlimited, clock=FakeClock()) as sb:
            http: dict[str, aiohttp.ClientSession] = {}
            for user in ("anna", "tulkki", "bertil"):
                http[user] = await sb.login(user, PASSWORDS[user])
            scene: Scene | None = None
            try:
                sent = 0
                while sent < messages:
                    if scene is None or sent % 300 == 0:
                        if scene is not None:
                            await scene.close()
                        scene = await _scene(sb, http)
                        scene.point.keep = side == "point"
                        scene.agent.keep = scene.interpreter.keep = side == "desk"
                    sent += 1
                    tally.messages += 1
                    if fz.r.random() < 0.05:  # before hello, on a fresh socket
                        template = fz.r.choice(hello_templates()[side])
                        data, _ = frame(fz, template, kinds)
                        opener = sb.session if side == "point" else http["bertil"]
                        await _before_hello(sb, opener, f"/ws/{side}", data, tally, hang_s)
                    else:
                        role = "point" if side == "point" else fz.r.choice(["agent", "agent", "interpreter"])
                        wire = {"point": scene.point, "agent": scene.agent, "interpreter": scene.interpreter}[role]
                        data, _ = frame(fz, fz.r.choice(signal_templates(scene.ids)[role]), kinds)
                        if not await _after_hello(wire, role, data, sent, tally, hang_s):
                            # Its other sockets are still open: close them too, or every broken scene leaves
                            # two desk sockets behind until the login's connection pool (100) runs dry and
                            # the next scene waits for a connection forever (a long run died of it).
                            await scene.close()
                            scene = None
                    for line in errors.take():
                        tally.crashes.append(f"logged {line} after {_show(data)}")
            finally:
                if scene is not None:
                    await scene.close()
                for session in http.values():
                    await session.close()
            # Usable afterwards: a new point is still welcomed and queued.
            final = await _scene(sb, http={u: await sb.login(u, PASSWORDS[u]) for u in ("anna", "tulkki")})
            await final.close()
    tally.seconds = time.monotonic() - started
    return tally


# ------------------------------------------------------------------------------------------------ kiosk data channel


class FakeChannel:
    """The part of aiortc's RTCDataChannel the engine uses: handlers registered with ``on``, frames sent."""

    readyState = "open"
    bufferedAmount = 0

    def __init__(self) -> None:
        self.handlers: dict[str, Callable[..., Any]] = {}
        self.sent: list[str | bytes] = []
        self.bufferedAmountLowThreshold = 0

    def on(self, event: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            self.handlers[event] = fn
            return fn

        return register

    def send(self, data: str | bytes) -> None:
        self.sent.append(data)


_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + b"x" * 3000


def data_templates(seq: int, transfer: str) -> list[dict[str, Any]]:
    digest = hashlib.sha256(_PDF).hexdigest()
    return [
        {"type": "rtt", "seq": seq, "text": "hei", "final": False},
        {"type": "rtt", "seq": seq, "text": "valmis", "final": True, "ref": "r1"},
        {
            "type": "doc.begin",
            "transfer": transfer,
            "purpose": "print",
            "name": "hakemus.pdf",
            "mime": "application/pdf",
            "size": len(_PDF),
            "sha256": digest,
        },
        {"type": "doc.end", "transfer": transfer},
        {"type": "doc.cancel", "transfer": transfer},
        {"type": "doc.progress", "transfer": transfer, "received": 100},
        {"type": "doc.ack", "transfer": transfer, "ok": False, "reason": "busy"},
        {"type": "scan.request", "request": "scan-1"},
        {"type": "scan.status", "request": "scan-1", "state": "failed", "pages": 0, "reason": "scanner_jammed"},
        {"type": "print.status", "transfer": transfer, "state": "printing", "pages": 2, "pages_done": 1},
        {"type": "identity.status", "request": "req-1", "state": "enter_pin"},
        {"type": "device.status", "device": "camera", "ok": False, "reason": "unplugged"},
    ]


async def fuzz_datachannel(messages: int, seed: int, hang_s: float = HANG_S) -> Tally:
    """The kiosk's data-channel handler (``on_message`` as aiortc calls it) on a minimal engine."""
    from kiosk.call import CallEngine, PrintRequested, RttReceived
    from kiosk.call.peer import Peer

    tally = Tally("kiosk.datachannel")
    fz = Fuzz(seed)
    started = time.monotonic()
    engine = CallEngine(url="ws://127.0.0.1:9/ws/point", point_id="oulu-kirjasto", credential="c" * 32)
    events: list[Any] = []
    engine.subscribe(events.append)
    engine.call, engine.state = "call-1", "in_call"
    peer = Peer(id="agent-1", role="agent", name="Anna", pc=None, we_offer=True)  # type: ignore[arg-type]
    engine.peers[peer.id] = peer
    channel = FakeChannel()
    engine._setup_channel(peer, channel)  # type: ignore[arg-type]
    on_message = channel.handlers["message"]
    warnings: list[logging.LogRecord] = []

    class Warnings(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            warnings.append(record)

    watcher = Warnings(logging.WARNING)
    kiosk_log = logging.getLogger("kiosk")
    kiosk_log.addHandler(watcher)
    level, kiosk_log.level = kiosk_log.level, logging.WARNING
    script: list[Any] = []
    seq = 0
    try:
        with watching_errors() as errors:
            for n in range(1, messages + 1):
                tally.messages += 1
                seq += 1
                transfer = fz.r.choice(["t-1", "t-2", f"t-{n}"])
                if script:
                    data: Any = script.pop(0)
                elif fz.r.random() < 0.05:  # a whole transfer, chunk by chunk (sometimes broken)
                    begin = data_templates(seq, transfer)[2]
                    chunks = [_PDF[i : i + 1000] for i in range(0, len(_PDF), 1000)]
                    if fz.r.random() < 0.3:
                        chunks[fz.r.randrange(len(chunks))] = bytes(
                            fz.r.randrange(256) for _ in range(fz.r.choice([1, 1000, 17000]))
                        )
                    data, script = json.dumps(begin), [*chunks, json.dumps({"type": "doc.end", "transfer": transfer})]
                elif fz.r.random() < 0.05:
                    data = bytes(fz.r.randrange(256) for _ in range(fz.r.choice([0, 10, 16384, 16385])))
                else:
                    data, _ = frame(fz, fz.r.choice(data_templates(seq, transfer)), p.DATA_TYPES)
                sent, seen, malformed = len(channel.sent), len(events), engine.malformed_frames
                warnings.clear()
                t0 = time.monotonic()
                try:
                    on_message(data)
                except Exception as exc:
                    tally.crash(f"{type(exc).__name__} escaped into aiortc", data)
                    continue
                if time.monotonic() - t0 > hang_s:
                    tally.hang(data)
                logged = errors.take()
                if logged:
                    tally.crashes.extend(f"logged {line} after {_show(data)}" for line in logged)
                    continue
                replies = [json.loads(s) for s in channel.sent[sent:] if isinstance(s, str)]
                refusals = [m["reason"] for m in replies if m.get("type") == "doc.ack" and not m.get("ok")]
                if engine.malformed_frames > malformed:
                    codes_seen = [
                        cast(tuple[str, ...], r.args)[1]
                        for r in warnings
                        if r.msg.startswith("malformed data-channel frame")
                    ]
                    for code in codes_seen or ["?"]:
                        if code not in PROTOCOL_CODES:
                            tally.crash(f"refused with code {code}", data)
                        tally.refused[code] += 1
                elif refusals:
                    for reason in refusals:
                        if reason not in TRANSFER_CODES:
                            tally.crash(f"doc.ack reason {reason}", data)
                        tally.refused[reason] += 1
                elif replies or len(events) > seen:
                    tally.accepted += 1
                else:
                    tally.ignored += 1  # not for the point, a stray chunk, a late line: dropped by design
                for e in events[seen:]:
                    if isinstance(e, PrintRequested) and (
                        hashlib.sha256(e.pdf).hexdigest() != e.sha256 or not e.pdf.startswith(b"%PDF-")
                    ):
                        tally.crash("a document that is not what doc.begin announced was handed on", data)
                if n % 500 == 0 or n == messages:  # the channel still carries a line
                    before = len(events)
                    on_message(json.dumps({"type": "rtt", "seq": 0, "text": "still here", "final": True}))
                    if not any(isinstance(e, RttReceived) and e.text == "still here" for e in events[before:]):
                        tally.crash("the data channel stopped carrying real-time text", data)
                if len(events) > 1000:
                    del events[:]
                if len(channel.sent) > 1000:
                    del channel.sent[:]
    finally:
        kiosk_log.removeHandler(watcher)
        kiosk_log.setLevel(level)
        await engine.close()
    tally.seconds = time.monotonic() - started
    return tally


# ------------------------------------------------------------------------------------------------ agent: bundles


class _HealthyKiosk:
    """A kiosk that loads every configuration at once and reports it healthy (the apply's far end)."""

    async def reload(self, version: int, path: str | Path) -> None:
        self.version = version

    async def wait_healthy(self, version: int, timeout: float, *, total: float | None = None) -> tuple[bool, str]:
        return True, ""

    async def wait_connected(self, timeout: float, *, after: int = 0) -> bool:
        return True


async def fuzz_bundles(messages: int, seed: int, hang_s: float = HANG_S) -> Tally:
    """The agent's bundle handler (``Applier.offer``, what the ``desired`` topic feeds) in a real state dir.

    Mutations of the envelope break the signature; mutations of the signed content are signed again with the
    trusted key, so they reach the configuration's validation and the apply itself."""
    from provisioning.apply import Applier
    from provisioning.bundle import SigningKey, TrustStore, sign_document
    from simulation.point_config import config_for

    tally = Tally("agent.bundle")
    fz = Fuzz(seed)
    started = time.monotonic()
    key = SigningKey.generate()
    expires = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    base_config = config_for("point-a", 9443)
    with tempfile.TemporaryDirectory() as tmp, watching_errors() as errors:
        state = Path(tmp)
        TrustStore.from_entries([key.public_entry()]).save(state / "trust.json")
        applier = Applier(state, "point-a", _HealthyKiosk())
        version = 0

        def signed(v: int, config: Any = None, **extra: Any) -> dict[str, Any]:
            body = {
                "type": "etapiste-bundle",
                "spec": 1,
                "point": "point-a",
                "version": v,
                "expires": expires,
                "config": base_config if config is None else config,
                **extra,
            }
            return sign_document(body, [key])

        for n in range(1, messages + 1):
            tally.messages += 1
            roll = fz.r.random()
            if roll < 0.03 or n % 500 == 0:
                version += 1
                payload: Any = json.dumps(signed(version)).encode()
                kind = "valid"
            elif roll < 0.45:  # the signed content mutated, and signed again
                version += 1
                body = fz.mutate(
                    {
                        "type": "etapiste-bundle",
                        "spec": 1,
                        "point": "point-a",
                        "version": version,
                        "expires": expires,
                        "config": base_config,
                    },
                    kind_key="type",
                )
                try:
                    payload = json.dumps(sign_document(body, [key]), allow_nan=True).encode()
                except (ValueError, TypeError):
                    payload = json.dumps(body, allow_nan=True).encode()
                kind = "resigned"
            elif roll < 0.75:
                payload, kind = frame(fz, signed(version + 1), frozenset(), kind_key="type")
                payload = payload if isinstance(payload, bytes) else payload.encode("utf-8", "surrogatepass")
            else:
                payload = fz.raw(json.dumps(signed(version + 1)))
                payload = payload if isinstance(payload, bytes) else payload.encode("utf-8", "surrogatepass")
                kind = "raw"
            before = applier.config_path.read_bytes() if applier.config_path.exists() else b""
            try:
                done, outcome = await _bounded(applier.offer(payload), hang_s)
            except Exception as exc:
                tally.crash(f"{type(exc).__name__}: {str(exc)[:200]} escaped the apply", payload)
                continue
            if not done:
                tally.hang(payload)
                continue
            for line in errors.take():
                tally.crashes.append(f"logged {line} after {_show(payload)}")
            if outcome.status == "rejected":
                if outcome.code not in BUNDLE_CODES:
                    tally.crash(f"rejected with code {outcome.code!r}", payload)
                tally.refused[outcome.code] += 1
                after = applier.config_path.read_bytes() if applier.config_path.exists() else b""
                if after != before:
                    tally.crash("a rejected bundle changed the configuration", payload)
            elif outcome.status in ("applied", "unchanged"):
                tally.accepted += 1
            else:
                tally.crash(f"outcome {outcome.status} ({outcome.reason[:100]})", payload)
            if kind == "valid" and outcome.status != "applied":
                tally.crash(f"a valid bundle was not applied ({outcome.code}: {outcome.reason[:200]})", payload)
            version = max(version, applier.applied_version)
    tally.seconds = time.monotonic() - started
    return tally


# ------------------------------------------------------------------------------------------------ agent: commands


async def _agent(tmp: Path, point: str = "point-a") -> Any:
    from provisioning.agent import Agent, AgentSettings

    settings = AgentSettings(
        point=point,
        state_dir=tmp / "state",
        host="127.0.0.1",
        port=1,
        password="x",
        kiosk_socket=tmp / "agent.sock",
        command_timeout=0.2,
        reboot_cmd="true",
        restart_kiosk_cmd="true",
    )
    settings.state_dir.mkdir()

    class Recording(Agent):
        acks: list[dict[str, Any]]

        async def _publish(self, kind: str, payload: Any, *, retain: bool) -> None:
            if kind == "ack":
                self.acks.append(json.loads(payload))

    agent = Recording(settings)
    agent.acks = []
    return agent


async def fuzz_commands(messages: int, seed: int, hang_s: float = HANG_S) -> Tally:
    """The agent's command handler (what the ``command`` topic feeds), with a kiosk on the link answering."""
    from provisioning.bundle import SigningKey, TrustStore, sign_document
    from provisioning.kiosk_link import Command, KioskLinkClient, Reload

    tally = Tally("agent.command")
    fz = Fuzz(seed)
    started = time.monotonic()
    key = SigningKey.generate()
    now = dt.datetime.now(dt.UTC)

    def utc(t: dt.datetime) -> str:
        return t.strftime("%Y-%m-%dT%H:%M:%SZ")

    args = {"on": True, "message": {"fi": "Suljettu", "sv": "Stängt", "en": "Closed"}}
    with tempfile.TemporaryDirectory() as tmp, watching_errors() as errors:
        agent = await _agent(Path(tmp))
        TrustStore.from_entries([key.public_entry()]).save(agent.s.state_dir / "trust.json")
        await agent.kiosk.start()

        async def answer(command: Command) -> tuple[bool, str]:
            return True, f"{command.name} done"

        async def reload(message: Reload) -> None:
            return None

        kiosk = KioskLinkClient(
            agent.s.kiosk_socket, software="fuzz", version=0, on_reload=reload, on_command=answer, retry_s=0.05
        )
        runner = asyncio.ensure_future(kiosk.run())
        await asyncio.wait_for(kiosk.connected.wait(), 10)
        try:
            for n in range(1, messages + 1):
                tally.messages += 1
                name = fz.r.choice(["out_of_service", "test_print", "diagnostics", "reboot", "restart"])
                body = {
                    "type": "etapiste-command",
                    "spec": 1,
                    "point": "point-a",
                    "id": f"cmd-{n}",
                    "name": name,
                    "args": args if name == "out_of_service" else {},
                    "issued": utc(now),
                    "expires": utc(now + dt.timedelta(hours=1)),
                }
                roll = fz.r.random()
                if roll < 0.4:  # the signed content mutated, and signed again: reaches the checks behind it
                    mutated = fz.mutate(body)
                    try:
                        payload: Any = json.dumps(sign_document(mutated, [key]), allow_nan=True).encode()
                    except (ValueError, TypeError):
                        payload = json.dumps(mutated, allow_nan=True).encode()
                elif roll < 0.75:
                    payload, _ = frame(fz, sign_document(body, [key]), frozenset(), kind_key="type")
                else:
                    payload = fz.raw(json.dumps(sign_document(body, [key])))
                if isinstance(payload, str):
                    payload = payload.encode("utf-8", "surrogatepass")
                acks = len(agent.acks)
                try:
                    done, _ = await _bounded(agent._command(payload), hang_s)
                except Exception as exc:
                    tally.crash(f"{type(exc).__name__}: {str(exc)[:200]} escaped the command handler", payload)
                    continue
                if not done:
                    tally.hang(payload)
                    continue
                for line in errors.take():
                    tally.crashes.append(f"logged {line} after {_show(payload)}")
                new = agent.acks[acks:]
                if len(new) != 1:
                    tally.crash(f"{len(new)} acknowledgements instead of one", payload)
                    continue
                ack = new[0]
                if ack["code"] is not None:
                    if ack["code"] not in COMMAND_CODES:
                        tally.crash(f"refused with code {ack['code']!r}", payload)
                    tally.refused[ack["code"]] += 1
                else:
                    tally.accepted += 1
        finally:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
            await agent.kiosk.close()
    tally.seconds = time.monotonic() - started
    return tally


# ------------------------------------------------------------------------------------------------ agent: kiosk link


def link_templates(today: str) -> list[dict[str, Any]]:
    return [
        {"op": "hello", "software": "0.1.0", "version": 3, "timezone": "Europe/Helsinki"},
        {
            "op": "health",
            "version": 3,
            "healthy": True,
            "devices": {"printer": {"ok": False, "reason": "media-empty"}},
            "error": None,
        },
        {
            "op": "session",
            "day": today,
            "hour": 14,
            "outcome": "served",
            "producer": "kela",
            "queue": "kela-general",
            "wait_s": 45,
            "duration_s": 312,
            "rating": 5,
            "quality": {"bitrate_kbps": 900, "fps": 25, "loss_pct": 0.1, "rtt_ms": 40},
            "usage": {
                "language": "fi",
                "identify_asked": True,
                "identify_succeeded": True,
                "scans": 1,
                "scan_pages": 2,
            },
        },
        {"op": "session", "day": today, "hour": 9, "outcome": "left_before_choosing"},
        {"op": "fault", "day": today, "device": "printer", "reason": "jammed"},
        {"op": "minutes", "day": today, "open": 1, "out_of_service": 0, "offline": 0},
        {"op": "staff_pin", "failures": 7, "lockouts": 1, "locked_until": "2026-11-28T12:05:00Z"},
        {"op": "result", "id": "c-1", "ok": True, "detail": "done"},
    ]


async def fuzz_kiosk_link(messages: int, seed: int, hang_s: float = HANG_S) -> Tally:
    """The agent's end of the kiosk link (a real unix socket, the agent's own statistics behind it)."""
    from provisioning.kiosk_link import MAX_LINE

    tally = Tally("agent.kiosk_link")
    fz = Fuzz(seed)
    started = time.monotonic()
    today = dt.date.today().isoformat()
    kinds = frozenset({"hello", "health", "session", "fault", "minutes", "staff_pin", "result"})
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp, watching_errors() as errors:
        agent = await _agent(Path(tmp))
        await agent.kiosk.start()
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        try:
            for n in range(1, messages + 1):
                tally.messages += 1
                if writer is None:
                    reader, writer = await asyncio.open_unix_connection(str(agent.s.kiosk_socket), limit=4 * MAX_LINE)
                assert reader is not None
                data, _ = frame(fz, fz.r.choice(link_templates(today)), kinds, kind_key="op")
                line = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
                probe = f"probe-{n}"
                writer.write(line.replace(b"\n", b" ") + b"\n" + json.dumps({"op": probe}).encode() + b"\n")
                answers: list[bytes] = []

                async def collect(
                    reader: asyncio.StreamReader = reader, probe: str = probe, answers: list[bytes] = answers
                ) -> bool:
                    while True:
                        got = await reader.readline()
                        if not got:
                            return False
                        if probe.encode() in got:
                            return True
                        answers.append(got)

                try:
                    await writer.drain()
                    done, alive = await _bounded(collect(), hang_s)
                except ConnectionError:
                    done, alive = True, False
                if not done:
                    tally.hang(data)
                    writer.close()
                    writer = None
                    continue
                too_long = len(line) + 1 > MAX_LINE
                if not alive:
                    if too_long:  # the agent answers "line longer than" and drops the link, maybe mid-write
                        tally.refused["too_long"] += 1  # by design: the line is refused and the link dropped
                    else:
                        tally.crash("the agent closed the kiosk link", data)
                    writer.close()
                    writer = None
                    continue
                for line_ in errors.take():
                    tally.crashes.append(f"logged {line_} after {_show(data)}")
                refusals = 0
                for a in answers:
                    reply = json.loads(a)
                    if reply.get("op") in _LINK_PUSHES:
                        continue
                    if reply.get("op") != "error" or not reply.get("reason"):
                        tally.crash(f"unexpected answer {a[:100]!r}", data)
                    refusals += 1
                if refusals:
                    tally.refused["invalid"] += 1
                else:
                    tally.accepted += 1
                if n % 500 == 0 or n == messages:  # the agent still reports its state
                    json.dumps(agent.state())
                    agent.stats.to_payload()
        except Exception as exc:
            tally.crash(f"{type(exc).__name__}: {str(exc)[:200]}", "(the agent's state)")
        finally:
            if writer is not None:
                writer.close()
            await agent.kiosk.close()
    tally.seconds = time.monotonic() - started
    return tally


#: What the agent sends the kiosk unasked, by design (provisioning/kiosk_link.py): the out-of-service state it
#: holds after every ``hello``, and the notifier's acceptance of a ``help`` or a fault.
_LINK_PUSHES = frozenset({"service", "alert_ack"})


RUNNERS: dict[str, Callable[..., Any]] = {
    "switchboard.point": lambda n, seed, hang_s=HANG_S: fuzz_switchboard("point", n, seed, hang_s),
    "switchboard.desk": lambda n, seed, hang_s=HANG_S: fuzz_switchboard("desk", n, seed, hang_s),
    "kiosk.datachannel": fuzz_datachannel,
    "agent.bundle": fuzz_bundles,
    "agent.command": fuzz_commands,
    "agent.kiosk_link": fuzz_kiosk_link,
}
