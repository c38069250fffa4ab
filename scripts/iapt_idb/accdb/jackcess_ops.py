"""Jackcess 4.0.10 operations. Runs ONLY inside a child process (see child.py), which owns the JVM."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from ..spec import load_tables
from . import jvm, source
from .errors import AccdbError
from .physical import PhysColumn, PhysTable, ace_version, spec_structure

READABLE_BY_PLATFORM = {"V2007", "V2010", "V2016"}  # Jackcess 2.2.0 (the platform's reader) opens these
_J: dict[str, Any] = {}


def _java() -> dict[str, Any]:
    if not _J:
        jvm.start("writer", convert_strings=False)
        import jpype

        # JClass, not "import java.*": the project's java/ folder would shadow the java package.
        pkg = "com.healthmarketscience.jackcess."
        ColumnBuilder, Database, DatabaseBuilder, DataType, TableBuilder = (
            jpype.JClass(pkg + n) for n in ("ColumnBuilder", "Database", "DatabaseBuilder", "DataType", "TableBuilder"))
        File, Arrays, TimeZone = (jpype.JClass(n) for n in ("java.io.File", "java.util.Arrays", "java.util.TimeZone"))
        _J.update(jpype=jpype, ColumnBuilder=ColumnBuilder, Database=Database, DatabaseBuilder=DatabaseBuilder,
                  DataType=DataType, TableBuilder=TableBuilder, File=File, Arrays=Arrays,
                  UTC=TimeZone.getTimeZone("UTC"), Rows=jpype.JArray(jpype.JObject, 2))
    return _J


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def open_db(path: str | Path, read_only: bool) -> Any:
    j = _java()
    b = j["DatabaseBuilder"](j["File"](str(path))).setReadOnly(read_only).setAutoSync(False)
    try:
        return b.setTimeZone(j["UTC"]).open()
    except Exception as exc:  # Java IOException and friends
        raise AccdbError(f"{path}: Jackcess cannot open this file as an Access database: {exc}") from None


def describe_db(db: Any) -> dict[str, Any]:
    """File format and every user table's columns (Access type, text size) and row count."""
    order = {t.name.lower(): i for i, t in enumerate(load_tables())}
    names = sorted((str(n) for n in db.getTableNames()), key=lambda n: (order.get(n.lower(), 999), n.lower()))
    tables = []
    for name in names:
        t = db.getTable(name)
        cols = []
        for c in t.getColumns():
            typ = str(c.getType().name())
            cols.append(PhysColumn(str(c.getName()), typ, int(c.getLengthInUnits()) if typ == "TEXT" else None))
        tables.append(PhysTable(name, tuple(cols), int(t.getRowCount())).to_json())
    return {"file_format": str(db.getFileFormat().name()), "tables": tables}


def create_db(path: str | Path, structure: list[PhysTable], file_format: str = "V2010") -> Any:
    j = _java()
    fmt = j["Database"].FileFormat.valueOf(file_format)
    db = (j["DatabaseBuilder"](j["File"](str(path))).setFileFormat(fmt).setAutoSync(False)
          .setTimeZone(j["UTC"]).create())
    for t in structure:
        tb = j["TableBuilder"](t.name)
        for c in t.columns:
            cb = j["ColumnBuilder"](c.name, j["DataType"].valueOf(c.access_type))
            if c.access_type == "TEXT":
                cb.setLengthInUnits(int(c.length)).setCompressedUnicode(True)
            elif c.access_type == "MEMO":
                cb.setCompressedUnicode(True)
            tb.addColumn(cb)
        tb.toTable(db)
    return db


def _column_values(col: Any) -> list:
    """One Arrow column as Python values for Jackcess. A column with few distinct values (codes, dates
    in the month) is dictionary-encoded and each distinct value converted to a Java object once."""
    if col.null_count == len(col):
        return [None] * len(col)
    enc = col.dictionary_encode()
    if len(enc.dictionary) * 8 > len(col):
        return col.to_pylist()
    j = _java()
    distinct = list(j["jpype"].JArray(j["jpype"].JObject)(enc.dictionary.to_pylist()))
    return [None if i is None else distinct[i] for i in enc.indices.to_pylist()]


