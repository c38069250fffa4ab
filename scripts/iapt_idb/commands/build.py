"""iapt-idb build: local warehouse -> staging -> intermediate -> the 21 IDB marts, with dbt."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .. import build_state, ods, runlock
from ..dbt_runner import run_dbt
from ..errors import EXIT_UNUSABLE
from ..dbtgen.lineage import MART_INCLUSION
from ..paths import DEFAULT_TARGET_DB, DEFAULT_WAREHOUSE, ROOT
from ..periods import parse_period, period_arg
from ..spec import table_names

_CREATED_AT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")
# How DuckDB says it ran out of memory: the build runs once more, one model at a time, when a model failed so
# (run_step).
OUT_OF_MEMORY = "Out of Memory Error"


def add_parser(subparsers: Any, help_text: str) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "build",
        help=help_text,
        description=(
            "Run dbt for one reporting period: load the seeds (national code lists and local->national "
            "mappings), then build and test staging, intermediate and the 21 IDB marts. Data-quality findings "
            "are warnings (reported by 'iapt-idb validate'), so a warehouse with defects still builds: a duplicate or missing key is a finding with its rule code, not a failed build. The provider's ODS code has no default (--provider-ods). Prints, "
            "per IDB table, the staged source rows feeding it and the rows in the month's mart, and how many "
            "referrals are in or out of scope and why. Seeds and staging views unchanged since the last build of "
            "the same target DB are kept as they are (the build says so)."
        ),
    )
    p.add_argument("--period", required=True, type=period_arg, help="reporting period, YYYY-MM (one calendar month)")
    p.add_argument(
        "--warehouse", type=Path, default=DEFAULT_WAREHOUSE,
        help=f"local warehouse DuckDB file, attached read-only (default: {DEFAULT_WAREHOUSE})",
    )
    p.add_argument(
        "--target-db", type=Path, default=DEFAULT_TARGET_DB,
        help=f"DuckDB file dbt builds into (default: {DEFAULT_TARGET_DB})",
    )
    p.add_argument(
        "--created-at", metavar="YYYY-MM-DDTHH:MM:SS",
        help="IDS000 DateTimeDatSetCreate; fix it for byte-identical rebuilds (default: the build time)",
    )
    p.add_argument(
        "--provider-ods", metavar="CODE",
        help="ODS code of the provider, IDS000 OrgIDProv (default: $IAPT_PROVIDER_ODS, else the dbt var "
             "provider_ods_code; there is no built-in default: without one the build refuses)",
    )
    p.add_argument(
        "--submitter-ods", metavar="CODE",
        help="ODS code of the submitting organisation, IDS000 OrgIDSubmit (default: $IAPT_SUBMITTER_ODS, the "
             "dbt var submitter_ods_code, else the provider's)",
    )
    p.add_argument(
        "--full-checks", action="store_true",
        help="also run dbt's unit tests and the data tests on whole source tables (unique and not-null keys "
             "of every warehouse table, every month's history included); without it the build runs the data "
             "tests on seeds, intermediate models and marts only, and keeps unchanged seeds and staging "
             "views. `make test` runs them all",
    )
    p.add_argument(
        "--no-measures", dest="measures", action="store_false",
        help="build the 21 IDB marts without the headline measures (models/intermediate/measures, "
             "models/marts/measures), for the month's submission sooner: the measures, derived from the "
             "whole history, are over a third of the build's work. The measures of an earlier build are removed, "
             "so 'iapt-idb measures' and the site never show another build's figures: build without this "
             "option for them",
    )
    p.add_argument(
        "--select", nargs="+", metavar="SELECTOR",
        help="dbt node selection for 'dbt build' (default: the whole project)",
    )
    return p


def run(args: argparse.Namespace) -> int:
    summary = build_marts(args.period, args.warehouse, args.target_db, args.created_at, select=args.select,
                          provider_ods=args.provider_ods, submitter_ods=args.submitter_ods,
                          full_checks=args.full_checks, measures=args.measures)
    print(format_summary(summary))
    return 0


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """dbt's progress goes to stderr: our stdout carries only the summary."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _check_inputs(period: str, warehouse: Path | None, created_at: str | None) -> None:
    from ..errors import UserError

    try:
        parse_period(period)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if warehouse is not None and not Path(warehouse).is_file():
        raise UserError(
            f"local warehouse {warehouse} does not exist: point --warehouse at the provider warehouse file, "
            "or create a synthetic one with 'iapt-idb generate --out <file>'"
        )
    from ..paths import source_system
    from ..source_systems import require_system

    require_system(source_system())
    if created_at and not _CREATED_AT.match(created_at):
        raise UserError(f"--created-at must be YYYY-MM-DDTHH:MM:SS (for example 2026-11-05T09:00:00), got {created_at!r}")


