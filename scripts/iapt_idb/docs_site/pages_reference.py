"""The reference pages: item checklist, all rules, lineage and definitions, how to read the site."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from . import charts
from .codes import CATEGORIES, DEFAULT, INVALID, MISSING, OTHER, VALID
from .layout import e, num, page, published_badge, rule_slug, severity_badge, severity_text, table
from .model import SiteData
from .pages_month import month_name
from .vodim import CATEGORY_LABELS, ItemQuality

VODIM_COLOURS = {VALID: charts.GREEN, OTHER: charts.BLUE, DEFAULT: charts.GREY, INVALID: charts.RED, MISSING: charts.YELLOW}
MANDATION = {
    "M": ("Mandatory", "must be present in every record; a missing value is rejected"),
    "R": ("Required", "must be given when it applies or is known"),
    "O": ("Optional", "may be given"),
    "P": ("Pilot", "a pilot item: give it if you are in the pilot"),
    "": ("Not stated", "the specification does not say (new in v2.1)"),
}
MAPPED, PARTLY, NOT_MAPPED, UNKNOWN = "mapped", "partly mapped", "not mapped", "unknown"


def mapping_status(data: SiteData, q: ItemQuality) -> tuple[str, str]:
    """(status, why) of one item: is it filled from the local warehouse, fully, partly or not at all."""
    src = data.sources.get((q.table, q.column))
    if not data.manifest_found or src is None or not src.known:
        return UNKNOWN, "dbt's manifest (target/manifest.json) was not found, so the source of this item is unknown"
    unmapped = data.unmapped.get((q.table, q.column), [])
    if src.source_columns:
        if unmapped:
            codes = ", ".join(f"{code} ({n:,} row{'' if n == 1 else 's'})" for code, n in unmapped[:5])
            return PARTLY, f"local codes with no national code in {src.mapping_seed or 'the mapping seed'}: {codes}"
        if src.mapping_seed and q.counts.get(INVALID):
            return PARTLY, f"{q.counts[INVALID]:,} values are not national codes: add their local codes to {src.mapping_seed}"
        return MAPPED, "filled from the local warehouse"
    if src.transformation.startswith("dbt var") or "period" in src.transformation:
        return MAPPED, f"set by the build ({src.transformation})"
    return NOT_MAPPED, src.transformation or "no source in the local warehouse"


def _status_badge(status: str, why: str) -> str:
    cls = {MAPPED: "st-mapped", PARTLY: "st-partly", NOT_MAPPED: "st-not"}.get(status, "st-unknown")
    return f'<span class="badge {cls}" title="{e(why)}">{e(status)}</span>'


def _share(q: ItemQuality, cat: str) -> str:
    n = q.counts.get(cat, 0)
    if not q.rows:
        return "&ndash;"
    return f'<span title="{n:,} of {q.rows:,} rows">{100 * n / q.rows:.1f}%</span>'


def _short(source_column: str) -> str:
    """cms.patient.nhs_no -> patient.nhs_no (the schema is the same for every source column)."""
    parts = source_column.split(".")
    return ".".join(parts[-2:]) if len(parts) > 2 else source_column


def _source_cell(data: SiteData, q: ItemQuality) -> str:
    src = data.sources.get((q.table, q.column))
    if src is None or not src.known:
        return '<span class="muted">unknown</span>'
    parts = []
    if src.source_columns:
        parts.append("<br>".join(f'<code title="{e(c)}">{e(_short(c))}</code>' for c in src.source_columns))
    if src.mapping_seed:
        parts.append(f"codes via <code>{e(src.mapping_seed)}</code>")
    if src.transformation and not src.source_columns:
        parts.append(e(src.transformation))
    return "<br>".join(parts) or '<span class="muted">none</span>'


def _failing_rules_by_item(data: SiteData) -> dict[tuple[str, str], dict[str, int]]:
    """(table, column) -> {rule code: failures} for this month's failures naming that column."""
    out: dict[tuple[str, str], Counter] = {}
    for f in data.report.failures:
        for column in filter(None, (c.strip() for c in f.columns.replace(";", ",").split(","))):
            out.setdefault((f.table, column), Counter())[f.rule_code] += 1
    return {k: dict(v) for k, v in out.items()}


