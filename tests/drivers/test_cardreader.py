"""The ID-card reader against a private pcscd + vpcd with our virtual FINEID card (simulation/card)."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Iterator

import pytest

from drivers.cardreader import (
    CardEvent,
    CardMonitor,
    CardReader,
    CardRemoved,
    EventKind,
    NoCard,
    NoReader,
    NotAFinnishIdCard,
    PcscTransport,
    PinBlocked,
    PinFormatError,
    WrongPin,
    _context,
    threadsafe,
)
from drivers.fineid import CardModel, FineidCard, Generation
from etapiste.webeid.certificate import load_certificate
from etapiste.webeid.validator import NonceStore, ProofValidator
from simulation.card.applet import ATRS, CardProfile
from simulation.card.pki import CardIdentity, TestPki
from simulation.services.pcsc import CardSlot, PcscHarness, fineid_card

ORIGIN = "https://switchboard.example.fi"
PIN = b"1234"

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def v4_identity(test_pki: TestPki) -> CardIdentity:
    return test_pki.issue("v4", given_name="SPECIMEN-BABAFÖ", surname="SPECIMEN-HÄKKINEN", satu="999020016")


@pytest.fixture(scope="module")
def v3_identity(test_pki: TestPki) -> CardIdentity:
    return test_pki.issue("v3", given_name="SPECIMEN-ANNA", surname="SPECIMEN-VIRTANEN", satu="99902002X")


def insert(slot: CardSlot, profile: CardProfile | None = None) -> None:
    """Insert and wait until pcscd has seen the card (it polls every 400 ms)."""
    slot.insert_and_wait(profile)
    assert CardReader().status()[slot.reader], "the reader's status shows the card's ATR"


def validator(pki: TestPki, store: NonceStore) -> ProofValidator:
    return ProofValidator(ORIGIN, pki.trusted, store)


class EventLog:
    def __init__(self) -> None:
        self.events: queue.Queue[CardEvent] = queue.Queue()

    def __call__(self, event: CardEvent) -> None:
        self.events.put(event)

    def next(self, kind: EventKind, reader: str | None = None, timeout: float = 5.0) -> CardEvent:
        while True:
            event = self.events.get(timeout=timeout)
            if event.kind is kind and (reader is None or event.reader == reader):
                return event


@pytest.fixture
def monitor() -> Iterator[tuple[CardMonitor, EventLog]]:
    log = EventLog()
    m = CardMonitor()
    m.add_listener(log)
    m.start()
    yield m, log
    m.stop()


# -- events ------------------------------------------------------------------------------------------------
def test_card_insert_and_removal_arrive_as_events_with_the_atr(
    card_slot: CardSlot, v4_identity: CardIdentity, monitor: tuple[CardMonitor, EventLog]
) -> None:
    _, log = monitor
    log.next(EventKind.READER_ATTACHED, card_slot.reader)
    card_slot.insert(fineid_card(v4_identity, "v4.0"))
    inserted = log.next(EventKind.CARD_INSERTED, card_slot.reader)
    assert inserted.atr == bytes.fromhex(ATRS["v4.0"])
    assert inserted.is_finnish_id_card
    card_slot.remove()
    log.next(EventKind.CARD_REMOVED, card_slot.reader)


def test_reader_detached_and_attached_again_when_the_pcsc_service_stops_and_returns(
    pcsc: PcscHarness, card_slot: CardSlot, v4_identity: CardIdentity, monitor: tuple[CardMonitor, EventLog]
) -> None:
    _, log = monitor
    log.next(EventKind.READER_ATTACHED, card_slot.reader)
    card_slot.insert(fineid_card(v4_identity, "v4.0"))
    log.next(EventKind.CARD_INSERTED, card_slot.reader)
    pcsc.stop_daemon()
    log.next(EventKind.CARD_REMOVED, card_slot.reader)
    log.next(EventKind.READER_DETACHED, card_slot.reader)
    with pytest.raises(NoReader) as err:
        CardReader().identify()
    assert "reader" in err.value.customer_message("en").lower()
    pcsc.start_daemon()
    log.next(EventKind.READER_ATTACHED, card_slot.reader)


def test_a_failing_listener_does_not_stop_the_others(card_slot: CardSlot, v4_identity: CardIdentity) -> None:
    def broken(event: CardEvent) -> None:
        raise RuntimeError("listener bug")

    log = EventLog()
    m = CardMonitor()
    m.add_listener(broken)
    m.add_listener(log)
    m.start()
    try:
        card_slot.insert(fineid_card(v4_identity, "v4.0"))
        log.next(EventKind.CARD_INSERTED, card_slot.reader)
    finally:
        m.stop()


async def test_events_reach_an_asyncio_loop_from_the_monitor_thread(
    card_slot: CardSlot, v4_identity: CardIdentity
) -> None:
    loop = asyncio.get_running_loop()
    seen: asyncio.Queue[tuple[CardEvent, int]] = asyncio.Queue()
    m = CardMonitor()
    m.add_listener(threadsafe(loop, lambda e: seen.put_nowait((e, threading.get_ident()))))
    m.start()
    try:
        card_slot.insert(fineid_card(v4_identity, "v4.1"))
        while True:
            event, thread = await asyncio.wait_for(seen.get(), 5)
            if event.kind is EventKind.CARD_INSERTED:
                break
        assert thread == threading.get_ident(), "the handler runs in the loop's thread"
    finally:
        m.stop()


# -- recognition and reading --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("version", "generation"),
    [("v3.0", "fineid-v3"), ("v3.1", "fineid-v3"), ("v4.0", "fineid-v4"), ("v4.1", "fineid-v4")],
)
def test_each_fineid_version_is_recognised_and_its_holder_read(
    card_slot: CardSlot, test_pki: TestPki, version: str, generation: str
) -> None:
    identity = test_pki.issue(version[:2], given_name="SPECIMEN-BABAFÖ", surname="SPECIMEN-ÅSTRÖM")
    insert(card_slot, fineid_card(identity, version))
    info = CardReader().identify().to_dict()
    assert info["card"] == generation
    assert info["atr"] == ATRS[version]
    assert (info["given_name"], info["surname"], info["satu"]) == ("SPECIMEN-BABAFÖ", "SPECIMEN-ÅSTRÖM", "999020016")
    assert info["not_after"] == load_certificate(identity.cert_der).not_after.isoformat()
    assert info["reader"] == card_slot.reader


@pytest.mark.parametrize(
    ("atr", "has_pkcs15"),
    [("thales-t1", True), ("lookalike", True), ("v4.0", False)],
    ids=["other-country-card-with-pkcs15", "atr-differs-at-byte-7", "fineid-atr-without-application"],
)
def test_a_card_that_is_not_a_finnish_id_card_gets_a_clear_answer(
    card_slot: CardSlot, v4_identity: CardIdentity, atr: str, has_pkcs15: bool
) -> None:
    insert(card_slot, fineid_card(v4_identity, atr, has_pkcs15=has_pkcs15, protocol="T1" if "t1" in atr else "T0"))
    with pytest.raises(NotAFinnishIdCard) as err:
        CardReader().identify()
    assert "Finnish identity card" in err.value.customer_message("en")
    assert "henkilökortti" in err.value.customer_message("fi")
    if atr != "v4.0":
        assert card_slot.apdus() == [], "an unknown ATR is refused before any APDU is sent"


def test_the_first_reader_holding_a_card_is_used(
    pcsc: PcscHarness, card_slot: CardSlot, v4_identity: CardIdentity
) -> None:
    second = pcsc.slot(1)
    try:
        second.insert_and_wait(fineid_card(v4_identity, "v4.0"))
        assert CardReader().identify().reader == second.reader
        with pytest.raises(NoCard):
            CardReader(card_slot.reader).identify()
        with pytest.raises(NoReader):
            CardReader("No Such Reader 00 00").identify()
    finally:
        second.remove()


def test_empty_reader_asks_for_the_card(card_slot: CardSlot) -> None:
    with pytest.raises(NoCard) as err:
        CardReader().identify()
    assert "Insert your ID card" in err.value.customer_message("en")


def test_t0_card_data_is_fetched_with_get_response_and_the_certificate_read_in_b5_chunks(
    card_slot: CardSlot, v3_identity: CardIdentity
) -> None:
    insert(card_slot, fineid_card(v3_identity, "v3.0"))
    with CardReader().session() as session:
        assert session.transport.protocol == "T0"
        assert session.pin1_tries_left() == 5
        cert = session.card.read_authentication_certificate()
    assert cert == v3_identity.cert_der, "exactly the certificate, without the file's padding"
    apdus = card_slot.apdus()
    get_data = apdus.index(bytes.fromhex("00CB00FF05A003830111"))
    assert apdus[get_data + 1][:4] == bytes.fromhex("00C00000"), "61xx answered with GET RESPONSE"
    reads = [a for a in apdus if a[1] == 0xB0]
    assert reads[0][-1] == 4, "the DER header first, for the length"
    assert all(r[-1] <= 0xB5 for r in reads) and sum(r[-1] for r in reads[1:]) == len(cert)
    assert all(len(a) != 6 + a[4] for a in apdus if len(a) > 5), "no Le on case-4 commands over T=0"


def test_t0_wrong_length_6cxx_is_resent_with_the_le_the_card_asks_for(
    card_slot: CardSlot, v3_identity: CardIdentity
) -> None:
    insert(card_slot, fineid_card(v3_identity, "v3.0", file_padding=0))
    size = len(v3_identity.cert_der)
    offset = size - 0x40  # 64 bytes left in the file; ask for 256 (Le=00)
    with CardReader().session() as session:
        assert session.transport.transmit(bytes.fromhex("00A4080C024331")).ok
        response = session.transport.transmit(bytes([0x00, 0xB0, offset >> 8, offset & 0xFF, 0x00]))
    assert response.ok and response.data == v3_identity.cert_der[offset:]
    apdus = card_slot.apdus()
    assert apdus[-2][-1] == 0x00 and apdus[-1][-1] == 0x40, "6C40 answered by sending again with Le=40"


def test_t1_card_answers_directly_and_gets_le_on_case_4_commands(
    card_slot: CardSlot, v4_identity: CardIdentity, test_pki: TestPki
) -> None:
    insert(card_slot, fineid_card(v4_identity, "thales-t1", protocol="T1"))
    store = NonceStore()
    nonce = store.issue()
    with _context() as ctx:
        transport = PcscTransport(ctx, card_slot.reader)
        try:
            assert transport.protocol == "T1"
            card = FineidCard(transport, CardModel("4.0", Generation.V4))
            card.select_application()
            assert card.pin1_tries_left() == 5
            from drivers.proof import AuthToken, digest_to_sign

            algorithm = card.algorithm()
            card.verify_pin1(bytearray(PIN))
            signature = card.sign_with_auth_key(digest_to_sign(ORIGIN, nonce, algorithm), algorithm)
            token = AuthToken(card.read_authentication_certificate(), algorithm.name, signature)
        finally:
            transport.close()
    assert validator(test_pki, store).validate(token.to_json(), nonce).satu == "999020016"
    apdus = card_slot.apdus()
    assert not any(a[1] == 0xC0 for a in apdus), "no GET RESPONSE on T=1"
    assert bytes.fromhex("00CB00FF05A00383011100") in apdus, "GET DATA carries Le=00 on T=1"
    assert len([a for a in apdus if a[1] == 0xB0]) > 3, "the certificate came in 0xB5-byte chunks"


# -- PIN1 -----------------------------------------------------------------------------------------------------
def test_tries_left_are_read_before_asking_for_the_pin(card_slot: CardSlot, v4_identity: CardIdentity) -> None:
    insert(card_slot, fineid_card(v4_identity, "v4.0", pin_tries=3))
    assert CardReader().pin1_tries_left() == 3
    assert not any(a[1] == 0x20 for a in card_slot.apdus()), "asking for tries sends no VERIFY"


def test_wrong_pin_tells_how_many_tries_are_left(card_slot: CardSlot, v4_identity: CardIdentity) -> None:
    insert(card_slot, fineid_card(v4_identity, "v4.0", pin="4321"))
    pin = bytearray(b"1111")
    with pytest.raises(WrongPin) as err:
        CardReader().prove(ORIGIN, NonceStore().issue(), pin)
    assert err.value.tries_left == 4
    assert err.value.customer_message("fi") == "Väärä PIN1-koodi. Yrityksiä jäljellä: 4."
    assert "4" in err.value.customer_message("sv") and "4" in err.value.staff_message("en")
    assert pin == bytearray(4), "the PIN buffer is overwritten"
    assert card_slot.status()["tries_left"] == 4


@pytest.mark.parametrize("typed", [b"123", b"1234567890123", b"12a4", b"", "12٣4".encode()])
def test_pin_of_wrong_form_is_refused_before_the_card_is_asked(
    card_slot: CardSlot, v4_identity: CardIdentity, typed: bytes
) -> None:
    insert(card_slot, fineid_card(v4_identity, "v4.0"))
    with pytest.raises(PinFormatError) as err:
        CardReader().prove(ORIGIN, NonceStore().issue(), bytearray(typed))
    assert "4–12" in err.value.customer_message("fi")
    assert not any(a[1] == 0x20 for a in card_slot.apdus())
    assert card_slot.status()["tries_left"] == 5


def test_blocked_pin_gets_a_clear_message_and_no_further_attempt(
    card_slot: CardSlot, v4_identity: CardIdentity
) -> None:
    insert(card_slot, fineid_card(v4_identity, "v4.0", pin="4321", pin_tries=1))
    with pytest.raises(PinBlocked):
        CardReader().prove(ORIGIN, NonceStore().issue(), bytearray(b"1111"))
    assert card_slot.status()["tries_left"] == 0
    card_slot.clear_log()
    assert CardReader().pin1_tries_left() == 0
    pin = bytearray(b"4321")
    with pytest.raises(PinBlocked) as err:
        CardReader().prove(ORIGIN, NonceStore().issue(), pin)
    assert not any(a[1] == 0x20 for a in card_slot.apdus()), "no VERIFY is sent to a blocked PIN"
    assert pin == bytearray(4)
    assert "PUK" in err.value.customer_message("en") and "PUK" in err.value.customer_message("fi")


def test_neither_pin_nor_holder_data_appear_in_the_logs(
    card_slot: CardSlot, v4_identity: CardIdentity, caplog: pytest.LogCaptureFixture
) -> None:
    insert(card_slot, fineid_card(v4_identity, "v4.0", pin="80417362"))
    caplog.set_level(logging.DEBUG)
    CardReader().identify()
    CardReader().prove(ORIGIN, NonceStore().issue(), bytearray(b"80417362"))
    with pytest.raises(WrongPin):
        CardReader().prove(ORIGIN, NonceStore().issue(), bytearray(b"80417369"))
    assert caplog.records, "the driver does log its APDU exchange at debug level"
    text = caplog.text.lower()
    for secret in ("80417362", "80417369", b"80417362".hex(), b"80417369".hex()):
        assert secret not in text
    for personal in (v4_identity.satu, v4_identity.given_name, v4_identity.surname):
        assert personal.lower() not in text


# -- the proof -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("version", "algorithm", "size"), [("v3.1", "PS256", 256), ("v4.0", "ES384", 96)])
def test_card_signs_a_web_eid_token_the_validator_accepts(
    card_slot: CardSlot, test_pki: TestPki, version: str, algorithm: str, size: int
) -> None:
    identity = test_pki.issue(version[:2])
    insert(card_slot, fineid_card(identity, version))
    store = NonceStore()
    nonce = store.issue()
    pin = bytearray(PIN)
    token = CardReader().prove(ORIGIN, nonce, pin)
    assert pin == bytearray(4)
    assert (token.algorithm, len(token.signature), token.format) == (algorithm, size, "web-eid:1.0")
    assert token.certificate == identity.cert_der
    holder = validator(test_pki, store).validate(token.to_json(), nonce)
    assert (holder.given_name, holder.surname, holder.satu) == (identity.given_name, identity.surname, "999020016")


def test_card_is_unpowered_at_the_end_of_every_session(card_slot: CardSlot, v4_identity: CardIdentity) -> None:
    insert(card_slot, fineid_card(v4_identity, "v4.0"))
    CardReader().prove(ORIGIN, NonceStore().issue(), bytearray(PIN))
    # pcscd powers the card down after the driver's disconnect; on a busy machine the card hears it a moment later.
    deadline = time.monotonic() + 10
    while (status := card_slot.status())["events"][-1] != "power-off" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert status["events"][-1] == "power-off"
    assert status["pin_verified"] is False, "the verified PIN state is gone with the session"
    assert status["signatures"] == 1


# -- removal at any step ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("step", "ins"), [("while reading", 0xB0), ("during PIN", 0x20), ("during signing", 0x2A)])
def test_card_pulled_out_gives_card_removed_and_a_clean_state(
    card_slot: CardSlot, test_pki: TestPki, v4_identity: CardIdentity, step: str, ins: int
) -> None:
    insert(card_slot, fineid_card(v4_identity, "v4.0"))
    card_slot.pull_on(ins)
    pin = bytearray(PIN)
    with pytest.raises(CardRemoved) as err:
        CardReader().prove(ORIGIN, NonceStore().issue(), pin)
    assert "Put the card back" in err.value.customer_message("en")
    assert pin == bytearray(4), f"PIN wiped when pulled out {step}"
    assert card_slot.status()["tries_left"] == 5, "no PIN try is lost"
    insert(card_slot)  # the same card again: the next attempt starts afresh and succeeds
    store = NonceStore()
    nonce = store.issue()
    token = CardReader().prove(ORIGIN, nonce, bytearray(PIN))
    assert validator(test_pki, store).validate(token.to_json(), nonce).satu == "999020016"


@pytest.mark.parametrize("after", [1, 2, 4, 8, 10, 12, 13])
def test_card_pulled_out_after_any_number_of_apdus_gives_card_removed(
    card_slot: CardSlot, v4_identity: CardIdentity, after: int
) -> None:
    insert(card_slot, fineid_card(v4_identity, "v4.0"))
    card_slot.pull_after(after)
    with pytest.raises(CardRemoved):
        CardReader().prove(ORIGIN, NonceStore().issue(), bytearray(PIN))
    assert not card_slot.status()["inserted"]
    with pytest.raises(NoCard):
        CardReader().identify()


# -- the kiosk's asynchronous use ---------------------------------------------------------------------------
async def test_async_calls_run_off_the_loop_and_give_the_same_results(
    card_slot: CardSlot, test_pki: TestPki, v4_identity: CardIdentity
) -> None:
    insert(card_slot, fineid_card(v4_identity, "v4.0"))
    reader = CardReader()
    try:
        info = await reader.identify_async()
        assert info.holder.satu == "999020016"
        assert await reader.pin1_tries_left_async() == 5
        store = NonceStore()
        nonce = store.issue()
        pin = bytearray(PIN)
        token = await reader.prove_async(ORIGIN, nonce, pin)
        assert pin == bytearray(4)
        assert validator(test_pki, store).validate(token.to_json(), nonce).given_name == "SPECIMEN-BABAFÖ"
        with pytest.raises(WrongPin):
            await reader.prove_async(ORIGIN, store.issue(), bytearray(b"9999"))
    finally:
        reader.shutdown()
