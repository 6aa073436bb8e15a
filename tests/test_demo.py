"""README's demo, as a newcomer on a headless machine runs it: ``scripts/demo.sh --auto-customer``.

The demo itself (``scripts/demo_system.py --offscreen --auto-customer``) starts everything on loopback and
runs the kiosk with a scripted customer who presses the kiosk's own buttons: Suomi, Kela, Jatka, the demo
agent answers, the virtual card goes in, PIN 1234 on the pad, the scan, the printout, the survey. Each
step is asserted as someone other than the kiosk saw it: the demo agent saw the card's verified holder,
the scan the agent received has the SHA-256 of what the kiosk sent, the printout's pages came out of the
file printer, the rating reached the organiser's statistics. The demo exits 0, leaves nothing running and
nothing behind, and says nothing of the customer on its console.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]

REPO = Path(__file__).resolve().parents[1]
HOLDER = "SPECIMEN-MAIJA SPECIMEN-MEIKÄLÄINEN"
SAFETY_S = 1500.0
"""How long the test lets the demo run before stopping it (a safety net, not a speed limit: the demo's own
bounds end it sooner, with the step named)."""


def run_demo(result: Path) -> tuple[int, str]:
    """Run the demo to its end; on the safety net it is stopped as by Ctrl-C, so it still cleans up."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "scripts" / "demo_system.py"), "--offscreen", "--auto-customer",
         "--result", str(result)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        output, _ = proc.communicate(timeout=SAFETY_S)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)
        try:
            output, _ = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
        pytest.fail(f"the demo did not end within {SAFETY_S:g} s; it said:\n{output[-6000:]}")
    return proc.returncode, output


def processes_mentioning(text: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(f"{entry.name}: {cmdline[:200]}")
    return found


def test_the_demo_serves_a_scripted_customer_from_the_language_to_the_survey(tmp_path: Path) -> None:
    result_file = tmp_path / "demo-result.json"
    code, output = run_demo(result_file)
    said = f"the demo said:\n{output[-6000:]}"
    assert result_file.exists(), f"the demo wrote no verdict (exit {code}); {said}"
    result: dict[str, Any] = json.loads(result_file.read_text(encoding="utf-8"))
    checks = {c["step"]: c for c in result["checks"]}
    for step in ("journey", "identify", "scan", "print", "survey"):
        assert step in checks and checks[step]["ok"], f"step {step}: {checks.get(step)}; {said}"

    customer, agent = result["customer"], result["agent"]
    assert customer["done"] == ["language", "producer", "notice", "queue", "answered", "identify", "scan",
                                "print", "goodbye", "end_call", "survey"], said
    # The card's holder reached the agent, verified by the switchboard (http origin on loopback).
    assert agent["outcomes"]["identify"] == "verified" and agent["holder"] == HOLDER, said
    assert {"enter_pin", "checking", "remove_card"} <= set(customer["identify_steps"]), customer["identify_steps"]
    # The agent received exactly what the kiosk scanned and sent.
    assert re.fullmatch(r"[0-9a-f]{64}", customer["scan_sha256"] or ""), said
    assert agent["received_sha256"] == customer["scan_sha256"], said
    assert customer["scan_pages"] >= 1
    # The agent's two-page PDF came out of the file printer (checked by the demo at the printer's output).
    assert agent["outcomes"]["print"] == "done" and customer["printed_pages"] == 2, said
    assert "2 pages came out of the file printer" in checks["print"]["detail"]
    # The survey was answered, and the organiser's statistics have the rating.
    assert customer["rating"] == 5 and checks["survey"]["ok"]

    assert code == 0, said
    assert "The whole journey happened." in output
    # Nothing of the customer on the console, nothing left running, nothing left on disk.
    assert "SPECIMEN" not in output and "999020016" not in output
    workdir = re.search(r"working directory (\S+)", output)
    assert workdir is not None, said
    assert not Path(workdir.group(1)).exists(), "the demo left its working directory behind"
    assert processes_mentioning(workdir.group(1)) == [], "the demo left processes running"
