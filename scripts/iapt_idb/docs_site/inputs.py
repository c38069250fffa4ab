"""Read what the other commands produced: the validation report, the rule catalogue, dbt's manifest.

The validation report folder (``iapt-idb validate --report DIR``) holds ``summary.json``,
``validation_report.json`` / ``.csv`` (one row per failure) and ``gx_data_docs/``. Everything is
normalised here into small dataclasses so the page code does not depend on file layouts.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..paths import SEEDS_DIR, SPEC_DIR

SEVERITIES: tuple[str, ...] = ("file_reject", "group_reject", "record_reject", "warning")


@dataclass(frozen=True)
class Failure:
    rule_code: str
    severity: str
    table: str
    record_key: str
    columns: str
    message: str


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
    rules: dict[str, RuleInfo] = field(default_factory=dict)  # rules that failed, with their counts below
    rule_counts: dict[str, int] = field(default_factory=dict)  # rule code -> failures reported
    tables: list[TableCount] = field(default_factory=list)
    warnings: int = 0
    failures: list[Failure] = field(default_factory=list)
    csv_path: Path | None = None


def _first(d: dict[str, Any], *keys: str, default: Any = None) -> Any:
    for k in keys:
        if k in d and d[k] is not None:
            return d[k]
    return default


def _int(v: Any) -> int | None:
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def is_published(rule_code: str, flag: Any = None) -> bool:
    if isinstance(flag, bool):
        return flag
    if isinstance(flag, str) and flag:
        return flag.strip().lower() in ("published", "true", "yes", "y", "1")
    return not rule_code.upper().startswith("UNPUBLISHED")


def _columns_text(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        return ", ".join(str(x) for x in v)
    return "" if v is None else str(v)


def _failure(row: dict[str, Any]) -> Failure:
    return Failure(
        rule_code=str(_first(row, "rule_code", "code", default="")),
        severity=str(_first(row, "severity", default="")),
        table=str(_first(row, "table", "table_name", default="")),
        record_key=str(_first(row, "record_key", "key", default="")),
        columns=_columns_text(_first(row, "columns", "column")),
        message=str(_first(row, "message", "description", default="")),
    )


def load_failures(report_dir: Path) -> list[Failure]:
    js, cs = report_dir / "validation_report.json", report_dir / "validation_report.csv"
    if js.exists():
        data = json.loads(js.read_text(encoding="utf-8"))
        rows = data.get("failures", []) if isinstance(data, dict) else data
        return [_failure(r) for r in rows]
    if cs.exists():
        with cs.open(newline="", encoding="utf-8") as fh:
            return [_failure(r) for r in csv.DictReader(fh)]
    return []


def _rule_entries(summary: dict[str, Any]) -> list[dict[str, Any]]:
    raw = _first(summary, "rules", "counts_by_rule", "rule_counts", default=[])
    if isinstance(raw, dict):
        out = []
        for code, v in raw.items():
            entry = dict(v) if isinstance(v, dict) else {"count": v}
            entry.setdefault("rule_code", code)
            out.append(entry)
        return out
    return [r for r in raw if isinstance(r, dict)]


def _table_entries(summary: dict[str, Any]) -> list[dict[str, Any]]:
    raw = _first(summary, "tables", "table_counts", "per_table", default=[])
    if isinstance(raw, dict):
        return [dict(v, table=k) for k, v in raw.items() if isinstance(v, dict)]
    return [r for r in raw if isinstance(r, dict)]


def _outcome(summary: dict[str, Any]) -> tuple[bool, str, list[tuple[str, str]]]:
    raw = _first(summary, "predicted_outcome", "outcome", "file_outcome", default={})
    reasons_raw: list[Any] = list(_first(summary, "file_reasons", "file_level_reasons", default=[]) or [])
    rejected = _first(summary, "file_rejected")
    text = ""
    if isinstance(raw, dict):
        rejected = _first(raw, "file_rejected", "rejected", default=rejected)
        text = str(_first(raw, "outcome", "status", "text", default=""))
        reasons_raw += list(_first(raw, "reasons", "file_reasons", default=[]) or [])
    elif isinstance(raw, str):
        text = raw
    if rejected is None:
        rejected = "reject" in text.lower()
    reasons: list[tuple[str, str]] = []
    for r in reasons_raw:
        if isinstance(r, dict):
            reasons.append((str(_first(r, "rule_code", "code", default="")), str(_first(r, "reason", "description", "message", default=""))))
        else:
            reasons.append(("", str(r)))
    return bool(rejected), text, reasons


def load_report(report_dir: Path, period: str, with_failures: bool = True) -> Report:
    """Read a validation report folder (the failure list only if with_failures).

    Raises FileNotFoundError when it holds no summary.json."""
    summary_path = report_dir / "summary.json"
    if not summary_path.exists():
        raise FileNotFoundError(f"{summary_path} not found: run 'iapt-idb validate --period {period} --report {report_dir}' first")
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    rejected, text, reasons = _outcome(summary)
    report = Report(
        period=str(summary.get("period", period)),
        source=str(_first(summary, "source", default="")),
        file_rejected=rejected,
        outcome_text=text,
        file_reasons=reasons,
        failures=load_failures(report_dir) if with_failures else [],
        csv_path=(report_dir / "validation_report.csv") if (report_dir / "validation_report.csv").exists() else None,
    )
    for e in _rule_entries(summary):
        code = str(_first(e, "rule_code", "code", default=""))
        if not code:
            continue
        report.rules[code] = RuleInfo(
            rule_code=code,
            severity=str(_first(e, "severity", default="")),
            rule_type=str(_first(e, "rule_type", default="")),
            table=str(_first(e, "table", default="")),
            columns=_columns_text(_first(e, "columns")),
            description=str(_first(e, "description", "rule_description", default="")),
            fix_hint=str(_first(e, "fix_hint", "fix", default="")),
            status=str(_first(e, "status", default="")),
            published=is_published(code, _first(e, "published", "publication")),
            inferred=_first(e, "inferred") is True,
        )
        count = _int(_first(e, "records", "failures", "count", "n", "rows"))
        if count is not None:
            report.rule_counts[code] = count
    for e in _table_entries(summary):
        report.tables.append(
            TableCount(
                table=str(_first(e, "table", "name", default="")),
                submitted=_int(_first(e, "rows_submitted", "submitted", "rows")),
                kept=_int(_first(e, "rows_kept", "kept")),
                record_rejected=_int(_first(e, "record_rejected", "records_rejected", "rows_record_rejected")),
                group_rejected=_int(_first(e, "group_rejected", "groups_rejected", "rows_group_rejected")),
                warnings=_int(_first(e, "warnings", "rows_with_warnings")),
            )
        )
    warnings = _first(summary, "warnings", "warning_count")
    if isinstance(warnings, dict):
        warnings = _first(warnings, "count", "total", "records")
    if isinstance(warnings, list):
        warnings = len(warnings)
    report.warnings = _int(warnings) if _int(warnings) is not None else sum(
        1 for f in report.failures if f.severity == "warning"
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
            code = r.get("rule_code", "")
            out.append(
                RuleInfo(
                    rule_code=code,
                    severity=r.get("severity", ""),
                    rule_type=r.get("rule_type", ""),
                    table=r.get("table_name") or r.get("table") or r.get("table_id") or "",
                    columns=r.get("columns", ""),
                    description=r.get("description", ""),
                    fix_hint=r.get("fix_hint", ""),
                    status=r.get("status", ""),
                    status_reason=r.get("status_reason", ""),
                    check=r.get("check_name") or r.get("check") or "",
                    published=is_published(code, r.get("published") or r.get("publication")),
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
            except (OSError, ValueError):
                continue
            if report.period < current.period:
                points.setdefault(report.period, month_point(report))
    return [points[p] for p in sorted(points)]


def load_manifest(path: Path) -> dict[str, Any] | None:
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))
