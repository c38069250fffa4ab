"""Reading the marts out of DuckDB for the writer: column matching, conversion SQL and pre-flight checks.

Conversion is driven by each column's type in the target file (the spec's structure, or the
official template's), never by the value. Every value that cannot be stored exactly (text longer
than the column, an integer outside the Access Number sub-type, a date Access cannot hold, a date
item carrying a time of day) is found here, on ALL rows, before the output file is kept.
Rows stream as Arrow record batches, so memory stays bounded however large the marts are.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from ..spec import IdbTable
from .errors import AccdbError
from .physical import INT_RANGE, PhysColumn, PhysTable

BATCH_ROWS = 10_000
MAX_REPORTED = 5  # offending rows listed per table and column; the rest are counted
UNSTORABLE_FLAG = "__unstorable"  # checked_write_sql's last column (no IDB column starts with "__")

_INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                  "UINTEGER", "UBIGINT", "UHUGEINT"}
_TIMESTAMP_TYPES = {"TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS"}
_ACCEPTED = {
    "string": "VARCHAR",
    "integer": "an integer type (INTEGER, BIGINT ...)",
    "date": "DATE (or TIMESTAMP at midnight)",
    "time": "TIME",
    "datetime": "TIMESTAMP (without time zone) or DATE",
}
_KEY_PREFERENCE = ("CareContactId", "CareActId", "PauseID", "CarePersLocalId", "ServiceRequestId", "LocalPatientId")


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def default_rows_sql(table: str) -> str:
    """All rows of the mart main.<table>, in the order they are stored."""
    return f"SELECT * FROM main.{q(table)}"


def local_key(table: IdbTable) -> str | None:
    """The column that identifies a record to the provider, quoted in error messages."""
    for c in table.columns:
        if c.parent_key.startswith("PK"):
            return c.name
    names = table.column_names
    for k in _KEY_PREFERENCE:
        if k in names:
            return k
    return None


def connect(target_db: Path) -> duckdb.DuckDBPyConnection:
    if not Path(target_db).is_file():
        raise AccdbError(
            f"the target DB {target_db} does not exist. Build the marts first: iapt-idb build --period YYYY-MM "
            "(or pass --target-db)."
        )
    try:
        return duckdb.connect(str(target_db), read_only=True)
    except duckdb.Error as exc:
        from ..provenance import unreadable_target

        raise AccdbError(str(unreadable_target(target_db, exc))) from None


_MS_PER_DAY = 86_400_000
_EPOCH = date(1970, 1, 1)


def _epoch_ms(day: date) -> int:
    return (day - _EPOCH).days * _MS_PER_DAY


@dataclass(frozen=True)
class Limit:
    """A check stated on the written value, so the writer applies it to each batch it reads (``unstorable_in``)
    rather than in the scan's SQL: the value is a text of at most ``hi`` UTF-16 units (``kind`` "units"), or a
    number from ``lo`` to ``hi`` (``kind`` "range": an integer, or a date-time in epoch milliseconds). It
    means exactly what its check's SQL condition means."""
    kind: str
    lo: int
    hi: int


@dataclass(frozen=True)
class Check:
    """Why a value cannot be stored. ``cond`` and ``why`` are DuckDB expressions: the condition is true when
    the value cannot be stored (null counts as fine), the reason says why in words. ``limit``, when given,
    is the same check on the written value."""
    cond: str
    why: str
    limit: Limit | None = None


@dataclass(frozen=True)
class ColumnPlan:
    column: PhysColumn  # the file's column (name, Access type, size)
    logical: str  # the spec's logical type
    value_sql: str  # DuckDB expression giving the value to write
    checks: tuple[Check, ...] = ()

    @property
    def check_sql(self) -> str | None:
        """NULL when the value fits, else why not (the first reason); None: nothing to check."""
        if not self.checks:
            return None
        return "CASE " + " ".join(f"WHEN {c.cond} THEN {c.why}" for c in self.checks) + " END"

    @property
    def problem_sql(self) -> str | None:
        """True when the value cannot be stored, else false (never null); None: nothing to check."""
        return _any_true(self.checks)

    @property
    def scan_problem_sql(self) -> str | None:
        """problem_sql of the checks that have no ``limit`` (the writer's scan computes only these)."""
        return _any_true(tuple(c for c in self.checks if c.limit is None))


def _any_true(checks: tuple[Check, ...]) -> str | None:
    return " OR ".join(f"({c.cond}) IS TRUE" for c in checks) if checks else None


