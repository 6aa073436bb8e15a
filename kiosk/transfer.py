"""Documents on the call's data channel, both ways: chunked, size-limited, SHA-256 checked, acknowledged.

The wire format is the shared protocol's (``doc.begin`` → binary chunks ≤ 16 KiB → ``doc.end`` → ``doc.ack``,
``doc.progress`` from the receiver about every 256 KiB, ``doc.cancel`` either way); see docs/protocol.md.

Why the rules below:

- **Never silent.** Every transfer ends in exactly one outcome event: delivered (``ok``) or failed with a
  reason code. A dropped call fails the open transfers with ``call_dropped`` at once instead of letting a
  customer watch a progress bar that will never move again.
- **Memory only.** Received bytes live in a ``bytearray`` that is zeroed when the transfer fails or is
  handed on; nothing touches a disk.
- **The receiver decides.** Size against the declared size and the local limit, SHA-256, ``%PDF-``; a frame
  that breaks the rules (a chunk larger than 16 KiB, more bytes than declared, a chunk with no open transfer,
  an end for another transfer) is refused or dropped and logged by type only, never crashes the call.
- **Backpressure.** The sender pauses above 1 MiB buffered and resumes at the 256 KiB low mark
  (``bufferedamountlow``), so a 20 MB document does not sit in memory twice or starve the call's other messages.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeAlias

from etapiste import protocol as p
from etapiste.codes import TransferFailureCode

log = logging.getLogger(__name__)

Direction = Literal["in", "out"]
Purpose = Literal["print", "scan"]
#: Failure codes: the protocol's ``doc.ack`` reasons plus what only one side can see.
FailReason: TypeAlias = TransferFailureCode
#: How long a sender waits for ``doc.ack`` after ``doc.end`` with nothing moving (no bytes confirmed by the
#: receiver, none leaving the send buffer) before calling the transfer failed.
ACK_TIMEOUT_S = 60.0
#: How long a sender waits for the buffer to drain before calling the channel stuck.
DRAIN_TIMEOUT_S = 60.0


class Channel(Protocol):
    """The part of an RTCDataChannel a transfer uses (aiortc's and test doubles alike)."""

    @property
    def readyState(self) -> str: ...

    @property
    def bufferedAmount(self) -> int: ...

    def send(self, data: str | bytes) -> None: ...


@dataclass(frozen=True)
class TransferProgress:
    """``done`` of ``total`` bytes; for ``out`` it is what the receiver confirmed, so both ends agree."""

    transfer: str
    direction: Direction
    purpose: Purpose
    name: str
    done: int
    total: int


@dataclass(frozen=True)
class TransferDone:
    """The outcome of one transfer, exactly once per transfer."""

    transfer: str
    direction: Direction
    purpose: Purpose
    name: str
    ok: bool
    size: int
    sha256: str
    reason: FailReason | None = None


@dataclass(frozen=True)
class DocumentReceived:
    """A complete, verified document from the agent (size, SHA-256 and ``%PDF-`` checked)."""

    transfer: str
    purpose: Purpose
    name: str
    data: bytes
    sha256: str


TransferEvent = TransferProgress | TransferDone | DocumentReceived


class TransferFailed(Exception):
    def __init__(self, transfer: str, reason: FailReason) -> None:
        super().__init__(f"transfer {transfer} failed: {reason}")
        self.transfer = transfer
        self.reason: FailReason = reason


@dataclass
class _Incoming:
    begin: p.DocBegin
    data: bytearray
    last_progress: int = 0


@dataclass
class _Outgoing:
    begin: p.DocBegin
    ack: asyncio.Future[p.DocAck]
    confirmed: int = 0


def _wipe(buf: bytearray) -> None:
    buf[:] = bytes(len(buf))
    del buf[:]


class DocumentLink:
    """Both directions of document transfer on one data channel.

    Feed it the channel's messages (:meth:`on_message` for parsed doc.* messages, :meth:`on_binary`), call
    :meth:`on_low` from ``bufferedamountlow`` and :meth:`close` when the channel or call ends.
    """

    def __init__(
        self,
        channel: Channel,
        emit: Callable[[TransferEvent], None],
        *,
        max_incoming_bytes: int = p.MAX_DOCUMENT_BYTES,
        accept: frozenset[Purpose] = frozenset({"print"}),
    ) -> None:
        self._channel = channel
        self._emit = emit
        self.max_incoming_bytes = min(max_incoming_bytes, p.MAX_DOCUMENT_BYTES)
        self._accept = accept
        self._incoming: _Incoming | None = None
        self._outgoing: _Outgoing | None = None
        self._send_lock = asyncio.Lock()
        self._low = asyncio.Event()
        self._closed: FailReason | None = None
        self._ids = itertools.count(1)
        self.stray_frames = 0
        """Frames dropped because they belonged to no open transfer (diagnostics)."""

    # ------------------------------------------------------------------------------------------- helpers

    def _send(self, message: p.BaseModel) -> None:
        if self._channel.readyState == "open":
            self._channel.send(p.encode(message))

    def _refuse(self, begin: p.DocBegin, reason: FailReason, *, tell_sender: bool = True) -> None:
        if tell_sender and reason in ("checksum_mismatch", "size_mismatch", "too_large", "not_pdf", "busy"):
            self._send(p.DocAck(transfer=begin.transfer, ok=False, reason=reason))
        log.warning("incoming document %s refused: %s", begin.transfer, reason)
        self._emit(
            TransferDone(begin.transfer, "in", begin.purpose, begin.name, False, begin.size, begin.sha256, reason)
        )

    def _drop_incoming(self) -> None:
        if self._incoming is not None:
            _wipe(self._incoming.data)
            self._incoming = None

    # ------------------------------------------------------------------------------------------- receiving

    def on_message(self, m: Any) -> bool:
        """Handle a parsed ``doc.*`` message; returns False for messages that are not about documents."""
        if isinstance(m, p.DocBegin):
            self._on_begin(m)
        elif isinstance(m, p.DocEnd):
            self._on_end(m)
        elif isinstance(m, p.DocProgress):
            out = self._outgoing
            if out is not None and m.transfer == out.begin.transfer and out.confirmed <= m.received <= out.begin.size:
                out.confirmed = m.received
                b = out.begin
                self._emit(TransferProgress(b.transfer, "out", b.purpose, b.name, m.received, b.size))
        elif isinstance(m, p.DocAck):
            out = self._outgoing
            if out is not None and m.transfer == out.begin.transfer and not out.ack.done():
                out.ack.set_result(m)
            else:
                log.info("doc.ack for a transfer that is not open: dropped")
        elif isinstance(m, p.DocCancel):
            inc = self._incoming
            if inc is not None and m.transfer == inc.begin.transfer:
                self._drop_incoming()
                self._refuse(inc.begin, "cancelled", tell_sender=False)
            out = self._outgoing
            if out is not None and m.transfer == out.begin.transfer and not out.ack.done():
                out.ack.set_result(p.DocAck(transfer=m.transfer, ok=False, reason="cancelled"))
        else:
            return False
        return True

    def _on_begin(self, m: p.DocBegin) -> None:
        if self._incoming is not None:
            # One transfer per direction: the open one goes on, the newcomer is told to wait.
            self._refuse(m, "busy")
            return
        if m.purpose not in self._accept:
            log.warning("incoming document with purpose %s is not accepted here", m.purpose)
            self._send(p.DocAck(transfer=m.transfer, ok=False, reason="cancelled"))
            self._emit(TransferDone(m.transfer, "in", m.purpose, m.name, False, m.size, m.sha256, "cancelled"))
            return
        if m.size > self.max_incoming_bytes:
            self._refuse(m, "too_large")
            return
        self._incoming = _Incoming(m, bytearray())
        self._emit(TransferProgress(m.transfer, "in", m.purpose, m.name, 0, m.size))

    def on_binary(self, data: bytes) -> None:
        inc = self._incoming
        if inc is None:
            self.stray_frames += 1
            return
        b = inc.begin
        if len(data) > p.CHUNK_BYTES:
            self._drop_incoming()
            self._refuse(b, "too_large")
            return
        if len(inc.data) + len(data) > b.size:
            self._drop_incoming()
            self._refuse(b, "size_mismatch")
            return
        inc.data += data
        received = len(inc.data)
        if received - inc.last_progress >= p.BUFFER_LOW_BYTES or received == b.size:
            inc.last_progress = received
            self._send(p.DocProgress(transfer=b.transfer, received=received))
            self._emit(TransferProgress(b.transfer, "in", b.purpose, b.name, received, b.size))

    def _on_end(self, m: p.DocEnd) -> None:
        inc = self._incoming
        if inc is None or inc.begin.transfer != m.transfer:
            self.stray_frames += 1
            log.info("doc.end for a transfer that is not open: dropped")
            return
        self._incoming = None
        b, data = inc.begin, inc.data
        reason: FailReason | None = None
        if len(data) != b.size:
            reason = "size_mismatch"
        elif hashlib.sha256(data).hexdigest() != b.sha256:
            reason = "checksum_mismatch"
        elif not data.startswith(b"%PDF-"):
            reason = "not_pdf"
        if reason is not None:
            _wipe(data)
            self._refuse(b, reason)
            return
        self._send(p.DocAck(transfer=b.transfer, ok=True))
        document = bytes(data)
        _wipe(data)
        self._emit(TransferDone(b.transfer, "in", b.purpose, b.name, True, b.size, b.sha256))
        self._emit(DocumentReceived(b.transfer, b.purpose, b.name, document, b.sha256))

    # ------------------------------------------------------------------------------------------- sending

    def on_low(self) -> None:
        self._low.set()

    def new_transfer_id(self) -> str:
        return f"k{secrets.token_hex(4)}{next(self._ids)}"

    async def send(self, data: bytes, purpose: Purpose, name: str, transfer: str | None = None) -> TransferDone:
        """Send one document and wait for the receiver's verdict; raise :class:`TransferFailed` otherwise.

        A second call waits until the first has finished (one transfer per direction).
        """
        transfer = transfer or self.new_transfer_id()
        digest = hashlib.sha256(data).hexdigest()
        if len(data) > p.MAX_DOCUMENT_BYTES or not data:
            raise TransferFailed(transfer, "too_large" if data else "size_mismatch")
        begin = p.DocBegin(
            transfer=transfer, purpose=purpose, name=name[:200] or "document.pdf", size=len(data), sha256=digest
        )
        async with self._send_lock:
            if self._closed is not None or self._channel.readyState != "open":
                return self._fail_out(begin, self._closed or "not_connected")
            out = _Outgoing(begin, asyncio.get_running_loop().create_future())
            self._outgoing = out
            try:
                ack = await self._transmit(out, data)
            except TransferFailed as exc:
                return self._fail_out(begin, self._closed or exc.reason)
            finally:
                self._outgoing = None
        if not ack.ok:
            return self._fail_out(begin, self._closed or ack.reason or "cancelled")
        done = TransferDone(transfer, "out", purpose, begin.name, True, len(data), digest)
        if out.confirmed < len(data):
            self._emit(TransferProgress(transfer, "out", purpose, begin.name, len(data), len(data)))
        self._emit(done)
        return done

    async def _transmit(self, out: _Outgoing, data: bytes) -> p.DocAck:
        begin = out.begin
        self._send(begin)
        self._emit(TransferProgress(begin.transfer, "out", begin.purpose, begin.name, 0, len(data)))
        for offset in range(0, len(data), p.CHUNK_BYTES):
            if out.ack.done():  # refused early (busy, too large, cancelled)
                break
            await self._drain()
            if self._closed is not None or self._channel.readyState != "open":
                raise TransferFailed(begin.transfer, self._closed or "call_dropped")
            self._channel.send(data[offset : offset + p.CHUNK_BYTES])
        if not out.ack.done():
            self._send(p.DocEnd(transfer=begin.transfer))
        return await self._verdict(out)

    async def _verdict(self, out: _Outgoing) -> p.DocAck:
        """Wait for the receiver's ``doc.ack``; ``no_answer`` only after :data:`ACK_TIMEOUT_S` in which nothing
        moved. Up to a megabyte is still in flight after ``doc.end``: on a starved processor it takes longer
        than that to arrive, and a transfer still arriving is not one to fail (a fixed bound did fail them)."""
        loop = asyncio.get_running_loop()
        moved = (out.confirmed, self._channel.bufferedAmount)
        since = loop.time()
        while True:
            try:
                return await asyncio.wait_for(asyncio.shield(out.ack), min(1.0, ACK_TIMEOUT_S / 4))
            except TimeoutError:
                now = (out.confirmed, self._channel.bufferedAmount)
                if now != moved:
                    moved, since = now, loop.time()
                elif loop.time() - since >= ACK_TIMEOUT_S:
                    log.warning(
                        "transfer %s: no verdict and nothing moved for %.0f s (%d of %d bytes confirmed, %d not sent)",
                        out.begin.transfer, ACK_TIMEOUT_S, out.confirmed, out.begin.size, now[1],
                    )  # fmt: skip
                    raise TransferFailed(out.begin.transfer, self._closed or "no_answer") from None

    def _fail_out(self, begin: p.DocBegin, reason: FailReason) -> TransferDone:
        done = TransferDone(begin.transfer, "out", begin.purpose, begin.name, False, begin.size, begin.sha256, reason)
        self._emit(done)
        raise TransferFailed(begin.transfer, reason)

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DRAIN_TIMEOUT_S
        while self._channel.bufferedAmount > p.BUFFER_HIGH_BYTES:
            if self._closed is not None:
                return
            self._low.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                out = self._outgoing
                log.warning(
                    "transfer %s: the send buffer stayed above %d bytes for %.0f s (%d bytes in it, %s confirmed)",
                    out.begin.transfer if out else "-", p.BUFFER_HIGH_BYTES, DRAIN_TIMEOUT_S,
                    self._channel.bufferedAmount, out.confirmed if out else "-",
                )  # fmt: skip
                raise TransferFailed("", "no_answer")
            try:
                await asyncio.wait_for(self._low.wait(), min(remaining, 1.0))
            except TimeoutError:
                continue

    def cancel_outgoing(self) -> None:
        """The customer or the session stopped the transfer being sent."""
        out = self._outgoing
        if out is not None and not out.ack.done():
            self._send(p.DocCancel(transfer=out.begin.transfer))
            out.ack.set_result(p.DocAck(transfer=out.begin.transfer, ok=False, reason="cancelled"))

    # ------------------------------------------------------------------------------------------- ending

    def close(self, reason: FailReason = "call_dropped") -> None:
        """The channel or the call ended: fail whatever is open, loudly, and wipe partial data."""
        if self._closed is not None:
            return
        self._closed = reason
        self._low.set()
        inc = self._incoming
        if inc is not None:
            self._drop_incoming()
            self._refuse(inc.begin, reason, tell_sender=False)
        out = self._outgoing
        if out is not None and not out.ack.done():
            out.ack.set_result(p.DocAck(transfer=out.begin.transfer, ok=False, reason="cancelled"))

    @property
    def busy(self) -> bool:
        return self._incoming is not None or self._outgoing is not None
