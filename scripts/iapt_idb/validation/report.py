"""The validation reports: failure list (CSV + JSON) and summary.json, deterministic for the same input.

Failures name records by their local key only (never an NHS number or a birth date); every failure carries
its rule code. Rows are sorted by table (IDB order), rule code, record key and message.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

from .. import runlock
from . import summary_schema
from .catalogue import load_rules
from .local_rules import is_local
from .sources import StructureProblem
from .summary_schema import (
    CatalogueSummary,
    FileReason,
    LocalSummary,
    NotChecked,
    RuleSummary,
    Summary,
    TableSummary,
)
from .tables import table_meta

SCHEMA = "main_validation"
REPORT_COLUMNS = summary_schema.FAILURE_COLUMNS  # rule_code, severity, table, record_key, columns, message
# A failure whose message starts with this mark rests on our reading of a rule whose logic NHS England has not
# published (e.g. IDSREJ015 for a header that fails a record-level rule); its rule is marked inferred.
INFERRED_MARK = "[inferred]"
_TABLE_ORDER = {m.name: i for i, m in enumerate(table_meta())}


def read_results_from(con: duckdb.DuckDBPyConnection) -> dict[str, list[Any]]:
    """The validation results, read through a connection whose default catalog is the target DB."""
    def rows(sql: str) -> list[dict[str, Any]]:
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]

    return {
        # (rule_code, severity, table, record_key, columns, message): REPORT_COLUMNS order, as tuples
        # the local rules' failures (marked [local]) beside the national ones
        "failures": con.execute(
            f"select rule_code, severity, table_name, record_key, columns, message from {SCHEMA}.tos_failures "
            f"union all select rule_code, severity, table_name, record_key, columns, message "
            f"from {SCHEMA}.tos_local_failures"
        ).fetchall(),
        "rules": rows(f"select * from {SCHEMA}.tos_rule_summary"),
        "tables": rows(f"select * from {SCHEMA}.tos_table_summary"),
        "summary": rows(f"select * from {SCHEMA}.tos_summary"),
    }


def _structure_failures(problems: list[StructureProblem]) -> list[dict[str, Any]]:
    rule = next(r for r in load_rules() if r["rule_code"] == "IDSREJ001")
    return [
        {"rule_code": "IDSREJ001", "severity": rule["severity"], "table": p.table, "record_key": "File",
         "columns": p.column, "message": p.message}
        for p in problems
    ]


def failures_json(rows: list[tuple[Any, ...]]) -> str:
    """The failures (tuples in REPORT_COLUMNS order) as ``json.dumps([dict(zip(REPORT_COLUMNS, row)), ...],
    indent=1, sort_keys=True)``, byte for byte, ~2x faster: with ``indent`` the json module encodes in Python;
    here only the strings go through its C encoder. Anything but text values is left to json.dumps."""
    if not rows or not all(type(v) is str for r in rows for v in r):
        return json.dumps([dict(zip(REPORT_COLUMNS, r)) for r in rows], indent=1, sort_keys=True)
    enc = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]  # json.dumps' str encoder
    keys = [(REPORT_COLUMNS.index(k), enc(k)) for k in sorted(REPORT_COLUMNS)]
    items = ("{\n" + ",\n".join(f"  {name}: {enc(r[i])}" for i, name in keys) + "\n }" for r in rows)
    return "[\n " + ",\n ".join(items) + "\n]"


def failures_csv(rows: list[tuple[Any, ...]]) -> str:
    """The failures (tuples in REPORT_COLUMNS order) with their header line, as ``csv.writer(f,
    lineterminator="\\n")`` writes them, byte for byte, ~1.5x faster: a row of text values without a comma,
    quote or line break in any of them is joined with commas (what the writer does for it); any other row
    goes through the writer."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(REPORT_COLUMNS)
    lines = [buf.getvalue()]
    commas = len(REPORT_COLUMNS) - 1
    for row in rows:
        line = ",".join(row) if all(type(v) is str for v in row) else None
        if line is not None and line.count(",") == commas and not _QUOTED.search(line):
            lines.append(line + "\n")
        else:
            buf.seek(0)
            buf.truncate()
            writer.writerow(row)
            lines.append(buf.getvalue())
    return "".join(lines)


# A character that makes csv.writer quote a field (with lineterminator "\n"), besides the delimiter.
_QUOTED = re.compile('["\r\n]')


REPORT_FILES = ("validation_report.csv", "validation_report.json")
GX_FOLDERS = ("gx_data_docs", "gx")
SUMMARY = "summary.json"
# Present while a run owns the report folder and has not put its reports in place (running, failed, killed).
INCOMPLETE = "INCOMPLETE.txt"
STAGING_PREFIX = ".incoming."


def withdraw_reports(report_dir: Path) -> None:
    """Start of a run: the old reports go (summary.json first, so no reader takes them for this run's) and
    INCOMPLETE.txt says why there are none until the run puts its own in place."""
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / SUMMARY).unlink(missing_ok=True)
    note = report_dir / INCOMPLETE
    tmp = report_dir / f".{INCOMPLETE}.{os.getpid()}.tmp"
    tmp.write_text("incomplete: an iapt-idb validate run into this folder is in progress, or failed or was "
                   "killed; there is no current verdict here (see that run's exit status and messages, and "
                   "run it again)\n", encoding="utf-8")
    os.replace(tmp, note)
    for name in REPORT_FILES:
        (report_dir / name).unlink(missing_ok=True)
    for name in GX_FOLDERS:
        shutil.rmtree(report_dir / name, ignore_errors=True)


