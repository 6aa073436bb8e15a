"""A killed test run leaves no harness service behind.

A child pytest runs a small generated test that starts real harness services (cupsd, mosquitto, coturn,
pcscd with two virtual cards in its private namespaces, Xvfb, PulseAudio started with an explicit
environment of its own, headless Chromium driven by node) and then blocks. Once they are up, the child
is ended the way people end runs: SIGKILL (nothing of pytest runs), SIGTERM (Python's default: no
teardown either) or Ctrl-C (SIGINT to the run's process group, as a terminal sends it). Afterwards no
process of that run may be left: neither any process that was in the child's process tree while it was
up, nor any process carrying the child run's marker in its environment. A process outside the child run
(``sleep infinity``, like pcscd's namespace holder) keeps running.

The check reads ``/proc`` itself instead of asking the watchdog, so it tests what a user would see in
``ps`` after the run, not the harness's own opinion.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MARKER = "ETAPISTE_HARNESS_RUN"
#: How long the child run may take to end (Ctrl-C runs every fixture's teardown: 3-4 s alone, 20 s beside a run).
ENDED_WITHIN_S = 60

#: The generated test: every service it starts is a fixture of the harness (as tests use them), except
#: PulseAudio, started through ``Service`` with an explicit ``env`` that does not carry the run's marker,
#: the way tests/kiosk/test_speech.py starts it.
CHILD_TEST = textwrap.dedent(
    """
    import json
    import os
    import time
    from pathlib import Path

    from simulation.services.common import Service, require_program, running


    def test_start_services_and_block(cupsd, mosquitto, coturn, pcsc, card_slot, xvfb, browser, tmp_path):
        pcsc.slot(1)  # a second virtual card process
        short = Path(os.environ["CLEANUP_TEST_SHORT_DIR"])  # a unix socket's path must stay short
        runtime = short / "run"
        runtime.mkdir(mode=0o700)
        socket_path = short / "native"
        env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_RUNTIME_DIR": str(runtime)}
        argv = [require_program("pulseaudio"), "-n", "--daemonize=no", "--exit-idle-time=-1",
                "--use-pid-file=no", "--disable-shm=yes",
                "-L", f"module-native-protocol-unix auth-anonymous=1 socket={socket_path}",
                "-L", "module-null-sink sink_name=speaker"]
        with running(Service("pulseaudio", argv, tmp_path / "pulse.log", env=env), socket_path.exists):
            ready = Path(os.environ["CLEANUP_TEST_READY"])
            about = {"marker": os.environ.get("ETAPISTE_HARNESS_RUN"), "cupsd_root": str(cupsd.root)}
            ready.with_suffix(".tmp").write_text(json.dumps(about))
            ready.with_suffix(".tmp").rename(ready)
            time.sleep(3600)
    """
)

#: The child pytest, started as a terminal starts a command: Ctrl-C raises KeyboardInterrupt in it. A process
#: inherits an *ignored* SIGINT, and Python then installs no handler of its own: a run started in the
#: background of a non-interactive shell (``cmd &``, as scripts and some CI runners start the suite) ignores
#: SIGINT in every process, and the child would ignore the Ctrl-C this test sends (seen 2026-12-03: the child
#: "hung" beside whole runs started that way, SigIgn 0x1001006). Restoring a handler after exec is the only way
#: that needs no code between fork and exec (a shell's ``trap`` cannot undo an ignore inherited on entry).
AS_FROM_A_TERMINAL = (
    "import signal, sys, pytest; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "sys.exit(pytest.main(sys.argv[1:]))"
)

#: Program names that must have been up in the child before it is ended (``comm`` as ``ps`` shows it).
EXPECTED = {"cupsd", "mosquitto", "turnserver", "pcscd", "Xvfb", "pulseaudio", "node", "chromium"}


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    start: int
    state: str
    name: str

    def cmdline(self) -> str:
        try:
            raw = Path(f"/proc/{self.pid}/cmdline").read_bytes()
        except OSError:
            return "?"
        return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def processes() -> dict[int, Proc]:
    """Every process on the machine now, from ``/proc/<pid>/stat``."""
    found: dict[int, Proc] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        head, _, rest = stat.rpartition(")")
        fields = rest.split()
        found[int(entry)] = Proc(int(entry), int(fields[1]), int(fields[19]), fields[0], head.partition("(")[2])
    return found


def carries(pid: int, token: str) -> bool:
    """Does the process's environment carry ``token`` in the run marker?"""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    prefix = MARKER.encode() + b"="
    return any(
        token in item[len(prefix) :].decode(errors="replace").split()
        for item in environ.split(b"\0")
        if item.startswith(prefix)
    )


