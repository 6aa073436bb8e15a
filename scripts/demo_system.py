"""The whole system on one machine, for a newcomer: ``.venv/bin/python scripts/demo_system.py``.

It starts, on loopback and in a private temporary directory, everything a remote service point needs —
the switchboard (``etapiste switchboard``), mosquitto, coturn, a virtual FINEID card in a private pcscd
with the vpcd reader (in a private network namespace), a private cupsd with a file printer, SANE's test
scanner (a private ``SANE_CONFIG_DIR``), the point's provisioning agent and the kiosk window — and a
scripted demo agent: an aiortc peer speaking :mod:`etapiste.protocol` that answers the first customer,
greets them with a test picture carrying captions, types real-time text, asks for identification (the
demo puts the virtual card in the reader when the kiosk asks for it; the PIN is 1234), requests a scan,
sends a PDF to print and says goodbye. With ``--no-agent`` nobody answers but a person at the desk whose
address is printed. Ctrl-C or SIGTERM stops everything the demo started, by pid.

With ``--auto-customer`` nobody needs to touch the screen either (a headless machine, CI, a newcomer's first
look): the kiosk runs with ``scripts/auto_customer.py``, a scripted customer who presses the kiosk's own
buttons through the whole journey. The demo then checks each step end to end — the agent saw the verified
holder of the demo card, the scan the agent received has the SHA-256 of what the kiosk sent, the printout's
pages came out of the file printer, the survey's rating reached the organiser's statistics — prints the
verdict, stops everything and exits 0, or 1 naming the step that did not happen (``--result FILE``
also writes the verdict as JSON).

The private services are the tests' own (the ``simulation`` package), imported rather than duplicated,
so the demo runs exactly what the tests prove. Media go through the private coturn only (the kiosk is
configured ``relay_only``, and so is the demo agent): no call traffic leaves loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import aiohttp  # noqa: E402
import av  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402
import yaml  # noqa: E402
from aiortc import (  # noqa: E402
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack  # noqa: E402

from etapiste import protocol as p  # noqa: E402

POINT = "demo-oulu-kirjasto"
POINT_CREDENTIAL = "demo-oulu-kirjasto-credential-do-not-use"  # matches switchboard/sample-switchboard.yaml
AGENT_USER, AGENT_PASSWORD = "anna", "demo-agentti-1"
INTERPRETER_USER, INTERPRETER_PASSWORD = "tulkki", "demo-tulkki-1"
ALWAYS = {day: "00:00-24:00" for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
CARD_PIN = "1234"
GIVEN_NAME, SURNAME = "SPECIMEN-MAIJA", "SPECIMEN-MEIKÄLÄINEN"
"""The demo card's holder (a specimen: DVV's test cards carry SPECIMEN names)."""
GOODBYE = "Voit lopettaa puhelun."
"""The demo agent's last words; the scripted customer ends the call when they appear."""
PRINT_PAGES = 2
AUTO_TIMEOUT_S = 1200.0
"""A safety net for ``--auto-customer``: each of the customer's waits is bounded on its own (the kiosk exits
with the step named); this only catches a kiosk that cannot even do that."""


def log(text: str) -> None:
    print(f"[demo {time.strftime('%H:%M:%S')}] {text}", flush=True)


# ----------------------------------------------------------------------------------------------- configuration


def switchboard_config(path: Path, port: int, turn_urls: list[str], turn_secret: str, ca_file: Path) -> Path:
    """The sample switchboard, on ``port``, every queue always open, TURN and the test card CA."""
    data: dict[str, Any] = yaml.safe_load((REPO / "switchboard" / "sample-switchboard.yaml").read_text("utf-8"))
    data["listen_host"], data["listen_port"] = "127.0.0.1", port
    data["origin"] = f"http://127.0.0.1:{port}"
    data["turn"] = {"urls": turn_urls, "secret": turn_secret, "ttl_s": 3600}
    data["trusted_ca_files"] = [str(ca_file)]
    data["identity"] = {"policies": ["1.2.246.517.99.10.*"]}  # DVV's test-card arc (the test PKI's cards)
    for producer in data["producers"]:
        for queue in producer["queues"]:
            queue["service_hours"] = {"weekly": dict(ALWAYS)}
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def point_config(path: Path, switchboard_port: int, credential_file: Path, queue: str) -> Path:
    """The sample point, open around the clock, on this demo's switchboard, printer and scanner."""
    data: dict[str, Any] = yaml.safe_load((REPO / "etapiste" / "config" / "sample-point.yaml").read_text("utf-8"))
    data["point"]["id"] = POINT
    data["host"]["opening_hours"] = {"weekly": dict(ALWAYS)}
    for producer in data["producers"]:
        producer["service_hours"] = {"weekly": dict(ALWAYS)}
    data["switchboard"] = {"url": f"ws://127.0.0.1:{switchboard_port}/ws/point",
                           "credential_file": str(credential_file)}
    data["ice"] = {"servers": [], "relay_only": True}
    data["devices"]["printer"]["queue"] = queue
    data["devices"]["scanner"] = {"device": "test:0", "resolution": 150, "mode": "Color", "source": "Flatbed"}
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, default_flow_style=None)
    path.write_text("# etapiste-config-version: 1\n" + text, encoding="utf-8")
    return path


