#!/usr/bin/env python3
"""The text catalogue's tools (etapiste/texts): export the desk's part to the page.

The desk and the organiser's page read their words from ``switchboard/desk/i18n.js``, which this script
writes from the catalogue's ``desk.*`` keys (the prefix dropped, so the pages' ``data-i18n`` keys and
``t()`` calls stay as they are), plus the few lines of script that choose the language and apply it.
The file is committed, served as it is (no inline script, so the page's CSP holds), and a test fails
when it differs from what this script would write. After changing a ``desk.*`` text, run:

    .venv/bin/python scripts/texts.py export-desk
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from etapiste import texts  # noqa: E402
from etapiste.language import LANGUAGES  # noqa: E402

DESK_I18N = ROOT / "switchboard" / "desk" / "i18n.js"
PREFIX = "desk."

HEADER = """\
// Texts of the desk and organiser pages in Finnish, Swedish and English. Keys are used by data-i18n
// attributes and by t() in the scripts; a missing key falls back to English, then to the key itself.
// Generated from the text catalogue (etapiste/texts/*.json, keys desk.*): do not edit; change the
// catalogue and run `.venv/bin/python scripts/texts.py export-desk`.
'use strict';
"""

RUNTIME = """\
window.lang = (localStorage.getItem('etapiste.lang') || (navigator.language || 'fi').slice(0, 2));
if (!window.I18N[window.lang]) window.lang = 'fi';

window.t = function t(key, vars) {
  let text = (window.I18N[window.lang] || {})[key] ?? window.I18N.en[key] ?? key;
  for (const [k, v] of Object.entries(vars || {})) text = text.replaceAll(`{${k}}`, String(v));
  return text;
};

window.applyI18n = function applyI18n() {
  document.documentElement.lang = window.lang;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = window.t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-placeholder]')) {
    el.placeholder = window.t(el.dataset.i18nPlaceholder);
  }
  document.title = window.t(document.body.dataset.titleKey || 'title');
  const select = document.getElementById('lang');
  if (select) select.value = window.lang;
};

document.addEventListener('DOMContentLoaded', () => {
  const select = document.getElementById('lang');
  if (select) select.addEventListener('change', () => {
    window.lang = select.value;
    localStorage.setItem('etapiste.lang', window.lang);
    window.applyI18n();
    document.dispatchEvent(new Event('languagechange'));
  });
  window.applyI18n();
});
"""


def desk_texts() -> dict[str, dict[str, str]]:
    """The desk's texts by language, keys without their ``desk.`` prefix."""
    tables: dict[str, dict[str, str]] = {}
    for language in LANGUAGES:
        catalogue = texts.catalogue(language)
        tables[language] = {key.removeprefix(PREFIX): text for key, text in catalogue.items() if key.startswith(PREFIX)}
    return tables


def render_desk() -> str:
    """The whole of ``switchboard/desk/i18n.js`` as the catalogue makes it."""
    table = json.dumps(desk_texts(), ensure_ascii=False, indent=2)
    return f"{HEADER}window.I18N = {table};\n\n{RUNTIME}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="texts.py", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("export-desk", help=f"write {DESK_I18N.relative_to(ROOT)} from the catalogue")
    parser.parse_args(argv)
    DESK_I18N.write_text(render_desk(), encoding="utf-8")
    print(f"wrote {DESK_I18N.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
