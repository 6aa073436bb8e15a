"""The ID-card reader over PC/SC: reader and card events, and the customer's identity proof.

How the kiosk uses it (the whole interface)::

    from drivers.cardreader import CardMonitor, CardReader, CardEvent, EventKind

    monitor = CardMonitor()                       # one background thread with its own PC/SC context
    monitor.add_listener(on_event)                # on_event(CardEvent) runs IN THE MONITOR THREAD:
    monitor.start()                               #   marshal it, e.g. loop.call_soon_threadsafe(...)
    ...                                           #   (``threadsafe(loop, handler)`` does exactly that)
    reader = CardReader()
    info = reader.identify()                      # CardInfo: holder's names, SATU, validity, generation
    tries = reader.pin1_tries_left()              # ask BEFORE showing the PIN pad; 0 → PinBlocked
    token = reader.prove(origin, nonce, pin)      # pin: bytearray of ASCII digits, wiped when this returns
    token = await reader.prove_async(origin, nonce, pin)   # the same on the reader's own worker thread
    monitor.stop()

Events (``EventKind``): READER_ATTACHED / READER_DETACHED (also when pcscd stops or comes back) and
CARD_INSERTED (with the ATR; empty for a mute card, e.g. one inserted the wrong way) / CARD_REMOVED,
within about half a second of the change (pcscd polls cards every 400 ms; we wait on
``SCardGetStatusChange`` with the PnP notification reader).

Every call of ``CardReader`` is a complete card session: connect to the first reader holding a card
(or the one named), do the work, and disconnect with ``SCARD_UNPOWER_CARD`` so the card forgets the
verified PIN and nothing of the customer stays in the card's state. Errors are ``drivers.carderrors``
types (``CardRemoved`` at any step, ``NotAFinnishIdCard``, ``WrongPin.tries_left``, ``PinBlocked`` …), each
with customer and staff messages in fi/sv/en; after any of them the reader is in a clean state and the
next call starts afresh. A malformed origin or nonce (a configuration or switchboard fault, not the
customer's) is a ``ValueError`` raised before the card is touched.

PIN handling: the PIN is a ``bytearray`` that ``prove`` wipes (zeros) as soon as the VERIFY APDU has been
sent, also on any error; the APDU buffer is wiped as well; nothing logs APDU data (only INS and status).
Python may keep short-lived copies inside the C layer's call (a list of small ints for pyscard), which
is the floor of what a Python process can promise.

The T=0/T=1 transport rules live in ``PcscTransport``: on T=0 case-4 commands go without Le and ``61xx``
is answered with GET RESPONSE; ``6Cxx`` means "send again with Le=xx" (both protocols).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import enum
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from smartcard import scard

from drivers.carderrors import (
    CardError,
    CardRemoved,
    NoCard,
    NoReader,
    NotAFinnishIdCard,
    PinBlocked,
    PinFormatError,
    WrongPin,
)
from drivers.fineid import CardModel, FineidCard, Response, check_pin_format, recognise_atr, wipe
from drivers.proof import AuthToken, digest_to_sign
from etapiste.webeid.certificate import Holder
from etapiste.webeid.origin import check_origin
from etapiste.webeid.token import check_nonce

__all__ = [
    "CardError",
    "CardEvent",
    "CardInfo",
    "CardMonitor",
    "CardReader",
    "CardRemoved",
    "CardSession",
    "EventKind",
    "NoCard",
    "NoReader",
    "NotAFinnishIdCard",
    "PcscTransport",
    "PinBlocked",
    "PinFormatError",
    "WrongPin",
    "threadsafe",
]

log = logging.getLogger(__name__)

PNP_READER = "\\\\?PnP?\\Notification"


def _rc(value: int) -> int:
    return value & 0xFFFFFFFF


_REMOVED = {_rc(scard.SCARD_W_REMOVED_CARD), _rc(scard.SCARD_E_NO_SMARTCARD)}
_NO_READER = {
    _rc(scard.SCARD_E_NO_SERVICE),
    _rc(scard.SCARD_E_SERVICE_STOPPED),
    _rc(scard.SCARD_E_READER_UNAVAILABLE),
    _rc(scard.SCARD_E_UNKNOWN_READER),
    _rc(scard.SCARD_E_NO_READERS_AVAILABLE),
}
_OK = _rc(scard.SCARD_S_SUCCESS)
_SWAPPED = {_rc(scard.SCARD_W_UNPOWERED_CARD), _rc(scard.SCARD_W_UNRESPONSIVE_CARD), _rc(scard.SCARD_W_RESET_CARD)}


def _message(rc: int) -> str:
    return f"{scard.SCardGetErrorMessage(rc)} (0x{_rc(rc):08X})"


@contextlib.contextmanager
def _context() -> Iterator[int]:
    rc, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if _rc(rc) != _OK:
        raise NoReader(_message(rc))
    try:
        yield ctx
    finally:
        scard.SCardReleaseContext(ctx)


def _list_readers(ctx: int) -> list[str]:
    rc, readers = scard.SCardListReaders(ctx, [])
    if _rc(rc) == _rc(scard.SCARD_E_NO_READERS_AVAILABLE):
        return []
    if _rc(rc) != _OK:
        raise NoReader(_message(rc))
    return list(readers)


def _reader_states(ctx: int, readers: list[str]) -> list[tuple[str, int, bytes]]:
    """(reader, event state, ATR) of each reader right now."""
    if not readers:
        return []
    rc, states = scard.SCardGetStatusChange(ctx, 0, [(r, scard.SCARD_STATE_UNAWARE) for r in readers])
    if _rc(rc) != _OK:
        raise NoReader(_message(rc))
    return [(r, s, bytes(atr)) for r, s, atr in states]


class PcscTransport:
    """One connected card. Counts the APDUs it sends (``apdu_count``) for the benchmark and tests."""

    def __init__(self, ctx: int, reader: str) -> None:
        self.ctx = ctx
        self.reader = reader
        deadline = time.monotonic() + 1.0
        while True:
            rc, self.handle, active = scard.SCardConnect(
                ctx, reader, scard.SCARD_SHARE_SHARED, scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1
            )
            # a card swapped faster than pcscd polls (400 ms) looks unpowered for a moment: look again
            if _rc(rc) not in _SWAPPED or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        if _rc(rc) in _REMOVED:
            raise NoCard(_message(rc))
        if _rc(rc) in _NO_READER:
            raise NoReader(_message(rc))
        if _rc(rc) != _OK:
            raise CardError(f"connect: {_message(rc)}")
        self.pci = active
        self.protocol = "T1" if active == scard.SCARD_PROTOCOL_T1 else "T0"
        self.apdu_count = 0
        self.closed = False
        rc, _reader, _state, _proto, atr = scard.SCardStatus(self.handle)
        if _rc(rc) != _OK:
            self._fail(rc)
        self.atr = bytes(atr)

    def _raw(self, apdu: bytes | bytearray, sensitive: bool) -> Response:
        if self.closed:
            raise CardRemoved("session already closed")
        buffer = list(apdu)
        try:
            rc, response = scard.SCardTransmit(self.handle, self.pci, buffer)
        finally:
            if sensitive:
                buffer.clear()
        self.apdu_count += 1
        if _rc(rc) != _OK:
            self._fail(rc)
        if len(response) < 2:  # what vpcd and some readers return when the card left mid-APDU
            if self._card_gone():
                self.close()
                raise CardRemoved("no status word; card gone")
            raise CardError("card answered without a status word")
        sw = (response[-2] << 8) | response[-1]
        log.debug("APDU INS=%02X → %04X", apdu[1], sw)
        return Response(bytes(response[:-2]), sw)

    def transmit(self, apdu: bytes | bytearray, *, sensitive: bool = False) -> Response:
        """Send ``apdu``; resolve ``61xx`` (GET RESPONSE) and ``6Cxx`` (resend with Le=xx)."""
        if self.protocol == "T0" and len(apdu) > 5 and len(apdu) == 6 + apdu[4]:
            apdu = apdu[:-1]  # T=0: a case-4 command goes without Le, its data follows with GET RESPONSE
        response = self._raw(apdu, sensitive)
        if response.sw >> 8 == 0x6C:
            le = response.sw & 0xFF
            has_le = len(apdu) == 5 or (len(apdu) > 5 and len(apdu) == 6 + apdu[4])
            retry = bytes(apdu[:-1] if has_le else apdu) + bytes([le])
            response = self._raw(retry, sensitive)
        data = bytearray(response.data)
        for _ in range(64):
            if response.sw >> 8 != 0x61:
                break
            response = self._raw(bytes([0x00, 0xC0, 0x00, 0x00, response.sw & 0xFF]), False)
            data += response.data
        return Response(bytes(data), response.sw)

    def _fail(self, rc: int) -> None:
        """Turn a PC/SC failure into the right error, finding out whether the card was pulled out."""
        code = _rc(rc)
        if code in _REMOVED or self._card_gone():
            self.close()
            raise CardRemoved(_message(rc))
        if code in _NO_READER:
            self.close()
            raise NoReader(_message(rc))
        raise CardError(_message(rc))

    def _card_gone(self, wait: float = 3.0) -> bool:
        """After a failed exchange: did the card leave? pcscd notices within one poll (400 ms)."""
        deadline = time.monotonic() + wait
        state = scard.SCARD_STATE_UNAWARE
        while True:
            remaining = int(max(0.0, deadline - time.monotonic()) * 1000)
            rc, states = scard.SCardGetStatusChange(self.ctx, remaining, [(self.reader, state)])
            if _rc(rc) in _NO_READER:
                return True
            if _rc(rc) != _OK:
                return False
            _r, event, _atr = states[0]
            if not event & scard.SCARD_STATE_PRESENT:
                return True
            rc, *_ = scard.SCardStatus(self.handle)
            if _rc(rc) in _REMOVED or _rc(rc) == _rc(scard.SCARD_W_RESET_CARD):
                return True
            if remaining == 0:
                return False
            state = event & ~scard.SCARD_STATE_CHANGED

    def close(self) -> None:
        """Disconnect and unpower the card: the verified PIN and any selected state are gone."""
        if not self.closed:
            self.closed = True
            scard.SCardDisconnect(self.handle, scard.SCARD_UNPOWER_CARD)


@dataclass(frozen=True)
class CardInfo:
    """What ``etapiste card info`` and the kiosk show: the card and its holder (kept in memory only)."""

    reader: str
    atr: bytes
    model: CardModel
    holder: Holder

    def to_dict(self) -> dict[str, str]:
        return {
            "reader": self.reader,
            "atr": self.atr.hex().upper(),
            "card": self.model.generation.value,
            "given_name": self.holder.given_name,
            "surname": self.holder.surname,
            "satu": self.holder.satu,
            "not_after": self.holder.not_after.isoformat(),
        }


class CardSession:
    """One connection to one card; ``close()`` (or the ``with`` block's end) unpowers it."""

    def __init__(self, ctx: int, reader: str) -> None:
        self.reader = reader
        self.transport = PcscTransport(ctx, reader)
        try:
            self.card = FineidCard.recognise(self.transport, self.transport.atr)
        except BaseException:
            self.transport.close()
            raise

    def __enter__(self) -> CardSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.transport.close()

    @property
    def apdu_count(self) -> int:
        return self.transport.apdu_count

    def info(self) -> CardInfo:
        return CardInfo(self.reader, self.transport.atr, self.card.model, self.card.holder())

    def pin1_tries_left(self) -> int:
        return self.card.pin1_tries_left()

    def prove(self, origin: str, nonce: str, pin: bytearray) -> AuthToken:
        """A Web eID 1.0 token for ``origin`` and ``nonce``. ``pin`` is wiped whatever happens."""
        try:
            check_origin(origin)
            check_nonce(nonce)
            check_pin_format(pin)
            tries = self.card.pin1_tries_left()
            if tries == 0:
                raise PinBlocked("tries counter is 0; no VERIFY sent")
            algorithm = self.card.algorithm()
            digest = digest_to_sign(origin, nonce, algorithm)
            certificate = self.card.read_authentication_certificate()
            self.card.verify_pin1(pin)
            signature = self.card.sign_with_auth_key(digest, algorithm)
        finally:
            wipe(pin)
        return AuthToken(certificate, algorithm.name, signature)


class CardReader:
    """Blocking, one-session-per-call access for the kiosk and the CLI; ``*_async`` twins run the same
    calls on a private single worker thread (PC/SC handles stay on one thread)."""

    def __init__(self, reader: str | None = None) -> None:
        #: the reader to use; None: the first reader that holds a card
        self.reader = reader
        self._worker: concurrent.futures.ThreadPoolExecutor | None = None

    def readers(self) -> list[str]:
        with _context() as ctx:
            return _list_readers(ctx)

    def status(self) -> dict[str, bytes]:
        """Each attached reader → the ATR of the card in it (b"" when empty): the staff's at-a-glance view."""
        with _context() as ctx:
            readers = _list_readers(ctx)
            return {
                r: (atr if state & scard.SCARD_STATE_PRESENT else b"") for r, state, atr in _reader_states(ctx, readers)
            }

    @contextlib.contextmanager
    def session(self) -> Iterator[CardSession]:
        """A session on the configured reader or the first one with a card; the card is unpowered after."""
        with _context() as ctx:
            readers = _list_readers(ctx)
            if not readers:
                raise NoReader("no PC/SC reader")
            if self.reader is not None:
                if self.reader not in readers:
                    raise NoReader(f"reader {self.reader!r} not attached")
                readers = [self.reader]
            with_card = [r for r, state, _ in _reader_states(ctx, readers) if state & scard.SCARD_STATE_PRESENT]
            if not with_card:
                raise NoCard("no card in " + ", ".join(readers))
            with CardSession(ctx, with_card[0]) as session:
                yield session

    def identify(self) -> CardInfo:
        with self.session() as s:
            return s.info()

    def pin1_tries_left(self) -> int:
        with self.session() as s:
            return s.pin1_tries_left()

    def prove(self, origin: str, nonce: str, pin: bytearray) -> AuthToken:
        try:
            with self.session() as s:
                return s.prove(origin, nonce, pin)
        finally:
            wipe(pin)

    def _run(self, fn: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        if self._worker is None:
            self._worker = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="cardreader")
        return asyncio.get_running_loop().run_in_executor(self._worker, fn, *args)

    async def identify_async(self) -> CardInfo:
        result: CardInfo = await self._run(self.identify)
        return result

    async def pin1_tries_left_async(self) -> int:
        result: int = await self._run(self.pin1_tries_left)
        return result

    async def prove_async(self, origin: str, nonce: str, pin: bytearray) -> AuthToken:
        result: AuthToken = await self._run(self.prove, origin, nonce, pin)
        return result

    def shutdown(self) -> None:
        if self._worker is not None:
            self._worker.shutdown(wait=True)
            self._worker = None


# -- events -------------------------------------------------------------------------------------------------
class EventKind(enum.Enum):
    READER_ATTACHED = "reader-attached"
    READER_DETACHED = "reader-detached"
    CARD_INSERTED = "card-inserted"
    CARD_REMOVED = "card-removed"


@dataclass(frozen=True)
class CardEvent:
    kind: EventKind
    reader: str
    atr: bytes = b""

    @property
    def is_finnish_id_card(self) -> bool:
        """By ATR only (the application check needs a session): for a quick "wrong card" hint."""
        return self.kind is EventKind.CARD_INSERTED and recognise_atr(self.atr) is not None


Listener = Callable[[CardEvent], None]


def threadsafe(loop: asyncio.AbstractEventLoop, handler: Listener) -> Listener:
    """A listener that hands each event to ``handler`` inside ``loop`` (the kiosk's asyncio/qasync loop)."""

    def listener(event: CardEvent) -> None:
        loop.call_soon_threadsafe(handler, event)

    return listener


class CardMonitor:
    """Watches readers and cards from one background thread and tells the listeners what changed.

    Survives pcscd going away and coming back (every reader is reported detached, then attached again).
    """

    def __init__(self, wait_ms: int = 500, retry_s: float = 0.5) -> None:
        self.wait_ms = wait_ms
        self.retry_s = retry_s
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ctx: int | None = None
        #: reader → ATR of the card in it (b"" when empty); what listeners have been told
        self.state: dict[str, bytes] = {}

    def add_listener(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.remove(listener)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="card-monitor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        ctx = self._ctx
        if ctx is not None:
            scard.SCardCancel(ctx)
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def _emit(self, kind: EventKind, reader: str, atr: bytes = b"") -> None:
        event = CardEvent(kind, reader, atr)
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:
                log.exception("card event listener failed on %s", kind.value)

    def _forget(self, reader: str) -> None:
        if self.state.pop(reader, b""):
            self._emit(EventKind.CARD_REMOVED, reader)
        self._emit(EventKind.READER_DETACHED, reader)

    def _update(self, reader: str, event_state: int, atr: bytes) -> None:
        # a mute card (upside down, broken chip) is still "inserted", with no ATR: the kiosk can say so
        present = bool(event_state & scard.SCARD_STATE_PRESENT)
        if event_state & scard.SCARD_STATE_MUTE:
            atr = b""
        before = self.state.get(reader, b"")
        if present and not before:
            self.state[reader] = atr or b"?"
            self._emit(EventKind.CARD_INSERTED, reader, atr)
        elif not present and before:
            self.state[reader] = b""
            self._emit(EventKind.CARD_REMOVED, reader)
        elif present and atr and atr != before:  # a new card between two looks
            self.state[reader] = atr
            self._emit(EventKind.CARD_REMOVED, reader)
            self._emit(EventKind.CARD_INSERTED, reader, atr)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with _context() as ctx:
                    self._ctx = ctx
                    self._watch(ctx)
            except NoReader:
                pass
            finally:
                self._ctx = None
            if self._stop.is_set():
                break
            for reader in list(self.state):  # the service went away: so did every reader
                self._forget(reader)
            self._stop.wait(self.retry_s)

    def _watch(self, ctx: int) -> None:
        pnp_state = 0
        known: dict[str, int] = {}
        while not self._stop.is_set():
            readers = _list_readers(ctx)
            for gone in [r for r in self.state if r not in readers]:
                self._forget(gone)
                known.pop(gone, None)
            for reader in readers:
                if reader not in self.state:
                    self.state[reader] = b""
                    known[reader] = scard.SCARD_STATE_UNAWARE
                    self._emit(EventKind.READER_ATTACHED, reader)
            query = [(r, known.get(r, scard.SCARD_STATE_UNAWARE)) for r in readers] + [(PNP_READER, pnp_state)]
            rc, states = scard.SCardGetStatusChange(ctx, self.wait_ms, query)
            code = _rc(rc)
            if code in (_rc(scard.SCARD_E_TIMEOUT), _rc(scard.SCARD_E_CANCELLED)):
                continue
            if code in _NO_READER and code != _rc(scard.SCARD_E_UNKNOWN_READER):
                raise NoReader(_message(rc))
            if code != _OK:  # a reader vanished between the listing and the wait: list again
                continue
            for name, event_state, atr in states:
                if name == PNP_READER:
                    pnp_state = event_state & ~scard.SCARD_STATE_CHANGED
                    continue
                if event_state & (scard.SCARD_STATE_UNKNOWN | scard.SCARD_STATE_IGNORE):
                    continue
                known[name] = event_state & ~scard.SCARD_STATE_CHANGED
                self._update(name, event_state, bytes(atr))
