"""Where things live in the project. Every path is derived from the project root."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any


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
# Source systems: one folder each (staging models, sources YAML, mapping seeds in mappings/).
SOURCE_SYSTEMS_DIR = ROOT / "source_systems"
# The embedded synthetic system's mapping seeds (the generator picks its valid local codes from them).
MAPPING_SEEDS_DIR = SOURCE_SYSTEMS_DIR / "lumen_cms" / "mappings"
DATA_DIR = ROOT / "data"
DEFAULT_WAREHOUSE = DATA_DIR / "local_warehouse.duckdb"
DEFAULT_TARGET_DB = DATA_DIR / "iapt_idb.duckdb"
OUTPUT_DIR = ROOT / "output"
JARS_DIR = ROOT / ".jars"


@lru_cache(maxsize=1)
def project_vars() -> dict[str, Any]:
    """The ``vars`` of dbt_project.yml (empty when the file cannot be read)."""
    import yaml

    try:
        data = yaml.safe_load((ROOT / "dbt_project.yml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return {}
    return dict(data.get("vars") or {})


def source_systems_dir() -> Path:
    """Where the source-system folders are: IAPT_SOURCE_SYSTEMS_DIR, else source_systems/ in the project."""
    env = os.environ.get("IAPT_SOURCE_SYSTEMS_DIR")
    return Path(env).resolve() if env else SOURCE_SYSTEMS_DIR


def source_system() -> str:
    """The source system dbt builds from: IAPT_SOURCE_SYSTEM, else the embedded Lumen CMS."""
    return os.environ.get("IAPT_SOURCE_SYSTEM") or "lumen_cms"


IDB_TEMPLATE_ENV = "IAPT_IDB_TEMPLATE"


def idb_template() -> Path | None:
    """The official empty IAPT v2.1 IDB (TRUD) that `export` fills and `validate` compares an .accdb's
    structure with when no --template is given: IAPT_IDB_TEMPLATE, else none."""
    env = os.environ.get(IDB_TEMPLATE_ENV, "").strip()
    return Path(env) if env else None
