"""Harness plugin: a private Redis (Debian's ``redis-server``) on a unix socket only, for the switchboard's
shared state (:mod:`switchboard.redis_state`).

It listens on no TCP port (``--port 0``); its socket, append-only file and log live in one directory under
the run's ``run_dir``. ``appendonly yes`` (and no RDB snapshots) is what a deployment runs with: every write
is in the AOF, so :meth:`Redis.restart` — the server stopped and started again on the same directory — shows
what the switchboard's instances find after Redis itself restarts.
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from simulation.services.common import Service, ServiceUnavailable, require_program, wait_until

#: A unix socket's path is at most 107 bytes; run directories are short, but say so if one is not.
MAX_SOCKET_PATH = 100


@dataclass
class Redis:
    """A running private Redis: ``url`` is what the switchboard's ``redis_url:`` takes."""

    directory: Path
    service: Service
    _generation: int = field(default=0)

    @property
    def socket(self) -> Path:
        return self.directory / "redis.sock"

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def cli(self, *args: str) -> str:
        """Run ``redis-cli`` against it (the test's independent view of the data)."""
        out = subprocess.run(
            [require_program("redis-cli"), "-s", str(self.socket), *args], capture_output=True, text=True, timeout=30
        )
        if out.returncode != 0:
            raise RuntimeError(f"redis-cli failed: {out.stderr.strip()}")
        return out.stdout.strip()

    def ready(self) -> bool:
        return self.socket.exists() and self.cli("ping") == "PONG"

    def stop(self) -> None:
        self.service.stop()

    def start(self) -> None:
        """Start the server again on the same directory (its AOF): after :meth:`stop`, or a crash."""
        self._generation += 1
        self.service = _service(self.directory, self._generation)
        self.service.start()
        try:
            wait_until(lambda: self.ready() or not self.service.running(), 30, "redis-server")
        except TimeoutError:
            raise TimeoutError(f"redis-server not ready; its log:\n{self.service.log_text()[-3000:]}") from None
        if not self.service.running():
            raise RuntimeError(f"redis-server exited at start; its log:\n{self.service.log_text()[-3000:]}")

    def restart(self) -> None:
        """Stop (SIGTERM: Redis flushes its AOF and exits) and start on the same directory."""
        self.stop()
        self.start()

    def log_text(self) -> str:
        return self.service.log_text()


def _service(directory: Path, generation: int) -> Service:
    argv = [
        require_program("redis-server"), "--port", "0", "--unixsocket", str(directory / "redis.sock"),
        "--unixsocketperm", "700", "--dir", str(directory), "--appendonly", "yes", "--appendfsync", "everysec",
        "--save", "", "--daemonize", "no", "--logfile", "",
    ]  # fmt: skip
    return Service(f"redis-{generation}", argv, directory / "redis.log", cwd=directory)


@contextlib.contextmanager
def start_redis(base: Path) -> Iterator[Redis]:
    """Start a private Redis in a new directory under ``base``; stopped by pid whatever happens."""
    base.mkdir(parents=True, exist_ok=True)
    directory = Path(tempfile.mkdtemp(prefix="redis-", dir=base))
    if len(str(directory / "redis.sock")) > MAX_SOCKET_PATH:
        raise ServiceUnavailable(f"{directory} is too long a path for a unix socket; use a shorter run directory")
    redis = Redis(directory, _service(directory, 0))
    try:
        redis.start()
        yield redis
    finally:
        redis.stop()
