"""Benchmark: the scanner driver beside ``scanimage`` + img2pdf, same pages, same run, same machine.

    .venv/bin/python bench/bench_scanner.py [--runs 7]

Figures (medians of ``--runs`` runs, seconds):
  A4 300 dpi colour, flatbed:  scan started → preview ready to show;  → PDF ready
  10-page feeder stack, A4 300 dpi colour:  scan started → PDF ready
and the PDF sizes. The pages come from SANE's ``test`` backend in a private configuration (never the
machine's own): the "Grid" picture, black on white with sharp edges, compresses like a printed page.

Reference, the standard route an integrator would script:
  preview: ``scanimage --format=pnm`` to a pipe, decoded by Pillow and reduced to the same preview size;
  PDF:     ``scanimage --format=jpeg`` (flatbed, to a pipe) or ``scanimage --batch --format=jpeg``
           (feeder, into a scratch directory) and ``img2pdf`` over the JPEGs.
scanimage is always bounded by ``timeout`` and writes to a pipe or a scratch directory (never -o /dev/null).
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from drivers.scanner import PagePreview, ScanEvent, Scanner, ScannerGone
from drivers.scanpage import make_preview
from etapiste.config.point import ScannerConfig


def private_sane(root: Path, picture: str) -> Path:
    cfg = root / f"sane-{picture.replace(' ', '-')}"
    cfg.mkdir()
    (cfg / "dll.conf").write_text("test\n")
    (cfg / "test.conf").write_text(f'number_of_devices 2\ngeometry_max 300.0\ntest-picture "{picture}"\n')
    return cfg


REFERENCE_HANGS = [0]
"""How often scanimage hung (killed by ``timeout``, then retried): the test backend can deadlock when a
page's reader thread is cancelled — the hazard the driver's worker process and watchdog exist for."""
DRIVER_HANGS = [0]
"""The same for the driver: its watchdog (30 s here) kills a silent worker; the run is retried."""


def retried(fn: Callable[[], tuple[float, ...]]) -> Callable[[], tuple[float, ...]]:
    def run() -> tuple[float, ...]:
        for _ in range(3):
            try:
                return fn()
            except ScannerGone:
                DRIVER_HANGS[0] += 1
        raise RuntimeError("the driver's worker hung three times in a row")

    return run


def run_scanimage(argv: list[str], before: Callable[[], None] = lambda: None) -> tuple[bytes, float]:
    """scanimage's output and the seconds its successful attempt took (a hung attempt is retried)."""
    for _ in range(3):
        before()
        start = time.perf_counter()
        done = subprocess.run(["timeout", "30", "scanimage", "-d", "test:0", "--mode", "Color", "--resolution",
                               "300", "-x", "210", "-y", "297", *argv], capture_output=True, check=False)
        took = time.perf_counter() - start
        if done.returncode != 124:
            done.check_returncode()
            return done.stdout, took
        REFERENCE_HANGS[0] += 1
    raise RuntimeError("scanimage hung three times in a row")


# ------------------------------------------------------------------------------------------- driver
def driver_flatbed(prepared: bool = False) -> tuple[float, float, int]:
    scanner = Scanner(ScannerConfig(device="test:0", source="Flatbed", resolution=300, mode="Color"),
                      answer_timeout_s=30)
    if prepared:  # the kiosk starts the worker when the scan view opens, while the paper is placed
        scanner.prepare()
        time.sleep(0.5)
    preview_at: list[float] = []
    shown = threading.Event()

    def listener(event: ScanEvent) -> None:
        if isinstance(event, PagePreview) and not shown.is_set():
            preview_at.append(time.perf_counter())
            shown.set()

    start = time.perf_counter()
    job = scanner.scan(listener)
    pdf = job.result(120).pdf()
    done = time.perf_counter()
    scanner.end_session()
    return preview_at[0] - start, done - start, len(pdf)


