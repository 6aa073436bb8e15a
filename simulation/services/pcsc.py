"""Harness plugin: a private pcscd with the vpcd virtual reader and our virtual FINEID card.

Isolation, and why it is done this way:
- vpcd listens on TCP 0.0.0.0:35963/35964, so pcscd and the card process run inside a private *network*
  namespace (``unshare -n``, loopback brought up): no port is opened on the machine's interfaces.
- pcsc-lite 1.9.9 (Debian 12) honours ``PCSCLITE_CSOCK_NAME`` only on the client side (libpcsclite reads
  it; the daemon's binary hard-codes ``/run/pcscd/pcscd.comm``). So pcscd also gets a private *mount*
  namespace whose ``/run`` is a directory of this run: its socket appears at ``<run>/pcscd/pcscd.comm``
  and the tests' clients are pointed there with ``PCSCLITE_CSOCK_NAME``. The machine's own pcscd (none
  runs here) and its socket are never touched. libpcsclite caches the name on first use, so the path is
  fixed for the whole pytest process; restarts of pcscd reuse it.
- A holder process (``sleep infinity`` inside the namespaces) owns the namespaces, so pcscd can be
  stopped and started again (the reader disappears and reappears, as when a USB reader is pulled out)
  and the card process joins with ``nsenter``. Everything is started and stopped by pid.

The card process (``simulation.card.vpcd``) is driven from the test through a unix socket: insert a card
(any profile: v3/v4, T=0/T=1, not-FINEID), pull it out now, after N APDUs, or on a given instruction.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from simulation.card.applet import ATRS, CardProfile
from simulation.card.pki import CardIdentity
from simulation.services.common import Service, ServiceUnavailable, require_program, wait_until

SOCKET_ENV = "PCSCLITE_CSOCK_NAME"
VPCD_DRIVER = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
VPCD_PORT = 35963
REPO = Path(__file__).resolve().parents[2]


def reader_name(slot: int) -> str:
    return f"Virtual PCD 00 {slot:02d}"


def fineid_card(identity: CardIdentity, version: str = "v4.0", **overrides: Any) -> CardProfile:
    """A card profile for ``identity``: ATR of the FINEID ``version``, key and file layout of its generation."""
    generation = "v3" if version.startswith("v3") else "v4"
    return CardProfile(
        atr=ATRS.get(version, version),
        generation=generation,
        cert_der=identity.cert_der,
        key_pem=identity.key_pem,
        **overrides,
    )


def card_seen(reader: str) -> bool:
    """Does pcscd report a card in ``reader``? (Asked through PC/SC, as any client would.)"""
    from smartcard import scard

    rc, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if rc != scard.SCARD_S_SUCCESS:
        return False
    try:
        rc, states = scard.SCardGetStatusChange(ctx, 0, [(reader, scard.SCARD_STATE_UNAWARE)])
        return rc == scard.SCARD_S_SUCCESS and bool(states[0][1] & scard.SCARD_STATE_PRESENT)
    finally:
        scard.SCardReleaseContext(ctx)


class CardSlot:
    """Controls the virtual card in one vpcd slot (reader ``Virtual PCD 00 0<slot>``)."""

    def __init__(self, slot: int, control: Path, service: Service) -> None:
        self.slot = slot
        self.reader = reader_name(slot)
        self.control = control
        self.service = service

    def request(self, op: str, **args: Any) -> dict[str, Any]:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(10)
            s.connect(str(self.control))
            s.sendall(json.dumps({"op": op, **args}).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        reply: dict[str, Any] = json.loads(data)
        if not reply.get("ok"):
            raise RuntimeError(f"virtual card: {reply.get('error')}")
        return reply

    def insert(self, profile: CardProfile | None = None) -> None:
        """Insert ``profile`` as a new card, or (None) the same card again with its PIN counter."""
        self.request("insert", profile=profile.to_json() if profile else None)

    def remove(self) -> None:
        """Pull the card out and wait until pcscd has noticed (it polls every 400 ms)."""
        self.request("remove")
        wait_until(lambda: not card_seen(self.reader), 5, f"pcscd to notice the card left {self.reader}")

    def insert_and_wait(self, profile: CardProfile | None = None) -> None:
        """Insert and wait until pcscd reports the card."""
        self.insert(profile)
        wait_until(lambda: card_seen(self.reader), 5, f"pcscd to notice a card in {self.reader}")

    def pull_after(self, apdus: int) -> None:
        """Pull the card out instead of answering the ``apdus``-th APDU from now."""
        self.request("arm", after_apdus=apdus)

    def pull_on(self, ins: int) -> None:
        """Pull the card out instead of answering the next APDU with instruction ``ins``."""
        self.request("arm", on_ins=ins)

    def status(self) -> dict[str, Any]:
        return self.request("status")

    def apdus(self) -> list[bytes]:
        return [bytes.fromhex(a) for a in self.status()["apdus"]]

    def clear_log(self) -> None:
        self.request("clear_log")


class PcscHarness:
    """pcscd + vpcd + virtual cards, private to this run (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.run = root / "run"
        self.conf = root / "reader.conf.d"
        self.empty_conf = root / "no-readers.conf.d"
        self.socket_path = self.run / "pcscd" / "pcscd.comm"
        self.holder: Service | None = None
        self.daemon: Service | None = None
        self.slots: dict[int, CardSlot] = {}

    def start(self) -> PcscHarness:
        for program in ("pcscd", "unshare", "nsenter", "ip", "mount"):
            require_program(program)
        if not os.path.exists(VPCD_DRIVER):
            raise ServiceUnavailable(f"{VPCD_DRIVER} is missing: install vsmartcard-vpcd (scripts/apt-packages.txt)")
        if len(os.fsencode(self.socket_path)) > 107:  # sun_path holds 108 bytes with the final NUL
            raise ServiceUnavailable(f"pcscd's socket path is too long for a unix socket: {self.socket_path}")
        for d in (self.run, self.conf, self.empty_conf):
            d.mkdir(parents=True, exist_ok=True)
        (self.conf / "vpcd").write_text(
            f'FRIENDLYNAME "Virtual PCD"\nDEVICENAME /dev/null:{VPCD_PORT:#x}\n'
            f"LIBPATH {VPCD_DRIVER}\nCHANNELID {VPCD_PORT:#x}\n"
        )
        ready = self.run / ".namespaces-ready"
        self.holder = Service(
            "pcsc-namespaces",
            [
                "unshare",
                "--net",
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                f'ip link set lo up && mount --bind "{self.run}" /run && touch /run/.namespaces-ready '
                "&& exec sleep infinity",
            ],
            self.root / "namespaces.log",
        ).start()
        try:
            wait_until(ready.exists, 10, "private network/mount namespace for pcscd")
        except TimeoutError:
            self.close()
            raise
        self.start_daemon()
        return self

    def _nsenter(self, *, mount: bool) -> list[str]:
        assert self.holder is not None
        return ["nsenter", f"--target={self.holder.pid}", "--net", *(["--mount"] if mount else []), "--"]

    def start_daemon(self, readers: bool = True) -> None:
        """Start pcscd (with the vpcd readers, or with none: "no reader attached")."""
        if self.daemon is not None and self.daemon.running():
            return
        conf = self.conf if readers else self.empty_conf
        self.daemon = Service(
            "pcscd",
            [*self._nsenter(mount=True), "pcscd", "--foreground", "--info", "--config", str(conf)],
            self.root / "pcscd.log",
        ).start()
        wait_until(lambda: self._daemon_answers() or not self.daemon_running(), 10, "pcscd")
        if not self.daemon_running():
            raise RuntimeError(f"pcscd exited at start:\n{self.daemon.log_text()[-3000:]}")

    def daemon_running(self) -> bool:
        return self.daemon is not None and self.daemon.running()

    def _daemon_answers(self) -> bool:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(str(self.socket_path))
        return True

    def stop_daemon(self) -> None:
        """Stop pcscd: every reader disappears (and every card with it)."""
        if self.daemon is not None:
            self.daemon.stop()
            self.daemon = None

    def slot(self, slot: int = 0) -> CardSlot:
        """The card controller for ``slot``; its process starts on first use and lives for the run."""
        if slot not in self.slots:
            control = self.root / f"card{slot}.sock"
            service = Service(
                f"virtual-card-{slot}",
                [
                    *self._nsenter(mount=False),
                    sys.executable,
                    "-m",
                    "simulation.card.vpcd",
                    "--port",
                    str(VPCD_PORT + slot),
                    "--control",
                    str(control),
                ],
                self.root / f"card{slot}.log",
                cwd=REPO,
            ).start()
            try:
                wait_until(lambda: control.exists() or not service.running(), 20, f"virtual card {slot}")
                if not service.running():
                    raise RuntimeError(f"virtual card exited:\n{service.log_text()[-3000:]}")
            except BaseException:
                service.stop()
                raise
            self.slots[slot] = CardSlot(slot, control, service)
        return self.slots[slot]

    def reset(self) -> None:
        """Between tests: pcscd up with its readers, no card inserted, logs cleared."""
        self.start_daemon()
        for slot in self.slots.values():
            if slot.status()["inserted"] or card_seen(slot.reader):
                slot.remove()
            slot.clear_log()

    def close(self) -> None:
        for slot in self.slots.values():
            slot.service.stop()
        self.slots.clear()
        self.stop_daemon()
        if self.holder is not None:
            self.holder.stop()
            self.holder = None


@contextlib.contextmanager
def pcsc_service(root: Path) -> Iterator[PcscHarness]:
    """A private pcscd for a script (the benchmark); sets ``PCSCLITE_CSOCK_NAME`` for this process."""
    root.mkdir(parents=True, exist_ok=True)
    harness = PcscHarness(root)
    previous = os.environ.get(SOCKET_ENV)
    os.environ[SOCKET_ENV] = str(harness.socket_path)
    try:
        harness.start()
        yield harness
    finally:
        harness.close()
        if previous is None:
            os.environ.pop(SOCKET_ENV, None)
        else:
            os.environ[SOCKET_ENV] = previous
