"""The private pcscd answers: it lists the vpcd readers and carries APDUs to our virtual card."""

from __future__ import annotations

import os

from smartcard.scard import (
    SCARD_PROTOCOL_T0,
    SCARD_S_SUCCESS,
    SCARD_SCOPE_USER,
    SCARD_SHARE_SHARED,
    SCARD_UNPOWER_CARD,
    SCardConnect,
    SCardDisconnect,
    SCardEstablishContext,
    SCardListReaders,
    SCardReleaseContext,
    SCardTransmit,
)

from simulation.card.pki import TestPki
from simulation.services.common import wait_until
from simulation.services.pcsc import SOCKET_ENV, CardSlot, PcscHarness, fineid_card, reader_name


def test_private_pcscd_lists_the_virtual_readers_and_no_system_socket_is_used(pcsc: PcscHarness) -> None:
    assert os.environ[SOCKET_ENV] == str(pcsc.socket_path)
    assert not os.path.exists("/run/pcscd/pcscd.comm"), "the machine's own pcscd socket must not be created"
    rc, ctx = SCardEstablishContext(SCARD_SCOPE_USER)
    assert rc == SCARD_S_SUCCESS
    try:
        rc, readers = SCardListReaders(ctx, [])
        assert rc == SCARD_S_SUCCESS
        assert reader_name(0) in readers and reader_name(1) in readers
    finally:
        SCardReleaseContext(ctx)


def test_virtual_card_answers_an_apdu_through_pcscd(card_slot: CardSlot, test_pki: TestPki) -> None:
    card_slot.insert(fineid_card(test_pki.issue("v4"), "v4.0"))
    rc, ctx = SCardEstablishContext(SCARD_SCOPE_USER)
    assert rc == SCARD_S_SUCCESS
    try:
        connected: list[tuple[int, int]] = []

        def connect() -> bool:  # pcscd notices a new card on its next poll (every 400 ms)
            rc, card, protocol = SCardConnect(ctx, card_slot.reader, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0)
            if rc == SCARD_S_SUCCESS:
                connected.append((card, protocol))
            return rc == SCARD_S_SUCCESS

        wait_until(connect, 5, "the inserted virtual card")
        card, protocol = connected[0]
        select_pkcs15 = [0x00, 0xA4, 0x04, 0x0C, 0x0C, *bytes.fromhex("A000000063504B43532D3135")]
        rc, response = SCardTransmit(card, protocol, select_pkcs15)
        assert rc == SCARD_S_SUCCESS
        assert response == [0x90, 0x00]
        SCardDisconnect(card, SCARD_UNPOWER_CARD)
    finally:
        SCardReleaseContext(ctx)
    assert card_slot.apdus() == [bytes(select_pkcs15)]
    assert card_slot.status()["events"][-1] == "power-off", "the card is unpowered on disconnect"
