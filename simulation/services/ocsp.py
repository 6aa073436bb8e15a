"""Harness: a private OCSP responder for the test PKI — OpenSSL's own (``openssl ocsp``), one per issuing CA,
answering from an ``openssl ca``-style index (``V``/``R`` lines) that the test edits as it goes.

Isolation, and why it is done this way:
- ``openssl ocsp -port N`` (OpenSSL 3.0) takes a bare port number and listens on *every* interface (``[::]:N``;
  ``127.0.0.1:N`` is refused as "not a number"). So, as pcscd is (simulation/services/pcsc.py), the responder runs in
  a private *network* namespace: nothing is opened on the machine's interfaces.
- The bridge in is a small forwarder (this module run as a program): it binds 127.0.0.1:<free port> in the
  machine's namespace first, then creates the private namespace (``unshare(CLONE_NEWNET)``, loopback up) and
  holds it; every connection it accepts is relayed to the responder inside. ``openssl ocsp`` joins with
  ``nsenter --net``, so it can be stopped and started again (unreachable → reachable) in the same place.
- The URL in the certificates' AIA is the forwarder's, with the CA's short name as the path (as FINEID's
  ``http://ocsptest.fineid.fi/<ca>``; openssl answers a POST on any path): :func:`ocsp_responder` sets
  ``pki.ocsp_urls[generation]`` before the test issues certificates.

What a test can do to the responder: :meth:`OcspResponder.good` / ``revoke`` / ``forget`` a certificate (openssl
re-reads a changed index on the next request), ``stop``/``start`` it (unreachable), ``freeze``/``thaw`` it
(SIGSTOP: the kernel still accepts the connection, nobody answers: a hung responder), and
``trickling(seconds_per_byte)``: a second forwarder into the same namespace that passes the answer on one byte
at a time (a responder behind a crawling link). Every process is a :class:`simulation.services.common.Service`,
stopped by pid.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from etapiste.webeid.certificate import load_certificate
from etapiste.webeid.ocsp import post
from simulation.card.pki import CardIdentity, TestPki
from simulation.services.common import Service, require_program, running

REPO = Path(__file__).resolve().parents[2]
#: The responder's port inside its own network namespace (nothing else lives there).
INNER_PORT = 2560
CLONE_NEWNET = 0x40000000
READY_TEXT = "waiting for OCSP client connections"


def _pem(der: bytes) -> str:
    import base64

    body = base64.encodebytes(der).decode().replace("\n", "")
    return (
        "-----BEGIN CERTIFICATE-----\n"
        + "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
        + "\n-----END CERTIFICATE-----\n"
    )


def _serial_hex(cert_der: bytes) -> str:
    serial = f"{load_certificate(cert_der).x509.serial_number:X}"
    return serial if len(serial) % 2 == 0 else "0" + serial


@dataclass
class OcspResponder:
    """One CA's responder. ``url`` is what the AIA of certificates issued after start names."""

    pki: TestPki
    generation: str
    directory: Path
    url: str = ""
    forwarder: Service | None = None
    responder: Service | None = None
    _entries: dict[str, str] = field(default_factory=dict)  # serial → index line
    _frozen: bool = False

    @property
    def index(self) -> Path:
        return self.directory / "index.txt"

    # -- the index ------------------------------------------------------------------------------------------
    def good(self, card: CardIdentity) -> None:
        """The CA vouches for the certificate (``V``)."""
        self._set(card, "V", "")

    def revoke(self, card: CardIdentity, reason: str = "keyCompromise", when: dt.datetime | None = None) -> None:
        """The card was reported lost or stolen (``R``, with the revocation time and reason)."""
        when = when or dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        self._set(card, "R", f"{when:%y%m%d%H%M%S}Z,{reason}")

    def forget(self, card: CardIdentity) -> None:
        """The CA knows nothing of the certificate: the responder answers ``unknown``."""
        self._entries.pop(_serial_hex(card.cert_der), None)
        self._write()

    def _set(self, card: CardIdentity, flag: str, revoked: str) -> None:
        serial = _serial_hex(card.cert_der)
        expiry = load_certificate(card.cert_der).not_after
        self._entries[serial] = f"{flag}\t{expiry:%y%m%d%H%M%S}Z\t{revoked}\t{serial}\tunknown\t/CN=card {serial}\n"
        self._write()

    def _write(self) -> None:
        # openssl notices a changed index by its modification time (whole seconds on some paths): make
        # sure each version looks new, then replace the file in one step.
        tmp = self.index.with_suffix(".tmp")
        tmp.write_text("".join(self._entries.values()))
        if self.index.exists():
            previous = self.index.stat().st_mtime
            os.utime(tmp, (previous + 1, previous + 1))
        tmp.replace(self.index)
        self._poke()

    def _poke(self) -> None:
        """openssl 3.0 looks at the index's time stamp only between requests, right after answering one
        and before it waits for the next: a change made while it waits would be seen one request late.
        So one throwaway request follows each change; the next real question gets the new answer."""
        if self.responder is None or self._frozen or not self.url:
            return
        request = (
            ocsp.OCSPRequestBuilder()
            .add_certificate_by_hash(b"\0" * 20, b"\0" * 20, 1, hashes.SHA1())
            .build()
            .public_bytes(serialization.Encoding.DER)
        )
        post(self.url, request, 10.0)

    # -- the processes --------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start (or start again) ``openssl ocsp`` inside the forwarder's namespace."""
        assert self.forwarder is not None
        openssl = require_program("openssl")
        nsenter = require_program("nsenter")
        service = Service(
            f"ocsp-{self.generation}",
            [
                nsenter,
                f"--net=/proc/{self.forwarder.pid}/ns/net",
                openssl,
                "ocsp",
                "-index",
                str(self.index),
                "-port",
                str(INNER_PORT),
                "-rsigner",
                str(self.directory / "ocsp.pem"),
                "-rkey",
                str(self.directory / "ocsp.key"),
                "-CA",
                str(self.directory / "ca.pem"),
                "-ndays",
                "1",
            ],
            self.directory / "openssl-ocsp.log",
            cwd=self.directory,
        )
        log_size = service.log_path.stat().st_size if service.log_path.exists() else 0
        service.start()
        self.responder = service
        deadline = time.monotonic() + 10
        while READY_TEXT not in service.log_text()[log_size:]:
            if not service.running() or time.monotonic() > deadline:
                text = service.log_text()[-2000:]
                service.stop()
                raise RuntimeError(f"openssl ocsp did not start; its log:\n{text}")
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop the responder: the forwarder stays, so connections are accepted and then closed unanswered."""
        if self.responder is not None:
            self.thaw()
            self.responder.stop()
            self.responder = None

    def freeze(self) -> None:
        """SIGSTOP the responder: connections are accepted by the kernel and never answered."""
        assert self.responder is not None
        os.kill(self.responder.pid, signal.SIGSTOP)
        self._frozen = True

    def thaw(self) -> None:
        if self._frozen and self.responder is not None:
            os.kill(self.responder.pid, signal.SIGCONT)
        self._frozen = False

    @contextlib.contextmanager
    def trickling(self, seconds_per_byte: float) -> Iterator[str]:
        """A URL to the same responder whose answers arrive one byte every ``seconds_per_byte``."""
        assert self.forwarder is not None
        with _forwarder(
            self.directory, f"trickle-{self.generation}", join=self.forwarder.pid, trickle=seconds_per_byte
        ) as (_, port):
            yield f"http://127.0.0.1:{port}/{self.pki.ca_slug(self.generation)}"


@contextlib.contextmanager
def _forwarder(
    directory: Path, name: str, join: int | None = None, trickle: float = 0.0
) -> Iterator[tuple[Service, int]]:
    ready = directory / f"{name}.port"
    ready.unlink(missing_ok=True)
    argv = [sys.executable, "-m", "simulation.services.ocsp", "--ready", str(ready), "--target-port", str(INNER_PORT)]
    if join is not None:
        argv += ["--join", str(join)]
    if trickle:
        argv += ["--trickle", str(trickle)]
    service = Service(name, argv, directory / f"{name}.log", cwd=REPO)
    with running(service, lambda: ready.exists() and ready.read_text().strip().isdigit(), timeout=10):
        yield service, int(ready.read_text())


@contextlib.contextmanager
def ocsp_responder(pki: TestPki, generation: str, directory: Path) -> Iterator[OcspResponder]:
    """A private responder for ``pki``'s issuing CA of ``generation`` (``v3``: RSA CA, ``v4``: ECC CA);
    certificates issued from now on name it in their AIA. Stopped, with its forwarder, on exit."""
    require_program("unshare")
    directory.mkdir(parents=True, exist_ok=True)
    signer, key = pki.ocsp_signer(generation)
    (directory / "ca.pem").write_bytes(pki.issuer_for(generation).pem)
    (directory / "ocsp.pem").write_text(_pem(signer))
    (directory / "ocsp.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    responder = OcspResponder(pki, generation, directory)
    responder._write()
    with _forwarder(directory, f"forwarder-{generation}") as (forwarder, port):
        responder.forwarder = forwarder
        responder.url = f"http://127.0.0.1:{port}/{pki.ca_slug(generation)}"
        previous = pki.ocsp_urls[generation]
        pki.ocsp_urls[generation] = responder.url
        try:
            responder.start()
            yield responder
        finally:
            pki.ocsp_urls[generation] = previous
            responder.stop()


# -- the forwarder (run as ``python -m simulation.services.ocsp``) -------------------------------------------------
def _enter_namespace(join: int | None) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if join is None:
        if libc.unshare(CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET)")
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    else:
        fd = os.open(f"/proc/{join}/ns/net", os.O_RDONLY)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns(CLONE_NEWNET)")
        finally:
            os.close(fd)


def _pump(src: socket.socket, dst: socket.socket, trickle: float) -> None:
    try:
        while data := src.recv(65536):
            if trickle:
                for i in range(len(data)):
                    time.sleep(trickle)
                    dst.sendall(data[i : i + 1])
            else:
                dst.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


def _relay(client: socket.socket, target_port: int, trickle: float) -> None:
    with client:
        try:
            inner = socket.create_connection(("127.0.0.1", target_port), timeout=5)
        except OSError:
            return  # nobody inside: the client sees the connection closed unanswered
        inner.settimeout(None)
        with inner:
            back = threading.Thread(target=_pump, args=(inner, client, trickle), daemon=True)
            back.start()
            _pump(client, inner, 0.0)
            back.join()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="loopback → private network namespace forwarder (tests only)")
    parser.add_argument("--ready", required=True, help="file to write the listening port to once ready")
    parser.add_argument("--target-port", type=int, required=True)
    parser.add_argument("--join", type=int, help="join this process's network namespace instead of a new one")
    parser.add_argument("--trickle", type=float, default=0.0, help="seconds per byte on the way back")
    args = parser.parse_args(argv)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))  # in the machine's namespace, before leaving it
    listener.listen(16)
    _enter_namespace(args.join)
    Path(args.ready).write_text(str(listener.getsockname()[1]))
    while True:
        client, _ = listener.accept()
        threading.Thread(target=_relay, args=(client, args.target_port, args.trickle), daemon=True).start()


if __name__ == "__main__":
    main()
