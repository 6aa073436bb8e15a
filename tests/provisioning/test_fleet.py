"""Layered fleet configuration (defaults → group → point): merging, and errors that name the file,
the line and the field where the offending value was written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from etapiste.config.loader import ConfigError
from provisioning.fleet import Fleet

EXAMPLE = Path(__file__).resolve().parents[2] / "provisioning" / "fleet-example"


@pytest.fixture
def fleet(tmp_path: Path) -> Fleet:
    root = tmp_path / "fleet"
    shutil.copytree(EXAMPLE, root)
    return Fleet(root)


def _problems(fleet: Fleet, point: str) -> list[str]:
    with pytest.raises(ConfigError) as err:
        fleet.resolve(point)
    return [str(p) for p in err.value.problems]


def test_the_example_fleet_is_valid_and_every_point_resolves() -> None:
    fleet = Fleet(EXAMPLE)
    assert fleet.point_ids() == ["demo-kempele-kirjasto", "demo-oulu-kirjasto"]
    assert fleet.validate_all() == {"demo-kempele-kirjasto": [], "demo-oulu-kirjasto": []}
    assert fleet.group_members("pohjois-pohjanmaa") == ["demo-kempele-kirjasto", "demo-oulu-kirjasto"]


def test_point_overrides_group_overrides_defaults_field_by_field(fleet: Fleet) -> None:
    kempele = fleet.resolve("demo-kempele-kirjasto")
    # The point's own file: fewer producers (a list replaces), a lower page limit, no scanner.
    assert [p.id for p in kempele.config.producers] == ["kela", "poliisi", "kansalaisneuvonta"]
    assert kempele.config.devices.printer.max_pages == 20
    # …while the fields it did not mention keep the defaults.
    assert kempele.config.devices.printer.queue == "etapiste"
    assert kempele.config.devices.printer.max_bytes == 20_000_000
    assert kempele.config.devices.scanner.enabled is False
    assert kempele.config.devices.scanner.resolution == 300
    oulu = fleet.resolve("demo-oulu-kirjasto")
    assert len(oulu.config.producers) == 7
    assert oulu.layers[1].endswith("groups/pohjois-pohjanmaa.yaml")
    assert oulu.data["host"]["opening_hours"]["exceptions"][0]["date"] == "2026-12-24"  # JSON-able for signing


def test_group_layer_applies_to_its_members(fleet: Fleet) -> None:
    (fleet.root / "groups" / "pohjois-pohjanmaa.yaml").write_text("ui:\n  idle_timeout_s: 120\n")
    assert fleet.resolve("demo-oulu-kirjasto").config.ui.idle_timeout_s == 120
    assert fleet.resolve("demo-oulu-kirjasto").config.ui.timeout_warning_s == 30


def test_bad_value_in_the_group_file_is_reported_at_its_line_there(fleet: Fleet) -> None:
    (fleet.root / "groups" / "pohjois-pohjanmaa.yaml").write_text("# region\nui:\n  idle_timeout_s: 10\n")
    problems = _problems(fleet, "demo-oulu-kirjasto")
    assert problems == [
        f"{fleet.root}/groups/pohjois-pohjanmaa.yaml:3: ui.idle_timeout_s: "
        "Input should be greater than or equal to 30 (got 10)"
    ]


def test_typo_in_defaults_names_the_defaults_file_and_says_what_is_valid(fleet: Fleet) -> None:
    path = fleet.root / "defaults.yaml"
    text = path.read_text().replace("  printer:\n    queue:", "  printer:\n    quue:")
    path.write_text(text)
    line = text.splitlines().index("    quue: etapiste") + 1
    problems = _problems(fleet, "demo-kempele-kirjasto")
    assert f"{path}:{line}: devices.printer.quue: unknown field; check the spelling against docs/configuration.md" in (
        problems
    )


def test_missing_required_section_is_reported_against_the_point_file(fleet: Fleet) -> None:
    path = fleet.root / "points" / "demo-oulu-kirjasto.yaml"
    text = path.read_text()
    path.write_text(text[: text.index("staff:")])
    problems = _problems(fleet, "demo-oulu-kirjasto")
    assert any(p.startswith(f"{path}") and "staff: this field is required but missing" in p for p in problems)


def test_point_file_must_carry_its_own_id_and_layers_cannot_set_it(fleet: Fleet) -> None:
    (fleet.root / "points" / "demo-oulu-kirjasto.yaml").write_text(
        (fleet.root / "points" / "demo-oulu-kirjasto.yaml").read_text().replace("id: demo-oulu", "id: demo-ouluu")
    )
    (fleet.root / "defaults.yaml").write_text((fleet.root / "defaults.yaml").read_text() + "point:\n  id: x\n")
    problems = _problems(fleet, "demo-oulu-kirjasto")
    assert any("point.id: must be 'demo-oulu-kirjasto', the file's name (got 'demo-ouluu-kirjasto')" in p
               for p in problems)  # fmt: skip
    assert any("defaults.yaml" in p and "only a point's own file may set point.id" in p for p in problems)


def test_yaml_syntax_error_names_file_and_line(fleet: Fleet) -> None:
    path = fleet.root / "groups" / "pohjois-pohjanmaa.yaml"
    path.write_text("ui:\n  idle_timeout_s: [90\n")
    problems = _problems(fleet, "demo-oulu-kirjasto")
    assert len(problems) == 1 and problems[0].startswith(f"{path}:3:") and "not valid YAML" in problems[0]


def test_unknown_point_lists_the_known_ones(fleet: Fleet) -> None:
    problems = _problems(fleet, "nowhere")
    assert "no such point; known: demo-kempele-kirjasto, demo-oulu-kirjasto" in problems[0]
