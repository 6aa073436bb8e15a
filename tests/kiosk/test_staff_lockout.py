"""Staff mode's PIN against a guesser at the screen: six digits at least, five tries, then a lockout that
doubles each time until the right PIN is entered, kept on disk so that restarting the kiosk (or the PC)
does not hand out five fresh tries — and the file never holds a PIN."""

from __future__ import annotations

import configparser
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from etapiste.config.point import PointConfig, load_point_config
from kiosk.app import Devices, Kiosk, assemble
from kiosk.session import STAFF_LOCKOUT_S, Session, State
from simulation.clock import FakeClock

RIGHT = "246813"  # the sample configuration's staff PIN
WRONG = "135790"
UNIT = Path(__file__).parents[2] / "systemd" / "units" / "etapiste-kiosk.service"


@pytest.fixture
def config() -> PointConfig:
    return load_point_config()


def test_each_lockout_lasts_twice_as_long_as_the_one_before_until_the_right_pin(config: PointConfig) -> None:
    clocks = FakeClock("2026-11-30T12:00")
    session = Session(config, clocks, clocks.monotonic)
    session.open_staff_login()

    def five_wrong() -> None:
        for _ in range(5):
            assert not session.staff_pin(WRONG)
        assert session.snapshot.staff_locked

    five_wrong()
    clocks.advance(STAFF_LOCKOUT_S + 1)
    five_wrong()
    clocks.advance(STAFF_LOCKOUT_S + 1)
    assert not session.staff_pin(RIGHT), "the second lockout lasts twice as long"
    assert session.snapshot.staff_error == "staff_locked"
    clocks.advance(STAFF_LOCKOUT_S)
    assert session.staff_pin(RIGHT)
    assert session.state is State.STAFF
    session.leave_staff()
    # The right PIN ends the growth: the next lockout is the first one again.
    session.open_staff_login()
    five_wrong()
    clocks.advance(STAFF_LOCKOUT_S + 1)
    assert session.staff_pin(RIGHT)


def test_the_staff_pin_pad_wants_at_least_six_digits(qtbot: QtBot, config: PointConfig) -> None:
    from kiosk.views.staff import StaffLoginScreen

    screen = StaffLoginScreen(Session(config))
    assert screen.pin_pad.min_length == 6


@pytest.fixture
def kiosks(qtbot: QtBot) -> Iterator[Callable[[PointConfig], Kiosk]]:
    """Assemble kiosks the app's way; each window is closed once at the end (it refuses other closes)."""
    made: list[Kiosk] = []

    def make(config: PointConfig) -> Kiosk:
        kiosk = assemble(config, devices=Devices(), engine=None, kiosk_mode=False)
        kiosk.window.resize(1280, 1024)
        kiosk.window.show()
        made.append(kiosk)
        return kiosk

    yield make
    for kiosk in made:
        kiosk.window.allow_close()
        kiosk.window.close()


def _type(kiosk: Kiosk, pin: str) -> None:
    pad = kiosk.window.staff_login.pin_pad
    for digit in pin:
        pad.digit_keys[int(digit)].click()
    pad.ok_key.click()


def test_a_kiosk_restart_does_not_reset_the_staff_lockout_and_the_file_holds_no_pin(
    kiosks: Callable[[PointConfig], Kiosk], config: PointConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path))  # what systemd's StateDirectory= gives the kiosk
    first = kiosks(config)
    first.session.open_staff_login()
    for _ in range(5):
        _type(first, WRONG)
    assert first.session.snapshot.staff_locked

    restarted = kiosks(config)
    restarted.session.open_staff_login()
    assert restarted.session.snapshot.staff_locked
    assert not restarted.window.staff_login.pin_pad.isEnabled()
    assert restarted.window.staff_login.error.isVisible()
    restarted.session.staff_pin(RIGHT)  # even the right PIN waits for the lockout to end
    assert restarted.session.state is State.STAFF_LOGIN
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files, "the lockout is kept in the kiosk's state directory"
    for f in files:
        content = f.read_bytes()
        assert WRONG.encode() not in content and RIGHT.encode() not in content
        assert f.stat().st_mode & 0o077 == 0


def test_the_locked_screen_says_until_when(kiosks: Callable[[PointConfig], Kiosk], config: PointConfig,
                                           tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path))
    kiosk = kiosks(config)
    kiosk.session.set_language("en")
    kiosk.session.open_staff_login()
    for _ in range(5):
        _type(kiosk, WRONG)
    until = kiosk.session.staff_locked_until
    assert until is not None
    text = kiosk.window.staff_login.error.text()
    assert f"{until.hour:02d}:{until.minute:02d}" in text


def test_the_kiosk_unit_gives_the_app_a_private_persistent_state_directory() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read_string(UNIT.read_text())
    assert unit["Service"]["StateDirectory"] == "etapiste-kiosk"
    assert unit["Service"]["StateDirectoryMode"] == "0700"
