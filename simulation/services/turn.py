"""Harness plugin: a private coturn on loopback with a shared secret (coturn's ``use-auth-secret`` scheme).

The switchboard issues short-lived credentials from the same secret, so tests prove that what it hands out
really opens a relay. coturn listens and relays on 127.0.0.1 only (``allow-loopback-peers`` lets tests relay
to loopback peers), with its own empty configuration file and user database, so neither the machine's
``/etc/turnserver.conf`` nor ``/var/lib/turn`` is read or written.
"""

from __future__ import annotations

import secrets
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from simulation.services.common import Service, free_port, port_open, require_program, running


@dataclass(frozen=True)
class Coturn:
    port: int
    secret: str
    realm: str
    min_port: int
    max_port: int
    service: Service

    @property
    def url(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=udp"

    @property
    def urls(self) -> list[str]:
        return [self.url, f"turn:127.0.0.1:{self.port}?transport=tcp"]


def _free_udp_range(size: int = 40) -> tuple[int, int]:
    """A run of UDP ports that are free right now, for coturn's relay allocations."""
    for _ in range(50):
        start = free_port(socket.SOCK_DGRAM)
        if start + size >= 65535:
            continue
        socks = []
        try:
            for port in range(start, start + size):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return start, start + size - 1
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free run of UDP ports for coturn's relays")


def start_coturn(directory: Path) -> Iterator[Coturn]:
    """Run a private coturn in ``directory`` (made if missing) until the generator is closed."""
    program = require_program("turnserver")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "turnserver.conf").write_text("# private test instance: everything is on the command line\n")
    port = free_port()
    min_port, max_port = _free_udp_range()
    secret = secrets.token_hex(16)
    realm = "etapiste.test"
    argv = [
        program,
        "-c", str(directory / "turnserver.conf"),
        "-n",
        "--listening-ip=127.0.0.1",
        "--relay-ip=127.0.0.1",
        f"--listening-port={port}",
        f"--min-port={min_port}",
        f"--max-port={max_port}",
        "--use-auth-secret",
        f"--static-auth-secret={secret}",
        f"--realm={realm}",
        "--allow-loopback-peers",
        "--no-cli",
        "--no-tls",
        "--no-dtls",
        "--no-multicast-peers",
        f"--userdb={directory / 'turndb'}",
        f"--pidfile={directory / 'turnserver.pid'}",
        "--log-file=stdout",
        "--simple-log",
    ]  # fmt: skip
    service = Service("coturn", argv, directory / "coturn.log", cwd=directory)
    with running(service, lambda: port_open(port), timeout=10):
        yield Coturn(port, secret, realm, min_port, max_port, service)
