"""``etapiste scanner``: diagnostics for host staff and organiser ops.

    etapiste scanner status [--json]              is the scanner there, what can it do, is the config valid
    etapiste scanner test-scan --out FILE.pdf     scan what lies on the scanner now into a PDF
    (both take --config BUNDLE.yaml, --device NAME, --lang fi|sv|en)

The configuration is the point's bundle (``--config FILE``, else ``$ETAPISTE_CONFIG``, else the bundled
sample); ``--device`` overrides the SANE device name. Exit codes: 0 fine, 1 the scanner is not ready or
the scan failed, 2 wrong usage or an unusable configuration.

``test-scan`` is for a staff member's own test sheet, never a customer's document: the kiosk's customer
scans go through :class:`drivers.scanner.Scanner` and never touch the disk. The PDF is written straight
to ``--out`` (no temporary file renamed over it, so ``--out /dev/stdout`` works); ``-`` means stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence

from drivers.scanner import (
    PageProgress,
    PageReady,
    ScanCancelled,
    ScanEvent,
    Scanner,
    ScannerError,
)
from etapiste.config.point import ScannerConfig, device_settings
from etapiste.language import Language


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", help="the point's configuration (YAML); default $ETAPISTE_CONFIG or sample")
    common.add_argument("--device", help="SANE device name, overriding the configuration (e.g. test:0)")
    common.add_argument("--lang", choices=["fi", "sv", "en"], default="en", help="language of messages")
    parser = argparse.ArgumentParser(prog="etapiste scanner", description="Scanner diagnostics.")
    sub = parser.add_subparsers(dest="command", required=True)
    status = sub.add_parser("status", parents=[common], help="is the scanner there, and what can it do")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    test = sub.add_parser("test-scan", parents=[common], help="scan the sheet on the scanner into a PDF")
    test.add_argument("--out", required=True, help="where to write the PDF ('-' for stdout)")
    test.add_argument("--source", choices=["Flatbed", "ADF", "auto"], help="override the configured source")
    test.add_argument("--resolution", type=int, help="override the configured resolution (dpi)")
    test.add_argument("--mode", choices=["Color", "Gray", "Lineart"], help="override the configured mode")
    test.add_argument("--keep-blank", action="store_true", help="keep pages that look blank")
    return parser


def _config(args: argparse.Namespace) -> ScannerConfig:
    path = args.config or os.environ.get("ETAPISTE_CONFIG") or None
    scanner_config = device_settings(path).scanner
    overrides = {k: v for k, v in {"device": args.device,
                                   "source": getattr(args, "source", None),
                                   "resolution": getattr(args, "resolution", None),
                                   "mode": getattr(args, "mode", None)}.items() if v is not None}
    return ScannerConfig.model_validate({**scanner_config.model_dump(), **overrides})


def _status(scanner: Scanner, as_json: bool) -> int:
    status = scanner.status()
    if as_json:
        print(status.to_json())
    else:
        print(f"scanner: {status.state}")
        if status.device:
            print(f"device:  {status.device} ({status.vendor} {status.model})")
        if status.state == "ready":
            print(f"sources: {', '.join(status.sources)}")
            print(f"modes:   {', '.join(status.modes)}")
            res = status.resolutions
            span = f"{res['min']:g}–{res['max']:g} dpi" if "min" in res else ", ".join(f"{r:g}" for r in res["list"])
            print(f"resolutions: {span}")
            eff = status.effective
            print(f"will scan: {eff['source']}, {eff['mode']}, {eff['resolution']} dpi")
        for problem in status.problems:
            print(f"problem: {problem}")
        if status.devices_found:
            print(f"devices found: {', '.join(status.devices_found)}")
    return 0 if status.state == "ready" else 1


def _test_scan(scanner: Scanner, out: str, keep_blank: bool, lang: Language) -> int:
    started = time.monotonic()
    shown: dict[int, int] = {}

    def report(event: ScanEvent) -> None:
        if isinstance(event, PageProgress):
            percent = int(event.fraction * 100) // 25 * 25
            if shown.get(event.page) != percent:
                shown[event.page] = percent
                print(f"page {event.page}: {percent} %", file=sys.stderr)
        elif isinstance(event, PageReady):
            print(f"page {event.page}: ready, {event.size / 1000:.0f} kB", file=sys.stderr)

    job = scanner.scan(report)
    try:
        result = job.result()
    except ScanCancelled:
        print("scan cancelled", file=sys.stderr)
        return 1
    except ScannerError as fault:
        print(f"scan failed: {fault.staff_message(lang)}", file=sys.stderr)
        if fault.result is None or not fault.result.pages:
            scanner.end_session()
            return 1
        result = fault.result
        print(f"writing the {len(result.pages)} page(s) scanned before the fault", file=sys.stderr)
    try:
        skip = [] if keep_blank else result.blank_pages()
        if len(skip) == len(result.pages):
            skip = []  # an all-blank test sheet is still written: staff want to see it
        pdf = result.pdf(skip=skip)
        if out == "-":
            sys.stdout.buffer.write(pdf)
            sys.stdout.buffer.flush()
        else:
            with open(out, "wb") as fh:
                fh.write(pdf)
        took = time.monotonic() - started
        summary = {"pages": len(result.pages) - len(skip), "blank_pages_left_out": skip, "bytes": len(pdf),
                   "source": result.source, "mode": result.mode, "resolution": result.resolution,
                   "seconds": round(took, 2)}
        print(json.dumps(summary), file=sys.stderr)
        return 0
    finally:
        scanner.end_session()


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    try:
        config = _config(args)
    except Exception as exc:  # ConfigError or a validation error of an override
        print(f"etapiste scanner: unusable configuration: {exc}", file=sys.stderr)
        return 2
    scanner = Scanner(config)
    if args.command == "status":
        return _status(scanner, args.json)
    if not config.enabled:
        print("etapiste scanner: the scanner is disabled in the configuration", file=sys.stderr)
        return 1
    return _test_scan(scanner, args.out, args.keep_blank, args.lang)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
