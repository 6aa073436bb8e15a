"""Harness plugin: a private cupsd per test run, with queues the tests create and read back.

The instance lives in its own directory, linked from where it was asked for (the run directory; see
:meth:`PrivateCupsd.__post_init__` for why):
ServerRoot, spool, state, cache, logs, and a private ServerBin whose ``backend`` folder holds only
our fault-injection backend. It listens on
127.0.0.1:<free port> and a unix socket, and keeps no job files or job history — the settings the
product itself requires (see docs/printer.md). Clients reach it through ``CUPS_SERVER`` (the
``cupsd.env`` mapping) or by passing ``cupsd.socket`` as the server.

Queues are made by helpers with a fresh name each time, so every test starts from a clean queue
state (a stopped queue's reasons stick in CUPS until cleared, so sharing queues would leak faults
between tests):

* :meth:`PrivateCupsd.add_file_queue` — ``file://`` output that :func:`output_pages` reads back;
* :meth:`PrivateCupsd.add_fault_queue` — the ``etapiste-fault`` backend, driven through a control
  file: ``ok`` prints (and clears injected reasons), ``media-empty`` / ``media-jam`` / ``door-open``
  report that reason and exit 4 (CUPS stops the queue and keeps the job), ``toner-low`` prints with a
  warning, ``offline`` reports ``offline-report`` and keeps retrying (like the ipp backend when the
  printer does not answer), ``exit:N`` fails with exit code N, ``hang`` keeps the job processing.

Never run ``lpinfo -v`` against it (that starts network discovery backends), and never touch the
machine's own CUPS service.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import itertools
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.harness.common import Service, free_port, require_program, wait_until

#: The cups-filters PPD that turns any input into PDF (wrapped in PJL): output we can count pages in.
GENERIC_PDF_PPD = Path("/usr/share/ppd/cupsfilters/Generic-PDF_Printer-PDF.ppd")
SYSTEM_SERVERBIN = Path("/usr/lib/cups")
FAULT_SCHEME = "etapiste-fault"

#: The fault backend. It runs as root because its mode is 0700 (CUPS runs such backends as root),
#: so it can read its control file under the run directory. Discovery (no arguments) lists nothing
#: useful on purpose, so a stray device scan stays harmless.
FAULT_BACKEND = r"""#!/bin/sh
# etapiste fault-injection backend for tests: behaviour comes from the control file in DEVICE_URI.
if [ $# -eq 0 ]; then
  echo 'direct etapiste-fault "Unknown" "etapiste fault injector (tests only)"'
  exit 0
fi
ctl="${DEVICE_URI#etapiste-fault://}"
mode=$(head -n1 "$ctl" 2>/dev/null)
if [ $# -ge 6 ]; then exec < "$6"; fi
case "$mode" in
  media-empty|media-jam|door-open)
    echo "STATE: +${mode}-error" >&2
    echo "ERROR: injected ${mode}" >&2
    cat > /dev/null
    exit 4 ;;
  toner-low)
    echo "STATE: +toner-low-warning" >&2
    cat > "$ctl.out"
    exit 0 ;;
  exit:*)
    echo "ERROR: injected exit ${mode#exit:}" >&2
    cat > /dev/null
    exit "${mode#exit:}" ;;
  offline)
    echo "STATE: +offline-report" >&2
    echo "INFO: printer not answering, retrying" >&2
    sleep 120
    exit 0 ;;
  hang)
    echo "INFO: hanging on purpose" >&2
    sleep 120
    exit 0 ;;
  *)
    echo "STATE: -media-empty-error,media-jam-error,door-open-error,toner-low-warning,offline-report" >&2
    cat > "$ctl.out"
    exit 0 ;;
esac
"""

_CUPSD_CONF = """\
# Private cupsd for the etapiste tests. Same privacy settings as the product's (docs/printer.md).
LogLevel info
PageLogFormat ""
Listen 127.0.0.1:{port}
Listen {socket}
Browsing No
BrowseLocalProtocols none
WebInterface No
DefaultShared No
PreserveJobFiles {keep}
PreserveJobHistory {keep}
MaxJobTime 0
DefaultAuthType Basic
<Location />
  Order allow,deny
  Allow 127.0.0.1
  Allow localhost
</Location>
<Policy default>
  JobPrivateAccess default
  JobPrivateValues default
  SubscriptionPrivateAccess default
  SubscriptionPrivateValues default
  <Limit All>
    Order deny,allow
  </Limit>
