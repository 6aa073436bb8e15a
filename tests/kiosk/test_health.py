"""Device health carries the device's own code from etapiste.codes, which the statistics count faults by:
the probes take it from the driver (a printer condition's code, a driver error's ``code``), never from the
device's sentence or CUPS's keyword."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from drivers.carderrors import NoReader
from drivers.printer.conditions import PrinterStatus, conditions_from_reasons
from etapiste import codes
from kiosk.health import DeviceHealth, network_health, probe_camera, probe_card_reader, probe_printer, probe_scanner


@dataclass
class FakePrinter:
    reasons: tuple[str, ...]

    def status(self) -> PrinterStatus:
        conditions = tuple(conditions_from_reasons(self.reasons))
        return PrinterStatus("q", "stopped", True, self.reasons, conditions)


def test_a_printer_fault_carries_its_most_important_condition_code_not_the_cups_keyword() -> None:
    health = probe_printer(FakePrinter(("offline-report", "media-jam-error", "toner-low-warning")))
    assert (health.health, health.code) == ("fault", "jammed")
    assert "media-jam-error" in health.reason  # the CUPS keywords stay the staff's and ops' reason
    assert probe_printer(FakePrinter(("media-empty-error",))).code == "out_of_paper"
    assert probe_printer(FakePrinter(("toner-low-warning",))).code is None  # a warning: the printer works


def test_missing_devices_and_driver_errors_carry_codes_from_the_list() -> None:
    class Scanner:
        def __init__(self, state: str) -> None:
            self.state = state

        def status(self) -> Any:
            return type("S", (), {"state": self.state, "problems": ["no scanner found"]})()

    class Reader:
        def readers(self) -> list[str]:
            raise NoReader("PC/SC not running")

    class Camera:
        def status(self) -> Any:
            return type("C", (), {"ready": False, "state": "unplugged"})()

    class Broken:
        def status(self) -> Any:
            raise RuntimeError("a bug")

    seen = [
        probe_printer(None), probe_scanner(Scanner("missing")), probe_scanner(Scanner("error")),
        probe_card_reader(Reader()), probe_camera(Camera()), probe_scanner(Broken()), probe_camera(None),
    ]  # fmt: skip
    assert [h.code for h in seen] == [
        "not_configured", "scanner_unavailable", "scanner_error", "no_reader", "camera_unplugged",
        "internal_error", "not_configured",
    ]  # fmt: skip
    assert all(h.code in codes.ALL_CODES for h in seen)


def test_the_switchboard_link_carries_its_reason_as_a_network_code() -> None:
    assert network_health(True) == DeviceHealth("ok")
    assert network_health(False, None).code == "unreachable"
    assert network_health(False, "unauthorised").code == "unauthorised"
    assert (network_health(False, "turn_refused").health, network_health(False, "turn_refused").code) == (
        "fault",
        "turn_refused",
    )
    assert network_health(False, "something new").code == "unreachable"


def test_a_fault_without_a_code_is_refused() -> None:
    with pytest.raises(ValueError, match="code"):
        DeviceHealth("fault", "media-jam-error")
