"""What an .accdb holds, structurally: tables, columns, Access types and text sizes, the platform-style
fingerprint, the engine version, and the differences from the IDB v2.1 spec structure.

Two independent looks: Jackcess 4.0.10 (types and sizes as Access defines them) and the national
reader replica (UCanAccess 4.0.4's information_schema, which the platform fingerprints). Each runs in
its own spawned child process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import jars
from .child import run_child
from .errors import AccdbError
from .physical import (PLATFORM_READABLE, PhysTable, SchemaRow, ace_version, fingerprint, spec_schema_rows,
                       structure_differences)
from .replica_session import run_replica


def _schema_row_diff(expected: list[SchemaRow], actual: list[SchemaRow]) -> list[str]:
    exp, act = set(expected), set(actual)
    out = [f"- expected {tuple(r)}" for r in sorted(exp - act)]
    out += [f"+ found    {tuple(r)}" for r in sorted(act - exp)]
    return out


def inspect_structure(accdb: Path, replica: bool = True) -> dict[str, Any]:
    """Structure report of ``accdb`` as a JSON-able dict; ``matches_spec`` says whether it equals the spec."""
    accdb = Path(accdb)
    if not accdb.is_file():
        raise AccdbError(f"{accdb}: no such file")
    try:
        version = ace_version(accdb)
    except ValueError as exc:
        raise AccdbError(str(exc)) from None
    jars.jvm_classpath(jars.WRITER)
    listing = run_child("list", {"path": str(accdb.resolve())})
    tables = [PhysTable.from_json(t) for t in listing["tables"]]
    differences = structure_differences(tables)
    report: dict[str, Any] = {
        "file": str(accdb),
        "access_version": version,
        "jackcess_file_format": listing["file_format"],
        "platform_readable_format": version in PLATFORM_READABLE,
        "tables": [
            {"name": t.name, "rows": t.rows,
             "columns": [{"name": c.name, "access_type": c.label(), "jackcess_type": c.access_type,
                          "text_size": c.length} for c in t.columns]}
            for t in tables
        ],
        "differences_from_spec": differences,
        "spec_fingerprint": fingerprint(spec_schema_rows()),
    }
    if not report["platform_readable_format"]:
        differences.append(f"file format {version}: the national reader (Jackcess 2.2.0) opens only {', '.join(PLATFORM_READABLE)}")
    if replica:
        jars.jvm_classpath(jars.REPLICA)
        try:
            rows = run_replica("replica_schema", {"path": str(accdb.resolve())})["rows"]
        except AccdbError as exc:
            report["fingerprint"] = None
            report["replica_error"] = str(exc)
            differences.append("the national reader replica cannot open the file")
        else:
            srows = sorted(SchemaRow(*r) for r in rows)
            report["fingerprint"] = fingerprint(srows)
            report["fingerprint_rows"] = [list(r) for r in srows]
            report["fingerprint_differences"] = _schema_row_diff(spec_schema_rows(), srows)
    report["matches_spec"] = not differences and (
        not replica or report.get("fingerprint") == report["spec_fingerprint"])
    return report
