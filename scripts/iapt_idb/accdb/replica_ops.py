"""The national platform's reader, replicated: UCanAccess 4.0.4 (HSQLDB 2.4.1, Jackcess 2.2.0) through
JayDeBeApi and JPype, URL ``jdbc:ucanaccess://<file>;memory=true``, then ``SELECT <spec columns> FROM
<table>`` per table. Runs ONLY inside a child process (see child.py), which owns the JVM."""

from __future__ import annotations

import datetime as dt
import decimal
import re
import sys
import time
from pathlib import Path
from typing import Any

from ..spec import IdbTable, load_tables
from . import jvm
from .errors import AccdbError, AccdbStructureError, mask_values
from .physical import SPEC_UCANACCESS_TYPE, SchemaRow, same_type

DRIVER = "net.ucanaccess.jdbc.UcanaccessDriver"
SCHEMA_SQL = (
    "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH FROM information_schema.columns "
    "WHERE TABLE_SCHEMA = 'PUBLIC' ORDER BY TABLE_NAME, COLUMN_NAME"
)
FETCH_ROWS = 10_000


def connect(path: str) -> Any:
    jvm.start("replica")
    import jaydebeapi

    if not Path(path).is_file():
        raise AccdbError(f"{path}: no such file")
    try:
        return jaydebeapi.connect(DRIVER, f"jdbc:ucanaccess://{path};memory=true", ["", ""])
    except Exception as exc:
        raise AccdbError(cannot_open(path, exc)) from None


def cannot_open(path: str, exc: BaseException) -> str:
    """Why the reader refused the file, in UCanAccess's words, with anything like a value masked (opening
    copies every row into memory, so its message may quote one)."""
    text = re.sub(r"^.*?UCAExc:::[\d.]+\s*", "", " ".join(str(exc).split()))  # its version prefix
    reason = mask_values(text)[:300]
    return (f"{path}: the national platform's reader (UCanAccess 4.0.4 with Jackcess 2.2.0) cannot open this file: "
            f"{reason}. The platform would reject the submission.")


def schema_rows(conn: Any) -> list[list[Any]]:
    cur = conn.cursor()
    try:
        cur.execute(SCHEMA_SQL)
        return [[r[0], r[1], r[2], None if r[3] is None else int(r[3])] for r in cur.fetchall()]
    finally:
        cur.close()


def schema_task(p: dict[str, Any]) -> dict[str, Any]:
    conn = connect(p["path"])
    try:
        return {"rows": schema_rows(conn)}
    finally:
        conn.close()


def column_status(table: IdbTable, expected: dict[tuple[str, str], SchemaRow],
                  actual: dict[tuple[str, str], SchemaRow]) -> dict[str, str]:
    """Each spec column of ``table`` -> "missing" (not in the file), "as_expected" (the expected type and
    size) or "different" (another type or size: read leniently, as the file is rejected for it anyway)."""
    out = {}
    for c in table.columns:
        key = (table.name.upper(), c.name.upper())
        found = actual.get(key)
        want = expected.get(key)
        out[c.name] = ("missing" if found is None
                       else "as_expected" if want is not None and same_type(found, want) else "different")
    return out


# UCanAccess 4.0.4 information_schema DATA_TYPE of a column that holds each value as it was written (Short or
# Long Text), and of Access's Double and Decimal numbers.
_TEXT_TYPE = SPEC_UCANACCESS_TYPE["TEXT"]
_FRACTION_TYPES = {"DOUBLE PRECISION", "NUMERIC"}


def read_as_text(table: IdbTable, actual: dict[tuple[str, str], SchemaRow]) -> set[str]:
    """The spec's date, time and integer items of ``table`` that the file keeps as text, and its integer items
    kept as Double or Decimal numbers. They are read as text (a whole number as its digits), as the platform's
    rules see them, so that a value of the wrong form ("2026-13-45", "25:99", 30.5) is the finding of the item's
    format rule, not a file that cannot be read."""
    out = set()
    for c in table.columns:
        found = actual.get((table.name.upper(), c.name.upper()))
        if found is None or c.data_type == "string":
            continue
        if found.data_type == _TEXT_TYPE or (c.data_type == "integer" and found.data_type in _FRACTION_TYPES):
            out.add(c.name)
    return out


def _arrow_type(logical: str) -> Any:
    import pyarrow as pa

    return {"string": pa.string(), "date": pa.date32(), "time": pa.time64("us"),
            "datetime": pa.timestamp("us"), "integer": pa.int64()}[logical]


