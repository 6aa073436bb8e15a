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
import ssl
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provisioning.broker import NOTIFIER_USER, OPS_USER, acl, broker_config, password_line
from simulation.services.common import Service, free_port, port_open, require_program, running, wait_until

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
    ca_file: Path | None = None
    """The private CA that signed the broker's certificate, when the broker speaks TLS."""

    def credentials(self, username: str) -> dict[str, Any]:
        """Keyword arguments for :class:`aiomqtt.Client` to log in as ``username``."""
        creds: dict[str, Any] = {
            "hostname": self.host,
            "port": self.port,
            "username": username,
            "password": self.passwords[username],
        }
        if self.ca_file is not None:
            creds["tls_context"] = ssl.create_default_context(cafile=str(self.ca_file))
        return creds

    def password_file(self, username: str) -> Path:
        """A file holding ``username``'s password, as the agent and ops tool read it."""
        path = self.directory / "secrets" / username
        path.parent.mkdir(exist_ok=True, mode=0o700)
        path.write_text(self.passwords[username] + "\n")
        path.chmod(0o600)
        return path

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.ca_file else 'mqtt'}://{self.host}:{self.port}"

    def log_text(self) -> str:
        return self.service.log_text()

    def restart(self) -> None:
        """Stop the broker and start it again on the same port (retained messages are lost: no persistence)."""
        self.service.stop()
        # The freed port can be probed by someone's free_port() for a moment, and a loaded machine may take
        # seconds to start the broker: retry with a growing pause for up to about half a minute (three quick
        # tries failed a soak journey now and then under load).
        for attempt in range(8):
            self.service.start()
            with contextlib.suppress(TimeoutError):
                wait_until(lambda: port_open(self.port) or not self.service.running(), 10, "mosquitto restart")
            if self.service.running() and port_open(self.port):
                return
            self.service.stop()
            time.sleep(0.2 * 2 ** min(attempt, 4))
        raise RuntimeError(f"mosquitto did not come back on port {self.port}; its log:\n{self.log_text()[-2000:]}")


def _make_traversable(path: Path, stop: Path) -> None:
    """Let the unprivileged broker reach ``path``: add o+x to each ancestor below ``stop``."""
    for p in [path, *path.parents]:
        if p == stop or p == p.parent:
            break
        mode = p.stat().st_mode
        if not mode & 0o001:
            p.chmod(mode | 0o001)


def make_ca_and_server_cert(directory: Path, name: str = "ca") -> tuple[Path, Path, Path]:
    """A private CA and a certificate it signed for 127.0.0.1/localhost: (CA file, cert file, key file)."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"etapiste test {name}")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")])
    cert = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(san, critical=False).sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    paths = directory / f"{name}.pem", directory / f"{name}-server.pem", directory / f"{name}-server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


@contextlib.contextmanager
def start_broker(
    base: Path, users: list[str], *, ops_users: tuple[str, ...] = OPS_USERS, tls: bool = False, bind: str = "127.0.0.1"
) -> Iterator[Broker]:
    """Start mosquitto in a new directory under ``base`` for the points ``users`` and the ``ops_users``;
    with ``tls`` it listens with a certificate from a private CA (``Broker.ca_file``). ``bind``: the address it
    listens on (the chaos soak's private network: every address of its loopback, simulation/netcut.py).

    The directory gets a fresh unique name, never one derived from the port: a port a stopped broker
    used is free again and may be handed to the next broker of the same run."""
    exe = require_program("mosquitto")
    port = free_port()
    base.mkdir(parents=True, exist_ok=True)
    directory = Path(tempfile.mkdtemp(prefix=f"mosquitto-{port}-", dir=base))
    passwords = {u: secrets.token_urlsafe(12) for u in {*ops_users, *users, NOTIFIER_USER}}  # + the alert notifier
    (directory / "passwd").write_text("".join(password_line(u, p) + "\n" for u, p in passwords.items()))
    (directory / "acl").write_text(acl(ops_users))
    conf = directory / "mosquitto.conf"
    tls_files = make_ca_and_server_cert(directory) if tls else None
    conf.write_text(
        broker_config(
            port=port, password_file=str(directory / "passwd"), acl_file=str(directory / "acl"), bind=bind,
            tls=(str(tls_files[0]), str(tls_files[1]), str(tls_files[2])) if tls_files else None,
        )
    )  # fmt: skip
    if os.geteuid() == 0:
        user = pwd.getpwnam("mosquitto")
        for p in (directory, directory / "passwd", directory / "acl", conf, *(tls_files or ())):
            os.chown(p, user.pw_uid, user.pw_gid)
        _make_traversable(directory, Path("/"))
    service = Service("mosquitto", [exe, "-c", str(conf)], directory / "mosquitto.log")
    with running(service, lambda: port_open(port), timeout=10):
        yield Broker("127.0.0.1", port, directory, service, passwords, tls_files[0] if tls_files else None)
