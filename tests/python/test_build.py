"""`iapt-idb build`, the generated dbt files and the SQL style of the dbt spine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import isolated_env, run_cli
from iapt_idb.paths import ROOT
from iapt_idb.spec import table_names

pytestmark = pytest.mark.slow  # a long file: make test starts it first (conftest)

PY = sys.executable


def test_generated_dbt_files_are_up_to_date() -> None:
    proc = subprocess.run([PY, "-m", "iapt_idb.dbtgen", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([PY, "-m", "iapt_idb.seeds", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_dbtgen_check_names_a_stale_file(tmp_path: Path) -> None:
    from iapt_idb import dbtgen

    files = dbtgen.generated_files(tmp_path)
    dbtgen.write_all(tmp_path)
    assert dbtgen.stale_files(tmp_path) == []
    victim = next(p for p in files if p.name == "_idb__models.yml")
    victim.write_text(victim.read_text() + "# hand edit\n")
    assert dbtgen.stale_files(tmp_path) == [victim]


def test_build_prints_rows_per_idb_table_and_the_scope_summary(built_marts) -> None:
    out = built_marts.summary
    for name in table_names():
        assert name in out
    assert "in_scope_open_in_period" in out
    assert "out_discharged_before_period_no_activity" in out


def test_build_refuses_a_missing_warehouse_and_a_bad_period(tmp_path: Path) -> None:
    env = isolated_env(tmp_path)
    proc = run_cli(["build", "--period", "2026-10", "--warehouse", str(tmp_path / "nope.duckdb"),
                    "--target-db", str(tmp_path / "t.duckdb")], env)
    assert proc.returncode == 2
    assert "nope.duckdb does not exist" in proc.stderr and "iapt-idb generate" in proc.stderr
    proc = run_cli(["build", "--period", "2026-13", "--warehouse", str(tmp_path / "nope.duckdb")], env)
    assert proc.returncode == 2 and "YYYY-MM" in proc.stderr
    proc = run_cli(["build", "--period", "2026-10", "--warehouse", str(tmp_path / "nope.duckdb"),
                    "--created-at", "yesterday"], env)
    assert proc.returncode == 2


def test_the_monthly_build_leaves_unit_and_source_table_tests_to_full_checks() -> None:
    from iapt_idb.commands.build import build_command

    monthly, full = build_command(), build_command(full_checks=True)
    assert monthly[:2] == ["build", "--exclude"] and {"test_type:unit", "source:*"} <= set(monthly)
    assert "test_type:unit" not in full and "source:*" not in full
    assert "path:models/validation" in monthly and "path:models/validation" in full
    idb_only = build_command(measures=False)
    assert idb_only[:len(monthly)] == monthly
    assert idb_only[len(monthly):] == ["path:models/intermediate/measures", "path:models/marts/measures"]


def test_build_state_reuses_seeds_only_when_unchanged_and_all_there(tmp_path: Path, monkeypatch) -> None:
    import json
    import shutil

    import duckdb

    from iapt_idb import build_state

    db = tmp_path / "t.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create schema main_mappings")
        con.execute("create table main_mappings.map_sex (local_code varchar)")
    target = tmp_path / "target"
    target.mkdir()
    (target / "manifest.json").write_text(json.dumps({"nodes": {
        "seed.x.map_sex": {"resource_type": "seed", "schema": "main_mappings", "alias": "map_sex", "name": "map_sex"},
        "model.x.m": {"resource_type": "model", "schema": "main", "alias": "m", "name": "m"},
    }}))
    fp = build_state.fingerprint()
    assert not build_state.unchanged(db, fp)  # nothing recorded yet
    build_state.record(db, {build_state.SEEDS: fp}, target, "2026-10")
    assert build_state.unchanged(db, fp)
    assert not build_state.unchanged(db, "another")
    build_state.forget(db)  # a build starting
    assert not build_state.unchanged(db, fp)
    build_state.record(db, {build_state.SEEDS: fp}, target, "2026-10")
    with duckdb.connect(str(db)) as con:
        con.execute("drop table main_mappings.map_sex")
    assert not build_state.unchanged(db, fp)  # a seed relation has gone
    # an edited mapping seed is a new fingerprint
    systems = tmp_path / "systems"
    shutil.copytree(ROOT / "source_systems", systems)
    monkeypatch.setenv("IAPT_SOURCE_SYSTEMS_DIR", str(systems))
    assert build_state.fingerprint() == fp
    mapping = next((systems / "lumen_cms" / "mappings").glob("map_*.csv"))
    mapping.write_text(mapping.read_text() + "ZZ,1\n")
    assert build_state.fingerprint() != fp


def test_build_state_reuses_staging_views_only_with_the_same_inputs_and_sql(tmp_path: Path) -> None:
    """The staging views are left out of a build only when everything they are made from is unchanged (the
    month and the creation time aside), each is still there with the SQL recorded, and none names the month."""
    import json

    import duckdb

    from iapt_idb import build_state

    warehouse, db, target = tmp_path / "w.duckdb", tmp_path / "t.duckdb", tmp_path / "target"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema cms")
        con.execute("create table cms.referral (referral_id varchar, received_on date)")
    with duckdb.connect(str(db)) as con:
        con.execute("create view stg_referral as select 1 as referral_id")
        con.execute("create view stg_lumen_cms__referral as select 2 as referral_id")
    target.mkdir()
    node = {"resource_type": "model", "schema": "main", "alias": None, "config": {"materialized": "view"}}
    (target / "manifest.json").write_text(json.dumps({"nodes": {
        "model.x.stg_referral": {**node, "name": "stg_referral"},
        "model.x.stg_lumen_cms__referral": {**node, "name": "stg_lumen_cms__referral"},
        "model.x.int_x": {**node, "name": "int_x"},  # a view, but not a staging one
    }}))
    build_vars = {"period": "2026-10", "dataset_created_at": "", "provider_ods_code": "RZZ"}
    fp = build_state.views_fingerprint(warehouse, build_vars)
    views = build_state.STAGING_VIEWS
    assert build_state.reusable(db, views, fp) is None  # nothing recorded yet
    assert build_state.record(db, {views: fp}, target, "2026-10") == []
    assert build_state.reusable(db, views, fp) == ["stg_lumen_cms__referral", "stg_referral"]
    # the month and the creation time are not in the fingerprint; any other var, and the warehouse's columns, are
    assert build_state.views_fingerprint(warehouse, {**build_vars, "period": "2026-11",
                                                     "dataset_created_at": "2026-12-01T00:00:00"}) == fp
    assert build_state.views_fingerprint(warehouse, {**build_vars, "provider_ods_code": "RXX"}) != fp
    with duckdb.connect(str(warehouse)) as con:
        con.execute("alter table cms.referral alter received_on type varchar")
    assert build_state.views_fingerprint(warehouse, build_vars) != fp
    unreadable = tmp_path / "not-a-warehouse.duckdb"
    unreadable.write_bytes(b"not a DuckDB file" * 300)
    assert build_state.views_fingerprint(unreadable, build_vars) is None  # the build makes the views
    # a view re-created with other SQL (a dbt run by hand), or gone, is built again
    with duckdb.connect(str(db)) as con:
        con.execute("create or replace view stg_referral as select 3 as referral_id")
    assert build_state.reusable(db, views, fp) is None
    with duckdb.connect(str(db)) as con:
        con.execute("create or replace view stg_referral as select 1 as referral_id")
    assert build_state.reusable(db, views, fp) is not None  # the recorded SQL again
    with duckdb.connect(str(db)) as con:
        con.execute("drop view stg_lumen_cms__referral")
    assert build_state.reusable(db, views, fp) is None
    # a staging view naming a month near the period is never recorded: it is built every month
    with duckdb.connect(str(db)) as con:
        con.execute("create view stg_lumen_cms__referral as select 2 as referral_id where current_date > '2026-09-30'")
    build_state.forget(db)
    assert build_state.record(db, {views: fp}, target, "2026-10") == ["2026-09"]
    assert build_state.reusable(db, views, fp) is None
    # nor while a data test reads a staging view: leaving the view out of dbt would leave the test out too
    with duckdb.connect(str(db)) as con:
        con.execute("create or replace view stg_lumen_cms__referral as select 2 as referral_id")
    assert build_state.record(db, {views: fp}, target, "2026-10") == []
    assert build_state.reusable(db, views, fp) is not None
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["nodes"]["test.x.not_null_stg_referral_referral_id"] = {
        "resource_type": "test", "name": "not_null_stg_referral_referral_id", "schema": "main", "alias": None,
        "depends_on": {"nodes": ["model.x.stg_referral"]}}
    (target / "manifest.json").write_text(json.dumps(manifest))
    assert build_state.tests_reading_staging_views(manifest) == ["not_null_stg_referral_referral_id"]
    build_state.record(db, {views: fp}, target, "2026-10")
    assert build_state.reusable(db, views, fp) is None


def test_a_rebuild_does_not_reload_unchanged_seeds_and_gives_the_same_marts(built_marts, tmp_path: Path) -> None:
    import shutil

    import duckdb

    db = tmp_path / "iapt.duckdb"
    shutil.copyfile(built_marts.target_db, db)
    env = isolated_env(tmp_path, built_marts.warehouse, db)
    proc = run_cli(["build", "--period", built_marts.period, "--warehouse", str(built_marts.warehouse),
                    "--target-db", str(db), "--created-at", built_marts.created_at], env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "seeds are unchanged since the last build of this database: not reloaded" in proc.stderr
    assert "staging views are unchanged since the last build of this database: not re-created" in proc.stderr
    assert "START seed" not in proc.stderr and "START unit_test" not in proc.stderr
    assert "view model main.stg_" not in proc.stderr
    with duckdb.connect() as con:
        con.execute(f"attach '{built_marts.target_db}' as a (read_only)")
        con.execute(f"attach '{db}' as b (read_only)")
        for t in table_names():
            for x, y in (("a", "b"), ("b", "a")):
                diff = con.execute(f'select count(*) from (select * from {x}.main."{t}" '
                                   f'except all select * from {y}.main."{t}")').fetchone()[0]
                assert diff == 0, t


def test_a_build_step_that_ran_out_of_memory_runs_again_one_model_at_a_time(tmp_path: Path, monkeypatch) -> None:
    """Two large models side by side can exceed DuckDB's memory ceiling where either alone fits: the whole
    step runs again with dbt --threads 1. Any other failure is not retried."""
    import json
    import os
    import subprocess
    import time
    from collections.abc import Callable

    from iapt_idb.commands.build import run_step

    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path))
    results = tmp_path / "run_results.json"
    calls: list[list[str]] = []

    def out_of_memory_once(args: list[str]) -> subprocess.CompletedProcess[str]:
        calls.append(args)
        if len(calls) == 1:
            results.write_text(json.dumps({"results": [
                {"unique_id": "model.iapt_idb.IDS607CodedScoreAssessmentAct", "status": "error",
                 "message": "Runtime Error in model IDS607CodedScoreAssessmentAct\n  Out of Memory Error: failed to "
                            "pin block of size 256.0 KiB (1.3 GiB/1.3 GiB used)"},
                {"unique_id": "model.iapt_idb.IDS101Referral", "status": "skipped", "message": None}]}))
            return subprocess.CompletedProcess(args, 1)
        return subprocess.CompletedProcess(args, 0)

    assert run_step(["build", "--exclude", "path:models/validation"], out_of_memory_once).returncode == 0
    assert calls == [["build", "--exclude", "path:models/validation"],
                     ["build", "--exclude", "path:models/validation", "--threads", "1"]]

    def fails_with(text: str) -> Callable[[list[str]], subprocess.CompletedProcess[str]]:
        def run(args: list[str]) -> subprocess.CompletedProcess[str]:
            calls.append(args)
            results.write_text(text)
            return subprocess.CompletedProcess(args, 1)
        return run

    calls.clear()
    other = json.dumps({"results": [{"unique_id": "model.iapt_idb.IDS101Referral", "status": "error",
                                     "message": "Binder Error: no column x"}]})
    assert run_step(["build"], fails_with(other)).returncode == 1 and calls == [["build"]]
    assert run_step(["build"], fails_with("{not json")).returncode == 1 and len(calls) == 2
    oom = json.dumps({"results": [{"unique_id": "model.iapt_idb.X", "status": "error",
                                   "message": "Out of Memory Error: could not allocate block"}]})
    assert run_step(["build"], fails_with(oom), retry_out_of_memory=False).returncode == 1 and len(calls) == 3

    # a run that failed before writing its results (dbt's parse) leaves another run's file: not this run's
    results.write_text(oom)
    old = time.time() - 3600
    os.utime(results, (old, old))
    calls.clear()

    def fails_early(args: list[str]) -> subprocess.CompletedProcess[str]:
        calls.append(args)
        return subprocess.CompletedProcess(args, 2)

    assert run_step(["build"], fails_early).returncode == 2 and calls == [["build"]]
