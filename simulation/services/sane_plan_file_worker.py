"""A scanner worker whose fault plan (:mod:`simulation.services.sane_plan_worker`) is read from a file when
each scan starts, not fixed when the scanner is made: the chaos soak (simulation/soak.py) keeps one
:class:`drivers.scanner.Scanner` for a thousand customers and changes what its feeder holds and where it
jams before each of them. The fault still comes from the SANE test backend itself.

Usage: ``python -P sane_plan_file_worker.py PLAN.json`` (the file holds the plan's JSON; missing: no plan).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from drivers.scanner_worker import run_and_exit
from simulation.services.sane_plan_worker import plan_worker


def file_plan_worker(path: Path) -> type[Any]:
    plan: dict[str, dict[str, Any]] = {}
    base = plan_worker(plan)

    class FilePlanWorker(base):  # type: ignore[misc, valid-type]
        def before_first_page(self, dev: Any) -> None:
            plan.clear()
            if path.exists():
                plan.update(json.loads(path.read_text(encoding="utf-8")))
            super().before_first_page(dev)

    return FilePlanWorker


def command(plan_file: Path) -> list[str]:
    """The worker command for :class:`drivers.scanner.Scanner` (``-P``: the folder must not shadow ``sane``)."""
    return [sys.executable, "-P", str(Path(__file__)), str(plan_file)]


if __name__ == "__main__":
    run_and_exit(file_plan_worker(Path(sys.argv[1])))
