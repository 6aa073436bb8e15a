"""``etapiste card`` — ID-card reader diagnostics for staff and ops (other tools call it; keep the interface).

    etapiste card info --json
        {"reader", "atr", "card": "fineid-v3"|"fineid-v4", "given_name", "surname", "satu", "not_after"}
        for the card in the first reader that holds one; exit 1 and the reason when there is none or it
        is not a Finnish ID card.
    etapiste card prove --origin URL --nonce STR
        reads PIN1 from the terminal without echo and prints the Web eID 1.0 token JSON.
    etapiste card verify --token FILE --origin URL --nonce STR --trust CA.pem [--trust …] [--at ISO-8601]
        exit 0 and {"given_name", "surname", "satu"} when the token is valid; exit 1 and the reason otherwise.

Errors go to stderr as one line (the staff message in English, or the validator's reason code and why).
``verify`` needs no reader and no PC/SC: it runs anywhere the switchboard does.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from drivers.carderrors import CardError
from etapiste.webeid.token import TOKEN_MAX
from etapiste.webeid.validator import NonceStore, ProofInvalid, ProofValidator, load_trusted


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="etapiste card", description="ID-card reader diagnostics")
    sub = parser.add_subparsers(dest="command", required=True)
    info = sub.add_parser("info", help="the card in the first reader that holds one")
    info.add_argument("--json", action="store_true", help="print JSON (for tools)")
    prove = sub.add_parser("prove", help="sign a Web eID 1.0 token with the card (asks for PIN1)")
    prove.add_argument("--origin", required=True, help="https://host[:port] of the verifying site")
    prove.add_argument("--nonce", required=True, help="the challenge nonce (44–128 characters)")
    verify = sub.add_parser("verify", help="validate a Web eID 1.0 token")
    verify.add_argument("--token", required=True, type=Path, help="file holding the token JSON")
    verify.add_argument("--origin", required=True)
    verify.add_argument("--nonce", required=True)
    verify.add_argument("--trust", required=True, action="append", type=Path, help="trusted CA (PEM)")
    verify.add_argument("--at", help="validate as of this ISO-8601 time (default: now)")
    return parser


def _fail(message: str) -> int:
    print(f"etapiste card: {message}", file=sys.stderr)
    return 1


def _info(as_json: bool) -> int:
    from drivers.cardreader import CardReader  # PC/SC only for the commands that need a card

    try:
        info = CardReader().identify()
    except CardError as exc:
        return _fail(exc.staff_message("en"))
    if as_json:
        print(json.dumps(info.to_dict(), ensure_ascii=False))
    else:
        for key, value in info.to_dict().items():
            print(f"{key:<11} {value}")
    return 0


def _prove(origin: str, nonce: str) -> int:
    from drivers.cardreader import CardReader

    try:
        pin = bytearray(getpass.getpass("PIN1: ").encode("ascii", "replace"))
    except (EOFError, KeyboardInterrupt):
        return _fail("no PIN given")
    try:
        token = CardReader().prove(origin, nonce, pin)
    except CardError as exc:
        return _fail(exc.staff_message("en"))
    except ValueError as exc:
        return _fail(str(exc))
    print(token.to_json())
    return 0


def _parse_time(text: str | None) -> dt.datetime:
    if text is None:
        return dt.datetime.now(dt.UTC)
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _verify(args: argparse.Namespace) -> int:
    try:
        at = _parse_time(args.at)
    except ValueError:
        return _fail(f"--at is not an ISO-8601 time: {args.at!r}")
    try:
        trusted = load_trusted(p.read_bytes() for p in args.trust)
    except (OSError, ValueError) as exc:
        return _fail(f"cannot read a trusted CA certificate: {exc}")
    try:
        with args.token.open("rb") as f:
            token = f.read(TOKEN_MAX + 1)
    except OSError as exc:
        return _fail(f"cannot read the token: {exc}")
    nonces = NonceStore(clock=lambda: at)
    try:
        nonces.add(args.nonce)
        validator = ProofValidator(args.origin, trusted, nonces, clock=lambda: at)
    except ValueError as exc:
        return _fail(str(exc))
    try:
        holder = validator.validate(token, args.nonce)
    except ProofInvalid as exc:
        return _fail(f"invalid token: {exc.reason}: {exc.message}")
    print(json.dumps(holder.to_dict(), ensure_ascii=False))
    return 0


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    if args.command == "info":
        return _info(args.json)
    if args.command == "prove":
        return _prove(args.origin, args.nonce)
    return _verify(args)
