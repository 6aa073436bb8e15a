"""The point's systemd units, tmpfiles and udev rules as systemd itself reads them: ``systemd-analyze
verify`` on every unit as installed (failing on any output, since it exits 0 on typos), the security
thresholds, the kiosk session's restart and watchdog policy, no kiosk restart at a fixed hour (the agent's,
by the opening hours), and the private tmpfs directories."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from simulation.services.common import require_program
from tests.systemd.conftest import UNITS_DIR, add_venv_entry_point, make_fresh_root

REPO = Path(__file__).resolve().parents[2]
SERVER_DIR = REPO / "systemd" / "server"
POINT_UNITS = sorted(p.name for p in UNITS_DIR.iterdir() if p.is_file())
Settings = dict[tuple[str, str], list[str]]


def settings(path: Path) -> Settings:
    """A unit file's settings: (section, key) → every value given, in order."""
    out: Settings = {}
    section = ""
    text = re.sub(r"\\\n\s*", " ", path.read_text())  # continuation lines
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        out.setdefault((section, key.strip()), []).append(value.strip())
    return out


def one(s: Settings, section: str, key: str) -> str:
    values = s.get((section, key))
    assert values, f"[{section}] {key}= is not set"
    return values[-1]


def seconds(timespan: str) -> float:
    """A systemd time span as systemd parses it."""
    out = subprocess.run(
        [require_program("systemd-analyze"), "timespan", timespan], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"μs: (\d+)", out)
    assert match, out
    return int(match.group(1)) / 1e6