_DUCK = {"string": "VARCHAR", "date": "DATE", "time": "TIME", "datetime": "TIMESTAMP", "integer": "BIGINT"}


_INT64 = (-(1 << 63), (1 << 63) - 1)


def _integer(text: str) -> int:
    """An integer as text, within BIGINT's range; a Double or Decimal column gives it with a fraction
    ("30.0"), which must be zero."""
    try:
        value = int(text)
    except ValueError:
        try:
            number = decimal.Decimal(text)
        except decimal.InvalidOperation:
            raise ValueError("not a number") from None
        if not number.is_finite() or number != number.to_integral_value():
            raise ValueError("not a whole number") from None
        value = int(number)
    if not _INT64[0] <= value <= _INT64[1]:
        raise ValueError("out of range")
    return value


# A time of day with a one-digit hour ("9:05", "9:05:30"). The rules read it as Access would store it in a
# Date/Time column (09:05:00); how the platform reads such text in a Short Text column is not known.
_ONE_DIGIT_HOUR = re.compile(r"[0-9]:[0-5][0-9](:[0-5][0-9])?")


def _as_text(logical: str, where: str, lenient: bool = False) -> Any:
    """A value of a column ``read_as_text``: the text as written, or for an integer item a whole number's digits
    ("30" for a Double's "30.0", as ``_integer`` reads it) and any other number as UCanAccess gives it. A time
    with a one-digit hour stops the read, as it did when such a column was read as a time: the rules would
    take it for a valid time, which the platform may not. With ``lenient`` (a column of another type than
    expected, which rejects the file by itself, so nothing in it can pass) it is kept as written."""

    def parse(text: str) -> str:
        if logical == "time" and not lenient and _ONE_DIGIT_HOUR.fullmatch(text):
            raise AccdbError(f"{where}: a value cannot be read as time (not shown: it may be patient data); "
                             "check the column's values in Access")
        if logical != "integer":
            return text
        try:
            return str(_integer(text))
        except ValueError:
            return text

    return parse


def _converter(logical: str, where: str, lenient: bool = False) -> Any:
    """Text from ResultSet.getString (one JNI call per value) -> the Python value of the logical type. With
    ``lenient`` (a column of another type than expected, which rejects the file by itself) a value that
    cannot be read as the type is read as null instead of stopping the load."""

    def parse(text: str) -> Any:
        try:
            if logical == "string":
                return text
            if logical == "integer":
                return _integer(text)
            if logical == "time" and "-" not in text:  # a time kept as text, without Access's 1899-12-30
                return dt.time.fromisoformat(text)
            ts = dt.datetime.fromisoformat(text)
            if logical == "date":
                return ts.date()
            if logical == "time":
                return ts.time()  # Access keeps time-only items on 1899-12-30: the date part is dropped
            return ts
        except ValueError:  # (its text quotes the value, which may be patient data)
            if lenient:
                return None
            raise AccdbError(f"{where}: a value cannot be read as {logical} (not shown: it may be patient "
                             "data); check the column's values in Access") from None

    return parse


def read_table(conn: Any, table: IdbTable, duck: Any, schema: str, status: dict[str, str] | None = None,
               as_text: set[str] | None = None) -> int:
    """SELECT <spec columns> FROM <table> through UCanAccess's JDBC connection, into DuckDB in chunks.
    ``status`` (``column_status``) leaves the file's missing columns null and reads the columns of another
    type leniently; without it every column is read as the spec's. The columns ``as_text``
    (``read_as_text``) are read as text."""
    import pyarrow as pa

    status = status or {c.name: "as_expected" for c in table.columns}
    as_text = as_text or set()
    read_type = {c.name: "string" if c.name in as_text else c.data_type for c in table.columns}
    qt = f'"{schema}"."{table.name}"'
    cols_ddl = ", ".join(f'"{c.name}" {_DUCK[read_type[c.name]]}' for c in table.columns)
    duck.execute(f"CREATE OR REPLACE TABLE {qt} ({cols_ddl})")
    arrow_schema = pa.schema([(c.name, _arrow_type(read_type[c.name])) for c in table.columns])
    present = [c for c in table.columns if status[c.name] != "missing"]
    convert = {c.name: (_as_text if c.name in as_text else _converter)(c.data_type, f"{table.name}.{c.name}",
                                                                      lenient=status[c.name] == "different")
               for c in present}
    positions = range(1, len(present) + 1)
    at = {c.name: i for i, c in enumerate(present)}
    stmt = conn.jconn.createStatement()
    n = 0
    try:
        rs = stmt.executeQuery(f"SELECT {', '.join(c.name for c in present) or 'NULL'} FROM {table.name}")
        get = rs.getString
        while True:
            rows = []
            while len(rows) < FETCH_ROWS and rs.next():
                rows.append([get(i) for i in positions])
            if not rows:
                break
            columns = []
            for c in table.columns:
                if c.name not in at:
                    columns.append(pa.nulls(len(rows), type=_arrow_type(read_type[c.name])))
                    continue
                i, conv = at[c.name], convert[c.name]
                values = [None if r[i] is None else conv(r[i]) for r in rows]
                columns.append(pa.array(values, type=_arrow_type(read_type[c.name])))
            duck.register("__accdb_chunk", pa.Table.from_arrays(columns, schema=arrow_schema))
            duck.execute(f"INSERT INTO {qt} SELECT * FROM __accdb_chunk")
            duck.unregister("__accdb_chunk")
            n += len(rows)
    finally:
        stmt.close()
    return n


