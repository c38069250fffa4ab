"""A small, synthetic IDB-shaped DuckDB for the .accdb tests: all 21 marts, a few rows each.

Every value is made up. NHS numbers are from the 999 test range with valid modulus-11 check digits.
The data exercises non-ASCII text, text at exactly the column size, dates, 1899-12-30 style
time-only items, date-times, integers at the Long Integer limits, and nulls.
"""

from __future__ import annotations

import atexit
import datetime as dt
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb

from iapt_idb import nhs_number as nhs
from iapt_idb.periods import parse_period
from iapt_idb.provenance import record_complete_build
from iapt_idb.spec import IdbColumn, load_tables

UNICODE_TEXT = "Zoë Ångström €"  # 14 characters
DUCK_TYPES = {"string": "VARCHAR", "date": "DATE", "time": "TIME", "datetime": "TIMESTAMP", "integer": "INTEGER"}


def nhs_number(serial: int) -> str:
    """A valid NHS number in the 999 test range (999 + 6 digits + modulus-11 check digit)."""
    while True:
        body = f"999{serial:06d}"
        check = nhs.check_digit(body)
        if check is not None:
            return body + str(check)
        serial += 1


def value(col: IdbColumn, row: int, period: str) -> Any:
    start, end = parse_period(period)
    n = col.max_length or 10
    if col.table_name == "IDS000Header":
        return {
            "DatSetVer": "2.1", "OrgIDProv": "RXX", "OrgIDSubmit": "RXX", "PrimSystemInUse": UNICODE_TEXT,
            "ReportingPeriodStartDate": start, "ReportingPeriodEndDate": end,
            "DateTimeDatSetCreate": dt.datetime(end.year, end.month, end.day, 23, 59, 59),
        }[col.name]
    if row == 2 and col.order > 1:  # a row of nulls (apart from the key)
        return None
    t = col.data_type
    if t == "string":
        if col.name == "NHSNumber":
            return nhs_number(100 + row * 7)
        if row == 0 and n >= len(UNICODE_TEXT):
            return UNICODE_TEXT
        if row == 1:
            return ("ÅB" * n)[:n]  # exactly the column size, non-ASCII
        return f"{row}{col.order}"[:n]
    if t == "date":
        return dt.date(1961, 2, 28) if col.name == "PersonBirthDate" else start + dt.timedelta(days=row * 9)
    if t == "time":
        return [dt.time(7, 26, 15), dt.time(23, 59, 59), None, dt.time(0, 0, 0)][row % 4]
    if t == "datetime":
        return dt.datetime(end.year, end.month, end.day, 23, 59, 59) - dt.timedelta(hours=row)
    if t == "integer":
        return [2147483647, -2147483648, None, 45][row % 4]
    raise AssertionError(t)


def expected_rows(period: str = "2026-10", rows: int = 4) -> dict[str, list[tuple]]:
    """{table: rows as tuples in IDB column order}: exactly what make_target_db stores."""
    out = {}
    for t in load_tables():
        k = 1 if t.name == "IDS000Header" else rows
        out[t.name] = [tuple(value(c, r, period) for c in t.columns) for r in range(k)]
    return out


def make_target_db(path: Path, period: str = "2026-10", rows: int = 4, skip: tuple[str, ...] = ()) -> Path:
    """Write the 21 marts (as main.<IDB table name>) into a new DuckDB file at ``path``."""
    data = expected_rows(period, rows)
    con = duckdb.connect(str(path))
    try:
        for t in load_tables():
            if t.name in skip:
                continue
            ddl = ", ".join(f'"{c.name}" {DUCK_TYPES[c.data_type]}' for c in t.columns)
            con.execute(f'CREATE TABLE main."{t.name}" ({ddl})')
            marks = ", ".join("?" for _ in t.columns)
            con.executemany(f'INSERT INTO main."{t.name}" VALUES ({marks})', [list(r) for r in data[t.name]])
    finally:
        con.close()
    record_complete_build(path, period)  # hand-made marts, stamped as one complete build of the period
    return path


# ---- shared, built once per test session (module-level caches: every test module sees the same) ----

PERIOD = "2026-10"


@lru_cache(maxsize=None)
def workdir() -> Path:
    d = Path(tempfile.mkdtemp(prefix="iapt-idb-accdb-tests-"))
    atexit.register(shutil.rmtree, d, True)
    return d


def fresh_dir(name: str) -> Path:
    d = workdir() / name
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    return d


@lru_cache(maxsize=None)
def base_db() -> Path:
    return make_target_db(workdir() / "marts.duckdb", PERIOD)


def variant_db(name: str, *statements: str) -> Path:
    """A copy of the base marts with SQL statements applied (to build a faulty input)."""
    path = workdir() / f"{name}.duckdb"
    shutil.copyfile(base_db(), path)
    con = duckdb.connect(str(path))
    try:
        for s in statements:
            con.execute(s)
    finally:
        con.close()
    return path


@lru_cache(maxsize=None)
def exported() -> tuple[Path, dict]:
    """The base marts exported without a template: (file, manifest)."""
    from iapt_idb.accdb.writer import export_idb

    out = fresh_dir("spec_export") / f"IAPT_IDB_{PERIOD}.accdb"
    return out, export_idb(base_db(), out, PERIOD, progress=False)


@lru_cache(maxsize=None)
def replica():
    """One national-reader replica JVM for the whole test session."""
    from iapt_idb.accdb.replica_session import ReplicaSession

    session = ReplicaSession()
    session.activate()  # load_accdb_to_duckdb and inspect_structure use it too
    atexit.register(session.close)
    return session


def create_accdb(path: Path, structure: list, file_format: str = "V2010", rows: dict | None = None) -> Path:
    """Create an .accdb with the given PhysTable structure (and rows) through the writer's Jackcess."""
    from iapt_idb.accdb.child import run_child

    run_child("create", {"path": str(path), "structure": [t.to_json() for t in structure],
                         "file_format": file_format, "rows": rows or {}})
    return path


def replica_value(logical: str, v: Any) -> Any:
    """A source value as the replica (UCanAccess via JayDeBeApi) returns it."""
    if v is None:
        return None
    if logical == "date":
        return f"{v.isoformat()} 00:00:00"
    if logical == "time":
        return f"1899-12-30 {v.isoformat()}"
    if logical == "datetime":
        return v.isoformat(sep=" ")
    return v


def mdb_value(logical: str, v: Any) -> str:
    """A source value as `mdb-export -T '%Y-%m-%d %H:%M:%S'` prints it (CSV field, unquoted)."""
    if v is None:
        return ""
    return str(replica_value(logical, v))
