"""``etapiste`` — the dispatcher for every subcommand.

Each entry names ``module:function``; the function takes the remaining argv and returns an exit code.
Modules are imported only when their subcommand runs, which keeps the provisioning agent free of the
kiosk's imports and makes ``etapiste --help`` fast.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Sequence

#: subcommand → (entry point, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "kiosk": ("kiosk.cli:main", "run the point's kiosk app (the customer's journey)"),
    "agent": ("provisioning.agent_cli:main", "run the provisioning agent (signed configuration, health)"),
    "ops": ("provisioning.ops_cli:main", "organiser's ops tool: validate, sign and publish configuration"),
    "switchboard": ("switchboard.cli:main", "run the switchboard and the producer desk"),
    "card": ("drivers.cardreader_cli:main", "ID-card reader diagnostics: info, prove, verify"),
    "printer": ("drivers.printer_cli:main", "printer diagnostics: status, test page"),
    "scanner": ("drivers.scanner_cli:main", "scanner diagnostics: status, test scan"),
}


def _usage() -> str:
    lines = ["usage: etapiste <subcommand> [options]", "", "subcommands:"]
    lines += [f"  {name:<12} {help_}" for name, (_, help_) in SUBCOMMANDS.items()]
    lines += ["", "Run 'etapiste <subcommand> --help' for its options; 'etapiste --version' for the version."]
    return "\n".join(lines)


def _load(entry: str) -> Callable[[Sequence[str]], int]:
    module_name, func_name = entry.split(":")
    module = importlib.import_module(module_name)
    func: Callable[[Sequence[str]], int] = getattr(module, func_name)
    return func


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    if args[0] in ("-V", "--version"):  # the Debian package's version too: one source, pyproject.toml
        from etapiste import __version__

        print(f"etapiste {__version__}")
        return 0
    name, rest = args[0], args[1:]
    if name not in SUBCOMMANDS:
        print(f"etapiste: unknown subcommand {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    entry, _ = SUBCOMMANDS[name]
    if importlib.util.find_spec(entry.split(":")[0]) is None:
        print(f"etapiste {name}: this subcommand is not built yet in this version.", file=sys.stderr)
        return 2
    func = _load(entry)
    return int(func(rest) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
