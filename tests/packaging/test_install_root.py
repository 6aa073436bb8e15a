"""The packages as a point gets them: ``etapiste-point`` installed into a throwaway Debian 12 root.

Marker ``packaging`` (scripts/test.sh runs it as its own stage; it needs root, mmdebstrap and the network
once a day). The packages come from scripts/package.sh (cached by the source's hash); the root is
``mmdebstrap --variant=minbase bookworm`` from this machine's apt sources with the point's Debian
dependencies already in it, cached as a tarball under ~/.cache/etapiste-packaging/roots by date and by
the dependency list, and extracted afresh for each test. Commands run in the root through
``unshare -m -p -f`` + ``chroot``: its own mount and PID namespaces, so the /proc and /dev it needs
vanish with it and nothing it starts outlives the test.

What a point's owner would notice is checked: the program runs and says the version the organiser
published, systemd accepts every unit as installed, the service users exist, and ``apt-get purge``
leaves the machine as it was before the install.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

# A build with lintian and a fresh root take minutes on two shared cores (far beyond the suite-wide 300 s).
pytestmark = [pytest.mark.packaging, pytest.mark.services, pytest.mark.timeout(3600)]

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("ETAPISTE_PACKAGE_CACHE") or Path.home() / ".cache" / "etapiste-packaging")
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
POINT_USERS = ("etapiste-agent", "etapiste-kiosk")
#: Paths whose content apt and dpkg keep for themselves (their logs, caches and package database) or the
#: kernel makes: not what the package installed, so not compared before and after.
UNTRACKED = re.compile(
    r"^(proc|dev|sys|run|tmp|var/tmp|var/log|var/cache|var/lib/apt|var/lib/dpkg|var/lib/systemd/deb-systemd-"
    r"helper-enabled/.*\.dsh-also|var/lib/ucf|etc/ld\.so\.cache)(/|$)"
    # The shadow tools' backups of the previous user database (useradd and userdel each write one).
    r"|^etc/(passwd|group|shadow|gshadow)-$"
)


def _require(*programs: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("the throwaway root needs root (chroot, unshare, device nodes)")
    for program in programs:
        if shutil.which(program) is None:
            pytest.skip(f"{program} is missing (scripts/apt-packages.txt)")


def _package_depends(deb: Path) -> list[str]:
    """The Debian packages ``deb`` depends on and recommends (first of each alternative), as dpkg-shlibdeps
    and debian/control made them: put into the cached root, so installing the .deb needs no network."""
    names: set[str] = set()
    for field in ("Depends", "Recommends"):
        value = subprocess.run(["dpkg-deb", "-f", str(deb), field], capture_output=True, text=True, check=True)
        for dep in value.stdout.replace("\n", " ").split(","):
            if dep.strip():
                names.add(dep.split("|")[0].split()[0].split(":")[0])
    return sorted(names)


@pytest.fixture(scope="session")
def debs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """dist/etapiste-point and -server for pyproject's version, built (or taken from the cache)."""
    _require("dpkg-buildpackage", "lintian")
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run(
        [str(REPO / "scripts" / "package.sh"), "--out", str(out)], capture_output=True, text=True, timeout=3600
    )
    assert proc.returncode == 0, f"scripts/package.sh failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    found = {name: out / f"{name}_{VERSION}_amd64.deb" for name in ("etapiste-point", "etapiste-server")}
    for path in found.values():
        assert path.is_file(), f"scripts/package.sh did not make {path.name}"
    return found


@pytest.fixture(scope="session")
def base_root_tar(debs: dict[str, Path]) -> Path:
    """Debian 12 minbase with etapiste-point's dependencies, as a tarball cached for the day."""
    _require("mmdebstrap", "unshare", "chroot")
    include = _package_depends(debs["etapiste-point"])
    key = hashlib.sha256(",".join(include).encode()).hexdigest()[:12]
    roots = CACHE / "roots"
    tar = roots / f"bookworm-minbase-{dt.date.today():%Y%m%d}-{key}.tar"
    if tar.is_file():
        return tar
    roots.mkdir(parents=True, exist_ok=True)
    for old in roots.glob("bookworm-minbase-*.tar"):
        old.unlink()
    partial = tar.with_suffix(".partial")
    command = ["mmdebstrap", "--variant=minbase", "--format=tar", f"--include={','.join(include)}", "bookworm"]
    proc = subprocess.run([*command, str(partial)], capture_output=True, text=True, timeout=3600)
    assert proc.returncode == 0, f"mmdebstrap failed:\n{proc.stderr[-3000:]}"
    partial.rename(tar)
    return tar


