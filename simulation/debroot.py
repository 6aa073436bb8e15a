"""A throwaway Debian 12 root for the packages, shared by the packaging tests and bench/bench_update.py.

The packages come from scripts/package.sh (cached by the source's hash); the root is ``mmdebstrap
--variant=minbase bookworm`` from this machine's apt sources with etapiste-point's own Depends and
Recommends already in it, cached as a tarball under ~/.cache/etapiste-packaging/roots by date and by the
dependency list, extracted once beside it, and each use gets an overlay of its own over that. Commands run
in the root through ``unshare -m -p -f`` + ``chroot``: its own mount and PID namespaces, so the /proc and
/dev it needs vanish with it and nothing it starts outlives the command. Needs root.

The organiser's repository is made with the ops tool itself (``etapiste ops repo``), signed with a
throwaway key, inside the root (reached through a ``file:`` URI: apt treats it as it treats https, with
the signed Release, Signed-By and the pin).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("ETAPISTE_PACKAGE_CACHE") or Path.home() / ".cache" / "etapiste-packaging")
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
REPO_IN_ROOT = "/srv/etapiste-repo"
"""Where the organiser's repository lives inside the root."""
ETAPISTE = REPO / ".venv" / "bin" / "etapiste"


class RootError(Exception):
    """A step of building the packages or the root failed; the message has the tool's own words."""


def missing_programs(*programs: str) -> list[str]:
    """Which of ``programs`` this machine lacks (scripts/apt-packages.txt installs them)."""
    return [p for p in programs if shutil.which(p) is None]


