#!/usr/bin/env python3
"""The kiosk's words as Qt Linguist files: ``.ts`` per language generated from the Python tables, checked,
and compiled to ``.qm`` with ``pyside6-lrelease``.

One source of truth: the ``TEXTS`` tables (``kiosk/i18n.py``, and the on-screen keyboard's own in
``kiosk/views/keyboard.py``). Developers write all three languages side by side in one reviewed diff, the
state machine and the views read them without Qt or file I/O, and a missing language is a failing test
at once. The ``.ts`` files in ``kiosk/translations/`` are generated from them and committed: translators
open them in Qt Linguist, and ``check`` compares them *by content* (a Linguist re-save changes nothing)
against the tables, so a translator's edit shows up as a listed difference to copy into the table, and
a stale ``.ts`` can never ship. The compiled ``.qm`` carry exactly the words the kiosk shows, for any
Qt-side consumer (``QTranslator``); they are build output, not committed.

Message format: context ``kiosk``, ``id`` and disambiguation comment = the key, source = the English text,
translation = the language's text (the English file translates to itself). Lookup with
``QTranslator.translate("kiosk", english, key)``.

    .venv/bin/python scripts/translations.py update   # write kiosk/translations/*.ts from the tables
    .venv/bin/python scripts/translations.py check    # exit 1 on any drift, unfinished or missing text
    .venv/bin/python scripts/translations.py build    # check, then compile *.qm (scripts/setup.sh runs this)
"""

from __future__ import annotations

import argparse
import shutil
import string
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

ROOT = Path(__file__).resolve().parent.parent
TS_DIR = ROOT / "kiosk" / "translations"
CONTEXT = "kiosk"
SOURCE_LANGUAGE = "en"
LANGUAGES = ("fi", "sv", "en")
#: Qt locale of each file: Finnish, Finland Swedish, British English.
LOCALES = {"fi": "fi_FI", "sv": "sv_FI", "en": "en_GB"}
BASENAME = "etapiste"

Texts = Mapping[str, Mapping[str, str]]


def ts_path(language: str, directory: Path = TS_DIR) -> Path:
    return directory / f"{BASENAME}_{language}.ts"


def qm_path(language: str, directory: Path = TS_DIR) -> Path:
    return directory / f"{BASENAME}_{language}.qm"


def collect() -> dict[str, dict[str, str]]:
    """Every table of kiosk words, merged; a key defined twice is an error (two sources for one word)."""
    from kiosk.i18n import TEXTS as kiosk_texts
    from kiosk.views.keyboard import TEXTS as keyboard_texts

    merged: dict[str, dict[str, str]] = {}
    for table in (kiosk_texts, keyboard_texts):
        for key, value in table.items():
            if key in merged:
                raise ValueError(f"text key {key!r} is defined in two tables")
            merged[key] = {str(lang): text for lang, text in value.items()}
    return merged


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def table_problems(texts: Texts) -> list[str]:
    """What is wrong in the tables themselves: a language missing or empty, placeholders or the closing
    punctuation (. ? ! : …) that differ between languages."""
    problems = []
    for key, by_language in texts.items():
        for lang in LANGUAGES:
            if not by_language.get(lang, "").strip():
                problems.append(f"{key}: no {lang} text")
        for lang in by_language:
            if lang not in LANGUAGES:
                problems.append(f"{key}: unknown language {lang!r}")
        try:
            fields = {lang: _fields(t) for lang, t in by_language.items() if t}
        except ValueError as e:
            problems.append(f"{key}: broken placeholder: {e}")
            continue
        if len({frozenset(f) for f in fields.values()}) > 1:
            shown = ", ".join(f"{lang} {sorted(f)}" for lang, f in fields.items())
            problems.append(f"{key}: placeholders differ between languages ({shown})")
        ends = {lang: _ending(t) for lang, t in by_language.items() if t}
        if len(set(ends.values())) > 1:
            shown = ", ".join(f"{lang} {e!r}" for lang, e in ends.items())
            problems.append(f"{key}: ends differently between languages ({shown}): a full stop or question lost?")
    return problems


def _ending(text: str) -> str:
    last = text.rstrip()[-1:]
    return last if last in ".?!:…" else ""


def render_ts(texts: Texts, language: str) -> str:
    """The .ts file of one language. A missing or empty text is written as Linguist's unfinished message."""
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        "<!DOCTYPE TS>",
        f'<TS version="2.1" language="{LOCALES[language]}" sourcelanguage="{LOCALES[SOURCE_LANGUAGE]}">',
        "<context>",
        f"    <name>{CONTEXT}</name>",
    ]
    for key, by_language in texts.items():
        source = by_language.get(SOURCE_LANGUAGE, "")
        translation = by_language.get(language, "")
        lines.append(f"    <message id={quoteattr(key)}>")
        lines.append(f"        <source>{escape(source)}</source>")
        lines.append(f"        <comment>{escape(key)}</comment>")
        if translation.strip():
            lines.append(f"        <translation>{escape(translation)}</translation>")
        else:
            lines.append('        <translation type="unfinished"></translation>')
        lines.append("    </message>")
    lines += ["</context>", "</TS>", ""]
    return "\n".join(lines)


