"""Benchmark: the ID-card proof on the virtual FINEID card through a private pcscd + vpcd.

    .venv/bin/python bench/bench_card.py [--runs 15]

Figures (medians of ``--runs`` runs):
  PIN entered → token ready: ``CardReader.prove`` (connect, recognise, tries, certificate, VERIFY, sign,
  unpower) for a v3 card (RSA-2048, PS256) and a v4 card (P-384, ES384), and the APDUs it sends;
  card inserted → CARD_INSERTED event delivered to a listener.

Reference peers measured in the same run on the same machine:
  transport floor: one bare ``SCardTransmit`` (SELECT) round trip through the same pcscd and card
                   process, times the driver's APDU count — what the APDUs alone cost;
  crypto floor:    the same signature computed in-process with ``cryptography`` (no card at all);
  event floor:     pcscd's own card polling interval (400 ms), which no PC/SC client can beat.
Nothing leaves a private network namespace; pcscd and the card run under a temporary directory.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from smartcard import scard

from drivers.cardreader import CardEvent, CardMonitor, CardReader, EventKind
from drivers.proof import algorithm_for_key, digest_to_sign
from etapiste.webeid.validator import NonceStore, ProofValidator
from simulation.card.pki import CardIdentity, TestPki
from simulation.services.pcsc import CardSlot, fineid_card, pcsc_service

ORIGIN = "https://switchboard.example.fi"
SELECT_PKCS15 = [0x00, 0xA4, 0x04, 0x0C, 0x0C, *bytes.fromhex("A000000063504B43532D3135")]


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def prove_runs(slot: CardSlot, pki: TestPki, identity: CardIdentity, runs: int) -> tuple[list[float], int]:
    store = NonceStore()
    validator = ProofValidator(ORIGIN, pki.trusted, store)
    times: list[float] = []
    apdus = 0
    for _ in range(runs):
        nonce = store.issue()
        slot.clear_log()
        pin = bytearray(b"1234")
        start = time.perf_counter()
        token = CardReader().prove(ORIGIN, nonce, pin)
        times.append(time.perf_counter() - start)
        apdus = len(slot.apdus())
        validator.validate(token.to_json(), nonce)  # every measured token is a valid one
    return times, apdus


def transport_floor(reader: str, runs: int) -> float:
    rc, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    assert rc == scard.SCARD_S_SUCCESS
    rc, card, proto = scard.SCardConnect(ctx, reader, scard.SCARD_SHARE_SHARED, scard.SCARD_PROTOCOL_T0)
    assert rc == scard.SCARD_S_SUCCESS, scard.SCardGetErrorMessage(rc)
    times = []
    for _ in range(runs * 10):
        start = time.perf_counter()
        rc, response = scard.SCardTransmit(card, proto, SELECT_PKCS15)
        times.append(time.perf_counter() - start)
        assert response == [0x90, 0x00]
    scard.SCardDisconnect(card, scard.SCARD_UNPOWER_CARD)
    scard.SCardReleaseContext(ctx)
    return statistics.median(times)


def crypto_floor(identity: CardIdentity, runs: int) -> float:
    key = identity.key
    algorithm = algorithm_for_key(key.public_key())
    times = []
    for _ in range(runs):
        digest = digest_to_sign(ORIGIN, "n" * 44, algorithm)
        start = time.perf_counter()
        if isinstance(key, rsa.RSAPrivateKey):
            key.sign(digest, padding.PSS(padding.MGF1(hashes.SHA256()), 32), utils.Prehashed(hashes.SHA256()))
        else:
            key.sign(digest, ec.ECDSA(utils.Prehashed(hashes.SHA384())))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def event_latency(slot: CardSlot, identity: CardIdentity, runs: int) -> list[float]:
    seen = threading.Event()

    def listener(event: CardEvent) -> None:
        if event.kind is EventKind.CARD_INSERTED and event.reader == slot.reader:
            seen.set()

    monitor = CardMonitor()
    monitor.add_listener(listener)
    monitor.start()
    profile = fineid_card(identity, "v4.0")
    times = []
    try:
        for _ in range(runs):
            slot.remove()
            seen.clear()
            start = time.perf_counter()
            slot.insert(profile)
            if not seen.wait(5):
                raise RuntimeError("no CARD_INSERTED event within 5 s")
            times.append(time.perf_counter() - start)
    finally:
        monitor.stop()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    pki = TestPki()
    with tempfile.TemporaryDirectory(prefix="bench-card-") as tmp, pcsc_service(Path(tmp)) as pcsc:
        slot = pcsc.slot(0)
        print(f"ID-card proof on the virtual FINEID card, private pcscd + vpcd; medians of {args.runs} runs")
        for label, version in (("v3 RSA-2048 PS256", "v3.1"), ("v4 P-384 ES384", "v4.0")):
            identity = pki.issue(version[:2])
            slot.insert_and_wait(fineid_card(identity, version))
            times, apdus = prove_runs(slot, pki, identity, args.runs)
            per_apdu = transport_floor(slot.reader, args.runs)
            crypto = crypto_floor(identity, args.runs)
            print(f"  {label}: PIN entered → token ready {median_ms(times):6.1f} ms  ({apdus} APDUs)")
            print(
                f"      transport floor {apdus} × {per_apdu * 1000:.2f} ms = {apdus * per_apdu * 1000:6.1f} ms;"
                f"  crypto floor {crypto * 1000:.1f} ms;"
                f"  driver's own share ≈ {median_ms(times) - (apdus * per_apdu + crypto) * 1000:.1f} ms"
            )
            slot.remove()
        latency = event_latency(slot, pki.issue("v4"), max(5, args.runs // 2))
        print(
            f"  card inserted → CARD_INSERTED event: median {median_ms(latency):.0f} ms, "
            f"max {max(latency) * 1000:.0f} ms (pcscd polls cards every 400 ms)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
