"""The display harness really gives a screen: a Qt window drawn on the private Xvfb is grabbed back
with the colour it was painted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from simulation.services.display import Display

_PAINT = """
import sys
from PySide6.QtGui import QColor, QGuiApplication
from PySide6.QtWidgets import QApplication, QWidget
app = QApplication([])
assert QGuiApplication.platformName() == "xcb", QGuiApplication.platformName()
w = QWidget(); w.setStyleSheet("background: #0A4A86"); w.resize(200, 100); w.show()
app.processEvents()
from PySide6.QtCore import QTimer
def grab():
    img = QGuiApplication.primaryScreen().grabWindow(w.winId()).toImage()
    print(img.pixelColor(100, 50).name())
    app.quit()
QTimer.singleShot(300, grab)
app.exec()
"""


def test_a_window_on_xvfb_is_drawn_and_grabbed(xvfb: Display, tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", _PAINT], env=xvfb.env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "#0a4a86"
