"""Printing speed: PDF received → job accepted by CUPS, and → job completed, for 1- and 10-page PDFs.

Run: ``.venv/bin/python bench/bench_printer.py [--runs N]``

It starts a private cupsd (the test harness's, under a temporary directory, loopback and a unix
socket only) with a file queue using the Generic PDF driver, and measures on the same queue in the
same run. The queue's device is the harness's ``etapiste-file`` backend (each job to its own file),
not CUPS's ``file://`` device: Debian's CUPS security update (2.4.2-3+deb12u10) no longer creates a
``file:`` output, so every job on such a queue is stopped by cupsd. Figures taken before that went
through ``file://`` (cupsd wrote the file itself; now a small shell backend runs per job, for the
driver and the peer alike), so compare new figures with each other, not with those.

* **driver** — :meth:`drivers.printer.Printer.print_pdf` from the PDF bytes in memory: the PDF gate
  (pikepdf), the queue's state, a notification subscription, Create-Job + Send-Document, then
  following the job by notifications until CUPS reports it completed, and the purge.
* **lp (reference peer)** — the ``lp`` command on a PDF already on disk (accepted = ``lp`` returned),
  then completion seen by polling the job list over IPP every 5 ms — the tightest a plain client can
  observe a cupsd that keeps no history.
* **gate** — :func:`drivers.pdfcheck.check_pdf` alone, the driver's own overhead before CUPS.

Figures are medians (and 90th percentiles) of ``--runs`` repetitions after one warm-up each.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from drivers.pdfcheck import check_pdf
from drivers.printer import Printer, PrintEvent
from etapiste.config.point import PrinterConfig
from simulation.documents import pdf_with_text
from simulation.services.cups import PrivateCupsd, output_pages


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _fmt(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:7.1f} ms (p90 {_pct(values, 0.9) * 1000:6.1f})"


def driver_once(printer: Printer, data: bytes) -> tuple[float, float]:
    marks: dict[str, float] = {}

    def mark(event: PrintEvent) -> None:
        marks.setdefault(event.kind, time.perf_counter())

    t0 = time.perf_counter()
    printer.print_pdf(data, listener=mark)
    return marks["accepted"] - t0, time.perf_counter() - t0


def lp_once(cupsd: PrivateCupsd, conn: object, queue: str, path: Path) -> tuple[float, float]:
    lp = shutil.which("lp") or "/usr/bin/lp"
    t0 = time.perf_counter()
    subprocess.run([lp, "-d", queue, "-t", "bench", str(path)], env=cupsd.env, check=True, capture_output=True)
    t1 = time.perf_counter()
    while conn.getJobs(which_jobs="not-completed"):  # type: ignore[attr-defined]
        time.sleep(0.005)
    return t1 - t0, time.perf_counter() - t0


def bench_pair(
    cupsd: PrivateCupsd, printer: Printer, queue: str, data: bytes, path: Path, runs: int
) -> dict[str, list[float]]:
    """Driver and peer alternate run by run, so load from elsewhere on the machine hits both alike."""
    conn = cupsd.connection()
    out: dict[str, list[float]] = {"d_acc": [], "d_done": [], "l_acc": [], "l_done": []}
    for i in range(runs + 1):
        d = driver_once(printer, data)
        ref = lp_once(cupsd, conn, queue, path)
        if i:  # the first pair warms caches
            out["d_acc"].append(d[0])
            out["d_done"].append(d[1])
            out["l_acc"].append(ref[0])
            out["l_done"].append(ref[1])
    return out


def bench_gate(data: bytes, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        check_pdf(data, max_pages=30, max_bytes=20_000_000)
        times.append(time.perf_counter() - t0)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="etapiste-bench-printer-"))
    cupsd = PrivateCupsd(root / "cups").start()
    try:
        queue = cupsd.add_file_queue()
        printer = Printer(PrinterConfig(queue=queue.name), server=cupsd.socket)
        print(f"private cupsd {root}, file queue {queue.name}, {args.runs} runs each (medians)\n")
        print(f"{'pages':>5}  {'what':<22} {'PDF → accepted':<30} {'PDF → completed':<30}")
        for pages in (1, 10):
            data = pdf_with_text(pages)
            path = root / f"doc{pages}.pdf"
            path.write_bytes(data)
            r = bench_pair(cupsd, printer, queue.name, data, path, args.runs)
            # Every job of the round, the driver's and lp's, came out whole.
            assert {output_pages(job) for job in queue.jobs()[-2 * (args.runs + 1) :]} == {pages}
            d_acc, d_done, l_acc, l_done = r["d_acc"], r["d_done"], r["l_acc"], r["l_done"]
            gate = bench_gate(data, args.runs)
            print(f"{pages:>5}  {'driver (print_pdf)':<22} {_fmt(d_acc):<30} {_fmt(d_done):<30}")
            print(f"{pages:>5}  {'lp + IPP poll (peer)':<22} {_fmt(l_acc):<30} {_fmt(l_done):<30}")
            print(f"{pages:>5}  {'PDF gate alone':<22} {_fmt(gate):<30}")
        return 0
    finally:
        cupsd.remove()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
