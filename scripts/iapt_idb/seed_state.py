"""Which seeds a DuckDB target DB holds, so that a monthly build need not reload unchanged ones.

`iapt-idb build` loads ~60 seeds (national code lists, the provider's code mappings, the rule catalogue) and
runs their data tests: about a sixth of a month's build, for the same rows every month. After a build that
loaded them and passed, it records in ``main.iapt_seed_state`` a fingerprint of everything the seeds are made
from (the seed files and their YAML in the seed paths, dbt_project.yml, the source system, dbt's version) and
the seed relations dbt wrote. The next build skips the seeds (and so their tests, which read nothing else)
only when the fingerprint is the same and every one of those relations is still there. The record is removed
before each build, so a build killed half-way through reloading leaves none.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .paths import ROOT, source_system, source_systems_dir

STATE_TABLE = "main.iapt_seed_state"
SEED_SUFFIXES = (".csv", ".yml", ".yaml")


def fingerprint() -> str:
    """SHA-256 over the seed files and their configuration (seeds/, the source system's folder, dbt_project.yml,
    the source system's name and the dbt version)."""
    from importlib.metadata import version

    h = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        h.update(f"{label}\0{len(data)}\0".encode())
        h.update(data)

    add("system", source_system().encode())
    add("dbt", f"{version('dbt-core')} {version('dbt-duckdb')}".encode())
    add("dbt_project.yml", (ROOT / "dbt_project.yml").read_bytes())
    for folder in (ROOT / "seeds", source_systems_dir() / source_system()):
        for f in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in SEED_SUFFIXES):
            add(f.relative_to(folder).as_posix(), f.read_bytes())
    return h.hexdigest()


def unchanged(target_db: Path, fp: str) -> bool:
    """True when target_db holds every seed relation a build with this fingerprint loaded and tested."""
    import duckdb

    if not Path(target_db).is_file():
        return False
    try:
        with duckdb.connect(str(target_db), read_only=True) as con:
            row = con.execute(f"select fingerprint, relations from {STATE_TABLE}").fetchone()
            if row is None or row[0] != fp:
                return False
            have = {(s, t) for s, t in con.execute(
                "select schema_name, table_name from duckdb_tables() where database_name = current_database()"
            ).fetchall()}
    except duckdb.Error:  # no state table (a first build, or an older one): reload
        return False
    return all((s, t) in have for s, t in json.loads(row[1]))


def forget(target_db: Path) -> None:
    """Remove the record before a build changes the DB."""
    import duckdb

    if not Path(target_db).is_file():
        return
    with duckdb.connect(str(target_db)) as con:
        con.execute(f"drop table if exists {STATE_TABLE}")


def record(target_db: Path, fp: str, target_path: Path) -> None:
    """After a build that loaded and tested every seed: the fingerprint and the seed relations (from dbt's
    manifest in target_path)."""
    import duckdb

    manifest = json.loads((Path(target_path) / "manifest.json").read_text())
    relations = sorted({(n["schema"], n["alias"] or n["name"]) for n in manifest["nodes"].values()
                        if n.get("resource_type") == "seed"})
    with duckdb.connect(str(target_db)) as con:
        con.execute(f"create or replace table {STATE_TABLE} (fingerprint varchar, relations varchar)")
        con.execute(f"insert into {STATE_TABLE} values (?, ?)", [fp, json.dumps(relations)])
