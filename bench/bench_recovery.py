"""Call recovery after a network cut: the network back → media flowing both ways again, for a short cut that
the signalling survives and for a cut that drops every signalling socket (the switchboard holds the call and
both sides come back into it). Reference peer in the same run: the same call's own set-up (the agent
answers → the agent's first picture on the point), since a recovery is a fresh offer and answer.

Each run is ``tests/kiosk/netcut_worker.py`` in a private network namespace (``unshare -n``): switchboard,
kiosk engine and an aiortc agent on the namespace's loopback, which is taken down and brought back.

Usage: .venv/bin/python bench/bench_recovery.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: (label, cut seconds, heartbeat seconds). A 1.5 s heartbeat makes a 9 s cut drop the signalling, as a
#: 30–60 s cut does with the production 20 s.
SCENARIOS = (
    ("7 s cut, signalling kept (heartbeat 20 s)", 7.0, 20.0),
    ("9 s cut, signalling dropped (heartbeat 1.5 s)", 9.0, 1.5),
)


def run(cut_s: float, heartbeat_s: float) -> dict:
    proc = subprocess.run(
        ["unshare", "-n", sys.executable, "-m", "tests.kiosk.netcut_worker", str(cut_s), "60", str(heartbeat_s)],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-2000:])
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    setups: list[float] = []
    print(f"{'scenario':<48} {'media back after restore (s)':>30}")
    for label, cut_s, heartbeat_s in SCENARIOS:
        back: list[float] = []
        failed = 0
        for _ in range(args.runs):
            result = run(cut_s, heartbeat_s)
            setups.append(result["setup_s"])
            if "media_back_s" in result:
                back.append(result["media_back_s"])
            else:
                failed += 1
        spread = f"median {statistics.median(back):.2f}  min {min(back):.2f}  max {max(back):.2f}" if back else "-"
        print(f"{label:<48} {spread:>30}  not recovered: {failed}/{args.runs}")
    print(f"{'reference: the same call set-up (answer → first picture)':<48} "
          f"median {statistics.median(setups):.2f}  min {min(setups):.2f}  max {max(setups):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