def template_task(p: dict[str, Any]) -> list[list[Any]]:
    """The official empty IDB's structure (``p["template"]``), checked as the template of a file's
    structure (reader.template_rows), as lists of information_schema values."""
    from .reader import template_rows

    label = p.get("template_label") or p["template"]
    try:
        conn = connect(p["template"])
    except AccdbError as exc:
        raise AccdbError(f"template {label}: {exc}") from None
    try:
        rows = schema_rows(conn)
    finally:
        conn.close()
    return [list(r) for r in template_rows(label, rows)]


def load_task(p: dict[str, Any]) -> dict[str, Any]:
    """Every spec table the file has, into DuckDB; the file's information_schema rows and the expected
    ones, for the caller to compare. The expected rows (which say how to read each column) are
    ``p["expected"]``, or the template's (``p["template"]``, read first in this JVM: one start for both)."""
    import duckdb

    verbose = bool(p.get("progress", True))
    expected_rows = template_task(p) if p.get("template") else p["expected"]
    conn = connect(p["accdb"])
    try:
        rows = schema_rows(conn)
        actual = {(str(r[0]).upper(), str(r[1]).upper()): SchemaRow(*r) for r in rows}
        expected = {(str(r[0]).upper(), str(r[1]).upper()): SchemaRow(*r) for r in expected_rows}
        duck = duckdb.connect(p["duckdb"])
        try:
            schema = p.get("schema", "main")
            duck.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            counts: dict[str, int] = {}
            tables = {t for t, _ in actual}
            for t in load_tables():
                if t.name.upper() not in tables:
                    continue
                t0 = time.perf_counter()
                counts[t.name] = read_table(conn, t, duck, schema, column_status(t, expected, actual),
                                            read_as_text(t, actual))
                if verbose:
                    print(f"read: {t.name:<34} {counts[t.name]:>10,} rows  {time.perf_counter() - t0:6.1f} s",
                          file=sys.stderr, flush=True)
        finally:
            duck.close()
    finally:
        conn.close()
    return {"counts": counts, "schema": rows, "expected": expected_rows}


# ---- long-lived replica for test suites: one JVM, many queries ---------------------------------------

MARK = "\x1eREPLICA "


def serve() -> None:
    """Answer JSON requests on stdin, one per line, with one JVM for all of them:
    {"path": ..., "sql": ...} -> {"rows": [...], "columns": [...]};
    {"task": "replica_schema" | "replica_load", "payload": {...}} -> {"result": ...};
    failures -> {"error": ..., "table": ..., "column": ...}.
    Replies are lines starting with MARK on stdout (other stdout lines are noise)."""
    import json

    tasks = {"replica_schema": schema_task, "replica_load": load_task}
    conns: dict[str, Any] = {}
    for line in sys.stdin:
        req = json.loads(line)
        reply: dict[str, Any]
        try:
            if "task" in req:
                reply = {"result": tasks[req["task"]](req["payload"])}
            else:
                path = req["path"]
                if path not in conns:
                    conns[path] = connect(path)
                cur = conns[path].cursor()
                try:
                    cur.execute(req["sql"])
                    reply = {"rows": [list(r) for r in cur.fetchall()], "columns": [d[0] for d in cur.description]}
                finally:
                    cur.close()
        except AccdbStructureError as exc:
            reply = {"error": str(exc), "table": exc.table, "column": exc.column}
        except Exception as exc:  # noqa: BLE001 - the message goes back to the caller
            reply = {"error": str(exc)}
        sys.stdout.write(MARK + json.dumps(reply, default=str) + "\n")
        sys.stdout.flush()
    for c in conns.values():
        c.close()