def verify(root: Path, unit: str) -> str:
    """Everything ``systemd-analyze verify`` says about ``unit`` in ``root`` (empty when the unit is clean)."""
    result = subprocess.run(
        [require_program("systemd-analyze"), "verify", "--man=no", f"--root={root}", unit],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return (result.stdout + result.stderr).strip() or ("" if result.returncode == 0 else f"exit {result.returncode}")


@pytest.fixture(scope="module")
def server_root() -> Iterator[Path]:
    """A fresh root with the switchboard unit installed as on an organiser's server."""
    root = make_fresh_root()
    try:
        shutil.copy2(SERVER_DIR / "etapiste-switchboard.service", root / "etc/systemd/system/")
        add_venv_entry_point(root)
        yield root
    finally:
        shutil.rmtree(root)


@pytest.mark.parametrize("unit", [*POINT_UNITS, "cups.service"])
def test_every_installed_unit_verifies_without_a_word(installed_root: Path, unit: str) -> None:
    # cups.service is verified with the installer's drop-in (cups.service.d/etapiste-privacy.conf).
    assert verify(installed_root, unit) == ""


def test_switchboard_unit_verifies_without_a_word(server_root: Path) -> None:
    assert verify(server_root, "etapiste-switchboard.service") == ""


def test_verify_check_catches_what_systemd_analyze_lets_pass(fresh_root: Path) -> None:
    # systemd-analyze verify exits 0 on these; only its output tells.
    unit = (UNITS_DIR / "etapiste-kiosk.service").read_text()
    broken = unit.replace("Restart=always", "Restartt=always").replace("Type=notify", "Type=notfy")
    (fresh_root / "etc/systemd/system/etapiste-kiosk.service").write_text(broken)
    for name in ("etapiste-kiosk-backoff.timer", "etapiste-kiosk-restart.service"):
        shutil.copy2(UNITS_DIR / name, fresh_root / "etc/systemd/system" / name)
    add_venv_entry_point(fresh_root)
    said = verify(fresh_root, "etapiste-kiosk.service")
    assert "Unknown key 'Restartt'" in said
    assert "notfy" in said


@pytest.mark.parametrize(
    ("unit", "threshold"),
    [
        (UNITS_DIR / "etapiste-agent.service", 2.0),
        (SERVER_DIR / "etapiste-switchboard.service", 2.5),
        (UNITS_DIR / "etapiste-kiosk.service", 5.0),
    ],
    ids=["agent", "switchboard", "kiosk-session"],
)
def test_unit_exposure_stays_under_its_threshold(unit: Path, threshold: float) -> None:
    # --threshold counts tenths of the printed 0.0–10.0 exposure scale.
    result = subprocess.run(
        [
            require_program("systemd-analyze"),
            "security",
            "--offline=true",
            f"--threshold={round(threshold * 10)}",
            str(unit),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= threshold
    assert result.returncode == 0, result.stdout[-2000:]


def test_an_unhardened_unit_fails_the_threshold_check(tmp_path: Path) -> None:
    plain = tmp_path / "plain.service"
    plain.write_text("[Service]\nExecStart=/usr/bin/true\n")
    result = subprocess.run(
        [require_program("systemd-analyze"), "security", "--offline=true", "--threshold=50", str(plain)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0


def test_kiosk_session_is_cage_on_a_tty_for_the_kiosk_user_with_no_way_out() -> None:
    s = settings(UNITS_DIR / "etapiste-kiosk.service")
    argv = shlex.split(one(s, "Service", "ExecStart"))
    assert argv[0] == "/usr/bin/cage"
    cage_options = argv[1 : argv.index("--")]
    assert "-s" not in cage_options, "VT switching would let a customer leave the kiosk"
    assert argv[argv.index("--") + 1 :] == [
        "/opt/etapiste/venv/bin/etapiste", "kiosk", "--config", "/etc/etapiste/point.yaml",
    ]  # fmt: skip
    assert one(s, "Service", "User") == "etapiste-kiosk"
    assert one(s, "Service", "PAMName") == "etapiste-kiosk"
    assert (REPO / "systemd/pam.d/etapiste-kiosk").is_file()
    assert one(s, "Service", "TTYPath") == "/dev/tty7"
    assert "getty@tty7.service" in one(s, "Unit", "Conflicts")
    assert one(s, "Service", "LimitCORE") == "0", "a core dump would hold a customer's data"


def test_crashed_kiosk_restarts_within_5_s_and_a_crash_loop_backs_off_instead_of_giving_up() -> None:
    kiosk = settings(UNITS_DIR / "etapiste-kiosk.service")
    assert one(kiosk, "Service", "Restart") == "always"
    assert seconds(one(kiosk, "Service", "RestartSec")) <= 5.0
    # systemd's default (5 starts in 10 s) gives up after half a second; ours trips later, and then …
    burst = int(one(kiosk, "Unit", "StartLimitBurst"))
    interval = seconds(one(kiosk, "Unit", "StartLimitIntervalSec"))
    assert burst >= 5 and interval > 0
    assert burst * seconds(one(kiosk, "Service", "RestartSec")) < interval, "a crash loop must trip the limit"
    # … the failure arms the backoff timer, which starts the session again after a pause.
    assert one(kiosk, "Unit", "OnFailure") == "etapiste-kiosk-backoff.timer"
    backoff = settings(UNITS_DIR / "etapiste-kiosk-backoff.timer")
    assert seconds(one(backoff, "Timer", "OnActiveSec")) >= 60
    assert one(backoff, "Timer", "RemainAfterElapse") == "no", "the next crash loop must arm it again"
    restart = settings(UNITS_DIR / one(backoff, "Timer", "Unit"))
    commands = [shlex.split(c) for c in restart[("Service", "ExecStartPre")] + restart[("Service", "ExecStart")]]
    assert ["/usr/bin/systemctl", "reset-failed", "etapiste-kiosk.service"] in commands
    assert ["/usr/bin/systemctl", "restart", "--no-block", "etapiste-kiosk.service"] in commands


def size_bytes(value: str) -> int:
    """A systemd memory size (``2G``, ``1536M``; base 1024, as systemd reads it)."""
    match = re.fullmatch(r"(\d+)([KMGT]?)", value)
    assert match, f"not a plain size systemd reads as bytes: {value!r}"
    return int(match.group(1)) * 1024 ** " KMGT".index(match.group(2) or " ")


def test_kiosk_session_has_a_memory_ceiling_above_a_busy_call_plus_the_pdf_gate() -> None:
    """A document or a leak that eats memory ends in the kiosk being restarted (Restart=always), not in
    the point's kernel killing cupsd, pcscd or the agent. The ceiling leaves room for what a point
    legitimately holds: a three-way call (bench/README.md: 518 MB peak RSS) plus the PDF gate's worker
    (its own memory budget, drivers/pdfcheck.py) plus the compositor."""
    from drivers.pdfcheck import DEFAULT_LIMITS

    s = settings(UNITS_DIR / "etapiste-kiosk.service")
    ceiling = size_bytes(one(s, "Service", "MemoryMax"))
    high = size_bytes(one(s, "Service", "MemoryHigh"))
    busy_call = 518 * 10**6
    assert busy_call + DEFAULT_LIMITS.memory_bytes + 256 * 2**20 < high < ceiling <= 4 * 2**30
    # The kiosk holds scans and card data in memory: none of it may be written to a swap device.
    assert one(s, "Service", "MemorySwapMax") == "0"


def test_kiosk_watchdog_is_the_apps_keepalive() -> None:
    s = settings(UNITS_DIR / "etapiste-kiosk.service")
    assert one(s, "Service", "Type") == "notify"
    # The app is cage's child: its READY=1/WATCHDOG=1 count only with NotifyAccess=all.
    assert one(s, "Service", "NotifyAccess") == "all"
    watchdog = seconds(one(s, "Service", "WatchdogSec"))
    assert 5 <= watchdog <= 60
    assert seconds(one(s, "Service", "TimeoutStartSec")) > watchdog


def test_agent_requests_reach_the_units_that_act_on_them() -> None:
    tmpfiles = (REPO / "systemd/tmpfiles.d/etapiste.conf").read_text()
    assert re.search(r"^d\s+/run/etapiste/commands\s+0770\s+root\s+etapiste-agent", tmpfiles, re.M)
    agent = settings(UNITS_DIR / "etapiste-agent.service")
    assert "/run/etapiste/commands" in one(agent, "Service", "ReadWritePaths").split()
    argv = shlex.split(one(agent, "Service", "ExecStart"))
    asks = {argv[i]: argv[i + 1] for i, word in enumerate(argv) if word.endswith("-cmd")}
    assert asks == {
        "--restart-kiosk-cmd": "/usr/bin/touch /run/etapiste/commands/restart-kiosk",
        "--reboot-cmd": "/usr/bin/touch /run/etapiste/commands/reboot",
    }
    for path_unit, request in (("etapiste-kiosk-restart.path", "restart-kiosk"), ("etapiste-reboot.path", "reboot")):
        p = settings(UNITS_DIR / path_unit)
        assert one(p, "Path", "PathExists") == f"/run/etapiste/commands/{request}"
        service = settings(UNITS_DIR / one(p, "Path", "Unit"))
        # The request is consumed before acting, so it cannot trigger twice.
        assert service[("Service", "ExecStartPre")][0] == f"/usr/bin/rm -f /run/etapiste/commands/{request}"


def test_no_timer_restarts_the_kiosk_at_a_fixed_hour() -> None:
    """The nightly restart is the agent's, chosen from the host's hours and made only once no customer is
    served (provisioning/nightly.py, tests/provisioning/test_nightly.py): a timer at a fixed hour would
    restart a host that is open then (a shopping centre round the clock) under a customer."""
    calendars = {
        p.name: one(settings(p), "Timer", "Unit")
        for p in UNITS_DIR.glob("*.timer")
        if ("Timer", "OnCalendar") in settings(p)
    }
    assert "etapiste-kiosk-restart.service" not in calendars.values(), calendars


def test_kiosk_start_empties_the_scan_and_spool_directories(installed_root: Path) -> None:
    kiosk = settings(UNITS_DIR / "etapiste-kiosk.service")
    pre = [c for c in kiosk[("Service", "ExecStartPre")] if "systemd-tmpfiles" in c]
    assert len(pre) == 1 and pre[0].startswith("+"), "runs with full privileges before the session"
    argv = shlex.split(pre[0][1:])
    scan, spool = installed_root / "run/etapiste/scan", installed_root / "run/etapiste/spool"
    (scan / "page-1.png").write_bytes(b"a customer's page")
    (spool / "letter.pdf").write_bytes(b"%PDF-1.7 a customer's letter")
    request = installed_root / "run/etapiste/commands/reboot"
    request.write_text("")
    subprocess.run([argv[0], f"--root={installed_root}", *argv[1:]], check=True, capture_output=True, timeout=60)
    assert list(scan.iterdir()) == [] and list(spool.iterdir()) == []
    assert request.exists(), "the agent's pending request is not a customer's file: it stays"
    request.unlink()
    for d in (scan, spool):
        assert d.stat().st_mode & 0o777 == 0o700


UDEV_RULES = REPO / "systemd/udev/95-etapiste-kiosk.rules"
RULE_PART = re.compile(r'\s*([A-Z_]+(?:\{[^}]*\})?)\s*(==|!=|\+=|:=|=)\s*"([^"]*)"\s*,?')


def udev_rules(path: Path) -> list[list[tuple[str, str, str]]]:
    rules = []
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = RULE_PART.findall(line)
        assert RULE_PART.sub("", line).strip() == "", f"unparsed udev rule text: {line!r}"
        rules.append(parts)
    return rules


def test_udev_rules_give_the_kiosk_user_the_card_reader_scanner_and_camera_and_nothing_else() -> None:
    granting = []
    for rule in udev_rules(UDEV_RULES):
        assignments = {(k, op, v) for k, op, v in rule if op in ("=", "+=", ":=")}
        if any(k in ("LABEL", "GOTO") for k, _, _ in rule):
            assert all(k in ("LABEL", "GOTO", "ACTION") for k, _, _ in rule)
            continue
        assert assignments == {("GROUP", "=", "etapiste-kiosk"), ("MODE", "=", "0660")}, rule
        granting.append({(k, v) for k, op, v in rule if op == "=="})
    assert granting == [
        {("SUBSYSTEM", "video4linux")},
        {("SUBSYSTEM", "usb"), ("ENV{DEVTYPE}", "usb_device"), ("ENV{ID_SMARTCARD_READER}", "1")},
        {("SUBSYSTEM", "usb"), ("ENV{DEVTYPE}", "usb_device"), ("ENV{libsane_matched}", "yes")},
    ]


@pytest.mark.parametrize(
    "marker",
    ['ENV{ID_SMARTCARD_READER}="1"', 'ENV{libsane_matched}="yes"', 'SUBSYSTEM=="video4linux", GROUP="video"'],
    ids=["card-reader", "scanner", "camera"],
)
def test_udev_markers_the_rules_rely_on_are_set_earlier_by_debian(marker: str) -> None:
    rules_dir = Path("/usr/lib/udev/rules.d")
    setters = [p.name for p in sorted(rules_dir.glob("*.rules")) if marker in p.read_text()]
    assert setters, f"no Debian udev rule sets {marker}: install systemd's udev and libsane1"
    assert all(name < UDEV_RULES.name for name in setters), f"{setters} must run before {UDEV_RULES.name}"


def test_agent_command_line_is_one_the_agent_accepts() -> None:
    """The agent unit's ExecStart, with an enrolment's values, parses with the agent's own parser."""
    from provisioning.agent_cli import _parser

    agent = settings(UNITS_DIR / "etapiste-agent.service")
    command = one(agent, "Service", "ExecStart")
    command = command.replace("${ETAPISTE_POINT}", "demo-oulu-kirjasto").replace(
        "${ETAPISTE_BROKER}", "mqtts://broker.example.invalid:8883"
    )
    command = command.replace("$ETAPISTE_AGENT_OPTIONS", "--ca-file /etc/etapiste/enrolment/ca.pem")
    argv = shlex.split(command)
    assert argv[:2] == ["/opt/etapiste/venv/bin/etapiste", "agent"]
    args = _parser().parse_args(argv[2:])
    assert str(args.state_dir) == "/var/lib/etapiste"
    assert str(args.kiosk_socket) == "/run/etapiste/link/agent.sock"
    assert str(args.password_file) == "/etc/etapiste/enrolment/mqtt-password"
    assert str(args.trust) == "/etc/etapiste/organiser.trust.json"
    kiosk = settings(UNITS_DIR / "etapiste-kiosk.service")
    assert "ETAPISTE_AGENT_SOCKET=/run/etapiste/link/agent.sock" in " ".join(kiosk[("Service", "Environment")])
    writable = one(agent, "Service", "ReadWritePaths").split()
    assert {str(args.state_dir), str(args.kiosk_socket.parent)} <= set(writable)


def test_kiosk_session_starts_once_the_agent_wrote_the_first_configuration() -> None:
    path = settings(UNITS_DIR / "etapiste-kiosk.path")
    assert one(path, "Path", "PathExists") == "/var/lib/etapiste/point.yaml"
    assert one(path, "Path", "Unit") == "etapiste-kiosk.service"
    kiosk = settings(UNITS_DIR / "etapiste-kiosk.service")
    assert one(kiosk, "Unit", "ConditionPathExists") == "/etc/etapiste/point.yaml"


def test_kiosk_session_starts_the_kiosk_on_the_configuration_the_kiosk_accepts() -> None:
    from kiosk.cli import _parser

    argv = shlex.split(one(settings(UNITS_DIR / "etapiste-kiosk.service"), "Service", "ExecStart"))
    app = argv[argv.index("--") + 1 :]
    args = _parser().parse_args(app[2:])
    assert str(args.config) == "/etc/etapiste/point.yaml"
    assert not args.windowed, "full screen"


def test_switchboard_command_line_is_one_the_switchboard_accepts(capsys: pytest.CaptureFixture[str]) -> None:
    from switchboard.cli import main as switchboard_main

    argv = shlex.split(one(settings(SERVER_DIR / "etapiste-switchboard.service"), "Service", "ExecStart"))
    assert argv[:2] == ["/opt/etapiste/venv/bin/etapiste", "switchboard"]
    # Accepted options (argparse would exit 2); this machine has no /etc/etapiste/switchboard.yaml.
    assert switchboard_main([*argv[2:], "--check"]) == 1
    assert "/etc/etapiste/switchboard.yaml" in capsys.readouterr().err
