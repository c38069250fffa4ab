"""iapt-idb load-warehouse: copy a DuckDB warehouse (e.g. from 'iapt-idb generate') into PostgreSQL."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..paths import DEFAULT_WAREHOUSE


def add_parser(subparsers: argparse._SubParsersAction, help_text: str) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "load-warehouse",
        help=help_text,
        description=(
            "Copy every table of the warehouse's source schema (cms) into the same schema of the PostgreSQL "
            "database named by IAPT_PG_HOST, IAPT_PG_PORT, IAPT_PG_USER, IAPT_PG_PASSWORD and IAPT_PG_DBNAME, "
            "with the same column names and types, replacing an earlier copy in one transaction. Then "
            "'IAPT_DBT_TARGET=postgres iapt-idb build' builds the marts inside PostgreSQL (schema "
            "IAPT_PG_SCHEMA)."
        ),
    )
    p.add_argument("--warehouse", type=Path, default=DEFAULT_WAREHOUSE,
                   help=f"the DuckDB warehouse file to copy (default: {DEFAULT_WAREHOUSE})")
    p.add_argument("--schema", default=None,
                   help="the source schema to copy (default: the chosen source system's, e.g. cms for lumen_cms, "
                        "epr for meridian_epr)")
    return p


def run(args: argparse.Namespace) -> int:
    from .. import pg

    settings = pg.Settings.from_env()
    schema = args.schema or _system_schema()
    counts = pg.load_warehouse(args.warehouse, settings, schema=schema)
    print(f"loaded {len(counts)} tables, {sum(counts.values()):,} rows into schema {schema} of "
          f"{settings.where()}")
    return 0


def _system_schema() -> str:
    """The schema of the chosen source system's tables (its sources YAML), else the var source_schema."""
    from ..paths import source_system
    from ..source_systems import require_system, source_relations
    from .build import _source_schema

    system = source_system()
    relations = source_relations(system, require_system(system), _source_schema())
    return relations[0][0] if relations else _source_schema()
