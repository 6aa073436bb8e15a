"""The host's own words (issue 21, item 4): every customer text names the host's staff by ``host.kind``,
in every language; no text says "library" in a town hall, and none is left with an unfilled placeholder."""

from __future__ import annotations

import re
import string

import pytest

from etapiste import texts
from etapiste.config.loader import ConfigError
from etapiste.config.point import load_point_config, parse_point_config
from etapiste.host import HOST_KINDS, fill_host, host_words
from etapiste.language import LANGUAGES

LIBRARY = re.compile(r"librar|kirjasto|bibliotek", re.IGNORECASE)


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("kind", HOST_KINDS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_text_rendered_for_every_host_kind_names_only_that_host(kind: str, language: str) -> None:
    words = host_words(kind, language)  # type: ignore[arg-type]
    offenders, unfilled = [], []
    for key, template in texts.catalogue(language).items():  # type: ignore[arg-type]
        if key.startswith("host."):
            continue  # the words themselves, checked through the texts that use them
        others = {name: "7" for name in _fields(template) if name not in words}
        shown = template.format(**words, **others)
        if kind != "library" and LIBRARY.search(shown):
            offenders.append(f"{key}: {shown}")
        if "{" in shown or "}" in shown:
            unfilled.append(f"{key}: {shown}")
    assert offenders == []
    assert unfilled == []


def test_the_library_still_says_library_and_a_town_hall_says_town_hall() -> None:
    told = texts.template("error.out_of_paper.customer", "en")
    assert fill_host(told, "library", "en") == "The printer is out of paper. The library staff have been told."
    assert fill_host(told, "town_hall", "en") == (
        "The printer is out of paper. The staff at the town hall have been told."
    )
    ask = texts.template("kiosk.out_of_service_help", "fi")
    assert fill_host(ask, "library", "fi") == "Kysy neuvoa kirjaston henkilökunnalta."
    # Finnish puts the host in the case the sentence needs: a shopping centre's help is its customer service.
    assert fill_host(ask, "shopping_centre", "fi") == "Kysy neuvoa kauppakeskuksen asiakaspalvelusta."
    assert fill_host(texts.template("kiosk.ask_staff", "sv"), "other", "sv") == "Behöver du hjälp? Fråga personalen."


def test_every_host_kind_has_its_words_in_every_language() -> None:
    for kind in HOST_KINDS:
        for language in LANGUAGES:
            words = host_words(kind, language)
            assert all(words.values()), (kind, language)
            assert words["staff_told"].endswith(".") and words["staff_told"][0].isupper()


def _sample_with_kind(kind: str) -> str:
    text = load_point_config().model_dump_json(by_alias=True)
    return text.replace('"kind":"library"', f'"kind":"{kind}"')


def test_host_kind_is_read_from_the_configuration_and_a_wrong_one_is_refused_by_name() -> None:
    assert load_point_config().host.kind == "library"
    assert parse_point_config(_sample_with_kind("town_hall")).host.kind == "town_hall"
    with pytest.raises(ConfigError) as caught:
        parse_point_config(_sample_with_kind("castle"))
    (problem,) = caught.value.problems
    assert problem.field == "host.kind"
    assert "town_hall" in str(problem) and "shopping_centre" in str(problem)
