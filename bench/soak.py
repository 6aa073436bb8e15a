"""Chaos soak (issue 24): customer journeys one after another through the real kiosk app, faults thrown in.

    .venv/bin/python bench/soak.py --sessions 200 --seed 24 [--json soak.json]
    .venv/bin/python bench/soak.py --replay 24:7          # journey 7 of seed 24, alone
    .venv/bin/python bench/soak.py --replay 24:50,24:527  # these journeys (two network cuts)

The kiosk app (offscreen, assembled by the app's own code), its real drivers against private services
started here (cupsd with the fault backend, SANE's test scanner, pcscd with the virtual FINEID card), the
switchboard in process, an aiortc agent and interpreter at their desks, the point's provisioning agent
publishing statistics over a private mosquitto to an ops watch; journeys and faults from
``simulation/soak_plan.py``, the journeys and the checks after each from ``simulation/soak.py`` (the
suite's ``tests/test_soak.py`` runs the same code, seven journeys). The kiosk films a clip through its own
camera reader (the soak unplugs it) and its provisioning agent trusts an organiser key made for the run (the
soak publishes configuration reloads signed with it). Prints one line per journey and the run's
table (Markdown, as docs/reliability.md keeps it); ``--json`` writes the whole report. Exits 1 when any
journey lost a document, crashed, left something of its customer or failed a check.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

if __name__ == "__main__":  # the kiosk's memory as its unit runs it (MALLOC_ARENA_MAX), before any allocation
    from simulation.unit_environment import run_with_unit_malloc

    run_with_unit_malloc("etapiste-kiosk.service")

import aioice.ice
from PySide6.QtWidgets import QApplication

from simulation.card.pki import TestPki
from simulation.kiosk import POINT
from simulation.netcut import enter_private_network, in_private_network
from simulation.services.cups import PrivateCupsd
from simulation.services.mqtt import start_broker
from simulation.services.pcsc import pcsc_service
from simulation.services.sane import SaneTestBackend
from simulation.soak import JourneyResult, Report, soak, soak_world
from simulation.soak_plan import NOT_INJECTED, parse_replay, plan_journey


def loopback_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    """aiortc gathers on 127.0.0.1 only: no soak traffic leaves the machine."""
    return ["127.0.0.1"]


def line(result: JourneyResult) -> str:
    plan = result.plan
    steps = ",".join(s.kind + (f"[{s.fault}]" if s.fault else "") for s in plan.steps)
    extra = f" +{plan.call_fault}" if plan.call_fault else ""
    state = "ok" if result.ok else "PROBLEM " + "; ".join(result.problems)
    return (f"{plan.label:>8} {result.seconds:6.1f} s {plan.path:<25} {steps}{extra} -> {result.outcome}: "
            f"{state}")


def memory_note(now: dict[str, float]) -> str:
    """The memory after the journey: RSS, then after gc + malloc_trim, and glibc's heap in use / held free
    (telling a leak, which grows what is in use, from the allocator keeping freed memory)."""
    if "malloc_in_use_mb" not in now:
        return f" | RSS {now.get('rss_mb')} MB"
    return (f" | RSS {now['rss_mb']} MB, trimmed {now['rss_trimmed_mb']}, heap in use {now['malloc_in_use_mb']}"
            f" free {now['malloc_free_mb']}, objects kiosk {now['kiosk_objects']} harness {now['harness_objects']}")


async def run(args: argparse.Namespace, root: Path) -> Report:
    if args.replay:
        chosen = [parse_replay(item) for item in args.replay.split(",")]
        seed = chosen[0][0]
        plans = [plan_journey(s, n) for s, n in chosen]
    else:
        seed = args.seed
        plans = [plan_journey(seed, n) for n in range(args.first, args.first + args.sessions)]
    cupsd = PrivateCupsd(root / "cups").start()
    try:
        sane = SaneTestBackend(root / "sane")
        with pcsc_service(root / "pcsc") as pcsc, start_broker(root / "mqtt", [POINT], bind=broker_bind()) as mosquitto:
            pcsc.reset()
            slot = pcsc.slot(0)
            work = root / "work"
            work.mkdir()
            async with soak_world(cupsd, sane.config_dir, slot, TestPki(), work, mosquitto) as world:
                trace = MemoryTrace(args.memtrace, args.memtrace_from) if args.memtrace else None

                def progress(result: JourneyResult, report: Report) -> None:
                    print(line(result) + memory_note(report.end), flush=True)
                    if args.json:  # kept current: a run stopped early still has its figures
                        write_json(args.json, report)
                    if trace is not None:
                        trace.journey_done(len(report.journeys))

                budget = args.minutes * 60 if args.minutes else None
                try:
                    return await soak(world, plans, seed, on_journey=progress, budget_s=budget,
                                      settle_s=args.settle)  # fmt: skip
                finally:
                    if trace is not None:  # after the settle, before the world is taken down
                        trace.stop()
    finally:
        cupsd.remove()


class MemoryTrace:
    """Every allocation (native and Python, with both stacks) made from journey ``start`` + 1 on, recorded by
    memray into ``path``; those still alive when the run ends (after its settle) are what the process kept:
    ``bench/memtrace_report.py`` says whose. What found the previews Qt's pixmap cache kept (2026-12-04)."""

    def __init__(self, path: Path, start: int) -> None:
        import memray  # optional: pip install '.[memtrace]'

        self._path, self._start, self._memray = path, start, memray
        self._tracker: Any = None

    def journey_done(self, journeys: int) -> None:
        if journeys == self._start and self._tracker is None:
            self._tracker = self._memray.Tracker(
                destination=self._memray.FileDestination(self._path, overwrite=True), native_traces=True,
                follow_fork=False,
            )
            self._tracker.__enter__()
            print(f"memory trace: recording into {self._path} from journey {journeys + 1}", flush=True)

    def stop(self) -> None:
        if self._tracker is not None:
            gc.collect()
            self._tracker.__exit__(None, None, None)
            self._tracker = None
            print(f"memory trace: stopped; bench/memtrace_report.py {self._path}", flush=True)


