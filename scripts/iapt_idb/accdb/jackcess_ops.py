"""Jackcess 4.0.10 operations. Runs ONLY inside a child process (see child.py), which owns the JVM."""

from __future__ import annotations

import os
import re
import shutil
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from ..spec import load_tables
from ..testhooks import pause_at
from . import jvm, source
from .child import environment_problem
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
                  UTC=TimeZone.getTimeZone("UTC"), Rows=jpype.JArray(jpype.JObject, 2),
                  BatchAppender=jpype.JClass("iaptidb.accdb.BatchAppender"),
                  BatchWriter=jpype.JClass("iaptidb.accdb.BatchWriter"), Bytes=jpype.JArray(jpype.JByte),
                  Objects=jpype.JArray(jpype.JObject))
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
# what a Jackcess message might quote of a value: quoted text, dates and times, long digit runs
_VALUE_LIKE = re.compile(r"'[^']*'|\"[^\"]*\"|\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}(?:[ T][\d:.]+)?|\d{5,}")


def safe_reason(exc: BaseException) -> str:
    """Jackcess's reason for refusing a row without anything that could be a value (patient data): its
    error context is reduced to the column name, and quoted text, dates and long numbers are masked."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    text = text.split(": ", 1)[1] if text.startswith(("java.", "com.")) and ": " in text else text
    column = _COLUMN.search(str(exc))
    text = _VALUE_LIKE.sub("<value>", _CONTEXT.sub("", text)).strip()[:200]
    return text + (f" (column {column.group(1)})" if column else "")


def _refused(exc: Exception, first_row: int, label: str) -> None:
    problem = environment_problem(exc)
    if problem:  # a full disk or an unwritable folder, not a bad row
        raise AccdbError(problem) from None
    done = exc.getUpdateCount() if hasattr(exc, "getUpdateCount") else 0
    raise AccdbError(f"{label}, row {first_row + int(done)} (0-based): Jackcess refused the row: "
                     f"{safe_reason(exc)}") from None


def _jbytes(a: np.ndarray) -> Any:
    """A numpy array's bytes as a Java byte[], in one bulk copy (JPype reads the buffer)."""
    return _java()["Bytes"](np.ascontiguousarray(a).view(np.int8))


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
    date-times, Double, String, null. Each column crosses as its raw buffers, one bulk copy each.
    """
    for i, col in enumerate(batch.columns):
        n = len(col)
        if col.null_count == n:
            appender.setNulls(i, n)
            continue
        valid = None if col.null_count == 0 else _jbytes(_validity(col))
        t = col.type
        if pa.types.is_integer(t):
            if t != pa.int64():
                col = col.cast(pa.int64())
            appender.setLongs(i, _jbytes(_fixed_width(col, np.int64)), valid)
        elif pa.types.is_floating(t):
            if t != pa.float64():
                col = col.cast(pa.float64())
            appender.setDoubles(i, _jbytes(_fixed_width(col, np.float64)), valid)
        elif pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
            if t != pa.string():
                col = col.cast(pa.string())
            offsets = np.frombuffer(col.buffers()[1], dtype=np.int32, count=col.offset + n + 1)[col.offset:]
            data = col.buffers()[2]
            utf8 = (np.frombuffer(data, dtype=np.int8)[offsets[0]:offsets[-1]] if data is not None and data.size
                    else np.zeros(0, dtype=np.int8))
            appender.setTexts(i, _jbytes(utf8), _jbytes(offsets - offsets[0]), valid)
        else:  # not produced by source.plan_column's SQL; converted value by value, as JPype does
            appender.setObjects(i, _java()["Objects"](col.to_pylist()))


def write_rows(db: Any, con: Any, plans: list[source.TablePlan], verbose: bool,
               stop: Callable[[], bool] = lambda: False) -> dict[str, int]:
    """Append every plan's rows (read from DuckDB batch by batch) to its table in ``db``; return the counts.

    ``stop`` is asked before each batch; when it says so, the writing ends early (the rows checks
    failed, so the file will be thrown away).

    Jackcess's ``addRows`` runs on one Java thread (``BatchWriter``) while this thread reads and hands
    over the next batch; at most a few batches are in flight. Every table is opened before the first
    batch, because only the writer thread may touch the database until ``finish`` returns.
    """
    j = _java()
    tables = [db.getTable(plan.file_table) for plan in plans]
    writer = j["BatchWriter"]()
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
            offset = 0
            for batch in source.batches(con, plan.write_sql()):
                if stop():
                    return written
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


class _Checks:
    """``source.preflight`` of every plan, on its own DuckDB cursor in a background thread."""

    def __init__(self, con: Any, plans: list[source.TablePlan]) -> None:
        self._cursor = con.cursor()
        self._plans = plans
        self._counts: dict[str, int] = {}
        self._problems: list[str] = []
        self._error: BaseException | None = None
        self._seconds = 0.0
        self._reported = False
        self._thread = threading.Thread(target=self._run, name="iapt-idb-row-checks", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        t0 = time.perf_counter()
        try:
            for plan in self._plans:
                n, probs = source.preflight(self._cursor, plan)
                self._counts[plan.table] = n
                self._problems += probs
        except BaseException as exc:  # noqa: BLE001 - raised again by result()
            self._error = exc
        finally:
            self._seconds = time.perf_counter() - t0
            self._cursor.close()

    def failed(self) -> bool:
        """True once the checks have finished and found problems (or failed)."""
        return not self._thread.is_alive() and bool(self._problems or self._error)

    def result(self, verbose: bool) -> dict[str, int]:
        """Wait for the checks; the row counts when every row can be stored, else raise the problems."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        if verbose and not self._reported:
            self._reported = True
            _say(f"export: checked {sum(self._counts.values()):,} rows in 21 tables ({self._seconds:.1f} s)")
        if self._problems:
            raise AccdbError(
                f"{len(self._problems)} problem(s) found; no file was written. Fix them in the marts (or their "
                "sources):\n  " + "\n  ".join(self._problems)
            )
        return self._counts


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
        # The checks of every row run on a DuckDB cursor in a background thread while the JVM starts and
        # the rows are written to the temporary file; their problems win over anything the writing hits,
        # and the file is only kept (renamed by the parent) when they found none.
        checks = _Checks(con, plans)
        tmp = p["tmp"]
        try:
            if template:
                shutil.copyfile(template, tmp)
                db = open_db(tmp, read_only=False)
            else:
                db = create_db(tmp, file_tables, fmt)
            try:
                total_t0 = time.perf_counter()
                written = write_rows(db, con, plans, verbose, stop=checks.failed)
                pause_at("child-writing")
                counts = checks.result(verbose)
                for plan in plans:
                    if written[plan.table] != counts[plan.table]:
                        raise AccdbError(f"{plan.table}: {written[plan.table]} rows read for writing but "
                                         f"{counts[plan.table]} checked; did the target DB change during the export?")
                if not template:
                    moment = _header_moment(con, p["sources"]["IDS000Header"])
                    if moment is not None:
                        stamp_creation_dates(db, [t.name for t in file_tables], moment)
                db.flush()
            finally:
                db.close()
        except Exception:
            checks.result(verbose)  # the checks' problems, if any, are the error to report
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