@pytest.fixture
def root(base_root_tar: Path) -> Iterator[Path]:
    """A fresh copy of the cached root for one test, removed after it."""
    path = Path(tempfile.mkdtemp(prefix="etapiste-debroot-"))
    try:
        subprocess.run(["tar", "-xf", str(base_root_tar), "-C", str(path)], check=True, timeout=600)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def in_root(root: Path, command: str, timeout: float = 1200) -> subprocess.CompletedProcess[str]:
    """Run a shell command inside ``root``: own mount and PID namespaces, /proc and /dev mounted in them."""
    setup = (
        f"mount -t proc proc {root}/proc && mount --rbind /dev {root}/dev && "
        f"exec chroot {root} /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "
        'DEBIAN_FRONTEND=noninteractive /bin/sh -c "$0"'
    )
    return subprocess.run(
        ["unshare", "-m", "-p", "-f", "--propagation", "private", "/bin/sh", "-c", setup, command],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def install_point(root: Path, deb: Path) -> None:
    shutil.copy2(deb, root / "tmp" / deb.name)
    done = in_root(root, f"apt-get -q -y install /tmp/{deb.name}")
    assert done.returncode == 0, f"installing {deb.name} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    (root / "tmp" / deb.name).unlink()


def tree(root: Path) -> dict[str, str]:
    """Every path the package could have touched, with what it is (file content hash, link target, dir)."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        if rel_dir != "." and UNTRACKED.match(rel_dir):
            dirnames.clear()
            continue
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            if UNTRACKED.match(rel):
                continue
            if path.is_symlink():
                out[rel] = "-> " + os.readlink(path)
            elif path.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def test_installed_point_runs_its_version_and_systemd_accepts_its_units(root: Path, debs: dict[str, Path]) -> None:
    install_point(root, debs["etapiste-point"])

    version = in_root(root, "etapiste --version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"etapiste {VERSION}"

    units = sorted(p.name for p in (root / "lib/systemd/system").glob("etapiste-*") if p.is_file())
    assert "etapiste-kiosk.service" in units and "etapiste-update.path" in units, units
    # --man=no: a point has no man pages (minbase); the units' Documentation= is not what is checked here.
    verify = in_root(root, "systemd-analyze verify --man=no " + " ".join(f"/lib/systemd/system/{u}" for u in units))
    assert verify.returncode == 0 and (verify.stdout + verify.stderr).strip() == "", verify.stdout + verify.stderr

    for user in POINT_USERS:
        entry = in_root(root, f"getent passwd {user}")
        assert entry.returncode == 0, f"{user} was not created"
        assert entry.stdout.split(":")[6].strip() in ("/usr/sbin/nologin", "/sbin/nologin", "/bin/false")


def test_purge_leaves_the_root_as_before_the_install(root: Path, debs: dict[str, Path]) -> None:
    before = tree(root)
    install_point(root, debs["etapiste-point"])
    assert "opt/etapiste/venv/bin/etapiste" in tree(root)

    purge = in_root(root, "apt-get -q -y purge --autoremove etapiste-point")
    assert purge.returncode == 0, purge.stdout[-3000:] + purge.stderr[-3000:]

    after = tree(root)
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(p for p in set(before) & set(after) if before[p] != after[p])
    assert (added, removed, changed) == ([], [], []), f"left {added[:20]}, lost {removed[:20]}, changed {changed[:20]}"
    for user in POINT_USERS:
        assert in_root(root, f"getent passwd {user}").returncode == 2, f"{user} is still there"


# ---- updates through the organiser's repository, driven by the root helper -------------------------------

NEXT = VERSION + "+next1"
"""Version N+1: the same source built with a higher Debian version (``scripts/package.sh --version``)."""
REPO_IN_ROOT = "/srv/etapiste-repo"


@pytest.fixture(scope="session")
def next_debs(tmp_path_factory: pytest.TempPathFactory, debs: dict[str, Path]) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dist-next")
    proc = subprocess.run(
        [str(REPO / "scripts" / "package.sh"), "--version", NEXT, "--no-lintian", "--out", str(out)],
        capture_output=True, text=True, timeout=3600,
    )  # fmt: skip
    assert proc.returncode == 0, f"scripts/package.sh --version {NEXT} failed:\n{proc.stderr[-3000:]}"
    return {"etapiste-point": out / f"etapiste-point_{NEXT}_amd64.deb"}


def _ops_repo(*args: str, gnupghome: Path) -> str:
    proc = subprocess.run(
        [str(REPO / ".venv/bin/etapiste"), "ops", "repo", *args, "--gnupghome", str(gnupghome)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture
def point_from_repository(root: Path, debs: dict[str, Path], next_debs: dict[str, Path], tmp_path: Path) -> Path:
    """The root as a point enrolled with the organiser's repository (N and N+1 published), running N.

    The repository is reached through a file: URI inside the root (what apt does with it is the same as
    over https: the signed Release, Signed-By, the pin); Debian's own sources are taken out, so an update
    needs no network."""
    _require("apt-ftparchive", "gpg")  # what provisioning/repo.py indexes and signs with
    gnupghome = tmp_path / "gnupg"
    gnupghome.mkdir(mode=0o700)
    subprocess.run(["gpg", "--batch", "--homedir", str(gnupghome), "--passphrase", "", "--quick-gen-key",
                    "etapiste test organiser <ops@example.invalid>", "ed25519", "sign", "1d"],
                   check=True, capture_output=True, timeout=120)  # fmt: skip
    listed = subprocess.run(["gpg", "--batch", "--homedir", str(gnupghome), "--with-colons", "-K"],
                            check=True, capture_output=True, text=True).stdout  # fmt: skip
    fpr = next(line.split(":")[9] for line in listed.splitlines() if line.startswith("fpr:"))
    repo = root / REPO_IN_ROOT.lstrip("/")
    _ops_repo("init", "--dir", str(repo), "--key", fpr, gnupghome=gnupghome)
    _ops_repo("add", "--dir", str(repo), str(debs["etapiste-point"]), str(next_debs["etapiste-point"]),
              gnupghome=gnupghome)  # fmt: skip

    from provisioning.repo import APT_PREFERENCES, apt_source

    for name in ("etc/apt/sources.list",):
        (root / name).unlink(missing_ok=True)
    for source in (root / "etc/apt/sources.list.d").glob("*"):
        source.unlink()
    (root / "etc/apt/keyrings").mkdir(parents=True, exist_ok=True)
    shutil.copy2(repo / "organiser-archive-keyring.gpg", root / "etc/apt/keyrings/etapiste-organiser.gpg")
    (root / "etc/apt/sources.list.d/etapiste.sources").write_text(apt_source(f"file://{REPO_IN_ROOT}"))
    (root / "etc/apt/preferences.d/etapiste").write_text(APT_PREFERENCES)
    done = in_root(root, f"apt-get -q update && apt-get -q -y install etapiste-point={VERSION}")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return root


def _installed(root: Path) -> str:
    return in_root(root, "dpkg-query -W -f='${Version}' etapiste-point").stdout.strip()


def _run_helper(root: Path, request: str, verdict: str | None) -> dict[str, str]:
    """Drive the root helper as etapiste-update.service does, answering its health check with ``verdict``
    (the agent's file) once it waits for one, or never (``None``)."""
    from provisioning.update import read_status

    run = root / "run/etapiste"
    (run / "commands").mkdir(parents=True, exist_ok=True)
    (root / "var/lib/etapiste").mkdir(parents=True, exist_ok=True)
    (run / "commands/update").write_text(request)
    status = run / "update/status"
    helper = subprocess.Popen(
        ["unshare", "-m", "-p", "-f", "--propagation", "private", "/bin/sh", "-c",
         f"mount -t proc proc {root}/proc && mount --rbind /dev {root}/dev && exec chroot {root} "
         "/usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin /usr/libexec/etapiste/etapiste-update"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    answered = False
    try:
        while helper.poll() is None:
            current = read_status(status) if status.exists() else {}
            if verdict is not None and not answered and current.get("state") == "checking":
                (root / "var/lib/etapiste/update-health").write_text(verdict)
                answered = True
            time.sleep(0.2)
        output = helper.stdout.read() if helper.stdout else ""
    finally:
        if helper.poll() is None:
            helper.kill()
            helper.wait()
    assert helper.returncode == 0, output
    return read_status(status)


def test_helper_upgrades_to_a_healthy_version(point_from_repository: Path) -> None:
    root = point_from_repository
    status = _run_helper(root, f"action=install\nversion={NEXT}\nhealth_timeout=60\n",
                         f"version={NEXT}\nhealthy=yes\n")  # fmt: skip
    assert status["state"] == "done", status
    assert _installed(root) == NEXT
    assert in_root(root, "etapiste --version").stdout.strip() == f"etapiste {NEXT}"


@pytest.mark.parametrize(
    ("verdict", "why"),
    [(f"version={NEXT}\nhealthy=no\nreason=switchboard unreachable\n", "switchboard unreachable"),
     (None, "no health report within 10 s")],
    ids=["unhealthy", "silent"],
)  # fmt: skip
def test_helper_rolls_back_when_the_new_version_is_unhealthy_or_silent(
    point_from_repository: Path, verdict: str | None, why: str
) -> None:
    root = point_from_repository
    status = _run_helper(root, f"action=install\nversion={NEXT}\nhealth_timeout=10\n", verdict)
    assert status["state"] == "rolled-back", status
    assert status["previous"] == VERSION and why in status["reason"]
    assert _installed(root) == VERSION
    assert in_root(root, "etapiste --version").stdout.strip() == f"etapiste {VERSION}"


def test_helper_refuses_a_version_the_repository_does_not_offer(point_from_repository: Path) -> None:
    root = point_from_repository
    status = _run_helper(root, "action=install\nversion=99.0\nhealth_timeout=10\n", None)
    assert status["state"] == "refused"
    assert status["reason"] == f"version 99.0 is not in the organiser's repository (offered: {VERSION} {NEXT})"
    assert _installed(root) == VERSION