def broker_bind() -> str:
    """In the soak's private network mosquitto listens on every address of its loopback: the ops side on
    127.0.0.1, the point's agent on the point's own address (cut with it)."""
    return "0.0.0.0" if in_private_network() else "127.0.0.1"


def write_json(path: Path, report: Report) -> None:
    not_injected = {} if in_private_network() else NOT_INJECTED
    path.write_text(json.dumps({"summary": report.summary(), "table": report.table(),
                                "journeys": [j.to_json() for j in report.journeys], "not_injected": not_injected},
                               indent=1, ensure_ascii=False))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=200, help="journeys in a row")
    parser.add_argument("--seed", type=int, default=24)
    parser.add_argument("--first", type=int, default=0, help="index of the first journey (to go on from a run)")
    parser.add_argument("--replay", metavar="S:N[,S:N…]", help="run journey N of seed S alone (or these journeys)")
    parser.add_argument("--json", type=Path, help="write the whole report here (after every journey)")
    parser.add_argument("--minutes", type=float, help="start no journey after this long (a shared machine's budget)")
    parser.add_argument("--settle", type=float, default=45.0,
                        help="seconds idle after the last journey before measuring once more (what the last "
                             "journeys held a while is gone by then; what remains was kept)")
    parser.add_argument("--memtrace", type=Path, metavar="FILE.bin",
                        help="record with memray every allocation from journey --memtrace-from on; what is still "
                             "alive at the end is what the run kept (bench/memtrace_report.py FILE.bin says whose); "
                             "needs memray (pip install '.[memtrace]')")
    parser.add_argument("--memtrace-from", type=int, default=10, metavar="N",
                        help="start recording after this many journeys (the caches of the first ones are not "
                             "growth; default 10)")
    parser.add_argument("--no-private-network", action="store_true",
                        help="stay in the machine's network (no network cuts; not root, or no nftables)")
    args = parser.parse_args()
    # First of all, before any thread or service starts: the soak's own network, where the point's can be cut
    # (simulation/netcut.py). Without it the journeys drawn with a network cut run without one.
    why_not = "not asked for (--no-private-network)" if args.no_private_network else enter_private_network()
    if why_not is not None:
        print(f"network cuts: not injected ({why_not})", flush=True)
    # The kiosk and the switchboard log at INFO (the soak reads every line for the customer's words);
    # the console gets warnings only.
    logging.basicConfig(level=logging.INFO)
    logging.getLogger().handlers[0].setLevel(logging.ERROR)
    aioice.ice.get_host_addresses = loopback_addresses
    # A stopped run still stops its private services (cupsd, pcscd, mosquitto): their cleanup runs on exit.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    app = QApplication.instance() or QApplication([])
    assert app is not None
    root = Path(tempfile.mkdtemp(prefix="ea-soak-", dir="/tmp"))
    try:
        report = asyncio.run(run(args, root))
    finally:
        # All but the kiosk's temporary directory, which multiprocessing empties itself as the process exits.
        for path in root.iterdir():
            if path.name != "work":
                shutil.rmtree(path, ignore_errors=True)
        for path in (root / "work").iterdir():
            if path.name != "tmp":
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink()
    summary = report.summary()
    print()
    print(report.table())
    print()
    if why_not is not None:
        print("Not injected here:", "; ".join(f"{k}: {v}" for k, v in NOT_INJECTED.items()), f"({why_not})")
    if args.json:
        write_json(args.json, report)
    bad = summary["lost"] or summary["crashes"] or summary["residues"] or summary["failed_journeys"]
    if bad:
        print("replay a failing journey alone:", " ".join(f"--replay {j}" for j in summary["failed_journeys"][:10]))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
