"""The ID-card reader's errors, each with what the customer is told and what the staff see (fi/sv/en).

They live in their own module (no pyscard import) so that the card logic in ``drivers.fineid`` and the
PC/SC layer in ``drivers.cardreader`` share them, and the kiosk can catch them without loading PC/SC.

    CardError                  the card or reader did something unexpected
    ├── NoReader               no reader attached, or the PC/SC service is not running
    ├── NoCard                 the reader is empty
    ├── CardRemoved            the card was pulled out while we were using it
    ├── NotAFinnishIdCard      a card that is not a FINEID card (bank card, other country's eID …)
    ├── PinFormatError         the PIN typed is not 4–12 digits (nothing was sent to the card)
    ├── WrongPin               the card refused the PIN; ``tries_left`` says how many tries remain
    └── PinBlocked             PIN1 is blocked: nothing is sent to the card any more

No message contains personal data; staff messages may carry the card's status word.
"""

from __future__ import annotations

from typing import ClassVar

from drivers.errors import DeviceError
from etapiste.codes import CardCode
from etapiste.language import Language


class CardError(DeviceError):
    code: ClassVar[CardCode] = "card_error"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or type(self).__name__)
        #: the device's own reason (status word, PC/SC code), never personal data
        self.detail = detail

    def staff_message(self, language: Language) -> str:
        base = self.staff_template(language)
        return f"{base}: {self.detail}" if self.detail else base


class NoReader(CardError):
    code: ClassVar[CardCode] = "no_reader"


class NoCard(CardError):
    code: ClassVar[CardCode] = "no_card"


class CardRemoved(CardError):
    code: ClassVar[CardCode] = "card_removed"


class NotAFinnishIdCard(CardError):
    code: ClassVar[CardCode] = "not_a_finnish_id_card"


class PinFormatError(CardError):
    code: ClassVar[CardCode] = "pin_format_error"


class WrongPin(CardError):
    code: ClassVar[CardCode] = "wrong_pin"

    def __init__(self, tries_left: int) -> None:
        super().__init__(f"tries left {tries_left}")
        self.tries_left = tries_left

    def customer_message(self, language: Language) -> str:
        return self.customer_template(language).format(tries=self.tries_left)

    def staff_message(self, language: Language) -> str:
        return self.staff_template(language).format(tries=self.tries_left)


class PinBlocked(CardError):
    code: ClassVar[CardCode] = "pin_blocked"
