"""What of a DuckDB target DB a monthly build can keep: the seeds, and the staging views.

`iapt-idb build` loads ~60 seeds (national code lists, the provider's code mappings, the rule catalogue) and
runs their data tests, and re-creates the staging views (the interface's and the source system's), though
neither changes from month to month: the seeds hold the same rows, and a staging view names no month, only the
warehouse tables and the mapping seeds it reads when a model runs. After a build that passed, ``main.
iapt_build_state`` records, per part, a fingerprint of everything the part is made from and its relations:

* ``seeds``: the seed files and their YAML in the seed paths, dbt_project.yml, the source system, dbt's and
  DuckDB's versions; the seed tables. The next build leaves the seeds (and so their tests, which read nothing
  else) out when the fingerprint is the same and every table is still there.
* ``staging_views``: every file dbt reads (models, macros, seeds, the source system's folder, dbt_project.yml,
  profiles.yml), the source system and its folder, dbt's and DuckDB's versions, the build's dbt vars other
  than the month and the creation time, and the columns and types of every table in the warehouse; the
  staging views (models ``stg_*`` built as views), each with a hash of the SQL DuckDB holds for it. The next
  build leaves them out when the fingerprint is the same and each view is still there with the same SQL (a
  view re-created by a dbt run by hand with other vars is built again). Views whose SQL names a month near
  the period (a staging model that reads the month) are never recorded, nor are they while a data test
  reads one of them (leaving a view out of dbt leaves its tests out): they are built every month.

The record is removed before each build and written only after one that passed, so a build killed half-way
leaves none and the next build makes everything again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .paths import ROOT, source_system, source_systems_dir
from .periods import months_written_near

STATE_TABLE = "main.iapt_build_state"
# The record of an earlier version (seeds only): removed with the current one.
OLD_STATE_TABLES = ("main.iapt_seed_state",)
SEED_SUFFIXES = (".csv", ".yml", ".yaml")
PROJECT_SUFFIXES = (".sql", ".csv", ".yml", ".yaml", ".md")
SEEDS, STAGING_VIEWS = "seeds", "staging_views"
# The build vars that change every month: in no staging view (the month-literal check enforces it).
MONTHLY_VARS = ("period", "dataset_created_at")


class _Digest:
    def __init__(self) -> None:
        self._h = hashlib.sha256()

    def add(self, label: str, data: bytes) -> None:
        self._h.update(f"{label}\0{len(data)}\0".encode())
        self._h.update(data)

    def add_files(self, folder: Path, suffixes: tuple[str, ...]) -> None:
        for f in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in suffixes):
            self.add(f"{folder.name}/{f.relative_to(folder).as_posix()}", f.read_bytes())

    def hexdigest(self) -> str:
        return self._h.hexdigest()


def _versions() -> bytes:
    from importlib.metadata import version

    return f"{version('dbt-core')} {version('dbt-duckdb')} {version('duckdb')}".encode()


def fingerprint() -> str:
    """The seeds' fingerprint: SHA-256 over the seed files and their configuration (seeds/, the source system's
    folder, dbt_project.yml, the source system's name and the dbt and DuckDB versions)."""
    d = _Digest()
    d.add("system", source_system().encode())
    d.add("dbt", _versions())
    d.add("dbt_project.yml", (ROOT / "dbt_project.yml").read_bytes())
    for folder in (ROOT / "seeds", source_systems_dir() / source_system()):
        d.add_files(folder, SEED_SUFFIXES)
    return d.hexdigest()


def views_fingerprint(warehouse: Path, dbt_vars: Mapping[str, Any]) -> str | None:
    """The staging views' fingerprint: SHA-256 over every file dbt reads, the source system and its folder,
    dbt's and DuckDB's versions, the dbt vars other than MONTHLY_VARS, and the warehouse's tables, columns and
    types. None when the warehouse cannot be read now (the build then makes the views, and dbt reports why)."""
    import duckdb

    d = _Digest()
    system_dir = source_systems_dir() / source_system()
    d.add("system", f"{source_system()}\0{system_dir}".encode())
    d.add("dbt", _versions())
    for name in ("dbt_project.yml", "profiles.yml"):
        d.add(name, (ROOT / name).read_bytes())
    for folder in (ROOT / "models", ROOT / "macros", ROOT / "seeds", system_dir):
        d.add_files(folder, PROJECT_SUFFIXES)
    kept = {k: str(v) for k, v in sorted(dbt_vars.items()) if k not in MONTHLY_VARS}
    d.add("vars", json.dumps(kept, sort_keys=True).encode())
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            columns = con.execute(
                "select table_schema, table_name, column_name, data_type from information_schema.columns "
                "order by table_schema, table_name, ordinal_position").fetchall()
    except duckdb.Error:
        return None
    d.add("warehouse", json.dumps(columns).encode())
    return d.hexdigest()


