"""Seed loading for the validation engine: the reference and tos seeds, loaded the way dbt-duckdb loads them.

``ensure_seeds`` (re)loads a seed (``create table`` with its ``column_types``, then ``COPY ... (FORMAT CSV,
HEADER TRUE)``) only when its table is missing or differs from its CSV file. Comparing every seed with its
file costs ~1 s, so a verified seed is recorded in ``SEED_STAMPS`` (the CSV file's SHA-256 and the table's
row count); the comparison is skipped while file, types and count still match.

``copy_cached_seeds`` fills a database that holds none of the seeds (a new scratch DB, the engine's database
in memory) in one statement (``COPY FROM DATABASE``), from a DuckDB file of the seeds and their stamps beside
the validation plans (``seeds-<key>.duckdb``, built from the CSV files on first use): ~4x faster than loading
the CSV files one by one. Its key hashes every seed's name, relation, column types and CSV file (SHA-256)
and the DuckDB version, so a changed CSV file gets a new cache; the copy is then checked as any loaded seed
is (types, row counts and stamps against the CSV files). A cache that cannot be written or read is skipped:
the seeds are loaded from their CSV files.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import replace
from pathlib import Path

import duckdb

from .. import runlock
from ..paths import ROOT
from .plans import SEED_STAMPS, Plan, Seed, plan_dir

log = logging.getLogger(__name__)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _relations(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[tuple[str, str], str]:
    """(schema, name) -> 'table' | 'view' for every relation of the catalog."""
    rows = con.execute(
        f"select schema_name, table_name, 'table' from duckdb_tables() where database_name = {_lit(catalog)} "
        f"union all select schema_name, view_name, 'view' from duckdb_views() where database_name = {_lit(catalog)} "
        "and not internal"
    ).fetchall()
    return {(s, n): k for s, n, k in rows}


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[str, str]]:
    """(name, type) of a relation's columns (the catalog functions are much slower per call)."""
    return [(d[0], str(d[1])) for d in con.execute(f"select * from {relation} limit 0").description]


def seeds_needing_dbt(plan: Plan) -> list[str]:
    """Seeds whose column types are not all configured: only `dbt seed` knows how it would type them."""
    return [s.name for s in plan.seeds if not s.columns]


def _read_csv(seed: Seed) -> str:
    cols = ", ".join(f"{_lit(c)}: {_lit(t)}" for c, t in seed.columns)
    return (f"read_csv({_lit(str(ROOT / seed.path))}, header = true, delim = {_lit(seed.delimiter)}, "
            f"columns = {{{cols}}})")


def _stale_seeds(con: duckdb.DuckDBPyConnection, plan: Plan,
                 existing: dict[tuple[str, str], str]) -> tuple[list[Seed], bool]:
    """The seeds whose table is missing, typed differently or holds other rows than its CSV file (one query),
    and whether every seed was vouched for by its stamp (then the stamps need no refresh)."""
    seeds = [s for s in plan.seeds if s.columns]
    if not seeds:
        return [], True
    types = con.execute("select " + ", ".join(f"typeof(cast(null as {t}))" for s in seeds for _, t in s.columns)).fetchone()
    expected: dict[str, list[tuple[str, str]]] = {}
    i = 0
    for s in seeds:
        expected[s.name] = [(c, str(types[i + j])) for j, (c, _) in enumerate(s.columns)]  # type: ignore[index]
        i += len(s.columns)
    rows = con.execute(
        "select schema_name, table_name, column_name, data_type from duckdb_columns() "
        f"where database_name = {_lit(plan.catalog)} order by schema_name, table_name, column_index").fetchall()
    actual: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema, table, col, typ in rows:
        actual.setdefault((schema, table), []).append((col, typ))
    stale = [s for s in seeds if existing.get((s.schema, s.identifier)) != "table"
             or actual.get((s.schema, s.identifier)) != expected[s.name]]
    stamps = _read_stamps(con, plan, existing)
    counts = _row_counts(con, plan, [s for s in seeds if s not in stale])
    check = [s for s in seeds if s not in stale and stamps.get(s.name) != (_file_sha256(s), counts.get(s.name))]
    if check:
        diffs = " union all ".join(
            f"select {_lit(s.name)} as seed, (select count(*) from (select * from {_read_csv(s)} except all "
            f"select * from {_q(plan.catalog)}.{_q(s.schema)}.{_q(s.identifier)})) + (select count(*) from (select * "
            f"from {_q(plan.catalog)}.{_q(s.schema)}.{_q(s.identifier)} except all select * from {_read_csv(s)})) as n"
            for s in check)
        differ = {name for name, n in con.execute(diffs).fetchall() if n}
        return stale + [s for s in check if s.name in differ], False
    return stale, not stale


