"""systemd/install-point.sh against a throwaway fresh-Debian root: every file it writes, with its mode and
owner; the point's users; who can read what (checked by the kernel, as those users); idempotency; bad
enrolment input refused with nothing written; and an uninstall that leaves the root as it was."""

from __future__ import annotations

import os
import re
import select
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from simulation.services.common import require_program
from tests.systemd.conftest import UNITS_DIR, Enrolment, run_installer, snapshot

REPO = Path(__file__).resolve().parents[2]
INSTALLED_UNITS = sorted(p.name for p in UNITS_DIR.iterdir() if p.is_file())
USER_DB = {"etc/passwd", "etc/group", "etc/shadow", "etc/gshadow"}
# Written by the standard user-database tools (systemd-sysusers, userdel): lock and backup files.
USER_DB_SIDE_FILES = {"etc/.pwd.lock", "etc/passwd-", "etc/group-", "etc/shadow-", "etc/gshadow-"}

# path -> (kind, mode, owner, group) for everything a full installation writes (besides the user database).
K, A = "etapiste-kiosk", "etapiste-agent"
EXPECTED: dict[str, tuple[str, int, str, str]] = {
    **{f"etc/systemd/system/{u}": ("file", 0o644, "root", "root") for u in INSTALLED_UNITS},
    "etc/systemd/system/cups.service.d": ("dir", 0o755, "root", "root"),
    "etc/systemd/system/cups.service.d/etapiste-privacy.conf": ("file", 0o644, "root", "root"),
    "etc/systemd/system/graphical.target.wants": ("dir", 0o755, "root", "root"),
    "etc/sysusers.d": ("dir", 0o755, "root", "root"),
    "etc/sysusers.d/etapiste.conf": ("file", 0o644, "root", "root"),
    "etc/tmpfiles.d/etapiste.conf": ("file", 0o644, "root", "root"),
    "etc/udev/rules.d/95-etapiste-kiosk.rules": ("file", 0o644, "root", "root"),
    "etc/pam.d/etapiste-kiosk": ("file", 0o644, "root", "root"),
    "usr/libexec": ("dir", 0o755, "root", "root"),
    "usr/libexec/etapiste": ("dir", 0o755, "root", "root"),
    "usr/libexec/etapiste/etapiste-update": ("file", 0o755, "root", "root"),
    "etc/cups/cupsd.conf": ("file", 0o640, "root", "lp"),
    "etc/etapiste": ("dir", 0o755, "root", "root"),
    "etc/etapiste/organiser.trust.json": ("file", 0o644, "root", "root"),
    "etc/etapiste/agent.env": ("file", 0o640, "root", A),
    "etc/etapiste/enrolment": ("dir", 0o750, "root", A),
    "etc/etapiste/enrolment/mqtt-password": ("file", 0o640, "root", A),
    "etc/etapiste/enrolment/ca.pem": ("file", 0o640, "root", A),
    "etc/etapiste/switchboard-credential": ("file", 0o640, "root", K),
    "var/lib/etapiste": ("dir", 0o2750, A, K),
    "run/etapiste/link": ("dir", 0o2750, A, K),
    "opt/etapiste": ("dir", 0o755, "root", "root"),
    "run/etapiste": ("dir", 0o755, "root", "root"),
    "run/etapiste/scan": ("dir", 0o700, K, K),
    "run/etapiste/spool": ("dir", 0o700, K, K),
    "run/etapiste/commands": ("dir", 0o770, "root", A),
    # The physical point: no SysRq, no Ctrl+Alt+Del reboot, USB devices by class (issue 23).
    "etc/sysctl.d": ("dir", 0o755, "root", "root"),
    "etc/sysctl.d/99-zz-etapiste-point.conf": ("file", 0o644, "root", "root"),
    "etc/systemd/system.conf.d": ("dir", 0o755, "root", "root"),
    "etc/systemd/system.conf.d/etapiste-point.conf": ("file", 0o644, "root", "root"),
    "etc/systemd/system/basic.target.wants": ("dir", 0o755, "root", "root"),
    "etc/usbguard": ("dir", 0o755, "root", "root"),
    "etc/usbguard/rules.d": ("dir", 0o700, "root", "root"),
    "etc/usbguard/rules.d/70-etapiste-point.conf": ("file", 0o600, "root", "root"),
    "etc/usbguard/rules.d/90-etapiste-local.conf": ("file", 0o600, "root", "root"),
}
#: Installed from systemd/ as they are: repository path → installed path.
PHYSICAL_FILES = {
    "sysctl.d/99-zz-etapiste-point.conf": "etc/sysctl.d/99-zz-etapiste-point.conf",
    "system.conf.d/etapiste-point.conf": "etc/systemd/system.conf.d/etapiste-point.conf",
    "usbguard/70-etapiste-point.conf": "etc/usbguard/rules.d/70-etapiste-point.conf",
    "usbguard/90-etapiste-local.conf": "etc/usbguard/rules.d/90-etapiste-local.conf",
}
#: Links systemctl makes for the physical point: Ctrl+Alt+Del masked, usbguard started at boot.
SYSTEM_LINKS = {
    "etc/systemd/system/ctrl-alt-del.target": "/dev/null",
    "etc/systemd/system/basic.target.wants/usbguard.service": "/lib/systemd/system/usbguard.service",
}
#: The path the kiosk is started with, pointing at the agent's state.
POINT_YAML_LINK = "etc/etapiste/point.yaml"
ENABLED_LINKS = {
    "etc/systemd/system/multi-user.target.wants/etapiste-kiosk.path",
    "etc/systemd/system/graphical.target.wants/etapiste-kiosk.service",
    "etc/systemd/system/multi-user.target.wants/etapiste-agent.service",
    "etc/systemd/system/multi-user.target.wants/etapiste-kiosk-restart.path",
    "etc/systemd/system/multi-user.target.wants/etapiste-reboot.path",
    "etc/systemd/system/multi-user.target.wants/etapiste-update.path",
}