def build_marts(
    period: str,
    warehouse: Path,
    target_db: Path,
    created_at: str | None = None,
    select: list[str] | None = None,
    provider_ods: str | None = None,
    submitter_ods: str | None = None,
    full_checks: bool = False,
    measures: bool = True,
) -> dict[str, Any]:
    """Seed and build the project for ``period``; return per-table row counts and the scope summary.
    full_checks adds dbt's unit tests and the data tests on the source tables (see build_command); without
    measures the headline measures' models are left out and any an earlier build made are dropped."""
    from .. import pg
    from ..errors import UserError

    if select and not measures:
        raise UserError("--no-measures and --select cannot be combined: --select already chooses the models")
    on_pg = pg.active()
    if on_pg:  # the sources are tables in PostgreSQL ('iapt-idb load-warehouse'), not the DuckDB warehouse
        _check_inputs(period, None, created_at)
    else:
        _check_inputs(period, Path(warehouse), created_at)
    codes = ods.header_vars(provider_ods, submitter_ods)
    if "provider_ods_code" not in codes:
        raise UserError(f"no provider ODS code is configured (IDS000 OrgIDProv has no default): {ods.HOW_TO_SET}")
    if on_pg:
        from ..paths import source_system
        from ..source_systems import require_system, source_relations

        system = source_system()
        relations = source_relations(system, require_system(system), _source_schema())
        pg.check_sources(pg.Settings.from_env(), relations, system)
    else:
        Path(target_db).parent.mkdir(parents=True, exist_ok=True)
    dbt_vars = {"period": period, "dataset_created_at": created_at or "", **codes}
    began = time.perf_counter()
    # What is unchanged since the last whole build of this DB (build_state) is not built again: the seeds
    # (nor their tests) and the staging views; --full-checks builds them all.
    fingerprints: dict[str, str] = {}
    if not on_pg and not select:
        fingerprints[build_state.SEEDS] = build_state.fingerprint()
        views_fp = build_state.views_fingerprint(Path(warehouse), dbt_vars)
        if views_fp:
            fingerprints[build_state.STAGING_VIEWS] = views_fp
    build = build_command(full_checks, measures)
    steps = [["seed"], [*build, "--select", *select]] if select else [build]
    # the exclusive lock on the target DB: a validate or export reading it (shared) and a second build are
    # refused at once, with the holder's PID, instead of meeting DuckDB's file lock half-way
    target_lock = contextlib.nullcontext() if on_pg else runlock.hold(
        Path(target_db), "building the marts", hint="wait for it to finish, or use another --target-db")
    spill = contextlib.nullcontext() if on_pg else duckdb_spill_folder(Path(target_db))
    with target_lock, spill, _stdout_to_stderr():
        if fingerprints and not full_checks:
            if build_state.unchanged(Path(target_db), fingerprints[build_state.SEEDS]):
                steps = [[*steps[0], "resource_type:seed"]]
                print("build: the seeds are unchanged since the last build of this database: not reloaded",
                      file=sys.stderr)
            views = build_state.reusable(Path(target_db), build_state.STAGING_VIEWS,
                                         fingerprints.get(build_state.STAGING_VIEWS, ""))
            if views:
                steps = [[*steps[0], *views]]
                print(f"build: the {len(views)} staging views are unchanged since the last build of this database: "
                      "not re-created", file=sys.stderr)
        if not on_pg:
            build_state.forget(Path(target_db))
        if not measures:
            drop_measures(None if on_pg else Path(target_db))
        for step in steps:
            print(f"build: dbt {' '.join(step)} for {period}", file=sys.stderr, flush=True)
            started = time.time()
            proc = run_step(step, lambda args: run_dbt(args, vars=dbt_vars, warehouse=warehouse, target_db=target_db,
                                                       check=False), retry_out_of_memory=not on_pg)
            if proc.returncode != 0:
                memory = _out_of_memory(_dbt_target_path(), started) and not on_pg
                raise UserError(
                    f"dbt {step[0]} failed for period {period} (exit {proc.returncode}); the failing model or "
                    + ("test is named in dbt's output above. DuckDB ran out of memory even one model at a time: "
                       f"raise its ceiling (IAPT_DUCKDB_MEMORY_LIMIT, now: {memory_limit()}) if the machine has the "
                       "memory, and re-run." if memory else
                       "test is named in dbt's output above. Fix it, or the mapping seed it names, and re-run "
                       "('iapt-idb source check' lists what the source system still lacks)."),
                    exit_code=EXIT_UNUSABLE,
                )
        if fingerprints:
            months = build_state.record(Path(target_db), fingerprints, _dbt_target_path(), period)
            if months:
                print(f"build: a staging view's SQL names a month near {period} ({', '.join(months[:3])}): the "
                      "staging views are re-created by every build", file=sys.stderr)
    if on_pg:  # validate/export compile their plan on their own snapshot of the marts
        summary = pg.summarise(period)
        summary["seconds"] = round(time.perf_counter() - began, 1)
        return summary
    summary = summarise(period, Path(warehouse), Path(target_db))
    summary["seconds"] = round(time.perf_counter() - began, 1)
    _prepare_validation(period, Path(warehouse), Path(target_db), provider_ods)
    return summary


