"""``etapiste ops report``: a month of the organiser's statistics store as ``report.html`` (one
self-contained page: charts as inline SVG, readable printed on A4) and ``report.csv`` (every figure of
the page, one per row, for a spreadsheet).

Three scopes: the organiser's (every point and producer), one producer's (``--producer``: only its own
queues, only the points it served at; small counts masked, see :mod:`provisioning.report_cells`), and one
point's (``--point``). The month's sums come from the database (:meth:`Store.month`); nothing here sees a
single day of a single queue except the daily chart's totals.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import html
import io
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provisioning.report_cells import HIDDEN, SMALL, THRESHOLD, Cells
from provisioning.stats_model import ANSWER_TARGET_S, BUCKETS_S, ID_PATTERN, OUTCOMES, QUALITY_BUCKETS
from provisioning.stats_store import (
    ABANDONED_WAIT_COLS,
    HOUR_COLS,
    QUALITY_COLS,
    RATING_COLS,
    WAIT_COLS,
    MonthData,
    Store,
)

OUTCOME_LABELS = {
    "served": "served",
    "abandoned": "left the queue",
    "queue_timeout": "queue timed out",
    "closed": "service hours ended",
    "connection_lost": "connection lost",
    "technical_failure": "technical failure",
}
WAIT_LABELS = ["< 1 min", "1–5 min", "5–10 min", "10–20 min", "20–30 min", "30–60 min", "≥ 60 min"]
assert len(WAIT_LABELS) == len(BUCKETS_S) + 1
RATING_LABELS = ["1", "2", "3", "4", "5", "skipped"]
QUALITY_LABELS = {
    "bitrate_kbps_hist": ("video bitrate", ["< 250 kbit/s", "250–500", "500–1000", "1000–2000", "≥ 2000"]),
    "fps_hist": ("frame rate", ["< 10 fps", "10–20", "20–25", "25–28", "≥ 28"]),
    "loss_pct_hist": ("packet loss", ["< 0.5 %", "0.5–1 %", "1–2 %", "2–5 %", "≥ 5 %"]),
    "rtt_ms_hist": ("round trip", ["< 50 ms", "50–100", "100–200", "200–400", "≥ 400"]),
}
#: Quality buckets from good to bad, for colouring (bitrate and frame rate: higher is better).
QUALITY_GOOD_FIRST = {"bitrate_kbps_hist": False, "fps_hist": False, "loss_pct_hist": True, "rtt_ms_hist": True}
assert set(QUALITY_LABELS) == set(QUALITY_BUCKETS)
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
#: Okabe–Ito: told apart with every common colour-vision deficiency, and in greyscale print by the hatching.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
OUTCOME_COLOURS = ["#009E73", "#E69F00", "#D55E00", "#999999", "#CC79A7", "#000000"]
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_ID = re.compile(ID_PATTERN)


class ReportError(ValueError):
    """A report that cannot be made as asked (bad month, unknown producer…); said to the operator."""


def parse_month(text: str) -> tuple[int, int]:
    m = _MONTH.match(text)
    if not m or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 2000:
        raise ReportError(f"--month {text[:20]!r}: write the month as YYYY-MM, e.g. 2026-11")
    return int(m.group(1)), int(m.group(2))


@dataclass
class Scope:
    year: int
    month: int
    producer: str | None = None
    point: str | None = None
    min_sessions: int = 100
    mask: bool = False

    @property
    def leaves_organiser(self) -> bool:
        return self.mask or self.producer is not None

    @property
    def title(self) -> str:
        name = f"{calendar.month_name[self.month]} {self.year}"
        if self.producer:
            return f"{self.producer}: service point statistics, {name}"
        if self.point:
            return f"Service point {self.point}: statistics, {name}"
        return f"Service point statistics, {name}"


# --------------------------------------------------------------------------------------------- figures


@dataclass
class Figures:
    """Everything the page and the CSV show, with every count of people a registered cell."""

    scope: Scope
    data: MonthData
    cells: Cells
    csv_rows: list[tuple[str, str, str, str, str, str]] = field(default_factory=list)
    queues: list[tuple[str, str]] = field(default_factory=list)
    """(producer, queue) shown, in order."""
    producers: list[str] = field(default_factory=list)
    points: list[str] = field(default_factory=list)
    quiet_points: list[str] = field(default_factory=list)
    """Points that reported nothing this month (organiser's scope only)."""
    sums: dict[str, float] = field(default_factory=dict)
    """Wait and duration sums (seconds) by cell key prefix: for means, shown only with their count."""


def _sum(rows: Sequence[dict[str, Any]], col: str) -> int:
    return sum(int(r[col]) for r in rows)


def build(store: Store, scope: Scope) -> Figures:
    if scope.producer is not None and not _ID.match(scope.producer):
        raise ReportError(f"--producer {scope.producer[:70]!r} is not a producer id (lowercase, digits, dashes)")
    if scope.point is not None and not _ID.match(scope.point):
        raise ReportError(f"--point {scope.point[:70]!r} is not a point id (lowercase, digits, dashes)")
    data = store.month(scope.year, scope.month, producer=scope.producer, point=scope.point)
    f = Figures(scope, data, Cells(mask=scope.leaves_organiser))
    c = f.cells
    q_rows = data.queues
    f.queues = sorted({(r["producer"], r["queue"]) for r in q_rows})
    f.producers = sorted({p for p, _ in f.queues})
    f.points = sorted({r["point"] for r in q_rows} | {r["point"] for r in data.points})
    if scope.producer is None and scope.point is None:
        f.quiet_points = store.quiet_points(data.first, data.last)

    def count(
        key: str, value: int, section: str, measure: str, point: str = "", producer: str = "", queue: str = ""
    ) -> str:
        c.add(key, value)
        f.csv_rows.append((section, point, producer, queue, measure, key))
        return key

    # Totals over everything in scope, and per queue (over all points), and per point.
    def outcome_block(prefix: str, rows: Sequence[dict[str, Any]], section: str, **where: str) -> None:
        parts = [count(f"{prefix}.{o}", _sum(rows, o), section, o, **where) for o in OUTCOMES]
        total = count(f"{prefix}.sessions", sum(c.values[p] for p in parts), section, "sessions", **where)
        c.group(total, parts)
        count(
            f"{prefix}.answered_within_300s",
            _sum(rows, "answered_within_300s"),
            section,
            "answered_within_300s",
            **where,
        )
        f.sums[f"{prefix}.wait_s_sum"] = sum(float(r["wait_s_sum"]) for r in rows)
        f.sums[f"{prefix}.duration_s_sum"] = sum(float(r["duration_s_sum"]) for r in rows)
        f.sums[f"{prefix}.rated"] = sum(_sum(rows, col) for col in RATING_COLS[:5])
        f.sums[f"{prefix}.rating_sum"] = sum(score * _sum(rows, col) for score, col in enumerate(RATING_COLS[:5], 1))
        count(f"{prefix}.waited", sum(_sum(rows, col) for col in WAIT_COLS), section, "waited", **where)

    outcome_block("total", q_rows, "total")
    for producer, queue in f.queues:
        rows = [r for r in q_rows if (r["producer"], r["queue"]) == (producer, queue)]
        outcome_block(f"q.{producer}/{queue}", rows, "queue", producer=producer, queue=queue)
    for o in ("sessions", *OUTCOMES):
        c.group(f"total.{o}", [f"q.{p}/{q}.{o}" for p, q in f.queues])
    if len(f.producers) > 1:
        for producer in f.producers:
            rows = [r for r in q_rows if r["producer"] == producer]
            outcome_block(f"p.{producer}", rows, "producer", producer=producer)
        for o in ("sessions", *OUTCOMES):
            c.group(f"total.{o}", [f"p.{p}.{o}" for p in f.producers])
    q_points = sorted({r["point"] for r in q_rows})
    for point in q_points:
        rows = [r for r in q_rows if r["point"] == point]
        outcome_block(f"pt.{point}", rows, "point", point=point)
    for o in ("sessions", *OUTCOMES):
        c.group(f"total.{o}", [f"pt.{p}.{o}" for p in q_points])

    # Distributions over everything in scope.
    parts = [count(f"wait.{i}", _sum(q_rows, col), "wait", f"wait_{WAIT_LABELS[i]}") for i, col in enumerate(WAIT_COLS)]
    c.group("total.waited", parts)
    parts = [
        count(f"abwait.{i}", _sum(q_rows, col), "abandoned_wait", f"wait_{WAIT_LABELS[i]}")
        for i, col in enumerate(ABANDONED_WAIT_COLS)
    ]
    c.group("total.abandoned", parts)
    parts = [
        count(f"rating.{lab}", _sum(q_rows, col), "satisfaction", f"rating_{lab}")
        for lab, col in zip(RATING_LABELS, RATING_COLS, strict=True)
    ]
    c.group("total.served", parts)
    calls = count("quality.calls", _sum(q_rows, "quality_calls"), "call_quality", "calls")
    for name, cols in QUALITY_COLS.items():
        label, buckets = QUALITY_LABELS[name]
        parts = [
            count(f"quality.{name}.{i}", _sum(q_rows, col), "call_quality", f"{label}: {buckets[i]}")
            for i, col in enumerate(cols)
        ]
        c.group(calls, parts)
    # Busiest hours: the queues' own hours (a producer never sees another's customers).
    parts = [count(f"hour.{h}", _sum(q_rows, col), "hours", f"hour_{h:02d}") for h, col in enumerate(HOUR_COLS)]
    c.group("total.sessions", parts)
    # Sessions per day of the month.
    by_day: dict[dt.date, int] = {}
    for day, _producer, n, _hours in data.daily:
        by_day[day] = by_day.get(day, 0) + n
    days = [data.first + dt.timedelta(days=i) for i in range((data.last - data.first).days + 1)]
    parts = [count(f"day.{d.isoformat()}", by_day.get(d, 0), "daily", f"sessions_{d.isoformat()}") for d in days]
    c.group("total.sessions", parts)

    # The organiser's own figures: visits, usage, faults, availability (not in a producer's report:
    # the point's day counts every producer's customers).
    if scope.producer is None:
        p_rows = data.points
        count("total.left_before_choosing", _sum(p_rows, "left_before_choosing"), "total", "left_before_choosing")
        for r in p_rows:
            count(
                f"pt.{r['point']}.left_before_choosing",
                int(r["left_before_choosing"]),
                "point",
                "left_before_choosing",
                point=r["point"],
            )
        for col in (
            "lang_fi",
            "lang_sv",
            "lang_en",
            "identify_asked",
            "identify_succeeded",
            "identify_failed",
            "scans",
            "scan_pages",
            "prints",
            "print_pages",
            "interpreter_joined",
            "text_used",
            "speech_used",
            "large_text_used",
        ):
            count(f"usage.{col}", _sum(p_rows, col), "usage", col)
    c.resolve()
    return f


# --------------------------------------------------------------------------------------------- CSV


def to_csv(f: Figures) -> str:
    """One figure per row: ``month,scope,section,point,producer,queue,measure,value``. Counts masked as in
    the page (``<5``, ``×``); means and shares only where the page shows them."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["month", "scope", "section", "point", "producer", "queue", "measure", "value"])
    month = f"{f.scope.year:04d}-{f.scope.month:02d}"
    scope = f"producer:{f.scope.producer}" if f.scope.producer else f"point:{f.scope.point}" if f.scope.point else "all"
    for section, point, producer, queue, measure, key in f.csv_rows:
        w.writerow([month, scope, section, point, producer, queue, measure, f.cells.raw(key)])
    for prefix, section, point, producer, queue in _row_prefixes(f):
        for measure, value in _derived(f, prefix).items():
            w.writerow([month, scope, section, point, producer, queue, measure, "" if value is None else value])
    for r in _availability(f):
        for measure in ("days_reported", "hours_open", "hours_out_of_service", "hours_offline", "available_pct"):
            w.writerow([month, scope, "availability", r["point"], "", "", measure, r[measure]])
    if f.scope.producer is None:
        for point, device, code, n in f.data.faults:
            w.writerow([month, scope, "faults", point, "", "", f"{device}:{code}", n])
    for point, sessions in _below_threshold(f):
        w.writerow([month, scope, "below_threshold", point, f.scope.producer or "", "", "sessions", sessions])
    return out.getvalue()


def _row_prefixes(f: Figures) -> list[tuple[str, str, str, str, str]]:
    rows = [("total", "total", "", "", "")]
    rows += [(f"q.{p}/{q}", "queue", "", p, q) for p, q in f.queues]
    if len(f.producers) > 1:
        rows += [(f"p.{p}", "producer", "", p, "") for p in f.producers]
    rows += [(f"pt.{p}", "point", p, "", "") for p in sorted({r["point"] for r in f.data.queues})]
    return rows


def _derived(f: Figures, prefix: str) -> dict[str, str | None]:
    """Shares and means of one row, each only if the counts it comes from are shown (a share of a
    masked count would give the count back)."""
    c = f.cells
    served, answered = c.value(f"{prefix}.served"), c.value(f"{prefix}.answered_within_300s")
    waited = c.value(f"{prefix}.waited")
    out: dict[str, str | None] = {
        "answered_within_300s_pct": _pct(answered, served),
        "mean_wait_min": _mean_min(f.sums.get(f"{prefix}.wait_s_sum"), waited),
        "mean_call_min": _mean_min(f.sums.get(f"{prefix}.duration_s_sum"), served),
    }
    return out


def _pct(num: int | None, den: int | None) -> str | None:
    if num is None or den is None or den == 0 or (0 < den < THRESHOLD):
        return None
    return f"{100 * num / den:.1f}"


def _mean_min(total_s: float | None, n: int | None) -> str | None:
    if total_s is None or n is None or n < THRESHOLD:
        return None
    return f"{total_s / n / 60:.1f}"


def _availability(f: Figures) -> list[dict[str, Any]]:
    out = []
    for r in f.data.points:
        opened = int(r["minutes_open"]) + int(r["minutes_out_of_service"])
        out.append(
            {
                "point": r["point"],
                "days_reported": int(r["days_reported"]),
                "hours_open": f"{int(r['minutes_open']) / 60:.1f}",
                "hours_out_of_service": f"{int(r['minutes_out_of_service']) / 60:.1f}",
                "hours_offline": f"{int(r['minutes_offline']) / 60:.1f}",
                "available_pct": f"{100 * int(r['minutes_open']) / opened:.1f}" if opened else "",
            }
        )
    return out


def _below_threshold(f: Figures) -> list[tuple[str, str]]:
    """Points whose sessions in scope fell below ``--min-sessions`` (masked as the page masks them), and
    in the organiser's scope also the points that reported nothing this month."""
    out = []
    for point in sorted({r["point"] for r in f.data.queues} | {r["point"] for r in f.data.points}):
        key = f"pt.{point}.sessions"
        n = f.cells.values.get(key, 0)
        if n < f.scope.min_sessions:
            out.append((point, f.cells.raw(key) if key in f.cells.values else "0"))
    out += [(p, "0") for p in f.quiet_points if p not in f.points]
    return out


# --------------------------------------------------------------------------------------------- SVG


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _nice_max(v: float) -> float:
    if v <= 5:
        return 5.0
    mag = 10 ** (len(str(int(v))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if v <= step * mag:
            return float(step * mag)
    return float(10 * mag)


def bar_chart(
    labels: Sequence[str],
    shown: Sequence[str],
    values: Sequence[int | None],
    *,
    title: str,
    colour: str = PALETTE[0],
    highlight: set[int] | None = None,
    width: int = 680,
    height: int = 220,
    label_every: int = 1,
    highlight_colour: str = PALETTE[5],
) -> str:
    """Vertical bars with their value written on top. ``values[i]`` is ``None`` for a masked cell: drawn
    as a hatched stub with its mark (``<5`` or ``×``), never at a height that tells its value."""
    n = len(labels)
    left, right, top, bottom = 44, 8, 26, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    vmax = _nice_max(max([v for v in values if v is not None] + [1]))
    bw = plot_w / n
    out = [
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{_esc(title)}" class="chart">',
        f"<title>{_esc(title)}</title>",
        _hatch(),
    ]
    for frac in (0, 0.5, 1):
        y = top + plot_h * (1 - frac)
        out.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        out.append(f'<text x="{left - 4}" y="{y + 4:.1f}" class="axis" text-anchor="end">{vmax * frac:g}</text>')
    for i, (label, text, v) in enumerate(zip(labels, shown, values, strict=True)):
        x = left + i * bw + bw * 0.12
        w = bw * 0.76
        if v is None:
            h = plot_h * 0.06
            out.append(
                f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{w:.1f}" height="{h:.1f}" '
                'fill="url(#hatch)" stroke="#555" stroke-width="0.5"/>'
            )
            ty = top + plot_h - h - 3
        else:
            h = plot_h * v / vmax
            fill = highlight_colour if highlight and i in highlight else colour
            out.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{fill}"/>')
            ty = top + plot_h - h - 3
        if text != "0" or n <= 12:
            out.append(f'<text x="{x + w / 2:.1f}" y="{ty:.1f}" class="val" text-anchor="middle">{_esc(text)}</text>')
        if i % label_every == 0:
            out.append(
                f'<text x="{x + w / 2:.1f}" y="{height - bottom + 14}" class="axis" '
                f'text-anchor="middle">{_esc(label)}</text>'
            )
    out.append("</svg>")
    return "".join(out)


def _hatch() -> str:
    return (
        '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#eee"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#777" stroke-width="2"/></pattern></defs>'
    )


def share_bars(
    rows: Sequence[tuple[str, Sequence[int | None], Sequence[str]]],
    labels: Sequence[str],
    colours: Sequence[str],
    *,
    title: str,
    width: int = 680,
) -> str:
    """One 100 % bar per row split into its parts (outcomes, quality buckets), with a legend. A row with a
    masked part is drawn as a hatched bar with its figures left to the table."""
    row_h, left, top = 22, 150, 8
    per_row = 5 if len(labels) == 5 else 4
    legend_h = 18 * ((len(labels) + per_row - 1) // per_row)
    height = top + row_h * len(rows) + legend_h + 10
    out = [
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{_esc(title)}" class="chart">',
        f"<title>{_esc(title)}</title>",
        _hatch(),
    ]
    plot_w = width - left - 10
    for r, (name, values, _shown) in enumerate(rows):
        y = top + r * row_h
        out.append(f'<text x="{left - 6}" y="{y + 14}" class="axis" text-anchor="end">{_esc(name)}</text>')
        if any(v is None for v in values) or not sum(v or 0 for v in values):
            out.append(f'<rect x="{left}" y="{y + 3}" width="{plot_w}" height="{row_h - 6}" fill="url(#hatch)"/>')
            out.append(f'<text x="{left + 6}" y="{y + 15}" class="val">small numbers: see the table</text>')
            continue
        total = sum(v or 0 for v in values)
        x = float(left)
        for v, colour in zip(values, colours, strict=False):
            w = plot_w * (v or 0) / total
            if w > 0:
                out.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" fill="{colour}"/>')
                if w > 34:
                    out.append(
                        f'<text x="{x + w / 2:.1f}" y="{y + 15}" class="inbar" text-anchor="middle">'
                        f"{100 * (v or 0) / total:.0f}%</text>"
                    )
            x += w
    ly = top + row_h * len(rows) + 8
    for i, (label, colour) in enumerate(zip(labels, colours, strict=False)):
        lx, lyy = left + (i % per_row) * (plot_w / per_row), ly + (i // per_row) * 18
        out.append(f'<rect x="{lx:.1f}" y="{lyy}" width="10" height="10" fill="{colour}"/>')
        out.append(f'<text x="{lx + 14:.1f}" y="{lyy + 9}" class="axis">{_esc(label)}</text>')
    out.append("</svg>")
    return "".join(out)


def heatmap(grid: list[list[int]], *, title: str, hours: range, width: int = 680) -> str:
    """Weekday × hour: darker is busier; the number written in each cell."""
    cell_w = (width - 50) / len(hours)
    cell_h = 20
    height = 24 + cell_h * 7
    vmax = max(max(row) for row in grid) or 1
    out = [
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{_esc(title)}" class="chart">',
        f"<title>{_esc(title)}</title>",
    ]
    for j, h in enumerate(hours):
        out.append(f'<text x="{50 + j * cell_w + cell_w / 2:.1f}" y="12" class="axis" text-anchor="middle">{h}</text>')
    for d in range(7):
        y = 18 + d * cell_h
        out.append(f'<text x="44" y="{y + 14}" class="axis" text-anchor="end">{WEEKDAYS[d]}</text>')
        for j, h in enumerate(hours):
            v = grid[d][h]
            shade = v / vmax
            light = int(247 - shade * 200)
            fill = f"rgb({light},{int(251 - shade * 150)},{int(255 - shade * 80)})"
            out.append(
                f'<rect x="{50 + j * cell_w:.1f}" y="{y}" width="{cell_w - 1:.1f}" height="{cell_h - 1}" '
                f'fill="{fill}"/>'
            )
            if v:
                cls = "inbar" if shade > 0.55 else "val"
                out.append(
                    f'<text x="{50 + j * cell_w + cell_w / 2:.1f}" y="{y + 14}" class="{cls}" '
                    f'text-anchor="middle">{v}</text>'
                )
    out.append("</svg>")
    return "".join(out)


# --------------------------------------------------------------------------------------------- HTML

CSS = """
:root { --ink: #1a1a1a; --muted: #555; --line: #d0d0d0; --accent: #0072B2; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: var(--ink); margin: 0;
       background: #f4f5f7; font-size: 14px; line-height: 1.4; }
main { max-width: 1100px; margin: 0 auto; padding: 24px; background: #fff; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 2px solid var(--accent); padding-bottom: 3px; }
p.sub, p.note, .rule { color: var(--muted); margin: 2px 0 8px; }
.rule { border-left: 4px solid #E69F00; padding: 6px 10px; background: #fff8e6; color: var(--ink); }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px; margin: 14px 0; }
.tile { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.tile b { display: block; font-size: 26px; color: var(--accent); }
.tile span { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 10px; font-size: 12.5px; }
th, td { border-bottom: 1px solid var(--line); padding: 3px 5px; text-align: right; white-space: nowrap; }
thead th { white-space: normal; vertical-align: bottom; }
th:first-child, td:first-child, th.l, td.l { text-align: left; }
thead th { background: #eef2f7; font-weight: 600; }
tr.total td { font-weight: 700; border-top: 2px solid #999; }
td.warn { color: #b34700; font-weight: 600; }
table.faults td:last-child, table.faults th:last-child { text-align: left; white-space: normal; }
svg.chart { width: 100%; height: auto; display: block; margin: 4px 0 8px; }
svg .grid { stroke: #e3e3e3; stroke-width: 1; }
svg .axis { font-size: 11px; fill: #444; }
svg .val { font-size: 10.5px; fill: #222; }
svg .inbar { font-size: 10.5px; fill: #fff; font-weight: 600; }
.two { display: grid; grid-template-columns: 1fr 1fr; gap: 18px; }
section { break-inside: avoid; page-break-inside: avoid; }
footer { margin-top: 26px; color: var(--muted); font-size: 11.5px; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { background: #fff; font-size: 10.5pt; }
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; page-break-after: avoid; }
  table { font-size: 8.5pt; }
  .tile b { font-size: 18pt; }
  section.big { break-inside: auto; page-break-inside: auto; }
  a { color: inherit; text-decoration: none; }
}
"""


def _table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    total: Sequence[str] | None = None,
    left: int = 1,
    cls: str = "",
) -> str:
    th = "".join(f'<th class="{"l" if i < left else ""}">{_esc(h)}</th>' for i, h in enumerate(header))
    body = []
    for r in rows:
        body.append(
            "<tr>" + "".join(f'<td class="{"l" if i < left else ""}">{_esc(v)}</td>' for i, v in enumerate(r)) + "</tr>"
        )
    if total is not None:
        body.append(
            '<tr class="total">'
            + "".join(f'<td class="{"l" if i < left else ""}">{_esc(v)}</td>' for i, v in enumerate(total))
            + "</tr>"
        )
    return f"<table class='{cls}'><thead><tr>{th}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _or_dash(v: str | None, suffix: str = "") -> str:
    return "–" if v is None else f"{v}{suffix}"


def _outcome_row(f: Figures, prefix: str) -> list[str]:
    c = f.cells
    d = _derived(f, prefix)
    return [
        c.show(f"{prefix}.sessions"),
        *(c.show(f"{prefix}.{o}") for o in OUTCOMES),
        _or_dash(d["answered_within_300s_pct"], " %"),
        _or_dash(d["mean_wait_min"]),
        _or_dash(d["mean_call_min"]),
        _or_dash(_mean_rating(f, prefix)),
    ]


def _mean_rating(f: Figures, prefix: str) -> str | None:
    if prefix != "total":
        # A row's ratings are not cells of their own: shown for the organiser, whose report masks nothing.
        n_rated = f.sums.get(f"{prefix}.rated", 0)
        if f.cells.mask or n_rated < THRESHOLD:
            return None
        return f"{f.sums[f'{prefix}.rating_sum'] / n_rated:.2f}"
    c = f.cells
    rated = [(i + 1, c.value(f"rating.{lab}")) for i, lab in enumerate(RATING_LABELS[:5])]
    if any(v is None for _, v in rated):
        return None
    n = sum(v or 0 for _, v in rated)
    if n < THRESHOLD:
        return None
    return f"{sum(score * (v or 0) for score, v in rated) / n:.2f}"


OUTCOME_HEAD = [
    "sessions",
    *(OUTCOME_LABELS[o] for o in OUTCOMES),
    f"answered ≤ {ANSWER_TARGET_S // 60} min",
    "mean wait (min)",
    "mean call (min)",
    "mean rating",
]


def to_html(f: Figures) -> str:
    s, c = f.scope, f.cells
    parts: list[str] = []
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    scope_text = (
        f"Only {s.producer}'s own queues, at the {len(f.points)} service point(s) where it served customers."
        if s.producer
        else f"Service point {s.point}, every producer."
        if s.point
        else f"Every service point ({len(f.points)}) and producer ({len(f.producers)})."
    )
    parts.append(
        f"<h1>{_esc(s.title)}</h1><p class='sub'>{_esc(scope_text)} {f.data.first} – {f.data.last}. "
        f"Generated {generated} by etapiste ops report.</p>"
    )
    if s.leaves_organiser:
        parts.append(
            "<p class='rule'><b>Disclosure control.</b> Counts of 1–4 people are shown as “&lt;5” so that no figure "
            "can point at a person; where a “&lt;5” could still be worked out by subtraction from a total, one more "
            "figure of that row or column is hidden (“×”). Totals are the true totals. Shares and means are shown "
            "only where the counts they come from are shown and at least 5.</p>"
        )
    # Tiles.
    d = _derived(f, "total")
    tiles = [
        ("sessions", c.show("total.sessions")),
        ("served", c.show("total.served")),
        (f"answered within {ANSWER_TARGET_S // 60} min", _or_dash(d["answered_within_300s_pct"], " %")),
        ("mean wait, min", _or_dash(d["mean_wait_min"])),
        ("mean rating (1–5)", _or_dash(_mean_rating(f, "total"))),
    ]
    if s.producer is None:
        tiles.append(("left before choosing", c.show("total.left_before_choosing")))
    parts.append(
        "<div class='tiles'>"
        + "".join(f"<div class='tile'><b>{_esc(v)}</b><span>{_esc(k)}</span></div>" for k, v in tiles)
        + "</div>"
    )
    # Daily volume.
    days = [f.data.first + dt.timedelta(days=i) for i in range((f.data.last - f.data.first).days + 1)]
    keys = [f"day.{x.isoformat()}" for x in days]
    parts.append(
        "<section><h2>Sessions per day</h2>"
        + bar_chart(
            [str(x.day) for x in days],
            [c.show(k) for k in keys],
            [c.value(k) for k in keys],
            title="Sessions per day",
            highlight={i for i, x in enumerate(days) if x.weekday() >= 5},
            label_every=1,
        )
        + "<p class='note'>Weekend days in orange. A session is counted on the day it started.</p></section>"
    )
    # Volumes and outcomes per producer / queue.
    rows = []
    for p, q in f.queues:
        rows.append([f"{p} / {q}", *_outcome_row(f, f"q.{p}/{q}")])
    if len(f.producers) > 1:
        for p in f.producers:
            if sum(1 for pq in f.queues if pq[0] == p) > 1:
                rows.append([f"{p} (all queues)", *_outcome_row(f, f"p.{p}")])
    parts.append(
        "<section class='big'><h2>Volumes and outcomes per producer</h2>"
        + _table(["queue", *OUTCOME_HEAD], rows, total=["total", *_outcome_row(f, "total")])
    )
    share_rows: list[tuple[str, Sequence[int | None], Sequence[str]]] = [
        (f"{p} / {q}", [c.value(f"q.{p}/{q}.{o}") for o in OUTCOMES], []) for p, q in f.queues
    ]
    parts.append(
        share_bars(share_rows, [OUTCOME_LABELS[o] for o in OUTCOMES], OUTCOME_COLOURS, title="Outcomes per queue")
        + "</section>"
    )
    # Per point.
    q_points = sorted({r["point"] for r in f.data.queues})
    rows = [[pt, *_outcome_row(f, f"pt.{pt}")[:8]] for pt in q_points]
    head = ["point", *OUTCOME_HEAD[:8]]
    if s.producer is None:
        head.append("left before choosing")
        for r in rows:
            key = f"pt.{r[0]}.left_before_choosing"
            r.append(c.show(key) if key in c.values else "0")
    parts.append(
        "<section class='big'><h2>Volumes per service point</h2>"
        + _table(
            head,
            rows,
            total=[
                "total",
                *_outcome_row(f, "total")[:8],
                *([c.show("total.left_before_choosing")] if s.producer is None else []),
            ],
        )
        + "</section>"
    )
    # Waits.
    wait_keys = [f"wait.{i}" for i in range(len(WAIT_LABELS))]
    ab_keys = [f"abwait.{i}" for i in range(len(WAIT_LABELS))]
    pct = d["answered_within_300s_pct"]
    parts.append(
        "<section><h2>Waiting time</h2><p class='note'>"
        + (
            f"<b>{pct} %</b> of the served customers were answered within {ANSWER_TARGET_S // 60} minutes. "
            if pct
            else ""
        )
        + "How long every customer who reached a queue waited (whatever the outcome; under 5 minutes in green):</p>"
        + bar_chart(
            WAIT_LABELS,
            [c.show(k) for k in wait_keys],
            [c.value(k) for k in wait_keys],
            title="Waiting time, every customer who queued",
            highlight={0, 1},
            highlight_colour=PALETTE[2],
        )
        + "<p class='note'>…and how long those who left the queue themselves had waited:</p>"
        + bar_chart(
            WAIT_LABELS,
            [c.show(k) for k in ab_keys],
            [c.value(k) for k in ab_keys],
            title="Waiting time of those who left the queue",
            colour=PALETTE[1],
            height=180,
        )
        + "</section>"
    )
    # Satisfaction.
    r_keys = [f"rating.{lab}" for lab in RATING_LABELS]
    mean = _mean_rating(f, "total")
    parts.append(
        "<section><h2>Satisfaction</h2><p class='note'>The served customers' rating, 1 (poor) to 5 (excellent)"
        + (f"; mean <b>{mean}</b>" if mean else "")
        + ".</p>"
        + bar_chart(
            RATING_LABELS,
            [c.show(k) for k in r_keys],
            [c.value(k) for k in r_keys],
            title="Satisfaction",
            colour=PALETTE[2],
            height=180,
        )
        + "</section>"
    )
    # Busiest hours.
    h_keys = [f"hour.{h}" for h in range(24)]
    busy = [h for h in range(24) if c.values[f"hour.{h}"]] or [9, 17]
    hours = range(max(0, min(busy) - 1), min(24, max(busy) + 2))
    sect = (
        "<section><h2>Busiest hours</h2><p class='note'>Sessions by the hour they started (the host's local "
        "time).</p>"
        + bar_chart(
            [f"{h}" for h in hours],
            [c.show(h_keys[h]) for h in hours],
            [c.value(h_keys[h]) for h in hours],
            title="Sessions by hour",
            colour=PALETTE[4],
        )
    )
    if not s.leaves_organiser:
        grid = [[0] * 24 for _ in range(7)]
        for day, _producer, _n, by_hour in f.data.daily:
            for h, v in enumerate(by_hour):
                grid[day.weekday()][h] += v
        sect += "<p class='note'>By weekday and hour:</p>" + heatmap(grid, title="Weekday × hour", hours=hours)
    parts.append(sect + "</section>")
    # Availability and faults.
    avail = _availability(f)
    if avail:
        faults_by_point: dict[str, list[tuple[str, int]]] = {}
        for point, device, code, n in f.data.faults:
            faults_by_point.setdefault(point, []).append((f"{device}: {code}", n))
        rows = []
        for a in avail:
            fl = sorted(faults_by_point.get(a["point"], []), key=lambda x: -x[1])
            row = [
                a["point"],
                str(a["days_reported"]),
                a["hours_open"],
                a["hours_out_of_service"],
                a["hours_offline"],
                _or_dash(a["available_pct"] or None, " %"),
            ]
            if s.producer is None:
                row += [str(sum(n for _, n in fl)), ", ".join(f"{k} ×{n}" for k, n in fl[:3]) or "–"]
            rows.append(row)
        head = ["point", "days reported", "hours open", "hours out of service", "hours offline", "available"]
        if s.producer is None:
            head += ["faults", "most frequent"]
        parts.append(
            "<section class='big'><h2>Availability"
            + (" and faults" if s.producer is None else "")
            + " per service point</h2><p class='note'>Within the host's opening hours. “Offline”: no "
            "connection to the switchboard (it overlaps the other two).</p>"
            + _table(head, rows, cls="faults" if s.producer is None else "")
            + "</section>"
        )
    # Call quality.
    q_rows = []
    for name in QUALITY_BUCKETS:
        label, buckets = QUALITY_LABELS[name]
        keys = [f"quality.{name}.{i}" for i in range(5)]
        vals = [c.value(k) for k in keys]
        good_first = QUALITY_GOOD_FIRST[name]
        colours = ["#009E73", "#7fc97f", "#E69F00", "#D55E00", "#8B0000"]
        if not good_first:
            colours = colours[::-1]
        q_rows.append((label, vals, colours, buckets, [c.show(k) for k in keys]))
    sect = (
        f"<section><h2>Call quality</h2><p class='note'>{c.show('quality.calls')} calls with a quality summary; "
        "each call counted once, by its median over the call. Green is good.</p>"
    )
    for label, vals, colours, buckets, shown in q_rows:
        sect += share_bars([(label, vals, shown)], buckets, colours, title=f"Call quality: {label}")
    sect += _table(
        ["measure", *[f"{i + 1}" for i in range(5)]],
        [
            [label, *(f"{b}: {v}" for b, v in zip(buckets, shown, strict=True))]
            for label, _v, _c, buckets, shown in q_rows
        ],
    )
    parts.append(sect + "</section>")
    # Usage (organiser only).
    if s.producer is None:
        usage = [
            (
                "language: Finnish / Swedish / English",
                " / ".join(c.show(f"usage.lang_{x}") for x in ("fi", "sv", "en")),
            ),
            (
                "identification asked / succeeded / failed",
                " / ".join(c.show(f"usage.identify_{x}") for x in ("asked", "succeeded", "failed")),
            ),
            ("documents scanned (pages)", f"{c.show('usage.scans')} ({c.show('usage.scan_pages')})"),
            ("documents printed (pages)", f"{c.show('usage.prints')} ({c.show('usage.print_pages')})"),
            ("an interpreter joined", c.show("usage.interpreter_joined")),
            ("real-time text used", c.show("usage.text_used")),
            ("speech used", c.show("usage.speech_used")),
            ("large text used", c.show("usage.large_text_used")),
        ]
        parts.append(
            "<section><h2>Use of the point's features</h2>" + _table(["feature", "sessions"], usage) + "</section>"
        )
    # Below threshold.
    below = _below_threshold(f)
    parts.append(f"<section><h2>Points below {s.min_sessions} sessions this month</h2>")
    if below:
        parts.append(_table(["point", "sessions"], [[p, n] for p, n in below]))
        if f.quiet_points:
            parts.append(
                "<p class='note'>A point with 0 sessions that reported last month but not this month "
                "may be offline or closed: see etapiste ops status.</p>"
            )
    else:
        parts.append("<p class='note'>None.</p>")
    parts.append("</section>")
    parts.append(
        "<footer><b>Definitions.</b> A <i>session</i> is a customer who chose a producer; it has exactly one outcome: "
        + "; ".join(f"<i>{_esc(OUTCOME_LABELS[o])}</i>" for o in OUTCOMES)
        + f". <i>Answered ≤ {ANSWER_TARGET_S // 60} min</i>: served customers who waited under {ANSWER_TARGET_S} s, "
        "as a share of all served. Waits count every customer who reached a queue. Only aggregates leave a "
        "service point: counts per point, day, producer and queue, never one customer's record. "
        "See docs/statistics.md.</footer>"
    )
    body = "".join(parts)
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{_esc(s.title)}</title>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'><style>{CSS}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )


def write(store: Store, scope: Scope, out: Path) -> tuple[Path, Path, Figures]:
    """Build and write ``report.html`` and ``report.csv`` into ``out`` (created if missing)."""
    figures = build(store, scope)
    out.mkdir(parents=True, exist_ok=True)
    html_path, csv_path = out / "report.html", out / "report.csv"
    html_path.write_text(to_html(figures), encoding="utf-8")
    csv_path.write_text(to_csv(figures), encoding="utf-8")
    return html_path, csv_path, figures


__all__ = ["HIDDEN", "SMALL", "ReportError", "Scope", "build", "parse_month", "to_csv", "to_html", "write"]


def main(args: Any) -> int:
    """``etapiste ops report``: write the month's report for the scope asked into ``--out``."""
    year, month = parse_month(args.month)
    if args.min_sessions < 0:
        raise ReportError("--min-sessions cannot be negative")
    url = args.store
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        raise ReportError(f"--store {url}: no such file (etapiste ops collect creates it)")
    scope = Scope(year, month, producer=args.producer, point=args.point, min_sessions=args.min_sessions,
                  mask=bool(args.mask))  # fmt: skip
    try:
        with Store(url, create=False) as store:
            store.check()
            html_path, csv_path, figures = write(store, scope, Path(args.out))
    except ValueError as exc:
        raise ReportError(str(exc)) from None
    total = figures.cells.values.get("total.sessions", 0)
    if not figures.data.queues and not figures.data.points:
        print(f"note: the store has nothing for {args.month} in this scope; the report says so", file=sys.stderr)
    masked = " (small counts masked)" if scope.leaves_organiser else ""
    print(f"{html_path} and {csv_path.name} written: {figures.cells.raw('total.sessions') if total else 0} "
          f"sessions at {len(figures.points)} point(s){masked}")  # fmt: skip
    return 0