def _file_sha256(seed: Seed) -> str:
    return hashlib.sha256((ROOT / seed.path).read_bytes()).hexdigest()


def _stamps_relation(plan: Plan) -> str:
    return f"{_q(plan.catalog)}.{_q(SEED_STAMPS[0])}.{_q(SEED_STAMPS[1])}"


def _read_stamps(con: duckdb.DuckDBPyConnection, plan: Plan,
                 existing: dict[tuple[str, str], str]) -> dict[str, tuple[str, int]]:
    if existing.get(SEED_STAMPS) != "table":
        return {}
    rows = con.execute(f"select seed, csv_sha256, row_count from {_stamps_relation(plan)}").fetchall()
    return {name: (sha, int(n)) for name, sha, n in rows}


def _row_counts(con: duckdb.DuckDBPyConnection, plan: Plan, seeds: list[Seed]) -> dict[str, int]:
    if not seeds:
        return {}
    sql = " union all ".join(
        f"select {_lit(s.name)}, count(*) from {_q(plan.catalog)}.{_q(s.schema)}.{_q(s.identifier)}" for s in seeds)
    return {name: int(n) for name, n in con.execute(sql).fetchall()}


def _refresh_stamps(con: duckdb.DuckDBPyConnection, plan: Plan) -> None:
    """Record every typed seed as verified (called once they all equal their CSV files), when that changed."""
    seeds = [s for s in plan.seeds if s.columns]
    counts = _row_counts(con, plan, seeds)
    stamps = {s.name: (_file_sha256(s), counts[s.name]) for s in seeds}
    if _read_stamps(con, plan, _relations(con, plan.catalog)) == stamps:
        return
    con.execute(f"create schema if not exists {_q(plan.catalog)}.{_q(SEED_STAMPS[0])}")
    con.execute(f"create or replace table {_stamps_relation(plan)} "
                "(seed varchar, csv_sha256 varchar, row_count bigint)")
    if stamps:
        con.execute(f"insert into {_stamps_relation(plan)} values "
                    + ", ".join(f"({_lit(name)}, {_lit(sha)}, {int(n)})" for name, (sha, n) in sorted(stamps.items())))


def ensure_seeds(con: duckdb.DuckDBPyConnection, plan: Plan, existing: dict[tuple[str, str], str]) -> list[str]:
    """(Re)load each seed that is missing or differs from its CSV file, as dbt-duckdb loads it: create table with
    the seed's column_types, then COPY FROM the file. -> the names of the seeds loaded"""
    stale, stamped = _stale_seeds(con, plan, existing)
    loaded = _load(con, plan, stale, existing)
    if not stamped:
        _refresh_stamps(con, plan)
    if loaded:
        log.debug("validation: seeds loaded: %s", ", ".join(loaded))
    return loaded


def _load(con: duckdb.DuckDBPyConnection, plan: Plan, seeds: list[Seed],
          existing: dict[tuple[str, str], str]) -> list[str]:
    for s in seeds:
        target = f"{_q(plan.catalog)}.{_q(s.schema)}.{_q(s.identifier)}"
        con.execute(f"create schema if not exists {_q(plan.catalog)}.{_q(s.schema)}")
        kind = existing.get((s.schema, s.identifier))
        if kind:
            con.execute(f"drop {kind} {target}")
        con.execute(f"create table {target} ({', '.join(f'{_q(c)} {t}' for c, t in s.columns)})")
        con.execute(f"copy {target} from {_lit(str(ROOT / s.path))} "
                    f"(FORMAT CSV, HEADER TRUE, DELIMITER {_lit(s.delimiter)})")
    return [s.name for s in seeds]


