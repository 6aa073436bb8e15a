"""The languages the point speaks, and a text given in each of them.

Finnish, Swedish and English: the two national languages and the one most visitors share. The kiosk's
texts, the wire protocol's ``language`` fields, the drivers' messages and the configuration's texts all
take this one type, so a fourth language is added in one place.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from etapiste.model import FrozenModel

Language = Literal["fi", "sv", "en"]
#: Every language, in the order the customer is offered them.
LANGUAGES: tuple[Language, ...] = ("fi", "sv", "en")


class Text(FrozenModel):
    """A text shown to people, in each of the three languages (all three required)."""

    fi: str = Field(min_length=1)
    sv: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def in_(self, language: Language) -> str:
        return str(getattr(self, language))
