"""Run the TOS validation models without dbt on the per-month path: compile once, then plain DuckDB.

Three parts: ``plans.py`` (the plan cache and `dbt compile`), ``seed_loading.py`` (the seeds, as dbt-duckdb
loads them), ``runner.py`` (the plan run in DuckDB); this module ties them together (``build_validation``)
and re-exports their public names.

    prepare_plan(target_db, dbt_vars, warehouse) -> Plan     cached plan, or `dbt compile` on a cache miss
    compile_plan(target_db, dbt_vars, warehouse) -> Plan     `dbt compile --select path:models/validation`
    run_plan(target_db, plan) -> RunStats                    plain DuckDB, independent tables at the same time,
                                                             the longest first, then read(con) and close

A plan is what dbt compiled for the validation models: per model (in dependency order) its relation,
materialization (table/view) and SQL, plus the stored-failure tables of the data tests configured with
``store_failures`` (the rule codes per table), the reference/tos seeds the models read and the marts they
need. Plans are cached as ``<dbt target path>/validation_plans/<key>.json`` (DBT_TARGET_PATH, else the
project's ``target/``); dbt compiles into ``validation_plans/dbt/`` so the build's own manifest and
run_results stay untouched. dbt reads no table while it compiles (the rules catalogue comes from its seed
file), so a scratch DB's plan is compiled against an empty file of the same name in the plan folder's
``compile/<project folder hash>/``, where dbt's profile, and so its saved parse, stay the same from run to
run. The key hashes everything the compiled SQL depends on: the files under models/, macros/, seeds/reference,
seeds/tos, dbt_project.yml and profiles.yml, the dbt vars (ODS codes, input schema; not the period), the
target DB's catalog name (the file stem, which dbt-duckdb writes into every relation name), the dbt/DuckDB
versions and the dbt target. ``run_plan`` attaches the file under the catalog name the plan was compiled for,
so a plan also runs on a renamed copy.

The one value dbt renders from the clock, the upload time of rule IDS00027 (``run_started_at``), is kept
as a placeholder and filled in when the plan runs; the reporting period is a placeholder as well
(``PERIOD_TOKENS``), filled in by ``prepare_plan``, so one compile serves every month. A plan whose SQL
still holds the compile date otherwise is not cached (it is compiled again next time).

The seeds are loaded the way dbt-duckdb loads them (``create table`` with the seed's ``column_types``, then
``COPY ... (FORMAT CSV, HEADER TRUE)``), and only when the table is missing or differs from its CSV file.
Comparing every seed with its file costs ~1 s, so a verified seed is recorded in ``SEED_STAMPS`` (the CSV
file's SHA-256 and the table's row count); the comparison is skipped while file, types and count still match.
The dbt data tests are not evaluated here (``dbt build --select path:models/validation`` still runs them).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Mapping

import duckdb

from .plans import (  # noqa: F401 - the engine's public names
    KEY_PATHS, NOW_TOKENS, PERIOD_TOKENS, PERIOD_TOKENS_VAR, PLAN_DIR_ENV, PLAN_DIR_NAME, PLAN_FORMAT, SEED_PATHS,
    SEED_SELECT, SEED_STAMPS, VALIDATION_PATH,
    EngineUnsupported, Plan, Seed, Step, _dbt_seed, _fill_now, _mark_now, catalog_name,
    compile_detached, compile_dir, compile_plan,
    dbt_target_path, find_plan, load_plan, missing_marts_error, period_leaks, plan_dir, plan_from_manifest,
    plan_key, prepare_plan, save_plan,
)
from .runner import (  # noqa: F401
    DEFAULT_WORKERS, STEP_SECONDS_FILE, Closing, RunStats, _create, connect_input_views, input_views, longest_first,
    read_step_seconds, run_plan, wait_closed, workers, write_step_seconds,
)
from .seed_loading import ensure_seeds, missing_inputs, seeds_needing_dbt  # noqa: F401


def build_validation(target_db: Path, dbt_vars: Mapping[str, Any], warehouse: Path | None = None,
                     read: Callable[[duckdb.DuckDBPyConnection], Any] | None = None,
                     linked: Mapping[str, Path] | None = None,
                     inputs: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
                     memory: bool = False, on_plan: Callable[[Plan], None] | None = None,
                     threads: int | None = None) -> RunStats:
    """The validation models for dbt_vars in target_db: the cached plan (compiled on a miss: ``prepare_plan``),
    then run_plan (``read``, ``linked``, ``inputs``, ``memory``, ``threads``: see there). A plan with a seed
    whose column types are not configured runs in target_db (only `dbt seed` can load that seed), never in
    memory. ``on_plan(plan)`` is called with the plan before it runs (for work beside it on the plan's views
    over the inputs)."""
    began = time.perf_counter()
    plan, compiled = prepare_plan(target_db, dbt_vars, warehouse)
    if on_plan is not None:
        on_plan(plan)
    stats = RunStats(plan_key=plan.key, compiled=compiled)
    if stats.compiled:
        stats.compile_seconds = round(time.perf_counter() - began, 3)
    if seeds_needing_dbt(plan):
        _dbt_seed(target_db, dbt_vars, warehouse)
    run_plan(target_db, plan, stats, read=read, linked=linked, inputs=inputs,
             memory=memory and not seeds_needing_dbt(plan), threads=threads)
    stats.seconds = round(time.perf_counter() - began, 3)
    return stats