def user_db(root: Path, name: str) -> dict[str, list[str]]:
    return {line.split(":")[0]: line.split(":") for line in (root / "etc" / name).read_text().splitlines()}


def ids(root: Path) -> tuple[dict[str, int], dict[str, int]]:
    users = {n: int(f[2]) for n, f in user_db(root, "passwd").items()}
    groups = {n: int(f[2]) for n, f in user_db(root, "group").items()}
    return users, groups


def as_user(root: Path, user: str, *command: str) -> bool:
    """Run ``command`` with the uid and gid of the root's ``user`` and no other group: the kernel decides."""
    entry = user_db(root, "passwd")[user]
    result = subprocess.run(
        [require_program("setpriv"), f"--reuid={entry[2]}", f"--regid={entry[3]}", "--clear-groups",
         "--", *command],
        capture_output=True,
        timeout=30,
    )  # fmt: skip
    return result.returncode == 0


def test_installer_writes_every_file_with_its_mode_and_owner(fresh_root: Path, enrolment: Enrolment) -> None:
    before = snapshot(fresh_root)
    result = run_installer(fresh_root, "--enrolment", str(enrolment.path))
    assert result.returncode == 0, result.stderr
    after = snapshot(fresh_root)
    users, groups = ids(fresh_root)

    written = {p for p in after if before.get(p) != after[p]} - USER_DB - USER_DB_SIDE_FILES
    assert written == set(EXPECTED) | ENABLED_LINKS | {POINT_YAML_LINK} | set(SYSTEM_LINKS)
    for path, (kind, mode, owner, group) in EXPECTED.items():
        st = (fresh_root / path).lstat()
        assert after[path][0] == kind, path
        assert (oct(st.st_mode & 0o7777), st.st_uid, st.st_gid) == (oct(mode), users[owner], groups[group]), path
    for link in ENABLED_LINKS:
        assert after[link] == ("link", "/etc/systemd/system/" + Path(link).name)
    assert after[POINT_YAML_LINK] == ("link", "/var/lib/etapiste/point.yaml")
    for link, target in SYSTEM_LINKS.items():
        assert after[link][0] == "link" and Path(str(after[link][1])).name == Path(target).name, link
        assert str(after[link][1]).endswith(target.removeprefix("/lib")), after[link]
    for source, installed in PHYSICAL_FILES.items():
        assert (fresh_root / installed).read_bytes() == (REPO / "systemd" / source).read_bytes(), installed

    # Contents: the units and rules are the checkout's; the enrolment package is installed as given.
    for unit in INSTALLED_UNITS:
        assert (fresh_root / "etc/systemd/system" / unit).read_bytes() == (UNITS_DIR / unit).read_bytes()
    assert (fresh_root / "etc/etapiste/organiser.trust.json").read_bytes() == enrolment.trust_json
    assert (fresh_root / "etc/etapiste/agent.env").read_bytes() == (enrolment.path / "agent.env").read_bytes()
    cupsd = (fresh_root / "etc/cups/cupsd.conf").read_text().splitlines()
    assert "PreserveJobFiles No" in cupsd and "PreserveJobHistory No" in cupsd
    # The user database keeps Debian's modes (shadow stays 0640 root:shadow).
    assert oct((fresh_root / "etc/shadow").stat().st_mode & 0o7777) == oct(0o640)


