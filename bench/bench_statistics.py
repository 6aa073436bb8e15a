"""Benchmark: a year of a 500-point fleet's statistics into the organiser's store, then the organiser's
monthly report from it — time and peak memory, SQLite and PostgreSQL side by side.

    .venv/bin/python bench/bench_statistics.py [--points 500] [--months 12] [--runs 3]

The fleet is :class:`provisioning.stats_fake.FakeFleet` (fixed seed). Each point publishes its last 35 days
every 30 days, as the agent's retained document would be seen after a month (5 days arrive twice, so
re-delivery is part of the load). Each document goes through the collector's own path —
``Store.ingest_payload``: parse, validate against the contract, keep the latest copy per (point, day) —
into both stores; the MQTT hop is left out (bench_provisioning.py measures the broker).

Then ``etapiste ops report`` runs as its own process (``--runs`` times per store, medians) for the
organiser's scope and for the largest producer's; its peak resident memory is the child's ``ru_maxrss``.
Reference peer, same machine, same run, same store: a bare process that runs the month's one
``GROUP BY`` through the database driver (sqlite3 / psycopg) and nothing else — the floor of reading
a month's sums. PostgreSQL is the harness's private server (simulation/services/postgres.py) with fsync on.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from provisioning.stats_fake import FakeFleet  # noqa: E402
from provisioning.stats_store import Store  # noqa: E402
from simulation.services.postgres import start_postgres  # noqa: E402

ETAPISTE = str(Path(sys.executable).with_name("etapiste"))

PEER = r"""
import sys, time
url, first, last = sys.argv[1], sys.argv[2], sys.argv[3]
cols = ", ".join(f"SUM({c})" for c in sys.argv[4].split(","))
sql = (f"SELECT point, producer, queue, {cols} FROM queue_day WHERE day BETWEEN %s AND %s"
       " GROUP BY point, producer, queue")
t = time.perf_counter()
if url.startswith("sqlite:///"):
    import sqlite3
    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    rows = conn.execute(sql.replace("%s", "?"), (first, last)).fetchall()
else:
    import psycopg
    with psycopg.connect(url) as conn:
        rows = conn.execute(sql, (first, last)).fetchall()
