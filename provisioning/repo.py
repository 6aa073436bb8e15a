"""The organiser's apt repository: ``etapiste ops repo init|add|list``.

Points get software only as Debian packages from this repository. It is made with **reprepro** (Debian's
own tool; no home-made index) and its ``Release`` file is signed with the organiser's OpenPGP key, which
each point trusts for this repository alone (``signed-by`` in the enrolment package's apt source; see
docs/ops-guide.md). ``Limit: 0`` keeps every version of a package in the index, so a point can be told
to go back to an older version and a failed update can be rolled back to the one before.

The repository directory is what the organiser's web server publishes (``dists/`` and ``pool/``); its
``conf/`` and ``db/`` stay private (``init`` writes an ``.htaccess``-free layout: publish only the two).
"""

from __future__ import annotations

import argparse
import os
import re
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


class RepoError(Exception):
    """Something the operator must fix; the message says what."""


def _run(cmd: list[str], *, env: dict[str, str] | None = None) -> str:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False, timeout=600)
    except FileNotFoundError:
        raise RepoError(f"{cmd[0]} is not installed (apt-get install reprepro gnupg)") from None
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


def init(repo: Path, key: str, gnupghome: Path | None) -> Path:
    """Create the repository (conf/distributions) and export the public key points trust.

    Returns the public keyring file (binary OpenPGP, for apt's ``signed-by``)."""
    fpr = signing_fingerprint(key, gnupghome)
    conf = repo / "conf"
    conf.mkdir(parents=True, exist_ok=True)
    (conf / "distributions").write_text(
        f"Origin: {ORIGIN}\nLabel: etapiste\nCodename: {CODENAME}\nArchitectures: amd64\n"
        f"Components: {COMPONENT}\nDescription: etapiste packages of the organiser\nSignWith: {fpr}\n"
        "Limit: 0\n",
        encoding="utf-8",
    )
    (conf / "options").write_text("verbose\n", encoding="utf-8")
    keyring = repo / "organiser-archive-keyring.gpg"
    env = _gpg_env(gnupghome)
    exported = subprocess.run(["gpg", "--batch", "--export", fpr], capture_output=True, check=True, env=env)
    keyring.write_bytes(exported.stdout)
    _run(["reprepro", "-b", str(repo), "export"], env=_gpg_env(gnupghome))
    return keyring


def add(repo: Path, debs: Sequence[Path], gnupghome: Path | None) -> list[str]:
    """Publish ``debs`` (only our packages, each name_version_amd64.deb) and re-sign the index."""
    if not (repo / "conf" / "distributions").is_file():
        raise RepoError(f"{repo} is not a repository yet: run 'etapiste ops repo init --dir {repo} --key FPR'")
    done = []
    for deb in debs:
        if not _DEB.match(deb.name):
            raise RepoError(f"{deb.name}: not one of ours (etapiste-point|etapiste-server_<version>_amd64.deb)")
        if not deb.is_file():
            raise RepoError(f"{deb} does not exist")
    for deb in debs:
        _run(["reprepro", "-b", str(repo), "includedeb", CODENAME, str(deb)], env=_gpg_env(gnupghome))
        done.append(deb.name)
    return done


def listing(repo: Path) -> list[tuple[str, str]]:
    """(package, version) of everything published, oldest version first."""
    out = _run(["reprepro", "-b", str(repo), "list", CODENAME])
    rows = []
    for line in out.splitlines():  # "bookworm|main|amd64: etapiste-point 0.1.0"
        _, _, rest = line.partition(": ")
        name, _, version = rest.partition(" ")
        if name:
            rows.append((name, version))
    return rows


def apt_source(url: str, keyring_path: str = "/etc/apt/keyrings/etapiste-organiser.gpg") -> str:
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


def main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(prog="etapiste ops repo", description="the organiser's signed apt repository")
    sub = p.add_subparsers(dest="cmd", required=True)
    for name, help_ in (("init", "create the repository, signed with the organiser's OpenPGP key"),
                        ("add", "publish packages (dist/*.deb) and re-sign"),
                        ("list", "what is published")):  # fmt: skip
        sp = sub.add_parser(name, help=help_, description=help_)
        sp.add_argument("--dir", type=Path, default=Path("repo"), help="the repository directory (./repo)")
        sp.add_argument("--gnupghome", type=Path, help="the organiser's keyring (default: gpg's)")
        if name == "init":
            sp.add_argument("--key", required=True, help="fingerprint of the organiser's signing key")
        if name == "add":
            sp.add_argument("debs", nargs="+", type=Path)
    a = p.parse_args(list(argv))
    try:
        if a.cmd == "init":
            keyring = init(a.dir, a.key, a.gnupghome)
            print(f"repository {a.dir}: signed; points trust {keyring} (put it in the enrolment package)")
        elif a.cmd == "add":
            for name in add(a.dir, a.debs, a.gnupghome):
                print(f"published {name}")
        else:
            for name, version in listing(a.dir):
                print(f"{name} {version}")
    except RepoError as exc:
        print(f"etapiste ops repo: {exc}", file=sys.stderr)
        return 2
    return 0
