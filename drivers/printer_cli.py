"""``etapiste printer``: diagnostics for host staff and organiser ops.

    etapiste printer status [--json]     the queue's state, in staff words, and what the customer sees
    etapiste printer test-page           print the staff test page (host name, date, device status)
    etapiste printer resume              after fixing paper/jam/door: let the queue print and accept jobs
    etapiste printer purge               cancel and remove every job and its history from the queue

The configuration is the point's bundle (``--config FILE``, else ``$ETAPISTE_CONFIG``, else the bundled
sample); ``--queue`` overrides the CUPS queue name. The cupsd is the one ``$CUPS_SERVER`` names (or
``--server``). Exit codes: 0 fine, 1 the printer is not ready or the job did not complete, 2 wrong usage
or an unusable configuration. None of these print or keep anything of a customer.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from drivers.printer import Printer, PrinterError, PrinterStatus, PrintEvent, print_test_page
from etapiste.config.point import PrinterConfig, device_settings, load_point_config
from etapiste.host import HostKind, fill_host
from etapiste.language import Language


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="etapiste printer", description="Printer diagnostics.")
    parser.add_argument("--config", help="the point's configuration (YAML); default $ETAPISTE_CONFIG or sample")
    parser.add_argument("--queue", help="CUPS queue name, overriding the configuration")
    parser.add_argument("--server", help="cupsd address or socket path; default $CUPS_SERVER")
    parser.add_argument("--lang", choices=["fi", "sv", "en"], default="en", help="language of messages")
    sub = parser.add_subparsers(dest="command", required=True)
    status = sub.add_parser("status", help="the queue's state and reasons")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    test = sub.add_parser("test-page", help="print the staff test page and follow it to the end")
    test.add_argument("--timeout", type=float, help="seconds to wait for the page (default: job_timeout_s)")
    test.add_argument("--json", action="store_true", help="machine-readable result")
    sub.add_parser("resume", help="let the queue print and accept jobs again (after fixing the fault)")
    sub.add_parser("purge", help="cancel and remove every job and its history from the queue")
    return parser


def _path(args: argparse.Namespace) -> str | None:
    return args.config or os.environ.get("ETAPISTE_CONFIG") or None


def _config(args: argparse.Namespace) -> PrinterConfig:
    printer_config = device_settings(_path(args)).printer
    if args.queue:
        printer_config = PrinterConfig.model_validate({**printer_config.model_dump(), "queue": args.queue})
    return printer_config


def _print_status(status: PrinterStatus, lang: Language, host: HostKind) -> None:
    print(f"printer: {status.queue or '(none configured)'}")
    print(f"state:   {status.state}{'' if status.ready else ' — NOT READY'}")
    if status.reasons:
        print(f"reasons: {', '.join(status.reasons)}")
    if status.message:
        print(f"message: {status.message}")
    for line in status.staff_messages(lang):
        print(f"  - {line}")
    customer = status.customer_message(lang)
    # in the host's own words, as the kiosk shows it (etapiste.host)
    print(f"customer sees: {fill_host(customer, host, lang) if customer else '(printing available)'}")


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    lang: Language = args.lang
    try:
        config = _config(args)
        host = load_point_config(_path(args)).host.kind
    except Exception as exc:  # ConfigError or a validation error: both are the operator's to fix
        print(f"etapiste printer: the configuration cannot be used:\n{exc}", file=sys.stderr)
        return 2
    printer = Printer(config, server=args.server)

    if args.command == "status":
        status = printer.status()
        if args.json:
            print(json.dumps(status.to_json(), ensure_ascii=False, indent=2))
        else:
            _print_status(status, lang, host)
        return 0 if status.ready else 1

    if args.command == "test-page":

        def show(event: PrintEvent) -> None:
            if not args.json:
                detail = f" ({event.condition.staff_message(lang)})" if event.condition else ""
                print(f"{event.kind}: job {event.job_id}, {event.pages_done}/{event.pages_total} pages{detail}")

        try:
            result = print_test_page(printer, listener=show, timeout_s=args.timeout)
        except PrinterError as exc:
            if args.json:
                print(json.dumps({"printed": False, **exc.report()}, ensure_ascii=False, indent=2))
            else:
                print(f"test page NOT printed: {exc.staff_message(lang)}", file=sys.stderr)
            return 1
        if args.json:
            print(json.dumps({"printed": True, "job_id": result.job_id, "pages": result.pages}, indent=2))
        else:
            print(f"test page printed (job {result.job_id}, {result.seconds:.2f} s)")
        return 0

    try:
        if args.command == "resume":
            status = printer.resume()
            _print_status(status, lang, host)
            return 0 if status.ready else 1
        printer.purge()
        left = printer.leftovers()
        print("queue purged: no jobs, no history" if not left else f"jobs still listed: {left}")
        return 0 if not left else 1
    except PrinterError as exc:
        print(f"etapiste printer {args.command}: {exc.staff_message(lang)}", file=sys.stderr)
        return 1