</Policy>
"""

_CUPS_FILES_CONF = """\
ServerRoot {root}
RequestRoot {root}/spool
TempDir {root}/spool/tmp
StateDir {root}/state
CacheDir {root}/cache
ServerBin {root}/serverbin
DataDir /usr/share/cups
AccessLog {root}/log/access_log
ErrorLog {root}/log/error_log
PageLog {root}/log/page_log
FileDevice Yes
Printcap {root}/printcap
"""

_names = itertools.count(1)


#: Real directories made by :class:`PrivateCupsd`, removed at exit if no fixture removed them first.
_made: list[Path] = []


@atexit.register
def _remove_made() -> None:
    for path in _made:
        shutil.rmtree(path, ignore_errors=True)


def _fresh_name(prefix: str) -> str:
    return f"{prefix}{os.getpid()}x{next(_names)}"


@dataclass
class FileQueue:
    """A queue printing to a file the test reads back."""

    name: str
    output: Path


@dataclass
class FaultQueue:
    """A queue behind the fault backend; ``set(mode)`` decides what the next job meets."""

    name: str
    control: Path

    def set(self, mode: str) -> None:
        self.control.write_text(mode + "\n")

    @property
    def output(self) -> Path:
        return Path(str(self.control) + ".out")


@dataclass
class PrivateCupsd:
    """One private cupsd: its directories, its addresses and the process."""

    root: Path
    port: int = field(default_factory=free_port)
    keep_history: bool = False
    """Debian's defaults (keep job files and history) instead of the point's settings: for proving
    that the driver's own purge leaves nothing even on a cupsd configured carelessly."""
    service: Service | None = field(default=None, init=False)
    link: Path | None = field(default=None, init=False)
    """Where the caller asked for the instance (e.g. under the run dir): a symlink to :attr:`root`."""

    def __post_init__(self) -> None:
        """Move the instance to ``/tmp/etapiste-cupsd-*`` (mode 0711) and leave a symlink behind.

        CUPS runs its filters as user ``lp`` (it refuses ``User root``) and they open the spooled job,
        the queue's PPD and ServerBin by path; pytest keeps its base temp dir at 0700 and resets it at
        the start of every session, so an instance inside the run dir could not print, and no
        permission given there would survive a concurrent pytest session.
        """
        asked = Path(self.root)
        if asked.is_symlink():  # the same place again (e.g. a restart by a new object)
            self.root = asked.resolve()
            return
        if asked.is_dir() and any(asked.iterdir()):
            self.root = asked  # a populated directory the caller manages
            return
        real = Path(tempfile.mkdtemp(prefix="etapiste-cupsd-"))
        real.chmod(0o711)
        _made.append(real)
        asked.parent.mkdir(parents=True, exist_ok=True)
        if asked.is_dir():
            asked.rmdir()
        asked.symlink_to(real)
        self.root, self.link = real, asked

    def remove(self) -> None:
        """Stop and delete the instance's files (the run dir keeps only a dangling link)."""
        self.stop()
        if self.root in _made:
            shutil.rmtree(self.root, ignore_errors=True)

    @property
    def socket(self) -> str:
        return str(self.root / "cups.sock")

    @property
    def spool(self) -> Path:
        return self.root / "spool"

    @property
    def env(self) -> dict[str, str]:
        """Environment for client programs (lp, lpstat, the CLI) talking to this instance."""
        env = dict(os.environ)
        env["CUPS_SERVER"] = self.socket
        return env

    def prepare(self) -> None:
        require_program("cupsd")
        if not GENERIC_PDF_PPD.exists():
            pytest.fail(f"{GENERIC_PDF_PPD} is missing; install cups-filters (scripts/setup.sh does)")
        for sub in ("spool/tmp", "state", "cache", "log", "out", "ctl", "serverbin/backend"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        # A private ServerBin: the system's filters and helper daemons, but only our own backend
        # (so no discovery backend can ever run from this instance).
        for sub in ("cgi-bin", "daemon", "driver", "filter", "monitor", "notifier"):
            link = self.root / "serverbin" / sub
            if not link.exists():
                link.symlink_to(SYSTEM_SERVERBIN / sub)
        backend = self.root / "serverbin" / "backend" / FAULT_SCHEME
        backend.write_text(FAULT_BACKEND)
        backend.chmod(0o700)
        (self.root / "cupsd.conf").write_text(
            _CUPSD_CONF.format(
                root=self.root, port=self.port, socket=self.socket, keep="Yes" if self.keep_history else "No"
            )
        )
        (self.root / "cups-files.conf").write_text(_CUPS_FILES_CONF.format(root=self.root))

    def start(self) -> PrivateCupsd:
        self.prepare()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket)
        self.service = Service(
            "cupsd",
            ["cupsd", "-f", "-c", str(self.root / "cupsd.conf"), "-s", str(self.root / "cups-files.conf")],
            self.root / "log" / "cupsd.out",
        ).start()
        try:
            wait_until(lambda: self._answers() or not self.running(), 10, "cupsd")
        except TimeoutError:
            self.stop()
            raise
        if not self.running():
            raise RuntimeError(f"cupsd exited at start:\n{self.error_log()[-3000:]}")
        return self

    def _answers(self) -> bool:
        import cups

        cups.Connection(host=self.socket).getPrinters()
        return True

    def running(self) -> bool:
        return self.service is not None and self.service.running()

    def stop(self) -> None:
        if self.service is not None:
            self.service.stop()
            self.service = None

    def error_log(self) -> str:
        path = self.root / "log" / "error_log"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- queues ---------------------------------------------------------------------------------

    def connection(self) -> Any:
        """A pycups connection to this instance (pycups ships no type information)."""
        import cups

        return cups.Connection(host=self.socket)

    def _add_queue(self, name: str, device: str, error_policy: str) -> None:
        conn = self.connection()
        conn.addPrinter(name, filename=str(GENERIC_PDF_PPD), device=device, info="etapiste test queue")
        conn.addPrinterOptionDefault(name, "PageSize", "A4")
        conn.setPrinterErrorPolicy(name, error_policy)
        conn.enablePrinter(name)
        conn.acceptJobs(name)

    def add_file_queue(self, name: str | None = None) -> FileQueue:
        name = name or _fresh_name("file")
        output = self.root / "out" / f"{name}.prn"
        self._add_queue(name, f"file://{output}", "abort-job")
        return FileQueue(name, output)

    def add_fault_queue(self, mode: str = "ok", name: str | None = None, error_policy: str = "abort-job") -> FaultQueue:
        name = name or _fresh_name("fault")
        queue = FaultQueue(name, self.root / "ctl" / name)
        queue.set(mode)
        self._add_queue(name, f"{FAULT_SCHEME}://{queue.control}", error_policy)
        return queue

    # -- what the privacy tests look at ---------------------------------------------------------

    def spool_files(self) -> list[Path]:
        """Every file in the spool (job data ``d*``, job control/history ``c*``, temp files)."""
        return sorted(p for p in self.spool.rglob("*") if p.is_file())

    def job_ids(self) -> list[int]:
        """Every job cupsd still knows: pending, processing, and completed-job history."""
        return sorted(self.connection().getJobs(which_jobs="all", my_jobs=False))

    def lpstat_all(self) -> str:
        """``lpstat -W all -o``: the job list as an administrator would read it."""
        require_program("lpstat")
        done = subprocess.run(["lpstat", "-W", "all", "-o"], env=self.env, capture_output=True, text=True, timeout=10)
        return done.stdout