def build_packages(out: Path, version: str = VERSION, *, lint: bool = True) -> dict[str, Path]:
    """etapiste-point and etapiste-server .debs of ``version`` in ``out`` (scripts/package.sh; cached)."""
    cmd = [str(REPO / "scripts" / "package.sh"), "--out", str(out)]
    if version != VERSION:
        cmd += ["--version", version]
    if not lint:
        cmd.append("--no-lintian")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise RootError(f"{' '.join(cmd[1:])} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    found = {name: out / f"{name}_{version}_amd64.deb" for name in ("etapiste-point", "etapiste-server")}
    for path in found.values():
        if not path.is_file():
            raise RootError(f"scripts/package.sh did not make {path.name}")
    return found


def reversion(deb: Path, version: str, out: Path) -> Path:
    """``deb`` repacked as ``version`` (its control file and the etapiste distribution's metadata, which
    ``etapiste --version`` reads): version N+1 for update and rollback tests in a minute, where a second
    build of the same tree would take several."""
    with tempfile.TemporaryDirectory(dir=out) as work:
        tree = Path(work) / "pkg"
        subprocess.run(["dpkg-deb", "-R", str(deb), str(tree)], check=True, timeout=600)
        control = tree / "DEBIAN" / "control"
        control.write_text(re.sub(r"(?m)^Version: .*$", f"Version: {version}", control.read_text()))
        metadata = next(tree.glob("opt/etapiste/venv/lib/python3*/site-packages/etapiste-*.dist-info/METADATA"))
        metadata.write_text(re.sub(r"(?m)^Version: .*$", f"Version: {version}", metadata.read_text(), count=1))
        rel = str(metadata.relative_to(tree))
        digest = hashlib.md5(metadata.read_bytes()).hexdigest()
        md5sums = tree / "DEBIAN" / "md5sums"
        md5sums.write_text(re.sub(rf"(?m)^[0-9a-f]{{32}}  {re.escape(rel)}$", f"{digest}  {rel}", md5sums.read_text()))
        name = deb.name.split("_")[0]
        target = out / f"{name}_{version}_amd64.deb"
        subprocess.run(["dpkg-deb", "--root-owner-group", "-Zzstd", "-z1", "-b", str(tree), str(target)],
                       check=True, capture_output=True, timeout=900)  # fmt: skip
    return target


def package_depends(deb: Path) -> list[str]:
    """The Debian packages ``deb`` depends on and recommends (first of each alternative), as dpkg-shlibdeps
    and debian/control made them: put into the cached root, so installing the .deb needs no network."""
    names: set[str] = set()
    for field in ("Depends", "Recommends"):
        value = subprocess.run(["dpkg-deb", "-f", str(deb), field], capture_output=True, text=True, check=True)
        for dep in value.stdout.replace("\n", " ").split(","):
            if dep.strip():
                names.add(dep.split("|")[0].split()[0].split(":")[0])
    return sorted(names)


ROOT_MAX_AGE_DAYS = 7
"""A cached root this old is made again (Debian's point and security updates since; mmdebstrap takes
minutes, so not every day: a CI run just after midnight would pay it again)."""


def base_root_tar(point_deb: Path) -> Path:
    """Debian 12 minbase with ``point_deb``'s dependencies, as a tarball cached for a week."""
    include = package_depends(point_deb)
    key = hashlib.sha256(",".join(include).encode()).hexdigest()[:12]
    roots = CACHE / "roots"
    today = dt.date.today()
    for cached in sorted(roots.glob(f"bookworm-minbase-*-{key}.tar"), reverse=True):
        made = dt.datetime.strptime(cached.name.split("-")[2], "%Y%m%d").date()
        if (today - made).days < ROOT_MAX_AGE_DAYS:
            return cached
    tar = roots / f"bookworm-minbase-{today:%Y%m%d}-{key}.tar"
    roots.mkdir(parents=True, exist_ok=True)
    for old in roots.glob("bookworm-minbase-*.tar"):
        old.unlink()
        shutil.rmtree(old.with_name(old.name + ".d"), ignore_errors=True)
    partial = tar.with_suffix(".partial")
    command = ["mmdebstrap", "--variant=minbase", "--format=tar", f"--include={','.join(include)}", "bookworm"]
    proc = subprocess.run([*command, str(partial)], capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise RootError(f"mmdebstrap failed:\n{proc.stderr[-3000:]}")
    partial.rename(tar)
    return tar


def extracted(tar: Path) -> Path:
    """``tar`` extracted once, beside it (``<tar>.d``), and never written to afterwards: the lower layer
    of every :func:`fresh_root` made from it. Made under a temporary name and renamed, so a run killed
    midway leaves no half root to be taken for a whole one."""
    done = tar.with_name(tar.name + ".d")
    if done.is_dir():
        return done
    partial = Path(tempfile.mkdtemp(prefix=tar.name + ".", suffix=".partial", dir=tar.parent))
    try:
        subprocess.run(["tar", "-xf", str(tar), "-C", str(partial)], check=True, timeout=600)
        partial.rename(done)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return done


@contextlib.contextmanager
def fresh_root(tar: Path) -> Iterator[Path]:
    """A fresh copy of the cached root, removed afterwards.

    An overlay over the root extracted once (:func:`extracted`): what a test writes (a 700 MB package
    installed) goes to its own upper layer, and a fresh root costs a mount instead of extracting 700 MB,
    then deleting them, for every test. Where overlayfs cannot be mounted the tarball is extracted."""
    work = Path(tempfile.mkdtemp(prefix="etapiste-debroot-"))
    path = work / "root"
    mounted = False
    try:
        lower = extracted(tar)
        for name in ("root", "upper", "work"):
            (work / name).mkdir()
        options = f"lowerdir={lower},upperdir={work / 'upper'},workdir={work / 'work'}"
        mounted = subprocess.run(["mount", "-t", "overlay", "overlay", "-o", options, str(path)],
                                 capture_output=True, timeout=60).returncode == 0  # fmt: skip
        if not mounted:
            subprocess.run(["tar", "-xf", str(tar), "-C", str(path)], check=True, timeout=600)
        yield path
    finally:
        if mounted:
            subprocess.run(["umount", "--lazy", str(path)], capture_output=True, timeout=60)
        shutil.rmtree(work, ignore_errors=True)


def _enter(root: Path, env: str = "") -> str:
    return (
        f"mount -t proc proc {root}/proc && mount --rbind /dev {root}/dev && "
        f"exec chroot {root} /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "
        f'DEBIAN_FRONTEND=noninteractive {env} /bin/sh -c "$0"'
    )


def in_root_argv(root: Path, command: str, env: str = "") -> list[str]:
    """The argv that runs the shell ``command`` inside ``root`` (own mount and PID namespaces), for Popen."""
    # --kill-child: when unshare is killed, so is the namespace's first process, and with it the namespace.
    unshare = ["unshare", "-m", "-p", "-f", "--kill-child", "--propagation", "private"]
    return [*unshare, "/bin/sh", "-c", _enter(root, env), command]


def in_root(root: Path, command: str, timeout: float = 1200) -> subprocess.CompletedProcess[str]:
    """Run a shell command inside ``root`` and wait for it."""
    return subprocess.run(in_root_argv(root, command), capture_output=True, text=True, timeout=timeout)


def install_deb(root: Path, deb: Path) -> None:
    """``apt-get install ./deb`` in the root (its dependencies are there already)."""
    shutil.copy2(deb, root / "tmp" / deb.name)
    done = in_root(root, f"apt-get -q -y install /tmp/{deb.name}")
    (root / "tmp" / deb.name).unlink()
    if done.returncode != 0:
        raise RootError(f"installing {deb.name} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def gpg_key(gnupghome: Path) -> str:
    """A throwaway signing key (the organiser's, or a test archive's) in a new ``gnupghome``; its fingerprint."""
    gnupghome.mkdir(mode=0o700)
    subprocess.run(["gpg", "--batch", "--homedir", str(gnupghome), "--passphrase", "", "--quick-gen-key",
                    "etapiste test organiser <ops@example.invalid>", "ed25519", "sign", "1d"],
                   check=True, capture_output=True, timeout=120)  # fmt: skip
    listed = subprocess.run(["gpg", "--batch", "--homedir", str(gnupghome), "--with-colons", "-K"],
                            check=True, capture_output=True, text=True).stdout  # fmt: skip
    return next(line.split(":")[9] for line in listed.splitlines() if line.startswith("fpr:"))


def ops_repo(*args: str, gnupghome: Path) -> str:
    """``etapiste ops repo ARGS`` with the organiser's keyring ``gnupghome``."""
    proc = subprocess.run([str(ETAPISTE), "ops", "repo", *args, "--gnupghome", str(gnupghome)],
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    if proc.returncode != 0:
        raise RootError(f"ops repo {args[0]} failed: {proc.stderr}")
    return proc.stdout


def organiser_repository(root: Path, work: Path, *debs: Path) -> tuple[Path, Path]:
    """The organiser's repository inside ``root`` at REPO_IN_ROOT with ``debs`` published by ``ops repo``;
    returns it and the organiser's keyring (under ``work``). Debian's own sources are taken out of the
    root, so what is installed afterwards comes from this repository or the root itself (no network)."""
    gnupghome = work / "gnupg"
    fpr = gpg_key(gnupghome)
    repo = root / REPO_IN_ROOT.lstrip("/")
    ops_repo("init", "--dir", str(repo), "--key", fpr, gnupghome=gnupghome)
    ops_repo("add", "--dir", str(repo), *map(str, debs), gnupghome=gnupghome)
    (root / "etc/apt/sources.list").unlink(missing_ok=True)
    for source in (root / "etc/apt/sources.list.d").glob("*"):
        source.unlink()
    return repo, gnupghome


def enrol_repository(root: Path, repo: Path) -> None:
    """The point's apt source, key and pin for ``repo`` as provisioning/repo.py writes them."""
    from provisioning.repo import APT_PREFERENCES, POINT_KEYRING, apt_source

    keyring = root / POINT_KEYRING.lstrip("/")
    keyring.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(repo / "organiser-archive-keyring.gpg", keyring)
    (root / "etc/apt/sources.list.d/etapiste.sources").write_text(apt_source(f"file://{REPO_IN_ROOT}"))
    (root / "etc/apt/preferences.d/etapiste").write_text(APT_PREFERENCES)
