"""A document over aiortc's data channel, with and without the point's SCTP patch (``kiosk/call/sctp.py``).

Two aiortc peers in one process over loopback; one sends ``--mib`` MiB in 16 KiB messages with the kiosk's
marks (pause above 1 MiB buffered, resume at the 256 KiB ``bufferedamountlow``), the other checks SHA-256.
Both ends run aiortc's SCTP, so the figures are aiortc ↔ aiortc (``bench_call.py --parts 3`` measures the
kiosk against Chromium). The patch is global, so each run is its own child process; runs alternate the
variants (:data:`VARIANTS`). Per variant, medians of: wall time from the first message to the last byte, CPU
seconds of the process (both ends) over the same span, SACK chunks the receiver sent, DATA chunks the sender
sent and how many of those were retransmissions.

``--loss N`` loses every N-th DATA packet in the sender's DTLS send (below SCTP, as a lossy link would), and the
sender's T3 timeouts are counted (each resends everything outstanding and shrinks its window to one packet).

Run: ``.venv/bin/python bench/bench_sctp.py [--runs 5] [--mib 5] [--loss 53]``
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aioice.ice  # noqa: E402
from aiortc import RTCPeerConnection  # noqa: E402
from aiortc.rtcsctptransport import RTCSctpTransport  # noqa: E402

from etapiste import protocol as p  # noqa: E402

#: aiortc as it is; its receiver's delayed SACK alone (``sctp.delay_sacks``); the whole patch as the kiosk
#: installs it (also the sender's ``sctp.fast_retransmit_on_evidence``).
VARIANTS = ("aiortc", "delayed-sack", "patched")


def _loopback(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    return ["127.0.0.1"]


def _count_chunks(sent: Counter[tuple[int, str]]) -> None:
    """Count every chunk aiortc sends, by transport and chunk type (both variants pay this alike)."""
    original = RTCSctpTransport._send_chunk

    async def _send_chunk(self: Any, chunk: Any) -> None:
        sent[(id(self), type(chunk).__name__)] += 1
        if getattr(chunk, "_sent_count", 0) > 1:
            sent[(id(self), "resent")] += 1
        await original(self, chunk)

    RTCSctpTransport._send_chunk = _send_chunk  # type: ignore[method-assign]


def _lose_every(transport: Any, n: int, sent: Counter[tuple[int, str]]) -> None:
    """Lose every ``n``-th DATA packet the sender hands to DTLS (below SCTP, as a lossy link would)."""
    dtls, packets = transport.transport, 0
    send_data = dtls._send_data

    async def lossy(data: bytes) -> None:
        nonlocal packets
        if data[12] == 0:  # DATA, the first chunk after SCTP's common header
            packets += 1
            if packets % n == 0:
                sent[(id(transport), "lost")] += 1
                return
        await send_data(data)

    dtls._send_data = lossy


def _count_timeouts(transport: Any, sent: Counter[tuple[int, str]]) -> list[int]:
    """Count the sender's T3 expiries (each resends everything outstanding and drops its window to one packet)."""
    count = [0]
    expired = transport._t3_expired

    def counted() -> None:
        count[0] += 1
        expired()

    transport._t3_expired = counted
    return count


async def _transfer(size: int, loss: int) -> dict[str, Any]:
    aioice.ice.get_host_addresses = _loopback
    sent: Counter[tuple[int, str]] = Counter()
    _count_chunks(sent)
    a, b = RTCPeerConnection(), RTCPeerConnection()
    channel = a.createDataChannel("documents")
    channel.bufferedAmountLowThreshold = p.BUFFER_LOW_BYTES
    opened, done, low = asyncio.Event(), asyncio.Event(), asyncio.Event()
    digest, received = hashlib.sha256(), 0

    @channel.on("open")
    def on_open() -> None:
        opened.set()

    @channel.on("bufferedamountlow")
    def on_low() -> None:
        low.set()

    @b.on("datachannel")
    def on_datachannel(remote: Any) -> None:
        @remote.on("message")
        def on_message(message: bytes) -> None:
            nonlocal received
            digest.update(message)
            received += len(message)
            if received >= size:
                done.set()

    await a.setLocalDescription(await a.createOffer())
    await b.setRemoteDescription(a.localDescription)
    await b.setLocalDescription(await b.createAnswer())
    await a.setRemoteDescription(b.localDescription)
    await asyncio.wait_for(opened.wait(), 20)
    await asyncio.sleep(0.2)  # let the channel's DCEP exchange settle before counting

    payload = os.urandom(size)
    if loss:
        _lose_every(a.sctp, loss, sent)
    timeouts = _count_timeouts(a.sctp, sent)
    sender, receiver = id(a.sctp), id(b.sctp)
    sent.clear()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for offset in range(0, size, p.CHUNK_BYTES):
        while channel.bufferedAmount > p.BUFFER_HIGH_BYTES:
            low.clear()
            await low.wait()
        channel.send(payload[offset : offset + p.CHUNK_BYTES])
    await asyncio.wait_for(done.wait(), 120)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    result = {
        "wall_s": wall,
        "cpu_s": cpu,
        "sacks": sent[(receiver, "SackChunk")],
        "data": sent[(sender, "DataChunk")],
        "resent": sent[(sender, "resent")],
        "lost": sent[(sender, "lost")],
        "timeouts": timeouts[0],
        "intact": digest.digest() == hashlib.sha256(payload).digest(),
    }
    await a.close()
    await b.close()
    return result