def driver_stack(prepared: bool = False) -> tuple[float, int]:
    scanner = Scanner(ScannerConfig(device="test:0", source="ADF", resolution=300, mode="Color"),
                      answer_timeout_s=30)
    if prepared:
        scanner.prepare()
        time.sleep(0.5)
    start = time.perf_counter()
    result = scanner.scan().result(300)
    pdf = result.pdf(skip=result.blank_pages())
    done = time.perf_counter()
    assert len(result.pages) == 10
    scanner.end_session()
    return done - start, len(pdf)


# ------------------------------------------------------------------------------------------- reference
def reference_flatbed() -> tuple[float, float, int]:
    import img2pdf

    pnm, scan_s = run_scanimage(["--format=pnm", "--source", "Flatbed"])
    start = time.perf_counter()
    make_preview(Image.open(io.BytesIO(pnm)))
    preview = scan_s + time.perf_counter() - start
    jpeg, scan_s = run_scanimage(["--format=jpeg", "--source", "Flatbed"])
    start = time.perf_counter()
    pdf = img2pdf.convert(jpeg)
    return preview, scan_s + time.perf_counter() - start, len(pdf)


def reference_stack() -> tuple[float, int]:
    import img2pdf

    scratch = Path(tempfile.mkdtemp(prefix="bench-scanimage-"))

    def empty_scratch() -> None:
        for old in scratch.iterdir():
            old.unlink()

    try:
        _, scan_s = run_scanimage(["--source", "Automatic Document Feeder", "--format=jpeg",
                                   f"--batch={scratch}/p%d.jpg"], before=empty_scratch)
        start = time.perf_counter()
        files = sorted(scratch.glob("p*.jpg"), key=lambda p: int(p.stem[1:]))
        pdf = img2pdf.convert([str(f) for f in files])
        took = scan_s + time.perf_counter() - start
        assert len(files) == 10, files
        return took, len(pdf)
    finally:
        shutil.rmtree(scratch)


# ------------------------------------------------------------------------------------------- compression
def printed_page() -> Image.Image:
    """A dense A4 page at 300 dpi as a scanner sees a printout: small text, a colour logo and stamp,
    slight blur and sensor noise (the test backend's pictures are either trivial or pathological)."""
    import random

    import numpy
    from PIL import ImageDraw, ImageFilter, ImageFont

    fonts = "/usr/share/fonts/truetype/dejavu/"
    page = Image.new("RGB", (2480, 3508), (250, 248, 240))
    draw = ImageDraw.Draw(page)
    text = ImageFont.truetype(fonts + "DejaVuSans.ttf", 35)  # 35 px at 300 dpi ≈ 8.4 pt
    bold = ImageFont.truetype(fonts + "DejaVuSans-Bold.ttf", 60)
    draw.ellipse((180, 150, 420, 390), fill=(0, 90, 170))
    draw.text((460, 200), "Kansaneläkelaitos — Hakemus", font=bold, fill=(0, 40, 90))
    words = ["asiakas", "hakemus", "päätös", "etuus", "tulot", "asumistuki", "liite", "sivu", "päivämäärä",
             "allekirjoitus", "osoite"]
    rnd = random.Random(1)
    for y in range(500, 3100, 52):
        draw.text((180, y), " ".join(rnd.choice(words) for _ in range(12)), font=text, fill=(20, 20, 20))
    draw.ellipse((1700, 2800, 2200, 3300), outline=(180, 30, 30), width=12)
    draw.text((1780, 3020), "SAAPUNUT", font=bold, fill=(180, 30, 30))
    pixels = numpy.asarray(page.filter(ImageFilter.GaussianBlur(0.7))).astype(numpy.int16)
    noisy = pixels + numpy.random.default_rng(1).normal(0, 3, pixels.shape)
    return Image.fromarray(numpy.clip(noisy, 0, 255).astype(numpy.uint8))


