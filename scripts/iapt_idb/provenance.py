"""Build provenance: are the IDB marts of a target DB all from one complete build of a period?

Every `dbt build`/`dbt run` that selects IDB marts (through `iapt-idb build` or plain dbt) records, per mart,
in ``main.idb_build_manifest``: the period, the build id (dbt's invocation id), the start and completion times
and the status: 'building' from its start (macros/build_manifest.sql, on-run-start), 'complete' or 'failed' at
its end (on-run-end). A killed build leaves 'building'. ``require_complete_build`` refuses (UserError, exit 2)
marts that are missing from the manifest, come from a failed or unfinished build, from more than one build,
or from another period, and says what to run. Messages name tables, periods and build ids only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from .errors import UserError
from .spec import table_names

MANIFEST = "main.idb_build_manifest"


@dataclass(frozen=True)
class MartStamp:
    table_name: str
    period: str
    build_id: str
    status: str
    started_at: str
    completed_at: str | None


def unreadable_target(target_db: Path, exc: duckdb.Error) -> UserError:
    """What to say when the target DB cannot be opened: another writer holds DuckDB's lock, or it is not a
    DuckDB file. DuckDB's own text is not quoted."""
    if "lock" in str(exc).lower():
        return UserError(f"{target_db}: another program is writing this DuckDB file; wait for it, or use --target-db")
    return UserError(f"{target_db}: not a DuckDB database; give the target DB 'iapt-idb build' wrote with --target-db")


def _read(target_db: Path) -> tuple[set[str], dict[str, MartStamp] | None]:
    """(relations in schema main, {IDB table: its stamp} or None when there is no build manifest)."""
    try:
        con = duckdb.connect(str(target_db), read_only=True)
    except duckdb.Error as exc:
        raise unreadable_target(target_db, exc) from None
    try:
        present = {n for (n,) in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'main' "
            "union all select view_name from duckdb_views() where schema_name = 'main'").fetchall()}
        if "idb_build_manifest" not in present:
            return present, None
        rows = con.execute(
            f"select table_name, period, build_id, status, started_at, completed_at from {MANIFEST}"
        ).fetchall()
    finally:
        con.close()
    return present, {r[0]: MartStamp(*r) for r in rows}


def read_manifest(target_db: Path) -> dict[str, MartStamp] | None:
    """{IDB table: its stamp}, or None when the target DB has no build manifest at all."""
    return _read(target_db)[1]


def _rebuild(target_db: Path, period: str) -> str:
    return f"run 'iapt-idb build --period {period} --target-db {target_db}'"


def _names(tables: list[str]) -> str:
    return ", ".join(tables[:5]) + (f" and {len(tables) - 5} more" if len(tables) > 5 else "")


def build_problem(target_db: Path, period: str) -> str | None:
    """Why the marts of target_db are not one complete build of ``period`` (None when they are)."""
    present, manifest = _read(target_db)
    todo = _rebuild(target_db, period)
    absent = [t for t in table_names() if t not in present]
    if absent:
        return (f"{target_db}: the IDB marts are missing ({_names(absent)}): build them first with "
                f"'iapt-idb build --period {period}', or validate an .accdb/CSV SOURCE")
    if manifest is None:
        return (f"{target_db} has no build record (main.idb_build_manifest): its marts were not written by a "
                f"complete 'iapt-idb build' or dbt build of this project; {todo}")
    marts = table_names()
    missing = [t for t in marts if t not in manifest]
    if missing:
        return f"{target_db}: no build recorded for {_names(missing)}; {todo}"
    stamps = [manifest[t] for t in marts]
    unfinished = [s for s in stamps if s.status != "complete"]
    if unfinished:
        s = unfinished[0]
        state = "failed" if s.status == "failed" else "did not finish (stopped or still running)"
        return (f"{target_db}: the last build (id {s.build_id}, period {s.period}, started {s.started_at}) {state}; "
                f"{len(unfinished)} of {len(marts)} marts ({_names([u.table_name for u in unfinished])}) "
                f"may hold a partial month. Fix the build's error and {todo}")
    builds = {s.build_id for s in stamps}
    if len(builds) > 1:
        latest = max(stamps, key=lambda s: (s.started_at, s.build_id))
        stale = [s.table_name for s in stamps if s.build_id != latest.build_id]
        periods = ", ".join(sorted({s.period for s in stamps}))
        return (f"{target_db}: the marts come from {len(builds)} builds (periods {periods}); {_names(stale)} "
                f"predate the latest build (id {latest.build_id}, period {latest.period}). Rebuild all 21 "
                f"together: {todo}")
    built = stamps[0].period
    if built != period:
        return (f"{target_db}: the marts were built for {built}, not {period}: {todo}, or use --period {built}")
    return None


def require_complete_build(target_db: Path, period: str) -> None:
    """Refuse (UserError, exit 2) unless every IDB mart of target_db comes from one complete build of period."""
    problem = build_problem(Path(target_db), period)
    if problem:
        raise UserError(problem)


def record_complete_build(target_db: Path, period: str, build_id: str = "hand-made") -> None:
    """Stamp every IDB mart present in target_db as one complete build of ``period``: for marts written
    outside dbt (test fixtures, a restored copy someone has checked)."""
    con = duckdb.connect(str(target_db))
    try:
        present = {n for (n,) in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'main'").fetchall()}
        con.execute(f"create table if not exists {MANIFEST} (table_name varchar, period varchar, build_id varchar, "
                    "status varchar, started_at varchar, completed_at varchar)")
        con.execute(f"delete from {MANIFEST}")
        con.executemany(
            f"insert into {MANIFEST} values (?, ?, ?, 'complete', '1970-01-01T00:00:00', '1970-01-01T00:00:00')",
            [[t, period, build_id] for t in table_names() if t in present],
        )
    finally:
        con.close()
