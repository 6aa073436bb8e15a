"""The organiser's apt repository: ``etapiste ops repo init|add|list``.

Points get software only as Debian packages from this repository. Its indexes are made by
**apt-ftparchive** (Debian's own tool, apt-utils; no home-made index) and its ``Release`` file is signed
with the organiser's OpenPGP key (``InRelease`` and ``Release.gpg``), which each point trusts for this
repository alone (``Signed-By`` in its apt source; see docs/ops-guide.md). Every published version stays in
the pool and in the index, so a point can be told to go back to an older version and a failed update can
be rolled back to the one before. (reprepro was the first choice, but Debian 12's reprepro 5.3 keeps one
version per package and knows no ``Limit:``: publishing N+1 would have taken N away from every point.)

The repository directory is what the organiser's web server publishes (``dists/`` and ``pool/``, plus
the public key); its ``conf/`` stays private.
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

#: The suite points follow; one per Debian release the points run.
CODENAME = "bookworm"
COMPONENT = "main"
ORIGIN = "etapiste-organiser"
"""The ``Origin:`` of the repository's Release file: the points' apt pinning names it."""
PACKAGES = ("etapiste-point", "etapiste-server")

_KEYID = re.compile(r"^[0-9A-Fa-f]{16,40}$")
_DEB = re.compile(r"^(etapiste-point|etapiste-server)_([0-9][A-Za-z0-9.+~]{0,63})_amd64\.deb$")


_NOT_YET = "{repo} is not a repository yet: run 'etapiste ops repo init --dir {repo} --key FPR'"


class RepoError(Exception):
    """Something the operator must fix; the message says what."""


def _run(cmd: list[str], *, env: dict[str, str] | None = None) -> str:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False, timeout=600)
    except FileNotFoundError:
        raise RepoError(f"{cmd[0]} is not installed (apt-get install apt-utils gnupg)") from None
    if proc.returncode != 0:
        raise RepoError(f"{' '.join(cmd[:3])} failed: {(proc.stderr or proc.stdout).strip()[-800:]}")
    return proc.stdout


def _gpg_env(gnupghome: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    if gnupghome is not None:
        env["GNUPGHOME"] = str(gnupghome)
    return env


def signing_fingerprint(key: str, gnupghome: Path | None) -> str:
    """The full fingerprint of the organiser's secret signing key ``key`` (an id or fingerprint)."""
    if not _KEYID.match(key):
        raise RepoError(f"--key {key!r} must be the signing key's fingerprint (hex, e.g. from gpg -K)")
    out = _run(["gpg", "--batch", "--with-colons", "--list-secret-keys", key], env=_gpg_env(gnupghome))
    fprs = [line.split(":")[9] for line in out.splitlines() if line.startswith("fpr:")]
    if not fprs:
        raise RepoError(f"no secret key {key} in the keyring: the repository must be signed by the organiser")
    return fprs[0]