@contextlib.contextmanager
def staging_folder(report_dir: Path) -> Iterator[Path]:
    """A private folder beside report_dir (same file system, so its files move in atomically) for the new
    reports; removed afterwards, and swept by a later run if this one was killed."""
    with runlock.private_scratch(report_dir.parent, f".{report_dir.name}{STAGING_PREFIX}") as folder:
        yield folder


def commit_reports(staging: Path, report_dir: Path) -> None:
    """Move the new reports in: the failure lists and the GX data docs, then summary.json (the mark of a
    finished run), then INCOMPLETE.txt goes."""
    for name in REPORT_FILES:
        os.replace(staging / name, report_dir / name)
    for name in GX_FOLDERS:
        if (staging / name).exists():
            shutil.rmtree(report_dir / name, ignore_errors=True)
            os.replace(staging / name, report_dir / name)
    os.replace(staging / SUMMARY, report_dir / SUMMARY)
    (report_dir / INCOMPLETE).unlink(missing_ok=True)


def write_summary(report_dir: Path, summary: Summary) -> None:
    summary_schema.write_summary(report_dir / SUMMARY, summary)


def write_reports(
    report_dir: Path, data: dict[str, list[Any]], problems: list[StructureProblem], period: str,
    source: str, not_checked: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    # one tuple per failure in REPORT_COLUMNS order, sorted by table (IDB order), rule code, record key,
    # message, columns and severity
    rows = [
        (code, severity, table or "", key or "", columns or "", message or "")
        for code, severity, table, key, columns, message in data["failures"]
    ] + [tuple(f[c] for c in REPORT_COLUMNS) for f in _structure_failures(problems)]
    order = _TABLE_ORDER.get
    rows.sort(key=lambda r: (order(r[2], -1), r[0], r[3], r[5], r[4], r[1]))
    failures = [dict(zip(REPORT_COLUMNS, r)) for r in rows]

    (report_dir / "validation_report.csv").write_text(failures_csv(rows), encoding="utf-8")
    (report_dir / "validation_report.json").write_text(failures_json(rows) + "\n", encoding="utf-8")

    catalogue = {r["rule_code"]: r for r in load_rules()}
    counts: dict[str, int] = {}
    records: dict[str, set[str]] = {}
    for f in failures:
        counts[f["rule_code"]] = counts.get(f["rule_code"], 0) + 1
        records.setdefault(f["rule_code"], set()).add(f["table"] + "|" + f["record_key"])
    inferred = {f["rule_code"] for f in failures if f["message"].startswith(INFERRED_MARK)}
    rules = [
        RuleSummary(
            rule_code=code,
            published=catalogue[code]["published"] == "true",
            severity=catalogue[code]["severity"],
            table=catalogue[code]["table_name"],
            description=catalogue[code]["description"],
            fix_hint=catalogue[code]["fix_hint"],
            status=catalogue[code]["status"],
            failures=counts[code],
            records=len(records[code]),
            inferred=code in inferred,
            local=is_local(code),
        )
        for code in sorted(counts, key=lambda c: (-counts[c], c))
    ]
    by_severity = {s: 0 for s in summary_schema.SEVERITIES}
    local_by_severity = {s: 0 for s in summary_schema.SEVERITIES}
    for f in failures:
        (local_by_severity if is_local(f["rule_code"]) else by_severity)[f["severity"]] += 1
    file_reasons = [
        FileReason(rule_code=r.rule_code, description=r.description, failures=r.failures, published=r.published,
                   inferred=r.inferred)
        for r in sorted(rules, key=lambda r: r.rule_code) if r.severity == "file_reject" and not r.local
    ]
    tables = sorted(data["tables"], key=lambda t: _TABLE_ORDER[t["table_name"]])
    national = {code: r for code, r in catalogue.items() if not is_local(code)}
    n_local = len(catalogue) - len(national)
    statuses: dict[str, int] = {}
    for r in national.values():
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    summary = Summary(
        period=period,
        source=source,
        predicted_outcome="file_rejected" if file_reasons else "accepted",
        file_reasons=file_reasons,
        failures_by_severity=by_severity,
        warnings=by_severity["warning"],
        rules=rules,
        tables=[
            TableSummary(table=t["table_name"], rows_submitted=int(t["rows_submitted"]), rows_kept=int(t["rows_kept"]),
                         rows_record_rejected=int(t["rows_record_rejected"]),
                         rows_group_rejected=int(t["rows_group_rejected"]),
                         rows_with_warnings=int(t["rows_with_warnings"]))
            for t in tables
        ],
        catalogue=CatalogueSummary(
            rules=len(national),
            published=sum(r["published"] == "true" for r in national.values()),
            unpublished_inferred=sum(r["published"] != "true" for r in national.values()),
            by_status=dict(sorted(statuses.items())),
        ),
        # rules that could not run (e.g. no uploading organisation configured): said, never passed
        not_checked=[NotChecked(**n) for n in not_checked] if not_checked else None,
        # the project's local rules: their findings, apart from the platform's verdict
        local=LocalSummary(rules=n_local, failures_by_severity=local_by_severity) if n_local else None,
    )
    write_summary(report_dir, summary)
    return {"summary": summary, "failures": failures}
