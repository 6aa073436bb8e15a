"""The private cupsd prints PDFs to a file queue and each job's pages come back out on their own."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from simulation.documents import pdf_with_text
from simulation.services.common import require_program
from simulation.services.cups import PrivateCupsd, output_pages, output_text


def lp(cupsd: PrivateCupsd, queue: str, doc: Path) -> None:
    """Print ``doc`` with the ``lp`` command, as an admin would."""
    done = subprocess.run(
        [require_program("lp"), "-d", queue, "-t", "smoke", str(doc)],
        env=cupsd.env,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert done.returncode == 0, done.stderr
    assert "request id is" in done.stdout


def test_pdf_printed_with_lp_comes_out_of_the_file_queue_with_every_page(cupsd: PrivateCupsd, tmp_path: Path) -> None:
    queue = cupsd.add_file_queue()
    doc = tmp_path / "three.pdf"
    doc.write_bytes(pdf_with_text(3))

    lp(cupsd, queue.name, doc)

    [job] = queue.wait_for_jobs(1)
    assert output_pages(job) == 3
    assert queue.output == job
    # The instance keeps nothing once the job is done: no spooled file, no history.
    assert cupsd.spool_files() == []
    assert cupsd.lpstat_all().strip() == ""


def test_two_jobs_on_one_queue_are_read_back_separately_in_order(cupsd: PrivateCupsd, tmp_path: Path) -> None:
    queue = cupsd.add_file_queue()
    first, second = tmp_path / "first.pdf", tmp_path / "second.pdf"
    first.write_bytes(pdf_with_text(2, "the first letter"))
    second.write_bytes(pdf_with_text(1, "the second letter"))

    lp(cupsd, queue.name, first)
    queue.wait_for_jobs(1)
    lp(cupsd, queue.name, second)
    jobs = queue.wait_for_jobs(2)

    assert [output_pages(job) for job in jobs] == [2, 1]
    assert "the first letter" in output_text(jobs[0]) and "the second" not in output_text(jobs[0])
    assert "the second letter" in output_text(jobs[1]) and "the first" not in output_text(jobs[1])
    assert queue.output == jobs[1], "output is the newest job"


def test_nothing_printed_is_what_a_fresh_queue_shows(cupsd: PrivateCupsd) -> None:
    queue = cupsd.add_file_queue()
    assert queue.jobs() == []
    assert not queue.output.exists()
    queue.assert_nothing_printed()


def test_waiting_for_output_cupsd_cannot_write_fails_with_what_cupsd_said(cupsd: PrivateCupsd, tmp_path: Path) -> None:
    """A print that never comes out fails the wait with cupsd's own reason, not a bare timeout."""
    queue = cupsd.add_unwritable_file_queue()
    doc = tmp_path / "one.pdf"
    doc.write_bytes(pdf_with_text(1))
    lp(cupsd, queue.name, doc)
    try:
        with pytest.raises(AssertionError) as caught:
            queue.wait_for_jobs(1)
        said = str(caught.value)
        assert "0 of 1 job(s) printed" in said
        assert "Stopping job because the scheduler could not open the output file" in said
    finally:
        cupsd.connection().cancelAllJobs(name=queue.name, my_jobs=False, purge_jobs=True)
