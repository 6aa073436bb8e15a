"""The run's safety net: when the test run's process ends in any way, nothing it started keeps running.

Normal teardown stops every service by pid (``Service.stop()``). That does not happen when pytest is
killed (SIGKILL, or SIGTERM, whose Python default ends the process without teardown), and the services
run in sessions of their own (``start_new_session``, so that Ctrl-C at the terminal lets pytest stop
them in order), so nothing else would end them either. Hence one small watchdog process per run:

* It is started at pytest's configure time in a **session of its own**: a Ctrl-C sent to the terminal's
  foreground process group, or a ``kill`` of pytest's group, does not reach it.
* It learns that the run ended from a **pidfd** of the run's process (readable when it exits, however it
  exits; no polling) and from the **EOF of a pipe** whose write end only the run's process holds (both
  ends are close-on-exec and ``subprocess`` closes other descriptors, so no service inherits it). The pipe
  also carries the pids of the process groups the harness starts (:func:`register`). EOF alone is not
  taken as the end while the run's process is still alive (some code might close descriptors it does not
  own), and a pidfd alone covers a forked child that kept the pipe open.
* Then it sends SIGTERM, and after a grace of :data:`GRACE` seconds SIGKILL, to every process of the run:

  - every process whose **environment carries the run's marker**: :data:`MARKER` holds a random token
    per run, set into ``os.environ`` before any service starts, so every child inherits it (and
    ``Service`` adds it to an explicit ``env``). ``/proc/PID/environ`` is the environment the process
    was started with; a change of credentials (mosquitto drops to its user, cupsd's filters run as lp)
    does not hide it from root, nor from the same user otherwise;
  - every member of a **registered process group or session**, and of the group or session of any
    process found to be the run's (cupsd's filters get an environment cupsd builds, without the marker,
    but stay in cupsd's session);
  - every **descendant** of those.

  Never by name, and never a pid that was reused: a group or session counts only while its leader is
  alive with the start time recorded when it was registered (or found), so pid reuse (frequent where
  ``pid_max`` is 32768) cannot point it at someone else's processes. Members left behind by a
  dead leader are still found by the marker or as descendants.

Why not ``PR_SET_PDEATHSIG`` in each child: it is cleared when the child changes credentials (mosquitto,
cupsd's lp children) or execs a set-uid program, it fires when the parent *thread* ends (fixtures may
start services from threads), and grandchildren (``unshare``/``nsenter`` wrappers, daemons that fork or
``setsid``, Chromium started by node) do not inherit it.

The watchdog costs one idle process blocked in ``poll()``, and one scan of ``/proc`` when the run ends.
It imports only the standard library so it starts with ``python -I -S`` in a few milliseconds. Outside
pytest (``scripts/demo_system.py``), call :func:`start_watchdog` first; :class:`Service` then registers
with it the same way.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

#: The environment variable carrying the tokens of the runs a process belongs to (space-separated: a
#: pytest started by a test belongs to the outer run too, and its own services to both).
MARKER = "ETAPISTE_HARNESS_RUN"
#: Seconds between SIGTERM and SIGKILL.
GRACE = 2.0


@dataclass
class _Running:
    owner: int
    """The pid of the process that started the watchdog (the run)."""
    token: str
    write_fd: int
    proc: subprocess.Popen[bytes]


_current: _Running | None = None
_lock = threading.Lock()


def start_watchdog() -> str:
    """Start this process's watchdog (once per process) and mark the environment; returns the run's token.

    The watchdog writes a one-line report of what it had to stop, if anything, to this process's stderr."""
    global _current
    with _lock:
        if _current is not None and _current.owner == os.getpid():
            return _current.token
        token = secrets.token_hex(8)
        read_fd, write_fd = os.pipe()  # both close-on-exec: no child inherits the write end
        try:
            proc = subprocess.Popen(
                [sys.executable, "-I", "-S", str(Path(__file__).resolve()), token, str(os.getpid()), str(read_fd)],
                pass_fds=(read_fd,),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                start_new_session=True,
            )
        except BaseException:
            os.close(write_fd)
            raise
        finally:
            os.close(read_fd)
        # Never block a test on a watchdog that stopped reading: a full pipe just loses the registration.
        os.set_blocking(write_fd, False)
        # Set after the watchdog started, so it does not carry its own run's token.
        os.environ[MARKER] = " ".join([*os.environ.get(MARKER, "").split(), token])
        _current = _Running(os.getpid(), token, write_fd, proc)
        return token


def _send(line: str) -> None:
    running = _current
    if running is None or running.owner != os.getpid():
        return
    with contextlib.suppress(OSError):  # a watchdog that is gone must not fail the test
        os.write(running.write_fd, line.encode())


def register(pid: int) -> None:
    """Tell the watchdog about a process group (and session) the harness started: ``pid`` leads it."""
    _send(f"+{pid}\n")


def unregister(pid: int) -> None:
    """The group led by ``pid`` was stopped by the harness: forget it (its pid may be reused later)."""
    _send(f"-{pid}\n")


