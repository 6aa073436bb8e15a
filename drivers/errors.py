"""The base of every driver's errors.

Each driver defines its own hierarchy in its module, rooted here, so callers can catch the right level:

    DeviceError                      any device fault the kiosk must show or report
    ├── CardError      (cardreader)  CardRemoved, PinBlocked, NotAFinnishIdCard, …
    ├── PrinterError   (printer)     OutOfPaper, Jammed, Offline, …
    └── ScannerError   (scanner)     Jammed, NoDocuments, CoverOpen, …

Every error carries two messages in fi/sv/en: what the *customer* is told (plain words, what to do
next) and what the host *staff* and ops see (the device's own reason). Neither may contain personal data.
Both come from the text catalogue (:mod:`etapiste.texts`) by the error's code: ``error.<code>.customer``
and ``error.<code>.staff``.
"""

from __future__ import annotations

from typing import ClassVar

from etapiste import texts
from etapiste.codes import DeviceErrorCode
from etapiste.language import Language


class DeviceError(Exception):
    """A device fault with a customer message and a staff message in each language.

    Subclasses set ``code`` (their explicit code from :mod:`etapiste.codes`, which the wire, the statistics
    and the texts use; never derived from the class's name); the catalogue holds the code's two texts
    (a test checks every code has them). A subclass whose texts take parameters fills them in its
    ``customer_message``/``staff_message``.
    """

    code: ClassVar[DeviceErrorCode]

    def customer_template(self, language: Language) -> str:
        """The customer's text with its ``{placeholders}`` unfilled."""
        return texts.template(f"error.{self.code}.customer", language)

    def staff_template(self, language: Language) -> str:
        """The staff's text with its ``{placeholders}`` unfilled."""
        return texts.template(f"error.{self.code}.staff", language)

    def customer_message(self, language: Language) -> str:
        return self.customer_template(language)

    def staff_message(self, language: Language) -> str:
        return self.staff_template(language)
