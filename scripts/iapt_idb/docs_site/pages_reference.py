"""The reference pages: item checklist, all rules, lineage and definitions, how to read the site.

The words are in templates/checklist.html, rules.html, lineage.html and help.html; this module only
prepares their values.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import Markup

from . import charts
from .codes import CATEGORIES, DEFAULT, INVALID, MISSING, OTHER, VALID
from .inputs import RuleInfo
from .model import SiteData
from .render import frame, phrase, render
from .vodim import ItemQuality, category_labels

VODIM_COLOURS = {VALID: charts.GREEN, OTHER: charts.BLUE, DEFAULT: charts.GREY, INVALID: charts.RED, MISSING: charts.YELLOW}
MAPPED, PARTLY, NOT_MAPPED, UNKNOWN = "mapped", "partly mapped", "not mapped", "unknown"


def mapping_status(data: SiteData, q: ItemQuality) -> tuple[str, str]:
    """(status, why) of one item: is it filled from the local warehouse, fully, partly or not at all."""
    src = data.sources.get((q.table, q.column))
    if not data.manifest_found or src is None or not src.known:
        return UNKNOWN, phrase("source_unknown")
    unmapped = data.unmapped.get((q.table, q.column), [])
    if src.source_columns:
        if unmapped:
            return PARTLY, phrase("local_codes_unmapped", src.mapping_seed, unmapped[:5])
        if src.mapping_seed and q.counts.get(INVALID):
            return PARTLY, phrase("values_not_national", q.counts[INVALID], src.mapping_seed)
        return MAPPED, phrase("filled_from_warehouse")
    if src.transformation.startswith("dbt var") or "period" in src.transformation:
        return MAPPED, phrase("set_by_build", src.transformation)
    return NOT_MAPPED, src.transformation or phrase("no_source")


def _short(source_column: str) -> str:
    """cms.patient.nhs_no -> patient.nhs_no (the schema is the same for every source column)."""
    parts = source_column.split(".")
    return ".".join(parts[-2:]) if len(parts) > 2 else source_column


def _failing_rules_by_item(data: SiteData) -> dict[tuple[str, str], dict[str, int]]:
    """(table, column) -> {rule code: failures} for this month's failures naming that column."""
    out: dict[tuple[str, str], Counter] = {}
    for f in data.report.failures:
        for column in filter(None, (c.strip() for c in f.columns.replace(";", ",").split(","))):
            out.setdefault((f.table, column), Counter())[f.rule_code] += 1
    return {k: dict(v) for k, v in out.items()}


@dataclass(frozen=True)
class ChecklistItem:
    column: str
    item_name: str
    basis: str  # how the value is checked (code list, format)
    mandation: str  # M, R, O, P or ''
    invalid_codes: list[tuple[str, int]]
    failing: list[tuple[str, int]]  # (rule code, failures) this month naming the item, most first
    source_known: bool
    source_columns: list[tuple[str, str]]  # (full name, short name) of the local columns it comes from
    mapping_seed: str
    transformation: str
    present: bool  # its table is in the marts
    rows: int
    shares: list[int]  # values per VODIM category, in CATEGORIES order
    picture: Markup  # the stacked bar (SVG)
    status: str
    why: str


@dataclass(frozen=True)
class ChecklistSection:
    table: Any  # spec.IdbTable
    rows: int | None
    items: list[ChecklistItem]


def _checklist_item(data: SiteData, q: ItemQuality, mandation: str, item_name: str,
                    failing: dict[str, int], status: tuple[str, str]) -> ChecklistItem:
    src = data.sources.get((q.table, q.column))
    known = src is not None and src.known
    labels = category_labels()
    return ChecklistItem(
        column=q.column,
        item_name=item_name,
        basis=q.basis,
        mandation=mandation,
        invalid_codes=list(q.invalid_codes),
        failing=sorted(failing.items(), key=lambda kv: (-kv[1], kv[0])),
        source_known=known,
        source_columns=[(c, _short(c)) for c in src.source_columns] if src and known else [],
        mapping_seed=src.mapping_seed if src and known else "",
        transformation=src.transformation if src and known else "",
        present=q.present,
        rows=q.rows,
        shares=[q.counts.get(c, 0) for c in CATEGORIES],
        picture=Markup(charts.stacked_bar(
            [(labels[c], q.counts.get(c, 0), VODIM_COLOURS[c]) for c in CATEGORIES], q.rows, width=90)),
        status=status[0],
        why=status[1],
    )


