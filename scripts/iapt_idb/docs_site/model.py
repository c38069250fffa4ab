"""Everything one site is built from, gathered once, and the figures derived from it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from ..spec import IdbTable
from ..validation.local_rules import is_local
from ..validation.summary_schema import SEVERITIES
from .inputs import Failure, MonthPoint, Report, RuleInfo, TableCount
from .vodim import ItemQuality

SEVERITY_ORDER = {s: i for i, s in enumerate(SEVERITIES)}


@dataclass
class ItemSource:
    """Where an item comes from, from the mart column's meta in dbt's manifest: the staging-contract
    columns it reads (``entity.column``), resolved to the built source system's own columns where its
    staging models document them (``meta.source_columns``)."""

    source_columns: list[str] = field(default_factory=list)
    contract_columns: list[str] = field(default_factory=list)
    mapping_seed: str = ""
    transformation: str = ""
    known: bool = False  # the manifest had this column


# Checks that reject a record because a record it belongs to (or needs) is missing or was rejected.
KNOCK_ON_CHECKS = frozenset({"parent_valid", "has_valid_child"})


@dataclass
class RuleResult:
    """A rule that failed this month, with the failures the report lists for it."""

    info: RuleInfo
    failures: list[Failure]

    @property
    def knock_on(self) -> bool:
        return self.info.check in KNOCK_ON_CHECKS

    @property
    def records(self) -> int:
        return len({(f.table, f.record_key) for f in self.failures})


@dataclass
class SiteData:
    period: str
    provider: str
    report: Report
    catalogue: dict[str, RuleInfo]
    catalogue_from_seed: bool
    tables: tuple[IdbTable, ...]
    items: list[ItemQuality]
    mart_rows: dict[str, int]
    measures: list[dict[str, Any]] | None
    history: list[MonthPoint]
    sources: dict[tuple[str, str], ItemSource]
    lineage: dict[str, dict[str, Any]]  # mart -> {"models": [...], "seeds": [...], "sources": [...], "unique_id": str}
    unmapped: dict[tuple[str, str], list[tuple[str, int]]]  # (table, column) -> [(local code, rows)]
    dbt_docs_note: str = ""  # empty when the dbt docs page is in the site
    gx_note: str = ""  # empty when the GX Data Docs are in the site
    manifest_found: bool = False
    source_system: str = ""  # the source system the marts were built from (its dbt source's meta)

    def rule_info(self, code: str) -> RuleInfo:
        """The report's view of a rule, completed from the catalogue."""
        base = self.catalogue.get(code)
        mine = self.report.rules.get(code)
        if base and mine:
            return RuleInfo(
                rule_code=code,
                severity=mine.severity or base.severity,
                rule_type=mine.rule_type or base.rule_type,
                table=mine.table or base.table,
                columns=mine.columns or base.columns,
                description=mine.description or base.description,
                fix_hint=mine.fix_hint or base.fix_hint,
                status=base.status or mine.status,
                status_reason=base.status_reason,
                published=mine.published and base.published,
                check=base.check,
                inferred=mine.inferred,
                local=mine.local or is_local(code),
            )
        info = mine or base or RuleInfo(rule_code=code, severity="")
        info.local = info.local or is_local(code)
        return info

    def failing_rules(self) -> list[RuleResult]:
        """Rules that failed, most records affected first (ties: severity, then rule code)."""
        by_rule: dict[str, list[Failure]] = defaultdict(list)
        for f in self.report.failures:
            by_rule[f.rule_code].append(f)
        results = []
        for code, fails in by_rule.items():
            info = self.rule_info(code)
            if not info.severity:
                info.severity = fails[0].severity
            results.append(RuleResult(info, fails))
        results.sort(key=lambda r: (-r.records, SEVERITY_ORDER.get(r.info.severity, 9), r.info.rule_code))
        return results

    def table_counts(self) -> list[TableCount]:
        """Rows submitted / kept per IDB table: from the report, completed from the marts."""
        given = {t.table: t for t in self.report.tables}
        out = []
        for t in self.tables:
            tc = given.get(t.name) or given.get(t.table_id) or TableCount(table=t.name)
            tc.table = t.name
            if tc.submitted is None:
                tc.submitted = self.mart_rows.get(t.name)
            if tc.kept is None and tc.submitted is not None and tc.record_rejected is not None:
                tc.kept = tc.submitted - (tc.record_rejected or 0) - (tc.group_rejected or 0)
            out.append(tc)
        return out

    def failures_by_table(self) -> dict[str, int]:
        """Distinct failing records per table (warnings included)."""
        keys: dict[str, set[str]] = defaultdict(set)
        for f in self.report.failures:
            keys[f.table].add(f.record_key)
        return {t: len(k) for t, k in keys.items()}
