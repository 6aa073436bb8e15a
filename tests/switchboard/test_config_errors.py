"""The switchboard's configuration is read by the point's loader (etapiste.config.loader): its errors name the
line, and a time zone this machine does not know is a configuration error, not a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from switchboard.cli import main
from switchboard.config import SwitchboardConfigError, load_config

SAMPLE = Path(__file__).resolve().parents[2] / "switchboard" / "sample-switchboard.yaml"


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_a_wrong_value_is_named_with_its_file_and_line(tmp_path):
    text = SAMPLE.read_text().replace("listen_port: ", "listen_port: 99999 #", 1)
    path = tmp_path / "sb.yaml"
    path.write_text(text)
    with pytest.raises(SwitchboardConfigError) as exc:
        load_config(path)
    assert f"{path}:{_line_of(text, 'listen_port:')}: listen_port:" in str(exc.value)


def test_yaml_that_does_not_parse_names_its_line(tmp_path):
    path = tmp_path / "sb.yaml"
    path.write_text("listen_host: 127.0.0.1\norigin: [unclosed\n")
    with pytest.raises(SwitchboardConfigError) as exc:
        load_config(path)
    assert f"{path}:" in str(exc.value) and "not valid YAML" in str(exc.value)


@pytest.mark.parametrize("zone", ["Europe/Nowhere", "Europe", "../etc"])
def test_an_unknown_time_zone_is_a_configuration_error_with_its_line(tmp_path, zone):
    text = SAMPLE.read_text().replace("timezone: Europe/Helsinki", f"timezone: '{zone}'", 1)
    path = tmp_path / "sb.yaml"
    path.write_text(text)
    with pytest.raises(SwitchboardConfigError) as exc:
        load_config(path)
    assert f"{path}:{_line_of(text, 'timezone:')}: timezone:" in str(exc.value)
    assert "is not a known time zone" in str(exc.value)


def test_switchboard_check_reports_an_unknown_time_zone_without_a_traceback(tmp_path, capsys):
    path = tmp_path / "sb.yaml"
    path.write_text(SAMPLE.read_text().replace("timezone: Europe/Helsinki", "timezone: Mars/Olympus_Mons", 1))
    assert main(["--config", str(path), "--check", "--demo"]) == 1
    err = capsys.readouterr().err
    assert "timezone" in err and "is not a known time zone" in err and "Traceback" not in err
