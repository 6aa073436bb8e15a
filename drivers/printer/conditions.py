"""The printer's state in two vocabularies: CUPS ``printer-state-reasons`` keywords
(``media-empty-error``, ``paused``…) become conditions (:class:`Condition`) that carry one plain sentence for
the customer ("The printer is out of paper. The library staff have been told.") and the keyword and
the fix for the host staff, both from :mod:`drivers.printer_errors` in fi/sv/en. A
:class:`PrinterStatus` is the configured queue at one moment, conditions ranked so the customer hears
about the most specific fault first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from drivers.printer_errors import (
    DoorOpen,
    Jammed,
    Offline,
    OutOfPaper,
    OutOfToner,
    Paused,
    PrinterError,
)
from etapiste import texts
from etapiste.codes import PrinterCode, PrinterConditionCode, PrinterWarningCode
from etapiste.language import Language

Severity = Literal["error", "warning"]
State = Literal["idle", "processing", "stopped", "unreachable", "missing", "not-configured"]


# -- state: CUPS reasons → conditions in two vocabularies ------------------------------------------


@dataclass(frozen=True)
class Condition:
    """One thing the printer reports, with what the customer and the staff are told about it."""

    keyword: str
    """The CUPS-side keyword (for ops and the staff, who look it up in CUPS): ``media-empty``,
    ``media-jam``, ``door-open``, ``toner-low``, ``offline``, ``paused``, ``not-accepting-jobs``,
    ``cupsd-unreachable``, ``no-queue``, or another CUPS keyword. Reasons CUPS gives in several words
    (``media-needed``, ``cover-open``) share one; it is what a condition is told apart by."""
    severity: Severity
    """``error`` stops printing; ``warning`` is for the staff only (e.g. toner low)."""
    error: type[PrinterError] | None = None
    staff_text: str | None = None
    """For warnings, which have no error class: the key of their text in the catalogue (``printer.warning.*``)."""
    params: dict[str, Any] = field(default_factory=dict)
    stale: bool = False
    """A device fault still listed by CUPS on an idle queue: reasons stick until the next job's
    backend clears them, so after the staff fixed the printer it may only be *last reported*. It
    does not stop printing (the next job re-checks it) and the customer is not told."""

    @property
    def code(self) -> PrinterConditionCode:
        """The code from :mod:`etapiste.codes` (what the statistics, the wire and the texts use): the
        error's own for a fault (``out_of_paper``, also while it is only *last reported*), else the
        warning's (``toner_low``, ``paper_low``, ``printer_warning``). CUPS's keyword stops here."""
        if self.error is not None or self.severity == "error":
            # A condition's error is always one of the printer's own (the table below, the client's
            # queue states), never a PDF refusal, though those share the PrinterError base.
            return cast(PrinterCode, (self.error or PrinterError).code)
        return _WARNING_CODES.get(self.keyword, "printer_warning")

    def as_error(self, **extra: Any) -> PrinterError:
        cls = self.error or PrinterError
        return cls(**{**self.params, **extra})

    def customer_message(self, language: Language) -> str | None:
        """``None`` for warnings: printing still works, the customer need not worry."""
        if self.severity != "error":
            return None
        return self.as_error().customer_message(language)

    def staff_message(self, language: Language) -> str:
        if self.staff_text is not None:
            return texts.template(self.staff_text, language).format_map({"detail": self.keyword, **self.params})
        text = self.as_error().staff_message(language)
        return f"{text} {texts.text('printer.stale', language)}" if self.stale else text


#: CUPS/IPP reason keyword (without its -error/-warning/-report suffix) → our code and error class.
_REASONS: dict[str, tuple[str, type[PrinterError] | None, str | None]] = {
    "media-empty": ("media-empty", OutOfPaper, None),
    "media-needed": ("media-empty", OutOfPaper, None),
    "media-jam": ("media-jam", Jammed, None),
    "door-open": ("door-open", DoorOpen, None),
    "cover-open": ("door-open", DoorOpen, None),
    "interlock-open": ("door-open", DoorOpen, None),
    "toner-empty": ("toner-empty", OutOfToner, None),
    "marker-supply-empty": ("toner-empty", OutOfToner, None),
    "offline": ("offline", Offline, None),
    "connecting-to-device": ("offline", Offline, None),
    "timed-out": ("offline", Offline, None),
    "shutdown": ("offline", Offline, None),
    "paused": ("paused", Paused, None),
    "toner-low": ("toner-low", None, "printer.warning.toner_low"),
    "marker-supply-low": ("toner-low", None, "printer.warning.toner_low"),
    "media-low": ("media-low", None, "printer.warning.media_low"),
}
#: A warning's code by its keyword; any other warning is ``printer_warning``.
_WARNING_CODES: dict[str, PrinterWarningCode] = {"toner-low": "toner_low", "media-low": "paper_low"}
#: Reasons that are always only warnings, whatever their suffix.
_ALWAYS_WARNING = {"toner-low", "media-low"}
#: Which error the customer hears about first when several are reported (the most specific first).
_PRIORITY = [
    "media-jam",
    "door-open",
    "media-empty",
    "toner-empty",
    "offline",
    "cupsd-unreachable",
    "no-queue",
    "not-accepting-jobs",
    "paused",
]


def conditions_from_reasons(reasons: Iterable[str]) -> list[Condition]:
    """Map ``printer-state-reasons`` to conditions; informational reasons are dropped."""
    found: dict[str, Condition] = {}
    for raw in reasons:
        if raw == "offline-report":
            # What CUPS backends say while the printer does not answer and they keep retrying: the
            # job makes no progress, so it is an error for everyone waiting on it.
            raw = "offline-error"
        if not raw or raw == "none" or raw.startswith(("cups-", "com.apple.")) or raw.endswith("-report"):
            continue
        base, severity = raw, "error"
        for suffix, sev in (("-error", "error"), ("-warning", "warning")):
            if raw.endswith(suffix):
                base, severity = raw[: -len(suffix)], sev
        code, error, staff_text = _REASONS.get(base, (base, PrinterError, None))
        if code in _ALWAYS_WARNING:
            severity = "warning"
        if severity == "warning" and staff_text is None:
            staff_text = "printer.warning.other"
        cond = Condition(
            keyword=code,
            severity="error" if severity == "error" else "warning",
            error=error if severity == "error" else None,
            staff_text=staff_text if severity == "warning" else None,
            params={"detail": base},
        )
        if code not in found or found[code].severity == "warning":
            found[code] = cond
    return sorted(found.values(), key=rank)


def rank(cond: Condition) -> tuple[int, int]:
    order = _PRIORITY.index(cond.keyword) if cond.keyword in _PRIORITY else len(_PRIORITY) - 2
    return (0 if cond.severity == "error" else 1, order)


@dataclass(frozen=True)
class PrinterStatus:
    """The configured queue as the customer, the staff and ops see it at one moment."""

    queue: str | None
    state: State
    accepting: bool
    reasons: tuple[str, ...]
    """The raw CUPS keywords, for ops."""
    conditions: tuple[Condition, ...]
    message: str = ""
    """``printer-state-message`` from the driver/backend (staff only; never shown to customers)."""
    checked_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @property
    def ready(self) -> bool:
        """A job sent now would print (warnings such as toner-low do not stop printing)."""
        return not any(c.severity == "error" for c in self.conditions)

    @property
    def errors(self) -> list[Condition]:
        return [c for c in self.conditions if c.severity == "error"]

    def error(self) -> PrinterError | None:
        """The most important error as an exception to raise, or ``None`` when ready."""
        errors = self.errors
        return errors[0].as_error() if errors else None

    def customer_message(self, language: Language) -> str | None:
        """One sentence for the customer, or ``None`` when printing works."""
        errors = self.errors
        return errors[0].customer_message(language) if errors else None

    def staff_messages(self, language: Language) -> list[str]:
        return [c.staff_message(language) for c in self.conditions]

    def to_json(self) -> dict[str, Any]:
        langs: tuple[Language, ...] = ("fi", "sv", "en")
        return {
            "queue": self.queue,
            "state": self.state,
            "ready": self.ready,
            "accepting_jobs": self.accepting,
            "reasons": list(self.reasons),
            "message": self.message,
            "conditions": [
                {
                    "code": c.code,
                    "keyword": c.keyword,
                    "severity": c.severity,
                    "customer": {lang: c.customer_message(lang) for lang in langs},
                    "staff": {lang: c.staff_message(lang) for lang in langs},
                }
                for c in self.conditions
            ],
            "customer": {lang: self.customer_message(lang) for lang in langs},
            "checked_at": self.checked_at.isoformat(timespec="seconds"),
        }


def listify(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)]