print(len(rows), time.perf_counter() - t)
"""


#: The child is started by a small launcher that forks it and reports its ``ru_maxrss``: a child forked
#: straight from this (large) process would count this process's pages, shared until exec, as its own.
LAUNCH = (
    "import os, sys\n"
    "pid = os.fork()\n"
    "if pid == 0:\n    os.execv(sys.argv[1], sys.argv[1:])\n"
    "_, status, usage = os.wait4(pid, 0)\n"
    "print(f'maxrss={usage.ru_maxrss}', file=sys.stderr)\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def timed_child(argv: list[str]) -> tuple[float, int, str]:
    """(wall seconds, peak RSS in KiB, stdout) of one child process."""
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", LAUNCH, *argv], capture_output=True, text=True)
    wall = time.perf_counter() - t
    if done.returncode != 0:
        raise RuntimeError(f"{argv[:4]} failed: {done.stderr[-2000:]}")
    rss = int(done.stderr.rsplit("maxrss=", 1)[1].split()[0])
    return wall, rss, done.stdout


def fill(stores: dict[str, Store], fleet: FakeFleet, first: dt.date, last: dt.date) -> dict[str, float]:
    spent = dict.fromkeys(stores, 0.0)
    docs = days = 0
    gen = 0.0
    now = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    started = time.perf_counter()
    for n, point in enumerate(fleet.point_ids()):
        published = first + dt.timedelta(days=29)
        while True:
            t = time.perf_counter()
            payload = fleet.payload(point, min(published, last))
            gen += time.perf_counter() - t
            for name, store in stores.items():
                t = time.perf_counter()
                report = store.ingest_payload(point, payload, now=now)
                spent[name] += time.perf_counter() - t
            docs += 1
            days += len(report.stored) + len(report.unchanged)
            if published >= last:
                break
            published += dt.timedelta(days=30)
        if n % 50 == 49:
            print(f"  … {n + 1} points, {docs} documents, {time.perf_counter() - started:.0f} s", flush=True)
    print(f"  generated {docs} documents ({days} point-days) in {gen:.0f} s (not counted below)")
    return {name: docs / s for name, s in spent.items()} | {f"{name}_s": s for name, s in spent.items()} | {
        "docs": docs, "days": days}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=500)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--year", type=int, default=2026)
    args = ap.parse_args()
    first = dt.date(args.year, 1, 1)
    end_month = args.months
    last = dt.date(args.year + (end_month // 12), end_month % 12 + 1, 1) - dt.timedelta(days=1)
    month = f"{args.year}-{min(end_month, 6):02d}"  # a month in the middle of the year (or the last, if fewer)
    fleet = FakeFleet(points=args.points, seed=2026, prefix="bench")
    work = Path(tempfile.mkdtemp(prefix="bench-statistics-"))
    work.chmod(0o755)
    try:
        with start_postgres(work, durable=True) as pg:
            pg.create_database("statistics")
            urls = {"sqlite": f"sqlite:///{work / 'statistics.db'}", "postgresql": pg.url("statistics")}
            stores = {name: Store(url) for name, url in urls.items()}
            print(f"{args.points} points, {first} – {last}; report month {month}", flush=True)
            rates = fill(stores, fleet, first, last)
            for s in stores.values():
                s.close()
            size = {
                "sqlite": sum(p.stat().st_size for p in work.glob("statistics.db*")),
                "postgresql": int(pg.psql("SELECT pg_database_size('statistics')").strip()),
            }
            from provisioning.stats_store import QUEUE_COUNTS, QUEUE_SUMS

            y, m = (int(x) for x in month.split("-"))
            mfirst = dt.date(y, m, 1)
            mlast = dt.date(y + m // 12, m % 12 + 1, 1) - dt.timedelta(days=1)
            results = {}
            for name, url in urls.items():
                out = work / f"report-{name}"
                runs = {"organiser": [], "producer kela": [], "peer": []}
                for _ in range(args.runs + 1):  # the first run warms the caches and is dropped
                    report = [ETAPISTE, "ops", "report", "--store", url, "--month", month]
                    runs["organiser"].append(timed_child([*report, "--out", str(out / "org")]))
                    runs["producer kela"].append(timed_child([*report, "--producer", "kela", "--out", str(out / "k")]))
                    runs["peer"].append(timed_child([sys.executable, "-c", PEER, url,
                                                     mfirst.isoformat(), mlast.isoformat(),
                                                     ",".join([*QUEUE_COUNTS, *QUEUE_SUMS])]))  # fmt: skip
                results[name] = {k: (statistics.median(w for w, _, _ in v[1:]), max(r for _, r, _ in v[1:]))
                                 for k, v in runs.items()}  # fmt: skip
                print(f"  {name}: {runs['organiser'][-1][2].strip()}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print()
    print(f"| {args.points} points, {args.months} months | SQLite | PostgreSQL |")
    print("|---|---|---|")
    print(
        f"| ingest (collector's path, without MQTT) | {rates['sqlite']:.1f} documents/s ({rates['sqlite_s']:.0f} s) "
        f"| {rates['postgresql']:.1f} documents/s ({rates['postgresql_s']:.0f} s) |"
    )
    print(f"| store size | {size['sqlite'] / 1e6:.0f} MB | {size['postgresql'] / 1e6:.0f} MB |")
    for k in ("organiser", "producer kela", "peer"):
        label = {
            "organiser": f"`ops report --month {month}` (organiser)",
            "producer kela": "`ops report --producer kela`",
            "peer": "reference: the month's GROUP BY alone (driver only)",
        }[k]
        s, p = results["sqlite"][k], results["postgresql"][k]
        print(f"| {label} | {s[0]:.2f} s, peak {s[1] / 1024:.0f} MB | {p[0]:.2f} s, peak {p[1] / 1024:.0f} MB |")
    print(f"\n({rates['docs']} documents, {rates['days']} point-days each; medians of {args.runs} runs)")


if __name__ == "__main__":
    main()
