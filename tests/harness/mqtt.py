"""Harness plugin: a private mosquitto broker on loopback with per-point passwords and the fleet's ACL.

Each test gets a fresh broker (it starts in a few milliseconds), so retained messages and persistent
sessions never leak from one test to the next. The broker runs with the product's own ACL
(:data:`provisioning.broker.ACL`) and ``use_username_as_clientid true``, in a directory under the
run's ``run_dir``, on a free port, started and stopped by pid. Run as root, mosquitto drops to the
user ``mosquitto``, so its directory is chowned to that user and the path to it made traversable.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from provisioning.broker import OPS_USER, acl, broker_config, password_line
from tests.harness.common import Service, free_port, port_open, require_program, running

#: Two operator accounts: the ops tool under test and the test's own observer (``ops-watch``) must not
#: share a username, or the broker lets one session replace the other.
OPS_USERS = (OPS_USER, "ops-watch")


@dataclass
class Broker:
    """A running private mosquitto and the credentials it accepts."""

    host: str
    port: int
    directory: Path
    service: Service
    passwords: dict[str, str] = field(default_factory=dict)

    def credentials(self, username: str) -> dict[str, Any]:
        """Keyword arguments for :class:`aiomqtt.Client` to log in as ``username``."""
        return {
            "hostname": self.host,
            "port": self.port,
            "username": username,
            "password": self.passwords[username],
        }

    def password_file(self, username: str) -> Path:
        """A file holding ``username``'s password, as the agent and ops tool read it."""
        path = self.directory / "secrets" / username
        path.parent.mkdir(exist_ok=True, mode=0o700)
        path.write_text(self.passwords[username] + "\n")
        path.chmod(0o600)
        return path

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def log_text(self) -> str:
        return self.service.log_text()


def _make_traversable(path: Path, stop: Path) -> None:
    """Let the unprivileged broker reach ``path``: add o+x to each ancestor below ``stop``."""
    for p in [path, *path.parents]:
        if p == stop or p == p.parent:
            break
        mode = p.stat().st_mode
        if not mode & 0o001:
            p.chmod(mode | 0o001)


@contextlib.contextmanager
def start_broker(base: Path, users: list[str], *, ops_users: tuple[str, ...] = OPS_USERS) -> Iterator[Broker]:
    """Start mosquitto in a new directory under ``base`` for the points ``users`` and the ``ops_users``."""
    exe = require_program("mosquitto")
    port = free_port()
    directory = base / f"mosquitto-{port}"
    directory.mkdir(parents=True)
    passwords = {u: secrets.token_urlsafe(12) for u in {*ops_users, *users}}
    (directory / "passwd").write_text("".join(password_line(u, p) + "\n" for u, p in passwords.items()))
    (directory / "acl").write_text(acl(ops_users))
    conf = directory / "mosquitto.conf"
    conf.write_text(
        broker_config(port=port, password_file=str(directory / "passwd"), acl_file=str(directory / "acl"))
    )
    if os.geteuid() == 0:
        user = pwd.getpwnam("mosquitto")
        for p in (directory, directory / "passwd", directory / "acl", conf):
            os.chown(p, user.pw_uid, user.pw_gid)
        _make_traversable(directory, Path("/"))
    service = Service("mosquitto", [exe, "-c", str(conf)], directory / "mosquitto.log")
    with running(service, lambda: port_open(port), timeout=10):
        yield Broker("127.0.0.1", port, directory, service, passwords)


@pytest.fixture
def mosquitto_factory(run_dir: Path) -> Iterator[Callable[..., Broker]]:
    """Start brokers on demand: ``mosquitto_factory(["point-a", "point-b"])``; all stopped at teardown."""
    with contextlib.ExitStack() as stack:

        def make(users: list[str], *, ops_users: tuple[str, ...] = OPS_USERS) -> Broker:
            return stack.enter_context(start_broker(run_dir, users, ops_users=ops_users))

        yield make


@pytest.fixture
def mosquitto(mosquitto_factory: Callable[..., Broker]) -> Broker:
    """A fresh broker that knows the points ``point-a``, ``point-b`` and ``point-c`` and the ops users."""
    return mosquitto_factory(["point-a", "point-b", "point-c"])