def marked(env: dict[str, str] | None) -> dict[str, str] | None:
    """``env`` with the run's marker added (None stays None: the child inherits ``os.environ``)."""
    if env is None or MARKER not in os.environ:
        return env
    return {**env, MARKER: os.environ[MARKER]}


# -- the watchdog process ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Proc:
    pid: int
    ppid: int
    pgrp: int
    session: int
    start: int
    state: str
    name: str


def _stat(pid: int) -> _Proc | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    head, _, rest = text.rpartition(")")
    f = rest.split()
    return _Proc(pid, int(f[1]), int(f[2]), int(f[3]), int(f[19]), f[0], head.partition("(")[2])


def _processes() -> dict[int, _Proc]:
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (p := _stat(int(entry))) is not None:
            found[p.pid] = p
    return found


def _carries(pid: int, token: str) -> bool:
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    prefix = MARKER.encode() + b"="
    wanted = token.encode()
    return any(item.startswith(prefix) and wanted in item[len(prefix) :].split() for item in environ.split(b"\0"))


def _alive(pid: int, start: int) -> bool:
    p = _stat(pid)
    return p is not None and p.start == start and p.state not in "ZX"


class _Reaper:
    """Finds and ends the run's processes (see the module docstring for which ones)."""

    def __init__(self, token: str, registered: dict[int, int]) -> None:
        self.token = token
        self.anchors = dict(registered)  # pid -> start time: leaders of groups/sessions that are the run's
        self.ended: dict[int, str] = {}

    def ours(self) -> dict[int, _Proc]:
        procs = _processes()
        # Only live anchors (same pid *and* start time) count: a pid that belongs to another process now
        # was reused, and the group or session of a dead leader could (after a reuse) be anybody's.
        anchors = {pid for pid, start in self.anchors.items() if pid in procs and procs[pid].start == start}
        found: dict[int, _Proc] = {}
        for p in procs.values():
            if p.pid in (os.getpid(), 1) or p.state in "ZX":
                continue
            if p.pid in anchors or p.pgrp in anchors or p.session in anchors or _carries(p.pid, self.token):
                found[p.pid] = p
        children: dict[int, list[_Proc]] = {}
        for p in procs.values():
            children.setdefault(p.ppid, []).append(p)
        todo = list(found)
        while todo:
            for child in children.get(todo.pop(), []):
                if child.pid not in found and child.pid != os.getpid() and child.state not in "ZX":
                    found[child.pid] = child
                    todo.append(child.pid)
        for p in found.values():  # their own groups and sessions stay the run's after they are gone
            self.anchors.setdefault(p.pid, p.start)
        return found

    def signal_all(self, sig: signal.Signals) -> dict[int, _Proc]:
        targets = self.ours()
        for p in targets.values():
            if _alive(p.pid, p.start):
                with contextlib.suppress(OSError):
                    os.kill(p.pid, sig)
                self.ended.setdefault(p.pid, p.name)
        return targets

    def wait_gone(self, sig: signal.Signals, timeout: float) -> bool:
        """Signal the run's processes, newcomers too, until none is left or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        while self.signal_all(sig):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def run(self) -> None:
        if not self.wait_gone(signal.SIGTERM, GRACE):
            for _ in range(3):
                if self.wait_gone(signal.SIGKILL, GRACE):
                    break


def _watch(token: str, owner: int, read_fd: int) -> None:
    """Block until ``owner`` has ended, collecting registrations from ``read_fd`` meanwhile."""
    owner_proc = _stat(owner)
    owner_start = owner_proc.start if owner_proc is not None else -1
    registered: dict[int, int] = {}
    poller = select.poll()
    poller.register(read_fd, select.POLLIN)
    pidfd: int | None = None
    with contextlib.suppress(OSError, AttributeError):
        pidfd = os.pidfd_open(owner)
        poller.register(pidfd, select.POLLIN)
    pending = b""

    def owner_gone() -> bool:
        return os.getppid() != owner or not _alive(owner, owner_start)

    while not owner_gone():
        events = dict(poller.poll(None if pidfd is not None else 1000))
        if read_fd in events:
            data = os.read(read_fd, 65536)
            if not data:  # EOF: the run's process is ending; pidfd (or the timeout) confirms it
                poller.unregister(read_fd)
            pending += data
            *lines, pending = pending.split(b"\n")
            for line in lines:
                if not line[1:].isdigit():
                    continue
                pid = int(line[1:])
                if line.startswith(b"+") and (p := _stat(pid)) is not None:
                    registered[pid] = p.start
                elif line.startswith(b"-"):
                    registered.pop(pid, None)
        if pidfd is not None and pidfd in events:
            break
    reaper = _Reaper(token, registered)
    reaper.run()
    if reaper.ended:
        names = ", ".join(f"{name}[{pid}]" for pid, name in sorted(reaper.ended.items()))
        with contextlib.suppress(OSError):
            print(f"etapiste test harness: the run (pid {owner}) ended; stopped what it left running: {names}",
                  file=sys.stderr, flush=True)  # fmt: skip


def _main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # not the terminal's to end; SIGTERM still does
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    token, owner, read_fd = argv[0], int(argv[1]), int(argv[2])
    _watch(token, owner, read_fd)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