def _failing_cell(rules: dict[str, int]) -> str:
    if not rules:
        return ""
    links = ", ".join(
        f'<a href="rules/{rule_slug(code)}.html">{e(code)}</a>&nbsp;({n:,})' for code, n in sorted(rules.items(), key=lambda kv: (-kv[1], kv[0]))
    )
    return f'<br><span class="small">failing rules this month: {links}</span>'


def checklist_page(data: SiteData) -> str:
    by_table: dict[str, list[ItemQuality]] = {}
    for q in data.items:
        by_table.setdefault(q.table, []).append(q)
    columns = {(t.name, c.name): c for t in data.tables for c in t.columns}
    statuses = {(q.table, q.column): mapping_status(data, q) for q in data.items}
    tally = Counter(s for s, _ in statuses.values())
    mandatory_missing = [
        q for q in data.items if columns[(q.table, q.column)].mandation == "M" and q.counts.get(MISSING)
    ]
    with_invalid = [q for q in data.items if q.counts.get(INVALID)]
    failing = _failing_rules_by_item(data)
    legend = "".join(f'<span style="--c:{VODIM_COLOURS[c]}">{CATEGORY_LABELS[c]}</span>' for c in CATEGORIES)
    sections = []
    for t in data.tables:
        items = by_table.get(t.name, [])
        rows = []
        for q in items:
            col = columns[(q.table, q.column)]
            status, why = statuses[(q.table, q.column)]
            mand, mand_text = MANDATION.get(col.mandation, MANDATION[""])
            bad = ""
            if q.invalid_codes:
                bad = '<br><span class="small">not national codes: ' + ", ".join(
                    f"<code>{e(code)}</code>&times;{n:,}" for code, n in q.invalid_codes
                ) + "</span>"
            rows.append(
                [
                    f'<strong id="{e(t.name)}-{e(q.column)}">{e(q.column)}</strong><br><span class="small">{e(col.item_name)}</span>'
                    f'<br><span class="small muted">checked as: {e(q.basis)}</span>{bad}'
                    + _failing_cell(failing.get((q.table, q.column), {})),
                    f'<abbr title="{e(mand)}: {e(mand_text)}">{e(col.mandation or "?")}</abbr>',
                    _source_cell(data, q),
                    num(q.rows) if q.present else '<span class="muted">no table</span>',
                    *(_share(q, c) for c in CATEGORIES),
                    charts.stacked_bar([(CATEGORY_LABELS[c], q.counts.get(c, 0), VODIM_COLOURS[c]) for c in CATEGORIES], q.rows, width=90),
                    _status_badge(status, why) + ("" if status == MAPPED else f'<br><span class="small muted">{e(why)}</span>'),
                ]
            )
        sections.append(
            f'<h2 id="{e(t.name)}">{e(t.table_id)} {e(t.title)} <span class="small muted">({e(t.name)}, '
            f"{num(data.mart_rows.get(t.name))} rows)</span></h2>"
            + table(
                ["Item", "Mand&shy;ation", "Comes from (local table.column)", "Rows", "Valid", "Other", "Default", "Invalid", "Missing", "Picture", "Status"],
                rows,
                numeric=[3, 4, 5, 6, 7, 8],
                cls="data checklist",
            )
        )
    toc = "".join(f'<li><a href="#{e(t.name)}">{e(t.table_id)} {e(t.title)}</a></li>' for t in data.tables)
    cards = [
        (tally.get(MAPPED, 0), "items mapped"),
        (tally.get(PARTLY, 0), "items partly mapped"),
        (tally.get(NOT_MAPPED, 0), "items not mapped"),
        (len(mandatory_missing), "mandatory items with missing values"),
        (len(with_invalid), "items with invalid values"),
    ]
    if tally.get(UNKNOWN):
        cards.append((tally[UNKNOWN], "items of unknown source"))
    body = (
        f"<h1>Item checklist: all {len(data.items)} IDB items, {e(month_name(data.period))}</h1>"
        '<p class="lead">For every item of the IAPT v2.1 Intermediate Database: where it comes from in the local '
        "clinical system, and how complete and valid it is this month, counted the way NHS England's "
        "data-quality reports count it.</p>"
        '<div class="note"><p><strong>How values are counted (VODIM).</strong> Every value falls in one group: '
        "<strong>Valid</strong> &ndash; a national code or a value in the right format; "
        "<strong>Other</strong> &ndash; a national code meaning &lsquo;other, not listed&rsquo;; "
        "<strong>Default</strong> &ndash; a national code meaning &lsquo;not known&rsquo; or &lsquo;not stated&rsquo; "
        "(for example X, Z, 99, ZZ); <strong>Invalid</strong> &ndash; not a national code, or in the wrong "
        "format; <strong>Missing</strong> &ndash; left empty. High Default, Invalid or Missing shares mean the "
        "information is not being recorded or not being translated to national codes.</p>"
        "<p><strong>Status</strong>: <em>mapped</em> &ndash; filled from the local system; <em>partly mapped</em> "
        "&ndash; filled, but some local codes have no national code yet; <em>not mapped</em> &ndash; the local "
        "system has no source for it, so it is always empty. <strong>Mandation</strong>: M mandatory, R required, "
        "O optional, P pilot.</p></div>"
        '<div class="cards">'
        + "".join(f'<div class="card"><span class="n">{n:,}</span><span class="t">{t}</span></div>' for n, t in cards)
        + f'</div><div class="legend" aria-label="Colours of the pictures">{legend}</div>'
        f'<ul class="toc">{toc}</ul>' + "".join(sections)
    )
    return page("Item checklist", body, active="checklist", root="", period=data.period, provider=data.provider)