@dataclass(frozen=True)
class TablePlan:
    table: str  # IDB table name (spec spelling)
    file_table: str  # the table's name in the file
    source_sql: str
    key: str | None
    columns: tuple[ColumnPlan, ...]

    def write_sql(self, *extra: str) -> str:
        """The values to write, in the file's column order (then any ``extra`` select items)."""
        cols = ", ".join([f"{c.value_sql} AS {q(c.column.name)}" for c in self.columns] + list(extra))
        return f"SELECT {cols} FROM ({self.source_sql}) AS src"

    def checked_write_sql(self) -> tuple[str, bool]:
        """write_sql with, when a check of the plan has no ``limit``, one more column last: true where the row
        holds a value such a check refuses. -> (sql, whether that column is there). The writer reads the rows
        and that verdict in one scan, applies the checks with a limit to each batch (``unstorable_in``), and
        stops at the first row either finds (``preflight`` then names them all)."""
        conds = [c.scan_problem_sql for c in self.columns if c.scan_problem_sql]
        if not conds:
            return self.write_sql(), False
        return self.write_sql(f"{' OR '.join(conds)} AS {q(UNSTORABLE_FLAG)}"), True

    def unstorable_in(self, batch: pa.RecordBatch) -> bool:
        """True when a row of ``batch`` (read with write_sql, columns in the plan's order) holds a value that
        a check with a ``limit`` refuses."""
        return any(_beyond(batch.column(i), c.limit) for i, col in enumerate(self.columns)
                   for c in col.checks if c.limit is not None)

    def check_sql(self) -> str:
        key = f"CAST({q(self.key)} AS VARCHAR)" if self.key else "NULL"
        checks = [f"{c.check_sql} AS {q('chk_' + c.column.name)}" for c in self.columns if c.check_sql]
        return f"SELECT {', '.join([key + ' AS __key'] + checks)} FROM ({self.source_sql}) AS src"

    def problem_sql(self) -> str | None:
        """True when a value of the row cannot be stored in the file, else false; None: nothing to check."""
        conds = [c.problem_sql for c in self.columns if c.problem_sql]
        return " OR ".join(conds) if conds else None

    def storable_only(self) -> "TablePlan":
        """The same plan reading only the rows whose every value fits the file's columns. Its columns carry
        no checks: the filter has applied them all (the pre-flight would only count zero problems again)."""
        cond = self.problem_sql()
        if cond is None:
            return self
        sql = f"SELECT * FROM ({self.source_sql}) AS src WHERE NOT ({cond})"
        return TablePlan(self.table, self.file_table, sql, self.key,
                         tuple(replace(c, checks=()) for c in self.columns))

    def unstorable_sql(self) -> str | None:
        """One row per value that cannot be stored: 0-based row, local key, column, reason."""
        if self.problem_sql() is None:
            return None
        key = f"CAST({q(self.key)} AS VARCHAR)" if self.key else "NULL"
        numbered = f"SELECT row_number() OVER () - 1 AS __row, * FROM ({self.source_sql}) AS src"
        parts = [
            f"SELECT __row, {key} AS __key, '{c.column.name}' AS __column, {c.check_sql} AS __reason "
            f"FROM numbered AS src WHERE {c.check_sql} IS NOT NULL"
            for c in self.columns if c.check_sql
        ]
        return f"WITH numbered AS ({numbered}) " + " UNION ALL ".join(parts) + " ORDER BY __row, __column"


