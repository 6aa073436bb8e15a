"""``etapiste switchboard`` — run the switchboard, check its configuration, and make its secrets.

etapiste switchboard --config FILE            run (Ctrl-C or SIGTERM stops it)
etapiste switchboard --config FILE --check    validate the configuration and exit
etapiste switchboard --config FILE --demo     also accept the sample's published demo secrets (demo only)
etapiste switchboard hash-password            read a desk password (twice), print its scrypt hash
etapiste switchboard point-credential POINT   print a new credential for a point and its hash line
"""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from collections.abc import Sequence

from switchboard.config import SwitchboardConfigError, load_config
from switchboard.credentials import hash_password, hash_point_credential, new_point_credential


def _hash_password() -> int:
    if sys.stdin.isatty():
        first = getpass.getpass("New desk password: ")
        if getpass.getpass("Again: ") != first:
            print("The passwords differ; nothing was made.", file=sys.stderr)
            return 1
    else:
        first = sys.stdin.readline().rstrip("\n")
    try:
        print(hash_password(first))
    except ValueError as exc:
        print(f"etapiste switchboard: {exc}", file=sys.stderr)
        return 1
    return 0


def _point_credential(point: str) -> int:
    credential = new_point_credential()
    print(f"# put this line alone in the point's switchboard.credential_file (mode 0600):\n{credential}")
    print(f"# and this under points: in the switchboard's configuration:\n- id: {point}")
    print(f'  credential_hash: "{hash_point_credential(credential)}"')
    return 0


def main(argv: Sequence[str]) -> int:
    args = list(argv)
    if args[:1] == ["hash-password"]:
        return _hash_password()
    if args[:1] == ["point-credential"]:
        if len(args) != 2:
            print("usage: etapiste switchboard point-credential POINT-ID", file=sys.stderr)
            return 2
        return _point_credential(args[1])
    parser = argparse.ArgumentParser(
        prog="etapiste switchboard", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", required=True, help="the switchboard's YAML configuration")
    parser.add_argument("--check", action="store_true", help="validate the configuration and exit")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="accept the published demo passwords and point credential of the sample (never in production)",
    )
    parser.add_argument("--log-level", default="INFO")
    ns = parser.parse_args(args)
    try:
        config = load_config(ns.config)
    except SwitchboardConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    published = config.published_demo_secrets()
    if published and not ns.demo:
        print(
            f"{ns.config}: these use the sample's published demo secrets, which anyone can log in or connect "
            f"with: {', '.join(published)}.\nMake real ones with `etapiste switchboard hash-password` "
            "(users) and `etapiste switchboard point-credential POINT` (points), or start with --demo for a "
            "demonstration.",
            file=sys.stderr,
        )
        return 1
    if ns.check:
        print(
            f"{ns.config}: valid ({len(config.points)} points, {len(config.producers)} producers, "
            f"{len(config.users)} users)"
        )
        return 0
    logging.basicConfig(level=ns.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if published:
        logging.getLogger("switchboard").warning(
            "demo mode: published demo secrets are accepted (%s); never expose this switchboard", ", ".join(published)
        )
    from switchboard.web import run

    run(config)
    return 0
