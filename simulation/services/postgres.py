"""Harness plugin: a private PostgreSQL (Debian's ``postgresql`` package) on a unix socket only.

``initdb`` and ``postgres`` refuse to run as root, so both run as the ``postgres`` user (``setpriv``, which
execs, so the service's pid is the server's own and is stopped by it). The server listens on no TCP
address (``listen_addresses=''``); its socket lives in its own directory under the run's ``run_dir``.
Authentication is ``trust`` for the one role ``etapiste``: nothing else can reach that socket.

One server per test session (``initdb`` takes seconds); each test gets a fresh database
(``postgres_db``), so no test sees another's rows.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from simulation.services.common import Service, ServiceUnavailable, require_program, running

PG_BIN = Path("/usr/lib/postgresql/15/bin")
ROLE = "etapiste"


@dataclass
class Postgres:
    """A running private PostgreSQL: ``url(db)`` is what ``etapiste ops collect --store`` takes."""

    directory: Path
    service: Service

    @property
    def socket_dir(self) -> Path:
        return self.directory

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{ROLE}@/{database}?host={self.socket_dir}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run ``sql`` with ``psql`` (as the test's independent view of the database)."""
        out = subprocess.run(
            [str(_program("psql")), "-h", str(self.socket_dir), "-U", ROLE, "-d", database,
             "-v", "ON_ERROR_STOP=1", "-At", "-c", sql],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        if out.returncode != 0:
            raise RuntimeError(f"psql failed: {out.stderr.strip()}")
        return out.stdout

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; its name."""
        name = name or f"t_{secrets.token_hex(6)}"
        self.psql(f'CREATE DATABASE "{name}"')
        return name

    def log_text(self) -> str:
        return self.service.log_text()


def _program(name: str) -> Path:
    path = PG_BIN / name
    if name in ("psql",) and not path.exists():
        return Path(require_program(name))
    if not path.exists():
        raise ServiceUnavailable(f"{path} is missing; install Debian's postgresql (scripts/apt-packages.txt)")
    return path


def _as_postgres(argv: list[str]) -> list[str]:
    """``argv`` run as the ``postgres`` user when we are root (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return argv
    return [require_program("setpriv"), "--reuid=postgres", "--regid=postgres", "--init-groups", "--", *argv]


def _make_traversable(path: Path) -> None:
    for p in [path, *path.parents]:
        if p == p.parent:
            break
        mode = p.stat().st_mode
        if not mode & 0o001:
            p.chmod(mode | 0o001)


@contextlib.contextmanager
def start_postgres(base: Path, *, durable: bool = False) -> Iterator[Postgres]:
    """Start a private PostgreSQL in a new directory under ``base``. Without ``durable`` it skips fsync
    (tests; a crash loses nothing a test needs); the benchmark passes ``durable=True``."""
    base.mkdir(parents=True, exist_ok=True)
    directory = Path(tempfile.mkdtemp(prefix="postgres-", dir=base))
    data = directory / "data"
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(directory, user.pw_uid, user.pw_gid)
        _make_traversable(directory)
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(directory)}
    init = subprocess.run(
        _as_postgres([str(_program("initdb")), "-D", str(data), "-A", "trust", "-U", ROLE, "-E", "UTF8",
                      "--no-sync", "--locale=C.UTF-8"]),
        capture_output=True, text=True, env=env, cwd=directory, timeout=120,
    )  # fmt: skip
    if init.returncode != 0:
        raise RuntimeError(f"initdb failed: {init.stdout[-2000:]}{init.stderr[-2000:]}")
    options = ["-c", "listen_addresses=", "-k", str(directory), "-c", "max_connections=40"]
    if not durable:
        options += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
    service = Service("postgres", _as_postgres([str(_program("postgres")), "-D", str(data), *options]),
                      directory / "postgres.log", env=env, cwd=directory)  # fmt: skip
    pg = Postgres(directory, service)

    def ready() -> bool:
        if not (directory / ".s.PGSQL.5432").exists():
            return False
        pg.psql("SELECT 1")
        return True

    with running(service, ready, timeout=60):
        try:
            yield pg
        finally:
            # A fast shutdown (SIGINT): SIGTERM is PostgreSQL's "smart" one, which waits for every client.
            if service.running():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(service.pid, signal.SIGINT)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    assert service.proc is not None
                    service.proc.wait(20)
