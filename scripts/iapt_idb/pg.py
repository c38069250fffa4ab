"""The postgres target: a provider warehouse on PostgreSQL (IAPT_DBT_TARGET=postgres, IAPT_PG_* variables).

dbt builds staging, intermediate and the marts inside PostgreSQL. The commands that read the marts
(validate, export, measures, docs) then copy the model tables of the target schema into a private scratch
DuckDB file and run unchanged on it (``marts_snapshot``): the TOS rules, the cascade and the export's row
checks stay one implementation, on one engine.

    active() -> bool                          is the postgres target selected?
    Settings.from_env()                       host, port, user, password, database, schema (never printed)
    connect(settings) -> psycopg2 connection  a failure is a UserError naming host/database and what to do
    load_warehouse(duckdb_file, settings)     copy a DuckDB warehouse's source schema into PostgreSQL, typed
    check_sources(settings, relations)        the chosen system's source tables exist (else a UserError)
    summarise(period, settings)               the build's per-table counts, read from PostgreSQL
    copy_models(settings, dest)               the target schema's tables into a DuckDB file, typed
    marts_snapshot(settings)                  context manager: a scratch DuckDB holding the model tables
    marts_source(target_db)                   the DuckDB a command reads: target_db, or a snapshot (postgres)

Messages name the host, port, database, schema or table, never the password, and never quote the
server's own error text (it can quote rows).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UserError

TARGET_ENV = "IAPT_DBT_TARGET"
_BATCH = 50_000


def active() -> bool:
    """True when the dbt target is postgres ($IAPT_DBT_TARGET)."""
    return os.environ.get(TARGET_ENV, "duckdb").strip().lower() == "postgres"


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    user: str
    password: str
    dbname: str
    schema: str

    @classmethod
    def from_env(cls) -> Settings:
        """The IAPT_PG_* variables, with profiles.yml's defaults."""
        env = os.environ
        port_text = env.get("IAPT_PG_PORT", "5432").strip()
        if not port_text.isdigit():
            raise UserError(f"IAPT_PG_PORT must be a port number, got {port_text!r}")
        return cls(env.get("IAPT_PG_HOST", "localhost"), int(port_text), env.get("IAPT_PG_USER", ""),
                   env.get("IAPT_PG_PASSWORD", ""), env.get("IAPT_PG_DBNAME", "iapt"),
                   env.get("IAPT_PG_SCHEMA", "iapt_idb"))

    def where(self) -> str:
        """Where the data is, for messages (no password)."""
        return f"PostgreSQL database {self.dbname} at {self.host}:{self.port}"


def dbt_vars(settings: Settings | None = None) -> dict[str, str]:
    """dbt vars the postgres target needs: its sources live in the target database itself."""
    s = settings or Settings.from_env()
    return {"source_database": s.dbname}


def connect(settings: Settings | None = None, autocommit: bool = True) -> Any:
    """A psycopg2 connection; a server that cannot be reached or refuses us is a UserError (exit 2)."""
    import psycopg2

    s = settings or Settings.from_env()
    try:
        con = psycopg2.connect(host=s.host, port=s.port, user=s.user, password=s.password, dbname=s.dbname,
                               connect_timeout=10, application_name="iapt-idb")
    except psycopg2.OperationalError as exc:
        raise UserError(_connect_problem(s, str(exc))) from None
    con.autocommit = autocommit
    return con


def _connect_problem(s: Settings, text: str) -> str:
    low = text.lower()
    if "password authentication failed" in low or "no password supplied" in low or "authentication failed" in low:
        return (f"{s.where()} refused user {s.user or '(none)'}: wrong user or password; check IAPT_PG_USER "
                "and IAPT_PG_PASSWORD")
    if "does not exist" in low and "database" in low:
        return (f"{s.where()}: the database {s.dbname} does not exist; create it (createdb {s.dbname}) or set "
                "IAPT_PG_DBNAME")
    if "role" in low and "does not exist" in low:
        return f"{s.where()}: user {s.user or '(none)'} does not exist; check IAPT_PG_USER"
    return (f"cannot connect to {s.where()}: is the server running and listening there? Check IAPT_PG_HOST "
            "and IAPT_PG_PORT")


# --- DuckDB warehouse -> PostgreSQL -----------------------------------------------------------------------

_PG_TYPES = {
    "VARCHAR": "text", "BIGINT": "bigint", "INTEGER": "integer", "SMALLINT": "smallint", "BOOLEAN": "boolean",
    "DATE": "date", "TIMESTAMP": "timestamp", "TIME": "time", "DOUBLE": "double precision", "FLOAT": "real",
}


