"""``etapiste kiosk``: start the point's kiosk app.

Without ``--config`` the bundled sample configuration of a library point is used, so a newcomer
sees the kiosk at once. A configuration error is printed with file, line and field, and the app
does not start (exit 2): a kiosk on a broken configuration would mislead customers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from etapiste.config.loader import ConfigError
from etapiste.config.point import load_point_config
from etapiste.language import LANGUAGES


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="etapiste kiosk", description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--config", type=Path, help="point configuration (YAML); default: the bundled sample")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--windowed", action="store_true", help="a normal window (development, demos)")
    mode.add_argument("--fullscreen", action="store_true", help="full screen, frameless (the default)")
    p.add_argument("--language", choices=LANGUAGES, help="start in this language instead of the default")
    p.add_argument("--at", type=dt.datetime.fromisoformat, help="start the clock at this host-local time")
    p.add_argument("--screenshot", type=Path, help="save a PNG of the first screen and quit")
    p.add_argument("--report-painted", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--no-devices", action="store_true",
                   help="start no drivers and no call engine (screens only: screenshots, UI work)")
    p.add_argument("--check-config", action="store_true", help="validate the configuration and exit")
    return p


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = load_point_config(args.config)
    except ConfigError as exc:
        print("etapiste kiosk: the configuration cannot be used:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    if args.check_config:
        print(f"configuration OK: point {config.point.id}, {len(config.producers)} producers")
        return 0
    if args.language and args.language not in config.ui.languages:
        print(f"etapiste kiosk: language {args.language!r} is not offered at this point", file=sys.stderr)
        return 2

    from kiosk.app import Options, run  # Qt is imported only when the window is really needed

    options = Options(
        kiosk_mode=not args.windowed,
        language=args.language,
        at=args.at,
        screenshot=args.screenshot,
        report_painted=args.report_painted,
        devices=not args.no_devices,
        config_path=args.config,
    )
    return run(config, options)
