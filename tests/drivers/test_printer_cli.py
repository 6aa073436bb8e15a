"""``etapiste printer`` as staff and ops use it, against the private cupsd."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from drivers.printer_cli import main
from simulation.documents import pdf_with_text
from simulation.services.cups import PrivateCupsd, output_pages, output_text
from tests.drivers.test_printer import wait_for_cups_to_stop_the_queue


@pytest.fixture
def on_cupsd(cupsd: PrivateCupsd, monkeypatch: pytest.MonkeyPatch) -> PrivateCupsd:
    monkeypatch.setenv("CUPS_SERVER", cupsd.socket)
    monkeypatch.delenv("ETAPISTE_CONFIG", raising=False)
    return cupsd


def test_status_json_from_the_installed_command_describes_a_ready_queue(cupsd: PrivateCupsd) -> None:
    queue = cupsd.add_file_queue()
    done = subprocess.run(
        [str(Path(sys.executable).parent / "etapiste"), "printer", "--queue", queue.name, "status", "--json"],
        env=cupsd.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert status["queue"] == queue.name
    assert status["state"] == "idle" and status["ready"] is True
    assert status["customer"] == {"fi": None, "sv": None, "en": None}


def test_status_of_a_printer_out_of_paper_exits_1_and_speaks_the_staffs_language(
    on_cupsd: PrivateCupsd, capsys: pytest.CaptureFixture[str]
) -> None:
    from drivers.printer import OutOfPaper, Printer
    from etapiste.config.point import PrinterConfig

    queue = on_cupsd.add_fault_queue("media-empty")
    printer = Printer(PrinterConfig(queue=queue.name))
    with pytest.raises(OutOfPaper):
        printer.print_pdf(
            pdf_with_text(1), listener=wait_for_cups_to_stop_the_queue(printer), timeout_s=60, stall_grace_s=0.3
        )

    assert main(["--queue", queue.name, "--lang", "fi", "status"]) == 1
    out = capsys.readouterr().out
    assert "Paperi loppu (media-empty)" in out
    assert "Tulostimesta on loppunut paperi." in out
    assert "Kirjaston henkilökunnalle on ilmoitettu." in out and "{" not in out  # the host's words, filled

    assert main(["--queue", queue.name, "status", "--json"]) == 1
    status = json.loads(capsys.readouterr().out)
    assert status["ready"] is False
    assert (status["conditions"][0]["code"], status["conditions"][0]["keyword"]) == ("out_of_paper", "media-empty")
    assert "media-empty" in status["conditions"][0]["staff"]["sv"]


def test_status_when_cupsd_is_down_says_so(
    own_cupsd: PrivateCupsd, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CUPS_SERVER", own_cupsd.socket)
    own_cupsd.stop()
    assert main(["status", "--json"]) == 1
    status = json.loads(capsys.readouterr().out)
    assert status["state"] == "unreachable"
    assert status["conditions"][0]["code"] == "print_service_down"
    assert status["conditions"][0]["keyword"] == "cupsd-unreachable"


def test_test_page_comes_out_with_the_host_name(on_cupsd: PrivateCupsd, capsys: pytest.CaptureFixture[str]) -> None:
    queue = on_cupsd.add_file_queue()
    assert main(["--queue", queue.name, "test-page"]) == 0
    assert "test page printed" in capsys.readouterr().out
    assert output_pages(queue.output) == 1
    assert socket.gethostname() in output_text(queue.output)
    assert on_cupsd.spool_files() == []


def test_test_page_on_a_paused_queue_exits_1_with_the_reason(
    on_cupsd: PrivateCupsd, capsys: pytest.CaptureFixture[str]
) -> None:
    queue = on_cupsd.add_file_queue()
    on_cupsd.connection().disablePrinter(queue.name)
    assert main(["--queue", queue.name, "test-page", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["printed"] is False and report["reason"] == "paused"
    queue.assert_nothing_printed()


def test_resume_after_a_fault_lets_the_queue_print_again(
    on_cupsd: PrivateCupsd, capsys: pytest.CaptureFixture[str]
) -> None:
    queue = on_cupsd.add_file_queue()
    conn = on_cupsd.connection()
    conn.disablePrinter(queue.name)
    conn.rejectJobs(queue.name)
    assert main(["--queue", queue.name, "resume"]) == 0
    assert "customer sees: (printing available)" in capsys.readouterr().out
    assert main(["--queue", queue.name, "test-page"]) == 0


def test_purge_empties_the_queue(on_cupsd: PrivateCupsd, capsys: pytest.CaptureFixture[str]) -> None:
    queue = on_cupsd.add_file_queue()
    conn = on_cupsd.connection()
    conn.disablePrinter(queue.name)
    doc = on_cupsd.root / "left-behind.pdf"
    doc.write_bytes(pdf_with_text(1))
    conn.printFile(queue.name, str(doc), "left behind", {})
    doc.unlink()
    assert on_cupsd.spool_files()
    assert main(["--queue", queue.name, "purge"]) == 0
    assert "queue purged" in capsys.readouterr().out
    assert on_cupsd.spool_files() == [] and on_cupsd.job_ids() == []


def test_unusable_configuration_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "point.yaml"
    bad.write_text("schema: 1\npoint: {id: X}\n")
    assert main(["--config", str(bad), "status"]) == 2
    assert "configuration cannot be used" in capsys.readouterr().err