def test_point_users_are_unprivileged_and_in_no_other_group(fresh_root: Path, enrolment: Enrolment) -> None:
    assert run_installer(fresh_root, "--enrolment", str(enrolment.path)).returncode == 0
    passwd = user_db(fresh_root, "passwd")
    assert passwd[K][5:] == ["/run/etapiste-kiosk", "/usr/sbin/nologin"]
    assert passwd[A][5:] == ["/var/lib/etapiste", "/usr/sbin/nologin"]
    for user in (K, A):
        assert 0 < int(passwd[user][2]) < 1000, "a system user"
        assert passwd[user][2] != "0"
    members = {name: fields[3].split(",") for name, fields in user_db(fresh_root, "group").items()}
    assert not [g for g, m in members.items() if K in m or A in m], "the point's users belong to no extra group"


def test_kiosk_reads_its_configuration_but_never_the_agents_secrets(fresh_root: Path, enrolment: Enrolment) -> None:
    assert run_installer(fresh_root, "--enrolment", str(enrolment.path)).returncode == 0
    state, etc = fresh_root / "var/lib/etapiste", fresh_root / "etc/etapiste"
    # The agent writes point.yaml atomically in its state directory, with the umask its unit sets.
    assert as_user(fresh_root, A, "sh", "-c", f"umask 027; echo 'schema: 1' > {state}/.point.yaml.tmp"
                   f" && mv {state}/.point.yaml.tmp {state}/point.yaml")  # fmt: skip
    assert as_user(fresh_root, K, "cat", str(state / "point.yaml")), "the kiosk reads the point's configuration"
    assert not as_user(fresh_root, K, "touch", str(state / "point.yaml")), "… and cannot change it"
    assert not as_user(fresh_root, K, "touch", str(state / "forged.yaml"))
    assert as_user(fresh_root, K, "cat", str(etc / "switchboard-credential"))
    for secret in ("agent.env", "enrolment/mqtt-password", "enrolment/ca.pem"):
        assert as_user(fresh_root, A, "cat", str(etc / secret)), f"the agent reads {secret}"
        assert not as_user(fresh_root, K, "cat", str(etc / secret)), f"the kiosk must not read {secret}"
    assert not as_user(fresh_root, A, "touch", str(etc / "organiser.trust.json")), "the trust root is root's"
    assert not as_user(fresh_root, A, "cat", str(etc / "switchboard-credential")), "the kiosk's, not the agent's"
    assert not as_user(fresh_root, K, "touch", str(fresh_root / "run/etapiste/commands/reboot"))
    assert as_user(fresh_root, A, "touch", str(fresh_root / "run/etapiste/commands/restart-kiosk"))
    assert not as_user(fresh_root, A, "ls", str(fresh_root / "run/etapiste/scan")), "scans are the kiosk's only"
    assert as_user(fresh_root, K, "touch", str(fresh_root / "run/etapiste/scan/page-1.png"))


