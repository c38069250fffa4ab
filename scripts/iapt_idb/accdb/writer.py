"""Export the 21 IDB marts into an IAPT v2.1 IDB (.accdb), atomically, with a manifest beside it.

    export_idb(target_db, out, period, template=None, rows_sql=None) -> manifest dict

The work runs in a spawned child process that hosts the JVM (Jackcess 4.0.10, writer classpath):
it checks every row (text sizes, integer ranges, dates Access can hold) while it writes a temporary
file beside ``out``, which is deleted when any check fails. The parent renames it into place and writes
``<name>.manifest.json``. On any failure or Ctrl-C no output file is left behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import __version__
from ..paths import IDB_SCHEMA_CSV
from ..periods import parse_period
from ..spec import load_tables
from . import jars, source
from .child import run_child
from .errors import AccdbError
from .physical import ace_version

SPEC_STRUCTURE_NOTE = "structure from spec, not the official template"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def manifest_path(out: Path) -> Path:
    out = Path(out)
    return out.with_name(out.stem + ".manifest.json")


def excluded_path(out: Path) -> Path:
    out = Path(out)
    return out.with_name(out.stem + ".excluded.csv")


def _excluded_counts(excluded: list[dict[str, Any]]) -> dict[str, int]:
    rows: dict[str, set[int]] = {}
    for e in excluded:
        rows.setdefault(str(e["table"]), set()).add(int(e["row"]))
    return {t: len(r) for t, r in sorted(rows.items())}


def _write_excluded(path: Path, excluded: list[dict[str, Any]]) -> None:
    import csv

    from .rule_codes import rule_code_for

    with Path(path).open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["table", "row", "record_key", "column", "rule_code", "reason"],
                           lineterminator="\n")
        w.writeheader()
        for e in excluded:
            w.writerow({**e, "rule_code": rule_code_for(str(e["table"]), str(e["column"]), str(e["reason"]))})


def check_header_period(target_db: Path, period: str, header_sql: str | None = None) -> None:
    """Refuse unless the one IDS000Header row's ReportingPeriodStartDate is the first day of ``period``."""
    header_sql = header_sql or source.default_rows_sql("IDS000Header")
    start, _ = parse_period(period)
    con = source.connect(target_db)
    try:
        try:
            rows = con.execute(
                f"SELECT CAST(ReportingPeriodStartDate AS VARCHAR) FROM ({header_sql}) AS src"
            ).fetchall()
        except Exception as exc:  # duckdb.Error: missing table or column
            raise AccdbError(f"IDS000Header: cannot read ReportingPeriodStartDate from the target DB {target_db}: "
                             f"{str(exc).splitlines()[0]}") from None
    finally:
        con.close()
    if len(rows) != 1:
        raise AccdbError(
            f"IDS000Header in {target_db} has {len(rows)} rows; an IDB has exactly one header row. "
            f"Rebuild the marts for {period} (iapt-idb build --period {period})."
        )
    got = (rows[0][0] or "")[:10]
    if got != start.isoformat():
        raise AccdbError(
            f"IDS000Header.ReportingPeriodStartDate (row 0) is {got or 'empty'}, but --period {period} starts on "
            f"{start.isoformat()}. Export the period the marts were built for, or rebuild them with "
            f"iapt-idb build --period {period}."
        )


def export_idb(
    target_db: Path,
    out: Path,
    period: str,
    template: Path | None = None,
    rows_sql: Callable[[str], str] | None = None,
    progress: bool = True,
    skip_unstorable: bool = False,
) -> dict[str, Any]:
    """Write the marts of ``target_db`` into ``out`` (.accdb); return the manifest (also written beside it).

    By default any value the IDB cannot store (text longer than its column, an integer out of range)
    stops the export before a file exists. With ``skip_unstorable`` those rows are left out instead and
    listed, with table, row, local key, column and reason, in ``<name>.excluded.csv`` beside the file.
    """
    target_db, out = Path(target_db), Path(out)
    start, end = parse_period(period)
    if out.suffix.lower() != ".accdb":
        raise AccdbError(f"the output file {out} must end in .accdb (the IDB is an Access 2007+ database)")
    if not out.parent.is_dir():
        raise AccdbError(f"the output folder {out.parent} does not exist; create it first")
    if template is not None:
        template = Path(template)
        if not template.is_file():
            raise AccdbError(f"template {template} not found; pass the official empty IAPT v2.1 IDB (.accdb)")
        if template.resolve() == out.resolve():
            raise AccdbError("the template and the output must be different files")
    jars.jvm_classpath(jars.WRITER)  # fail early, in the parent, when a jar is missing or tampered with

    select = rows_sql or source.default_rows_sql
    sources = {t.name: select(t.name) for t in load_tables()}
    check_header_period(target_db, period, sources["IDS000Header"])

    tmp = out.with_name(f".{out.name}.{os.getpid()}.partial")
    mtmp = out.with_name(f".{manifest_path(out).name}.{os.getpid()}.partial")
    xtmp = out.with_name(f".{excluded_path(out).name}.{os.getpid()}.partial")
    if progress:
        print(f"export: {target_db} -> {out} (period {period})", file=sys.stderr, flush=True)
    replaced = False
    try:
        result = run_child(
            "write",
            {"target_db": str(target_db), "tmp": str(tmp), "template": str(template) if template else None,
             "sources": sources, "progress": progress, "skip_unstorable": skip_unstorable},
            cleanup=[tmp],
        )
        manifest = {
            "file": out.name,
            "sha256": sha256_file(tmp),
            "bytes": tmp.stat().st_size,
            "period": period,
            "reporting_period_start": start.isoformat(),
            "reporting_period_end": end.isoformat(),
            "tables": result["counts"],
            "total_rows": sum(result["counts"].values()),
            "rows_selected": "all rows of each mart" if rows_sql is None else "a caller-supplied SELECT per table",
            "rows_left_out_unstorable": _excluded_counts(result.get("excluded", [])),
            "excluded_file": excluded_path(out).name if result.get("excluded") else None,
            "file_format": {"jackcess": result["file_format"], "access_version": result["ace"]},
            "structure": (
                {"source": "template", "template_file": template.name, "template_sha256": sha256_file(template),
                 "template_format": result["file_format"], "template_access_version": ace_version(template)}
                if template else {"source": SPEC_STRUCTURE_NOTE}
            ),
            "spec": {"idb_schema_csv_sha256": sha256_file(IDB_SCHEMA_CSV)},
            "writer": {
                "iapt_idb": __version__,
                "jars": jars.versions(jars.WRITER),
                "jar_sha256": jars.pins(jars.WRITER),
            },
        }
        mtmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        excluded_path(out).unlink(missing_ok=True)
        if result.get("excluded"):
            _write_excluded(xtmp, result["excluded"])
        os.replace(tmp, out)
        replaced = True
        os.replace(mtmp, manifest_path(out))
        if result.get("excluded"):
            os.replace(xtmp, excluded_path(out))
    except BaseException:
        for p in (tmp, mtmp, xtmp, out) if replaced else (tmp, mtmp, xtmp):
            p.unlink(missing_ok=True)  # never leave a file without its manifest
        raise
    if progress:
        print(f"export: wrote {out} ({manifest['total_rows']:,} rows, {result['ace']}, "
              f"{result['write_seconds']:.1f} s writing) and {manifest_path(out).name}", file=sys.stderr, flush=True)
    return manifest
