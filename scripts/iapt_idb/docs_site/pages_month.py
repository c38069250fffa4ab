"""The month's page (index.html) and one page per failing rule (rules/<code>.html).

The words are in templates/month.html and templates/rule.html; this module only prepares their values.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import Markup

from . import charts
from .model import RuleResult, SiteData
from .render import frame, month_name, phrase, render, rule_href, rule_slug

__all__ = ["month_name", "month_page", "rule_csv", "rule_href", "rule_pages", "write_month"]

RECORDS_PER_PAGE = 500
TOP_RULES_IN_CHART = 15
SEVERITY_COLOURS: tuple[tuple[str, str], ...] = (
    ("file_reject", charts.RED), ("group_reject", "#8a1538"), ("record_reject", charts.ORANGE), ("warning", charts.YELLOW),
)


@dataclass(frozen=True)
class Totals:
    """Rows over all tables: submitted, kept (known only when the report gives it), rejected."""

    submitted: int
    kept: int
    kept_known: bool
    rejected: int


@dataclass(frozen=True)
class FileReason:
    code: str  # '' when the reason has no rule code
    text: str
    inferred: bool


@dataclass(frozen=True)
class TableRow:
    name: str
    title: str
    submitted: int | None
    kept: int | None
    record_rejected: int | None
    group_rejected: int | None
    warnings: int | None


@dataclass(frozen=True)
class MeasureRow:
    label: str
    definition: str
    numerator: int | None
    denominator: int | None
    value: str | None  # formatted with its unit; None when not computed


@dataclass(frozen=True)
class Trend:
    labels: list[str]
    series: list[charts.Series]
    rejected_months: list[str]


def _totals(data: SiteData) -> Totals:
    counts = data.table_counts()
    return Totals(
        submitted=sum(t.submitted or 0 for t in counts),
        kept=sum(t.kept or 0 for t in counts if t.kept is not None),
        kept_known=any(t.kept is not None for t in counts),
        rejected=sum((t.record_rejected or 0) + (t.group_rejected or 0) for t in counts),
    )


def _file_reasons(data: SiteData, results: list[RuleResult]) -> list[FileReason]:
    rep = data.report
    reasons = rep.file_reasons or [(r.info.rule_code, r.info.description) for r in results if r.info.severity == "file_reject"]
    return [FileReason(code, text, bool(code) and code in rep.rules and rep.rules[code].inferred) for code, text in reasons]


def _table_bars(data: SiteData) -> list[charts.Bar]:
    by_table = data.failures_by_table()
    known = {t.name for t in data.tables}
    order = [t.name for t in data.tables if t.name in by_table] + sorted(set(by_table) - known)
    return [charts.Bar(t or phrase("whole_file"), by_table[t], href=f"checklist.html#{t}" if t in known else None) for t in order]


def _rule_bars(results: list[RuleResult]) -> list[charts.Bar]:
    colour = dict(SEVERITY_COLOURS)
    return [
        charts.Bar(r.info.rule_code, r.records, href=rule_href(r.info.rule_code), colour=colour.get(r.info.severity, charts.BLUE),
                   tooltip=f"{r.info.rule_code} ({r.info.table}): {r.info.description}")
        for r in results[:TOP_RULES_IN_CHART]
    ]


def _trend(data: SiteData) -> Trend | None:
    if len(data.history) < 2:
        return None
    return Trend(
        labels=[p.period for p in data.history],
        series=[
            charts.Series(phrase("rows_rejected"), charts.RED, tuple(p.rows_rejected for p in data.history)),
            charts.Series(phrase("warnings"), charts.BLUE, tuple(p.warnings for p in data.history)),
        ],
        rejected_months=[p.period for p in data.history if p.file_rejected],
    )


def _table_rows(data: SiteData) -> list[TableRow]:
    rows = []
    for t, tc in zip(data.tables, data.table_counts()):
        kept = tc.kept if not data.report.file_rejected else 0
        rows.append(TableRow(t.name, t.title, tc.submitted, kept, tc.record_rejected, tc.group_rejected, tc.warnings))
    return rows


def _measure_value(m: dict[str, Any]) -> str | None:
    value = m.get("measure_value", m.get("value"))
    if value is None:
        return None
    unit = str(m.get("unit") or "")
    number = float(value)
    if unit == "percent" or unit == "%":
        return f"{number:.1f}%"
    if unit == "count" or number.is_integer():
        return f"{number:,.0f}" + ("" if unit in ("count", "") else f" {unit}")
    return f"{number:,.1f} {unit}".strip()


def _measure_rows(data: SiteData) -> list[MeasureRow]:
    return [
        MeasureRow(
            label=str(m.get("measure_label") or m.get("label") or m.get("measure_id") or ""),
            definition=str(m.get("numerator_definition") or ""),
            numerator=int(m["numerator"]) if m.get("numerator") is not None else None,
            denominator=int(m["denominator"]) if m.get("denominator") is not None else None,
            value=_measure_value(m),
        )
        for m in data.measures or []
    ]


def _chart_functions() -> dict[str, Any]:
    """The SVG chart drawers for templates: they escape their own text and return ready HTML."""
    return {
        "bar_chart": lambda *a, **k: Markup(charts.bar_chart(*a, **k)),
        "line_chart": lambda *a, **k: Markup(charts.line_chart(*a, **k)),
    }


def month_page(data: SiteData) -> str:
    results = data.failing_rules()
    return render(
        "month.html",
        **frame(data, "month", ""),
        report=data.report,
        totals=_totals(data),
        file_reasons=_file_reasons(data, results),
        results=results,
        direct=[r for r in results if not r.knock_on],
        knock_on=[r for r in results if r.knock_on],
        table_bars=_table_bars(data),
        rule_bars=_rule_bars(results),
        severity_colours=SEVERITY_COLOURS,
        trend=_trend(data),
        table_rows=_table_rows(data),
        measures=_measure_rows(data),
        **_chart_functions(),
    )


def rule_pages(data: SiteData, result: RuleResult) -> dict[str, str]:
    """File name (inside rules/) -> HTML, for one failing rule (several pages when long)."""
    info = result.info
    slug = rule_slug(info.rule_code)
    failures = sorted(result.failures, key=lambda f: (f.table, f.record_key, f.columns, f.message))
    pages = max(1, -(-len(failures) // RECORDS_PER_PAGE))
    out: dict[str, str] = {}
    for p in range(1, pages + 1):
        first = (p - 1) * RECORDS_PER_PAGE
        name = f"{slug}.html" if p == 1 else f"{slug}-p{p}.html"
        out[name] = render(
            "rule.html",
            **frame(data, "month", "../"),
            info=info,
            slug=slug,
            records=result.records,
            failures_total=len(failures),
            pages=pages,
            current=p,
            first=first,
            chunk=failures[first : first + RECORDS_PER_PAGE],
        )
    return out


def rule_csv(result: RuleResult) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["rule_code", "severity", "table", "record_key", "columns", "message"])
    for f in sorted(result.failures, key=lambda f: (f.table, f.record_key, f.columns, f.message)):
        w.writerow([f.rule_code, f.severity, f.table, f.record_key, f.columns, f.message])
    return buf.getvalue()


def write_month(data: SiteData, out: Path) -> None:
    (out / "index.html").write_text(month_page(data), encoding="utf-8")
    (out / "rules").mkdir(exist_ok=True)
    (out / "downloads" / "rules").mkdir(parents=True, exist_ok=True)
    for result in data.failing_rules():
        for name, html in rule_pages(data, result).items():
            (out / "rules" / name).write_text(html, encoding="utf-8")
        (out / "downloads" / "rules" / f"{rule_slug(result.info.rule_code)}.csv").write_text(rule_csv(result), encoding="utf-8")
