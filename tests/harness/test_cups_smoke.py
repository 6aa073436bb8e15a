"""The private cupsd prints a PDF to a file queue and the pages come back out."""

from __future__ import annotations

import subprocess

from tests.harness.common import require_program, wait_until
from tests.harness.cups import PrivateCupsd, make_pdf, output_pages


def test_pdf_printed_with_lp_comes_out_of_the_file_queue_with_every_page(cupsd: PrivateCupsd, tmp_path) -> None:
    queue = cupsd.add_file_queue()
    doc = tmp_path / "three.pdf"
    doc.write_bytes(make_pdf(3))

    done = subprocess.run(
        [require_program("lp"), "-d", queue.name, "-t", "smoke", str(doc)],
        env=cupsd.env,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert done.returncode == 0, done.stderr
    assert "request id is" in done.stdout

    wait_until(lambda: not cupsd.job_ids() and queue.output.exists(), 20, "the job to finish")
    assert output_pages(queue.output) == 3
    # The instance keeps nothing once the job is done: no spooled file, no history.
    assert cupsd.spool_files() == []
    assert cupsd.lpstat_all().strip() == ""
