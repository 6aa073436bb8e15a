"""Software delivery's costs: building the packages, and the customer screen an update takes away.

1. **Build** — ``scripts/package.sh --version <v>+bench<n> --no-lintian``: a version no cache holds, so a
   full dpkg-buildpackage of both packages from the cached wheelhouse (lintian, ~5 more minutes, is left
   out: it checks, it builds nothing). Printed: its time, each .deb's size and installed size. Reference in
   the same run: the point's Python environment alone, ``python3.11 -m venv`` + ``pip install`` of the
   checkout from the same wheelhouse (what the package's build-venv step does, and what the development
   path's pip install does): the rest is debhelper, dpkg-shlibdeps, byte-compiling and compressing.
2. **Downtime** — from the last customer screen to the idle screen painted by the kiosk of the new
   version, in a throwaway Debian 12 root (:mod:`simulation.debroot`, needs root) with the organiser's
   repository on loopback (N = pyproject's version from the packaging cache, N+1 = the build above):

   * *restart* (reference): the running kiosk is stopped and started again (what ``systemctl restart``
     does to the kiosk's process), timed until it prints ``painted``;
   * *update*: the root helper's ``apt-get install etapiste-point=N+1`` runs while the kiosk keeps its
     screen (the package never stops the kiosk on upgrade: debian/rules), timed on its own, not downtime;
     then the helper's kiosk restart: stopped and started on the new version, timed until ``painted``
     (what differs from the reference: the new files are not in the page cache yet);
   * *rollback*: the same back to N (``--allow-downgrades``), what the helper's rollback costs.

   Alternating, ``--runs`` times each. The kiosk runs offscreen (``QT_QPA_PLATFORM=offscreen``) on the
   sample configuration, in the root's own mount and PID namespaces; the stop is a SIGKILL of its
   namespace (its own SIGTERM path is not what differs between the three).

Not measured: the download of the .deb over https (the repository is a ``file:`` URI, so the copy is
local), systemd's own restart latency, and cage (no seat here).

Run (as root): ``.venv/bin/python bench/bench_update.py [--runs 3] [--debs DIR] [--no-build]``
(``--debs DIR``: version N already built there; ``--no-build``: part 2 only, N+1 being N repacked with a
higher version, which dpkg unpacks file by file all the same.)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from simulation import debroot

KIOSK = "exec etapiste kiosk --at 2026-11-30T12:00 --report-painted"
KIOSK_ENV = "QT_QPA_PLATFORM=offscreen XDG_RUNTIME_DIR=/tmp HOME=/root"
APT_INSTALL = (
    "apt-get -o DPkg::Lock::Timeout=600 -q -y -o Dpkg::Options::=--force-confdef "
    "-o Dpkg::Options::=--force-confold --allow-downgrades install etapiste-point={version}"
)


def _mib(n: int) -> str:
    return f"{n / 2**20:.0f} MiB"


def bench_build(out: Path) -> tuple[dict[str, Path], str]:
    version = f"{debroot.VERSION}+bench{int(time.time())}"
    start = time.perf_counter()
    debs = debroot.build_packages(out, version, lint=False)
    built = time.perf_counter() - start
    wheelhouses = sorted(debroot.CACHE.glob("wheelhouse-*/.complete"), key=lambda p: p.stat().st_mtime)
    ref = None
    if wheelhouses:
        with tempfile.TemporaryDirectory() as venv:
            env = {**os.environ, "PIP_CONFIG_FILE": "/dev/null", "PIP_NO_INDEX": "1",
                   "PIP_FIND_LINKS": str(wheelhouses[-1].parent), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}  # fmt: skip
            start = time.perf_counter()
            subprocess.run(["/usr/bin/python3.11", "-m", "venv", venv], check=True)
            subprocess.run([f"{venv}/bin/pip", "install", "-q", str(debroot.REPO)], check=True, env=env)
            ref = time.perf_counter() - start
    print(f"build of both packages, version {version} (dpkg-buildpackage, no lintian): {built:.0f} s")
    if ref is not None:
        print(f"  reference, the point's venv alone (venv + pip install from the wheelhouse): {ref:.0f} s")
    for deb in debs.values():
        installed = subprocess.run(["dpkg-deb", "-f", str(deb), "Installed-Size"], capture_output=True,
                                   text=True, check=True).stdout.strip()  # fmt: skip
        print(f"  {deb.name}: {_mib(deb.stat().st_size)} (.deb), {_mib(int(installed) * 1024)} installed")
    return debs, version


class Kiosk:
    """The packaged kiosk running in the root until stopped."""

    def __init__(self, root: Path) -> None:
        self.proc = subprocess.Popen(debroot.in_root_argv(root, KIOSK, KIOSK_ENV), stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)  # fmt: skip
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if line != "painted":
            self.stop()
            raise RuntimeError("the kiosk in the root did not report a painted idle screen")

    def stop(self) -> None:
        self.proc.kill()  # unshare's child is the namespace's first process: the whole namespace goes
        self.proc.wait(30)


def _installed(root: Path) -> str:
    return debroot.in_root(root, "dpkg-query -W -f='${Version}' etapiste-point").stdout.strip()


def bench_downtime(point_n: Path, point_n1: Path, version_n1: str, runs: int) -> None:
    tar = debroot.base_root_tar(point_n)
    with debroot.fresh_root(tar) as root, tempfile.TemporaryDirectory() as work:
        repo, _ = debroot.organiser_repository(root, Path(work), point_n, point_n1)
        debroot.enrol_repository(root, repo)
        done = debroot.in_root(root, "apt-get -q update && " + APT_INSTALL.format(version=debroot.VERSION))
        if done.returncode != 0:
            raise RuntimeError(done.stdout[-2000:] + done.stderr[-2000:])
        times: dict[str, list[float]] = {"restart": [], "update": [], "rollback": []}
        installs: list[float] = []
        kiosk = Kiosk(root)
        for _ in range(runs):
            for kind, version in (("restart", None), ("update", version_n1), ("restart", None),
                                  ("rollback", debroot.VERSION)):  # fmt: skip
                if version is not None:  # with the kiosk still on the screen
                    start = time.perf_counter()
                    apt = debroot.in_root(root, APT_INSTALL.format(version=version))
                    installs.append(time.perf_counter() - start)
                    if apt.returncode != 0 or _installed(root) != version:
                        raise RuntimeError(f"installing {version} failed: {apt.stderr[-2000:]}")
                start = time.perf_counter()
                kiosk.stop()
                kiosk = Kiosk(root)
                times[kind].append(time.perf_counter() - start)
        kiosk.stop()
        version_seen = debroot.in_root(root, "etapiste --version").stdout.strip()

    print(f"kiosk downtime, last screen → idle screen painted (offscreen, in a Debian 12 root), {runs} runs:")
    for kind, label in (("restart", "plain restart (reference)"), ("update", f"update to {version_n1}"),
                        ("rollback", f"rollback to {debroot.VERSION}")):  # fmt: skip
        xs = times[kind]
        print(f"  {label:<44} median {statistics.median(xs):6.1f} s   min {min(xs):6.1f}   max {max(xs):6.1f}")
    extra = statistics.median(times["update"]) - statistics.median(times["restart"])
    print(f"  an update costs the screen {extra:+.1f} s against a restart (the new files not yet in the page cache)")
    print(
        f"  apt-get install of the other version meanwhile, kiosk still showing: median "
        f"{statistics.median(installs):.1f} s (not downtime); after the last rollback: {version_seen}"
    )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--debs", type=Path, help="take version N from this directory (scripts/package.sh --out)")
    ap.add_argument("--no-build", action="store_true", help="skip part 1; N+1 is N repacked (debroot.reversion)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("needs root (the throwaway root: chroot, unshare)", file=sys.stderr)
        return 2
    missing = debroot.missing_programs("dpkg-buildpackage", "mmdebstrap", "unshare", "apt-ftparchive", "gpg")
    if missing:
        print(f"missing: {' '.join(missing)} (scripts/apt-packages.txt)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as out:
        if args.debs is not None:
            n = {"etapiste-point": args.debs / f"etapiste-point_{debroot.VERSION}_amd64.deb"}
        else:
            n = debroot.build_packages(Path(out) / "n", lint=False)  # pyproject's version, cached if built before
        if args.no_build:
            version_n1 = f"{debroot.VERSION}+bench1"
            n1 = {"etapiste-point": debroot.reversion(n["etapiste-point"], version_n1, Path(out))}
        else:
            n1, version_n1 = bench_build(Path(out) / "n1")
        bench_downtime(n["etapiste-point"], n1["etapiste-point"], version_n1, args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
