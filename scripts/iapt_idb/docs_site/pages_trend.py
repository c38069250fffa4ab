"""The submissions page (``submissions.html``): the trend over the months recorded in the submission history
(outcome, rows rejected, top failing rules, headline measures) and each month's latest refresh against its
primary submission. Its words are in templates/submissions.html; this module prepares the values."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import Markup

from ..errors import UserError
from ..submissions import compare, store
from ..validation.summary_schema import load_summary
from . import charts
from .render import frame, phrase, render

TOP_RULES = 3


@dataclass(frozen=True)
class MonthRow:
    period: str
    latest: str  # label of the submission in force (the latest)
    submissions: int
    outcome: str
    file_rejected: bool
    rows_submitted: int
    rows_rejected: int
    warnings: int
    top_rules: list[tuple[str, int]]


def _value(m: dict[str, Any] | None) -> str:
    if m is None or m.get("measure_value") is None:
        return "\u2013"
    v, unit = m["measure_value"], m.get("unit")
    if unit == "percent":
        return f"{v:.1f}%"
    if unit == "days":
        return f"{v:.1f} days"
    return f"{v:,.0f}"


def _month(recs: list[store.Record]) -> MonthRow:
    latest = recs[-1]
    s = load_summary(latest.path / "validation" / "summary.json")
    return MonthRow(
        period=latest.period, latest=latest.label, submissions=len(recs), outcome=s.predicted_outcome,
        file_rejected=s.file_rejected,
        rows_submitted=sum(t.rows_submitted for t in s.tables),
        rows_rejected=sum(t.rows_record_rejected + t.rows_group_rejected for t in s.tables),
        warnings=s.warnings,
        top_rules=[(r.rule_code, r.failures) for r in s.rules[:TOP_RULES]],  # rules are sorted by failures
    )


def _comparison(primary: store.Record, latest: store.Record) -> dict[str, Any]:
    d = compare.compare(primary, latest)
    return {
        "primary": primary.label, "latest": latest.label,
        "outcome": (d["a"]["predicted_outcome"], d["b"]["predicted_outcome"]),
        "rows_rejected": (d["a"]["rows_rejected"], d["b"]["rows_rejected"]),
        "tables": [(t["table"], len(t["added"]), len(t["removed"]), len(t["changed"]))
                   for t in d["tables"] if t["added"] or t["removed"] or t["changed"]],
        "fixed": len(d["failures"]["fixed"]), "introduced": len(d["failures"]["introduced"]),
        "measures": [(m["label"], _value({"measure_value": m["value_a"], "unit": m["unit"]}),
                      _value({"measure_value": m["value_b"], "unit": m["unit"]}))
                     for m in d["measures"] if m["change"] not in (0, None)],
    }


def submissions_page(data: Any, root: Path) -> str:
    """The page's HTML from the records under ``root`` (a damaged record is left out, with a warning)."""
    by_period: dict[str, list[store.Record]] = {}
    for r in store.records(root):
        try:
            store.load(r.path)
        except UserError as exc:
            print(f"iapt-idb docs: warning: {exc}; left out of the submissions page", file=sys.stderr)
            continue
        by_period.setdefault(r.period, []).append(r)
    months = [_month(recs) for _, recs in sorted(by_period.items())]
    latest_measures = {p: {m["measure_id"]: m for m in recs[-1].read_json("measures.json")}
                       for p, recs in by_period.items()}
    order: list[tuple[str, str]] = []
    for p in sorted(latest_measures):
        for mid, m in latest_measures[p].items():
            if mid not in [o[0] for o in order]:
                order.append((mid, str(m.get("measure_label") or mid)))
    measures = [(label, [_value(latest_measures[m.period].get(mid)) for m in months]) for mid, label in order]
    chart = Markup("")
    if len(months) >= 2:
        chart = Markup(charts.line_chart(
            [m.period for m in months],
            [charts.Series(phrase("rows_rejected"), charts.RED, tuple(m.rows_rejected for m in months)),
             charts.Series(phrase("warnings"), charts.BLUE, tuple(m.warnings for m in months))],
            phrase("submissions_chart_title")))
    refreshes = [_comparison(recs[0], recs[-1]) for _, recs in sorted(by_period.items())
                 if len(recs) > 1 and recs[0].refresh == 0]
    return render("submissions.html", **frame(data, active="submissions", root=""), history=str(root),
                  months=months, measures=measures, chart=chart, refreshes=refreshes)


def write_submissions(data: Any, out: Path, root: Path) -> None:
    (out / "submissions.html").write_text(submissions_page(data, root), encoding="utf-8")
