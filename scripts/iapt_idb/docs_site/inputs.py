"""Read what the other commands produced: the validation report, the rule catalogue, dbt's manifest.

The validation report folder (``iapt-idb validate --report DIR``) holds ``summary.json``,
``validation_report.json`` / ``.csv`` (one row per failure) and ``gx_data_docs/``, read through their one
definition (``iapt_idb.validation.summary_schema``), which the validator writes with; a file in any other
shape is an error naming the file and key. They are turned here into the small dataclasses the pages use.
"""

from __future__ import annotations

import csv
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..paths import SEEDS_DIR, SPEC_DIR
from ..validation.summary_schema import FailureRow, SummaryError, load_failure_rows, load_summary

Failure = FailureRow  # one failure of the validation report (summary_schema.FailureRow)


@dataclass
class RuleInfo:
    """One rule of the catalogue (seeds/tos/tos_rules.csv, or the spec when the seed is absent)."""

    rule_code: str
    severity: str
    rule_type: str = ""
    table: str = ""
    columns: str = ""
    description: str = ""
    fix_hint: str = ""
    status: str = ""
    status_reason: str = ""
    published: bool = True
    check: str = ""  # the catalogue's check name, e.g. parent_valid
    inferred: bool = False  # this month's finding rests on our reading of unpublished logic (summary "inferred")
    local: bool = False  # the project's own rule (rules/local_rules.yml): the platform does not apply it


@dataclass
class TableCount:
    table: str
    submitted: int | None = None
    kept: int | None = None
    record_rejected: int | None = None
    group_rejected: int | None = None
    warnings: int | None = None


@dataclass
class Report:
    period: str
    source: str = ""
    file_rejected: bool = False
    outcome_text: str = ""
    file_reasons: list[tuple[str, str]] = field(default_factory=list)  # (rule code or '', plain reason)
    rules: dict[str, RuleInfo] = field(default_factory=dict)  # rules that failed
    tables: list[TableCount] = field(default_factory=list)
    warnings: int = 0
    failures: list[Failure] = field(default_factory=list)
    csv_path: Path | None = None


def is_published(rule_code: str) -> bool:
    """Rules whose code we made up (no national code exists) are named UNPUBLISHED(...)."""
    return not rule_code.upper().startswith("UNPUBLISHED")


def load_failures(report_dir: Path) -> list[Failure]:
    """The failure list of a report folder (validation_report.json, else .csv, else none)."""
    return load_failure_rows(report_dir)


def load_report(report_dir: Path, period: str, with_failures: bool = True) -> Report:
    """Read a validation report folder (the failure list only if with_failures).

    Raises FileNotFoundError when it holds no summary.json, SummaryError (a UserError) when its
    summary.json or failure list is not in the shape summary_schema defines."""
    summary_path = report_dir / "summary.json"
    if not summary_path.exists():
        raise FileNotFoundError(f"{summary_path} not found: run 'iapt-idb validate --period {period} --report {report_dir}' first")
    summary = load_summary(summary_path)
    csv_path = report_dir / "validation_report.csv"
    report = Report(
        period=summary.period,
        source=summary.source,
        file_rejected=summary.file_rejected,
        outcome_text=summary.predicted_outcome,
        file_reasons=[(r.rule_code, r.description) for r in summary.file_reasons],
        failures=load_failures(report_dir) if with_failures else [],
        csv_path=csv_path if csv_path.exists() else None,
        warnings=summary.warnings,
    )
    for r in summary.rules:
        report.rules[r.rule_code] = RuleInfo(
            rule_code=r.rule_code,
            severity=r.severity,
            table=r.table,
            description=r.description,
            fix_hint=r.fix_hint,
            status=r.status,
            published=r.published,
            inferred=r.inferred,
            local=r.local,
        )
    for t in summary.tables:
        report.tables.append(
            TableCount(
                table=t.table,
                submitted=t.rows_submitted,
                kept=t.rows_kept,
                record_rejected=t.rows_record_rejected,
                group_rejected=t.rows_group_rejected,
                warnings=t.rows_with_warnings,
            )
        )
    return report


def _spec_rules() -> list[RuleInfo]:
    out: list[RuleInfo] = []
    for name in ("validation_rules.csv", "validation_rules_v21_new_items.csv", "validation_rules_idb_storage.csv"):
        with (SPEC_DIR / name).open(newline="", encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                out.append(
                    RuleInfo(
                        rule_code=r["rule_code"],
                        severity=r["severity"],
                        rule_type=r["rule_type"],
                        table=r["table_id"],
                        columns=r["columns"],
                        description=r["description"],
                        published=is_published(r["rule_code"]),
                    )
                )
    return out


def load_catalogue(path: Path | None = None) -> tuple[list[RuleInfo], bool]:
    """All rules, in catalogue order, and whether they came from the TOS seed (else the spec)."""
    path = path or SEEDS_DIR / "tos" / "tos_rules.csv"
    if not path.exists():
        return _spec_rules(), False
    out: list[RuleInfo] = []
    with path.open(newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            out.append(
                RuleInfo(
                    rule_code=r["rule_code"],
                    severity=r["severity"],
                    rule_type=r["rule_type"],
                    table=r["table_name"],
                    columns=r["columns"],
                    description=r["description"],
                    fix_hint=r["fix_hint"],
                    status=r["status"],
                    status_reason=r["status_reason"],
                    check=r["check_name"],
                    published=r["published"] == "true",
                )
            )
    return out, True


@dataclass(frozen=True)
class MonthPoint:
    period: str
    file_rejected: bool
    rows_rejected: int  # rows rejected by a record or group rejection
    warnings: int  # warnings raised


def month_point(report: Report) -> MonthPoint:
    if report.tables and any(t.record_rejected is not None for t in report.tables):
        rejected = sum((t.record_rejected or 0) + (t.group_rejected or 0) for t in report.tables)
    else:
        rejected = len({(f.table, f.record_key) for f in report.failures if f.severity in ("record_reject", "group_reject")})
    return MonthPoint(report.period, report.file_rejected, rejected, report.warnings)


def find_history(history_dir: Path | None, current: Report) -> list[MonthPoint]:
    """Earlier months' validation summaries under history_dir (``*/validation/summary.json``), and this month."""
    points: dict[str, MonthPoint] = {current.period: month_point(current)}
    if history_dir and history_dir.is_dir():
        for summary in sorted(history_dir.glob("*/validation/summary.json")):
            try:
                report = load_report(summary.parent, summary.parent.parent.name, with_failures=False)
            except SummaryError as exc:
                print(f"iapt-idb docs: warning: {exc}; that month is left out of the trend", file=sys.stderr)
                continue
            except OSError:
                continue
            if report.period < current.period:
                points.setdefault(report.period, month_point(report))
    return [points[p] for p in sorted(points)]


def load_manifest(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))
