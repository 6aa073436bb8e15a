"""The kiosk's call engine beside Chromium, in the same run on the same machine, through the real switchboard.

1. **Answer → first remote frame painted**: the agent clicks *Answer* on the real desk (headless Chromium);
   timed on the point from ``call.start`` to the first agent frame painted — by the engine into the Qt
   :class:`~kiosk.views.video.VideoView` (offscreen), and by a Chromium point (same protocol, same desk) into a
   ``<video>`` element (``requestVideoFrameCallback``). Alternating runs, medians.
2. **CPU of a two-way call at 30 fps** (640×480 and 1280×720 both ways, audio both ways): the kiosk process
   (engine + remote frames painted in Qt) beside the Chromium processes of the desk in the same call.
3. **Documents while video runs** (640×480 both ways): 5 MiB kiosk → desk, 5 MiB desk → kiosk, a 10-page
   scan kiosk → desk, each until the receiver's ``doc.ack``; beside the same 5 MiB from a Chromium point to
   the same desk (Chromium ↔ Chromium).

Everything stays on loopback (aioice restricted to 127.0.0.1; Chromium with loopback allowed).

In part 2 both sides film the same picture (``--desk-camera same``, the default since 2026-12-04): Chromium's
camera plays the kiosk's own test picture (:class:`kiosk.media.PatternSource` at 1280×720, its whole 160-frame
loop, from a Y4M file, in a Chromium of its own; Chromium crops and scales it for a 640×480 call), so the two
VP8 encoders of the 720p call encode the same pixels; parts 1 and 3 keep Chromium's own camera. That camera
(``--desk-camera fake``: a still background, an animated disc and a counter) costs VP8 about half as much a
frame as the kiosk's panning picture (2.2 against 4.2 ms at 720p here, ``bench_vp8_picture.py``), which made
the kiosk look ~6 % of a core dearer than it is.

Run: ``.venv/bin/python bench/bench_call.py [--runs 5] [--seconds 10] [--doc-runs 3]``
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import resource
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_ACCESSIBILITY", "0")

import aioice.ice  # noqa: E402
import aioice.turn  # noqa: E402
import cv2  # noqa: E402
import img2pdf  # noqa: E402
import numpy as np  # noqa: E402
from PySide6.QtGui import QPaintEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from kiosk.call import (  # noqa: E402
    CallAnswered,
    CallConnected,
    CallEnded,
    PrintRequested,
    RemoteVideoFrame,
    SelfVideoFrame,
)
from kiosk.call import bandwidth as bandwidth  # noqa: E402
from kiosk.media import PatternSource, to_i420  # noqa: E402
from kiosk.transfer import TransferDone, TransferFailed  # noqa: E402
from kiosk.views.video import VideoView  # noqa: E402
from simulation.call import Recorder, pattern_media, point_engine  # noqa: E402
from simulation.documents import pdf_of_size  # noqa: E402
from simulation.services.browser import Browser  # noqa: E402
from simulation.switchboard import PASSWORDS, POINT_CREDENTIALS, serve  # noqa: E402

CHROMIUM_POINT = """
window.bp = (() => {
  const st = { t0: null, firstFrame: null, pc: null, ws: null, dc: null, call: null, acks: [] };
  st.run = async (pointId, credential, w, h) => {
    const stream = await navigator.mediaDevices.getUserMedia(
      { audio: true, video: { width: w, height: h, frameRate: 30 } });
    st.stream = stream;
    const ws = new WebSocket(`ws://${location.host}/ws/point`); st.ws = ws;
    const send = (m) => ws.send(JSON.stringify(m));
    ws.onopen = () => send({ type: 'hello.point', protocol: 1, point: pointId, credential });
    let chain = Promise.resolve();
    ws.onmessage = (e) => { const m = JSON.parse(e.data); chain = chain.then(() => handle(m)); };
    async function handle(m) {
      if (m.type === 'welcome')
        send({ type: 'queue.request', producer: 'kela', queue: 'kela-general', language: 'fi' });
      else if (m.type === 'call.start') {
        st.t0 = performance.now(); st.call = m.call; const peer = m.offer_to[0]; st.peer = peer;
        const pc = new RTCPeerConnection({ iceServers: [] }); st.pc = pc;
        stream.getTracks().forEach((t) => pc.addTrack(t, stream));
        st.dc = pc.createDataChannel('etapiste'); st.dc.bufferedAmountLowThreshold = 256 * 1024;
        st.dc.onmessage = (ev) => { if (typeof ev.data === 'string') { const d = JSON.parse(ev.data);
          if (d.type === 'doc.ack') st.acks.push({ ...d, at: performance.now() }); } };
        pc.onicecandidate = (ev) => { const c = ev.candidate;
          send({ type: 'signal.ice', call: st.call, peer, candidate: c ? c.candidate : null,
                 sdp_mid: c ? c.sdpMid : null, sdp_mline_index: c ? c.sdpMLineIndex : null }); };
        pc.ontrack = (ev) => {
          if (ev.track.kind !== 'video') return;
          const v = document.createElement('video'); v.muted = true; v.autoplay = true; v.playsInline = true;
          v.width = w; v.height = h; v.srcObject = ev.streams[0] || new MediaStream([ev.track]);
          document.body.append(v);
          v.requestVideoFrameCallback(() => { if (st.firstFrame === null) st.firstFrame = performance.now(); });
          v.play().catch(() => {});
        };
        await pc.setLocalDescription(await pc.createOffer());
        send({ type: 'signal.offer', call: st.call, peer, sdp: pc.localDescription.sdp });
      } else if (m.type === 'signal.answer') {
        await st.pc.setRemoteDescription({ type: 'answer', sdp: m.sdp });
      } else if (m.type === 'signal.ice' && m.candidate && st.pc) {
        const c = { candidate: m.candidate, sdpMid: m.sdp_mid, sdpMLineIndex: m.sdp_mline_index };
        await st.pc.addIceCandidate(c).catch(() => {});
      }
    }
  };
  st.hangup = () => { if (st.call) st.ws.send(JSON.stringify({ type: 'call.hangup', call: st.call }));
    if (st.pc) st.pc.close(); st.stream.getTracks().forEach((t) => t.stop()); st.ws.close();
    document.querySelectorAll('body > video').forEach((v) => v.remove()); };
  st.sendDoc = async (size) => {
    const bytes = new Uint8Array(size);
    for (let o = 0; o < size; o += 65536) crypto.getRandomValues(bytes.subarray(o, Math.min(size, o + 65536)));
    bytes.set([37, 80, 68, 70, 45]);
    const start = performance.now();
    const digest = [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))]
      .map((x) => x.toString(16).padStart(2, '0')).join('');
    const transfer = 'c' + Math.random().toString(36).slice(2, 10);
    st.dc.send(JSON.stringify({ type: 'doc.begin', transfer, purpose: 'scan', name: 'ref.pdf',
                                mime: 'application/pdf', size, sha256: digest }));
    for (let off = 0; off < size; off += 16384) {
      if (st.dc.bufferedAmount > 1024 * 1024)
        await new Promise((r) => { st.dc.onbufferedamountlow = () => { st.dc.onbufferedamountlow = null; r(); }; });
      st.dc.send(bytes.slice(off, off + 16384));
    }
    st.dc.send(JSON.stringify({ type: 'doc.end', transfer }));
    while (!st.acks.find((a) => a.transfer === transfer)) await new Promise((r) => setTimeout(r, 2));
    const ack = st.acks.find((a) => a.transfer === transfer);
    return { ok: ack.ok, ms: ack.at - start };
  };
  return st;
})();
true
"""


#: What the desk's Chromium sends on each of its connections, and why it is not more (``getStats``).
DESK_OUTBOUND = """(async () => { const out = [];
  for (const pc of desk.pcs.values()) { const r = await pc.getStats(); let avail = null;
    const hinted = /x-google-min-bitrate/.test((pc.remoteDescription || {}).sdp || '');
    r.forEach((s) => { if (s.type === 'candidate-pair' && s.nominated && s.availableOutgoingBitrate)
      avail = s.availableOutgoingBitrate; });
    r.forEach((s) => { if (s.type === 'outbound-rtp' && s.kind === 'video') out.push({ w: s.frameWidth || 0,
      h: s.frameHeight || 0, fps: s.framesPerSecond || 0, why: s.qualityLimitationReason || '',
      kbps: Math.round((s.targetBitrate || 0) / 1000), avail: avail ? Math.round(avail / 1000) : null,
      hinted }); });
    r.forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'video') out.push({ inbound: true,
      w: s.frameWidth || 0, h: s.frameHeight || 0, fps: s.framesPerSecond || 0 }); }); }
  return out; })()"""

#: What the Chromium point receives from the desk (its ``<video>``'s decoder input).
POINT_INBOUND = """(async () => { const out = []; const r = await bp.pc.getStats();
  r.forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'video') out.push({ w: s.frameWidth || 0,
    h: s.frameHeight || 0, fps: s.framesPerSecond || 0, decoded: s.framesDecoded || 0 }); });
  return out[0] || { w: 0, h: 0, fps: 0, decoded: 0 }; })()"""


def reported_bandwidth(engine: Any) -> str:
    """What the kiosk last told the desk it can receive (REMB), and aiortc's own estimate under the floor."""
    seen = [e for peer in engine.peers.values() for r in peer.pc.getReceivers() if (e := bandwidth.floored(r))]
    if not seen:
        return "kiosk's REMB: aiortc's own (no floor installed)"
    kbps = lambda bps: "none yet" if bps is None else f"{bps // 1000} kbit/s"  # noqa: E731
    return "; ".join(f"kiosk's REMB {kbps(e.reported_bps)} (aiortc estimated {kbps(e.estimated_bps)},"
                     f" floor {e.floor_bps // 1000})" for e in seen)  # fmt: skip


