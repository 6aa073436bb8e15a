"""One error-code vocabulary (etapiste/codes.py): every error carries an explicit code from the one list,
every code on the wire is in it, and docs/protocol.md names every code."""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path
from typing import Literal, get_args, get_origin

import drivers.camera
import drivers.carderrors
import drivers.printer_errors
import drivers.scanner
import kiosk.speech
from drivers.errors import DeviceError
from etapiste import codes
from etapiste import protocol as p

ROOT = Path(__file__).resolve().parent.parent
_MODULES = (drivers.camera, drivers.carderrors, drivers.printer_errors, drivers.scanner, kiosk.speech)


def _device_errors() -> list[type[DeviceError]]:
    found: list[type[DeviceError]] = []
    todo = [DeviceError]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith(("drivers.", "kiosk.")) and not sub.__name__.startswith("_"):
                found.append(sub)
    return found


def test_every_device_error_sets_its_own_code_from_the_list() -> None:
    errors = _device_errors()
    assert {m.__name__ for m in _MODULES} <= {e.__module__ for e in errors}
    for error in errors:
        code = error.__dict__.get("code")
        assert code is not None, f"{error.__name__} sets no code of its own (a code is never inherited or derived)"
        assert code in codes.DEVICE_ERROR_CODES, f"{error.__name__}.code {code!r} is not in etapiste.codes"
    by_code: dict[str, str] = {}
    for error in errors:
        other = by_code.setdefault(error.__dict__["code"], error.__name__)
        assert other == error.__name__, f"{other} and {error.__name__} share the code {error.__dict__['code']!r}"
    assert set(by_code) == codes.DEVICE_ERROR_CODES, "a code in the list that no error carries"


def test_every_code_is_snake_case() -> None:
    for code in codes.ALL_CODES:
        assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", code), code


def _literal_values(annotation: object) -> set[str] | None:
    """The strings a field's type allows, or None when it is not made of literals (a free ``str``)."""
    if get_origin(annotation) is Literal:
        return {str(v) for v in get_args(annotation)}
    if get_origin(annotation) in (typing.Union, types.UnionType):
        values: set[str] = set()
        for arg in get_args(annotation):
            if arg is type(None):
                continue
            inner = _literal_values(arg)
            if inner is None:
                return None
            values |= inner
        return values
    return None


def test_every_code_or_reason_on_the_wire_is_in_the_list() -> None:
    messages = [m for m in vars(p).values()
                if isinstance(m, type) and issubclass(m, p._Message) and m is not p._Message]
    checked = 0
    for message in messages:
        for name, field in message.model_fields.items():
            if name not in ("code", "reason"):
                continue
            values = _literal_values(field.annotation)
            if values is None:
                continue  # a free code (the validator's, a scan's): documented in docs/protocol.md
            assert values <= codes.ALL_CODES, f"{message.__name__}.{name}: {values - codes.ALL_CODES}"
            checked += 1
    # error, queue.left, call.ended, identity.abort, identity.result, doc.ack, scan.status, print.status
    assert checked >= 8


def test_docs_list_every_code() -> None:
    text = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    missing = sorted(code for code in codes.ALL_CODES if f"`{code}`" not in text)
    assert not missing, f"docs/protocol.md does not list {missing}"
