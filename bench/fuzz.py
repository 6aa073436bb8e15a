"""Fuzz campaign (issue 24): hostile messages against every endpoint that parses input from outside.

    .venv/bin/python bench/fuzz.py --messages 100000 --seed 24 [--endpoint switchboard.point] [--hang-s 2]

Per endpoint it prints the messages sent, those refused (by code), accepted, ignored by design, crashes and
hangs, and the time taken; the generators and the oracle are in ``simulation/fuzz.py`` (the suite's
``tests/test_fuzz.py`` runs the same code short). Exits 1 when any endpoint crashed or hung, listing the
first frames that did (each then gets a regression test of its own before it is fixed).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from simulation.fuzz import ENDPOINTS, HANG_S, RUNNERS, Tally


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=100_000, help="messages per endpoint")
    parser.add_argument("--seed", type=int, default=24)
    parser.add_argument("--endpoint", choices=ENDPOINTS, action="append", help="only these (repeatable)")
    parser.add_argument("--hang-s", type=float, default=HANG_S, help="a handler slower than this is a hang")
    args = parser.parse_args()
    # The endpoints log every refusal (that is their job); the fuzz counts them instead of printing them.
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger().handlers[0].setLevel(logging.CRITICAL)
    failed = False
    for name in args.endpoint or ENDPOINTS:
        tally: Tally = await RUNNERS[name](args.messages, args.seed, args.hang_s)
        print(tally.summary(), flush=True)
        for problem in (tally.crashes + tally.hangs)[:10]:
            print("   ", problem, flush=True)
        failed = failed or bool(tally.crashes or tally.hangs)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
