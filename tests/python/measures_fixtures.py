"""The dbt measure models run in-process on a built fixture's parsed manifest (no re-parse), for the tests
that derive measures from another warehouse or from accumulated submissions.

    run_measure_models(built, db, warehouse, work, dbt_vars) -> runs models/intermediate/measures and
        models/marts/measures into ``db`` (its file name must be the built DB's: the staging views name
        that catalog), dbt's target and logs under ``work``.
"""

from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import Any

import pytest

from iapt_idb.commands.build import MEASURES_PATHS
from iapt_idb.paths import ROOT

from conftest import BuiltMarts

_MANIFESTS: dict[Path, Any] = {}


def _manifest(built: BuiltMarts) -> Any:
    """The fixture's parsed manifest, read once per build: every run compiles its SQL with its own vars."""
    from dbt.contracts.graph.manifest import Manifest, WritableManifest

    manifest = _MANIFESTS.get(built.target_path)
    if manifest is None:
        manifest = Manifest.from_writable_manifest(
            WritableManifest.read_and_check_versions(str(built.target_path / "manifest.json")))
        manifest.build_flat_graph()
        _MANIFESTS[built.target_path] = manifest
    return manifest


def run_measure_models(built: BuiltMarts, db: Path, warehouse: Path, work: Path, dbt_vars: dict[str, Any]) -> None:
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    from dbt.cli.main import dbtRunner

    manifest = _manifest(built)
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {"DBT_PROFILES_DIR": str(ROOT), "DBT_TARGET_PATH": str(work / "target"),
                            "DBT_LOG_PATH": str(work / "logs"), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
                            "IAPT_TARGET_DB": str(db), "IAPT_WAREHOUSE_PATH": str(warehouse)}.items():
            mp.setenv(name, value)
        mp.chdir(ROOT)
        result = dbtRunner(manifest=manifest).invoke(
            ["run", "--quiet", "--select", *(f"path:{p}" for p in MEASURES_PATHS), "--vars", json.dumps(dbt_vars)])
    # dbt-duckdb keeps its DuckDB instance open for the process (a private attribute: see docs/decisions.md,
    # the reconciliation test's in-process dbt): close it, so that the test can read the file and the next
    # run opens it afresh
    if DuckDBConnectionManager._ENV is not None:
        DuckDBConnectionManager._ENV.close()
        DuckDBConnectionManager._ENV = None
    gc.collect()
    assert result.success, f"dbt run of the measure models failed ({dbt_vars}): {result.exception}"
