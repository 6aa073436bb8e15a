"""Whose are the allocations a soak kept: the report of ``bench/soak.py --memtrace FILE.bin``.

    .venv/bin/python bench/soak.py --sessions 100 --memtrace /tmp/soak.bin --memtrace-from 10
    .venv/bin/python bench/memtrace_report.py /tmp/soak.bin [--top 20] [--site kiosk/views/journey.py:830]

The trace holds every allocation made after journey N (native ones with their C++ frames, e.g. Qt's,
FFmpeg's, OpenSSL's, and the Python frames that led to them); those not freed when the run ended are what
the process kept. Each is put down to the first frame of this repository's code on its stack: the kiosk's
(``kiosk/``, ``drivers/``, ``provisioning/``, ``etapiste/``) or the harness's (``simulation/``,
``switchboard/``, ``bench/``: the soak's switchboard and desks share its process), else "other" (Python's own
arenas, libraries' threads). One current object (the configuration, the keyboard on screen, a camera frame)
is not growth; many allocations from one site over many journeys are. ``--site`` prints the whole stacks of
one site. Needs memray (``pip install '.[memtrace]'``).
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Sequence

OWNERS = (("harness", ("/simulation/", "/switchboard/", "/bench/")),
          ("kiosk", ("/kiosk/", "/drivers/", "/provisioning/", "/etapiste/")))  # fmt: skip

Frame = tuple[str, str, int]


def owner(stack: Sequence[Frame]) -> tuple[str, str]:
    """Whose an allocation is, and its site: the innermost frame of this repository's code."""
    for function, path, line in stack:
        if "/site-packages/" in path:
            continue
        for name, marks in OWNERS:
            for mark in marks:
                if mark in path:
                    return name, f"{function} {mark.strip('/')}/{path.split(mark, 1)[1]}:{line}"
    return "other", ""


def stack_of(record: object) -> Sequence[Frame]:
    """Native and Python frames together where memray can join them, else the Python frames."""
    try:
        return record.hybrid_stack_trace(max_stacks=64)  # type: ignore[attr-defined]
    except (AssertionError, NotImplementedError):  # a stack memray cannot join (e.g. no Python frame)
        return record.stack_trace(max_stacks=64)  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("trace", help="the file bench/soak.py --memtrace wrote")
    parser.add_argument("--top", type=int, default=20, help="sites to list")
    parser.add_argument("--site", help="print the stacks of the allocations whose site contains this")
    args = parser.parse_args()
    import memray

    kept = list(memray.FileReader(args.trace).get_leaked_allocation_records(merge_threads=True))
    by_owner: Counter[str] = Counter()
    by_site: Counter[tuple[str, str]] = Counter()
    count: Counter[tuple[str, str]] = Counter()
    for record in kept:
        stack = stack_of(record)
        who, site = owner(stack)
        by_owner[who] += record.size
        by_site[who, site] += record.size
        count[who, site] += record.n_allocations
        if args.site and args.site in site:
            print(f"--- {record.size / 2**20:.2f} MB in {record.n_allocations} allocations")
            for function, path, line in stack[:40]:
                print(f"    {function}  {path.split('site-packages/')[-1]}:{line}")
    total = sum(by_owner.values())
    print(f"kept: {total / 2**20:.1f} MB in {sum(r.n_allocations for r in kept)} allocations")
    for who, size in by_owner.most_common():
        print(f"  {who:8} {size / 2**20:7.2f} MB")
    print(f"\nsites, largest first ({args.top}):")
    for (who, site), size in by_site.most_common(args.top):
        print(f"  {size / 2**20:7.2f} MB {count[who, site]:6} allocations  {who:8} {site or '(no code of ours)'}")


if __name__ == "__main__":
    main()