def batch_rows(batch: Any) -> list[list]:
    """An Arrow record batch (columns in the file's order) as rows for Table.addRows."""
    return [list(r) for r in zip(*(_column_values(c) for c in batch.columns))]


def add_rows(table: Any, rows: list, first_row: int, label: str) -> None:
    j = _java()
    try:
        table.addRows(j["Arrays"].asList(j["Rows"](rows)))
    except Exception as exc:
        done = exc.getUpdateCount() if hasattr(exc, "getUpdateCount") else 0
        raise AccdbError(f"{label}, row {first_row + int(done)} (0-based): Jackcess refused the row: {exc}") from None


def stamp_creation_dates(db: Any, names: list[str], epoch_ms: int) -> int:
    """Set MSysObjects.DateCreate/DateUpdate of the given tables to one fixed moment.

    Jackcess stamps each new table with the wall clock, the only thing that made two exports of the
    same data differ byte-wise. The writer uses the header's DateTimeDatSetCreate instead, so the same
    data gives the same file.
    """
    wanted = {n.lower() for n in names}
    sys_table = db.getSystemTable("MSysObjects")
    done = 0
    for row in sys_table:
        name = row.get("Name")
        if name is not None and str(name).lower() in wanted and int(row.get("Type") or 0) == 1:
            row.put("DateCreate", epoch_ms)
            row.put("DateUpdate", epoch_ms)
            sys_table.updateRow(row)
            done += 1
    return done


