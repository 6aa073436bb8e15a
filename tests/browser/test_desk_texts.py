"""Every text of the desk and organiser pages exists in Finnish, Swedish and English, and switching the
language changes the page at once."""

from __future__ import annotations

from simulation.switchboard import serve
from tests.browser.test_desk import login, wait_in_page

MISSING = """(() => {
  const keys = new Set();
  for (const el of document.querySelectorAll('[data-i18n]')) keys.add(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-placeholder]')) keys.add(el.dataset.i18nPlaceholder);
  const all = new Set([...keys, ...Object.keys(I18N.fi), ...Object.keys(I18N.sv), ...Object.keys(I18N.en)]);
  const out = {};
  for (const lang of ['fi', 'sv', 'en']) out[lang] = [...all].filter((k) => !(k in I18N[lang]) || !I18N[lang][k]);
  return out;
})()"""


def choose(lang: str) -> str:
    return (
        "(() => { const s = document.getElementById('lang'); "
        f"s.value = '{lang}'; s.dispatchEvent(new Event('change')); }})()"
    )


async def test_every_desk_text_exists_in_finnish_swedish_and_english(browser):
    async with serve() as sb:
        try:
            await browser.acall("open", name="texts")
            await browser.acall("goto", name="texts", url=sb.base + "/")
            missing = await browser.acall("evaluate", name="texts", expression=MISSING)
            assert missing == {"fi": [], "sv": [], "en": []}, missing
            await login(browser, "texts-ops", sb.base, "ops")  # the organiser's page needs a login
            await wait_in_page(browser, "texts-ops", "location.pathname === '/organiser'")
            missing = await browser.acall("evaluate", name="texts-ops", expression=MISSING)
            assert missing == {"fi": [], "sv": [], "en": []}, missing
        finally:
            await browser.acall("close", name="texts")
            await browser.acall("close", name="texts-ops")


async def test_choosing_a_language_translates_the_page_and_is_remembered(browser):
    async with serve() as sb:
        try:
            await browser.acall("open", name="lang")
            await browser.acall("goto", name="lang", url=sb.base + "/")
            for lang, title in (("sv", "Logga in"), ("en", "Log in"), ("fi", "Kirjaudu")):
                await browser.acall("evaluate", name="lang", expression=choose(lang))
                assert await browser.acall("text", name="lang", selector="#login-view h2") == title
                assert await browser.acall("text", name="lang", selector="#login-button") == title
                assert await browser.acall("evaluate", name="lang", expression="document.documentElement.lang") == lang
            await browser.acall("evaluate", name="lang", expression=choose("sv"))
            await browser.acall("goto", name="lang", url=sb.base + "/")
            assert await browser.acall("text", name="lang", selector="#login-button") == "Logga in"
        finally:
            await browser.acall("close", name="lang")
