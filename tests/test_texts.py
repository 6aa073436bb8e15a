"""The text catalogue (etapiste/texts) is complete: every key in Finnish, Swedish and English, no empty
text, the same placeholders and closing punctuation in each language, and a text for every code a
person is shown."""

from __future__ import annotations

import importlib.util
import json
import string
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import get_args

import pytest

from etapiste import texts
from etapiste.codes import DEVICE_ERROR_CODES, IdentityAbortCode, IdentityResultCode
from etapiste.language import LANGUAGES

ROOT = Path(__file__).resolve().parent.parent
TEXTS_DIR = ROOT / "etapiste" / "texts"

Catalogues = Mapping[str, Mapping[str, str]]
"""language → key → text, as in the JSON files."""

#: Words, not sentences, whose languages may end differently: Swedish abbreviates "kl." where Finnish
#: writes "klo" and English "at".
ENDINGS_MAY_DIFFER = frozenset({"kiosk.at"})


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _ending(text: str) -> str:
    last = text.rstrip()[-1:]
    return last if last in ".?!:…" else ""


def problems(catalogues: Catalogues) -> list[str]:
    """What is wrong in the catalogue: a key missing from a language or empty, placeholders or closing
    punctuation (. ? ! : …) that differ between languages, a broken placeholder."""
    found: list[str] = []
    keys = [k for lang in LANGUAGES for k in catalogues.get(lang, {})]
    for key in dict.fromkeys(keys):
        by_language = {lang: catalogues.get(lang, {}).get(key) for lang in LANGUAGES}
        for lang, value in by_language.items():
            if value is None:
                found.append(f"{key}: no {lang} text")
            elif not value.strip():
                found.append(f"{key}: empty {lang} text")
        present = {lang: v for lang, v in by_language.items() if v}
        try:
            fields = {lang: _fields(v) for lang, v in present.items()}
        except ValueError as e:
            found.append(f"{key}: broken placeholder: {e}")
            continue
        if len({frozenset(f) for f in fields.values()}) > 1:
            shown = ", ".join(f"{lang} {sorted(f)}" for lang, f in fields.items())
            found.append(f"{key}: placeholders differ between languages ({shown})")
        ends = {lang: _ending(v) for lang, v in present.items()}
        if len(set(ends.values())) > 1 and key not in ENDINGS_MAY_DIFFER:
            shown = ", ".join(f"{lang} {e!r}" for lang, e in ends.items())
            found.append(f"{key}: ends differently between languages ({shown}): a full stop or question lost?")
    return found


def _committed() -> dict[str, dict[str, str]]:
    return {lang: json.loads((TEXTS_DIR / f"{lang}.json").read_text(encoding="utf-8")) for lang in LANGUAGES}


# -- the real catalogue -----------------------------------------------------------------------------------
def test_every_text_is_written_in_finnish_swedish_and_english() -> None:
    catalogues = _committed()
    assert len(catalogues["fi"]) > 100
    assert problems(catalogues) == []


def test_the_files_hold_nothing_but_the_three_languages() -> None:
    assert sorted(p.stem for p in TEXTS_DIR.glob("*.json")) == sorted(LANGUAGES)


def test_every_device_error_code_has_a_customer_and_a_staff_text() -> None:
    missing = [
        f"error.{code}.{who}"
        for code in sorted(DEVICE_ERROR_CODES)
        for who in ("customer", "staff")
        if not texts.has(f"error.{code}.{who}")
    ]
    assert missing == []


def test_every_error_text_belongs_to_a_device_error_code() -> None:
    errors = [key for key in texts.catalogue("en") if key.startswith("error.")]
    strays = [key for key in errors if key.split(".")[1] not in DEVICE_ERROR_CODES]
    assert strays == []


def test_every_identity_reason_the_desk_words_is_a_code_identity_result_carries() -> None:
    """``desk.identity_reason_<code>``: the desk words a failed identification's reason by its code, so each
    such key must name a code ``identity.result`` can carry (the switchboard's or the point's abort's)."""
    carried = set(get_args(IdentityResultCode)) | set(get_args(IdentityAbortCode))
    worded = {key.removeprefix("desk.identity_reason_")
              for key in texts.catalogue("en") if key.startswith("desk.identity_reason_")}
    assert worded, "the desk words no identification reason"
    assert worded <= carried, f"desk texts for codes identity.result never carries: {sorted(worded - carried)}"


def test_lookup_fills_placeholders_and_refuses_an_unknown_key() -> None:
    assert texts.text("kiosk.tries_left", "sv", tries=2) == "Försök kvar: 2"
    assert texts.template("kiosk.tries_left", "en") == "Tries left: {tries}"
    assert texts.has("kiosk.welcome") and not texts.has("kiosk.no_such_text")
    with pytest.raises(KeyError):
        texts.text("kiosk.no_such_text", "fi")
    with pytest.raises(KeyError):
        texts.text("kiosk.tries_left", "fi")  # its placeholder not given


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("texts_script", ROOT / "scripts" / "texts.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_desks_texts_are_exported_from_the_catalogue() -> None:
    script = _script()
    committed = script.DESK_I18N.read_text(encoding="utf-8")
    assert committed == script.render_desk(), (
        "switchboard/desk/i18n.js is out of date: run .venv/bin/python scripts/texts.py export-desk"
    )
    assert script.desk_texts()["sv"]["login"] == "Logga in"


# -- the checker catches what it must ---------------------------------------------------------------------
def test_a_missing_or_empty_language_is_listed() -> None:
    sample = {
        "fi": {"welcome": "Tervetuloa", "intro": "Täällä voit asioida."},
        "sv": {"welcome": "Välkommen", "intro": ""},
        "en": {"intro": "Here you can do business."},
    }
    assert problems(sample) == ["welcome: no en text", "intro: empty sv text"]


def test_placeholders_and_closing_punctuation_must_agree_between_languages() -> None:
    sample = {
        "fi": {"open_today": "Avoinna tänään {hours}", "question": "Jatketaanko?"},
        "sv": {"open_today": "Öppet i dag {timmar}", "question": "Ska vi fortsätta?"},
        "en": {"open_today": "Open today {hours}", "question": "Shall we go on."},
    }
    found = problems(sample)
    assert len(found) == 2
    assert found[0].startswith("open_today: placeholders differ")
    assert found[1].startswith("question: ends differently")
