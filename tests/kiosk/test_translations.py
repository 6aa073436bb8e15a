"""Every word of the kiosk exists in Finnish, Swedish and English, the committed Qt Linguist files say the
same as the tables the kiosk reads, nothing is unfinished, and the compiled .qm files load in Qt."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType

import pytest
from PySide6.QtCore import QTranslator

ROOT = Path(__file__).resolve().parents[2]


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("translations_script", ROOT / "scripts" / "translations.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


tr = _load_script()

SAMPLE = {
    "welcome": {"fi": "Tervetuloa", "sv": "Välkommen", "en": "Welcome"},
    "open_today": {"fi": "Avoinna tänään {hours}", "sv": "Öppet i dag {hours}", "en": "Open today {hours}"},
    "camera": {"fi": "kamera", "sv": "kamera", "en": "camera"},
    "device.camera": {"fi": "kamera", "sv": "kamera", "en": "camera"},  # same English, another key
}


# -- the real files -------------------------------------------------------------------------------------
def test_every_kiosk_text_is_written_in_finnish_swedish_and_english() -> None:
    texts = tr.collect()
    assert len(texts) > 20
    assert tr.table_problems(texts) == []


def test_committed_linguist_files_match_the_texts_and_nothing_is_unfinished() -> None:
    assert tr.ts_problems(tr.collect()) == []


def test_compiled_translations_load_in_qt_and_give_every_text(qapp: object, tmp_path: Path) -> None:
    texts = tr.collect()
    compiled = tr.compile_qm(tr.TS_DIR, out=tmp_path)
    assert [p.name for p in compiled] == ["etapiste_fi.qm", "etapiste_sv.qm", "etapiste_en.qm"]
    for lang in tr.LANGUAGES:
        translator = QTranslator()
        assert translator.load(str(tr.qm_path(lang, tmp_path)))
        assert translator.language() == tr.LOCALES[lang]
        for key, by_language in texts.items():
            assert translator.translate(tr.CONTEXT, by_language["en"], key) == by_language[lang], (lang, key)


def test_check_command_passes_on_the_committed_files() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "translations.py"), "check"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "complete" in done.stdout


# -- the checker catches what it must -------------------------------------------------------------------
def test_a_missing_language_becomes_an_unfinished_linguist_message_that_fails(tmp_path: Path) -> None:
    texts = {**SAMPLE, "intro": {"fi": "Täällä voit asioida.", "sv": "", "en": "Here you can do business."}}
    assert tr.table_problems(texts) == ["intro: no sv text"]
    tr.update(texts, tmp_path)
    sv = tr.ts_path("sv", tmp_path).read_text(encoding="utf-8")
    assert '<translation type="unfinished"></translation>' in sv
    assert "etapiste_sv.ts: intro: translation is unfinished" in tr.ts_problems(texts, tmp_path)
    with pytest.raises(RuntimeError, match="unfinished"):  # lrelease refuses it too
        tr.compile_qm(tmp_path, out=tmp_path)


def test_empty_translation_missing_key_and_missing_file_are_listed(tmp_path: Path) -> None:
    tr.update(SAMPLE, tmp_path)
    fi = tr.ts_path("fi", tmp_path)
    tree = ET.parse(fi)
    messages = tree.getroot().find("context")
    assert messages is not None
    for m in list(messages.iter("message")):
        if m.get("id") == "welcome":
            translation = m.find("translation")
            assert translation is not None
            translation.text = ""
        if m.get("id") == "camera":
            messages.remove(m)
    tree.write(fi, encoding="utf-8", xml_declaration=True)
    tr.ts_path("en", tmp_path).unlink()
    problems = tr.ts_problems(SAMPLE, tmp_path)
    assert "etapiste_fi.ts: welcome: empty translation" in problems
    assert "etapiste_fi.ts: camera: missing (run: scripts/translations.py update)" in problems
    assert "etapiste_en.ts: missing (run: scripts/translations.py update)" in problems


def test_a_translators_edit_in_linguist_is_shown_as_a_difference_to_take_into_the_table(tmp_path: Path) -> None:
    tr.update(SAMPLE, tmp_path)
    sv = tr.ts_path("sv", tmp_path)
    sv.write_text(sv.read_text(encoding="utf-8").replace(">Välkommen<", ">Välkommen hit<"), encoding="utf-8")
    assert tr.ts_problems(SAMPLE, tmp_path) == [
        "etapiste_sv.ts: welcome: .ts says 'Välkommen hit', the table says 'Välkommen'"
    ]


def test_a_linguist_resave_with_other_formatting_is_not_a_difference(tmp_path: Path) -> None:
    tr.update(SAMPLE, tmp_path)
    for lang in tr.LANGUAGES:
        path = tr.ts_path(lang, tmp_path)
        tree = ET.parse(path)
        ET.indent(tree, space="  ")  # Linguist writes its own layout
        tree.write(path, encoding="utf-8", xml_declaration=True)
    assert tr.ts_problems(SAMPLE, tmp_path) == []


def test_placeholders_and_closing_punctuation_must_agree_between_languages() -> None:
    texts = {
        "open_today": {"fi": "Avoinna tänään {hours}", "sv": "Öppet i dag {timmar}", "en": "Open today {hours}"},
        "question": {"fi": "Jatketaanko?", "sv": "Ska vi fortsätta?", "en": "Shall we go on."},
    }
    problems = tr.table_problems(texts)
    assert len(problems) == 2
    assert problems[0].startswith("open_today: placeholders differ")
    assert problems[1].startswith("question: ends differently")


def test_special_characters_survive_the_round_trip(tmp_path: Path, qapp: object) -> None:
    texts = {"amp": {"fi": 'A & B <c> "d"', "sv": "A & B <c> 'd'", "en": "A & B <c> 'd'"}}
    tr.update(texts, tmp_path)
    assert tr.ts_problems(texts, tmp_path) == []
    tr.compile_qm(tmp_path, out=tmp_path)
    translator = QTranslator()
    assert translator.load(str(tr.qm_path("fi", tmp_path)))
    assert translator.translate(tr.CONTEXT, "A & B <c> 'd'", "amp") == 'A & B <c> "d"'
