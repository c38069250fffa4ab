"""The validation engine (scripts/iapt_idb/validation/engine.py): the SQL dbt compiled once, run in DuckDB.

* its results equal `dbt build --select path:models/validation` (which also runs the models' dbt data tests,
  so they keep running in the suite), on the built marts and on a defective CSV IDB;
* a cached plan runs without dbt; a new period compiles a new plan; `iapt-idb build` leaves the plan warm;
* missing marts are a user error that says what to do.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
import threading
from pathlib import Path
from typing import Any

import duckdb
import pytest

import validation_fixtures as vf
from conftest import PERIOD, BuiltMarts
from iapt_idb.errors import UserError
from iapt_idb.paths import ROOT
from iapt_idb.validation import api, engine, runner
from iapt_idb.validation import plans as plan_cache
from iapt_idb.validation.catalogue import load_rules

pytestmark = pytest.mark.slow  # a long file: make test starts it first (conftest)

@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, built_marts: BuiltMarts) -> Path:
    """dbt target/log paths under tmp_path for in-process API calls."""
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    monkeypatch.setenv("DBT_LOG_PATH", str(tmp_path / "logs"))
    monkeypatch.setenv("IAPT_WAREHOUSE_PATH", str(built_marts.warehouse))
    monkeypatch.setenv("IAPT_TARGET_DB", str(tmp_path / "unused.duckdb"))
    monkeypatch.delenv("IAPT_VALIDATE_WITH_DBT", raising=False)
    monkeypatch.delenv(engine.PLAN_DIR_ENV, raising=False)  # these tests watch the cache of their own target path
    return tmp_path


@pytest.fixture(scope="module")
def shared_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One dbt target path (and so one plan cache) for the tests that do not need a cold cache."""
    return tmp_path_factory.mktemp("engine_shared_target")