def checklist_page(data: SiteData) -> str:
    by_table: dict[str, list[ItemQuality]] = {}
    for q in data.items:
        by_table.setdefault(q.table, []).append(q)
    columns = {(t.name, c.name): c for t in data.tables for c in t.columns}
    statuses = {(q.table, q.column): mapping_status(data, q) for q in data.items}
    tally = Counter(s for s, _ in statuses.values())
    failing = _failing_rules_by_item(data)
    sections = [
        ChecklistSection(
            table=t,
            rows=data.mart_rows.get(t.name),
            items=[
                _checklist_item(data, q, columns[(q.table, q.column)].mandation, columns[(q.table, q.column)].item_name,
                                failing.get((q.table, q.column), {}), statuses[(q.table, q.column)])
                for q in by_table.get(t.name, [])
            ],
        )
        for t in data.tables
    ]
    return render(
        "checklist.html",
        **frame(data, "checklist", ""),
        items_total=len(data.items),
        tally={
            "mapped": tally.get(MAPPED, 0),
            "partly": tally.get(PARTLY, 0),
            "not_mapped": tally.get(NOT_MAPPED, 0),
            "unknown": tally.get(UNKNOWN, 0),
            "mandatory_missing": sum(
                1 for q in data.items if columns[(q.table, q.column)].mandation == "M" and q.counts.get(MISSING)
            ),
            "with_invalid": sum(1 for q in data.items if q.counts.get(INVALID)),
        },
        legend=[(category_labels()[c], VODIM_COLOURS[c]) for c in CATEGORIES],
        sections=sections,
    )


def rules_page(data: SiteData) -> str:
    failing = {r.info.rule_code: r.records for r in data.failing_rules()}
    catalogue = list(data.catalogue.values())
    groups: dict[str, list[tuple[RuleInfo, int | None]]] = {}
    for r in catalogue:
        groups.setdefault(r.table or "(file)", []).append((r, failing.get(r.rule_code)))
    order = [t.name for t in data.tables if t.name in groups] + sorted(set(groups) - {t.name for t in data.tables})
    return render(
        "rules.html",
        **frame(data, "rules", ""),
        total=len(catalogue),
        published=sum(1 for r in catalogue if r.published),
        status_counts=sorted(Counter(r.status for r in catalogue).items()),
        from_seed=data.catalogue_from_seed,
        groups=[(name, groups[name]) for name in order],
    )


def lineage_page(data: SiteData) -> str:
    tables = []
    for t in data.tables:
        lin = data.lineage.get(t.name)
        docs_id = lin["unique_id"] if lin and lin.get("unique_id") and not data.dbt_docs_note else ""
        tables.append({"name": t.name, "title": t.title, "lineage": lin, "docs_id": docs_id})
    return render(
        "lineage.html",
        **frame(data, "lineage", ""),
        dbt_docs_note=data.dbt_docs_note,
        gx_note=data.gx_note,
        source_system=data.source_system,
        manifest_found=data.manifest_found,
        tables=tables,
    )


def help_page(data: SiteData) -> str:
    return render("help.html", **frame(data, "help", ""))


def write_reference(data: SiteData, out: Path) -> None:
    (out / "checklist.html").write_text(checklist_page(data), encoding="utf-8")
    (out / "rules.html").write_text(rules_page(data), encoding="utf-8")
    (out / "lineage.html").write_text(lineage_page(data), encoding="utf-8")
    (out / "help.html").write_text(help_page(data), encoding="utf-8")
