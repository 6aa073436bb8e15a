"""The packages as a point gets them: ``etapiste-point`` installed into a throwaway Debian 12 root.

Marker ``packaging`` (scripts/test.sh runs it as its own stage; it needs root, mmdebstrap and the network
once a day). The packages, the cached root and the commands run in it are :mod:`simulation.debroot`'s.

What a point's owner would notice is checked: the program runs and says the version the organiser
published, systemd accepts every unit as installed, the service users exist, ``apt-get purge`` leaves
the machine as it was before the install, the installer from an enrolment package installs from the
organiser's repository and the console is locked, updates go forward or back through the root helper,
and Debian's security updates come only from the security archive and are reported.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulation import debroot
from simulation.debroot import REPO, REPO_IN_ROOT, VERSION, gpg_key, in_root, in_root_argv

# A build with lintian and a fresh root take minutes on two shared cores (far beyond the suite-wide 300 s).
pytestmark = [pytest.mark.packaging, pytest.mark.services, pytest.mark.timeout(3600)]

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


@pytest.fixture(scope="session")
def debs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """dist/etapiste-point and -server for pyproject's version, built (or taken from the cache); or the ones
    in ``$ETAPISTE_TEST_DEBS`` (a directory), built before from the same tree: the build takes minutes, and
    on a shared work tree every other change would start it again.

    lintian starts on them at once, in the background: it takes minutes of one core, which the install
    tests (mostly disk) leave free; the file's last test waits for its verdict."""
    prebuilt = os.environ.get("ETAPISTE_TEST_DEBS")
    if prebuilt:
        found = {name: Path(prebuilt) / f"{name}_{VERSION}_amd64.deb" for name in ("etapiste-point", "etapiste-server")}
        assert all(p.is_file() for p in found.values()), f"ETAPISTE_TEST_DEBS={prebuilt} lacks {found}"
    else:
        _require("dpkg-buildpackage")
        found = debroot.build_packages(tmp_path_factory.mktemp("dist"), lint=False)
    _require("lintian")
    log = tmp_path_factory.mktemp("lintian") / "lintian.log"
    with open(log, "wb") as out:
        # As scripts/package.sh runs it: errors fail, warnings are printed for the reader.
        LINTIAN["run"] = subprocess.Popen(
            ["lintian", "--fail-on", "error", "--suppress-tags-from-file", "/dev/null", *map(str, found.values())],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    LINTIAN["log"] = log
    try:
        yield found
    finally:
        run = LINTIAN.pop("run", None)
        if isinstance(run, subprocess.Popen) and run.poll() is None:
            os.killpg(run.pid, 9)
            run.wait(10)


#: lintian's background run over the packages (started by ``debs``) and its log.
LINTIAN: dict[str, object] = {}


@pytest.fixture(scope="session")
def base_root_tar(debs: dict[str, Path]) -> Path:
    """Debian 12 minbase with etapiste-point's dependencies, as a tarball cached for the day."""
    _require("mmdebstrap", "unshare", "chroot")
    return debroot.base_root_tar(debs["etapiste-point"])


@pytest.fixture
def root(base_root_tar: Path) -> Iterator[Path]:
    """A fresh copy of the cached root for one test, removed after it."""
    with debroot.fresh_root(base_root_tar) as path:
        yield path


def install_point(root: Path, deb: Path) -> None:
    debroot.install_deb(root, deb)


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
"""Version N+1: the same package with a higher version in its control file and its Python metadata
(:func:`simulation.debroot.reversion`; ``scripts/package.sh --version`` would build it, for minutes more)."""


@pytest.fixture(scope="session")
def next_debs(tmp_path_factory: pytest.TempPathFactory, debs: dict[str, Path]) -> dict[str, Path]:
    return {"etapiste-point": debroot.reversion(debs["etapiste-point"], NEXT, tmp_path_factory.mktemp("dist-next"))}


def _organiser_repository(root: Path, tmp_path: Path, *debs: Path) -> tuple[Path, Path]:
    _require("apt-ftparchive", "gpg")  # what provisioning/repo.py indexes and signs with
    return debroot.organiser_repository(root, tmp_path, *debs)


@pytest.fixture(scope="session")
def point_from_repository_tar(
    base_root_tar: Path, debs: dict[str, Path], next_debs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The root as a point enrolled with the organiser's repository (N and N+1 published), running N, as a
    tarball for the session: each test that needs it extracts it (seconds) instead of installing (minutes).

    The repository is reached through a file: URI inside the root (what apt does with it is the same as
    over https: the signed Release, Signed-By, the pin)."""
    work = tmp_path_factory.mktemp("point-from-repository")
    with debroot.fresh_root(base_root_tar) as root:
        repo, _ = _organiser_repository(root, work, debs["etapiste-point"], next_debs["etapiste-point"])
        debroot.enrol_repository(root, repo)
        done = in_root(root, f"apt-get -q update && apt-get -q -y install etapiste-point={VERSION}")
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        tar = work / "point.tar"
        subprocess.run(["tar", "-cf", str(tar), "-C", str(root), "."], check=True, timeout=600)
    return tar


@pytest.fixture
def point_from_repository(point_from_repository_tar: Path) -> Iterator[Path]:
    with debroot.fresh_root(point_from_repository_tar) as root:
        yield root


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
    helper = subprocess.Popen(in_root_argv(root, "exec /usr/libexec/etapiste/etapiste-update"),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
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


# ---- the installer: enrolment package → repository, package, enrolment, console lock ---------------------


def _mode(path: Path) -> str:
    st = path.lstat()
    return f"{st.st_mode & 0o7777:o} {st.st_uid} {st.st_gid}"


def test_installer_from_an_enrolment_package_installs_the_point_from_the_organisers_repository(
    root: Path, debs: dict[str, Path], tmp_path: Path
) -> None:
    """systemd/install-point.sh as a technician runs it on a fresh Debian 12 (here the throwaway root, where no
    systemd runs): the enrolment package made by the ops tool carries the repository; the installer writes
    its key, source and pin, installs etapiste-point with apt-get, applies the enrolment; the package locks
    the physical console."""
    from tests.systemd.conftest import make_enrolment

    repo, gnupghome = _organiser_repository(root, tmp_path, debs["etapiste-point"])
    package = make_enrolment(root / "tmp/enrolment")
    debroot.ops_repo("enrolment", "--dir", str(repo), "--url", f"file://{REPO_IN_ROOT}", "--into", str(package.path),
              gnupghome=gnupghome)  # fmt: skip
    shutil.copy2(REPO / "systemd/install-point.sh", root / "tmp/install-point.sh")

    done = in_root(root, "bash /tmp/install-point.sh --enrolment /tmp/enrolment")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"installed etapiste-point {VERSION} from the organiser's repository" in done.stdout
    assert in_root(root, "etapiste --version").stdout.strip() == f"etapiste {VERSION}"

    # The repository: the key trusted for it alone, the source signed-by that key, the pin to its origin.
    source = (root / "etc/apt/sources.list.d/etapiste.sources").read_text()
    assert f"URIs: file://{REPO_IN_ROOT}\n" in source
    assert "Signed-By: /etc/apt/keyrings/etapiste-organiser.gpg\n" in source
    keyring = root / "etc/apt/keyrings/etapiste-organiser.gpg"
    assert keyring.read_bytes() == (repo / "organiser-archive-keyring.gpg").read_bytes()
    from provisioning.repo import APT_PREFERENCES

    assert (root / "etc/apt/preferences.d/etapiste").read_text() == APT_PREFERENCES
    policy = in_root(root, "apt-cache policy etapiste-point").stdout
    # The version's priority is the pin's (990); the line under it is the source's own default (500).
    assert re.search(rf"\*\*\* {re.escape(VERSION)} 990\n\s+500 file:{REPO_IN_ROOT} bookworm/main", policy), policy

    # The enrolment, with the modes the checkout installer gives it.
    agent_gid = in_root(root, "getent group etapiste-agent").stdout.split(":")[2]
    assert _mode(root / "etc/etapiste/agent.env") == f"640 0 {agent_gid}"
    assert (root / "etc/etapiste/agent.env").read_bytes() == (package.path / "agent.env").read_bytes()
    assert _mode(root / "etc/etapiste/enrolment/mqtt-password") == f"640 0 {agent_gid}"
    assert (root / "etc/etapiste/organiser.trust.json").read_bytes() == package.trust_json

    # The physical console, locked by the package itself.
    assert "kernel.sysrq = 0" in (root / "etc/sysctl.d/99-zz-etapiste-point.conf").read_text()
    assert "CtrlAltDelBurstAction=none" in (root / "etc/systemd/system.conf.d/etapiste-point.conf").read_text()
    assert os.readlink(root / "etc/systemd/system/ctrl-alt-del.target") == "/dev/null"
    policy_file = root / "etc/usbguard/rules.d/70-etapiste-point.conf"
    assert _mode(policy_file) == "600 0 0"
    assert policy_file.read_bytes() == (REPO / "systemd/usbguard/70-etapiste-point.conf").read_bytes()
    assert _mode(root / "etc/usbguard/rules.d/90-etapiste-local.conf") == "600 0 0"
    assert (root / "etc/systemd/system/basic.target.wants/usbguard.service").is_symlink()  # enabled

    # Run again: nothing changes.
    again = in_root(root, "bash /tmp/install-point.sh --enrolment /tmp/enrolment")
    assert again.returncode == 0 and "nothing changed" in again.stdout, again.stdout + again.stderr


# ---- Debian's security updates through the root helper -------------------------------------------------


def _tiny_deb(out: Path, name: str, version: str) -> Path:
    """A package with one file saying its version: a stand-in for a Debian package that gets an update."""
    build = out / f"{name}-{version}"
    (build / "DEBIAN").mkdir(parents=True)
    (build / "DEBIAN/control").write_text(
        f"Package: {name}\nVersion: {version}\nArchitecture: all\nMaintainer: test <test@example.invalid>\n"
        f"Priority: optional\nSection: misc\nDescription: stand-in package for the security update test\n"
    )
    doc = build / "usr/share/doc" / name
    doc.mkdir(parents=True)
    (doc / "version").write_text(version + "\n")
    deb = out / f"{name}_{version}_all.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", str(build), str(deb)], check=True, capture_output=True)
    return deb


def _archive(path: Path, debs: list[Path], release: dict[str, str], gnupghome: Path, fpr: str) -> None:
    """A signed apt archive at ``path`` whose Release says ``release`` (as Debian's archives label theirs)."""
    pool = path / "pool"
    pool.mkdir(parents=True)
    for deb in debs:
        shutil.copy2(deb, pool / deb.name)
    dist = path / "dists" / release["Codename"]
    (dist / "main/binary-all").mkdir(parents=True)
    packages = subprocess.run(["apt-ftparchive", "packages", "pool"], cwd=path, check=True, capture_output=True)
    (dist / "main/binary-all/Packages").write_bytes(packages.stdout)
    fields = {**release, "Architectures": "all amd64", "Components": "main"}
    options = [arg for k, v in fields.items() for arg in ("-o", f"APT::FTPArchive::Release::{k}={v}")]
    rel = subprocess.run(["apt-ftparchive", *options, "release", "."], cwd=dist, check=True, capture_output=True)
    (dist / "Release").write_bytes(rel.stdout)
    sign = ["gpg", "--batch", "--homedir", str(gnupghome), "--local-user", fpr, "--clearsign"]
    subprocess.run([*sign, "--output", str(dist / "InRelease"), str(dist / "Release")], check=True, capture_output=True)


def test_helper_runs_debians_security_updates_only_and_reports_them(
    point_from_repository: Path, tmp_path: Path
) -> None:
    """action=security as the agent requests it in the window: unattended-upgrade with the package's own
    configuration takes the upgrade from the archive labelled Debian-Security and leaves the one from an
    ordinary Debian suite and N+1 in the organiser's repository; the helper restarts the kiosk, waits for
    its health verdict and reports what was upgraded, which the agent's update state (what ``ops status``
    shows) carries."""
    _require("apt-ftparchive", "gpg", "dpkg-deb")
    root = point_from_repository
    probes = tmp_path / "probes"
    probes.mkdir()
    old = [_tiny_deb(probes, "probe-security", "1.0"), _tiny_deb(probes, "probe-ordinary", "1.0")]
    for deb in old:
        shutil.copy2(deb, root / "tmp" / deb.name)
    assert in_root(root, "dpkg -i /tmp/probe-security_1.0_all.deb /tmp/probe-ordinary_1.0_all.deb").returncode == 0
    gnupghome = tmp_path / "gnupg"
    fpr = gpg_key(gnupghome)
    security = {"Origin": "Debian", "Label": "Debian-Security", "Suite": "stable-security",
                "Codename": "bookworm-security"}  # fmt: skip
    ordinary = {"Origin": "Debian", "Label": "Debian", "Suite": "stable", "Codename": "bookworm"}
    _archive(root / "srv/security", [_tiny_deb(probes, "probe-security", "1.0+deb12u1")], security, gnupghome, fpr)
    _archive(root / "srv/debian", [_tiny_deb(probes, "probe-ordinary", "1.1")], ordinary, gnupghome, fpr)
    key = subprocess.run(["gpg", "--batch", "--homedir", str(gnupghome), "--export", fpr], check=True,
                         capture_output=True).stdout  # fmt: skip
    (root / "etc/apt/keyrings").mkdir(parents=True, exist_ok=True)
    (root / "etc/apt/keyrings/test-debian.gpg").write_bytes(key)
    (root / "etc/apt/sources.list.d/debian.sources").write_text(
        "Types: deb\nURIs: file:///srv/debian\nSuites: bookworm\nComponents: main\n"
        "Signed-By: /etc/apt/keyrings/test-debian.gpg\n\n"
        "Types: deb\nURIs: file:///srv/security\nSuites: bookworm-security\nComponents: main\n"
        "Signed-By: /etc/apt/keyrings/test-debian.gpg\n"
    )

    status = _run_helper(root, "action=security\nhealth_timeout=60\n", f"version={VERSION}\nhealthy=yes\n")

    assert status["state"] == "done", status
    assert status["upgraded"] == "probe-security", status
    versions = in_root(root, "dpkg-query -W -f='${Package} ${Version}\\n' probe-security probe-ordinary").stdout
    assert versions.split("\n")[:2] == ["probe-ordinary 1.0", "probe-security 1.0+deb12u1"], versions
    assert (root / "run/etapiste/commands/restart-kiosk").exists()  # the kiosk was restarted for the check
    assert _installed(root) == VERSION  # N+1 is in the organiser's repository: not Debian's security update

    from provisioning.ops_cli import _update_cell
    from provisioning.update import SoftwareUpdater

    updater = SoftwareUpdater(root / "var/lib/etapiste", root / "run/etapiste", VERSION)
    state = updater.state(root / "var/lib/etapiste/point.yaml")
    assert (state["action"], state["state"], state["upgraded"]) == ("security", "done", "probe-security")
    assert _update_cell({"software_update": state}).endswith(" ok (probe-security)")


def test_lintian_reports_no_errors_in_either_package(debs: dict[str, Path]) -> None:
    """Last in the file: lintian has run beside the install tests since the packages were ready."""
    run, log = LINTIAN["run"], LINTIAN["log"]
    assert isinstance(run, subprocess.Popen) and isinstance(log, Path)
    rc = run.wait(1800)
    said = log.read_text(errors="replace")
    print(said)  # the warnings, for the reader (-rA / a failure shows them)
    assert rc == 0, f"lintian reports errors (exit {rc}):\n{said[-6000:]}"
