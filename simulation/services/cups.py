"""Harness plugin: a private cupsd per test run, with queues the tests create and read back.

The instance lives in its own directory, linked from where it was asked for (the run directory; see
:meth:`PrivateCupsd.__post_init__` for why):
ServerRoot, spool, state, cache, logs, and a private ServerBin whose ``backend`` folder holds only
our own backends (per-job file output and fault injection). It listens on
127.0.0.1:<free port> and a unix socket, and keeps no job files or job history — the settings the
product itself requires (see docs/printer.md). Clients reach it through ``CUPS_SERVER`` (the
``cupsd.env`` mapping) or by passing ``cupsd.socket`` as the server.

Queues are made by helpers with a fresh name each time, so every test starts from a clean queue
state (a stopped queue's reasons stick in CUPS until cleared, so sharing queues would leak faults
between tests):

* :meth:`PrivateCupsd.add_file_queue` — each job's output in its own file (the ``etapiste-file``
  backend, see :data:`FILE_BACKEND` for why not ``file://``), read back with :meth:`FileQueue.jobs`,
  :attr:`FileQueue.output` (the newest job) and :func:`output_pages`; :meth:`FileQueue.wait_for_jobs`
  fails with what cupsd logged, not with a bare timeout;
* :meth:`PrivateCupsd.add_unwritable_file_queue` — a ``file:`` queue whose output cupsd cannot open,
  so cupsd stops every job itself (before any backend runs); :meth:`PrivateCupsd.add_failing_filter_queue`
  — a queue whose filter fails, which cupsd stops too;
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
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simulation.services.common import Service, ServiceUnavailable, free_port, require_program, wait_until

#: The cups-filters PPD that turns any input into PDF (wrapped in PJL): output we can count pages in.
GENERIC_PDF_PPD = Path("/usr/share/ppd/cupsfilters/Generic-PDF_Printer-PDF.ppd")
SYSTEM_SERVERBIN = Path("/usr/lib/cups")
FAULT_SCHEME = "etapiste-fault"
FILE_SCHEME = "etapiste-file"

#: The test file queue's backend: ``etapiste-file://DIR`` writes job N to ``DIR/job-N.prn``.
#:
#: Why not CUPS's own ``file://`` device: how cupsd opens it is not stable. Debian's security update
#: of CUPS (cups-daemon 2.4.2-3+deb12u10) opens it with ``O_WRONLY|O_EXCL`` and no ``O_CREAT``, so the
#: file must already exist and is not truncated; cupsd stops the job ("Stopping job because the
#: scheduler could not open the output file") and every print waited out the driver's timeout. Even
#: where it worked, all jobs went to one file, so a second job could only be told apart by
#: overwriting the first. This backend does not depend on cupsd's FileDevice semantics at all, keeps
#: each job's bytes apart (named by the job id, argv[1]), and writes to a hidden temporary name then
#: renames, so a reader never sees half a job; like a printer given no bytes, an empty job (its
#: filter failed) leaves no file. It is the last program in the filter chain, so it
#: reads stdin; only for a raw queue (no filters) does cupsd pass the spooled file as argv[6].
#: Mode 0700 makes CUPS run it as root (like the fault backend), so it can write under the run's
#: cupsd directory. Discovery (no arguments) lists nothing useful on purpose.
FILE_BACKEND = r"""#!/bin/sh
# etapiste per-job file backend for tests: job N goes to DIR/job-N.prn, whole or not at all.
if [ $# -eq 0 ]; then
  echo 'direct etapiste-file "Unknown" "etapiste per-job file output (tests only)"'
  exit 0
fi
dir="${DEVICE_URI#etapiste-file://}"
part="$dir/.job-$1.prn.part"
if [ $# -ge 6 ]; then exec < "$6"; fi
if ! cat > "$part"; then
  echo "ERROR: etapiste-file could not write $part" >&2
  rm -f "$part"
  exit 1
fi
if [ ! -s "$part" ]; then
  echo "INFO: etapiste-file: empty job, nothing to print" >&2
  rm -f "$part"
  exit 0
fi
if ! mv -f "$part" "$dir/job-$1.prn"; then
  echo "ERROR: etapiste-file could not rename $part" >&2
  exit 1
fi
exit 0
"""

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


def instance_name(label: str) -> str:
    """A directory name for one more private cupsd, from a readable label (e.g. a test's name), never the
    same twice in this process: a label cut to a readable length can repeat (parametrized tests), and an
    existing link would make the new instance reuse the old one's root."""
    return f"cups-{re.sub(r'[^A-Za-z0-9]+', '-', label)[:40]}-{next(_names)}"


def _fresh_name(prefix: str) -> str:
    return f"{prefix}{os.getpid()}x{next(_names)}"


_JOB_FILE = re.compile(r"job-(\d+)\.prn")
#: IPP job states (RFC 8011): still on its way, and ended without output.
_JOB_ON_ITS_WAY = {3, 4, 5}  # pending, pending-held, processing
_JOB_WENT_WRONG = {6, 7, 8}  # stopped, canceled, aborted


@dataclass
class FileQueue:
    """A queue whose every job lands in its own file under :attr:`directory`, for the test to read back."""

    name: str
    directory: Path
    """Where the ``etapiste-file`` backend writes ``job-<id>.prn`` (made when the queue is)."""
    cupsd: PrivateCupsd = field(repr=False)

    def jobs(self) -> list[Path]:
        """Every job's complete output, oldest first (by cupsd's job id)."""
        if not self.directory.is_dir():
            return []
        found = [(int(m.group(1)), p) for p in self.directory.iterdir() if (m := _JOB_FILE.fullmatch(p.name))]
        return [p for _, p in sorted(found)]

    def job_output(self, job_id: int) -> Path:
        """Where job ``job_id``'s output is (or will be)."""
        return self.directory / f"job-{job_id}.prn"

    @property
    def output(self) -> Path:
        """The newest job's output; a path that does not exist while nothing has been printed."""
        jobs = self.jobs()
        return jobs[-1] if jobs else self.directory / "nothing-printed-yet.prn"

    def wait_for_jobs(self, count: int = 1, timeout: float = 60.0) -> list[Path]:
        """Wait until ``count`` jobs have come out and cupsd has none left on this queue; their outputs.

        When cupsd ends or stops a job of this queue without output, or the time runs out, the test
        fails with what cupsd said about the queue's jobs (its error_log), not with a bare timeout.
        (On a cupsd that keeps job history, a job of this queue cancelled earlier counts too: wait on
        a fresh queue there.)
        """
        deadline = time.monotonic() + timeout
        while True:
            done = self.jobs()
            states = self.cupsd.job_states(self.name)
            if len(done) >= count and not any(s in _JOB_ON_ITS_WAY for s in states.values()):
                return done
            wrong = {j: s for j, s in states.items() if s in _JOB_WENT_WRONG}
            if wrong or time.monotonic() >= deadline:
                why = "cupsd ended or stopped jobs without output" if wrong else f"nothing more within {timeout:g} s"
                raise AssertionError(
                    f"queue {self.name}: {len(done)} of {count} job(s) printed; {why}; cupsd's jobs on the queue "
                    f"(id: IPP state) {states}; cupsd's error_log says:\n{self.cupsd.job_log(states or None)}"
                )
            time.sleep(0.05)

    def assert_nothing_printed(self) -> None:
        """Nothing of a job ever came out of this queue (not even half a job), and cupsd holds no job
        for it: what "the document never reached the printer" means."""
        left = sorted(p.name for p in self.directory.iterdir()) if self.directory.is_dir() else []
        assert left == [], f"queue {self.name} printed {left}"
        states = self.cupsd.job_states(self.name)
        assert states == {}, f"cupsd still holds jobs (id: IPP state) {states} on queue {self.name}"


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
            raise ServiceUnavailable(f"{GENERIC_PDF_PPD} is missing; install cups-filters (scripts/setup.sh does)")
        for sub in ("spool/tmp", "state", "cache", "log", "out", "ctl", "serverbin/backend"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        # A private ServerBin: the system's filters and helper daemons, but only our own backend
        # (so no discovery backend can ever run from this instance).
        for sub in ("cgi-bin", "daemon", "driver", "filter", "monitor", "notifier"):
            link = self.root / "serverbin" / sub
            if not link.exists():
                link.symlink_to(SYSTEM_SERVERBIN / sub)
        for scheme, script in ((FAULT_SCHEME, FAULT_BACKEND), (FILE_SCHEME, FILE_BACKEND)):
            backend = self.root / "serverbin" / "backend" / scheme
            backend.write_text(script)
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

    def job_log(self, job_ids: Iterable[int] | None = None, lines: int = 30) -> str:
        """The last ``lines`` lines of the error_log about jobs (``[Job N]``, "Stopping job"), only
        about ``job_ids`` if given: what cupsd said when a print did not come out."""
        wanted = None if job_ids is None else tuple(f"[Job {j}]" for j in job_ids)
        about = [
            line
            for line in self.error_log().splitlines()
            if ("[Job " in line or "Stopping job" in line) and (wanted is None or any(w in line for w in wanted))
        ]
        return "\n".join(about[-lines:]) or "(nothing about jobs in cupsd's error_log)"

    # -- queues ---------------------------------------------------------------------------------

    def connection(self) -> Any:
        """A pycups connection to this instance (pycups ships no type information)."""
        import cups

        return cups.Connection(host=self.socket)

    def _add_queue(self, name: str, device: str, error_policy: str, ppd: Path = GENERIC_PDF_PPD) -> None:
        conn = self.connection()
        conn.addPrinter(name, filename=str(ppd), device=device, info="etapiste test queue")
        conn.addPrinterOptionDefault(name, "PageSize", "A4")
        conn.setPrinterErrorPolicy(name, error_policy)
        conn.enablePrinter(name)
        conn.acceptJobs(name)

    def add_file_queue(self, name: str | None = None) -> FileQueue:
        """A queue whose jobs each land in their own file (the ``etapiste-file`` backend)."""
        name = name or _fresh_name("file")
        directory = self.root / "out" / name
        directory.mkdir(parents=True, exist_ok=True)
        self._add_queue(name, f"{FILE_SCHEME}://{directory}", "abort-job")
        return FileQueue(name, directory, self)

    def add_unwritable_file_queue(self, name: str | None = None) -> FileQueue:
        """A CUPS ``file:`` queue whose output file cupsd cannot open (its directory never exists).

        cupsd itself stops every job on it ("Stopping job because the scheduler could not open the
        output file"), old and new cupsd alike — what the file queue met after Debian's CUPS security
        update, kept as the way to see how a job cupsd stops on its own is reported.
        """
        name = name or _fresh_name("nofile")
        directory = self.root / "out" / f"{name}-never-created"
        self._add_queue(name, f"file://{directory}/output.prn", "abort-job")
        return FileQueue(name, directory, self)

    def add_failing_filter_queue(self, error_line: str, name: str | None = None) -> FileQueue:
        """A file queue whose driver's last filter prints ``error_line`` to stderr and exits 1.

        cupsd then stops the job itself ("Job stopped due to filter errors") and keeps the filter's
        ``ERROR:`` line as the job's printer-state message. The filter lives under the instance's
        root (root-owned, not writable by others, as cupsd requires of filters), named in a copy of
        the Generic PDF PPD in place of its pass-through.
        """
        name = name or _fresh_name("badfilter")
        filters = self.root / "filters"
        filters.mkdir(mode=0o755, exist_ok=True)
        script = filters / name
        message = error_line.replace("'", "")
        script.write_text(f"#!/bin/sh\necho '{message}' >&2\ncat > /dev/null\nexit 1\n")
        script.chmod(0o755)
        generic = GENERIC_PDF_PPD.read_text(errors="replace")
        passthrough = '*cupsFilter: "application/vnd.cups-pdf 0 -"'
        assert passthrough in generic, f"{GENERIC_PDF_PPD} no longer has the filter line this helper replaces"
        ppd = filters / f"{name}.ppd"
        ppd.write_text(generic.replace(passthrough, f'*cupsFilter: "application/vnd.cups-pdf 0 {script}"'))
        directory = self.root / "out" / name
        directory.mkdir(parents=True, exist_ok=True)
        self._add_queue(name, f"{FILE_SCHEME}://{directory}", "abort-job", ppd)
        return FileQueue(name, directory, self)

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

    def job_states(self, queue: str) -> dict[int, int]:
        """The jobs cupsd still knows on ``queue`` (pending, active, stopped, history): id → IPP job-state."""
        # pycups keys the reply by job-id and drops every job whose job-id was not asked for.
        jobs = self.connection().getJobs(
            which_jobs="all", my_jobs=False, requested_attributes=["job-id", "job-printer-uri", "job-state"]
        )
        suffix = f"/printers/{queue}"
        return {
            j: int(a.get("job-state", 0))
            for j, a in sorted(jobs.items())
            if str(a.get("job-printer-uri", "")).endswith(suffix)
        }

    def lpstat_all(self) -> str:
        """``lpstat -W all -o``: the job list as an administrator would read it."""
        require_program("lpstat")
        done = subprocess.run(["lpstat", "-W", "all", "-o"], env=self.env, capture_output=True, text=True, timeout=10)
        return done.stdout


def output_pdf_bytes(path: Path) -> bytes:
    """The PDF inside one job's output (the Generic PDF driver wraps it in PJL)."""
    if not path.exists():
        raise AssertionError(f"nothing was printed: {path} does not exist")
    data = path.read_bytes()
    start = data.find(b"%PDF-")
    end = data.rfind(b"%%EOF")
    if start < 0 or end < 0:
        raise AssertionError(f"{path} holds no PDF ({len(data)} bytes)")
    return data[start : end + len(b"%%EOF")] + b"\n"


def output_pages(path: Path) -> int:
    """How many pages one job's output holds."""
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
