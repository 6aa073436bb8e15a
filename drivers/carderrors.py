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

from drivers.errors import DeviceError, Messages
from etapiste.codes import CardCode
from etapiste.language import Language


class CardError(DeviceError):
    code: ClassVar[CardCode] = "card_error"
    customer: ClassVar[Messages] = {
        "fi": "Kortin lukeminen ei onnistunut. Ota kortti pois, aseta se uudelleen ja yritä uudestaan.",
        "sv": "Det gick inte att läsa kortet. Ta ut kortet, sätt in det igen och försök på nytt.",
        "en": "The card could not be read. Take the card out, insert it again and try once more.",
    }
    staff: ClassVar[Messages] = {
        "fi": "Henkilökortin lukuvirhe",
        "sv": "Fel vid läsning av ID-kort",
        "en": "ID card communication error",
    }

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or type(self).__name__)
        #: the device's own reason (status word, PC/SC code), never personal data
        self.detail = detail

    def staff_message(self, language: Language) -> str:
        base = self.staff[language]
        return f"{base}: {self.detail}" if self.detail else base


class NoReader(CardError):
    code: ClassVar[CardCode] = "no_reader"
    customer: ClassVar[Messages] = {
        "fi": "Kortinlukija ei ole käytettävissä. Kirjaston henkilökunnalle on ilmoitettu.",
        "sv": "Kortläsaren kan inte användas. Bibliotekets personal har fått veta.",
        "en": "The card reader is not available. The library staff have been told.",
    }
    staff: ClassVar[Messages] = {
        "fi": "Kortinlukijaa ei löydy tai PC/SC-palvelu (pcscd) ei ole käynnissä",
        "sv": "Ingen kortläsare hittas eller PC/SC-tjänsten (pcscd) körs inte",
        "en": "No card reader found, or the PC/SC service (pcscd) is not running",
    }


class NoCard(CardError):
    code: ClassVar[CardCode] = "no_card"
    customer: ClassVar[Messages] = {
        "fi": "Aseta henkilökorttisi kortinlukijaan siru edellä.",
        "sv": "Sätt in ditt ID-kort i kortläsaren med chipet först.",
        "en": "Insert your ID card into the card reader, chip first.",
    }
    staff: ClassVar[Messages] = {
        "fi": "Kortinlukijassa ei ole korttia",
        "sv": "Inget kort i kortläsaren",
        "en": "No card in the reader",
    }


class CardRemoved(CardError):
    code: ClassVar[CardCode] = "card_removed"
    customer: ClassVar[Messages] = {
        "fi": "Kortti otettiin pois kesken. Aseta kortti takaisin lukijaan ja yritä uudelleen.",
        "sv": "Kortet togs ut för tidigt. Sätt tillbaka kortet i läsaren och försök igen.",
        "en": "The card was taken out too early. Put the card back into the reader and try again.",
    }
    staff: ClassVar[Messages] = {
        "fi": "Kortti poistettiin kesken toiminnon",
        "sv": "Kortet togs ut mitt i en åtgärd",
        "en": "Card removed during an operation",
    }


class NotAFinnishIdCard(CardError):
    code: ClassVar[CardCode] = "not_a_finnish_id_card"
    customer: ClassVar[Messages] = {
        "fi": "Tämä kortti ei ole suomalainen henkilökortti. Käytä Digi- ja väestötietoviraston "
        "myöntämää henkilökorttia.",
        "sv": "Det här kortet är inte ett finskt identitetskort. Använd ett identitetskort som "
        "Myndigheten för digitalisering och befolkningsdata har utfärdat.",
        "en": "This card is not a Finnish identity card. Please use an identity card issued by the "
        "Finnish Digital and Population Data Services Agency.",
    }
    staff: ClassVar[Messages] = {
        "fi": "Tuntematon kortti (ei FINEID)",
        "sv": "Okänt kort (inte FINEID)",
        "en": "Unknown card (not FINEID)",
    }


class PinFormatError(CardError):
    code: ClassVar[CardCode] = "pin_format_error"
    customer: ClassVar[Messages] = {
        "fi": "PIN1-koodissa on 4–12 numeroa. Tarkista koodi ja kirjoita se uudelleen.",
        "sv": "PIN1-koden har 4–12 siffror. Kontrollera koden och skriv den igen.",
        "en": "PIN1 has 4 to 12 digits. Check the code and type it again.",
    }
    staff: ClassVar[Messages] = {
        "fi": "PIN-koodin muoto virheellinen (ei lähetetty kortille)",
        "sv": "Felaktigt PIN-format (inte skickat till kortet)",
        "en": "Malformed PIN (not sent to the card)",
    }


class WrongPin(CardError):
    code: ClassVar[CardCode] = "wrong_pin"
    customer: ClassVar[Messages] = {
        "fi": "Väärä PIN1-koodi. Yrityksiä jäljellä: {tries}.",
        "sv": "Fel PIN1-kod. Försök kvar: {tries}.",
        "en": "Wrong PIN1. Tries left: {tries}.",
    }
    staff: ClassVar[Messages] = {
        "fi": "Väärä PIN1, yrityksiä jäljellä {tries}",
        "sv": "Fel PIN1, {tries} försök kvar",
        "en": "Wrong PIN1, {tries} tries left",
    }

    def __init__(self, tries_left: int) -> None:
        super().__init__(f"tries left {tries_left}")
        self.tries_left = tries_left

    def customer_message(self, language: Language) -> str:
        return self.customer[language].format(tries=self.tries_left)

    def staff_message(self, language: Language) -> str:
        return self.staff[language].format(tries=self.tries_left)


class PinBlocked(CardError):
    code: ClassVar[CardCode] = "pin_blocked"
    customer: ClassVar[Messages] = {
        "fi": "Henkilökorttisi PIN1-koodi on lukittu liian monen väärän yrityksen vuoksi. Lukituksen voi "
        "avata PUK-koodilla kortinlukijaohjelmistolla kotona tai poliisin palvelupisteessä. Tässä "
        "palvelupisteessä lukitusta ei voi avata; virkailija voi tunnistaa sinut muulla tavalla.",
        "sv": "PIN1-koden på ditt ID-kort är låst efter för många felaktiga försök. Den kan låsas upp med "
        "PUK-koden i kortläsarprogrammet hemma eller hos polisen. Här kan den inte låsas upp; "
        "handläggaren kan identifiera dig på annat sätt.",
        "en": "The PIN1 of your ID card is blocked after too many wrong tries. It can be unblocked with "
        "the PUK code in the card reader software at home or at a police service point. It cannot be "
        "unblocked here; the agent can identify you in another way.",
    }
    staff: ClassVar[Messages] = {
        "fi": "PIN1 lukittu; korttia ei yritetä enää",
        "sv": "PIN1 låst; kortet används inte mer",
        "en": "PIN1 blocked; no further attempt is made",
    }