def _pg_type(duck_type: str) -> str:
    t = duck_type.upper()
    if t.startswith("DECIMAL"):
        return t.replace("DECIMAL", "numeric")
    if t not in _PG_TYPES:
        raise UserError(f"the warehouse has a column of type {duck_type}, which the PostgreSQL loader does not "
                        "map; use one of " + ", ".join(sorted(_PG_TYPES)))
    return _PG_TYPES[t]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _csv_value(v: Any) -> str:
    """A value in PostgreSQL's CSV format: NULL unquoted empty, text always quoted (so '' stays '')."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "t" if v else "f"
    if isinstance(v, str):
        return '"' + v.replace('"', '""') + '"'
    if isinstance(v, (dt.date, dt.time, dt.datetime)):
        return v.isoformat()
    return str(v)


def _copy_rows(cur: Any, relation: str, columns: list[str], rows: Iterable[tuple[Any, ...]]) -> None:
    buf = io.StringIO()
    for row in rows:
        buf.write(",".join(_csv_value(v) for v in row))
        buf.write("\n")
    buf.seek(0)
    cols = ", ".join(_q(c) for c in columns)
    cur.copy_expert(f"copy {relation} ({cols}) from stdin with (format csv)", buf)


def load_warehouse(warehouse: Path, settings: Settings | None = None, schema: str = "cms") -> dict[str, int]:
    """Copy every table of ``schema`` in the DuckDB warehouse into the same schema of PostgreSQL, with the
    same column names and types, in one transaction (the previous copy stays until it commits).
    -> rows per table."""
    import duckdb

    s = settings or Settings.from_env()
    if not Path(warehouse).is_file():
        raise UserError(f"warehouse {warehouse} does not exist: create one with 'iapt-idb generate --out <file>'")
    try:
        duck = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error:
        raise UserError(f"{warehouse} is not a DuckDB warehouse file (or another process has it open)") from None
    counts: dict[str, int] = {}
    try:
        cols = duck.execute(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = ? order by table_name, ordinal_position", [schema]).fetchall()
        if not cols:
            raise UserError(f"{warehouse} has no tables in schema {schema}")
        tables: dict[str, list[tuple[str, str]]] = {}
        for table, column, type_ in cols:
            tables.setdefault(table, []).append((column, _pg_type(type_)))
        con = connect(s, autocommit=False)
        try:
            cur = con.cursor()
            cur.execute(f"create schema if not exists {_q(schema)}")
            for table, columns in tables.items():
                relation = f"{_q(schema)}.{_q(table)}"
                cur.execute(f"drop table if exists {relation} cascade")
                cur.execute(f"create table {relation} ({', '.join(f'{_q(c)} {t}' for c, t in columns)})")
                names = [c for c, _ in columns]
                res = duck.execute(f"select {', '.join(_q(c) for c in names)} from {_q(schema)}.{_q(table)}")
                n = 0
                while batch := res.fetchmany(_BATCH):
                    _copy_rows(cur, relation, names, batch)
                    n += len(batch)
                counts[table] = n
            cur.execute("analyze")
            con.commit()
        except Exception:
            con.rollback()
            raise
        finally:
            con.close()
    finally:
        duck.close()
    return counts


def check_sources(settings: Settings, relations: Iterable[tuple[str, str]], system: str = "") -> None:
    """Every source table (schema, table) of the chosen system exists in PostgreSQL, else a UserError naming
    the system and the first gap."""
    relations = list(relations)
    of_system = f" of source system {system}" if system else ""
    con = connect(settings)
    try:
        cur = con.cursor()
        for schema in dict.fromkeys(s for s, _ in relations):
            cur.execute("select 1 from information_schema.schemata where schema_name = %s", [schema])
            if cur.fetchone() is None:
                raise UserError(
                    f"{settings.where()} has no schema {schema} with the source tables{of_system}: load the "
                    f"warehouse with 'iapt-idb load-warehouse --warehouse <file> --schema {schema}', or set the dbt "
                    "var source_schema (or the schema of the system's sources YAML)")
        cur.execute("select table_schema, table_name from information_schema.tables")
        present = {(r[0], r[1]) for r in cur.fetchall()}
        missing = [f"{s}.{t}" for s, t in relations if (s, t) not in present]
        if missing:
            raise UserError(f"{settings.where()}: source table {missing[0]}{of_system} is missing"
                            f"{f' (and {len(missing) - 1} more)' if len(missing) > 1 else ''}; load the warehouse "
                            "with 'iapt-idb load-warehouse --warehouse <file>' or create it")
    finally:
        con.close()


def summarise(period: str, settings: Settings | None = None) -> dict[str, Any]:
    """What ``iapt-idb build`` prints, read from the target schema in PostgreSQL."""
    import psycopg2

    from .dbtgen.lineage import MART_INCLUSION
    from .spec import table_names

    s = settings or Settings.from_env()
    con = connect(s)
    schema = _q(s.schema)

    def count(relation: str, where: str = "") -> int | None:
        try:
            with con.cursor() as cur:
                cur.execute(f"select count(*) from {schema}.{relation}{' where ' + where if where else ''}")
                return int(cur.fetchone()[0])
        except psycopg2.Error:  # a model left out by --select has no relation
            return None

    try:
        tables: dict[str, dict[str, int | None]] = {}
        for name in table_names():
            inc = MART_INCLUSION[name]
            staged = None
            if inc.staging:
                counts = [count(f"stg_{t}", inc.staging_filter) for t in inc.staging]
                staged = None if None in counts else sum(c for c in counts if c is not None)
            tables[name] = {"staged": staged, "mart": count(_q(name))}
        scope: dict[str, int] = {}
        with contextlib.suppress(psycopg2.Error), con.cursor() as cur:
            cur.execute(f"select scope_reason, count(*) from {schema}.int_referrals__scoped group by 1 "
                        "order by scope_reason collate \"C\"")
            scope = {r[0]: int(r[1]) for r in cur.fetchall()}
        unmapped = count("int_unmapped_local_codes")
    finally:
        con.close()
    return {"period": period, "warehouse": f"{s.where()}, schema cms", "target_db": f"{s.where()}, schema {s.schema}",
            "tables": tables, "scope": scope, "unmapped_local_codes": unmapped}


# --- PostgreSQL model tables -> a scratch DuckDB -----------------------------------------------------------

def _duck_type(data_type: str, precision: int | None, scale: int | None) -> str:
    t = data_type.lower()
    if t == "numeric":
        return f"decimal({precision},{scale})" if precision is not None else "double"
    return {
        "text": "varchar", "character varying": "varchar", "character": "varchar", "integer": "integer",
        "bigint": "bigint", "smallint": "smallint", "boolean": "boolean", "date": "date",
        "time without time zone": "time", "timestamp without time zone": "timestamp",
        "timestamp with time zone": "timestamptz", "double precision": "double", "real": "float",
    }.get(t, "varchar")


def _arrow_type(duck_type: str) -> Any:
    import pyarrow as pa

    if duck_type.startswith("decimal("):
        p, sc = duck_type[8:-1].split(",")
        return pa.decimal128(int(p), int(sc))
    return {
        "varchar": pa.string(), "integer": pa.int32(), "bigint": pa.int64(), "smallint": pa.int16(),
        "boolean": pa.bool_(), "date": pa.date32(), "time": pa.time64("us"), "timestamp": pa.timestamp("us"),
        "timestamptz": pa.timestamp("us", tz="UTC"), "double": pa.float64(), "float": pa.float32(),
    }[duck_type]


def _column(rows: list[tuple[Any, ...]], i: int, duck_type: str) -> list[Any]:
    if duck_type in ("double", "float"):  # an unconstrained numeric comes as Decimal
        return [None if r[i] is None else float(r[i]) for r in rows]
    return [r[i] for r in rows]


def copy_models(settings: Settings, dest: Path) -> dict[str, int]:
    """Copy every table of the target schema (the intermediate models, the marts, the measures) into
    schema main of the DuckDB file ``dest``, typed, rows in a fixed order (all columns, byte order)."""
    import duckdb
    import pyarrow as pa

    from .spec import load_tables

    con = connect(settings, autocommit=False)
    counts: dict[str, int] = {}
    duck = duckdb.connect(str(dest))
    try:
        cur = con.cursor()
        cur.execute("set synchronize_seqscans = off")
        cur.execute(
            "select c.table_name, c.column_name, c.data_type, c.numeric_precision, c.numeric_scale "
            "from information_schema.columns as c join information_schema.tables as t "
            "on t.table_schema = c.table_schema and t.table_name = c.table_name "
            "where c.table_schema = %s and t.table_type = 'BASE TABLE' "
            "order by c.table_name, c.ordinal_position", [settings.schema])
        tables: dict[str, list[tuple[str, str]]] = {}
        for table, column, data_type, precision, scale in cur.fetchall():
            tables.setdefault(table, []).append((column, _duck_type(data_type, precision, scale)))
        idb = {t.name: {c.lower(): c for c in t.column_names} for t in load_tables()}
        duck.execute("begin")  # one commit for all tables
        for table, columns in tables.items():
            names = [c for c, _ in columns]
            # PostgreSQL folds the marts' unquoted column aliases to lower case: the IDB names come back here.
            columns = [(idb.get(table, {}).get(c.lower(), c), t) for c, t in columns]
            order = ", ".join(f'{_q(n)} collate "C"' if t == "varchar" else _q(n) for n, (_, t) in zip(names, columns))
            duck.execute(f"create or replace table main.{_q(table)} "
                         f"({', '.join(f'{_q(c)} {t}' for c, t in columns)})")
            # A server-side cursor: a national month's tables are read in batches, never whole into memory.
            with con.cursor(name=f"iapt_copy_{len(counts)}") as rows_cur:
                rows_cur.itersize = _BATCH
                rows_cur.execute(f"select {', '.join(_q(c) for c in names)} from {_q(settings.schema)}.{_q(table)} "
                                 f"order by {order}")
                n = 0
                while rows := rows_cur.fetchmany(_BATCH):
                    arrays = [pa.array(_column(rows, i, t), type=_arrow_type(t)) for i, (_, t) in enumerate(columns)]
                    frame = pa.Table.from_arrays(arrays, names=[c for c, _ in columns])  # noqa: F841 - read below
                    duck.execute(f"insert into main.{_q(table)} select * from frame")
                    n += len(rows)
            counts[table] = n
        duck.execute("commit")
        con.rollback()
    finally:
        duck.close()
        con.close()
    return counts


_SNAPSHOT_PREFIX = "iapt_pg_snapshot_"


def snapshot_name() -> str:
    """The snapshot's file name: that of the DuckDB target DB ($IAPT_TARGET_DB), whose stem keys the cached
    validation plans (the same plan serves both targets)."""
    from .paths import DEFAULT_TARGET_DB

    return Path(os.environ.get("IAPT_TARGET_DB") or DEFAULT_TARGET_DB).name


def _remove_orphan_snapshots() -> None:
    """Snapshots left by a process that was killed (they hold patient data): removed on the next run."""
    for folder in Path(tempfile.gettempdir()).glob(f"{_SNAPSHOT_PREFIX}*_*"):
        pid_text = folder.name[len(_SNAPSHOT_PREFIX):].split("_", 1)[0]
        if not pid_text.isdigit() or int(pid_text) == os.getpid():
            continue
        try:
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except PermissionError:  # alive, another user's
            continue


@contextlib.contextmanager
def marts_snapshot(settings: Settings | None = None, dbt_on_snapshot: bool = True) -> Iterator[Path]:
    """A private scratch DuckDB holding the model tables of the PostgreSQL target schema, removed afterwards.

    ``dbt_on_snapshot``: while inside, dbt runs started by this process (the validation plan's compile,
    seeds) use the duckdb target on the snapshot, not PostgreSQL.
    """
    s = settings or Settings.from_env()
    _remove_orphan_snapshots()
    scratch = Path(tempfile.mkdtemp(prefix=f"{_SNAPSHOT_PREFIX}{os.getpid()}_"))
    dest = scratch / snapshot_name()
    saved = {k: os.environ.get(k) for k in (TARGET_ENV, "IAPT_TARGET_DB")}
    try:
        counts = copy_models(s, dest)
        if not any(name.startswith("IDS") for name in counts):
            raise UserError(f"{s.where()} has no IDB marts in schema {s.schema}: build them with 'iapt-idb build' "
                            "(IAPT_DBT_TARGET=postgres), or set IAPT_PG_SCHEMA to the schema they were built in")
        if dbt_on_snapshot:
            os.environ[TARGET_ENV] = "duckdb"
            os.environ["IAPT_TARGET_DB"] = str(dest)
        yield dest
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(scratch, ignore_errors=True)



@contextlib.contextmanager
def marts_source(target_db: Path | None, needed: bool = True, dbt_on_snapshot: bool = True) -> Iterator[Path | None]:
    """Where a command reads the built marts: ``target_db`` itself, or with the postgres target (and
    ``needed``) a private snapshot of the target schema (``marts_snapshot``)."""
    if not (needed and active()):
        yield target_db
        return
    with marts_snapshot(dbt_on_snapshot=dbt_on_snapshot) as snapshot:
        yield snapshot
