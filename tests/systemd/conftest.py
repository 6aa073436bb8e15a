"""A throwaway "fresh Debian 12" root for the installer and for systemd-analyze, and the organiser's
enrolment package for a point.

The root holds what debootstrap plus the installer's apt packages would leave there, reduced to the
files the installer and systemd-analyze read: Debian's base users and groups, the systemd and CUPS units
of this (Debian 12) machine, CUPS's default cupsd.conf, and the programs the units start. It lives under
/tmp (world-traversable), so that tests can check permissions with the kernel itself, as the point's
users, through setpriv.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from provisioning.bundle import SigningKey, TrustStore
from simulation.services.common import require_program

REPO = Path(__file__).resolve().parents[2]
INSTALLER = REPO / "systemd" / "install-point.sh"
UNITS_DIR = REPO / "systemd" / "units"

BASE_USERS = {
    "root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news", "uucp", "proxy",
    "www-data", "backup", "list", "irc", "_apt", "nobody",
}  # fmt: skip
BASE_GROUPS = {
    "root", "daemon", "bin", "sys", "adm", "tty", "disk", "lp", "mail", "news", "uucp", "man", "proxy",
    "kmem", "dialout", "fax", "voice", "cdrom", "floppy", "tape", "sudo", "audio", "dip", "www-data",
    "backup", "operator", "list", "irc", "src", "shadow", "utmp", "video", "sasl", "plugdev", "staff",
    "games", "users", "nogroup",
}  # fmt: skip
#: Directories every Debian 12 system has.
BASE_DIRS = (
    "etc/pam.d", "etc/tmpfiles.d", "etc/udev/rules.d", "etc/systemd/system/multi-user.target.wants",
    "etc/systemd/system/timers.target.wants", "opt", "run", "var/lib", "usr/bin", "usr/sbin",
)  # fmt: skip
#: Programs the installed units start that apt provides (copied from this machine's same packages).
PROGRAMS = ("/usr/bin/cage", "/usr/bin/systemctl", "/usr/bin/systemd-tmpfiles", "/usr/bin/rm", "/usr/sbin/cupsd")
#: Where pip puts the product's entry point; the pip step is outside the dry run.
VENV_ENTRY_POINT = "opt/etapiste/venv/bin/etapiste"


def _filter_db(source: str, names: set[str]) -> str:
    lines = Path(source).read_text().splitlines()
    kept = [line for line in lines if line.split(":", 1)[0] in names]
    return "\n".join(kept) + "\n"


def make_fresh_root() -> Path:
    for program in PROGRAMS:
        require_program(os.path.basename(program))
    root = Path(tempfile.mkdtemp(prefix="etapiste-root-"))
    root.chmod(0o755)
    for d in BASE_DIRS:
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / "etc/passwd").write_text(_filter_db("/etc/passwd", BASE_USERS))
    (root / "etc/group").write_text(_filter_db("/etc/group", BASE_GROUPS))
    # Debian's shadow files, with locked entries (no password hash is ever copied from this machine).
    users = [line.split(":", 1)[0] for line in (root / "etc/passwd").read_text().splitlines()]
    groups = [line.split(":", 1)[0] for line in (root / "etc/group").read_text().splitlines()]
    shadow_gid = int(
        next(g.split(":")[2] for g in Path("/etc/group").read_text().splitlines() if g.startswith("shadow:"))
    )
    (root / "etc/shadow").write_text("".join(f"{u}:*:19700:0:99999:7:::\n" for u in users))
    (root / "etc/gshadow").write_text("".join(f"{g}:*::\n" for g in groups))
    for name in ("shadow", "gshadow"):
        os.chown(root / "etc" / name, 0, shadow_gid)
        (root / "etc" / name).chmod(0o640)
    (root / "usr/lib/systemd").mkdir(parents=True)
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    # Units a fresh Debian already has enabled (systemctl removes .wants directories it empties).
    (root / "etc/systemd/system/multi-user.target.wants/cups.service").symlink_to(
        "/usr/lib/systemd/system/cups.service"
    )
    (root / "etc/systemd/system/timers.target.wants/fstrim.timer").symlink_to("/usr/lib/systemd/system/fstrim.timer")
    (root / "etc/cups").mkdir()
    shutil.copy2("/etc/cups/cupsd.conf", root / "etc/cups/cupsd.conf")
    os.chown(root / "etc/cups/cupsd.conf", 0, 7)
    (root / "etc/cups/cupsd.conf").chmod(0o640)
    for program in PROGRAMS:
        shutil.copy2(program, root / program.lstrip("/"))
    return root


def add_venv_entry_point(root: Path) -> None:
    """Stand in for the installer's pip step: the checkout's own ``etapiste`` entry point."""
    target = root / VENV_ENTRY_POINT
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(REPO / ".venv/bin/etapiste", target)


@dataclass
class Enrolment:
    """The organiser's enrolment package for one point, in the ops tool's own formats."""

    path: Path
    trust_json: bytes


def make_enrolment(directory: Path) -> Enrolment:
    directory.mkdir(parents=True, exist_ok=True)
    key = SigningKey.generate()
    trust = TrustStore.from_entries([key.public_entry()]).to_json() + "\n"
    (directory / "organiser.trust.json").write_text(trust)
    (directory / "agent.env").write_text(
        "# etapiste enrolment of point demo-oulu-kirjasto\n"
        "ETAPISTE_POINT=demo-oulu-kirjasto\n"
        "ETAPISTE_BROKER=mqtts://broker.example.invalid:8883\n"
        'ETAPISTE_AGENT_OPTIONS="--ca-file /etc/etapiste/enrolment/ca.pem"\n'
    )
    (directory / "credentials").mkdir(exist_ok=True)
    (directory / "credentials/mqtt-password").write_text("per-point-secret\n")
    (directory / "credentials/ca.pem").write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    (directory / "switchboard-credential").write_text("switchboard-token\n")
    return Enrolment(directory, trust.encode())


def run_installer(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(INSTALLER), "--from-checkout", "--root", str(root), "--no-packages", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def snapshot(root: Path) -> dict[str, tuple[object, ...]]:
    """Every path under ``root`` with its kind, mode, owner, content hash and mtime."""
    out: dict[str, tuple[object, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = path.lstat()
            rel = str(path.relative_to(root))
            if path.is_symlink():
                out[rel] = ("link", os.readlink(path))
            elif path.is_dir():
                out[rel] = ("dir", st.st_mode & 0o7777, st.st_uid, st.st_gid)
            else:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                out[rel] = ("file", st.st_mode & 0o7777, st.st_uid, st.st_gid, digest, st.st_mtime_ns)
    return out


@pytest.fixture
def fresh_root() -> Iterator[Path]:
    root = make_fresh_root()
    try:
        yield root
    finally:
        shutil.rmtree(root)


@pytest.fixture
def enrolment(tmp_path: Path) -> Enrolment:
    return make_enrolment(tmp_path / "enrolment")


@pytest.fixture(scope="module")
def installed_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh root after a full installation with an enrolment package (shared by a module's tests)."""
    root = make_fresh_root()
    try:
        package = make_enrolment(tmp_path_factory.mktemp("enrolment"))
        result = run_installer(root, "--enrolment", str(package.path))
        assert result.returncode == 0, result.stderr + result.stdout
        add_venv_entry_point(root)
        yield root
    finally:
        shutil.rmtree(root)