STATUS_TEXT = {
    "implemented": ("implemented", "checked here before upload"),
    "not_checkable_before_upload": (
        "not checkable before upload",
        "needs information only the platform has (reference data, the upload itself); approximated where possible",
    ),
    "not_applicable_v21": ("not applicable", "applies to an item removed in v2.1"),
}


def rules_page(data: SiteData) -> str:
    failing = {r.info.rule_code: r for r in data.failing_rules()}
    catalogue = list(data.catalogue.values())
    counts = Counter(r.status for r in catalogue)
    groups: dict[str, list] = {}
    for r in catalogue:
        groups.setdefault(r.table or "(file)", []).append(r)
    order = [t.name for t in data.tables if t.name in groups] + sorted(set(groups) - {t.name for t in data.tables})
    sections = []
    for name in order:
        rows = []
        for r in groups[name]:
            label, why = STATUS_TEXT.get(r.status, (r.status or "unknown", ""))
            hit = failing.get(r.rule_code)
            this_month = (
                f'<a href="rules/{rule_slug(r.rule_code)}.html">{hit.records:,} records</a>' if hit else '<span class="muted">none</span>'
            )
            rows.append(
                [
                    f'<span class="nowrap" id="{e(rule_slug(r.rule_code))}">{e(r.rule_code)}</span>',
                    severity_badge(r.severity),
                    e(r.description) + (f'<br><span class="small muted">Fix: {e(r.fix_hint)}</span>' if r.fix_hint else ""),
                    f'<span title="{e(why)}">{e(label)}</span>'
                    + (f'<br><span class="small muted">{e(r.status_reason)}</span>' if r.status_reason else ""),
                    published_badge(r.published),
                    this_month,
                ]
            )
        sections.append(f'<h2 id="t-{e(name)}">{e(name)}</h2>' + table(["Rule", "Effect", "What it checks", "Status", "Published", "This month"], rows))
    source = (
        "the project's rule catalogue (<code>seeds/tos/tos_rules.csv</code>)"
        if data.catalogue_from_seed
        else "the specification's rule list (<code>reference/spec/validation_rules*.csv</code>); the project's catalogue seed was not found"
    )
    published = sum(1 for r in catalogue if r.published)
    summary = ", ".join(f"{n:,} {STATUS_TEXT.get(s, (s or 'status not given', ''))[0]}" for s, n in sorted(counts.items()))
    body = (
        f"<h1>All {len(catalogue):,} validation rules</h1>"
        f"<p class=\"lead\">Every rule the national platform applies to an IAPT submission, from {source}: "
        f"{published:,} with codes published by NHS England and {len(catalogue) - published:,} marked UNPUBLISHED "
        "(our inferred checks for items new in v2.1, for which NHS England has published no code).</p>"
        f"<p>Status: {e(summary)}. <em>Implemented</em> rules are checked here before upload; <em>not checkable "
        "before upload</em> rules need information only the platform has; <em>not applicable</em> rules concern "
        "items removed in v2.1.</p>"
        + table(
            ["Effect", "Meaning"],
            [[severity_badge(s), e(text)] for s, (_, text) in severity_text().items()],
        )
        + "".join(sections)
    )
    return page("All rules", body, active="rules", root="", period=data.period, provider=data.provider)


