"""Load an IDB to validate into a schema of a scratch DuckDB: a CSV directory or an .accdb.

The platform rejects a file whose tables or columns do not match the specification (IDSREJ001,
file reject). So a missing table or column is NOT an unusable input here: it is reported as an IDSREJ001
failure naming the file and column (the verdict is "file rejected", exit 1), and an empty table/null
column stands in for it so that every other rule still runs. An .accdb is also rejected for an extra table
or column, or a column of another type or text size (the platform hashes its whole structure).
Unreadable input (no such path, not a directory or .accdb, a CSV that cannot be parsed) raises
``UserError`` (exit 2).
"""

from __future__ import annotations

import csv
import io
import re
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import duckdb

from ..errors import UserError
from .seed_loading import _lit
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


# The header line is read with this bound: an IDB header is ~1 KB; a file whose first line is longer is not
# an IDB CSV file (and a device such as /dev/zero would otherwise be read forever).
MAX_HEADER_BYTES = 64 * 1024
# Longest physical line read back when describing a parse error (the line itself is never shown).
_MAX_ERROR_LINE_BYTES = 4 * 1024 * 1024
_COLUMN_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
_DUCKDB_LINE = re.compile(r"CSV Error on Line: (\d+)")
_DUCKDB_COUNT = re.compile(r"Expected Number of Columns: (\d+) Found: (\d+)")
NO_IDB_TABLES_HINT = "is this the right folder, and are the files comma-separated?"


def _regular_file(path: Path) -> bool:
    """True for a regular file (or a link to one); False when nothing is there; UserError for anything else
    (a folder, a device such as /dev/zero, a pipe), which is never read."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise UserError(f"{path}: cannot be read ({exc.strerror}); check the file's permissions") from None
    if not stat.S_ISREG(mode):
        raise UserError(f"{path}: not a regular file (a folder, device or pipe); each IDB table must be a "
                        "<table>.csv file")
    return True


def _csv_header(path: Path) -> list[str]:
    """The header row of an IDB CSV file ([] for an empty file), read with a bound; unreadable -> UserError
    (exit 2). The message never quotes the file's content."""
    try:
        with path.open("rb") as fh:
            raw = fh.readline(MAX_HEADER_BYTES + 1)
    except OSError as exc:
        raise UserError(f"{path}: cannot be read ({exc.strerror}); check the file's permissions") from None
    if len(raw) > MAX_HEADER_BYTES:
        raise UserError(f"{path}: the header line is longer than {MAX_HEADER_BYTES // 1024} KB; an IDB CSV "
                        "file starts with one line of column names")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UserError(f"{path}, line 1 (header): not UTF-8 text; save the file as UTF-8 CSV") from None
    try:
        header = next(csv.reader(io.StringIO(text, newline=""), strict=True), [])
    except csv.Error:
        raise UserError(f"{path}, line 1 (header): cannot be read as CSV (check its quotes); an IDB CSV file "
                        "starts with one line of column names") from None
    if len(set(header)) != len(header):
        raise UserError(f"{path}: the header names a column twice")
    return header


def shown_column(name: str, position: int) -> str:
    """A header name as it may appear in a message: itself when it looks like a column name, else its
    position (a file without a header has data in its first line: never quoted)."""
    if _COLUMN_NAME.fullmatch(name) and any(ch.islower() for ch in name):
        return name
    return f"#{position + 1} of the header"


def _physical_line(path: Path, number: int) -> str | None:
    """Line ``number`` (1-based) of the file, decoded leniently; None when it cannot be found cheaply."""
    try:
        with path.open("rb") as fh:
            for i, raw in enumerate(iter(lambda: fh.readline(_MAX_ERROR_LINE_BYTES), b""), start=1):
                if i == number:
                    return raw.decode("utf-8", "replace")
    except OSError:
        return None
    return None


def _open_quote_field(line: str) -> int | None:
    """The index of the field whose opening quote is not closed on this line, if any."""
    field, quoted_from, in_quote, i = 0, None, False, 0
    while i < len(line):
        ch = line[i]
        if in_quote:
            if ch == '"':
                if line[i + 1:i + 2] == '"':
                    i += 1
                else:
                    in_quote = False
        elif ch == '"':
            in_quote, quoted_from = True, field
        elif ch == ",":
            field += 1
        i += 1
    return quoted_from if in_quote else None


