"""Read an IDB .accdb the way the national platform does, into DuckDB tables with the IDB names.

    load_accdb_to_duckdb(accdb, duckdb_path, schema="main") -> {table: rows}

The replica stack (UCanAccess 4.0.4 + Jackcess 2.2.0, connected through JayDeBeApi/JPype as the platform
does; values fetched with one ResultSet.getString call each) runs in a spawned child
process. Types: string -> VARCHAR, date -> DATE, time -> TIME (the 1899-12-30 date part dropped),
datetime -> TIMESTAMP, integer -> BIGINT. A missing table or column raises AccdbStructureError
(the platform's IDSREJ001) naming it.
"""

from __future__ import annotations

from pathlib import Path

from . import jars
from .errors import AccdbError
from .replica_session import run_replica


def load_accdb_to_duckdb(accdb: Path, duckdb_path: Path, schema: str = "main", progress: bool = True) -> dict[str, int]:
    accdb = Path(accdb)
    if not accdb.is_file():
        raise AccdbError(f"{accdb}: no such file")
    jars.jvm_classpath(jars.REPLICA)
    counts = run_replica(
        "replica_load",
        {"accdb": str(accdb.resolve()), "duckdb": str(Path(duckdb_path)), "schema": schema, "progress": progress},
    )
    return {k: int(v) for k, v in counts.items()}
