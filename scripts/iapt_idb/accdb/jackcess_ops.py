"""Jackcess 4.0.10 operations. Runs ONLY inside a child process (see child.py), which owns the JVM."""

from __future__ import annotations

import gc
import os
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..spec import load_tables
from ..testhooks import pause_at
from . import jvm, source
from .child import environment_problem
from .errors import AccdbError, mask_values
from .physical import PhysColumn, PhysTable, ace_version, spec_structure, structure_differences

READABLE_BY_PLATFORM = {"V2007", "V2010", "V2016"}  # Jackcess 2.2.0 (the platform's reader) opens these
_J: dict[str, Any] = {}


def _java() -> dict[str, Any]:
    if not _J:
        jvm.start("writer")
        import jpype

        # JClass, not "import java.*": the project's java/ folder would shadow the java package.
        pkg = "com.healthmarketscience.jackcess."
        ColumnBuilder, Database, DatabaseBuilder, DataType, TableBuilder = (
            jpype.JClass(pkg + n) for n in ("ColumnBuilder", "Database", "DatabaseBuilder", "DataType", "TableBuilder"))
        File, Arrays, TimeZone = (jpype.JClass(n) for n in ("java.io.File", "java.util.Arrays", "java.util.TimeZone"))
        _J.update(jpype=jpype, ColumnBuilder=ColumnBuilder, Database=Database, DatabaseBuilder=DatabaseBuilder,
                  DataType=DataType, TableBuilder=TableBuilder, File=File, Arrays=Arrays,
                  UTC=TimeZone.getTimeZone("UTC"), Rows=jpype.JArray(jpype.JObject, 2),
                  BatchAppender=jpype.JClass("iaptidb.accdb.BatchAppender"),
                  BatchWriter=jpype.JClass("iaptidb.accdb.BatchWriter"), Objects=jpype.JArray(jpype.JObject))
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
        _refused(exc, first_row, label)


_CONTEXT = re.compile(r"\(Db=[^)]*\)")
_COLUMN = re.compile(r"Column=([A-Za-z0-9_]+)")


def safe_reason(exc: BaseException) -> str:
    """Jackcess's reason for refusing a row without anything that could be a value (patient data): its
    error context is reduced to the column name, and quoted text, dates and long numbers are masked."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    text = text.split(": ", 1)[1] if text.startswith(("java.", "com.")) and ": " in text else text
    column = _COLUMN.search(str(exc))
    text = mask_values(_CONTEXT.sub("", text)).strip()[:200]
    return text + (f" (column {column.group(1)})" if column else "")


def _refused(exc: Exception, first_row: int, label: str) -> None:
    problem = environment_problem(exc)
    if problem:  # a full disk or an unwritable folder, not a bad row
        raise AccdbError(problem) from None
    done = exc.getUpdateCount() if hasattr(exc, "getUpdateCount") else 0
    raise AccdbError(f"{label}, row {first_row + int(done)} (0-based): Jackcess refused the row: "
                     f"{safe_reason(exc)}") from None


class _Staging:
    """A buffer of this process's memory that Java reads as a direct ByteBuffer: a column's parts are copied
    into it (a memcpy each) and BatchAppender reads them from there during its ``set*`` call, so no Java
    array is made or filled through JPype per column. One column at a time; it grows when one needs more."""

    def __init__(self) -> None:
        self._mem = np.zeros(0, dtype=np.uint8)
        self.java: Any = None
        self._used = 0

    def start(self, nbytes: int) -> None:
        """Make room for one column's parts (nbytes in all, before alignment) and start at offset 0."""
        need = nbytes + 32
        if len(self._mem) < need:
            import jpype.nio

            self.java = None
            raw = bytearray(max(need, 2 * len(self._mem), 1 << 20))
            self._mem = np.frombuffer(raw, dtype=np.uint8)
            self.java = jpype.nio.convertToDirectBuffer(raw)
        self._used = 0

    def put(self, a: np.ndarray) -> int:
        """Copy an array's bytes in (at an 8-byte boundary); return where they start."""
        at = (self._used + 7) & ~7
        data = np.ascontiguousarray(a).view(np.uint8)
        self._mem[at:at + len(data)] = data
        self._used = at + len(data)
        return at


_STAGING = _Staging()


def _fixed_width(col: pa.Array, dtype: type) -> np.ndarray:
    """The values buffer of a fixed-width Arrow array (values under nulls are arbitrary)."""
    n = len(col)
    return np.frombuffer(col.buffers()[1], dtype=dtype, count=col.offset + n)[col.offset:]


def _validity(col: pa.Array) -> np.ndarray:
    """One byte per value, 0 where null, unpacked from the Arrow validity bitmap (no pandas import)."""
    bits = np.frombuffer(col.buffers()[0], dtype=np.uint8)
    return np.unpackbits(bits, bitorder="little", count=col.offset + len(col))[col.offset:]