def lineage_page(data: SiteData) -> str:
    dbt = (
        '<p><a href="dbt-docs/index.html"><strong>Open the dbt documentation</strong></a> &ndash; every model, '
        "its SQL, its columns and descriptions, and a lineage graph (use the graph button at the bottom right).</p>"
        if not data.dbt_docs_note
        else f'<p class="note">The dbt documentation is not included: {e(data.dbt_docs_note)}</p>'
    )
    gx = (
        '<p><a href="gx/index.html"><strong>Open the Great Expectations Data Docs</strong></a> &ndash; the '
        "column-by-column checks, run with Great Expectations, with how many values passed.</p>"
        if not data.gx_note
        else f'<p class="note">The Great Expectations Data Docs are not included: {e(data.gx_note)}</p>'
    )
    rows = []
    for t in data.tables:
        lin = data.lineage.get(t.name)
        if not lin:
            rows.append([e(t.name), '<span class="muted">not in the manifest</span>', "", ""])
            continue
        name = (
            f'<a href="dbt-docs/index.html#!/model/{e(lin["unique_id"])}"><strong>{e(t.name)}</strong></a>'
            if lin.get("unique_id") and not data.dbt_docs_note
            else f"<strong>{e(t.name)}</strong>"
        )
        rows.append(
            [
                f'{name}<br><span class="small">{e(t.title)}</span>',
                " ".join(f"<code>{e(s)}</code>" for s in lin.get("sources", [])) or '<span class="muted">none (built from settings)</span>',
                " ".join(f"<code>{e(m)}</code>" for m in lin.get("models", [])) or "&ndash;",
                " ".join(f"<code>{e(s)}</code>" for s in lin.get("seeds", [])) or "&ndash;",
            ]
        )
    lineage = (
        table(["IDB table", "Local warehouse tables it reads", "dbt models in between", "Code lists and mappings used"], rows)
        if data.manifest_found
        else '<p class="note">dbt\'s manifest (target/manifest.json) was not found, so the lineage table cannot be shown. '
        "Run <code>iapt-idb build</code> first.</p>"
    )
    body = (
        "<h1>Lineage and definitions</h1>"
        '<p class="lead">How each IDB table is made from the local clinical system, and where the detailed '
        "definitions live.</p>"
        "<h2>Detailed documentation</h2>" + dbt + gx +
        "<h2>Where each IDB table comes from</h2>"
        + (f"<p>Built from the source system <strong>{e(data.source_system)}</strong>.</p>" if data.source_system else "")
        + "<p>The build goes in three steps: <em>staging</em> models rename the local system's tables to the staging "
        "contract, the same for every system, and translate them (local codes become national codes through the "
        "system's mapping lists), <em>intermediate</em> models pick the "
        "reporting month's records, and the <em>mart</em> is the IDB table itself.</p>"
        + lineage
        + "<h2>Definitions</h2>"
        '<p>Each item\'s national definition is in the NHS Data Model and Dictionary (IAPT Data Set v2.1). The '
        '<a href="checklist.html">item checklist</a> gives each item\'s Data Dictionary name, and the '
        '<a href="rules.html">rules page</a> every validation rule.</p>'
    )
    return page("Lineage and definitions", body, active="lineage", root="", period=data.period, provider=data.provider)