def _beyond(col: pa.Array, limit: Limit) -> bool:
    """True when a value of ``col`` is outside ``limit`` (nulls never are)."""
    if col.null_count == len(col):
        return False
    if limit.kind == "range":
        bounds = pc.min_max(col)
        return bounds["min"].as_py() < limit.lo or bounds["max"].as_py() > limit.hi
    if pa.types.is_string_view(col.type):  # (Arrow measures only the other string layouts)
        col = col.cast(pa.string())
    # UTF-8 bytes >= UTF-16 units, so only values of more than hi bytes are counted exactly (rare).
    nbytes = pc.binary_length(col)
    if pc.max(nbytes).as_py() <= limit.hi:
        return False
    long_values = col.filter(pc.greater(nbytes, limit.hi)).to_pylist()
    return any(len(v.encode("utf-16-le")) // 2 > limit.hi for v in long_values)


def _text_check(expr: str, n: int, source: str | None = None) -> Check:
    # Access counts UTF-16 units: characters outside the Basic Multilingual Plane take two.
    # strlen (UTF-8 bytes) >= UTF-16 units, so the exact count is only computed for long values; and the
    # written value (expr) is never longer than its source text, so only long sources are converted again.
    units = f"(length({expr}) + length(regexp_replace({expr}, '[^\\x{{10000}}-\\x{{10FFFF}}]', '', 'g')))"
    first = f"strlen({source}) > {n} AND " if source else ""
    return Check(f"CASE WHEN {first}strlen({expr}) > {n} THEN {units} > {n} ELSE false END",
                 f"'text is ' || {units} || ' characters long; the column holds at most {n}'", Limit("units", 0, n))


def _cleansed(expr: str) -> str:
    # Outer spaces trimmed, an emptied value null. Trimmed only when it starts or ends with a space: the
    # same value, and most values are never copied (a prefix or suffix test costs a tenth of a trim).
    return f"NULLIF(CASE WHEN {expr} LIKE ' %' OR {expr} LIKE '% ' THEN trim({expr}, ' ') ELSE {expr} END, '')"


# Years 100 to 9999 as the epoch milliseconds the writer hands over (proleptic Gregorian, as DuckDB's).
_ACCESS_MS = Limit("range", _epoch_ms(date(100, 1, 1)), _epoch_ms(date(9999, 12, 31)) + _MS_PER_DAY - 1)


def _year_check(expr: str, written_ms: bool) -> Check:
    return Check(f"year({expr}) NOT BETWEEN 100 AND 9999", "'year outside 100-9999, which Access cannot store'",
                 _ACCESS_MS if written_ms else None)


def plan_column(table: str, col: PhysColumn, logical: str, src_name: str, src_type: str) -> ColumnPlan:
    """Value and check expressions for one column, from the file's type and the source column's type."""
    s = q(src_name)
    t = src_type.upper()
    where = f"{table}.{col.name}"
    if t == '"NULL"' or t == "NULL":
        return ColumnPlan(col, logical, "NULL")

    def bad_type() -> AccdbError:
        return AccdbError(
            f"{where}: the source column has DuckDB type {src_type}, but the IDB item is {logical} and the file's "
            f"column is {col.label()}. Give the mart column the type {_ACCEPTED[logical]}."
        )

    is_int = t in _INTEGER_TYPES or bool(re.fullmatch(r"DECIMAL\(\d+,0\)", t))
    ok = {
        "string": t == "VARCHAR",
        "integer": is_int,
        "date": t == "DATE" or t in _TIMESTAMP_TYPES,
        "time": t == "TIME",
        "datetime": t == "DATE" or t in _TIMESTAMP_TYPES,
    }[logical]
    if not ok:
        raise bad_type()

    at = col.access_type
    checks: list[Check] = []
    if logical in ("date", "datetime"):
        checks.append(_year_check(s, written_ms=at == "SHORT_DATE_TIME"))
    if logical == "date" and t in _TIMESTAMP_TYPES:
        checks.append(Check(f"CAST({s} AS TIME) <> TIME '00:00:00'", "'a date item holds a time of day'"))

    if at in ("TEXT", "MEMO"):
        value = {
            # as the platform's cleansing stage leaves it (CleanseStage.strip_whitespace in NHS England's
            # src/dsp/pipelines/common.py): outer spaces trimmed, an emptied value null; the validation
            # (macro tos_cleansed) judges the same text
            "string": _cleansed(s),
            "integer": f"CAST({s} AS VARCHAR)",
            "date": f"strftime(CAST({s} AS DATE), '%Y-%m-%d')",
            "time": f"strftime(DATE '2000-01-01' + {s}, '%H:%M:%S')",
            "datetime": f"strftime(CAST({s} AS TIMESTAMP), '%Y-%m-%dT%H:%M:%S')",
        }[logical]
        if at == "TEXT":
            checks.append(_text_check(value, int(col.length or 255), s if logical == "string" else None))
    elif at in INT_RANGE and logical == "integer":
        lo, hi = INT_RANGE[at]
        value = f"CAST({s} AS BIGINT)"
        checks.append(Check(f"{s} < {lo} OR {s} > {hi}",
                            f"'integer ' || CAST({s} AS VARCHAR) || ' is outside the range of {col.label()} ({lo} to "
                            f"{hi})'", Limit("range", lo, hi)))
    elif at == "DOUBLE" and logical == "integer":
        value = f"CAST({s} AS DOUBLE)"
        # on the source: a written Double has lost what made it too large
        checks.append(Check(f"abs({s}) > 9007199254740992", "'integer too large to store exactly as a Double'"))
    elif at == "SHORT_DATE_TIME" and logical in ("date", "time", "datetime"):
        # Epoch milliseconds; the writer pins the database's time zone to UTC, so Jackcess stores the
        # naive local date-time unchanged. Time-only items sit on 1899-12-30 (Access's convention).
        value = {
            "date": f"epoch_ms(CAST(CAST({s} AS DATE) AS TIMESTAMP))",
            "time": f"epoch_ms(date_trunc('second', DATE '1899-12-30' + {s}))",
            "datetime": f"epoch_ms(date_trunc('second', CAST({s} AS TIMESTAMP)))",
        }[logical]
    else:
        raise AccdbError(
            f"{where}: the file's column is {col.label()}, which cannot hold the IDB's {logical} item "
            "exactly. Check that the template is the official IAPT v2.1 IDB."
        )
    return ColumnPlan(col, logical, value, tuple(checks))


def plan_table(con: duckdb.DuckDBPyConnection, spec: IdbTable, phys: PhysTable, source_sql: str) -> TablePlan:
    """Match the source SELECT's columns with the spec and the file's columns; build the conversion."""
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM ({source_sql}) AS src").fetchall()
    except duckdb.CatalogException as exc:
        raise AccdbError(
            f"{spec.name}: the target DB has no such mart ({str(exc).splitlines()[0]}). All 21 IDB tables must "
            "exist, even when empty: run iapt-idb build for the period."
        ) from None
    except duckdb.Error as exc:
        raise AccdbError(f"{spec.name}: the SELECT for this table fails in DuckDB: {exc}") from None
    src_types: dict[str, tuple[str, str]] = {}
    for row in described:
        name, typ = row[0], row[1]
        if name.lower() in src_types:
            raise AccdbError(f"{spec.name}: the source has column {name} twice")
        src_types[name.lower()] = (name, typ)
    spec_cols = {c.name.lower(): c for c in spec.columns}
    unknown = [orig for key, (orig, _) in src_types.items() if key not in spec_cols]
    if unknown:
        raise AccdbError(
            f"{spec.name}: column(s) {', '.join(unknown)} are not IDB v2.1 columns of this table "
            "(reference/spec/idb_schema.csv). Remove them from the mart; the IDB must not be altered."
        )
    missing = [c.name for c in spec.columns if c.name.lower() not in src_types]
    if missing:
        raise AccdbError(f"{spec.name}: the source lacks IDB column(s) {', '.join(missing)}. Add them to the mart.")
    plans = []
    for fc in phys.columns:
        sc = spec_cols[fc.name.lower()]
        src_name, src_type = src_types[fc.name.lower()]
        plans.append(plan_column(spec.name, fc, sc.data_type, src_name, src_type))
    return TablePlan(spec.name, phys.name, source_sql, local_key(spec), tuple(plans))


def batches(con: duckdb.DuckDBPyConnection, sql: str) -> Iterator[pa.RecordBatch]:
    reader = con.execute(sql).fetch_record_batch(BATCH_ROWS)
    for batch in reader:
        if batch.num_rows:
            yield batch


def unstorable_rows(con: duckdb.DuckDBPyConnection, plan: TablePlan) -> list[dict[str, object]]:
    """Every value of the table that the file cannot hold, with the record's local key."""
    sql = plan.unstorable_sql()
    if sql is None:
        return []
    return [
        {"table": plan.table, "row": int(r), "record_key": f"{plan.key}={k}" if plan.key else "",
         "column": col, "reason": reason}
        for r, k, col, reason in con.execute(sql).fetchall()
    ]


def preflight(con: duckdb.DuckDBPyConnection, plan: TablePlan) -> tuple[int, list[str]]:
    """Scan every row once; return (row count, problems). Problems name table, column, row and key."""
    problems: list[str] = []
    counts: dict[str, int] = {}
    offset = 0
    any_problem = plan.problem_sql()
    # One aggregate first: the rows, and how many hold a value the file cannot store (usually none). Only
    # then are the rows streamed, to name each problem with its row and key.
    bad_rows = f"count(*) FILTER (WHERE {any_problem})" if any_problem else "0"
    n, bad = con.execute(f"SELECT count(*), {bad_rows} FROM ({plan.source_sql}) AS src").fetchone()
    if not bad:
        return int(n), problems
    for batch in batches(con, plan.check_sql()):
        keys = batch.column(0)
        for i in range(1, batch.num_columns):
            col = batch.column(i)
            if col.null_count == len(col):
                continue
            name = batch.schema.field(i).name.removeprefix("chk_")
            idx = pc.indices_nonzero(pc.is_valid(col)).to_pylist()
            seen = counts.get(name, 0)
            for j in idx:
                if seen < MAX_REPORTED:
                    key = f"{plan.key}={keys[j].as_py()!r}" if plan.key else "no local key in this table"
                    problems.append(
                        f"{plan.table}.{name}, row {offset + j} (0-based; {key}): {col[j].as_py()}"
                    )
                seen += 1
            counts[name] = seen
        offset += batch.num_rows
    for name, n in counts.items():
        if n > MAX_REPORTED:
            problems.append(f"{plan.table}.{name}: {n - MAX_REPORTED} more row(s) with the same problem")
    return offset, problems