def _header_moment(con: Any, header_sql: str) -> int | None:
    row = con.execute(
        "SELECT epoch_ms(date_trunc('second', CAST(coalesce(CAST(DateTimeDatSetCreate AS TIMESTAMP), "
        f"CAST(ReportingPeriodEndDate AS TIMESTAMP)) AS TIMESTAMP))) FROM ({header_sql}) AS src LIMIT 1"
    ).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def _fsync(path: str | Path) -> None:
    fd = os.open(str(path), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ---- tasks (called by child.py with JSON payloads) ------------------------------------------------

def list_task(p: dict[str, Any]) -> dict[str, Any]:
    db = open_db(p["path"], read_only=True)
    try:
        return describe_db(db)
    finally:
        db.close()


def create_task(p: dict[str, Any]) -> dict[str, Any]:
    """Create a file with a given structure (and optional rows): the no-template path and test fixtures."""
    structure = [PhysTable.from_json(t) for t in p["structure"]]
    db = create_db(p["path"], structure, p.get("file_format", "V2010"))
    try:
        for name, rows in (p.get("rows") or {}).items():
            if rows:
                add_rows(db.getTable(name), [list(r) for r in rows], 0, name)
    finally:
        db.close()
    return {"ace": ace_version(p["path"])}


def _template_structure(template: str, verbose: bool) -> tuple[list[PhysTable], str]:
    db = open_db(template, read_only=True)
    try:
        info = describe_db(db)
    finally:
        db.close()
    fmt = info["file_format"]
    if fmt not in READABLE_BY_PLATFORM:
        raise AccdbError(
            f"template {template}: file format {fmt} ({ace_version(template)}); the national platform's reader "
            f"(Jackcess 2.2.0) opens only {', '.join(sorted(READABLE_BY_PLATFORM))} .accdb files. Use the official "
            "empty IAPT v2.1 IDB from TRUD."
        )
    tables = [PhysTable.from_json(t) for t in info["tables"]]
    by_name = {t.name.lower(): t for t in tables}
    problems = []
    for st in load_tables():
        tt = by_name.pop(st.name.lower(), None)
        if tt is None:
            problems.append(f"missing table {st.name}")
            continue
        tcols = {c.name.lower() for c in tt.columns}
        scols = {c.lower() for c in st.column_names}
        problems += [f"{st.name}: missing column {c.name}" for c in st.columns if c.name.lower() not in tcols]
        problems += [f"{st.name}: extra column {c.name}" for c in tt.columns if c.name.lower() not in scols]
    problems += [f"extra table {t.name}" for t in by_name.values()]
    if problems:
        raise AccdbError(
            f"template {template} does not have the IAPT v2.1 IDB tables and columns of "
            "reference/spec/idb_schema.csv; refusing to fill it:\n  " + "\n  ".join(problems)
        )
    full = [f"{t.name} ({t.rows} rows)" for t in tables if t.rows]
    if full:
        raise AccdbError(
            f"template {template} is not empty: {', '.join(full)}. Use the empty official IDB; the writer only "
            "appends rows and never deletes any."
        )
    if verbose:
        _say(f"export: template {Path(template).name}: {fmt} ({ace_version(template)}), {len(tables)} empty IDB tables; "
             "its column types and sizes are used")
    return tables, fmt


def write_task(p: dict[str, Any]) -> dict[str, Any]:
    """Check every row, then write the IDB to p['tmp'] (the parent renames it into place)."""
    verbose = bool(p.get("progress", True))
    template = p.get("template")
    spec_tables = load_tables()
    if template:
        file_tables, fmt = _template_structure(template, verbose)
    else:
        file_tables, fmt = spec_structure(), "V2010"
    by_name = {t.name.lower(): t for t in file_tables}

    con = source.connect(Path(p["target_db"]))
    try:
        plans = [source.plan_table(con, st, by_name[st.name.lower()], p["sources"][st.name]) for st in spec_tables]
        excluded: list[dict[str, Any]] = []
        if p.get("skip_unstorable"):
            # Rows holding a value the IDB's column cannot store are left out and listed (the platform
            # would reject them on its length/format rules anyway); everything else is written.
            for plan in plans:
                excluded += source.unstorable_rows(con, plan)
            plans = [plan.storable_only() for plan in plans]
            if verbose and excluded:
                _say(f"export: {len({(e['table'], e['row']) for e in excluded}):,} row(s) hold values the IDB cannot "
                     "store; they are left out and listed beside the file")
        counts: dict[str, int] = {}
        problems: list[str] = []
        t0 = time.perf_counter()
        for plan in plans:
            n, probs = source.preflight(con, plan)
            counts[plan.table] = n
            problems += probs
        if verbose:
            _say(f"export: checked {sum(counts.values()):,} rows in 21 tables ({time.perf_counter() - t0:.1f} s)")
        if problems:
            raise AccdbError(
                f"{len(problems)} problem(s) found; no file was written. Fix them in the marts (or their sources):\n  "
                + "\n  ".join(problems)
            )

        tmp = p["tmp"]
        if template:
            shutil.copyfile(template, tmp)
            db = open_db(tmp, read_only=False)
        else:
            db = create_db(tmp, file_tables, fmt)
        try:
            total_t0 = time.perf_counter()
            for plan in plans:
                t_start = time.perf_counter()
                table = db.getTable(plan.file_table)
                offset = 0
                for batch in source.batches(con, plan.write_sql()):
                    add_rows(table, batch_rows(batch), offset, plan.table)
                    offset += batch.num_rows
                if offset != counts[plan.table]:
                    raise AccdbError(f"{plan.table}: {offset} rows read for writing but {counts[plan.table]} checked; "
                                     "did the target DB change during the export?")
                if verbose:
                    dt = time.perf_counter() - t_start
                    _say(f"export: {plan.table:<34} {offset:>10,} rows  {dt:6.1f} s")
            if not template:
                moment = _header_moment(con, p["sources"]["IDS000Header"])
                if moment is not None:
                    stamp_creation_dates(db, [t.name for t in file_tables], moment)
            db.flush()
        finally:
            db.close()
        elapsed = time.perf_counter() - total_t0
    finally:
        con.close()

    db = open_db(tmp, read_only=True)
    try:
        for plan in plans:
            got = int(db.getTable(plan.file_table).getRowCount())
            if got != counts[plan.table]:
                raise AccdbError(f"{plan.table}: re-reading the written file found {got} rows, expected {counts[plan.table]}")
    finally:
        db.close()
    _fsync(tmp)
    return {"counts": counts, "file_format": fmt, "ace": ace_version(tmp), "write_seconds": elapsed,
            "excluded": excluded}
