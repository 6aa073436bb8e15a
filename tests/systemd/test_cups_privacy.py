"""The installer's CUPS privacy step on a real cupsd: a private instance (simulation/services/cups.py) starts
from Debian's keep-everything settings, the installer rewrites its cupsd.conf in a throwaway point root,
and after a customer's printout the spool holds no file and cupsd remembers no job."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from simulation.documents import pdf_with_text
from simulation.services.cups import PrivateCupsd, output_pages
from tests.systemd.conftest import make_fresh_root, run_installer


@dataclass
class InstalledCupsd(PrivateCupsd):
    """A private cupsd whose cupsd.conf went through systemd/install-point.sh (unless ``install`` is off)."""

    install: bool = True

    def prepare(self) -> None:
        super().prepare()  # writes Debian's keep-everything settings (keep_history=True)
        if not self.install:
            return
        point = make_fresh_root()
        try:
            shutil.copyfile(self.root / "cupsd.conf", point / "etc/cups/cupsd.conf")
            result = run_installer(point)
            assert result.returncode == 0, result.stderr
            shutil.copyfile(point / "etc/cups/cupsd.conf", self.root / "cupsd.conf")
        finally:
            shutil.rmtree(point)


def print_a_letter(cupsd: PrivateCupsd) -> None:
    queue = cupsd.add_file_queue()
    conn = cupsd.connection()
    conn.printFile(queue.name, _letter(cupsd.root), "Hakemus - Matti Meikäläinen", {})
    # Fails with what cupsd logged about the job if it never comes out.
    [letter] = queue.wait_for_jobs(1, timeout=60)
    assert output_pages(letter) == 2, "the letter was printed"


def _letter(directory: Path) -> str:
    path = directory / "letter.pdf"
    path.write_bytes(pdf_with_text(2, "Matti Meikalainen, hetu 010101-123N"))
    return str(path)


@pytest.mark.parametrize("installed", [True, False], ids=["installed-point", "debian-defaults"])
def test_after_a_printout_cupsd_keeps_no_job_file_and_no_history(run_dir: Path, installed: bool) -> None:
    cupsd = InstalledCupsd(run_dir / f"cups-point-{installed}", keep_history=True, install=installed)
    cupsd.start()
    try:
        print_a_letter(cupsd)
        left = (cupsd.spool_files(), cupsd.job_ids())
    finally:
        cupsd.stop()
    if installed:
        assert left == ([], []), "nothing of the customer's printout may stay in CUPS"
    else:
        # The control: Debian's defaults keep the document and the job, which is why the installer exists.
        assert left[0] and left[1]