# Python scripts run as a point's user: the interpreter (under /root, not readable by them) starts as
# root, imports what it needs, then drops to the user's uid and gid with no other group, as systemd
# would start the unit. Arguments: uid gid umask socket-path.
AS_USER = """
import asyncio, concurrent.futures.thread, os, socket, sys
from provisioning.kiosk_link import KioskLinkClient, KioskLinkServer
uid, gid, umask, path = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3], 8), sys.argv[4]
os.setgroups([])
os.setresgid(gid, gid, gid)
os.setresuid(uid, uid, uid)
os.umask(umask)
"""
# The agent's real end of the kiosk link (provisioning/kiosk_link.py), with the agent unit's umask.
LINK_SERVER = (
    AS_USER
    + """
async def main():
    server = KioskLinkServer(path)
    await server.start()
    print("listening", flush=True)
    connected = await server.wait_connected(60)
    print("kiosk connected" if connected else "no kiosk", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # until the test has seen it
    await server.close()

asyncio.run(main())
"""
)
# The kiosk's real end.
LINK_CLIENT = (
    AS_USER
    + """
async def main():
    async def on_reload(*args):
        return None

    async def on_command(*args):
        return True, ""

    client = KioskLinkClient(path, software="0.1.0", version=0, on_reload=on_reload, on_command=on_command)
    task = asyncio.create_task(client.run())
    await client.connected.wait()
    print("connected", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # until the test has seen it
    task.cancel()

asyncio.run(main())
"""
)
# Anyone else trying the socket directly.
RAW_CONNECT = (
    AS_USER
    + """
try:
    socket.socket(socket.AF_UNIX).connect(path)
    print("connected")
except PermissionError:
    print("permission denied")
"""
)