@dataclass(frozen=True)
class Message:
    key: str
    source: str
    translation: str
    kind: str  # "" when finished; Linguist's "unfinished", "vanished" or "obsolete" otherwise


def read_ts(path: Path) -> tuple[str, list[Message]]:
    """The locale and messages of a .ts file as Linguist or this script wrote it."""
    root = ET.parse(path).getroot()
    if root.tag != "TS":
        raise ValueError(f"{path.name}: not a Qt Linguist file (root <{root.tag}>)")
    messages = []
    for context in root.iter("context"):
        for m in context.iter("message"):
            source = m.findtext("source") or ""
            key = m.get("id") or m.findtext("comment") or source
            t = m.find("translation")
            messages.append(
                Message(
                    key, source, (t.text or "") if t is not None else "", t.get("type", "") if t is not None else ""
                )
            )
    return root.get("language", ""), messages


def ts_problems(texts: Texts, directory: Path = TS_DIR) -> list[str]:
    """Differences between the .ts files and the tables, and anything unfinished or missing in them."""
    problems = []
    for lang in LANGUAGES:
        path = ts_path(lang, directory)
        if not path.exists():
            problems.append(f"{path.name}: missing (run: scripts/translations.py update)")
            continue
        try:
            locale, messages = read_ts(path)
        except (ET.ParseError, ValueError) as e:
            problems.append(f"{path.name}: unreadable: {e}")
            continue
        if locale != LOCALES[lang]:
            problems.append(f"{path.name}: language is {locale!r}, expected {LOCALES[lang]!r}")
        seen: set[str] = set()
        for m in messages:
            where = f"{path.name}: {m.key}"
            if m.key in seen:
                problems.append(f"{where}: appears twice")
            seen.add(m.key)
            if m.kind:
                problems.append(f"{where}: translation is {m.kind}")
            elif not m.translation.strip():
                problems.append(f"{where}: empty translation")
            if m.key not in texts:
                problems.append(f"{where}: no such key in the tables (remove it: scripts/translations.py update)")
                continue
            want = texts[m.key].get(lang, "")
            if m.translation != want and not m.kind:
                problems.append(f"{where}: .ts says {m.translation!r}, the table says {want!r}")
            if m.source != texts[m.key].get(SOURCE_LANGUAGE, ""):
                problems.append(f"{where}: source text is out of date (run: scripts/translations.py update)")
        for key in texts:
            if key not in seen:
                problems.append(f"{path.name}: {key}: missing (run: scripts/translations.py update)")
    return problems


def lrelease() -> str:
    """pyside6-lrelease from the venv PySide6-Essentials installs next to this Python, or from PATH."""
    here = Path(sys.executable).parent / "pyside6-lrelease"
    found = str(here) if here.exists() else shutil.which("pyside6-lrelease")
    if found is None:
        raise FileNotFoundError("pyside6-lrelease not found; install the project (pip install -e .)")
    return found


def compile_qm(directory: Path = TS_DIR, out: Path | None = None) -> list[Path]:
    """Compile every language's .ts to .qm; lrelease itself refuses unfinished translations."""
    out = out or directory
    results = []
    for lang in LANGUAGES:
        target = qm_path(lang, out)
        done = subprocess.run(
            [lrelease(), "-silent", "-fail-on-unfinished", str(ts_path(lang, directory)), "-qm", str(target)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"lrelease failed for {lang}: {(done.stderr or done.stdout).strip()}")
        results.append(target)
    return results


def update(texts: Texts, directory: Path = TS_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for lang in LANGUAGES:
        path = ts_path(lang, directory)
        path.write_text(render_ts(texts, lang), encoding="utf-8")
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="translations.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("update", "check", "build"))
    args = parser.parse_args(argv)
    texts = collect()
    problems = table_problems(texts)
    if args.command == "update":
        for path in update(texts):
            print(f"wrote {path.relative_to(ROOT)}")
        for p in problems:
            print(f"unfinished: {p}", file=sys.stderr)
        return 1 if problems else 0
    problems += ts_problems(texts)
    if problems:
        print("translations are not complete:", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        return 1
    if args.command == "build":
        try:
            for path in compile_qm():
                print(f"compiled {path.relative_to(ROOT)}")
        except (RuntimeError, FileNotFoundError) as e:
            print(e, file=sys.stderr)
            return 1
    else:
        print(f"{len(texts)} texts, {len(LANGUAGES)} languages: complete")
    return 0


if __name__ == "__main__":
    sys.exit(main())
