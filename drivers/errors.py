"""The base of every driver's errors.

Each driver defines its own hierarchy in its module, rooted here, so callers can catch the right level:

    DeviceError                      any device fault the kiosk must show or report
    ├── CardError      (cardreader)  CardRemoved, PinBlocked, NotAFinnishIdCard, …
    ├── PrinterError   (printer)     OutOfPaper, Jammed, Offline, …
    └── ScannerError   (scanner)     Jammed, NoDocuments, CoverOpen, …

Every error carries two messages in fi/sv/en: what the *customer* is told (plain words, what to do
next) and what the host *staff* and ops see (the device's own reason). Neither may contain personal data.
"""

from __future__ import annotations

from typing import ClassVar

from etapiste.codes import DeviceErrorCode
from etapiste.language import Language

Messages = dict[Language, str]


class DeviceError(Exception):
    """A device fault with a customer message and a staff message in each language.

    Subclasses set ``code`` (their explicit code from :mod:`etapiste.codes`, which the wire, the statistics
    and the texts use; never derived from the class's name) and ``customer`` and ``staff`` as class
    attributes; an instance may override the messages.
    """

    code: ClassVar[DeviceErrorCode]

    customer: ClassVar[Messages] = {
        "fi": "Laitteessa on häiriö. Kirjaston henkilökunnalle on ilmoitettu.",
        "sv": "Det är fel på apparaten. Bibliotekets personal har fått veta.",
        "en": "The device has a fault. The library staff have been told.",
    }
    staff: ClassVar[Messages] = {"fi": "Laitevika", "sv": "Apparatfel", "en": "Device fault"}

    def customer_message(self, language: Language) -> str:
        return self.customer[language]

    def staff_message(self, language: Language) -> str:
        return self.staff[language]