def run_as(root: Path, user: str, script: str, sock: Path, umask: str = "022") -> subprocess.Popen[str]:
    entry = user_db(root, "passwd")[user]
    return subprocess.Popen(
        [sys.executable, "-c", script, entry[2], entry[3], umask, str(sock)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def next_line(proc: subprocess.Popen[str], timeout: float = 60.0) -> str:
    """The process's next line of output, or a failure that shows what it printed instead."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        proc.kill()
        rest = proc.stdout.read()
        raise AssertionError(f"no line within {timeout:g} s; it printed {rest!r}")
    return proc.stdout.readline()


def test_only_the_kiosk_reaches_the_agents_link_socket(fresh_root: Path, enrolment: Enrolment) -> None:
    assert run_installer(fresh_root, "--enrolment", str(enrolment.path)).returncode == 0
    sock = fresh_root / "run/etapiste/link/agent.sock"
    started: list[subprocess.Popen[str]] = []

    def start(user: str, script: str, umask: str = "022") -> subprocess.Popen[str]:
        started.append(run_as(fresh_root, user, script, sock, umask))
        return started[-1]

    try:
        server = start(A, LINK_SERVER, umask="027")
        assert next_line(server) == "listening\n"
        st = sock.stat()
        assert (st.st_uid, st.st_gid) == (ids(fresh_root)[0][A], ids(fresh_root)[1][K]), "kiosk's group, from the dir"
        for stranger in ("nobody", "lp"):
            said, _ = start(stranger, RAW_CONNECT).communicate(timeout=60)
            assert said == "permission denied\n", stranger
        assert not as_user(fresh_root, K, "touch", str(sock.parent / "fake.sock")), "the kiosk cannot plant one"
        kiosk = start(K, LINK_CLIENT)
        assert next_line(kiosk) == "connected\n"
        assert next_line(server) == "kiosk connected\n", "the agent sees the kiosk"
        said, _ = kiosk.communicate("done\n", timeout=60)
        assert kiosk.returncode == 0, said
        said, _ = server.communicate("done\n", timeout=60)
        assert server.returncode == 0, said
    finally:
        for proc in started:  # never leave one behind, whatever failed
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


def test_second_run_changes_nothing(fresh_root: Path, enrolment: Enrolment) -> None:
    assert run_installer(fresh_root, "--enrolment", str(enrolment.path)).returncode == 0
    first = snapshot(fresh_root)
    again = run_installer(fresh_root, "--enrolment", str(enrolment.path))
    assert again.returncode == 0, again.stderr
    assert "nothing changed" in again.stdout
    assert snapshot(fresh_root) == first


def test_rerun_repairs_a_loosened_permission(fresh_root: Path, enrolment: Enrolment) -> None:
    assert run_installer(fresh_root, "--enrolment", str(enrolment.path)).returncode == 0
    (fresh_root / "etc/etapiste/enrolment/mqtt-password").chmod(0o644)
    again = run_installer(fresh_root, "--enrolment", str(enrolment.path))
    assert "wrote /etc/etapiste/enrolment/mqtt-password (640 root:etapiste-agent)" in again.stdout
    assert (fresh_root / "etc/etapiste/enrolment/mqtt-password").stat().st_mode & 0o777 == 0o640


def test_install_without_enrolment_prepares_the_point_and_says_what_is_missing(fresh_root: Path) -> None:
    result = run_installer(fresh_root)
    assert result.returncode == 0, result.stderr
    assert "not enrolled yet" in result.stdout
    assert (fresh_root / "etc/systemd/system/etapiste-kiosk.service").is_file()
    assert not (fresh_root / "etc/etapiste/agent.env").exists()


def _set_env(package: Path, key: str, value: str) -> None:
    lines = [line for line in (package / "agent.env").read_text().splitlines() if not line.startswith(key + "=")]
    (package / "agent.env").write_text("\n".join([*lines, f"{key}={value}"]) + "\n")


DAMAGES = {
    "trust-not-json": (lambda p: (p / "organiser.trust.json").write_text("ssh-ed25519 AAAA\n"),
                       "cannot be the organiser's keys: it is not a trust file"),
    "trust-id-mismatch": (lambda p: (p / "organiser.trust.json").write_text(
                              re.sub(r'"[0-9a-f]{32}"', '"' + "0" * 32 + '"',
                                     (p / "organiser.trust.json").read_text())),
                          "the id does not match the key"),
    "no-agent-env": (lambda p: (p / "agent.env").unlink(), "has no agent.env"),
    "bad-point-id": (lambda p: _set_env(p, "ETAPISTE_POINT", "Oulu Kirjasto"), "is not a point id"),
    "bad-broker": (lambda p: _set_env(p, "ETAPISTE_BROKER", "http://broker.example"), "must be mqtts://host:port"),
    "smuggled-option": (lambda p: _set_env(p, "ETAPISTE_AGENT_OPTIONS", '"--reboot-cmd /bin/false"'),
                        "'--reboot-cmd' is not allowed"),
    "option-outside-package": (lambda p: _set_env(p, "ETAPISTE_AGENT_OPTIONS", '"--ca-file /etc/shadow"'),
                               "must name a file under /etc/etapiste/enrolment/"),
    "unknown-setting": (lambda p: _set_env(p, "PATH", "/tmp"), "unknown setting 'PATH'"),
    "no-mqtt-password": (lambda p: (p / "credentials/mqtt-password").unlink(), "has no credentials/mqtt-password"),
    "empty-credential": (lambda p: (p / "credentials/ca.pem").write_text(""), "is empty or not a regular file"),
}  # fmt: skip


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_bad_enrolment_package_is_refused_and_nothing_is_written(
    fresh_root: Path, enrolment: Enrolment, damage: str
) -> None:
    spoil, message = DAMAGES[damage]
    spoil(enrolment.path)
    before = snapshot(fresh_root)
    result = run_installer(fresh_root, "--enrolment", str(enrolment.path))
    assert result.returncode == 2
    assert message in result.stderr
    assert "install-point:" in result.stderr
    assert snapshot(fresh_root) == before, "a refused package must leave the machine untouched"


def test_uninstall_leaves_the_fresh_root_as_it_was(fresh_root: Path, enrolment: Enrolment) -> None:
    before = snapshot(fresh_root)
    assert run_installer(fresh_root, "--enrolment", str(enrolment.path)).returncode == 0
    (fresh_root / "run/etapiste/scan/page-1.png").write_bytes(b"customer's page")
    result = run_installer(fresh_root, "--uninstall")
    assert result.returncode == 0, result.stderr
    after = snapshot(fresh_root)

    def without_mtime(entry: tuple[object, ...]) -> tuple[object, ...]:
        return entry[:5]

    left = {p for p in after if p not in before} - USER_DB_SIDE_FILES
    gone = {p for p in before if p not in after}
    changed = {p for p in before.keys() & after.keys() if without_mtime(before[p]) != without_mtime(after[p])}
    assert (left, gone, changed) == (set(), set(), set())
    assert "etapiste" not in (fresh_root / "etc/passwd").read_text() + (fresh_root / "etc/group").read_text()


def test_installer_refuses_a_root_that_is_not_debian(tmp_path: Path) -> None:
    result = run_installer(tmp_path)
    assert result.returncode == 2
    assert "has no etc/passwd" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_installer_help_names_every_option() -> None:
    out = subprocess.run([str(REPO / "systemd/install-point.sh"), "--help"], capture_output=True, text=True)
    for option in ("--enrolment", "--organiser-keys", "--source", "--root", "--no-packages", "--uninstall"):
        assert option in out.stdout
    assert shutil.which("bash")


def test_installer_passes_shellcheck() -> None:
    result = subprocess.run(
        [require_program("shellcheck"), str(REPO / "systemd/install-point.sh")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


# -- the physical point (issue 23): SysRq, Ctrl+Alt+Del, USB devices ---------------------------------


def debian_sysctl_files(root: Path, *, admin_line: str = "") -> None:
    """What a Debian 12 point has besides the installer's drop-in: this machine's sysctl.d files,
    systemd's upstream default (which enables SysRq), and /etc/sysctl.conf behind 99-sysctl.conf."""
    (root / "usr/lib/sysctl.d").mkdir(parents=True, exist_ok=True)
    for f in Path("/usr/lib/sysctl.d").glob("*.conf"):
        shutil.copy2(f, root / "usr/lib/sysctl.d" / f.name)
    (root / "usr/lib/sysctl.d/50-default.conf").write_text("kernel.sysrq = 16\n")  # systemd upstream's
    (root / "etc/sysctl.conf").write_text(Path("/etc/sysctl.conf").read_text() + admin_line)
    link = root / "etc/sysctl.d/99-sysctl.conf"
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.is_symlink():
        link.symlink_to("../sysctl.conf")


SYSCTL_LINE = re.compile(r"^\s*(-?)([a-z0-9_.]+)\s*=\s*(\S+)\s*$")


def test_sysrq_is_off_whatever_debian_and_the_admins_sysctl_conf_say(fresh_root: Path) -> None:
    assert run_installer(fresh_root).returncode == 0
    dropin = (fresh_root / "etc/sysctl.d/99-zz-etapiste-point.conf").read_text()
    settings = [SYSCTL_LINE.match(line) for line in dropin.splitlines() if line.strip() and line[0] not in "#;"]
    assert all(settings), f"a line systemd-sysctl would not read: {dropin!r}"
    assert [(m.group(2), m.group(3)) for m in settings if m] == [("kernel.sysrq", "0")]
    debian_sysctl_files(fresh_root, admin_line="kernel.sysrq=438\n")
    merged = subprocess.run(
        [require_program("systemd-analyze"), f"--root={fresh_root}", "cat-config", "sysctl.d"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    values = [m.group(3) for m in map(SYSCTL_LINE.match, merged.splitlines()) if m and m.group(2) == "kernel.sysrq"]
    assert values[-1] == "0", f"systemd-sysctl applies files in this order and the last wins: {values}"
    assert values[:-1], "the check must have seen the values the drop-in overrides"


def test_ctrl_alt_del_neither_reboots_at_once_nor_after_a_burst(fresh_root: Path) -> None:
    assert run_installer(fresh_root).returncode == 0
    assert os.readlink(fresh_root / "etc/systemd/system/ctrl-alt-del.target") == "/dev/null"
    merged = subprocess.run(
        [require_program("systemd-analyze"), f"--root={fresh_root}", "cat-config", "systemd/system.conf"],
        capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    section, burst = "", []
    for line in merged.splitlines():
        if line.startswith("["):
            section = line.strip()
        elif line.startswith("CtrlAltDelBurstAction="):
            burst.append((section, line.strip()))
    assert burst and burst[-1] == ("[Manager]", "CtrlAltDelBurstAction=none"), merged


USB_RULE = re.compile(
    r"^(allow|block|reject) with-interface (match-all|one-of|all-of|none-of|equals) "
    r"\{ ((?:(?:[0-9a-f]{2}|\*):(?:[0-9a-f]{2}|\*):(?:[0-9a-f]{2}|\*) )+)\}$"
)


def usb_rules(path: Path) -> list[tuple[str, str, list[str]]]:
    """The rules of one usbguard rule file, first parsed by usbguard's own parser (offline), then by a
    strict parser of the only form the point uses: ``TARGET with-interface OP { cc:ss:pp … }``."""
    parsed = subprocess.run(
        [require_program("usbguard-rule-parser"), "-f", str(path)], capture_output=True, text=True, timeout=30
    )
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr
    lines = [line for line in path.read_text().splitlines() if line.strip() and not line.lstrip().startswith("#")]
    normalised = [o.removeprefix("OUTPUT: ") for o in parsed.stdout.splitlines() if o.startswith("OUTPUT: ") and o[8:]]
    assert normalised == lines, "usbguard reads the rules as written (no operator or set changed)"
    rules = []
    for line in lines:
        match = USB_RULE.match(line)
        assert match, f"not a rule form the point uses: {line!r}"
        rules.append((match.group(1), match.group(2), match.group(3).split()))
    return rules


def _iface_matches(pattern: str, iface: str) -> bool:
    return all(p in ("*", v) for p, v in zip(pattern.split(":"), iface.split(":"), strict=True))


def usbguard_decides(rules: list[tuple[str, str, list[str]]], interfaces: set[str], implicit: str) -> str:
    """usbguard-rules.conf(5): the first rule that matches decides; none: ImplicitPolicyTarget."""
    for target, op, patterns in rules:
        hits = {i for i in interfaces if any(_iface_matches(p, i) for p in patterns)}
        used = {p for p in patterns if any(_iface_matches(p, i) for i in interfaces)}
        matches = {
            "match-all": hits == interfaces,  # the device's set is a subset of the rule's
            "one-of": bool(hits),
            "none-of": not hits,
            "all-of": used == set(patterns),
            "equals": hits == interfaces and used == set(patterns),
        }[op]
        if matches:
            return target
    return implicit


def daemon_setting(key: str) -> str:
    conf = Path("/etc/usbguard/usbguard-daemon.conf")
    if not conf.exists():
        pytest.fail("usbguard is not installed here (scripts/apt-packages.txt lists it)")
    values = [line.split("=", 1)[1].strip() for line in conf.read_text().splitlines() if line.startswith(key + "=")]
    assert values, f"{key} is not set in {conf}"
    return values[-1]


POINT_DEVICES = {
    "keyboard": {"03:01:01"},
    "touch screen": {"03:00:00"},
    "camera with microphone": {"0e:01:00", "0e:02:00", "01:01:00", "01:02:00"},
    "speakerphone": {"01:01:00", "01:02:00", "03:00:00"},
    "printer": {"07:01:02"},
    "PTP scanner": {"06:01:01"},
    "ID-card reader (CCID)": {"0b:00:00"},
    "hub": {"09:00:00"},
}
NOT_LET_IN = {
    "USB stick": {"08:06:50"},
    "keyboard that is also a stick": {"03:01:01", "08:06:50"},
    "printer with a memory-card slot": {"07:01:02", "08:06:50"},
    "USB network adapter": {"02:06:00", "0a:00:00"},
    "Bluetooth adapter": {"e0:01:01"},
    "vendor-specific scanner": {"ff:ff:ff"},
}


def test_usb_policy_parses_and_lets_in_the_points_device_classes_and_nothing_else(fresh_root: Path) -> None:
    assert run_installer(fresh_root).returncode == 0
    rules_d = fresh_root / "etc/usbguard/rules.d"
    files = sorted(rules_d.iterdir())
    assert [f.name for f in files] == ["70-etapiste-point.conf", "90-etapiste-local.conf"]
    rules = [rule for f in files for rule in usb_rules(f)]
    assert rules and all(target == "allow" for target, _, _ in rules), "allow rules only (see the file)"
    # The daemon's own settings (Debian's defaults) that the policy relies on.
    assert daemon_setting("RuleFolder").rstrip("/") == "/etc/usbguard/rules.d"
    assert daemon_setting("PresentDevicePolicy") == "apply-policy", "a stick plugged in before boot counts too"
    assert daemon_setting("InsertedDevicePolicy") == "apply-policy"
    implicit = daemon_setting("ImplicitPolicyTarget")
    assert implicit == "block"
    for name, interfaces in POINT_DEVICES.items():
        assert usbguard_decides(rules, interfaces, implicit) == "allow", name
    for name, interfaces in NOT_LET_IN.items():
        assert usbguard_decides(rules, interfaces, implicit) == "block", name


def test_debians_install_time_usb_snapshot_is_put_aside_and_a_technicians_pin_survives(
    fresh_root: Path,
) -> None:
    """apt's postinst writes rules.conf allowing every device present while installing — the USB stick
    the installer came on too. The first run puts it aside; later runs leave the rule files alone."""
    usbguard = fresh_root / "etc/usbguard"
    usbguard.mkdir(mode=0o755)
    snapshot_rule = 'allow id 0781:5567 serial "4C530001" name "Cruzer Blade" with-interface 08:06:50\n'
    (usbguard / "rules.conf").write_text(snapshot_rule)
    (usbguard / "rules.conf").chmod(0o600)
    first = run_installer(fresh_root)
    assert first.returncode == 0, first.stderr
    assert (usbguard / "rules.conf").read_text() == ""
    assert (usbguard / "rules.conf").stat().st_mode & 0o777 == 0o600, "usbguard refuses a readable rule file"
    assert (usbguard / "rules.conf.before-etapiste").read_text() == snapshot_rule
    assert "rules.conf.before-etapiste" in first.stdout
    pin = 'allow id 04c5:132e serial "A1B2" name "fi-7160" with-interface equals { ff:ff:ff }\n'
    with (usbguard / "rules.d/90-etapiste-local.conf").open("a") as local:
        local.write(pin)
    again = run_installer(fresh_root)
    assert again.returncode == 0, again.stderr
    assert (usbguard / "rules.d/90-etapiste-local.conf").read_text().endswith(pin)
    assert (usbguard / "rules.conf.before-etapiste").read_text() == snapshot_rule
    parsed = subprocess.run(
        [require_program("usbguard-rule-parser"), "-f", str(usbguard / "rules.d/90-etapiste-local.conf")],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert parsed.returncode == 0 and "OUTPUT: allow id 04c5:132e" in parsed.stdout, parsed.stdout
    removed = run_installer(fresh_root, "--uninstall")
    assert removed.returncode == 0, removed.stderr
    assert (usbguard / "rules.conf").read_text() == snapshot_rule, "uninstall gives Debian its file back"
    assert sorted(p.name for p in usbguard.rglob("*")) == ["rules.conf"]