def tree(root: int, procs: dict[int, Proc]) -> list[Proc]:
    """``root``'s descendants (not ``root`` itself)."""
    children: dict[int, list[Proc]] = {}
    for p in procs.values():
        children.setdefault(p.ppid, []).append(p)
    out: list[Proc] = []
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child.pid)
    return out


def survivors(watched: list[Proc], token: str | None) -> list[Proc]:
    """The watched processes still alive (same pid *and* start time, not a zombie) and any process
    carrying the child run's marker."""
    now = processes()
    left = [now[p.pid] for p in watched if p.pid in now and now[p.pid].start == p.start and now[p.pid].state != "Z"]
    if token is not None:
        seen = {p.pid for p in left}
        left += [p for p in now.values() if p.pid not in seen and p.state != "Z" and carries(p.pid, token)]
    return left


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM", "Ctrl-C"])
def test_a_killed_run_leaves_no_service_running(tmp_path: Path, how: str) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # the child's rootdir: not the repository's tests
    (tmp_path / "test_blocking.py").write_text(CHILD_TEST)
    ready = tmp_path / "ready.json"
    short = Path(tempfile.mkdtemp(prefix="cleanup-"))
    # PYTHONFAULTHANDLER: a child that hangs is made to print where (SIGABRT) before the test fails.
    env = dict(os.environ, CLEANUP_TEST_READY=str(ready), CLEANUP_TEST_SHORT_DIR=str(short), PYTHONFAULTHANDLER="1")
    argv = [
        sys.executable, "-c", AS_FROM_A_TERMINAL, "-p", "no:cacheprovider", "-q", "-p", "tests.conftest",
        f"--basetemp={short / 't'}", str(tmp_path / "test_blocking.py"),  # short: unix socket paths
    ]  # fmt: skip
    # Not the child run's: the same program as pcscd's namespace holder, in a session of its own like the
    # services, carrying the outer run's marker. Ending the child run must leave it alone.
    bystander = subprocess.Popen(["sleep", "infinity"], start_new_session=True)
    with open(tmp_path / "child.log", "wb") as log:
        child = subprocess.Popen(argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    watched: list[Proc] = []
    about: dict[str, str | None] = {}
    try:
        deadline = time.monotonic() + 180
        while not ready.exists():
            if child.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the child run never got its services up; its output:\n{_tail(tmp_path / 'child.log')}")
            time.sleep(0.1)
        about = json.loads(ready.read_text())
        token = about["marker"]
        procs = processes()
        watched = tree(child.pid, procs)
        if token is not None:
            watched += [p for p in procs.values() if p not in watched and carries(p.pid, token)]
        up = {p.name for p in watched}
        assert up >= EXPECTED, f"services missing in the child before it was ended: {EXPECTED - up}"

        signals = _signal_state(child.pid)
        if how == "Ctrl-C":
            os.killpg(child.pid, signal.SIGINT)  # the terminal signals the foreground process group
        else:
            child.send_signal(getattr(signal, how))
        try:  # Ctrl-C runs every fixture's teardown (eight services)
            child.wait(ENDED_WITHIN_S)
        except subprocess.TimeoutExpired:
            child.send_signal(signal.SIGABRT)  # faulthandler prints every thread's stack into the log
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(10)
            pytest.fail(
                f"the child run did not end within {ENDED_WITHIN_S} s of {how} (its signals then: "
                f"{signals}); its output:\n{_tail(tmp_path / 'child.log', 12000)}"
            )

        deadline = time.monotonic() + 30
        while (left := survivors(watched, token)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not left, f"after {how} of the test run these processes are still running:\n" + "\n".join(
            f"  {p.name} (pid {p.pid}): {p.cmdline()}" for p in left
        )
        assert bystander.poll() is None, f"a process outside the run was ended ({bystander.returncode})"
    finally:
        bystander.kill()
        bystander.wait()
        _kill_leftovers(child, watched)
        shutil.rmtree(short, ignore_errors=True)
        if cupsd_root := about.get("cupsd_root"):  # the killed child's cups plugin could not remove it
            shutil.rmtree(cupsd_root, ignore_errors=True)


def _tail(path: Path, chars: int = 4000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else ""


def _signal_state(pid: int) -> str:
    """The process's blocked, ignored and caught signal masks as the kernel holds them (``SigBlk``…)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return "?"
    return ", ".join(line.replace("\t", " ") for line in lines if line.startswith(("SigBlk", "SigIgn", "SigCgt")))


def _kill_leftovers(child: subprocess.Popen[bytes], watched: list[Proc]) -> None:
    """Whatever the outcome, leave nothing of the child run behind for the next test (by pid and start
    time, as recorded while the child was up)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGKILL)
    child.wait(10)
    now = processes()
    for p in watched:
        if p.pid in now and now[p.pid].start == p.start:
            with contextlib.suppress(ProcessLookupError):
                os.kill(p.pid, signal.SIGKILL)