def compression_table(runs: int) -> None:
    import numpy

    from drivers.scanpage import JPEG_LADDER, encode_page

    page = printed_page()
    original = numpy.asarray(page).astype(numpy.float64)
    print("\ncompression of a dense printed A4 page at 300 dpi (text, logo, stamp, scanner noise)")
    print(f"{'JPEG 4:2:0 quality':22}{'kB':>8}{'PSNR dB':>10}{'encode ms':>11}")
    for quality in (90, 80, 70, 60):
        times = []
        for _ in range(max(3, runs // 2)):
            out = io.BytesIO()
            start = time.perf_counter()
            page.save(out, "JPEG", quality=quality, subsampling="4:2:0")
            times.append(time.perf_counter() - start)
        back = numpy.asarray(Image.open(io.BytesIO(out.getvalue()))).astype(numpy.float64)
        psnr = 10 * numpy.log10(255**2 / numpy.mean((original - back) ** 2))
        print(f"{quality:<22}{out.tell() / 1000:8.0f}{psnr:10.1f}{statistics.median(times) * 1000:11.0f}")
    fmt, data = encode_page(page, "Color", 300)
    print(f"driver's choice (ladder {'/'.join(map(str, JPEG_LADDER))} under 1 MB): {len(data) / 1000:.0f} kB {fmt}")


def medians(runs: int, *fns: Callable[[], tuple[float, ...]]) -> list[list[float]]:
    """Each function's figures as medians; the functions take turns in every round, so the load of a
    shared machine falls on the driver and the reference alike."""
    for fn in fns:
        fn()  # warm-up: page cache, imports
    samples: list[list[tuple[float, ...]]] = [[] for _ in fns]
    for _ in range(runs):
        for i, fn in enumerate(fns):
            samples[i].append(fn())
    return [[statistics.median(s[k] for s in per_fn) for k in range(len(per_fn[0]))] for per_fn in samples]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    for program in ("scanimage", "timeout"):
        if shutil.which(program) is None:
            print(f"{program} is not installed (apt: sane-utils / coreutils)", file=sys.stderr)
            return 2
    root = Path(tempfile.mkdtemp(prefix="bench-scanner-"))
    try:
        print(f"scanner benchmark: medians of {args.runs} runs, {os.cpu_count()} CPU(s), SANE test backend")
        for picture in ("Grid", "Color pattern"):
            os.environ["SANE_CONFIG_DIR"] = str(private_sane(root, picture))
            (d_prev, d_pdf, d_size), (w_prev, w_pdf, _), (r_prev, r_pdf, r_size) = medians(
                args.runs, retried(driver_flatbed), retried(lambda: driver_flatbed(prepared=True)),
                reference_flatbed)
            (d_stack, d_stack_size), (w_stack, _), (r_stack, r_stack_size) = medians(
                max(3, args.runs // 2), retried(driver_stack), retried(lambda: driver_stack(prepared=True)),
                reference_stack)
            print(f"\npages: test picture \"{picture}\"")
            print(f"{'':42}{'etapiste':>10}{'prepared':>10}{'scanimage+img2pdf':>19}")
            print(f"{'A4 300 dpi colour: preview ready (s)':42}{d_prev:10.3f}{w_prev:10.3f}{r_prev:19.3f}")
            print(f"{'A4 300 dpi colour: PDF ready (s)':42}{d_pdf:10.3f}{w_pdf:10.3f}{r_pdf:19.3f}")
            print(f"{'A4 300 dpi colour: PDF size (kB)':42}{d_size / 1000:10.0f}{'':10}{r_size / 1000:19.0f}")
            print(f"{'10-page feeder stack: PDF ready (s)':42}{d_stack:10.3f}{w_stack:10.3f}{r_stack:19.3f}")
            print(f"{'10-page feeder stack: PDF size (kB/page)':42}{d_stack_size / 10000:10.0f}{'':10}"
                  f"{r_stack_size / 10000:19.0f}")
        print(f"\nhangs (killed after 30 s and retried; not in the medians): driver {DRIVER_HANGS[0]}, "
              f"scanimage {REFERENCE_HANGS[0]}")
        compression_table(args.runs)
    finally:
        shutil.rmtree(root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