def output_pdf_bytes(path: Path) -> bytes:
    """The PDF inside a file queue's output (the Generic PDF driver wraps it in PJL)."""
    data = path.read_bytes()
    start = data.find(b"%PDF-")
    end = data.rfind(b"%%EOF")
    if start < 0 or end < 0:
        raise AssertionError(f"{path} holds no PDF ({len(data)} bytes)")
    return data[start : end + len(b"%%EOF")] + b"\n"


def output_pages(path: Path) -> int:
    """How many pages came out of a file queue."""
    import pikepdf

    with pikepdf.open(io.BytesIO(output_pdf_bytes(path))) as pdf:
        return len(pdf.pages)


def output_text(path: Path) -> str:
    """The text on the printed pages (poppler's pdftotext), to check what a reader would see."""
    pdftotext = require_program("pdftotext")
    done = subprocess.run(
        [pdftotext, "-layout", "-", "-"], input=output_pdf_bytes(path), capture_output=True, timeout=30
    )
    return done.stdout.decode("utf-8", "replace")


def make_pdf(pages: int = 1, text: str = "etapiste test document") -> bytes:
    """A small valid PDF with ``pages`` A4 pages, each carrying a line of text."""
    import pikepdf

    pdf = pikepdf.new()
    font = pdf.make_indirect(
        pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica)
    )
    for n in range(1, pages + 1):
        safe = re.sub(r"[()\\]", "", f"{text} - page {n}")
        content = pdf.make_stream(f"BT /F1 14 Tf 72 770 Td ({safe}) Tj ET".encode("latin-1", "replace"))
        page = pikepdf.Dictionary(
            Type=pikepdf.Name.Page,
            MediaBox=[0, 0, 595, 842],
            Contents=content,
            Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)),
        )
        pdf.pages.append(pikepdf.Page(page))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


@pytest.fixture(scope="session")
def cupsd(run_dir: Path) -> Iterator[PrivateCupsd]:
    """The run's private cupsd (shared; make a fresh queue per test with the ``add_*`` helpers)."""
    instance = PrivateCupsd(run_dir / "cups")
    try:
        yield instance.start()
    finally:
        instance.remove()


@pytest.fixture
def own_cupsd(run_dir: Path, request: pytest.FixtureRequest) -> Iterator[PrivateCupsd]:
    """A private cupsd for one test alone — for tests that stop or restart it. Mark the test
    ``@pytest.mark.cupsd_keeps_history`` for one with Debian's keep-everything defaults."""
    name = f"cups-{re.sub(r'[^A-Za-z0-9]+', '-', request.node.name)[:60]}"
    marker = request.node.get_closest_marker("cupsd_keeps_history")
    instance = PrivateCupsd(run_dir / name, keep_history=marker is not None)
    try:
        yield instance.start()
    finally:
        instance.remove()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "cupsd_keeps_history: own_cupsd keeps job files and history (Debian's defaults)")