def hand_over(appender: Any, batch: pa.RecordBatch) -> None:
    """Give one Arrow record batch (columns in the file's order) to a Java BatchAppender, column by column.

    The Java values are those of the per-value path (``batch_rows``): Long for integers and epoch-ms
    date-times, Double, String, null. Each column's buffers are copied into the staging buffer, which Java
    reads in place (``_Staging``).
    """
    staging = _STAGING
    for i, col in enumerate(batch.columns):
        n = len(col)
        if col.null_count == n:
            appender.setNulls(i, n)
            continue
        t = col.type
        if pa.types.is_integer(t) or pa.types.is_floating(t):
            wide = pa.int64() if pa.types.is_integer(t) else pa.float64()
            if t != wide:
                col = col.cast(wide)
            doubles = wide == pa.float64()
            staging.start(9 * n)
            valid = -1 if col.null_count == 0 else staging.put(_validity(col))
            at = staging.put(_fixed_width(col, np.float64 if doubles else np.int64))
            appender.setNumbers(i, staging.java, at, n, valid, doubles)
        elif pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
            if t != pa.string():
                col = col.cast(pa.string())
            offsets = np.frombuffer(col.buffers()[1], dtype=np.int32, count=col.offset + n + 1)[col.offset:]
            data = col.buffers()[2]
            utf8 = (np.frombuffer(data, dtype=np.uint8)[offsets[0]:offsets[-1]] if data is not None and data.size
                    else np.zeros(0, dtype=np.uint8))
            staging.start(len(utf8) + 5 * (n + 1))
            valid = -1 if col.null_count == 0 else staging.put(_validity(col))
            data_at = staging.put(utf8)
            offsets_at = staging.put(offsets - offsets[0])
            appender.setTexts(i, staging.java, data_at, len(utf8), offsets_at, n, valid)
        else:  # not produced by source.plan_column's SQL; converted value by value, as JPype does
            appender.setObjects(i, _java()["Objects"](col.to_pylist()))


class Unstorable(Exception):
    """``write_rows`` met a row holding a value the file cannot store, and stopped before handing it over."""


def write_rows(db: Any, con: Any, plans: list[source.TablePlan], verbose: bool) -> dict[str, int]:
    """Append every plan's rows (read from DuckDB batch by batch) to its table in ``db``; return the counts.

    Each batch is checked before it is handed over: its written values against the checks' limits
    (``TablePlan.unstorable_in``), and by the other checks in the same scan (``checked_write_sql``). A batch
    holding a value the file cannot store is not handed over, and the writing stops (``Unstorable``);
    ``preflight`` then names every such value, and the file is thrown away.

    Jackcess's ``addRows`` runs on one Java thread (``BatchWriter``) while this thread reads and hands
    over the next batch; at most a few batches are in flight. Every table is opened before the first
    batch, because only the writer thread may touch the database until ``finish`` returns.
    """
    j = _java()
    tables = [db.getTable(plan.file_table) for plan in plans]
    writer = j["BatchWriter"]()
    # JPype runs a full Python collection, holding the GIL, each time Java's collector runs (every few
    # batches here). The objects made so far (modules, JPype's classes, the plans) outlive the writing, so
    # they are left out of those collections: 0.25-0.35 s of them at 340,000 patients (docs/decisions.md).
    gc.freeze()
    submitted: list[tuple[str, int]] = []  # (table, first row) of each batch, in submission order
    written: dict[str, int] = {}

    def refused(exc: Exception) -> None:
        failed = int(writer.failedBatch())
        if failed < 0:
            raise exc
        label, first_row = submitted[failed]
        _refused(exc, first_row, label)

    try:
        for plan, table in zip(plans, tables):
            t_start = time.perf_counter()
            appender = j["BatchAppender"](table, writer)
            sql, flagged = plan.checked_write_sql()
            offset = 0
            for batch in source.batches(con, sql):
                if flagged:
                    if pc.any(batch.column(batch.num_columns - 1)).as_py():
                        raise Unstorable(plan.table)
                    batch = batch.drop_columns([source.UNSTORABLE_FLAG])
                if plan.unstorable_in(batch):
                    raise Unstorable(plan.table)
                hand_over(appender, batch)
                submitted.append((plan.table, offset))
                try:
                    appender.append()
                except Exception as exc:
                    refused(exc)
                offset += batch.num_rows
            written[plan.table] = offset
            if verbose:
                dt = time.perf_counter() - t_start
                _say(f"export: {plan.table:<34} {offset:>10,} rows  {dt:6.1f} s")
        try:
            writer.finish()
        except Exception as exc:
            refused(exc)
    finally:
        writer.close()
    return written


def raise_unstorable(con: Any, plans: list[source.TablePlan]) -> None:
    """Scan every plan's rows with ``preflight``; raise the values the file cannot store, if any."""
    problems: list[str] = []
    for plan in plans:
        problems += source.preflight(con, plan)[1]
    if problems:
        raise AccdbError(
            f"{len(problems)} problem(s) found; no file was written. Fix them in the marts (or their "
            "sources):\n  " + "\n  ".join(problems)
        )


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
    problems = structure_differences(tables, types=False)
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
    """Write the IDB to p['tmp'], checking every row as it is read (the parent renames it into place)."""
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
        # One DuckDB thread: the batches are small and streamed, and Jackcess's thread needs the other
        # core. Measured: less CPU in all and a shorter export than with DuckDB's default of one per core.
        con.execute("SET threads = 1")
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
        # Every row is checked as it is read for writing (write_rows); the file is only kept (renamed by
        # the parent) when no value failed. A value the file cannot store wins over anything the writing
        # hit (a refused row, a full disk): every such value is named, as the checks alone would.
        tmp = p["tmp"]
        try:
            if template:
                shutil.copyfile(template, tmp)
                db = open_db(tmp, read_only=False)
            else:
                db = create_db(tmp, file_tables, fmt)
            try:
                total_t0 = time.perf_counter()
                counts = write_rows(db, con, plans, verbose)
                pause_at("child-writing")
                if not template:
                    moment = _header_moment(con, p["sources"]["IDS000Header"])
                    if moment is not None:
                        stamp_creation_dates(db, [t.name for t in file_tables], moment)
                db.flush()
            finally:
                db.close()
        except Exception as exc:
            raise_unstorable(con, plans)
            if isinstance(exc, Unstorable):
                raise AccdbError(f"{exc}: a row held a value the file cannot store while it was written, but not "
                                 "when checked again; did the target DB change during the export? Export again.") from None
            raise
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