@pytest.fixture
def warm(isolated: Path, shared_target: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Like `isolated`, but the plan compiled by an earlier test in this module is re-used."""
    monkeypatch.setenv("DBT_TARGET_PATH", str(shared_target))
    return isolated


def _copy_marts(built_marts: BuiltMarts, folder: Path) -> Path:
    folder.mkdir(parents=True)
    db = folder / built_marts.target_db.name  # same file stem: the same catalog name as the built DB
    shutil.copyfile(built_marts.target_db, db)
    return db


def _results(db: Path) -> dict[str, Any]:
    """Every validation table and view (and the dbt tests' stored failures) in full, ordered, with column names
    and types, and the relations' and columns' descriptions (comments)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() where (schema_name = 'main_validation' "
            f"and table_name <> '{engine.SEED_STAMPS[1]}') "
            "or (schema_name = 'main_dbt_test__audit' and table_name like 'tos%') "
            "union all select schema_name, view_name from duckdb_views() "
            "where schema_name = 'main_validation' and not internal order by 1, 2").fetchall()
        out: dict[str, Any] = {"tables": tables}
        # the descriptions dbt persists as comments, for people who open the file
        out["comments"] = con.execute(
            "select schema_name, table_name, comment from duckdb_tables() where schema_name = 'main_validation' "
            f"and table_name <> '{engine.SEED_STAMPS[1]}' "
            "union all select schema_name, view_name, comment from duckdb_views() "
            "where schema_name = 'main_validation' and not internal order by 1, 2").fetchall()
        out["column comments"] = con.execute(
            "select schema_name, table_name, column_name, comment from duckdb_columns() "
            "where schema_name = 'main_validation' and comment is not null order by 1, 2, 3").fetchall()
        for schema, table in tables:
            rel = f'"{schema}"."{table}"'
            cur = con.execute(f"select * from {rel} order by all")
            out[rel] = ([(d[0], str(d[1])) for d in cur.description], cur.fetchall())
        return out
    finally:
        con.close()


def _assert_same(dbt_db: Path, engine_db: Path) -> None:
    a, b = _results(dbt_db), _results(engine_db)
    assert a['"main_validation"."tos_failures"'][1] and a['"main_validation"."tos_row_status"'][1]
    assert '"main_validation"."tos_rows_removed"' in a
    assert any(c for _, _, c in a["comments"]) and a["column comments"]
    for name in a:
        assert a[name] == b[name], f"{name} differs between dbt and the engine"


def test_engine_equals_dbt_on_the_built_marts(built_marts: BuiltMarts, warm: Path) -> None:
    # warm: the plan the engine compiles here serves the later tests of this module
    dbt_db = _copy_marts(built_marts, warm / "dbt")
    engine_db = _copy_marts(built_marts, warm / "engine")
    # dbt build of the seeds and the validation models, with their dbt data tests (they must pass)
    api.build_validation_models(dbt_db, PERIOD, warehouse=built_marts.warehouse, with_dbt=True)
    api.build_validation_models(engine_db, PERIOD, warehouse=built_marts.warehouse, with_dbt=False)
    _assert_same(dbt_db, engine_db)


def test_engine_equals_dbt_on_a_defective_csv_idb(built_marts: BuiltMarts, isolated: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    rules = [r for r in load_rules() if r["status"] != "not_applicable_v21"]
    src = vf.write_csv_dir(vf.mutation_idb(rules)[0], isolated / "csv")
    dbs = {}
    for mode in ("dbt", "engine"):
        monkeypatch.setenv("IAPT_VALIDATE_SCRATCH", str(isolated / f"scratch_{mode}"))
        monkeypatch.setenv("IAPT_VALIDATE_WITH_DBT", "1" if mode == "dbt" else "0")
        result = api.run_validation(src, vf.PERIOD, isolated / f"report_{mode}", gx=False)
        assert result.failures
        # how the run went travels with its result: the engine's stats, none when dbt ran the models
        assert (result.engine_stats is None) == (mode == "dbt") and result.gx_timings == {}
        if result.engine_stats is not None:
            assert result.engine_stats.step_seconds["tos_rows_removed"] >= 0
        dbs[mode] = isolated / f"scratch_{mode}" / "validate.duckdb"
    _assert_same(dbs["dbt"], dbs["engine"])
    reports = [(isolated / f"report_{m}" / "validation_report.csv").read_text(encoding="utf-8") for m in dbs]
    assert reports[0] == reports[1]
    _assert_compiled_in_the_plan_folder(isolated, monkeypatch)


def _dbt_runs(logs: Path) -> list[str]:
    """dbt's log in logs, one item per run (dbt rotates dbt.log at 10 MB: oldest first)."""
    files = [logs / f"dbt.log.{n}" for n in range(5, 0, -1)] + [logs / "dbt.log"]
    return "".join(f.read_text(encoding="utf-8") for f in files if f.exists()).split("Running with dbt=")[1:]


def _assert_compiled_in_the_plan_folder(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine compiled the scratch DB's plan against an empty file in the plan folder, with no `dbt seed`
    (it reads the rules catalogue from its CSV file); a compile there again starts from dbt's saved parse."""
    compiles = [r for r in _dbt_runs(isolated / "logs") if "'invocation_command': 'dbt compile" in r]
    folder = engine.compile_dir()
    assert len(compiles) == 1 and str(folder / "dbt") in compiles[0]
    assert not [r for r in _dbt_runs(isolated / "logs") if "'invocation_command': 'dbt seed" in r]
    con = duckdb.connect(str(folder / api.SCRATCH_DB_NAME), read_only=True)
    try:  # nothing of the input, and no seed, was ever written there
        assert con.execute("select count(*) from duckdb_tables()").fetchone()[0] == 0
    finally:
        con.close()
    scratch_vars = api._dbt_vars(vf.PERIOD, None, api.INPUT_SCHEMA)
    plan = engine.find_plan(Path(api.SCRATCH_DB_NAME), scratch_vars)
    assert plan is not None and plan.catalog == "validate"
    for cached in engine.plan_dir().glob("*.json"):
        cached.unlink()
    calls: list[str] = []
    real = plan_cache.run_dbt

    def counting(args: list[str], **kwargs: Any) -> Any:
        calls.append(args[0])
        return real(args, **kwargs)

    monkeypatch.setattr(plan_cache, "run_dbt", counting)
    again, compiled = engine.prepare_plan(Path(api.SCRATCH_DB_NAME), scratch_vars)
    assert compiled and calls == ["compile"]
    assert [(s.name, s.sql) for s in again.steps] == [(s.name, s.sql) for s in plan.steps]
    last = _dbt_runs(isolated / "logs")[-1]
    assert "Unable to do partial parsing" not in last and "Partial parsing enabled" in last, last[:3000]


def test_one_plan_is_compiled_once_and_serves_every_month(
    built_marts: BuiltMarts, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = _copy_marts(built_marts, isolated / "cache")
    engine.build_validation(db, {"period": PERIOD}, warehouse=built_marts.warehouse)  # compiles on a miss
    plans = list(engine.plan_dir().glob("*.json"))
    assert len(plans) == 1
    plan = engine.Plan.from_json(plans[0].read_text(encoding="utf-8"))
    assert plan.catalog == db.stem and plan.inputs and plan.seeds
    # the time of validation (IDS00027) and the reporting period are filled in at run time, never frozen at
    # compile time
    assert any(token in s.sql for s in plan.steps for token, _, _ in engine.NOW_TOKENS)
    assert plan.period == "" and all(any(t in s.sql for s in plan.steps) for t, _ in engine.PERIOD_TOKENS)
    assert not any(PERIOD in s.sql for s in plan.steps)

    calls: list[list[str]] = []
    real = plan_cache.run_dbt  # the one module of the engine that calls dbt

    def no_dbt(args: list[str], **kwargs: Any) -> Any:
        calls.append(args)
        raise AssertionError(f"dbt called on a cache hit: {args}")

    monkeypatch.setattr(plan_cache, "run_dbt", no_dbt)
    stats = engine.build_validation(db, {"period": PERIOD}, warehouse=built_marts.warehouse)
    assert not calls and not stats.compiled and stats.plan_key == plan.key
    assert stats.seeds_loaded == []  # the build loaded them; they match their CSV files

    # the next month runs the same plan, filled in for it: no compile
    other = {"period": "2026-09"}
    assert engine.plan_key(db, other) == plan.key
    stats = engine.build_validation(db, other, warehouse=built_marts.warehouse)
    assert not calls and not stats.compiled
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("select reporting_period from main_validation.tos_summary").fetchone()[0] == "2026-09"
    finally:
        con.close()
    assert engine.plan_key(db, {"period": PERIOD, "tos_input_schema": "tos_input"}) != plan.key
    assert engine.plan_key(db.with_name("other.duckdb"), {"period": PERIOD}) != plan.key

    # ... and what it runs is, to the byte, the SQL dbt compiles for that month itself
    def counting(args: list[str], **kwargs: Any) -> Any:
        calls.append(args)
        return real(args, **kwargs)

    monkeypatch.setattr(plan_cache, "run_dbt", counting)
    literal = engine.compile_plan(db, other, built_marts.warehouse, period_tokens=False)
    assert [a[0] for a in calls] == ["compile"] and literal.period == "2026-09"
    assert [(s.name, s.sql) for s in literal.steps] == [(s.name, s.sql) for s in plan.for_period("2026-09").steps]
    assert len(list(engine.plan_dir().glob("*.json"))) == 1  # a literal compile is never cached


def test_a_plan_that_holds_a_month_serves_that_month_only() -> None:
    step = engine.Step("m", "main_validation", "m", "table", "select '2026-09-30' as d, '1900-01-01' as e")
    plan = engine.Plan(key="k", catalog="c", steps=[step], seeds=[], inputs=[])
    # a month near the period (here the last day of the month before) ties the SQL to the period compiled
    assert engine.period_leaks(plan, "2026-10") == ["2026-09"]
    assert engine.period_leaks(plan, "2030-10") == []  # 1900-01-01 and 2026-09 are far from it
    held = engine.Plan(key="k", catalog="c", steps=[step], seeds=[], inputs=[], period="2026-10")
    with pytest.raises(ValueError, match="compiled for 2026-10"):
        held.for_period("2026-11")
    assert engine.plan_key(Path("x.duckdb"), {"period": "2026-10"}, per_period=True) != engine.plan_key(
        Path("x.duckdb"), {"period": "2026-11"}, per_period=True)
    generic = engine.Plan(key="k", catalog="c", inputs=[], seeds=[], steps=[engine.Step(
        "m", "s", "m", "table", "select '__IAPT_PERIOD__' as p, '__IAPT_PERIOD_START__' as a, '__IAPT_PERIOD_END__' as b")])
    assert generic.for_period("2028-02").steps[0].sql == "select '2028-02' as p, '2028-02-01' as a, '2028-02-29' as b"


def test_seeds_are_reloaded_only_when_missing_or_changed(built_marts: BuiltMarts, warm: Path) -> None:
    db = _copy_marts(built_marts, warm / "seeds")
    engine.build_validation(db, {"period": PERIOD}, warehouse=built_marts.warehouse)
    con = duckdb.connect(str(db))
    try:
        con.execute("delete from main.tos_rules where rule_code = 'IDS00027'")
        con.execute("drop table main_reference.ref_language_code")
    finally:
        con.close()
    stats = engine.build_validation(db, {"period": PERIOD}, warehouse=built_marts.warehouse)
    assert sorted(stats.seeds_loaded) == ["ref_language_code", "tos_rules"]
    assert engine.build_validation(db, {"period": PERIOD}, warehouse=built_marts.warehouse).seeds_loaded == []


def _without_seeds(db: Path, plan: engine.Plan) -> None:
    con = duckdb.connect(str(db))
    try:
        for s in plan.seeds:
            con.execute(f'drop table if exists "{s.schema}"."{s.identifier}"')
        con.execute(f"drop table if exists {'.'.join(engine.SEED_STAMPS)}")
    finally:
        con.close()


def test_a_database_without_seeds_gets_them_from_the_seed_cache(built_marts: BuiltMarts, warm: Path) -> None:
    """A database holding none of the seeds (a new scratch DB) gets them in one copy from the seed cache beside
    the plans, built from the CSV files on first use: the same rows as the CSV files (compared in full once the
    stamps are gone); an unreadable cache is dropped and the CSV files are loaded instead."""
    from iapt_idb.validation import seed_loading

    db = _copy_marts(built_marts, warm / "cached")
    plan, _ = engine.prepare_plan(db, {"period": PERIOD}, built_marts.warehouse)
    typed = sorted(s.name for s in plan.seeds if s.columns)
    cache = seed_loading.seed_cache_path(plan)
    cache.unlink(missing_ok=True)
    _without_seeds(db, plan)
    assert sorted(engine.run_plan(db, plan).seeds_loaded) == typed
    assert cache.is_file()
    con = duckdb.connect(str(db))
    try:
        con.execute(f"drop table {'.'.join(engine.SEED_STAMPS)}")  # no stamps: every seed compared with its CSV
    finally:
        con.close()
    assert engine.run_plan(db, plan).seeds_loaded == []
    cache.write_bytes(b"not a DuckDB file")
    _without_seeds(db, plan)
    assert sorted(engine.run_plan(db, plan).seeds_loaded) == typed  # loaded from the CSV files
    assert not cache.exists()  # dropped: the next database without seeds builds it again
    assert engine.run_plan(db, plan).seeds_loaded == []


def test_missing_marts_say_what_to_do(built_marts: BuiltMarts, warm: Path) -> None:
    isolated = warm
    empty = isolated / "empty" / "iapt.duckdb"
    empty.parent.mkdir()
    duckdb.connect(str(empty)).close()
    with pytest.raises(UserError, match="marts are missing.*iapt-idb build"):
        api.run_validation(None, PERIOD, isolated / "report", target_db=empty, gx=False)
    with pytest.raises(UserError, match="marts are missing"):
        api.export_verdict(empty, PERIOD)
    # a cached plan run on a DB without marts: the same message, nothing left half-built
    db = _copy_marts(built_marts, isolated / "plan")
    plan, _ = engine.prepare_plan(db, {"period": PERIOD}, built_marts.warehouse)
    bare = isolated / "bare" / db.name
    bare.parent.mkdir()
    duckdb.connect(str(bare)).close()
    with pytest.raises(UserError, match="marts are missing"):
        engine.run_plan(bare, plan)
    con = duckdb.connect(str(bare), read_only=True)
    try:
        assert con.execute("select count(*) from duckdb_tables()").fetchone()[0] == 0
    finally:
        con.close()


def test_build_leaves_the_validation_plan_warm(built_marts: BuiltMarts, monkeypatch: pytest.MonkeyPatch) -> None:
    from iapt_idb.validation import api

    monkeypatch.setenv("DBT_TARGET_PATH", str(built_marts.target_path))
    monkeypatch.delenv(engine.PLAN_DIR_ENV, raising=False)  # the fixture's build kept its own plans
    monkeypatch.setenv("IAPT_PROVIDER_ODS", "RZZ")  # as the build was configured (conftest)
    key = engine.plan_key(built_marts.target_db, api._dbt_vars(built_marts.period, None, None))
    assert engine.load_plan(key) is not None


def test_the_builds_plan_compile_starts_from_the_builds_parse(built_marts: BuiltMarts) -> None:
    """dbt parses the whole project only when --vars, the profile or dbt_project.yml's variables change: the
    compile of the marts' plan right after the build differs from it only in the environment (tos_period_tokens),
    and gets the build's saved parse in its own target path, so it parses again only what reads that."""
    runs = _dbt_runs(built_marts.target_path.parent / "logs")
    compiles = [r for r in runs if "'invocation_command': 'dbt compile" in r]
    assert len(runs) >= 2 and len(compiles) >= 1, "the build and its plan compile are in the log"
    assert "Starting full parse" in runs[0]  # the build, in a new target path
    first = compiles[0]
    assert "Unable to do partial parsing" not in first and "Partial parsing enabled" in first, first[:3000]


def test_now_placeholders_replace_only_the_compile_time() -> None:
    from datetime import datetime, timezone

    began = datetime(2026, 11, 26, 20, 0, 0, tzinfo=timezone.utc)
    ended = datetime(2026, 11, 26, 20, 0, 30, tzinfo=timezone.utc)
    sql = "x > '2026-11-26T20:00:12' and y = '2026-10-31T23:59:59' and z = '2026-11-26 20:00:29'"
    marked = engine._mark_now(sql, began, ended)
    assert "'2026-10-31T23:59:59'" in marked and "20:00:12" not in marked and "20:00:29" not in marked
    filled = engine._fill_now(marked, datetime(2027, 1, 2, 3, 4, 5, tzinfo=timezone.utc))
    assert "'2027-01-02T03:04:05'" in filled and "'2026-10-31T23:59:59'" in filled


def test_verified_seeds_are_stamped_and_a_changed_csv_is_compared_again(
    built_marts: BuiltMarts, warm: Path,
) -> None:
    db = _copy_marts(built_marts, warm / "stamps")
    engine.build_validation(db, {"period": PERIOD}, warehouse=built_marts.warehouse)
    con = duckdb.connect(str(db), read_only=True)
    try:
        stamps = dict(con.execute(
            f"select seed, csv_sha256 from {'.'.join(engine.SEED_STAMPS)}").fetchall())
    finally:
        con.close()
    assert stamps["tos_rules"] == hashlib.sha256((ROOT / "seeds/tos/tos_rules.csv").read_bytes()).hexdigest()
    # a stamp that no longer matches the file (as after editing the CSV) means a full comparison, and a
    # table that differs from its file is reloaded even when its row count is unchanged
    con = duckdb.connect(str(db))
    try:
        con.execute(f"update {'.'.join(engine.SEED_STAMPS)} set csv_sha256 = 'old' where seed = 'tos_rules'")
        con.execute("update main.tos_rules set severity = 'warning' where rule_code = 'IDS00027'")
    finally:
        con.close()
    assert engine.build_validation(db, {"period": PERIOD}, warehouse=built_marts.warehouse).seeds_loaded == [
        "tos_rules"]


def test_independent_tables_run_side_by_side_with_the_same_results(
    built_marts: BuiltMarts, warm: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threading
    import time

    spans: list[tuple[str, float, float]] = []
    real_create = engine._create

    def timed_create(con: Any, plan: Any, step: Any, *args: Any) -> None:
        t0 = time.perf_counter()
        real_create(con, plan, step, *args)
        if step.materialized == "table":
            spans.append((f"{step.name}@{threading.current_thread().name}", t0, time.perf_counter()))

    monkeypatch.setattr(runner, "_create", timed_create)
    dbs = {}
    for n in ("1", "3"):
        monkeypatch.setenv("IAPT_VALIDATE_WORKERS", n)
        dbs[n] = _copy_marts(built_marts, warm / f"workers_{n}")
        spans.clear()
        engine.build_validation(dbs[n], {"period": PERIOD}, warehouse=built_marts.warehouse)
        overlaps = [(a, b) for i, a in enumerate(spans) for b in spans[i + 1:] if a[1] < b[2] and b[1] < a[2]]
        # one worker: one table after the other, on the caller's thread; three: the check groups overlap
        assert bool(overlaps) == (n == "3"), (n, spans)
    assert _results(dbs["1"]) == _results(dbs["3"])


def test_a_failing_step_is_named_and_the_others_stop(built_marts: BuiltMarts, warm: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    db = _copy_marts(built_marts, warm / "failing")
    plan, _ = engine.prepare_plan(db, {"period": PERIOD}, built_marts.warehouse)
    broken = replace(plan, steps=[replace(s, sql="select * from no_such_table") if s.name ==
                                  "tos_check_failures__contact" else s for s in plan.steps])
    with pytest.raises(RuntimeError, match="validation model tos_check_failures__contact failed.*no_such_table"):
        engine.run_plan(db, broken)
    monkeypatch.setenv("IAPT_VALIDATE_WORKERS", "two")
    with pytest.raises(UserError, match="IAPT_VALIDATE_WORKERS"):
        engine.run_plan(db, plan)


def test_the_longest_steps_start_first_each_query_gets_its_share_of_threads_and_results_are_read_before_close(
    built_marts: BuiltMarts, warm: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Scheduling changes when each relation is built, never what it holds: the last run's durations order the
    ready steps (longest first), queries side by side get one DuckDB thread each (a step alone gets them all),
    and ``read`` sees the finished relations on the engine's connection before it closes in the background."""
    started: list[tuple[str, int]] = []
    beside: dict[str, bool] = {}  # whether another table was being built when the step started
    building: set[str] = set()
    lock = threading.Lock()
    real_create = engine._create

    def watched_create(con: Any, plan: Any, step: Any, *args: Any) -> None:
        if step.materialized != "table":
            real_create(con, plan, step, *args)
            return
        with lock:
            started.append((step.name, int(con.execute("select current_setting('threads')").fetchone()[0])))
            beside[step.name] = bool(building)
            building.add(step.name)
        try:
            real_create(con, plan, step, *args)
        finally:
            with lock:
                building.discard(step.name)

    monkeypatch.setattr(runner, "_create", watched_create)
    monkeypatch.setenv("IAPT_VALIDATE_WORKERS", "2")
    db = _copy_marts(built_marts, warm / "scheduled")
    engine.build_validation(db, {"period": PERIOD}, warehouse=built_marts.warehouse)  # records the durations
    recorded = engine.read_step_seconds()
    groups = sorted(n for n, _ in started if n.startswith("tos_check_failures__"))
    assert set(groups) <= set(recorded) and len(groups) == 6  # tos_check_groups()
    # pretend the activity group took longest last time and the patient group second
    engine.write_step_seconds({**recorded, "tos_check_failures__activity": 99.0, "tos_check_failures__patient": 98.0})
    started.clear()
    stats = engine.build_validation(db, {"period": PERIOD}, warehouse=built_marts.warehouse,
                                    read=lambda con: con.execute(
                                        "select count(*) from main_validation.tos_failures").fetchone()[0])
    # the two longest go out first, side by side (which of the two threads gets to its query first is a race)
    assert {n for n, _ in started[:2]} == {"tos_check_failures__activity", "tos_check_failures__patient"}
    threads = dict(started)
    all_threads = int(duckdb.connect().execute("select current_setting('threads')").fetchone()[0])
    share = max(1, all_threads // 2)
    assert threads[started[0][0]] == threads[started[1][0]] == share  # two at a time: a share each
    for g in groups:  # the last group may start alone (both workers freed at once): then it gets every thread
        assert threads[g] == share if beside[g] else threads[g] in (share, all_threads), (g, threads[g])
    assert threads["tos_rows_removed"] == all_threads  # alone on the critical path: every thread
    engine.wait_closed()
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert stats.read_value == con.execute("select count(*) from main_validation.tos_failures").fetchone()[0]
    finally:
        con.close()


def test_step_durations_are_a_cache_and_longest_first_keeps_plan_order_on_ties(warm: Path) -> None:
    steps = [engine.Step(name=n, schema="s", identifier=n, materialized="table", sql="") for n in "abcd"]
    assert [s.name for s in engine.longest_first(steps, {"c": 2.0, "b": 2.0, "d": 5.0})] == ["d", "b", "c", "a"]
    path = engine.plan_dir() / engine.STEP_SECONDS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("not json", encoding="utf-8")
    assert engine.read_step_seconds() == {}  # unreadable: no order, no error
    engine.write_step_seconds({"a": 1.5})
    assert engine.read_step_seconds() == {"a": 1.5}
    assert not list(engine.plan_dir().glob("runs*.json"))  # never taken for a plan


def test_duckdb_spills_into_a_private_folder_that_goes_with_the_run(built_marts: BuiltMarts, warm: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine's in-memory DuckDB would spill into ".tmp" in the current folder (its default): pieces of
    the input, left behind by a kill. It spills into a private folder in $TMPDIR, gone when the run ends."""
    seen: list[tuple[str, int]] = []
    real_connect = runner._connect

    def watched_connect(*args: Any) -> duckdb.DuckDBPyConnection:
        con = real_connect(*args)
        spill = con.execute("select current_setting('temp_directory')").fetchone()[0]
        seen.append((spill, stat.S_IMODE(os.stat(spill).st_mode)))
        return con

    monkeypatch.setattr(runner, "_connect", watched_connect)
    cwd = warm / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    db = _copy_marts(built_marts, warm / "spill")
    engine.build_validation(db, {"period": PERIOD}, warehouse=built_marts.warehouse,
                            read=lambda con: con.execute("select 1").fetchone())
    engine.wait_closed()
    [(spill, mode)] = seen
    assert Path(spill).parent.resolve() == Path(tempfile.gettempdir()).resolve()
    assert Path(spill).name.startswith(runner.SPILL_PREFIX) and mode == 0o700
    assert not Path(spill).exists()
    assert list(cwd.iterdir()) == []
