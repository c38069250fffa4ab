"""iapt-idb source: connect a provider's clinical system (a folder of staging models) to the contract."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from ..paths import DEFAULT_WAREHOUSE, source_system, source_systems_dir


def add_parser(subparsers: Any, help_text: str) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "source",
        help=help_text,
        description=(
            "A source system is a folder source_systems/<name>/ (or under IAPT_SOURCE_SYSTEMS_DIR): its dbt sources, "
            "one staging model per entity of the staging contract (scripts/iapt_idb/contract.py) and its local-code "
            "mapping seeds. 'new' writes the folder's template; 'check' lists what is still missing or wrong."
        ),
    )
    sub = p.add_subparsers(dest="source_command", metavar="ACTION", required=True)
    new = sub.add_parser("new", help="scaffold a new source system's folder")
    new.add_argument("name", help="system name: lower case letters, digits and _ (e.g. my_cms)")
    check = sub.add_parser("check", help="checklist: contract columns missing or mistyped, tables, keys, unmapped codes")
    check.add_argument("--system", default=None, help="source system (default: IAPT_SOURCE_SYSTEM, else lumen_cms)")
    check.add_argument("--warehouse", type=Path, default=DEFAULT_WAREHOUSE,
                       help=f"the local warehouse DuckDB file (default: {DEFAULT_WAREHOUSE})")
    return p


def run(args: argparse.Namespace) -> int:
    from .. import source_systems as ss

    if args.source_command == "new":
        files = ss.scaffold(args.name)
        folder = ss.system_dir(args.name)
        print(f"wrote {len(files)} files in {folder}")
        print(f"next: fill in every TODO, then: iapt-idb --system {args.name} source check --warehouse <your.duckdb>")
        return 0
    name = args.system or source_system()
    os.environ["IAPT_SOURCE_SYSTEM"] = name
    folder = ss.require_system(name)
    findings = ss.static_findings(name, folder)
    if Path(args.warehouse).is_file():
        findings += _live(name, folder, Path(args.warehouse))
    else:
        print(f"(no warehouse at {args.warehouse}: tables, columns, keys and codes not checked; pass --warehouse)")
    print(f"Source system {name} ({folder}) against the staging contract (scripts/iapt_idb/contract.py):")
    for f in findings:
        print(f"  {f}")
    if not findings:
        print("  all entities, columns, types and local codes conform")
    blocking = [f for f in findings if not f.fix.startswith("warning")]
    return 1 if blocking else 0


def _live(name: str, folder: Path, warehouse: Path) -> list[Any]:
    """Compile the system's staging models with dbt, then run their SQL against the warehouse."""
    import tempfile

    import duckdb

    from .. import contract
    from .. import source_systems as ss
    from ..dbt_runner import run_dbt

    with tempfile.TemporaryDirectory(prefix="iapt-source-check-") as tmp:
        os.environ.setdefault("DBT_TARGET_PATH", tmp)
        target = Path(os.environ["DBT_TARGET_PATH"])
        # a scratch target DB: compiling the staging models needs none of the marts (nor a data/ folder)
        proc = run_dbt(["compile", "--select", f"stg_{name}__*", "--quiet"], vars={"source_system": name},
                       warehouse=warehouse, target_db=Path(tmp) / "check.duckdb", quiet=True, check=False)
        manifest_path = target / "manifest.json"
        if proc.returncode != 0 or not manifest_path.is_file():
            print((proc.stdout or "")[-3000:], file=sys.stderr)
            return [ss.Finding(f"system {name}: dbt could not compile the staging models", "see dbt's message above")]
        nodes = json.loads(manifest_path.read_text(encoding="utf-8"))["nodes"]
    compiled = {}
    for e in contract.ENTITIES:
        node = nodes.get(f"model.iapt_idb.{e.system_model(name)}") or {}
        if node.get("compiled_code"):
            compiled[e.name] = node["compiled_code"]
    con = duckdb.connect()
    try:
        con.execute(f"attach '{warehouse.resolve()}' as local_warehouse (read_only)")
        return ss.live_findings(name, folder, compiled, con)
    finally:
        con.close()