def _run_bytes(cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> bytes:
    try:
        proc = subprocess.run(cmd, capture_output=True, env=env, cwd=cwd, check=False, timeout=600)
    except FileNotFoundError:
        raise RepoError(f"{cmd[0]} is not installed (apt-get install apt-utils gnupg)") from None
    if proc.returncode != 0:
        raise RepoError(f"{' '.join(cmd[:3])} failed: {proc.stderr.decode(errors='replace').strip()[-800:]}")
    return proc.stdout


def init(repo: Path, key: str, gnupghome: Path | None) -> Path:
    """Create the repository (its signing key in conf/, an empty signed index) and export the public key
    points trust. Returns the public keyring file (binary OpenPGP, for apt's ``Signed-By``)."""
    fpr = signing_fingerprint(key, gnupghome)
    (repo / "conf").mkdir(parents=True, exist_ok=True)
    (repo / "conf" / "signing-key").write_text(fpr + "\n", encoding="utf-8")
    (repo / "pool" / COMPONENT).mkdir(parents=True, exist_ok=True)
    keyring = repo / "organiser-archive-keyring.gpg"
    keyring.write_bytes(_run_bytes(["gpg", "--batch", "--export", fpr], env=_gpg_env(gnupghome)))
    _export(repo, gnupghome)
    return keyring


def _signing_key(repo: Path) -> str:
    try:
        fpr = (repo / "conf" / "signing-key").read_text(encoding="utf-8").strip()
    except OSError:
        raise RepoError(
            f"{repo} is not a repository yet: run 'etapiste ops repo init --dir {repo} --key FPR'"
        ) from None
    if not _KEYID.match(fpr):
        raise RepoError(f"{repo}/conf/signing-key does not hold a key fingerprint; run init again")
    return fpr


def _export(repo: Path, gnupghome: Path | None) -> None:
    """Index every .deb in the pool (every version), write Release and sign it (InRelease, Release.gpg)."""
    fpr = _signing_key(repo)
    dist = repo / "dists" / CODENAME
    binary = dist / COMPONENT / "binary-amd64"
    binary.mkdir(parents=True, exist_ok=True)
    packages = _run_bytes(["apt-ftparchive", "packages", f"pool/{COMPONENT}"], cwd=repo)
    (binary / "Packages").write_bytes(packages)
    (binary / "Packages.gz").write_bytes(gzip.compress(packages, mtime=0))
    fields = {"Origin": ORIGIN, "Label": "etapiste", "Suite": CODENAME, "Codename": CODENAME,
              "Architectures": "amd64", "Components": COMPONENT,
              "Description": "etapiste packages of the organiser"}  # fmt: skip
    for stale in ("Release", "InRelease", "Release.gpg"):  # apt-ftparchive would hash the old ones too
        (dist / stale).unlink(missing_ok=True)
    options = [arg for k, v in fields.items() for arg in ("-o", f"APT::FTPArchive::Release::{k}={v}")]
    release = _run_bytes(["apt-ftparchive", *options, "release", "."], cwd=dist)
    (dist / "Release").write_bytes(release)
    env = _gpg_env(gnupghome)
    sign = ["gpg", "--batch", "--yes", "--local-user", fpr, "--digest-algo", "SHA512"]
    _run_bytes([*sign, "--clearsign", "--output", str(dist / "InRelease"), str(dist / "Release")], env=env)
    _run_bytes(
        [*sign, "--armor", "--detach-sign", "--output", str(dist / "Release.gpg"), str(dist / "Release")], env=env
    )


def add(repo: Path, debs: Sequence[Path], gnupghome: Path | None) -> list[str]:
    """Publish ``debs`` (only our packages, each name_version_amd64.deb) and re-sign the index. A version
    already published is refused unless the file is the same (a version names one build, for every point)."""
    _signing_key(repo)
    for deb in debs:
        if not _DEB.match(deb.name):
            raise RepoError(f"{deb.name}: not one of ours (etapiste-point|etapiste-server_<version>_amd64.deb)")
        if not deb.is_file():
            raise RepoError(f"{deb} does not exist")
        control = _run_bytes(["dpkg-deb", "-f", str(deb), "Package", "Version"]).decode()
        m = _DEB.match(deb.name)
        assert m is not None
        if control.split() != ["Package:", m.group(1), "Version:", m.group(2)]:
            raise RepoError(f"{deb.name}: its control file says {' '.join(control.split())}, not what its name says")
    done = []
    for deb in debs:
        name = _DEB.match(deb.name)
        assert name is not None
        target = repo / "pool" / COMPONENT / name.group(1) / deb.name
        if target.exists():
            if target.read_bytes() != deb.read_bytes():
                raise RepoError(f"{deb.name} is published already, with other content: publish a new version")
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".partial")
        shutil.copyfile(deb, tmp)
        tmp.chmod(0o644)
        os.replace(tmp, target)
        done.append(deb.name)
    _export(repo, gnupghome)
    return done


def listing(repo: Path) -> list[tuple[str, str]]:
    """(package, version) of everything published, in the index's order."""
    try:
        text = (repo / "dists" / CODENAME / COMPONENT / "binary-amd64" / "Packages").read_text(encoding="utf-8")
    except OSError:
        raise RepoError(
            f"{repo} is not a repository yet: run 'etapiste ops repo init --dir {repo} --key FPR'"
        ) from None
    rows = []
    for stanza in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in stanza.splitlines() if ": " in line and not line[0].isspace())
        if "Package" in fields:
            rows.append((fields["Package"], fields.get("Version", "?")))
    return rows