SEED_CACHE_PREFIX = "seeds-"
SEED_CACHE_BUILD_PREFIX = ".seeds-build."
KEEP_SEED_CACHES = 3  # the newest seed caches kept (a plan folder may serve several checkouts)
_CACHE_ALIAS = "iapt_seed_cache"


def seed_cache_path(plan: Plan) -> Path:
    """The seed cache file of the plan's typed seeds as their CSV files are now (beside the plans)."""
    h = hashlib.sha256(f"duckdb={duckdb.__version__}".encode())
    for s in sorted((s for s in plan.seeds if s.columns), key=lambda s: s.name):
        h.update(json.dumps([s.name, s.schema, s.identifier, s.columns, s.delimiter, _file_sha256(s)]).encode())
    return plan_dir() / f"{SEED_CACHE_PREFIX}{h.hexdigest()[:32]}.duckdb"


def _build_seed_cache(plan: Plan, path: Path) -> None:
    """The typed seeds loaded from their CSV files, with their stamps, into a new file at ``path``: built in a
    private scratch folder beside it (a killed build's is swept by the next), then renamed into place."""
    with runlock.private_scratch(path.parent, SEED_CACHE_BUILD_PREFIX) as scratch:
        tmp = scratch / path.name
        con = duckdb.connect()
        try:
            con.execute(f"attach {_lit(str(tmp))} as {_q(_CACHE_ALIAS)}")
            cache = replace(plan, catalog=_CACHE_ALIAS)
            _load(con, cache, [s for s in plan.seeds if s.columns], {})
            _refresh_stamps(con, cache)
            con.execute(f"detach {_q(_CACHE_ALIAS)}")  # checkpointed: the file holds everything
        finally:
            con.close()
        os.replace(tmp, path)
    older = sorted(path.parent.glob(f"{SEED_CACHE_PREFIX}*.duckdb"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in older[KEEP_SEED_CACHES:]:
        old.unlink(missing_ok=True)


def copy_cached_seeds(con: duckdb.DuckDBPyConnection, plan: Plan, existing: dict[tuple[str, str], str]) -> list[str]:
    """When plan.catalog holds none of the typed seeds (``existing``: its relations), copy them all with their
    stamps from the seed cache (built on a miss), in a transaction of its own. -> the seeds copied ([] when
    the catalog already held some, or the cache could not be built or read: ensure_seeds then loads the CSV
    files)."""
    seeds = [s for s in plan.seeds if s.columns]
    if not seeds or SEED_STAMPS in existing or any((s.schema, s.identifier) in existing for s in seeds):
        return []
    path = seed_cache_path(plan)
    try:
        if not path.is_file():
            _build_seed_cache(plan, path)
        con.execute(f"attach {_lit(str(path))} as {_q(_CACHE_ALIAS)} (read_only)")
    except (OSError, duckdb.Error) as exc:
        return _not_used(path, exc)
    try:
        con.execute("begin")
        try:
            con.execute(f"copy from database {_q(_CACHE_ALIAS)} to {_q(plan.catalog)}")
        except duckdb.Error as exc:
            con.execute("rollback")
            return _not_used(path, exc)
        con.execute("commit")
    finally:
        con.execute(f"detach {_q(_CACHE_ALIAS)}")
    return [s.name for s in seeds]


def _not_used(path: Path, exc: Exception) -> list[str]:
    """A seed cache that could not be built or read: dropped (the next run builds it again), none copied."""
    log.debug("validation: seed cache %s not used: %s", path.name, exc)
    if isinstance(exc, duckdb.Error):
        path.unlink(missing_ok=True)
    return []


def missing_inputs(plan: Plan, existing: dict[tuple[str, str], str]) -> list[str]:
    return [f"{s}.{t}" for s, t in plan.inputs if (s, t) not in existing]
