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
    p.add_argument("--schema", default="cms", help="the source schema to copy (default: cms)")
    return p


def run(args: argparse.Namespace) -> int:
    from .. import pg

    settings = pg.Settings.from_env()
    counts = pg.load_warehouse(args.warehouse, settings, schema=args.schema)
    print(f"loaded {len(counts)} tables, {sum(counts.values()):,} rows into schema {args.schema} of "
          f"{settings.where()}")
    return 0
