"""Pinned and chosen dependencies stay what docs/decisions/ says they are."""

from __future__ import annotations

import importlib.metadata as md
import os
import subprocess
import sys


def test_pyside6_is_the_pinned_release() -> None:
    # 6.12.0 aborts under Python 3.11 while streaming video (see pyproject.toml).
    assert md.version("PySide6-Essentials") == "6.11.3"


def test_opencv_is_the_headless_build_and_leaves_qt_alone() -> None:
    installed = {d.metadata["Name"].lower() for d in md.distributions()}
    assert "opencv-python-headless" in installed
    assert "opencv-python" not in installed, "the GUI build of OpenCV bundles Qt 5; see docs/decisions"
    probe = "import os, cv2; print(sorted(k for k in os.environ if k.startswith('QT_QPA_PLATFORM_PLUGIN')))"
    env = {k: v for k, v in os.environ.items() if not k.startswith("QT_QPA_PLATFORM_PLUGIN")}
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