def csv_error_message(path: Path, header: list[str], error: str) -> str:
    """What a CSV parse error means, naming the file, the line and the column: never the row or a value
    (DuckDB's own message quotes the whole line, patient identifiers included)."""
    m = _DUCKDB_LINE.search(error)
    line_no = int(m.group(1)) if m else None
    where = f"{path}, line {line_no}" if line_no else f"{path}"
    low = error.lower()
    count = _DUCKDB_COUNT.search(error)
    if "unterminated quote" in low:
        line = _physical_line(path, line_no) if line_no else None
        field = _open_quote_field(line) if line is not None else None
        col = f", column {shown_column(header[field], field)}" if field is not None and field < len(header) else ""
        what = f"{where}{col}: a quoted value is not closed (unterminated quote)"
    elif count:
        expected, found = int(count.group(1)), int(count.group(2))
        if found > expected:
            what = (f"{where}: {found} values where the header has {expected} columns (after the last column, "
                    f"{shown_column(header[-1], len(header) - 1)})" if header else f"{where}: too many values")
        else:
            col = shown_column(header[found], found) if found < len(header) else "?"
            what = f"{where}, column {col}: {found} values where the header has {expected} columns"
    elif "maximum line size" in low:
        what = f"{where}: the line is longer than the CSV reader's limit (about 2 MB); is a quote missing?"
    elif "unicode" in low or "utf-8" in low or "utf8" in low:
        what = f"{where}: not UTF-8 text; save the file as UTF-8 CSV"
    else:
        what = f"{where}: cannot be read as CSV"
    return f"{what}. The line is not shown (it may hold patient data); fix the file and run again"


def _any_idb_column(directory: Path) -> bool:
    """Whether any <IDB table>.csv in the folder has at least one IDB column in its header."""
    for m in table_meta():
        path = directory / f"{m.name}.csv"
        if _regular_file(path) and set(_csv_header(path)) & set(m.columns):
            return True
    return False


def load_csv_dir(directory: Path, db_path: Path, schema: str = INPUT_SCHEMA) -> list[StructureProblem]:
    """One ``<IDB table name>.csv`` per table, header = IDB column names, all values text, empty = null.

    A folder in which no file is an IDB table with at least one IDB column (an empty or wrong folder,
    tab-separated files) is unusable input (UserError), not a file rejection."""
    if not directory.is_dir():
        raise UserError(f"{directory}: not a directory of IDB CSV files")
    if not _any_idb_column(directory):
        raise UserError(f"{directory}: no IDB tables found (<table>.csv with IDB column names, e.g. "
                        f"IDS001MPI.csv); {NO_IDB_TABLES_HINT}")
    problems: list[StructureProblem] = []
    con = duckdb.connect(str(db_path))
    try:
        con.execute(f"create schema if not exists {_q(schema)}")
        for m in table_meta():
            path = directory / f"{m.name}.csv"
            if not _regular_file(path):
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
            for i, c in enumerate(present):
                if c not in m.columns:
                    shown = shown_column(c, i)
                    problems.append(StructureProblem(m.name, shown, f"{path.name}: column {shown} is not an IDB column"))
            if not present:
                _create_table(con, schema, m.name, None)
                continue
            select = ", ".join(
                (_q(c) if c in present else f"cast(null as varchar) as {_q(c)}") for c in m.columns
            )
            try:
                _create_table(con, schema, m.name, f"select {select} from {src}")
            except duckdb.Error as exc:
                raise UserError(csv_error_message(path, present, str(exc))) from None
    finally:
        con.close()
    return problems


# The alias the built marts are attached under (READ_ONLY) wherever the scratch DB's linked views are read.
MARTS_CATALOG = "iapt_marts"


def attach_linked(con: duckdb.DuckDBPyConnection, linked: Mapping[str, Path] | None) -> None:
    """Attach, READ_ONLY, the databases whose tables the scratch DB's views read (``link_marts_on``): alias -> file."""
    for alias, path in sorted((linked or {}).items()):
        con.execute(f"attach {_lit(str(Path(path).resolve()))} as {_q(alias)} (read_only)")


def _attach_marts(con: duckdb.DuckDBPyConnection, target_db: Path, attach: bool = True) -> set[str]:
    """The target DB attached READ_ONLY as MARTS_CATALOG (unless ``attach`` is False: it already is), with every
    IDB mart present (else a UserError). -> the marts that are tables (the others are views)."""
    from ..provenance import unreadable_target
    from ..spec import table_names
    from .engine import missing_marts_error

    try:
        if attach:
            attach_linked(con, {MARTS_CATALOG: target_db})
    except duckdb.Error as exc:
        raise unreadable_target(target_db, exc) from None
    kinds = dict(con.execute(
        f"select table_name, 'table' from duckdb_tables() where database_name = {_lit(MARTS_CATALOG)} "
        f"and schema_name = 'main' union all select view_name, 'view' from duckdb_views() "
        f"where database_name = {_lit(MARTS_CATALOG)} and schema_name = 'main'").fetchall())
    missing = [t for t in table_names() if t not in kinds]
    if missing:
        raise missing_marts_error(target_db, missing)
    return {name for name, kind in kinds.items() if kind == "table"}


