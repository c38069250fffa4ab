"""Where things live in the project. Every path is derived from the project root."""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """The dbt project folder (holds dbt_project.yml). IAPT_IDB_PROJECT_DIR overrides."""
    env = os.environ.get("IAPT_IDB_PROJECT_DIR")
    if env:
        return Path(env).resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "dbt_project.yml").exists():
            return parent
    cwd = Path.cwd()
    if (cwd / "dbt_project.yml").exists():
        return cwd
    raise RuntimeError(
        "Cannot find the dbt project (dbt_project.yml). Run from the project folder "
        "or set IAPT_IDB_PROJECT_DIR."
    )


ROOT = project_root()
SPEC_DIR = ROOT / "reference" / "spec"
IDB_SCHEMA_CSV = SPEC_DIR / "idb_schema.csv"
CODELIST_DIR = SPEC_DIR / "codelists"
SEEDS_DIR = ROOT / "seeds"
MAPPING_SEEDS_DIR = SEEDS_DIR / "mappings"
DATA_DIR = ROOT / "data"
DEFAULT_WAREHOUSE = DATA_DIR / "local_warehouse.duckdb"
DEFAULT_TARGET_DB = DATA_DIR / "iapt_idb.duckdb"
OUTPUT_DIR = ROOT / "output"
JARS_DIR = ROOT / ".jars"