def _view_sql(con: Any, names: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    wanted = set(names)
    rows = con.execute("select schema_name, view_name, sql from duckdb_views() "
                       "where database_name = current_database() and not internal").fetchall()
    return {(s, v): sql for s, v, sql in rows if (s, v) in wanted}


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def reusable(target_db: Path, part: str, fp: str) -> list[str] | None:
    """The names of the part's relations when target_db still holds every one a passed build with this
    fingerprint recorded (the staging views with the same SQL); None when the part must be built."""
    import duckdb

    if not fp or not Path(target_db).is_file():
        return None
    try:
        with duckdb.connect(str(target_db), read_only=True) as con:
            row = con.execute(f"select fingerprint, relations from {STATE_TABLE} where part = ?", [part]).fetchone()
            if row is None or row[0] != fp:
                return None
            relations = json.loads(row[1])
            if part == STAGING_VIEWS:
                held = _view_sql(con, ((s, t) for s, t, _ in relations))
                ok = all(held.get((s, t)) is not None and _sha(held[(s, t)]) == sha for s, t, sha in relations)
            else:
                have = {(s, t) for s, t in con.execute(
                    "select schema_name, table_name from duckdb_tables() where database_name = current_database()"
                ).fetchall()}
                ok = all((s, t) in have for s, t in relations)
    except duckdb.Error:  # no state table (a first build, or one of an earlier version): build it all
        return None
    return sorted(r[1] for r in relations) if ok and relations else None


def unchanged(target_db: Path, fp: str) -> bool:
    """True when target_db holds every seed relation a build with this seed fingerprint loaded and tested."""
    return reusable(target_db, SEEDS, fp) is not None


def forget(target_db: Path) -> None:
    """Remove the record before a build changes the DB."""
    import duckdb

    if not Path(target_db).is_file():
        return
    with duckdb.connect(str(target_db)) as con:
        for table in (STATE_TABLE, *OLD_STATE_TABLES):
            con.execute(f"drop table if exists {table}")


def _is_staging_view(node: Mapping[str, Any]) -> bool:
    return (node.get("resource_type") == "model" and node["name"].startswith("stg_")
            and node.get("config", {}).get("materialized") == "view")


def staging_view_nodes(manifest: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(schema, relation) of the staging views in dbt's manifest: models named stg_* built as views."""
    return sorted({(n["schema"], n["alias"] or n["name"]) for n in manifest["nodes"].values() if _is_staging_view(n)})


def tests_reading_staging_views(manifest: Mapping[str, Any]) -> list[str]:
    """The data tests that read a staging view. A build that leaves the views out leaves these tests out
    with them (dbt drops a test whose parent is excluded), so the views are never kept while one exists."""
    views = {uid for uid, n in manifest["nodes"].items() if _is_staging_view(n)}
    return sorted(n["name"] for n in manifest["nodes"].values()
                  if n.get("resource_type") == "test" and views & set(n.get("depends_on", {}).get("nodes", [])))


def record(target_db: Path, parts: Mapping[str, str], target_path: Path, period: str) -> list[str]:
    """After a build that passed: each part's fingerprint (``parts``) and relations (from dbt's manifest in
    target_path). Returns the months a staging view's SQL names near ``period``. The views are not recorded,
    and so are built every month, when their SQL names such a month or a data test reads one of them."""
    import duckdb

    manifest = json.loads((Path(target_path) / "manifest.json").read_text())
    leaks: list[str] = []
    rows = []
    with duckdb.connect(str(target_db)) as con:
        if SEEDS in parts:
            seeds = sorted({(n["schema"], n["alias"] or n["name"]) for n in manifest["nodes"].values()
                            if n.get("resource_type") == "seed"})
            rows.append([SEEDS, parts[SEEDS], json.dumps(seeds)])
        if STAGING_VIEWS in parts:
            views = staging_view_nodes(manifest)
            held = _view_sql(con, views)
            leaks = months_written_near(period, held.values())
            if views and len(held) == len(views) and not leaks and not tests_reading_staging_views(manifest):
                rows.append([STAGING_VIEWS, parts[STAGING_VIEWS],
                             json.dumps([[s, t, _sha(held[(s, t)])] for s, t in views])])
        con.execute(f"create or replace table {STATE_TABLE} (part varchar, fingerprint varchar, relations varchar)")
        if rows:
            con.executemany(f"insert into {STATE_TABLE} values (?, ?, ?)", rows)
    return leaks