def child(variant: str, mib: float, loss: int) -> None:
    from kiosk.call import sctp

    if variant == "patched":
        assert sctp.install(), "the patch was not installed (aiortc version?)"
    elif variant == "delayed-sack":
        sctp.delay_sacks(RTCSctpTransport)
    print(json.dumps(asyncio.run(_transfer(int(mib * 1024 * 1024), loss))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per variant (alternating)")
    parser.add_argument("--mib", type=float, default=5, help="document size in MiB")
    parser.add_argument("--loss", type=int, default=0, help="lose every N-th DATA packet at the sender (0: none)")
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.mib, args.loss)
        return
    results: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
    for run in range(args.runs):
        for variant in VARIANTS:
            out = subprocess.run(
                [sys.executable, __file__, "--child", variant, "--mib", str(args.mib), "--loss", str(args.loss)],
                check=True, capture_output=True, text=True,
            ).stdout  # fmt: skip
            result = json.loads(out.splitlines()[-1])
            results[variant].append(result)
            print(
                f"run {run + 1} {variant:12} {result['wall_s']:.2f} s wall, {result['cpu_s']:.2f} s CPU, "
                f"{result['sacks']} SACKs, {result['data']} DATA ("
                f"{result['resent']} resent, {result['lost']} lost), {result['timeouts']} T3 timeouts, "
                f"intact: {result['intact']}",
                flush=True,
            )
    with open("/proc/loadavg") as f:
        load = f.read().split()[0]
    lossy = f", every {args.loss}th DATA packet lost" if args.loss else ""
    print(
        f"\n{args.mib:g} MiB in {p.CHUNK_BYTES // 1024} KiB messages{lossy}, {args.runs} runs per variant, load {load}"
    )
    print(f"{'':12} {'wall s':>8} {'CPU s':>8} {'SACKs':>7} {'DATA':>7} {'resent':>7} {'T3':>4}  runs (wall)")
    med: dict[str, dict[str, float]] = {}
    for variant, rs in results.items():
        med[variant] = {
            k: statistics.median(r[k] for r in rs) for k in ("wall_s", "cpu_s", "sacks", "data", "resent", "timeouts")
        }
        m = med[variant]
        walls = ", ".join(f"{r['wall_s']:.2f}" for r in rs)
        print(f"{variant:12} {m['wall_s']:8.2f} {m['cpu_s']:8.2f} {m['sacks']:7.0f} {m['data']:7.0f} {m['resent']:7.0f}"
              f" {m['timeouts']:4.0f}  {walls}")  # fmt: skip
    if not all(r["intact"] for rs in results.values() for r in rs):
        print("A DOCUMENT ARRIVED DAMAGED")
    a, b = med["aiortc"], med["patched"]
    print(f"summary: patched {b['wall_s']:.2f} s vs {a['wall_s']:.2f} s wall ({b['wall_s'] / a['wall_s']:.2f}×), "
          f"{b['cpu_s']:.2f} vs {a['cpu_s']:.2f} s CPU ({b['cpu_s'] / a['cpu_s']:.2f}×), "
          f"{b['sacks']:.0f} vs {a['sacks']:.0f} SACKs for {b['data']:.0f} vs {a['data']:.0f} DATA")  # fmt: skip


if __name__ == "__main__":
    main()