def link(stats: list[dict[str, Any]]) -> str:
    """The desk's send and receive on one line: size, rate and what limits its sending."""
    parts = []
    for st in stats:
        if st.get("inbound"):
            parts.append(f"desk receives {st['w']}×{st['h']} at {st['fps']:.0f} fps")
        else:
            parts.append(
                f"desk sends {st['w']}×{st['h']} at {st['fps']:.0f} fps, target {st['kbps']} kbit/s, "
                f"limited by {st['why'] or '–'}, available {st['avail']} kbit/s"
                + (" (offer had x-google bitrates)" if st.get("hinted") else "")
            )
    return "; ".join(parts)


class TimedView(VideoView):
    """The product's view, noting when the first remote frame reached the screen."""

    first_painted_at: float | None = None
    answered_at: float | None = None

    def paintEvent(self, event: QPaintEvent) -> None:
        before = self.frames_painted
        super().paintEvent(event)
        if self.first_painted_at is None and self.frames_painted > before:
            self.first_painted_at = time.monotonic()


def tree_cpu_s(root: int) -> float:
    """User + system CPU seconds of ``root`` and all its descendants (Chromium's processes)."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        times[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += times.get(pid, 0.0)
        todo += [child for child, parent in parents.items() if parent == pid]
    return total


def udp_receive_drops() -> int:
    """The machine's UDP datagrams dropped because a socket's receive buffer was full (``RcvbufErrors``)."""
    with open("/proc/net/snmp") as snmp:
        header, values = [line.split() for line in snmp if line.startswith("Udp:")][:2]
    return int(values[header.index("RcvbufErrors")])


def scan_pdf(pages: int = 10) -> bytes:
    """A scanner-like PDF: A4 at 150 dpi, text lines, JPEG quality 80 (what the scanner driver makes)."""
    images = []
    rng = np.random.default_rng(7)
    for page in range(pages):
        img = np.full((1754, 1240), 250, dtype=np.uint8)
        for line in range(60):
            words = " ".join("".join(chr(97 + c) for c in rng.integers(0, 26, rng.integers(2, 9))) for _ in range(9))
            cv2.putText(img, words, (90, 120 + line * 26), cv2.FONT_HERSHEY_SIMPLEX, 0.6, 20, 1, cv2.LINE_AA)
        img = np.clip(img.astype(int) + rng.integers(-6, 6, img.shape), 0, 255).astype(np.uint8)
        ok, jpeg = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 80])
        assert ok
        images.append(jpeg.tobytes())
        del page
    out = img2pdf.convert(images, layout_fun=img2pdf.get_fixed_dpi_layout_fun((150, 150)))
    assert isinstance(out, bytes)
    return out


def printed_more(events: Recorder, before: int) -> Callable[[], bool]:
    return lambda: len(events.of(PrintRequested)) > before


def med(values: list[float]) -> str:
    return f"{statistics.median(values):.0f}" if values else "–"


async def until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        await asyncio.sleep(0.005)
    raise TimeoutError(what)


class Bench:
    def __init__(self, browser: Browser, sb: Any, app: QApplication, remb_floor: int) -> None:
        self.browser, self.sb, self.app = browser, sb, app
        self.remb_floor = remb_floor
        self.failures: list[str] = []
        """Transfers that did not arrive (reason), in this run."""

    async def call(self, op: str, **args: Any) -> Any:
        return await self.browser.acall(op, **args)

    async def login_desk(self) -> None:
        await self.call("open", name="desk")
        await self.call("goto", name="desk", url=self.sb.base + "/")
        await self.call("evaluate", name="desk", expression="localStorage.setItem('etapiste.lang', 'en')")
        await self.call("goto", name="desk", url=self.sb.base + "/")
        await self.call("fill", name="desk", selector="#username", value="anna")
        await self.call("fill", name="desk", selector="#password", value=PASSWORDS["anna"])
        await self.call("click", name="desk", selector="#login-button")
        await self.call("waitFor", name="desk", selector="#queue-view")
        await self.call("open", name="cpoint")
        await self.call("goto", name="cpoint", url=self.sb.base + "/")

    async def desk_camera(self, w: int, h: int) -> None:
        await self.call(
            "evaluate", name="desk",
            expression=f"""navigator.mediaDevices.getUserMedia({{audio: true, video: {{width: {w}, height: {h},
              frameRate: 30}}}}).then((s) => {{ desk.localStream = s; return true; }})""",
        )

    async def answer(self) -> None:
        await self.call("waitFor", name="desk", selector="li[data-ticket] button.answer", timeout=20000)
        await self.call("click", name="desk", selector="li[data-ticket] button.answer")

    async def back_to_queue(self) -> None:
        await self.call("waitFor", name="desk", selector="#queue-view", timeout=20000)

    def pump(self) -> asyncio.Task[None]:
        async def go() -> None:
            while True:
                self.app.processEvents()
                await asyncio.sleep(0.004)

        return asyncio.ensure_future(go())

    async def kiosk_call(self, w: int, h: int) -> tuple[Any, Recorder, TimedView, Any]:
        """Start a kiosk ↔ desk call; returns (engine context, events, view, engine)."""
        ctx = point_engine(
            self.sb, media=pattern_media(w, h), stats_interval_s=3600, receive_floor_bps=self.remb_floor
        )
        engine, events = await ctx.__aenter__()
        view = TimedView()
        view.resize(w, h)
        view.show()
        def on_event(event: object) -> None:
            if isinstance(event, RemoteVideoFrame):
                view.show_remote(event.image)
            elif isinstance(event, SelfVideoFrame):  # the customer's own inset, as the kiosk's call screen paints it
                view.show_self(event.image)
            elif isinstance(event, CallAnswered):
                view.answered_at = time.monotonic()

        engine.subscribe(on_event)
        await engine.start(timeout=10)
        engine.request_call("kela")
        await self.answer()
        return ctx, events, view, engine

    async def end_kiosk_call(self, ctx: Any, engine: Any, events: Recorder, view: TimedView) -> None:
        task = engine.hang_up()
        if task is not None:
            await task
        await until(lambda: events.of(CallEnded), 20, "call ended")
        await ctx.__aexit__(None, None, None)
        view.clear()
        view.close()
        await self.back_to_queue()

    # ------------------------------------------------------------------------------------------- 1

    async def first_frame_kiosk(self) -> float:
        ctx, events, view, engine = await self.kiosk_call(640, 480)
        await until(lambda: view.first_painted_at, 30, "first frame painted")
        assert view.first_painted_at is not None and view.answered_at is not None
        ms = (view.first_painted_at - view.answered_at) * 1000
        await self.end_kiosk_call(ctx, engine, events, view)
        return ms

    async def chromium_point_call(self, w: int, h: int) -> None:
        await self.call("evaluate", name="cpoint", expression=CHROMIUM_POINT)
        cred = POINT_CREDENTIALS["kemi-kirjasto"]
        run = f"bp.run('kemi-kirjasto', '{cred}', {w}, {h}).then(() => true)"
        await self.call("evaluate", name="cpoint", expression=run)
        await self.answer()

    async def end_chromium_call(self) -> None:
        await self.call("evaluate", name="cpoint", expression="bp.hangup() || true")
        await self.back_to_queue()

    async def first_frame_chromium(self) -> float:
        await self.chromium_point_call(640, 480)
        ms = await self.call(
            "waitForFunction", name="cpoint", expression="bp.firstFrame !== null && (bp.firstFrame - bp.t0)",
            timeout=30000,
        )
        await self.end_chromium_call()
        return float(ms)

    # ------------------------------------------------------------------------------------------- 2

    async def cpu(self, w: int, h: int, seconds: float, settle: float
                  ) -> tuple[float, float, float, float, tuple[int, int], float, str]:  # fmt: skip
        await self.desk_camera(w, h)
        ctx, events, view, engine = await self.kiosk_call(w, h)
        await until(lambda: events.of(CallConnected), 30, "connected")
        await asyncio.sleep(settle)  # both browsers' encoders reach their steady size and bitrate
        sinks = [s for peer in engine.peers.values() for s in peer.sinks if s.kind == "video"]
        camera = engine._video
        frames_before, decoded_before = view.frames_painted, sum(s.frames for s in sinks)
        sent_before = camera.frames_sent if camera is not None else 0
        kiosk0, chromium0, t0 = time.process_time(), tree_cpu_s(self.browser.proc.pid), time.monotonic()
        await asyncio.sleep(seconds)
        kiosk1, chromium1, t1 = time.process_time(), tree_cpu_s(self.browser.proc.pid), time.monotonic()
        fps = (view.frames_painted - frames_before) / (t1 - t0)
        decoded = (sum(s.frames for s in sinks) - decoded_before) / (t1 - t0)
        sent = ((camera.frames_sent if camera is not None else 0) - sent_before) / (t1 - t0)
        received = max((s.size for s in sinks if s.size), default=(0, 0))
        desk = await self.call("evaluate", name="desk", expression=DESK_OUTBOUND)
        remb = reported_bandwidth(engine)
        await self.end_kiosk_call(ctx, engine, events, view)
        cpu_k, cpu_c = 100 * (kiosk1 - kiosk0) / (t1 - t0), 100 * (chromium1 - chromium0) / (t1 - t0)
        return cpu_k, cpu_c, fps, decoded, received, sent, f"{link(desk)}; {remb}"

    async def chromium_receives(self, w: int, h: int, seconds: float, settle: float
                                ) -> tuple[float, tuple[int, int], str]:  # fmt: skip
        """The reference: what the same desk sends a Chromium point in a call of the same size."""
        await self.desk_camera(w, h)
        await self.chromium_point_call(w, h)
        await self.call("waitForFunction", name="cpoint", expression="bp.firstFrame !== null", timeout=30000)
        await asyncio.sleep(settle)
        first = await self.call("evaluate", name="cpoint", expression=POINT_INBOUND)
        t0 = time.monotonic()
        await asyncio.sleep(seconds)
        last = await self.call("evaluate", name="cpoint", expression=POINT_INBOUND)
        fps = (last["decoded"] - first["decoded"]) / (time.monotonic() - t0)
        desk = await self.call("evaluate", name="desk", expression=DESK_OUTBOUND)
        await self.end_chromium_call()
        return fps, (int(last["w"]), int(last["h"])), link(desk)

    # ------------------------------------------------------------------------------------------- 3

    async def documents(self, runs: int, tmp: Path) -> dict[str, list[float]]:
        results: dict[str, list[float]] = defaultdict(list)
        five = pdf_of_size(5 * 1024)
        (tmp / "five.pdf").write_bytes(five)
        scan = scan_pdf(10)
        results["scan_bytes"] = [float(len(scan))]
        await self.desk_camera(640, 480)
        ctx, events, view, engine = await self.kiosk_call(640, 480)
        await until(lambda: events.of(CallConnected), 30, "connected")
        await asyncio.sleep(2)

        async def up(pdf: bytes, name: str) -> str | None:
            try:
                done = await engine.send_document(pdf, "scan", name)
            except TransferFailed as exc:
                return exc.reason
            return None if done.ok else str(done.reason)

        async def down() -> str | None:
            before = len(events.of(PrintRequested))
            failed = len([e for e in events.of(TransferDone) if e.direction == "in" and not e.ok])
            await self.call("setInputFiles", name="desk", selector="#print-file", files=[str(tmp / "five.pdf")])
            await until(
                lambda: len(events.of(PrintRequested)) > before
                or len([e for e in events.of(TransferDone) if e.direction == "in" and not e.ok]) > failed,
                180, "print",
            )
            if len(events.of(PrintRequested)) > before:
                return None
            return next(e.reason for e in reversed(events.of(TransferDone)) if e.direction == "in" and not e.ok)

        # A transfer that fails is counted and reported (a document lost is what the bench is for), not a crash.
        for _ in range(runs):
            for key, step in (("to_desk", lambda: up(five, "five.pdf")), ("from_desk", down),
                              ("scan10", lambda: up(scan, "scan.pdf"))):
                start, dropped = time.monotonic(), udp_receive_drops()
                reason = await step()
                results[f"{key}_drops"].append(float(udp_receive_drops() - dropped))
                if reason is None:
                    results[key].append((time.monotonic() - start) * 1000)
                else:
                    self.failures.append(f"{key}: {reason}")
                    print(f"   ! {key} failed: {reason} (load {os.getloadavg()[0]:.1f})")
                    if engine.call is None or not any(
                        peer.pc.connectionState == "connected" for peer in engine.peers.values()
                    ):
                        await self.end_kiosk_call(ctx, engine, events, view)
                        await self.desk_camera(640, 480)
                        ctx, events, view, engine = await self.kiosk_call(640, 480)
                        await until(functools.partial(events.of, CallConnected), 60, "connected")
                        await asyncio.sleep(2)
        await self.end_kiosk_call(ctx, engine, events, view)
        await self.desk_camera(640, 480)
        await self.chromium_point_call(640, 480)
        opened = "bp.dc && bp.dc.readyState === 'open'"
        await self.call("waitForFunction", name="cpoint", expression=opened, timeout=30000)
        await asyncio.sleep(2)
        for _ in range(runs):
            r = await self.call("evaluate", name="cpoint", expression=f"bp.sendDoc({len(five)})")
            assert r["ok"]
            results["chromium"].append(float(r["ms"]))
        await self.end_chromium_call()
        return results


def pattern_y4m(path: Path, width: int = 1280, height: int = 720, fps: int = 30) -> Path:
    """The kiosk's test picture as a Y4M file for Chromium's fake camera: one whole loop of it (the picture
    moves 8 pixels a frame), so the file repeats as the kiosk's source does."""
    source = PatternSource(width, height)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(width // 8):
            _, picture = source.latest()
            assert picture is not None
            out.write(b"FRAME\n")
            out.write(to_i420(picture, width, height).tobytes())
    return path


async def main_async(args: argparse.Namespace) -> None:
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    parts = sorted(int(x) for x in args.parts.split(","))
    summary: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-call-") as tmpdir:
        tmp = Path(tmpdir)
        # Part 2 compares the two encoders' CPU, so there Chromium films the kiosk's picture; parts 1 and 3
        # keep Chromium's own camera (the file made the Chromium point's first frame ~70 ms later, a cost of
        # the file, not of the call). Consecutive parts with the same camera share one browser.
        same = (f"--use-file-for-fake-video-capture={pattern_y4m(tmp / 'kiosk-picture.y4m')}",) if (
            2 in parts and args.desk_camera == "same") else ()
        groups: list[tuple[tuple[str, ...], list[int]]] = []
        for part in parts:
            flags = same if part == 2 else ()
            if groups and groups[-1][0] == flags:
                groups[-1][1].append(part)
            else:
                groups.append((flags, [part]))
        for flags, group in groups:
            summary.update(await run_parts(app, args, tmp, flags, group))
        print(f"\nload average at the end {os.getloadavg()[0]:.1f}")
        print(summary_line(summary))


async def run_parts(
    app: QApplication, args: argparse.Namespace, tmp: Path, flags: tuple[str, ...], parts: list[int]
) -> dict[str, float]:
    """``parts`` in one Chromium started with ``flags``, through a switchboard of their own."""
    browser = Browser(tmp / f"chromium-{'-'.join(map(str, parts))}.log", flags)
    summary: dict[str, float] = {}
    try:
        async with serve() as sb:
            bench = Bench(browser, sb, app, args.remb_floor)
            pump = bench.pump()
            await bench.login_desk()
            films = "the kiosk's test picture" if flags else "Chromium's own fake camera"
            print(f"\nChromium {browser.version}; {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.1f};"
                  f" Chromium films {films}")
            for part in parts:
                if part == 1:
                    summary.update(await part1(bench, args))
                elif part == 2:
                    summary.update(await part2(bench, args))
                elif part == 3:
                    summary.update(await part3(bench, args, tmp))
            pump.cancel()
    finally:
        browser.quit()
    return summary


async def part1(bench: Bench, args: argparse.Namespace) -> dict[str, float]:
    kiosk_ff: list[float] = []
    chromium_ff: list[float] = []
    await bench.first_frame_kiosk()  # warm-up (imports, codecs)
    await bench.first_frame_chromium()
    for _ in range(args.runs):
        kiosk_ff.append(await bench.first_frame_kiosk())
        chromium_ff.append(await bench.first_frame_chromium())
    print("\n1. answer → first remote frame painted on the point (640×480), median of", args.runs)
    print(f"   kiosk engine → Qt view : {med(kiosk_ff)} ms  (runs: {', '.join(f'{v:.0f}' for v in kiosk_ff)})")
    print(f"   Chromium point → video : {med(chromium_ff)} ms  (runs: {', '.join(f'{v:.0f}' for v in chromium_ff)})")
    print(f"   (bench process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")
    return {"first_frame_ratio": statistics.median(kiosk_ff) / statistics.median(chromium_ff)}


async def part2(bench: Bench, args: argparse.Namespace) -> dict[str, float]:
    print(f"\n2. CPU of a two-way call at 30 fps, {args.seconds:.0f} s windows {args.settle:.0f} s into each call,"
          f" median of {args.cpu_runs}")
    print("   (% of one core; kiosk = engine + painting; Chromium = the desk's processes in that call)")
    summary: dict[str, float] = {}
    for w, h in ((640, 480), (1280, 720)):
        rows = [await bench.cpu(w, h, args.seconds, args.settle) for _ in range(args.cpu_runs)]
        k = statistics.median(r[0] for r in rows)
        c = statistics.median(r[1] for r in rows)
        fps = statistics.median(r[2] for r in rows)
        decoded = statistics.median(r[3] for r in rows)
        sent = statistics.median(r[5] for r in rows)
        got = rows[-1][4]
        print(
            f"   {w}×{h}: kiosk {k:.0f} %  Chromium {c:.0f} %  ratio {k / c:.2f}"
            f"  (kiosk decoded {decoded:.1f} fps of the desk's {got[0]}×{got[1]}, painted {fps:.1f} fps;"
            f" kiosk sent {sent:.1f} fps at {w}×{h})"
        )
        print(f"      {rows[-1][6]}")
        ref_fps, ref_size, ref_desk = await bench.chromium_receives(w, h, args.seconds, args.settle)
        print(f"   reference, the same desk → a Chromium point: {ref_size[0]}×{ref_size[1]} at {ref_fps:.1f} fps")
        print(f"      {ref_desk}")
        print(f"   (bench process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")
        if w == 1280:
            summary.update(cpu_720p_ratio=k / c, receive_fps=fps, receive_w=float(got[0]), ref_fps=ref_fps,
                           ref_w=float(ref_size[0]))
    return summary


async def part3(bench: Bench, args: argparse.Namespace, tmp: Path) -> dict[str, float]:
    docs = await bench.documents(args.doc_runs, tmp)
    mib = 5 * 1024 * 1024
    print(f"\n3. documents while 640×480 video runs both ways, median of {args.doc_runs} (until doc.ack)")
    for key, label, size in (
        ("to_desk", "5 MiB kiosk → desk (aiortc → Chromium)", mib),
        ("from_desk", "5 MiB desk → kiosk (Chromium → aiortc)", mib),
        ("scan10", f"10-page scan kiosk → desk ({docs['scan_bytes'][0] / 1e6:.1f} MB)", docs["scan_bytes"][0]),
        ("chromium", "5 MiB Chromium point → desk (reference)", mib),
    ):
        if not docs[key]:
            print(f"   {label:<48} none arrived")
            continue
        ms = statistics.median(docs[key])
        drops = "" if key == "chromium" else f", UDP datagrams dropped at a full buffer: {med(docs[f'{key}_drops'])}"
        print(f"   {label:<48} {ms:6.0f} ms  {size / ms / 1000:.2f} MB/s  ({len(docs[key])} arrived{drops})")
    print(f"   transfers failed: {len(bench.failures)} {bench.failures}")
    reference = statistics.median(docs["chromium"])
    out = {"doc_failures": float(len(bench.failures))}
    for key, name in (("to_desk", "doc_up_ratio"), ("from_desk", "doc_down_ratio")):
        if docs[key]:
            out[name] = statistics.median(docs[key]) / reference
    return out


def summary_line(summary: dict[str, float]) -> str:
    """One line for the issue: kiosk ÷ Chromium in this run (lower is better), and the 720p frame rate the kiosk
    painted (and, after it, the size it received beside what the same desk sent the Chromium point)."""

    def value(key: str, fmt: str = ".2f") -> str:
        return format(summary[key], fmt) if key in summary else "–"

    return (
        f"first_frame_ratio={value('first_frame_ratio')} cpu_720p_ratio={value('cpu_720p_ratio')}"
        f" receive_fps={value('receive_fps', '.1f')} doc_up_ratio={value('doc_up_ratio')}"
        f" doc_down_ratio={value('doc_down_ratio')} doc_failures={value('doc_failures', '.0f')}"
        f"  (kiosk received width {value('receive_w', '.0f')}; the Chromium point {value('ref_w', '.0f')}"
        f" at {value('ref_fps', '.1f')} fps)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cpu-runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--doc-runs", type=int, default=3)
    parser.add_argument("--parts", default="1,2,3", help="which measurements, e.g. 1,3")
    parser.add_argument("--settle", type=float, default=20.0,
                        help="seconds into each call of part 2 before measuring: the desk's browser ramps its"
                             " picture up over the first ~20 s of a call (3 s measured the ramp, not the call)")
    parser.add_argument("--remb-floor", type=int, default=bandwidth.FLOOR_BPS,
                        help="the floor under the kiosk's REMB, bit/s (0: aiortc's estimate as it is)")
    parser.add_argument("--desk-camera", choices=("same", "fake"), default="same",
                        help="same: Chromium's camera plays the kiosk's test picture (both encoders encode the same"
                             " pixels); fake: Chromium's own fake camera (cheaper to encode; before 2026-12-04)")
    parser.add_argument("--rcvbuf", type=int, default=None,
                        help="SO_RCVBUF for the kiosk's ICE sockets, bytes (default: the engine's own)")
    args = parser.parse_args()
    if args.rcvbuf is not None:
        aioice.turn.UDP_SOCKET_BUFFER_SIZE = args.rcvbuf
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
