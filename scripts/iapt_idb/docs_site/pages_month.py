"""The month's page (index.html) and one page per failing rule (rules/<code>.html)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ..periods import parse_period
from . import charts
from .layout import (
    SEVERITY_TEXT, e, facts, inferred_badge, num, page, pct, published_badge, rule_slug, severity_badge, table,
)
from .model import RuleResult, SiteData

RECORDS_PER_PAGE = 500
TOP_RULES_IN_CHART = 15


def month_name(period: str) -> str:
    start, _ = parse_period(period)
    return start.strftime("%B %Y")


def rule_href(code: str, root: str = "") -> str:
    return f"{root}rules/{rule_slug(code)}.html"


def _verdict(data: SiteData, results: list[RuleResult]) -> str:
    rep = data.report
    counts = data.table_counts()
    submitted = sum(t.submitted or 0 for t in counts)
    kept = sum(t.kept or 0 for t in counts if t.kept is not None)
    rejected_records = sum((t.record_rejected or 0) + (t.group_rejected or 0) for t in counts)
    if rep.file_rejected:
        reasons = rep.file_reasons or [
            (r.info.rule_code, r.info.description) for r in results if r.info.severity == "file_reject"
        ]
        items = "".join(
            "<li>" + (f'<a href="{rule_href(code)}">{e(code)}</a>' if code else "")
            + (" " + inferred_badge() if code in rep.rules and rep.rules[code].inferred else "")
            + (": " if code else "") + f"{e(text)}</li>"
            for code, text in reasons
        )
        return (
            '<div class="verdict rejected" id="verdict"><h2>The platform would reject the whole file</h2>'
            "<p>If this file were uploaded as it is, NHS England's platform would refuse all of it, so none of "
            f"this month's {submitted:,} rows would be loaded. The reasons:</p><ul>{items}</ul>"
            "<p><strong>Fix these first.</strong> Then rebuild, validate again and check the list below.</p>"
            + (
                f"<p>Once they are fixed, {kept:,} of the {submitted:,} rows ({pct(kept, submitted)}) would be loaded, "
                "if nothing else changes.</p>"
                if any(t.kept is not None for t in counts)
                else ""
            )
            + "</div>"
        )
    detail = (
        f"{kept:,} of the {submitted:,} rows ({pct(kept, submitted)}) would be loaded. "
        if counts and any(t.kept is not None for t in counts)
        else ""
    )
    extra = (
        f"{rejected_records:,} rows would be rejected (listed below with what to fix), and "
        if rejected_records
        else "No row would be rejected, and "
    )
    return (
        '<div class="verdict" id="verdict"><h2>The platform would accept the file</h2>'
        f"<p>{detail}{extra}{rep.warnings:,} warnings would be raised "
        "(warnings do not stop a record being loaded, but they lower the data-quality scores NHS England publishes).</p></div>"
    )


def _cards(data: SiteData, results: list[RuleResult]) -> str:
    counts = data.table_counts()
    submitted = sum(t.submitted or 0 for t in counts)
    kept_known = any(t.kept is not None for t in counts)
    kept = sum(t.kept or 0 for t in counts) if kept_known and not data.report.file_rejected else 0
    rejected = sum((t.record_rejected or 0) + (t.group_rejected or 0) for t in counts)
    cards = [
        (f"{submitted:,}", "rows submitted (all 21 tables)"),
        (f"{kept:,}" if kept_known else "&ndash;", "rows the platform would keep"),
        (f"{rejected:,}", "rows rejected (record or group)"),
        (f"{data.report.warnings:,}", "warnings (record kept)"),
        (f"{len(results):,}", "rules with failures"),
    ]
    return '<div class="cards">' + "".join(f'<div class="card"><span class="n">{n}</span><span class="t">{t}</span></div>' for n, t in cards) + "</div>"


def _ranked_rules(results: list[RuleResult]) -> str:
    if not results:
        return "<p>No rule failed this month. Nothing to fix.</p>"
    rows = []
    for i, r in enumerate(results, 1):
        info = r.info
        rows.append(
            [
                str(i),
                f'<a href="{rule_href(info.rule_code)}"><strong>{e(info.rule_code)}</strong></a><br>'
                + severity_badge(info.severity)
                + ("" if info.published else " " + published_badge(False))
                + (" " + inferred_badge() if info.published and info.inferred else "")
                + f'<br><span class="small muted">{e(info.table)}</span>',
                e(info.description),
                e(info.fix_hint) or '<span class="muted">See the rule page.</span>',
                num(r.records),
            ]
        )
    return table(["#", "Rule, effect and table", "What is wrong", "What to fix", "Records"], rows, numeric=[0, 4], cls="data ranked")


def _what_to_fix(results: list[RuleResult]) -> str:
    direct = [r for r in results if not r.knock_on]
    knock_on = [r for r in results if r.knock_on]
    out = (
        '<h2 id="fix">What to fix first</h2>'
        "<p>Rules that failed, those affecting most records first. <em>Effect</em> says what the platform does "
        "with a failing record; open a rule to see every record it affects.</p>"
        + _ranked_rules(direct)
    )
    if knock_on:
        out += (
            '<h3 id="knock-on">Knock-on rejections</h3>'
            "<p>These records are rejected only because a record they belong to (or need) is missing or was "
            "rejected above &ndash; for example the care contacts of a rejected referral. Most come back once the "
            "problems above are fixed.</p>" + _ranked_rules(knock_on)
        )
    return out


def _charts(data: SiteData, results: list[RuleResult]) -> str:
    out = []
    by_table = data.failures_by_table()
    if by_table:
        order = [t.name for t in data.tables if t.name in by_table] + sorted(set(by_table) - {t.name for t in data.tables})
        known = {t.name for t in data.tables}
        bars = [
            charts.Bar(t or "(whole file)", by_table[t], href=f"checklist.html#{t}" if t in known else None) for t in order
        ]
        out.append("<h3>Records with a failure, by IDB table</h3>")
        out.append('<p class="small muted">Each record is counted once per table, however many rules it fails.</p>')
        out.append(charts.bar_chart(bars, "Records with a failure, by IDB table", "records"))
    if results:
        colour = {"file_reject": charts.RED, "group_reject": "#8a1538", "record_reject": charts.ORANGE, "warning": charts.YELLOW}
        top = results[:TOP_RULES_IN_CHART]
        bars = [
            charts.Bar(r.info.rule_code, r.records, href=rule_href(r.info.rule_code), colour=colour.get(r.info.severity, charts.BLUE),
                       tooltip=f"{r.info.rule_code} ({r.info.table}): {r.info.description}")
            for r in top
        ]
        out.append(f"<h3>Rules affecting most records (top {len(top)})</h3>")
        legend = "".join(
            f'<span style="--c:{colour[s]}">{e(SEVERITY_TEXT[s][0])}</span>' for s in ("file_reject", "group_reject", "record_reject", "warning")
        )
        out.append(f'<div class="legend">{legend}</div>')
        out.append(charts.bar_chart(bars, "Rules affecting most records", "records"))
    out.append("<h3>Trend across months</h3>")
    if len(data.history) >= 2:
        labels = [p.period for p in data.history]
        series = [
            charts.Series("Rows rejected", charts.RED, tuple(p.rows_rejected for p in data.history)),
            charts.Series("Warnings", charts.BLUE, tuple(p.warnings for p in data.history)),
        ]
        out.append(charts.line_chart(labels, series, "Rejections and warnings per month"))
        rejected_months = [p.period for p in data.history if p.file_rejected]
        if rejected_months:
            out.append(f"<p>Months whose whole file would have been rejected: {e(', '.join(rejected_months))}.</p>")
    else:
        out.append(
            '<p class="muted">Only this month has been validated so far. The trend appears here once earlier '
            "months' validation reports are found (<code>iapt-idb docs --history output/</code> looks for "
            "<code>output/&lt;month&gt;/validation/summary.json</code>).</p>"
        )
    return "".join(out)


def _table_counts(data: SiteData) -> str:
    rows = []
    for t, tc in zip(data.tables, data.table_counts()):
        kept = tc.kept if not data.report.file_rejected else 0
        rows.append(
            [
                f'<a class="nowrap" href="checklist.html#{e(t.name)}">{e(t.name)}</a>',
                e(t.title),
                num(tc.submitted),
                num(kept),
                num(tc.record_rejected),
                num(tc.group_rejected),
                num(tc.warnings),
                pct(kept or 0, tc.submitted or 0) if kept is not None else "&ndash;",
            ]
        )
    return table(
        ["IDB table", "What it holds", "Rows submitted", "Rows kept", "Rejected (record)", "Rejected (with parent or group)", "Warnings", "Kept"],
        rows,
        numeric=[2, 3, 4, 5, 6, 7],
    )


def _measure_value(m: dict) -> str:
    value = m.get("measure_value", m.get("value"))
    if value is None:
        return "&ndash;"
    unit = str(m.get("unit") or "")
    number = float(value)
    if unit == "percent" or unit == "%":
        return f"{number:.1f}%"
    if unit == "count" or number.is_integer():
        return f"{number:,.0f}" + ("" if unit in ("count", "") else f" {e(unit)}")
    return f"{number:,.1f} {e(unit)}".strip()


def _measures(data: SiteData) -> str:
    if not data.measures:
        return ""
    rows = []
    for m in data.measures:
        rows.append(
            [
                f"<strong>{e(m.get('measure_label') or m.get('label') or m.get('measure_id'))}</strong>"
                + (f'<br><span class="small muted">{e(m.get("numerator_definition"))}</span>' if m.get("numerator_definition") else ""),
                num(int(m["numerator"])) if m.get("numerator") is not None else "&ndash;",
                num(int(m["denominator"])) if m.get("denominator") is not None else "&ndash;",
                _measure_value(m),
            ]
        )
    return (
        '<h2 id="measures">Headline measures</h2>'
        "<p>A preview of the headline NHS Talking Therapies figures NHS England will derive from this file, "
        "computed from the tables as built (before any rejection): a rejected record would change them.</p>"
        + table(["Measure", "Numerator", "Denominator", "Value"], rows, numeric=[1, 2, 3])
    )


def month_page(data: SiteData) -> str:
    results = data.failing_rules()
    rep = data.report
    downloads = ['<li><a href="downloads/summary.json">summary.json</a> &ndash; the figures on this page</li>']
    if rep.csv_path:
        downloads.insert(0, '<li><a href="downloads/validation_report.csv">validation_report.csv</a> &ndash; every failure, one per line (open in Excel)</li>')
    body = (
        f"<h1>{e(month_name(data.period))}: what the national platform would do with this file</h1>"
        '<p class="lead">This page predicts, before upload, how NHS England\'s platform would treat this month\'s '
        "IAPT submission, using the platform's own validation rules, and lists what to fix in the clinical "
        "system. Records are named by their local identifiers (for example <code>ServiceRequestId=&hellip;</code>), "
        "never by NHS Number.</p>"
        + (f'<p class="small muted">What was checked: {e("the built IDB tables (marts)" if rep.source == "marts" else rep.source)}.</p>' if rep.source else "")
        + _verdict(data, results)
        + _cards(data, results)
        + _what_to_fix(results)
        + '<h2 id="charts">Charts</h2>'
        + _charts(data, results)
        + '<h2 id="tables">Rows submitted and kept, table by table</h2>'
        "<p>A rejected record is left out of the national data. <em>With parent or group</em> counts records "
        "rejected because a record they belong to was rejected (for example the contacts of a rejected referral).</p>"
        + _table_counts(data)
        + _measures(data)
        + '<h2 id="downloads">Downloads</h2><ul>'
        + "".join(downloads)
        + "</ul>"
    )
    return page(f"{month_name(data.period)}", body, active="month", root="", period=data.period, provider=data.provider)


def _records_table(result: RuleResult, start: int, chunk: list) -> str:
    rows = "".join(
        f'<tr><td class="num">{start + i + 1:,}</td><td class="key">{e(f.record_key)}</td><td>{e(f.table)}</td>'
        f"<td>{e(f.columns)}</td><td>{e(f.message)}</td></tr>"
        for i, f in enumerate(chunk)
    )
    return (
        '<div class="scroll"><table class="data records"><thead><tr><th scope="col" class="num">#</th><th scope="col">Local record key</th>'
        '<th scope="col">IDB table</th><th scope="col">Items</th><th scope="col">Detail</th></tr></thead>'
        f"<tbody>{rows}</tbody></table></div>"
    )


def _pager(slug: str, current: int, pages: int) -> str:
    if pages <= 1:
        return ""
    links = []
    for p in range(1, pages + 1):
        name = f"{slug}.html" if p == 1 else f"{slug}-p{p}.html"
        links.append(f"<strong>{p}</strong>" if p == current else f'<a href="{name}">{p}</a>')
    return f'<nav class="pager" aria-label="Pages of records">Page: {" ".join(links)}</nav>'


def rule_pages(data: SiteData, result: RuleResult) -> dict[str, str]:
    """File name (inside rules/) -> HTML, for one failing rule (several pages when long)."""
    info = result.info
    slug = rule_slug(info.rule_code)
    failures = sorted(result.failures, key=lambda f: (f.table, f.record_key, f.columns, f.message))
    pages = max(1, -(-len(failures) // RECORDS_PER_PAGE))
    sev_label, sev_text = SEVERITY_TEXT.get(info.severity, (info.severity, ""))
    status = {
        "implemented": "checked here before upload",
        "not_checkable_before_upload": "only partly checkable before upload (see the rules page)",
        "not_applicable_v21": "not applicable in v2.1",
    }.get(info.status, info.status or "not stated")
    head = (
        '<p><a href="../index.html#fix">&larr; Back to this month</a></p>'
        f"<h1>Rule {e(info.rule_code)}</h1>"
        f"<p>{severity_badge(info.severity)} {published_badge(info.published)}"
        f"{' ' + inferred_badge() if info.published and info.inferred else ''}</p>"
        + facts(
            [
                ("What it checks", e(info.description) or "&ndash;"),
                ("What to fix", e(info.fix_hint) or "&ndash;"),
                ("What the platform does", f"{e(sev_label)}: {e(sev_text)}"),
                ("IDB table and items", e(info.table) + (" &ndash; " + e(info.columns.replace(";", ", ")) if info.columns else "")),
                ("Records affected this month", f"{result.records:,} ({len(failures):,} failures listed)"),
                ("Status in our checks", e(status)),
            ]
        )
        + ("" if info.published else '<p class="note">NHS England has published no rule code for this check: it is our '
           "inference for an item new in v2.1, modelled on the national rule for the same item in another data set. "
           "The platform may not apply it.</p>")
        + ('<p class="note">This month\'s finding rests on our reading of the rule: NHS England publishes its code '
           "and message but not its logic, so the platform may decide otherwise.</p>"
           if info.published and info.inferred else "")
        + "<h2>Failing records</h2>"
        "<p>Find each record in the clinical system by its local key. "
        f'The whole list is also in <a href="../downloads/rules/{slug}.csv">{slug}.csv</a>.</p>'
    )
    out: dict[str, str] = {}
    for p in range(1, pages + 1):
        chunk = failures[(p - 1) * RECORDS_PER_PAGE : p * RECORDS_PER_PAGE]
        pager = _pager(slug, p, pages)
        summary = (
            f'<p class="muted">Records {(p - 1) * RECORDS_PER_PAGE + 1:,} to {(p - 1) * RECORDS_PER_PAGE + len(chunk):,} '
            f"of {len(failures):,}.</p>"
        )
        body = head + pager + summary + _records_table(result, (p - 1) * RECORDS_PER_PAGE, chunk) + pager
        name = f"{slug}.html" if p == 1 else f"{slug}-p{p}.html"
        out[name] = page(f"Rule {info.rule_code}", body, active="month", root="../", period=data.period, provider=data.provider)
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

