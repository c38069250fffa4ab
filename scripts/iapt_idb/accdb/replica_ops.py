"""The national platform's reader, replicated: UCanAccess 4.0.4 (HSQLDB 2.4.1, Jackcess 2.2.0) through
JayDeBeApi and JPype, URL ``jdbc:ucanaccess://<file>;memory=true``, then ``SELECT <spec columns> FROM
<table>`` per table. Runs ONLY inside a child process (see child.py), which owns the JVM."""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path
from typing import Any

from ..spec import IdbTable, load_tables
from . import jvm
from .errors import AccdbError, AccdbStructureError

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
        raise AccdbError(
            f"{path}: the national platform's reader (UCanAccess 4.0.4 with Jackcess 2.2.0) cannot open this file: "
            f"{exc}. The platform would reject the submission."
        ) from None


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


def check_structure(rows: list[list[Any]]) -> None:
    """Raise AccdbStructureError (IDSREJ001) for the first spec table or column the file lacks."""
    have: dict[str, set[str]] = {}
    for t, c, *_ in rows:
        have.setdefault(str(t).upper(), set()).add(str(c).upper())
    for t in load_tables():
        cols = have.get(t.name.upper())
        if cols is None:
            raise AccdbStructureError(
                f"the file has no table {t.name} (IDSREJ001: the platform rejects a file whose IDB structure "
                "differs). Export from the official IAPT v2.1 IDB template.", t.name)
        for c in t.columns:
            if c.name.upper() not in cols:
                raise AccdbStructureError(
                    f"table {t.name} in the file has no column {c.name} (IDSREJ001: the platform rejects a file "
                    "whose IDB structure differs). Export from the official IAPT v2.1 IDB template.", t.name, c.name)


def _arrow_type(logical: str) -> Any:
    import pyarrow as pa

    return {"string": pa.string(), "date": pa.date32(), "time": pa.time64("us"),
            "datetime": pa.timestamp("us"), "integer": pa.int64()}[logical]


_DUCK = {"string": "VARCHAR", "date": "DATE", "time": "TIME", "datetime": "TIMESTAMP", "integer": "BIGINT"}


def _converter(logical: str, where: str) -> Any:
    """Text from ResultSet.getString (one JNI call per value) -> the Python value of the logical type."""

    def parse(text: str) -> Any:
        try:
            if logical == "string":
                return text
            if logical == "integer":
                return int(text)
            ts = dt.datetime.fromisoformat(text)
            if logical == "date":
                return ts.date()
            if logical == "time":
                return ts.time()  # Access keeps time-only items on 1899-12-30: the date part is dropped
            return ts
        except ValueError:  # (its text quotes the value, which may be patient data)
            raise AccdbError(f"{where}: a value cannot be read as {logical} (not shown: it may be patient "
                             "data); check the column's values in Access") from None

    return parse


def read_table(conn: Any, table: IdbTable, duck: Any, schema: str) -> int:
    """SELECT <spec columns> FROM <table> through UCanAccess's JDBC connection, into DuckDB in chunks."""
    import pyarrow as pa

    qt = f'"{schema}"."{table.name}"'
    cols_ddl = ", ".join(f'"{c.name}" {_DUCK[c.data_type]}' for c in table.columns)
    duck.execute(f"CREATE OR REPLACE TABLE {qt} ({cols_ddl})")
    arrow_schema = pa.schema([(c.name, _arrow_type(c.data_type)) for c in table.columns])
    convert = [_converter(c.data_type, f"{table.name}.{c.name}") for c in table.columns]
    positions = range(1, len(table.columns) + 1)
    stmt = conn.jconn.createStatement()
    n = 0
    try:
        rs = stmt.executeQuery(f"SELECT {', '.join(table.column_names)} FROM {table.name}")
        get = rs.getString
        while True:
            rows = []
            while len(rows) < FETCH_ROWS and rs.next():
                rows.append([get(i) for i in positions])
            if not rows:
                break
            columns = []
            for i, (c, conv) in enumerate(zip(table.columns, convert)):
                values = [None if r[i] is None else conv(r[i]) for r in rows]
                columns.append(pa.array(values, type=_arrow_type(c.data_type)))
            duck.register("__accdb_chunk", pa.Table.from_arrays(columns, schema=arrow_schema))
            duck.execute(f"INSERT INTO {qt} SELECT * FROM __accdb_chunk")
            duck.unregister("__accdb_chunk")
            n += len(rows)
    finally:
        stmt.close()
    return n


def load_task(p: dict[str, Any]) -> dict[str, int]:
    import duckdb

    verbose = bool(p.get("progress", True))
    conn = connect(p["accdb"])
    try:
        check_structure(schema_rows(conn))
        duck = duckdb.connect(p["duckdb"])
        try:
            schema = p.get("schema", "main")
            duck.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            counts: dict[str, int] = {}
            for t in load_tables():
                t0 = time.perf_counter()
                counts[t.name] = read_table(conn, t, duck, schema)
                if verbose:
                    print(f"read: {t.name:<34} {counts[t.name]:>10,} rows  {time.perf_counter() - t0:6.1f} s",
                          file=sys.stderr, flush=True)
        finally:
            duck.close()
    finally:
        conn.close()
    return counts


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