def link_marts_on(con: duckdb.DuckDBPyConnection, target_db: Path, schema: str = INPUT_SCHEMA) -> None:
    """The built IDB marts of target_db (schema main) as views in ``schema`` of the connection's default
    catalog (the scratch DB, or the validation engine's database in memory), read in place: no copy of the
    patient data is written (the copy cost ~1.6 s at benchmark scale, most of the TOS rules' time outside the
    checks). target_db is attached READ_ONLY as MARTS_CATALOG unless it already is; every other connection
    that reads the views attaches it first (``attach_linked`` with {MARTS_CATALOG: target_db}). Each view
    carries the mart's own ``rowid`` as a column of that name, which the validation's row id (``tos_row_id``:
    DuckDB's rowid) then reads, so the row ids and the order they give are the mart's, as a copy's were. A
    mart that is a view has no rowid: it is copied, as ``load_marts`` does."""
    attached = con.execute(f"select 1 from duckdb_databases() where database_name = {_lit(MARTS_CATALOG)}").fetchall()
    tables = _attach_marts(con, target_db, attach=not attached)
    con.execute(f"create schema if not exists {_q(schema)}")
    for m in table_meta():
        mart = f"{_q(MARTS_CATALOG)}.main.{_q(m.name)}"
        if m.name in tables:
            con.execute(f"create or replace view {_q(schema)}.{_q(m.name)} as select rowid as rowid, * from {mart}")
        else:
            con.execute(f"create or replace table {_q(schema)}.{_q(m.name)} as select * from {mart}")


def copy_linked_marts(db_path: Path, linked: Mapping[str, Path], schema: str = INPUT_SCHEMA) -> None:
    """Replace the views ``link_marts_on`` made in ``schema`` of the scratch DB by copies of the marts, for a
    reader that opens the scratch DB alone (dbt)."""
    con = duckdb.connect(str(db_path))
    try:
        for (name,) in con.execute("select view_name from duckdb_views() where schema_name = ? and not internal",
                                   [schema]).fetchall():
            con.execute(f"drop view {_q(schema)}.{_q(name)}")
    finally:
        con.close()
    load_marts(Path(linked[MARTS_CATALOG]), db_path, schema)


def load_marts(target_db: Path, db_path: Path, schema: str = INPUT_SCHEMA) -> None:
    """The built IDB marts of target_db (schema main), copied into ``schema`` of the scratch DB: the target
    DB is attached READ_ONLY for the copy, so validating needs no write lock on it. Row order and column
    types are kept (the validation reads them as the marts themselves). (``link_marts_on`` reads the marts in
    place instead; dbt, which cannot attach them, needs this copy.)"""
    con = duckdb.connect(str(db_path))
    try:
        _attach_marts(con, target_db)
        con.execute(f"create schema if not exists {_q(schema)}")
        for m in table_meta():
            con.execute(f"create or replace table {_q(schema)}.{_q(m.name)} as "
                        f"select * from {MARTS_CATALOG}.main.{_q(m.name)}")
        con.execute(f"detach {MARTS_CATALOG}")
    finally:
        con.close()


def load_accdb(accdb: Path, db_path: Path, schema: str = INPUT_SCHEMA,
               template: Path | None = None) -> list[StructureProblem]:
    """An IDB .accdb, read with the project's reader (what the file has of each spec table); each way its
    structure differs from the expected one (``template``'s, the official empty IDB, or else the spec
    structure the export writes) is an IDSREJ001 problem."""
    if not accdb.is_file():
        raise UserError(f"{accdb}: no such .accdb file")
    from ..accdb.reader import read_accdb

    read = read_accdb(accdb, db_path, schema=schema, progress=False, template=template)
    problems = [StructureProblem(d.table, d.column, f"{accdb.name}: {d.message}") for d in read.differences]
    con = duckdb.connect(str(db_path))
    try:
        con.execute(f"create schema if not exists {_q(schema)}")
        for m in table_meta():  # a table the file lacks (a problem above) is validated as empty
            if m.name not in read.counts:
                _create_table(con, schema, m.name, None)
    finally:
        con.close()
    for p in problems:
        print(f"structure: {p.message}", file=sys.stderr)
    return problems