#: Where a point keeps the organiser's public key (apt's ``Signed-By``).
POINT_KEYRING = "/etc/apt/keyrings/etapiste-organiser.gpg"


def apt_source(url: str, keyring_path: str = POINT_KEYRING) -> str:
    """The point's apt source (deb822) for this repository: signed-by its key and nothing else."""
    if not re.match(r"^(https?|file)://[A-Za-z0-9.:/_~%-]+$", url):
        raise RepoError(f"{url!r} is not a repository URL (https://host/path)")
    return (f"Types: deb\nURIs: {url}\nSuites: {CODENAME}\nComponents: {COMPONENT}\n"
            f"Signed-By: {keyring_path}\n")  # fmt: skip


#: apt preferences: our packages only from the organiser's repository (any other source's are ignored).
APT_PREFERENCES = f"""\
# etapiste: the point installs its own software only from the organiser's repository.
Package: etapiste-*
Pin: release o={ORIGIN}
Pin-Priority: 990

Package: etapiste-*
Pin: release *
Pin-Priority: -1
"""


#: The enrolment package's folder for the repository, and the files in it (systemd/install-point.sh reads them).
ENROLMENT_DIR = "repository"
ENROLMENT_FILES = ("etapiste.sources", "etapiste.pref", "organiser-archive-keyring.gpg")


def enrolment(repo: Path, url: str, into: Path) -> list[Path]:
    """Put the repository into a point's enrolment package ``into``: ``repository/etapiste.sources`` (the
    deb822 source, Signed-By the key below), ``repository/etapiste.pref`` (the pin) and
    ``repository/organiser-archive-keyring.gpg`` (the public key from ``init``). The installer
    (``systemd/install-point.sh --enrolment``) writes them to /etc/apt before it installs etapiste-point."""
    _signing_key(repo)
    keyring = repo / "organiser-archive-keyring.gpg"
    if not keyring.is_file() or keyring.stat().st_size == 0:
        raise RepoError(f"{keyring} is missing: run 'etapiste ops repo init' again")
    source = apt_source(url, POINT_KEYRING)
    out = into / ENROLMENT_DIR
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in zip(
        ENROLMENT_FILES, (source.encode(), APT_PREFERENCES.encode(), keyring.read_bytes()), strict=True
    ):
        path = out / name
        tmp = path.with_name(f".{name}.partial")
        tmp.write_bytes(data)
        tmp.chmod(0o644)
        os.replace(tmp, path)
        written.append(path)
    return written


def main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(prog="etapiste ops repo", description="the organiser's signed apt repository")
    sub = p.add_subparsers(dest="cmd", required=True)
    for name, help_ in (("init", "create the repository, signed with the organiser's OpenPGP key"),
                        ("add", "publish packages (dist/*.deb) and re-sign"),
                        ("list", "what is published"),
                        ("enrolment", "the repository (source, pin, key) for an enrolment package")):  # fmt: skip
        sp = sub.add_parser(name, help=help_, description=help_)
        sp.add_argument("--dir", type=Path, default=Path("repo"), help="the repository directory (./repo)")
        sp.add_argument("--gnupghome", type=Path, help="the organiser's keyring (default: gpg's)")
        if name == "init":
            sp.add_argument("--key", required=True, help="fingerprint of the organiser's signing key")
        if name == "add":
            sp.add_argument("debs", nargs="+", type=Path)
        if name == "enrolment":
            sp.add_argument("--url", required=True, help="where points reach the repository (https://host/path)")
            sp.add_argument("--into", required=True, type=Path, help="the point's enrolment package (a directory)")
    a = p.parse_args(list(argv))
    try:
        if a.cmd == "init":
            keyring = init(a.dir, a.key, a.gnupghome)
            print(
                f"repository {a.dir}: signed; points trust {keyring} "
                "(put it in each enrolment package: etapiste ops repo enrolment --url URL --into DIR)"
            )
        elif a.cmd == "add":
            for name in add(a.dir, a.debs, a.gnupghome):
                print(f"published {name}")
        elif a.cmd == "enrolment":
            for path in enrolment(a.dir, a.url, a.into):
                print(f"wrote {path}")
        else:
            for name, version in listing(a.dir):
                print(f"{name} {version}")
    except RepoError as exc:
        print(f"etapiste ops repo: {exc}", file=sys.stderr)
        return 2
    return 0