def memory_limit() -> str:
    """DuckDB's memory ceiling for the build, as the profile's memory_limit reads it, for messages."""
    return os.environ.get("IAPT_DUCKDB_MEMORY_LIMIT", "").strip() or "the default in profiles.yml"


def _out_of_memory(target_path: Path, since: float) -> list[str]:
    """The nodes that failed with DuckDB's out-of-memory error in the dbt run that wrote run_results.json, if
    it was written at ``since`` (time.time()) or later: an older file is another run's. (A second's leeway:
    file times come from a coarser clock.)"""
    path = target_path / "run_results.json"
    try:
        if path.stat().st_mtime < since - 1.0:
            return []
        data = json.loads(path.read_text(encoding="utf-8"))
        results = data["results"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return sorted(str(r.get("unique_id", "")) for r in results
                  if isinstance(r, dict) and r.get("status") == "error"
                  and OUT_OF_MEMORY in str(r.get("message") or ""))


def run_step(step: list[str], run: Callable[[list[str]], subprocess.CompletedProcess[str]],
             retry_out_of_memory: bool = True) -> subprocess.CompletedProcess[str]:
    """Run one dbt step; when it failed because DuckDB ran out of memory, run the whole step again with one
    model at a time (dbt --threads 1), so that no two large models share the memory ceiling. The whole step,
    not only what failed: the marts' build stamp (macros/build_manifest.sql) must come from one complete run."""
    started = time.time()
    proc = run(step)
    if proc.returncode == 0 or not retry_out_of_memory:
        return proc
    failed = _out_of_memory(_dbt_target_path(), started)
    if not failed:
        return proc
    short = [u.rsplit(".", 1)[-1] for u in failed]
    names = ", ".join(short[:5]) + (f" and {len(short) - 5} more" if len(short) > 5 else "")
    print(f"build: DuckDB ran out of memory (memory_limit: {memory_limit()}) in {names} with several models at "
          "a time; building again, one model at a time", file=sys.stderr, flush=True)
    return run([*step, "--threads", "1"])


@contextlib.contextmanager
def duckdb_spill_folder(target_db: Path) -> Iterator[Path]:
    """DuckDB's spill folder for the build, ``<target DB>.tmp`` (its default place, so the dbt profile stays the
    same from build to build and dbt keeps its parse): emptied of what a killed build left there, only this user
    can read it while the build runs, and removed after it, whatever happened. It holds pieces of the marts
    (patient data) when the build needs more memory than the profile's memory_limit. Call it under the
    target DB's exclusive lock."""
    folder = Path(str(Path(target_db).resolve()) + ".tmp")  # as dbt_env passes the target DB to dbt
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(mode=0o700)
    os.chmod(folder, 0o700)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# What the monthly build leaves out unless --full-checks: dbt's unit tests (they test the SQL, not the month:
# `make test` and CI run them) and the data tests on source tables (unique/not-null keys over every row of
# every warehouse table, all history: at 340,000 patients a third of the build's test time; a duplicate or
# missing key that reaches the month is a TOS finding with its rule code whether or not they run).
MONTHLY_EXCLUDES = ("test_type:unit", "source:*")


# The headline measures' models: `build --no-measures` leaves them out. Nothing of the IDB reads them.
MEASURES_PATHS = ("models/intermediate/measures", "models/marts/measures")


def build_command(full_checks: bool = False, measures: bool = True) -> list[str]:
    """The `dbt build` arguments: seeds, models and their data tests in DAG order. The TOS validation models are
    left to `iapt-idb validate`, which builds them against whichever IDB it checks."""
    excludes = ["path:models/validation", *(() if full_checks else MONTHLY_EXCLUDES),
                *(() if measures else (f"path:{p}" for p in MEASURES_PATHS))]
    return ["build", "--exclude", *excludes]


def measures_models() -> list[str]:
    """The names of the headline measures' models (the SQL files of MEASURES_PATHS)."""
    return sorted(f.stem for p in MEASURES_PATHS for f in (ROOT / p).glob("*.sql"))


def drop_measures(target_db: Path | None) -> None:
    """Drop the headline measures' relations from target_db (None: the PostgreSQL target schema), in one
    transaction: a build without them must not leave an earlier build's figures beside its marts."""
    names = measures_models()
    if target_db is None:
        from .. import pg

        settings = pg.Settings.from_env()
        con = pg.connect(settings, autocommit=False)
        try:
            with con, con.cursor() as cur:
                cur.execute("select table_name, table_type from information_schema.tables "
                            "where table_schema = %s and table_name = any(%s)", [settings.schema, names])
                for name, kind in cur.fetchall():
                    relation = "view" if kind == "VIEW" else "table"
                    cur.execute(f'drop {relation} if exists "{settings.schema}"."{name}" cascade')
        finally:
            con.close()
        return
    if not Path(target_db).exists():
        return
    import duckdb

    with duckdb.connect(str(target_db)) as con:
        found = con.execute("select table_name, table_type from information_schema.tables "
                            "where table_schema = 'main' and list_contains(?, table_name)", [names]).fetchall()
        con.execute("begin")
        for name, kind in found:
            con.execute(f'drop {"view" if kind == "VIEW" else "table"} if exists main."{name}"')
        con.execute("commit")


def _dbt_target_path() -> Path:
    """Where dbt writes manifest.json (DBT_TARGET_PATH, relative to the project, else target/)."""
    return ROOT / os.environ.get("DBT_TARGET_PATH", "target")


def _source_schema() -> str:
    """The dbt var source_schema of dbt_project.yml: where the source tables are."""
    from ..paths import project_vars

    return str(project_vars().get("source_schema", "cms"))


def _prepare_validation(period: str, warehouse: Path, target_db: Path, provider_ods: str | None) -> None:
    """Compile the validation plans for this period and the build's provider code now, so that `iapt-idb
    validate`/`export` find them warm. A failure only costs that later run a compile: it is reported, never
    fatal to the build."""
    from ..validation.api import prepare_validation_plan, use_dbt

    if use_dbt():
        return
    began = time.perf_counter()
    try:
        with _stdout_to_stderr():
            compiled = prepare_validation_plan(target_db, period, warehouse, provider_ods)
    except Exception as exc:  # noqa: BLE001 - the marts are built; validate compiles (and reports) again
        print(f"build: could not prepare the validation plan ({str(exc).strip()[:500]}); "
              "'iapt-idb validate' will compile it", file=sys.stderr)
        return
    state = f"compiled in {time.perf_counter() - began:.1f}s" if compiled else "already cached"
    print(f"build: validation plan for {period} {state}", file=sys.stderr)


def _count(con: Any, relation: str, where: str = "") -> int | None:
    try:
        return int(con.sql(f'select count(*) from {relation}{" where " + where if where else ""}').fetchone()[0])
    except Exception:  # noqa: BLE001 - a model left out by --select has no relation
        return None


def summarise(period: str, warehouse: Path, target_db: Path) -> dict[str, Any]:
    """Rows staged (source rows feeding each IDB table) and rows in each mart, read from target_db."""
    import duckdb

    con = duckdb.connect(str(target_db), read_only=True)
    try:
        con.execute(f"attach '{Path(warehouse).resolve()}' as local_warehouse (read_only)")
        tables: dict[str, dict[str, int | None]] = {}
        for name in table_names():
            inc = MART_INCLUSION[name]
            staged = None
            if inc.staging:
                counts = [_count(con, f"main.stg_{s}", inc.staging_filter) for s in inc.staging]
                staged = None if None in counts else sum(c for c in counts if c is not None)
            tables[name] = {"staged": staged, "mart": _count(con, f'main."{name}"')}
        try:
            scope = dict(
                con.sql(
                    "select scope_reason, count(*) from main.int_referrals__scoped group by 1 order by 1"
                ).fetchall()
            )
        except duckdb.Error:
            scope = {}
        unmapped = _count(con, "main.int_unmapped_local_codes")
        unmapped_codes = _unmapped_codes(con) if unmapped else []
    finally:
        con.close()
    return {
        "unmapped_codes": unmapped_codes,
        "period": period,
        "warehouse": str(warehouse),
        "target_db": str(target_db),
        "tables": tables,
        "scope": scope,
        "unmapped_local_codes": unmapped,
    }


_UNMAPPED_LISTED = 20


def _unmapped_codes(con: Any) -> list[str]:
    """Each unmapped local code: the system, its source column(s), the code set and the code (a local code,
    never patient data), with its row count; the system's documented source columns where it has them."""
    from .. import contract
    from ..paths import source_system
    from ..source_systems import documented_sources, system_dir

    system = source_system()
    documented = documented_sources(system_dir(system))
    rows = con.sql("select table_name, column_name, code_set, local_code, row_count from main.int_unmapped_local_codes "
                   "order by row_count desc, table_name, column_name, local_code").fetchall()
    out = []
    for entity, column, code_set, code, n in rows:
        model = contract.entity(entity).system_model(system) if entity in {e.name for e in contract.ENTITIES} else ""
        where = ", ".join(documented.get((model, f"{column}_local"), [])) or f"{entity}.{column}"
        out.append(f"system {system}: {where} (contract column {entity}.{column}, code set {code_set}): "
                   f"local code {str(code)!r} on {n} row(s) has no row in mappings/map_{code_set}.csv")
    return out


def format_summary(summary: dict[str, Any]) -> str:
    def n(v: int | None) -> str:
        return "-" if v is None else f"{v:,}"

    lines = [f"IDB marts for {summary['period']} in {summary['target_db']}", ""]
    lines.append(f"{'IDB table':34} {'rows staged':>12} {'rows in mart':>13}")
    for name, c in summary["tables"].items():
        lines.append(f"{name:34} {n(c['staged']):>12} {n(c['mart']):>13}")
    lines += ["", "Referral scope (int_referrals__scoped):"]
    for reason, count in summary["scope"].items():
        lines.append(f"  {reason:44} {count:>8,}")
    if summary.get("unmapped_local_codes"):
        lines += [
            "",
            f"{summary['unmapped_local_codes']} unmapped local code(s) are submitted unchanged: see "
            "int_unmapped_local_codes and add them to source_systems/<system>/mappings/map_<code_set>.csv "
            "('iapt-idb source check' lists them).",
        ]
        listed = summary.get("unmapped_codes") or []
        lines += [f"  {line}" for line in listed[:_UNMAPPED_LISTED]]
        if len(listed) > _UNMAPPED_LISTED:
            lines.append(f"  ... and {len(listed) - _UNMAPPED_LISTED} more (int_unmapped_local_codes)")
    if "seconds" in summary:
        lines += ["", f"dbt build took {summary['seconds']}s"]
    return "\n".join(lines)