# ----------------------------------------------------------------------------------------------- the demo agent


class GreetingPicture(VideoStreamTrack):
    """The agent's camera: a test picture with the agent's name and the current caption on it."""

    def __init__(self, width: int = 640, height: int = 360) -> None:
        super().__init__()
        self.caption = "Hei! / Hej! / Hello!"
        bars = [(192, 192, 192), (0, 192, 192), (192, 192, 0), (0, 192, 0), (192, 0, 192), (0, 0, 192),
                (192, 0, 0)]
        self._base = np.zeros((height, width, 3), np.uint8)
        step = width // len(bars)
        for i, colour in enumerate(bars):
            self._base[: height * 2 // 3, i * step : (i + 1) * step] = colour
        self._base[height * 2 // 3 :] = (40, 40, 40)
        cv2.putText(self._base, "etapiste demo agent - Kela", (16, 40), cv2.FONT_HERSHEY_SIMPLEX, 1.0,
                    (255, 255, 255), 2, cv2.LINE_AA)
        self._n = 0

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        self._n += 1
        img = self._base.copy()
        cv2.putText(img, self.caption[:48], (16, img.shape[0] - 70), cv2.FONT_HERSHEY_SIMPLEX, 0.9,
                    (255, 255, 255), 2, cv2.LINE_AA)
        cv2.circle(img, (img.shape[1] - 40, img.shape[0] - 40), 12 + (self._n // 3) % 10, (0, 200, 255), -1)
        # yuv420p, the encoder's own format: nothing to convert on the encoder's thread.
        yuv = np.asarray(cv2.cvtColor(img, cv2.COLOR_BGR2YUV_I420), dtype=np.uint8)
        frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        frame.pts, frame.time_base = pts, time_base
        return frame


class CallOver(Exception):
    """The customer ended the call while the script was waiting."""


class DemoAgent:
    """A scripted agent at the switchboard's desk socket: serves one customer after another."""

    def __init__(self, base: str, insert_card: Callable[[], None], remove_card: Callable[[], None],
                 pdf: bytes, *, pace: float = 1.0, login: tuple[str, str] = (AGENT_USER, AGENT_PASSWORD)) -> None:
        self.base = base
        self.pace = pace
        """Multiplies the human pauses and typing speed (the acceptance test runs the script fast)."""
        self.login = login
        self.outcomes: dict[str, str] = {}
        """What each step of the script ended with (``identify``: ``verified``…), for the log and the test."""
        self.holder: str | None = None
        """The verified holder's name the desk would show (kept in memory for the verdict, never logged)."""
        self.received_sha256: str | None = None
        """SHA-256 of the scan as the agent received it (computed here, over the bytes that arrived)."""
        self.insert_card, self.remove_card = insert_card, remove_card
        self.pdf = pdf
        self.http: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.pc: RTCPeerConnection | None = None
        self.dc: RTCDataChannel | None = None
        self.call: str | None = None
        self.ice_servers: list[p.IceServer] = []
        self.picture = GreetingPicture()
        self.inbox: list[Any] = []
        self._changed = asyncio.Event()
        self._incoming: dict[str, Any] | None = None
        self._seq = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reader: asyncio.Task[None] | None = None

    # -- plumbing -------------------------------------------------------------------------------------

    def _note(self, message: Any = None) -> None:
        if message is not None:
            self.inbox.append(message)
        self._changed.set()

    async def wait_for(self, check: Callable[[], Any], timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            if self.call is None:
                raise CallOver(what)
            if time.monotonic() > deadline:
                raise TimeoutError(what)
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), 0.5)

    def take(self, kind: str, check: Callable[[Any], bool] = lambda m: True) -> Any:
        for i, m in enumerate(self.inbox):
            if getattr(m, "type", None) == kind and check(m):
                return self.inbox.pop(i)
        return None

    async def send(self, message: p.BaseModel) -> None:
        assert self.ws is not None
        await self.ws.send_str(p.encode(message))

    def dc_send(self, message: p.BaseModel | bytes) -> None:
        if self.dc is not None and self.dc.readyState == "open":
            self.dc.send(message if isinstance(message, bytes) else p.encode(message))

    # -- connection -----------------------------------------------------------------------------------

    async def run(self) -> None:
        # The desk's session cookie comes from an IP address (127.0.0.1): aiohttp keeps it only when unsafe.
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        try:
            # As the desk page in a browser: its requests carry the page's Origin (the switchboard checks it).
            origin = {"Origin": self.base}
            async with self.http.post(f"{self.base}/api/login", headers=origin,
                                      json={"username": self.login[0], "password": self.login[1]}) as r:
                if r.status != 200:
                    raise RuntimeError(f"the demo agent could not log in: {r.status} {await r.text()}")
            self.ws = await self.http.ws_connect(self.base.replace("http", "ws", 1) + "/ws/desk", headers=origin)
            await self.send(p.DeskHello(protocol=p.PROTOCOL_VERSION))
            reader = self._reader = asyncio.create_task(self._read())
            log("demo agent Anna / Kela is at the desk and waits for a customer")
            try:
                while True:
                    ticket = await self._next_customer()
                    await self.send(p.QueueAccept(ticket=ticket))
                    try:
                        await self._call_started()
                        await self._serve()
                    except CallOver:
                        log("the customer ended the call")
                    except TimeoutError as exc:
                        log(f"no answer from the customer ({exc}); the agent ends the call")
                        if self.call is not None:
                            await self.send(p.Hangup(call=self.call))
                    await self._close_pc()
                    self.call = None
            finally:
                reader.cancel()
        finally:
            await self._close_pc()
            if self.ws is not None:
                await self.ws.close()
            await self.http.close()

    async def _next_customer(self) -> str:
        while True:
            snap = self.take("queue.snapshot", lambda m: any(q.entries for q in m.queues))
            if snap is not None:
                entry = next(e for q in snap.queues for e in q.entries)
                log(f"a customer is waiting ({entry.place or entry.point}); the demo agent answers")
                return str(entry.ticket)
            if self._reader is not None and self._reader.done():
                raise RuntimeError("the switchboard closed the demo agent's desk connection")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), 1.0)

    async def _call_started(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while self.call is None:
            if self.take("error") is not None or time.monotonic() > deadline:
                raise CallOver("another agent took the customer, or the customer left")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), 0.5)

    async def _read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            m = p.parse_signal(msg.data)
            if m.type == "call.start":
                self.call, self.ice_servers = m.call, m.ice_servers or self.ice_servers
            elif m.type == "signal.offer":
                await self._answer(m)
            elif m.type == "call.ended":
                self.call = None
            elif m.type == "queue.snapshot":
                self.inbox = [x for x in self.inbox if getattr(x, "type", None) != "queue.snapshot"]
            self._note(m)

    async def _answer(self, m: p.Offer) -> None:
        await self._close_pc()
        servers = [RTCIceServer(urls=s.urls, username=s.username, credential=s.credential)
                   for s in self.ice_servers]
        pc = RTCPeerConnection(RTCConfiguration(iceServers=servers, iceTransportPolicy=RTCIceTransportPolicy.RELAY))
        self.pc = pc
        from kiosk.media import ToneTrack

        pc.addTrack(ToneTrack(hz=330.0, level=1500))
        pc.addTrack(self.picture)

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            task = asyncio.ensure_future(self._drain(track))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        @pc.on("datachannel")
        def on_datachannel(channel: RTCDataChannel) -> None:
            self._setup_channel(channel)

        await pc.setRemoteDescription(RTCSessionDescription(sdp=m.sdp, type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        await self.send(p.Answer(call=m.call, peer=m.peer, sdp=pc.localDescription.sdp))

    @staticmethod
    async def _drain(track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                await track.recv()

    async def _close_pc(self) -> None:
        if self.pc is not None:
            pc, self.pc, self.dc = self.pc, None, None
            await pc.close()
        for task in list(self._tasks):
            task.cancel()

    def _setup_channel(self, channel: RTCDataChannel) -> None:
        self.dc = channel

        @channel.on("open")
        def on_open() -> None:
            self._note()

        @channel.on("message")
        def on_message(data: str | bytes) -> None:
            if isinstance(data, bytes):
                if self._incoming is not None:
                    self._incoming["data"] += data
                return
            m = p.parse_data(data)
            if m.type == "doc.begin":
                self._incoming = {"begin": m, "data": bytearray()}
            elif m.type == "doc.end" and self._incoming is not None:
                begin, body = self._incoming["begin"], bytes(self._incoming["data"])
                self._incoming = None
                digest = hashlib.sha256(body).hexdigest()
                ok = len(body) == begin.size and digest == begin.sha256
                self.dc_send(p.DocAck(transfer=begin.transfer, ok=ok, reason=None if ok else "checksum_mismatch"))
                self._note(argparse.Namespace(type="received", ok=ok, name=begin.name, size=len(body), sha256=digest))
                return
            self._note(m)

        if channel.readyState == "open":
            self._note()

    # -- the script -------------------------------------------------------------------------------------

    async def type_text(self, text: str) -> None:
        """Real-time text, one keystroke at a time, and the same words as the picture's caption."""
        self.picture.caption = text
        for i in range(1, len(text) + 1):
            self.dc_send(p.Rtt(seq=self._seq, text=text[:i], final=False))
            self._seq += 1
            await asyncio.sleep(0.06 * self.pace)
        self.dc_send(p.Rtt(seq=self._seq, text=text, final=True))
        self._seq += 1

    async def _serve(self) -> None:
        await self.wait_for(lambda: self.dc is not None and self.dc.readyState == "open", 60, "the data channel")
        log("call connected: greeting the customer")
        await asyncio.sleep(1.5 * self.pace)
        await self.type_text("Hei! Olen Kelan demovirkailija. Hi, I am the Kela demo agent.")
        await asyncio.sleep(2 * self.pace)
        await self._identify()
        await self._scan()
        await self._print()
        await self.type_text(f"Kiitos! {GOODBYE} Thank you, you may end the call.")
        await self.wait_for(lambda: False, 120, "the customer to end the call")

    async def _identify(self) -> None:
        assert self.call is not None
        await self.type_text(f"Tunnistaudu henkilokortilla, PIN {CARD_PIN}. Please identify, PIN {CARD_PIN}.")
        await self.send(p.IdentityStart(call=self.call))
        await self.wait_for(lambda: self.take("identity.status", lambda m: m.state == "insert_card")
                            or self.take("identity.status", lambda m: m.state == "enter_pin"), 60,
                            "the kiosk to ask for the card")
        await asyncio.sleep(2 * self.pace)
        log("the virtual card goes into the reader (type the PIN 1234 on the kiosk's pad)")
        self.insert_card()
        try:
            result = await self.wait_for(lambda: self.take("identity.result"), 300, "the identification")
        finally:
            await asyncio.sleep(1 * self.pace)
            self.remove_card()
        self.outcomes["identify"] = "verified" if result.ok else f"failed: {result.reason}"
        self.holder = f"{result.given_name} {result.surname}" if result.ok else None
        log(f"identification: {self.outcomes['identify']}")
        await self.type_text("Kiitos, tunnistettu. Thank you, you are identified." if result.ok
                             else "Tunnistus ei onnistunut. Identification did not succeed.")

    async def _scan(self) -> None:
        request = uuid.uuid4().hex[:16]
        self.dc_send(p.ScanRequest(request=request))
        await self.type_text("Laita paperi skanneriin ja paina Skannaa. Please scan a paper.")
        done = await self.wait_for(
            lambda: self.take("received") or self.take("scan.status", lambda m: m.state in ("declined", "failed")),
            300, "the scan")
        self.outcomes["scan"] = ("received" if done.ok else "checksum_mismatch") if done.type == "received" \
            else done.state
        if done.type == "received":
            self.received_sha256 = done.sha256
            log(f"scan received: {done.name}, {done.size} bytes, checksum {'ok' if done.ok else 'WRONG'}")
            await self.type_text("Sain skannauksen, kiitos. I got your scan, thank you.")
        else:
            log(f"the scan was {done.state}")

    async def _print(self) -> None:
        transfer = uuid.uuid4().hex[:16]
        self.dc_send(p.DocBegin(transfer=transfer, purpose="print", name="kela-paatos.pdf", size=len(self.pdf),
                                sha256=hashlib.sha256(self.pdf).hexdigest()))
        for off in range(0, len(self.pdf), p.CHUNK_BYTES):
            self.dc_send(self.pdf[off : off + p.CHUNK_BYTES])
        self.dc_send(p.DocEnd(transfer=transfer))
        await self.type_text("Lahetin paatoksen tulostimeen. I sent you a decision to print.")
        status = await self.wait_for(
            lambda: self.take("print.status", lambda m: m.transfer == transfer and m.state in ("done", "failed")),
            180, "the printout")
        self.outcomes["print"] = status.state
        log(f"printing: {status.state}{' (' + status.reason + ')' if status.reason else ''}")


# ----------------------------------------------------------------------------------------------- the verdict


class Check(NamedTuple):
    """One step of ``--auto-customer``'s journey, as checked end to end. (A NamedTuple, not a dataclass:
    the acceptance test loads this file as a module that is not in ``sys.modules``.)"""

    step: str
    ok: bool
    detail: str


def _tail(path: Path, lines: int = 25) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join("    " + line for line in text.splitlines()[-lines:]) or "    (empty)"


async def _bounded(what: Callable[[], Any], timeout: float = 30.0) -> Any:
    """``what()`` once it gives something true, else its last value after ``timeout`` (s)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = what()
        except Exception:  # a file half written, a message not yet there
            value = None
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.5)


async def auto_verdict(customer: dict[str, Any] | None, demo: DemoAgent, queue: Any,
                       stats: dict[str, Any], why: str = "") -> list[Check]:
    """Each step of the journey as someone else saw it: the agent, the printer's tray, the organiser."""
    from simulation.services.cups import output_pages

    checks: list[Check] = []
    done = set(customer["done"]) if customer else set()
    if customer is None:
        if not why:
            checks.append(Check("journey", False, "the scripted customer left no result (see the kiosk's log)"))
    elif customer["failed"]:
        checks.append(Check(customer["failed"]["step"], False, f"the customer: {customer['failed']['detail']}"))
    else:
        checks.append(Check("journey", True, "the customer went through " + ", ".join(customer["done"])))

    verified = demo.outcomes.get("identify")
    holder_ok = demo.holder == f"{GIVEN_NAME} {SURNAME}"
    checks.append(Check("identify", verified == "verified" and holder_ok,
                        "the agent sees the verified holder of the demo card" if verified == "verified" and holder_ok
                        else f"the agent's identification: {verified or 'no result'}"
                        + ("" if holder_ok or demo.holder is None else "; the holder is not the demo card's")))

    sent: str = (customer.get("scan_sha256") if customer else None) or ""
    scan_ok = demo.outcomes.get("scan") == "received" and bool(sent) and demo.received_sha256 == sent
    checks.append(Check("scan", scan_ok,
                        f"the agent received the scan, SHA-256 {sent[:16]}… as the kiosk sent it" if scan_ok
                        else f"the agent's scan: {demo.outcomes.get('scan', 'nothing received')}; "
                             f"kiosk sent {sent or 'nothing'}, agent got {demo.received_sha256 or 'nothing'}"))

    pages = 0
    if "print" in done:
        pages = await _bounded(lambda: output_pages(queue.output) == PRINT_PAGES and PRINT_PAGES) or 0
    print_ok = demo.outcomes.get("print") == "done" and pages == PRINT_PAGES
    checks.append(Check("print", print_ok,
                        f"{pages} pages came out of the file printer" if print_ok
                        else f"the agent's printout: {demo.outcomes.get('print', 'no status')}; "
                             f"pages in the file printer: {pages}, expected {PRINT_PAGES}"))

    def rated() -> int:
        """Ratings of 5 for Kela on any day (a run across midnight counts too), in the statistics payload's
        version 1 (per producer) or 2 (per queue, docs/statistics.md)."""
        fives = 0
        for day in stats.get("days", {}).values():
            fives += day.get("producers", {}).get("kela", {}).get("ratings", {}).get("5", 0)
            fives += sum(q.get("ratings", {}).get("5", 0) for q in day.get("queues", {}).values()
                         if q.get("producer") == "kela")
        return int(fives)

    ratings = await _bounded(rated) if "survey" in done else 0
    checks.append(Check("survey", bool(ratings),
                        "the rating 5 reached the organiser's statistics" if ratings
                        else "no rating in the organiser's statistics"))
    return checks


# ----------------------------------------------------------------------------------------------- the system


async def watch_ops(host: str, port: int, password: str, stats: dict[str, Any] | None = None) -> None:
    """The ops side: print the point's health and anonymous statistics as its agent publishes them (the
    latest statistics are also kept in ``stats``, for ``--auto-customer``'s verdict)."""
    import aiomqtt

    from provisioning import broker

    last_health = ""
    async with aiomqtt.Client(host, port, username="ops-watch", password=password) as client:
        await client.subscribe(broker.all_points("stats"), qos=1)
        await client.subscribe(broker.all_points("state"), qos=1)
        async for m in client.messages:
            payload = bytes(m.payload) if isinstance(m.payload, bytes | bytearray) else b""
            if not payload:
                continue
            data = json.loads(payload)
            if m.topic.value.endswith("/stats"):
                if stats is not None:
                    stats.clear()
                    stats.update(data)
                today = data.get("days", {}).get(dt.date.today().isoformat(), {})
                sessions: dict[str, int] = {k: v.get("sessions", 0) for k, v in today.get("producers", {}).items()}
                for q in today.get("queues", {}).values():  # payload version 2: per queue, with outcomes
                    name = str(q.get("producer"))
                    sessions[name] = sessions.get(name, 0) + sum(q.get("outcomes", {}).values())
                summary = ", ".join(f"{k}: {n} session(s)" for k, n in sessions.items() if n) or "none yet"
                log(f"ops sees the point's statistics today: {summary}")
            else:
                kiosk = data.get("kiosk", {})
                devices = ", ".join(f"{k} {'ok' if d.get('ok') else d.get('reason') or 'not ok'}"
                                    for k, d in sorted(kiosk.get("devices", {}).items()))
                health = (f"kiosk {'connected' if kiosk.get('connected') else 'not connected'}, "
                          f"{'healthy' if kiosk.get('healthy') else 'not healthy: ' + str(kiosk.get('error'))}; "
                          f"{devices}")
                if health != last_health:
                    last_health = health
                    log(f"ops sees the point: {health}")


async def main_async(args: argparse.Namespace) -> int:
    from provisioning.bundle import SigningKey, TrustStore
    from simulation.card.pki import TestPki
    from simulation.documents import pdf_with_text
    from simulation.services.common import Service, free_port, port_open, wait_until
    from simulation.services.cups import PrivateCupsd
    from simulation.services.mqtt import start_broker
    from simulation.services.ocsp import ocsp_responder
    from simulation.services.pcsc import fineid_card, pcsc_service
    from simulation.services.sane import SaneTestBackend
    from simulation.services.turn import start_coturn
    from simulation.services.watchdog import start_watchdog

    run = Path(tempfile.mkdtemp(prefix="etapiste-demo-"))
    run.chmod(0o755)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    services: list[Service] = []
    code = 0
    etapiste = [sys.executable, "-m", "etapiste"]
    start_watchdog()  # a killed demo (even kill -KILL) leaves none of its services running
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, run, True)
        log(f"working directory {run}")
        coturn = stack.enter_context(contextlib.contextmanager(start_coturn)(run / "coturn"))
        log(f"coturn on 127.0.0.1:{coturn.port}")
        mqtt = stack.enter_context(start_broker(run, [POINT, "collector"]))  # + the statistics collector's login
        log(f"mosquitto on 127.0.0.1:{mqtt.port}")
        pcsc = stack.enter_context(pcsc_service(run / "pcsc"))
        slot = pcsc.slot(0)
        pki = TestPki()
        ocsp = stack.enter_context(ocsp_responder(pki, "v4", run / "ocsp"))  # first: the card's AIA names it
        identity = pki.issue("v4", given_name="SPECIMEN-MAIJA", surname="SPECIMEN-MEIKÄLÄINEN", satu="999020016")
        ocsp.good(identity)
        log(f"OCSP responder for the card's CA at {ocsp.url} (openssl ocsp, private network namespace)")
        (run / "trusted-cas.pem").write_bytes(pki.trusted_pem)
        log("pcscd with the virtual reader (private network namespace); the FINEID card is out of the reader")
        cupsd = PrivateCupsd(run / "cups").start()
        stack.callback(cupsd.remove)
        queue = cupsd.add_file_queue("etapiste")
        log(f"cupsd with the file printer 'etapiste' (each printout lands in {queue.directory})")
        sane = SaneTestBackend(run / "sane")

        sb_port = free_port()
        sb_conf = switchboard_config(run / "switchboard.yaml", sb_port, coturn.urls, coturn.secret,
                                     run / "trusted-cas.pem")
        # --demo: this switchboard uses the sample's published demo passwords and point credential.
        sb = Service("switchboard", [*etapiste, "switchboard", "--config", str(sb_conf), "--demo"],
                     run / "switchboard.log", cwd=REPO).start()
        services.append(sb)
        try:
            await asyncio.to_thread(wait_until, lambda: port_open(sb_port) or not sb.running(), 30, "switchboard")
            if not sb.running():
                raise RuntimeError(f"the switchboard did not start:\n{sb.log_text()[-2000:]}")
            base = f"http://127.0.0.1:{sb_port}"
            log(f"switchboard at {base}")

            credential = run / "switchboard-credential"
            credential.write_text(POINT_CREDENTIAL + "\n")
            credential.chmod(0o600)
            point_yaml = point_config(run / "point.yaml", sb_port, credential, queue.name)
            key = SigningKey.generate()
            trust = run / "organiser-keys.json"
            trust.write_text(TrustStore.from_entries([key.public_entry()]).to_json())
            agent_socket = run / "agent.sock"
            agent = Service("provisioning-agent", [
                *etapiste, "agent", "--point", POINT, "--broker", mqtt.url,
                "--password-file", str(mqtt.password_file(POINT)), "--state-dir", str(run / "agent-state"),
                "--trust", str(trust), "--kiosk-socket", str(agent_socket), "--state-interval", "5",
            ], run / "agent.log", cwd=REPO).start()  # fmt: skip
            services.append(agent)
            await asyncio.to_thread(wait_until, lambda: agent_socket.exists() or not agent.running(), 30,
                                    "provisioning agent")

            env = {**os.environ, **sane.env, "CUPS_SERVER": cupsd.socket, "ETAPISTE_AGENT_SOCKET": str(agent_socket)}
            env.pop("NOTIFY_SOCKET", None)
            if args.offscreen or not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
                env["QT_QPA_PLATFORM"] = "offscreen"
                log("no display: the kiosk runs offscreen (give it a DISPLAY to see the window)")
            kiosk_options = ["--windowed", "--config", str(point_yaml)]
            customer_file = run / "customer.json"
            if args.auto_customer:
                # The same kiosk app, run by the scripted customer's wrapper (scripts/auto_customer.py).
                command = [sys.executable, str(REPO / "scripts" / "auto_customer.py"), "--result", str(customer_file),
                           "--goodbye", GOODBYE, "--pin", CARD_PIN, *kiosk_options]
            else:
                command = [*etapiste, "kiosk", *kiosk_options]
            kiosk = Service("kiosk", command, run / "kiosk.log", env=env, cwd=REPO).start()
            services.append(kiosk)
            log("kiosk window started" + (" with the scripted customer" if args.auto_customer else ""))
            # The organiser's statistics collector, into a SQLite store in the run directory.
            stats_store = f"sqlite:///{run / 'statistics.db'}"
            collector = Service("statistics-collector", [
                *etapiste, "ops", "collect", "--broker", mqtt.url, "--password-file",
                str(mqtt.password_file("collector")), "--store", stats_store,
            ], run / "collect.log", cwd=REPO).start()  # fmt: skip
            services.append(collector)
            log(f"statistics collector (etapiste ops collect) into {stats_store}")

            tasks: list[asyncio.Task[Any]] = []
            ops_password = mqtt.passwords["ops-watch"]
            stats: dict[str, Any] = {}
            tasks.append(asyncio.create_task(watch_ops(mqtt.host, mqtt.port, ops_password, stats)))
            demo: DemoAgent | None = None
            if not args.no_agent:
                demo = DemoAgent(base, lambda: slot.insert(fineid_card(identity)), slot.remove,
                                 pdf_with_text(PRINT_PAGES, "Kelan paatos - demo"),
                                 pace=0.3 if args.auto_customer else 1.0)
                tasks.append(asyncio.create_task(demo.run()))

            print(flush=True)
            print(f"  The desk:        {base}/   (agent {AGENT_USER} / {AGENT_PASSWORD},"
                  f" interpreter {INTERPRETER_USER} / {INTERPRETER_PASSWORD})", flush=True)
            if args.auto_customer:
                print("  On the kiosk:    a scripted customer presses the buttons (scripts/auto_customer.py).",
                      flush=True)
            else:
                print("  On the kiosk:    choose a language, then Kela, then Continue.", flush=True)
            print(f"  Identification:  the demo inserts the virtual card; the PIN is {CARD_PIN}.", flush=True)
            if not args.no_agent:
                print("  The scripted demo agent answers; run with --no-agent to answer from a browser.",
                      flush=True)
            print(f"  Statistics:      while the demo runs, {' '.join(etapiste)} ops report --store {stats_store}"
                  f" --month {time.strftime('%Y-%m')} --out {run}/report", flush=True)
            print(f"  Logs:            {run}/*.log    Stop: Ctrl-C", flush=True)
            print(flush=True)

            async def exited(service: Service) -> Service:
                while service.running():
                    await asyncio.sleep(0.5)
                log(f"{service.name} exited; see {service.log_path}")
                return service

            watchers = [asyncio.create_task(exited(s)) for s in services]
            stopped = asyncio.create_task(stop.wait())
            waiting: list[asyncio.Task[Any]] = [stopped, *watchers, *tasks]
            done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED,
                                         timeout=AUTO_TIMEOUT_S if args.auto_customer else None)
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    log(f"stopping: {task.exception()!r}")
            if args.auto_customer:
                assert demo is not None
                ended = [t.result() for t in watchers if t in done and not t.cancelled() and t.exception() is None]
                if kiosk.proc is not None and kiosk.proc.poll() is not None:
                    why = ""  # the scripted customer ended the kiosk: its result says how far it got
                elif stopped in done:
                    why = "the demo was stopped (signal) before the journey ended"
                elif ended:
                    why = f"the {ended[0].name} exited before the journey ended; its log ended with:\n" + _tail(
                        ended[0].log_path, 12)
                elif done:
                    why = "a part of the demo failed: " + "; ".join(
                        repr(t.exception()) for t in done if not t.cancelled() and t.exception() is not None)
                else:
                    why = f"the journey did not end within {AUTO_TIMEOUT_S:g} s"
                code = await finish_auto(args, run, kiosk, customer_file, demo, queue, stats, why=why)
            for task in [*tasks, *watchers, stopped]:
                task.cancel()
            for task in [*tasks, *watchers, stopped]:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        finally:
            log("stopping everything the demo started")
            for service in reversed(services):
                service.stop(timeout=10)
            with contextlib.suppress(Exception):
                slot.remove()
    return code


async def finish_auto(args: argparse.Namespace, run: Path, kiosk: Any, customer_file: Path, demo: DemoAgent,
                      queue: Any, stats: dict[str, Any], why: str) -> int:
    """``--auto-customer``'s end: check every step, say so, and give the exit code (0: the whole journey)."""
    customer = None
    if customer_file.exists():
        customer = json.loads(customer_file.read_text(encoding="utf-8"))
    checks = await auto_verdict(customer, demo, queue, stats, why)
    if why:
        checks.insert(0, Check("journey", False, why))
    failed = next((c for c in checks if not c.ok), None)
    print(flush=True)
    print("  The journey, step by step (checked at the agent, the printer and the organiser):", flush=True)
    for c in checks:
        print(f"    {'ok  ' if c.ok else 'FAIL'} {c.step}: {c.detail}", flush=True)
    if failed is not None:
        print(f"  The demo's journey failed at: {failed.step}. The kiosk's log ended with:", flush=True)
        print(_tail(run / "kiosk.log"), flush=True)
        print("  and the switchboard's with:", flush=True)
        print(_tail(run / "switchboard.log", 12), flush=True)
    else:
        print("  The whole journey happened.", flush=True)
    print(flush=True)
    if args.result is not None:
        args.result.write_text(json.dumps({
            "ok": failed is None,
            "failed_step": failed.step if failed else None,
            "checks": [c._asdict() for c in checks],
            "customer": customer,
            "agent": {"outcomes": demo.outcomes, "holder": demo.holder, "received_sha256": demo.received_sha256},
            "kiosk_exit": kiosk.proc.poll() if kiosk.proc is not None else None,
        }, indent=2, ensure_ascii=False), encoding="utf-8")
    return 0 if failed is None else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-agent", action="store_true", help="no scripted agent: answer from the desk yourself")
    parser.add_argument("--offscreen", action="store_true", help="run the kiosk offscreen (no window)")
    parser.add_argument("--auto-customer", action="store_true",
                        help="a scripted customer walks the whole journey; exit 0 if every step happened, "
                             "1 naming the step that did not")
    parser.add_argument("--result", type=Path, help="with --auto-customer: write the verdict here (JSON)")
    args = parser.parse_args(argv)
    if args.auto_customer and args.no_agent:
        parser.error("--auto-customer needs the scripted demo agent (leave out --no-agent)")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
