"""Load an IDB to validate into a schema of a scratch DuckDB: a CSV directory or an .accdb.

The platform rejects a file whose tables or columns do not match the specification (IDSREJ001,
file reject). So a missing table or column is NOT an unusable input here: it is reported as an IDSREJ001
failure naming the file and column (the verdict is "file rejected", exit 1), and an empty table/null
column stands in for it so that every other rule still runs. Unreadable input (no such path, not a
directory or .accdb, a CSV that cannot be parsed) raises ``UserError`` (exit 2).
"""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ..errors import UserError
from .tables import table_meta

INPUT_SCHEMA = "tos_input"


@dataclass(frozen=True)
class StructureProblem:
    table: str
    column: str
    message: str


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _create_table(con: duckdb.DuckDBPyConnection, schema: str, table: str, select_sql: str | None) -> None:
    cols = next(m for m in table_meta() if m.name == table).columns
    if select_sql is None:
        col_defs = ", ".join(f"{_q(c)} varchar" for c in cols)
        con.execute(f"create or replace table {_q(schema)}.{_q(table)} ({col_defs})")
    else:
        con.execute(f"create or replace table {_q(schema)}.{_q(table)} as {select_sql}")


def _csv_header(path: Path) -> list[str]:
    """The header row of an IDB CSV file ([] for an empty file); unreadable -> UserError (exit 2)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            header = next(csv.reader(fh, strict=True), [])
    except (UnicodeDecodeError, csv.Error) as exc:
        raise UserError(f"{path}: cannot be read as a UTF-8 CSV file ({exc})") from None
    if len(set(header)) != len(header):
        raise UserError(f"{path}: the header names a column twice")
    return header


def load_csv_dir(directory: Path, db_path: Path, schema: str = INPUT_SCHEMA) -> list[StructureProblem]:
    """One ``<IDB table name>.csv`` per table, header = IDB column names, all values text, empty = null."""
    if not directory.is_dir():
        raise UserError(f"{directory}: not a directory of IDB CSV files")
    problems: list[StructureProblem] = []
    con = duckdb.connect(str(db_path))
    try:
        con.execute(f"create schema if not exists {_q(schema)}")
        for m in table_meta():
            path = directory / f"{m.name}.csv"
            if not path.exists():
                problems.append(StructureProblem(m.name, "", f"{path.name}: file missing (table {m.name})"))
                _create_table(con, schema, m.name, None)
                continue
            present = _csv_header(path)
            cols = ", ".join("'" + c.replace("'", "''") + "': 'VARCHAR'" for c in present)
            # No sniffing: the IDB CSV form is fixed (comma, double quotes, header row, all text).
            src = (f"read_csv('{str(path).replace(chr(39), chr(39) * 2)}', header = true, auto_detect = false, "
                   f"delim = ',', quote = '\"', escape = '\"', strict_mode = true, columns = {{{cols}}})")
            for c in m.columns:
                if c not in present:
                    problems.append(StructureProblem(m.name, c, f"{path.name}: column {c} missing"))
            for c in present:
                if c not in m.columns:
                    problems.append(StructureProblem(m.name, c, f"{path.name}: column {c} is not an IDB column"))
            if not present:
                _create_table(con, schema, m.name, None)
                continue
            select = ", ".join(
                (_q(c) if c in present else f"cast(null as varchar) as {_q(c)}") for c in m.columns
            )
            try:
                _create_table(con, schema, m.name, f"select {select} from {src}")
            except duckdb.Error as exc:
                raise UserError(f"{path}: cannot be read as CSV ({exc})") from None
    finally:
        con.close()
    return problems


def load_accdb(accdb: Path, db_path: Path, schema: str = INPUT_SCHEMA) -> list[StructureProblem]:
    """An IDB .accdb, read with the project's reader; a structure error becomes an IDSREJ001 problem."""
    if not accdb.is_file():
        raise UserError(f"{accdb}: no such .accdb file")
    from ..accdb.errors import AccdbStructureError
    from ..accdb.reader import load_accdb_to_duckdb

    problems: list[StructureProblem] = []
    try:
        load_accdb_to_duckdb(accdb, db_path, schema=schema, progress=False)
    except AccdbStructureError as exc:  # the platform's IDSREJ001: reported, not a usage error
        problems.append(StructureProblem(exc.table, exc.column or "", f"{accdb.name}: {exc}"))
    con = duckdb.connect(str(db_path))
    try:
        con.execute(f"create schema if not exists {_q(schema)}")
        existing = {
            r[0]: None
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = ?", [schema]
            ).fetchall()
        }
        for m in table_meta():
            if m.name not in existing:
                if not any(p.table == m.name for p in problems):
                    problems.append(StructureProblem(m.name, "", f"{accdb.name}: table {m.name} missing"))
                _create_table(con, schema, m.name, None)
                continue
            cols = [
                r[0]
                for r in con.execute(
                    "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
                    [schema, m.name],
                ).fetchall()
            ]
            for c in m.columns:
                if c not in cols:
                    problems.append(StructureProblem(m.name, c, f"{accdb.name}: {m.name}.{c} missing"))
                    con.execute(f"alter table {_q(schema)}.{_q(m.name)} add column {_q(c)} varchar")
    finally:
        con.close()
    for p in problems:
        print(f"structure: {p.message}", file=sys.stderr)
    return problems
