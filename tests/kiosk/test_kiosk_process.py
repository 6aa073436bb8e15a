"""``etapiste kiosk`` as a process, the way systemd and ops meet it: it refuses a broken
configuration with file, line and field; it draws its idle screen on a real X server; it stops
cleanly on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from PySide6.QtGui import QImage

from etapiste.config.point import SAMPLE_CONFIG
from simulation.services.display import Display

KIOSK = [sys.executable, "-m", "etapiste", "kiosk"]
SCREENS_ONLY = [*KIOSK, "--no-devices"]
SAMPLE = (Path(__file__).parents[2] / "etapiste" / "config" / SAMPLE_CONFIG).read_text(encoding="utf-8")


def _offscreen_env() -> dict[str, str]:
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen"}


def test_a_configuration_error_names_file_line_and_field_and_the_kiosk_does_not_start(tmp_path: Path) -> None:
    broken = SAMPLE.replace('      sat: "10:00-16:00"', '      sat: "16:00-10:00"').replace(
        "  default_language: fi", "  default_language: de"
    )
    path = tmp_path / "point.yaml"
    path.write_text(broken, encoding="utf-8")
    line_sat = next(i for i, line in enumerate(broken.splitlines(), 1) if "sat:" in line and "16:00-10:00" in line)
    out = subprocess.run([*KIOSK, "--config", str(path)], capture_output=True, text=True, env=_offscreen_env(),
                         timeout=60)
    assert out.returncode == 2
    assert f"{path}:{line_sat}: host.opening_hours.weekly.sat:" in out.stderr
    assert "the end must be after the start" in out.stderr
    assert "ui.default_language: must be 'fi', 'sv' or 'en'" in out.stderr


def test_a_missing_configuration_file_is_reported_not_crashed_on(tmp_path: Path) -> None:
    out = subprocess.run([*KIOSK, "--config", str(tmp_path / "nope.yaml")], capture_output=True, text=True,
                         env=_offscreen_env(), timeout=60)
    assert out.returncode == 2
    assert "cannot read the file" in out.stderr
    assert "Traceback" not in out.stderr


def test_check_config_accepts_the_bundled_sample() -> None:
    out = subprocess.run([*KIOSK, "--check-config"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "7 producers" in out.stdout


def test_the_idle_screen_is_drawn_on_a_real_x_server(xvfb: Display, tmp_path: Path) -> None:
    shot = tmp_path / "idle-en.png"
    out = subprocess.run(
        [*SCREENS_ONLY, "--at", "2026-11-30T12:00", "--language", "en", "--screenshot", str(shot)],
        env=xvfb.env, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    image = QImage(str(shot))
    assert (image.width(), image.height()) == (xvfb.width, xvfb.height)  # full screen by default
    # The selected language button is filled with the accent colour somewhere in the lower half.
    accent = {image.pixelColor(x, y).name() for x in range(0, image.width(), 8)
              for y in range(image.height() // 2, image.height(), 8)}
    assert "#0a4a86" in accent


def test_sigterm_stops_the_kiosk_cleanly() -> None:
    proc = subprocess.Popen([*KIOSK, "--windowed", "--report-painted"], env=_offscreen_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "painted"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