def help_page(data: SiteData) -> str:
    words = [
        ("IDB (Intermediate Database)", "The Microsoft Access file, with 21 tables, in which a provider sends its monthly IAPT data to NHS England."),
        ("IDB table / item", "One of the 21 tables (for example IDS101Referral) / one of its 140 columns (for example SourceOfReferralIAPT)."),
        ("Reporting period", "The calendar month the data is about."),
        ("Validation rule", "A check the national platform applies to every file, known by its code (for example IDS10118). File-level codes start IDSREJ."),
        ("Whole file rejected", "The platform refuses the whole file; nothing is loaded for the month until a corrected file is sent."),
        ("Record rejected", "One row is left out; the rest of the file is loaded."),
        ("Rejected with parent or group", "A row left out because a row it belongs to was rejected, for example a care contact whose referral was rejected, or a patient and all their rows."),
        ("Warning", "The row is loaded, but a value is questionable; warnings count against data-quality scores."),
        ("UNPUBLISHED", "A check for an item new in v2.1 that NHS England has not published a rule code for; inferred by us from the same item's rule in the Mental Health Services Data Set."),
        ("Local record key", "The identifiers of a record in your own system (for example ServiceRequestId=RF0000000042), used to find it. The site never shows NHS Numbers or dates of birth."),
        ("VODIM", "NHS England's way of counting data quality: Valid, Other, Default, Invalid, Missing (see the item checklist)."),
        ("Mandation", "Whether an item must be given: M mandatory, R required, O optional, P pilot."),
        ("Mapped", "The item is filled from a column of the local warehouse; local codes are translated into national codes by a mapping list (a dbt seed)."),
        ("dbt", "The tool that builds the IDB tables from the local warehouse with SQL; its documentation shows every step."),
        ("Great Expectations", "A data-testing tool; its Data Docs show the column checks and their results."),
    ]
    body = (
        "<h1>How to read this site</h1>"
        '<p class="lead">This site is for the people who fix the data: it says what NHS England\'s platform would '
        "do with this month's file and which records to correct. Start with <a href=\"index.html\">This month</a>: "
        "the verdict at the top, then <em>What to fix first</em>.</p>"
        "<h2>Words used on this site</h2>"
        + table(["Word", "Meaning"], [[f"<strong>{e(w)}</strong>", e(m)] for w, m in words])
        + "<h2>How sure are the predictions?</h2>"
        "<p>The rules are the national platform's published rules for IAPT v2.0, which v2.1 carried forward; "
        "NHS England has published no separate v2.1 list. A few rules need information only the platform has "
        "(for example the national list of GP practices); these are approximated and marked on the "
        '<a href="rules.html">rules page</a>.</p>'
    )
    return page("How to read this site", body, active="help", root="", period=data.period, provider=data.provider)


def write_reference(data: SiteData, out: Path) -> None:
    (out / "checklist.html").write_text(checklist_page(data), encoding="utf-8")
    (out / "rules.html").write_text(rules_page(data), encoding="utf-8")
    (out / "lineage.html").write_text(lineage_page(data), encoding="utf-8")
    (out / "help.html").write_text(help_page(data), encoding="utf-8")
