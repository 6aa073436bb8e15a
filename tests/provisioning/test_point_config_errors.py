"""Every configuration problem names the file, the line and the field, and says what would be valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from etapiste.config.loader import ConfigError
from etapiste.config.point import SAMPLE_CONFIG, load_point_config, parse_point_config

SAMPLE = (Path(__file__).parents[2] / "etapiste" / "config" / SAMPLE_CONFIG).read_text(encoding="utf-8")


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def _problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_point_config(text, "point.yaml")
    return [str(p) for p in info.value.problems]


def test_the_bundled_sample_is_valid_and_offers_the_national_producers() -> None:
    config = load_point_config()
    ids = [p.id for p in config.producers]
    assert ids == ["kela", "migri", "poliisi", "vero", "dvv", "te-palvelut", "kansalaisneuvonta"]
    assert config.producer("kela").name.sv == "FPA"


def test_a_misspelt_field_is_reported_at_its_line() -> None:
    text = SAMPLE.replace("  idle_timeout_s: 90", "  idle_timeout: 90")
    assert _problems(text) == [
        f"point.yaml:{_line_of(text, 'idle_timeout:')}: ui.idle_timeout: "
        "unknown field; check the spelling against docs/configuration.md"
    ]


def test_a_missing_required_section_is_reported_at_its_parent() -> None:
    text = SAMPLE.replace("support:\n  name: Etäpalvelupisteiden tuki (organiser)", "supp0rt:\n  name: x")
    assert _problems(text) == [
        f"point.yaml:{_line_of(text, 'schema: 1')}: support: this field is required but missing",
        f"point.yaml:{_line_of(text, 'supp0rt:')}: supp0rt: "
        "unknown field; check the spelling against docs/configuration.md",
    ]


def test_an_impossible_time_range_says_how_to_write_one() -> None:
    text = SAMPLE.replace('      mon: "10:00-20:00"', '      mon: "10-20"')
    (problem,) = _problems(text)
    line = _line_of(text, 'mon: "10-20"')
    assert problem.startswith(f"point.yaml:{line}: host.opening_hours.weekly.mon:")
    assert "write it like '09:00-16:00'" in problem


def test_a_value_out_of_range_names_the_limit() -> None:
    text = SAMPLE.replace("  idle_timeout_s: 90", "  idle_timeout_s: 5")
    (problem,) = _problems(text)
    assert f"point.yaml:{_line_of(text, 'idle_timeout_s: 5')}: ui.idle_timeout_s:" in problem
    assert "greater than or equal to 30" in problem


def test_a_producer_in_a_list_is_named_by_its_position() -> None:
    text = SAMPLE.replace("    queue: migri-general", "    queue: Migri General")
    (problem,) = _problems(text)
    assert f":{_line_of(text, 'queue: Migri General')}: producers.1.queue:" in problem


def test_broken_yaml_is_reported_with_its_line() -> None:
    text = SAMPLE.replace("  id: demo-oulu-kirjasto", "  id: [demo")
    (problem,) = _problems(text)
    assert problem.startswith("point.yaml:")
    assert "not valid YAML" in problem


def test_a_file_that_is_not_a_mapping_is_refused() -> None:
    assert _problems("- just\n- a list\n") == [
        "point.yaml:1: (document): the document must be a mapping of sections (point, host, …)"
    ]


def test_a_staff_pin_hash_that_may_hide_a_short_pin_is_refused_with_what_to_do() -> None:
    """Configuration carries only the PIN's hash, so the length is enforced where the PIN is hashed
    (``etapiste ops hash-pin``, 6-12 digits) and the hash says so; a hash from before cannot say so."""
    legacy = "scrypt$16384$8$1$ZGVtby1zYWx0LWRvbm90dXNl$7d9g14NFnISdGYHMVaz3QivnHAJyxGI18m4pqDuKifM="
    text = "\n".join(
        f'  pin_hash: "{legacy}"' if line.startswith("  pin_hash:") else line for line in SAMPLE.splitlines()
    )
    (problem,) = _problems(text)
    assert problem.startswith(f"point.yaml:{_line_of(text, 'pin_hash:')}: staff.pin_hash: ")
    assert "at least 6 digits" in problem and "etapiste ops hash-pin" in problem
