"""Read an IDB .accdb the way the national platform does, into DuckDB tables with the IDB names.

    read_accdb(accdb, duckdb_path, schema="main", template=None) -> AccdbRead(counts, differences)
    load_accdb_to_duckdb(accdb, duckdb_path, schema="main") -> {table: rows}

The replica stack (UCanAccess 4.0.4 + Jackcess 2.2.0, connected through JayDeBeApi/JPype as the platform
does; values fetched with one ResultSet.getString call each) runs in a spawned child
process. Types: string -> VARCHAR, date -> DATE, time -> TIME (the 1899-12-30 date part dropped),
datetime -> TIMESTAMP, integer -> BIGINT.

The file's structure (UCanAccess's information_schema rows, which the platform hashes and compares with
the official IDB's) is compared with the template's (the official empty IDB, read in the same child first),
or else with the spec structure the export writes: every difference is the platform's IDSREJ001.
``read_accdb`` loads what the file has and returns the differences; ``load_accdb_to_duckdb`` raises
AccdbStructureError for the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..paths import IDB_TEMPLATE_ENV
from . import jars
from .errors import AccdbError, AccdbStructureError, require_template
from .physical import SchemaDifference, SchemaRow, schema_differences, spec_schema_rows
from .replica_session import run_replica

# What the spec structure is, in the messages of its differences.
SPEC_STRUCTURE = ("the IDB v2.1 structure 'iapt-idb export' writes; if the file was made from the official "
                  f"empty IDB, give that file with --template or {IDB_TEMPLATE_ENV}")


@dataclass(frozen=True)
class AccdbRead:
    counts: dict[str, int]  # rows read per spec table the file has
    differences: list[SchemaDifference]  # from the expected structure, each an IDSREJ001


def template_rows(template: Path | str, rows: list[list[Any]]) -> list[SchemaRow]:
    """The structure the platform would compare a file with, from the official empty IDB's information_schema
    rows (read by the replica): AccdbError unless it has the spec's tables and columns and no others."""
    checked = sorted(SchemaRow(*r) for r in rows)
    # As `export --template` requires: the spec's tables and columns, no others (types and sizes are the
    # template's to give). A file without a spec column fails the platform's SELECT whatever the template says.
    other = [d for d in schema_differences(spec_schema_rows(), checked, "the spec") if d.kind != "type"]
    if other:
        where = {"missing_table": f"no table {other[0].table}",
                 "missing_column": f"no column {other[0].table}.{other[0].column}",
                 "extra_columns": f"columns in {other[0].table} the spec does not have",
                 "extra_tables": "tables the spec does not have"}[other[0].kind]
        raise AccdbError(f"template {template}: not the official empty IAPT v2.1 IDB ({len(other)} difference(s) "
                         f"in its tables and columns from the spec, first: {where}); give the IDB from TRUD")
    return checked


def read_accdb(accdb: Path, duckdb_path: Path, schema: str = "main", progress: bool = True,
               template: Path | None = None) -> AccdbRead:
    """Every spec table ``accdb`` has, into ``duckdb_path``'s ``schema``, and the differences of its structure
    from the expected one: ``template``'s (the official empty IDB, read first by the same replica child) or
    else the spec structure the export writes."""
    accdb = Path(accdb)
    payload: dict[str, Any] = {"accdb": str(accdb.resolve()), "duckdb": str(Path(duckdb_path)), "schema": schema,
                               "progress": progress}
    if template is not None:
        payload["template"] = str(require_template(template).resolve())
        payload["template_label"] = str(template)  # as given, for messages
        against = f"the template {Path(template).name}"
    else:
        payload["expected"] = [list(r) for r in spec_schema_rows()]
        against = SPEC_STRUCTURE
    if not accdb.is_file():
        raise AccdbError(f"{accdb}: no such file")
    jars.jvm_classpath(jars.REPLICA)
    out = run_replica("replica_load", payload)
    expected = [SchemaRow(*r) for r in out["expected"]]
    actual = [SchemaRow(*r) for r in out["schema"]]
    return AccdbRead({k: int(v) for k, v in out["counts"].items()}, schema_differences(expected, actual, against))


def load_accdb_to_duckdb(accdb: Path, duckdb_path: Path, schema: str = "main", progress: bool = True) -> dict[str, int]:
    """The file's tables, which must have the spec structure exactly: AccdbStructureError (IDSREJ001) names
    the first difference."""
    read = read_accdb(accdb, duckdb_path, schema=schema, progress=progress)
    if read.differences:
        first = read.differences[0]
        raise AccdbStructureError(first.message, first.table, first.column or None)
    return read.counts
