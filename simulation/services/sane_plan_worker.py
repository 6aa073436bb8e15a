"""A scanner worker that changes SANE ``test`` backend options between feeder pages (run as a script).

Usage: ``python sane_plan_worker.py '{"3": {"read_return_value": "SANE_STATUS_JAMMED"}}'`` — after
page 3 the backend is told to fail its next read with "Document feeder jammed". The fault still comes
from the backend itself (its ``read-return-value`` option); this only chooses *when*. The test backend
refuses option changes while a batch is open, so the open batch is cancelled first; its page counter
(10 sheets in the feeder) is kept across that. ``{"__crash__": true}`` kills the worker with SIGSEGV
after that page, as a crashing vendor backend would; ``{"0": {"__empty_feeder__": true}}`` empties the
feeder before the first page.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import Any

from drivers.scanner_worker import Worker, run_and_exit, settle_threads


def plan_worker(plan: dict[str, dict[str, Any]]) -> type[Worker]:
    class PlanWorker(Worker):
        def before_first_page(self, dev: Any) -> None:
            if plan.get("0", {}).get("__empty_feeder__"):
                # Feed the backend's 10 sheets through, so the feeder is empty when the scan starts.
                for _ in range(10):
                    self.start(dev)
                    self.snap(dev)

        def after_page(self, dev: Any, page: int) -> None:
            options = dict(plan.get(str(page), {}))
            if options.pop("__crash__", False):
                self.wait_encoded()  # the pages before the crash reached the parent
                os.kill(os.getpid(), signal.SIGSEGV)  # a backend crashing takes the worker with it
            if options:
                # The page's reader thread has ended (Worker.snap waits for it): cancelling is safe.
                settle_threads(self.backend_threads, ended=True)
                self.cancel_device(dev)
                for name, value in options.items():
                    setattr(dev, name, value)

    return PlanWorker


if __name__ == "__main__":
    run_and_exit(plan_worker(json.loads(sys.argv[1])))
