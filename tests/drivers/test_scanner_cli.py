"""``etapiste scanner status`` and ``etapiste scanner test-scan``, run as staff and ops run them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pikepdf

from simulation.services.sane import SaneTestBackend


def etapiste(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "etapiste.cli", "scanner", *args], capture_output=True,
                          text=True, env=dict(os.environ), cwd=cwd, timeout=120, check=False)


def test_status_json_tells_ops_the_scanner_is_ready_and_what_it_can_do(sane_backend: SaneTestBackend) -> None:
    done = etapiste("status", "--json")
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert status["state"] == "ready"
    assert status["device"] == "test:0"  # the sample configuration names no device: the first found
    assert status["sources"] == ["Flatbed", "ADF"]
    assert status["effective"] == {"source": "ADF", "mode": "Color", "resolution": 300}


def test_status_of_a_missing_scanner_exits_nonzero_and_says_what_is_wrong(sane_backend: SaneTestBackend) -> None:
    done = etapiste("status", "--device", "test:9")
    assert done.returncode == 1
    assert "scanner: missing" in done.stdout
    assert "configured device 'test:9' not found" in done.stdout
    assert "devices found: test:0, test:1" in done.stdout


def test_test_scan_writes_the_feeder_stack_as_a_pdf(sane_backend: SaneTestBackend, tmp_path: Path) -> None:
    out = tmp_path / "test.pdf"
    done = etapiste("test-scan", "--out", str(out), "--resolution", "100")
    assert done.returncode == 0, done.stderr
    with pikepdf.open(out) as pdf:
        assert len(pdf.pages) == 10
    summary = json.loads(done.stderr.strip().splitlines()[-1])
    assert summary["pages"] == 10 and summary["source"] == "ADF" and summary["bytes"] == out.stat().st_size


def test_test_scan_of_a_jammed_scanner_exits_nonzero_with_the_staff_message(
    sane_backend: SaneTestBackend, tmp_path: Path
) -> None:
    sane_backend.configure(read_status_code="SANE_STATUS_JAMMED")
    out = tmp_path / "test.pdf"
    done = etapiste("test-scan", "--lang", "fi", "--out", str(out), "--resolution", "100")
    assert done.returncode == 1
    assert "Skannerin syöttölaitteessa on paperitukos." in done.stderr
    assert not out.exists()


def test_an_unusable_configuration_is_a_usage_error(sane_backend: SaneTestBackend, tmp_path: Path) -> None:
    done = etapiste("status", "--config", str(tmp_path / "nope.yaml"))
    assert done.returncode == 2
    assert "unusable configuration" in done.stderr
