"""Python API of the validation (stable; used by the CLI, ``iapt-idb export --drop-rejected`` and docs).

    run_validation(source, period, report_dir, target_db=None, gx=True) -> ValidationResult
    export_verdict(target_db, period) -> ExportVerdict

``source`` None validates the built marts in ``target_db`` (default: the project's target DB); a directory is
read as one ``<IDB table>.csv`` per table; a ``.accdb``/``.mdb`` file is read with the project's reader. Inputs
other than the marts are loaded into schema ``tos_input`` of a scratch DuckDB and validated there (dbt var
``tos_input_schema``), so the project's target DB is never touched. The scratch folder is a fresh temporary
folder, or $IAPT_VALIDATE_SCRATCH when set (kept afterwards; a stable path keeps dbt's partial parsing warm).

``export_verdict`` (re)builds the validation models on the marts of ``target_db`` for ``period`` and returns
the verdict; ``kept_rows_sql(table)`` selects the mart's rows the platform would keep (after the cascade), in
IDB column order, by the marts' DuckDB rowid (valid until the marts are rebuilt).

Both run the validation models through ``engine`` (the SQL dbt compiled once for the same inputs, cached in
``<dbt target path>/validation_plans/``, run in DuckDB with independent tables side by side); $IAPT_VALIDATE_WITH_DBT=1 runs them
with `dbt build` instead, the models' dbt data tests included.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, NamedTuple, TypeVar

import duckdb

from .. import ods, paths
from ..errors import UserError
from ..dbt_runner import run_dbt
from ..periods import parse_period
from ..provenance import require_complete_build
from . import engine, report
from .sources import INPUT_SCHEMA, StructureProblem, load_accdb, load_csv_dir

T = TypeVar("T")

VALIDATION_SELECT = ["path:seeds/reference", "path:seeds/tos", "path:models/validation"]
# Tests on the national code-list seeds are the seed owner's; the validation run only needs the data.
EXCLUDE_SEED_TESTS = ["resource_type:test,path:seeds/reference"]
VALIDATION_SCHEMA = "main_validation"


@dataclass
class ValidationResult:
    file_rejected: bool
    summary: dict[str, Any]
    report_dir: Path
    failures: list[dict[str, Any]] = field(default_factory=list)
    # how the run went (never in the reports): the engine's RunStats (None when dbt ran the models) and
    # GX's seconds (import, suites, data docs; empty without GX)
    engine_stats: engine.RunStats | None = field(default=None, repr=False)
    gx_timings: dict[str, float] = field(default_factory=dict, repr=False)


@dataclass
class ExportVerdict:
    file_rejected: bool
    reasons: list[str]
    target_db: Path
    schema: str = VALIDATION_SCHEMA
    marts_schema: str = "main"
    engine_stats: engine.RunStats | None = field(default=None, repr=False)  # None when dbt ran the models

    def kept_rows_sql(self, table_name: str) -> str:
        """SELECT over the target DB: the mart's rows the platform would keep (after the cascade), IDB order."""
        from .tables import meta

        m = meta(table_name)
        cols = ", ".join(f'm."{c}"' for c in m.columns)
        return (
            f'select {cols} from "{self.marts_schema}"."{m.name}" as m '
            f"where m.rowid not in (select s.row_id from \"{self.schema}\".tos_rows_removed as s "
            f"where s.table_name = '{m.name}') order by m.rowid"
        )


def _log(msg: str) -> None:
    print(f"validate: {msg}", file=sys.stderr)


def _dbt_vars(period: str, provider_ods: str | None, input_schema: str | None) -> dict[str, Any]:
    v: dict[str, Any] = {"period": period, **ods.header_vars(provider_ods)}  # no code configured: not checked
    if input_schema:
        v["tos_input_schema"] = input_schema
    return v


def _empty_warehouse(path: Path) -> Path:
    con = duckdb.connect(str(path))
    con.execute("create schema if not exists cms")
    con.close()
    return path


def use_dbt() -> bool:
    """$IAPT_VALIDATE_WITH_DBT=1: run the validation models with `dbt build` (and their dbt tests) as before."""
    return os.environ.get("IAPT_VALIDATE_WITH_DBT", "").strip().lower() in ("1", "true", "yes")


class ModelsBuilt(NamedTuple, Generic[T]):
    """What build_validation_models returns: ``read``'s value, and the engine's RunStats (None with dbt)."""

    value: T | None
    engine_stats: engine.RunStats | None


def build_validation_models(
    target_db: Path, period: str, warehouse: Path | None = None, input_schema: str | None = None,
    provider_ods: str | None = None, with_dbt: bool | None = None,
    read: Callable[[duckdb.DuckDBPyConnection], T] | None = None,
) -> ModelsBuilt[T]:
    """The seeds (reference + tos) and the validation models in target_db; then ``read(connection)``, if
    given, on a connection to target_db (its value is returned, with the engine's RunStats).

    By default through the engine (validation/engine.py: the plan dbt compiled once for these inputs, run in
    DuckDB, each relation in its own transaction; the dbt data tests are not evaluated). The engine calls
    ``read`` on its own connection, then closes it (a checkpoint) in the background: this returns while that
    goes on: call ``engine.wait_closed()`` before target_db is opened again in this process.
    ``with_dbt`` (default: $IAPT_VALIDATE_WITH_DBT) runs `dbt build` instead, tests included.
    """
    dbt_vars = _dbt_vars(period, provider_ods, input_schema)
    if not (use_dbt() if with_dbt is None else with_dbt):
        try:
            stats = engine.build_validation(target_db, dbt_vars, warehouse=warehouse, read=read)
            value, stats.read_value = stats.read_value, None  # handed over once, not kept with the stats
            return ModelsBuilt(value, stats)
        except engine.EngineUnsupported as exc:
            _log(f"{exc}: running the validation models with dbt")
    args = ["build", "--select", *VALIDATION_SELECT, "--exclude", *EXCLUDE_SEED_TESTS, "--quiet"]
    proc = run_dbt(args, vars=dbt_vars, warehouse=warehouse, target_db=target_db, quiet=True, check=False)
    if proc.returncode != 0:
        out = proc.stdout or ""
        raise RuntimeError(f"dbt validation build failed (exit {proc.returncode}):\n{out[-6000:]}")
    if read is None:
        return ModelsBuilt(None, None)
    con = duckdb.connect(str(target_db), read_only=True)
    try:
        return ModelsBuilt(read(con), None)
    finally:
        con.close()


def prepare_validation_plan(target_db: Path, period: str, warehouse: Path | None = None) -> bool:
    """Compile (and cache) the validation plan `iapt-idb validate --period` will use on the marts of target_db;
    the seeds must be loaded (as `iapt-idb build` leaves them). -> True when it had to compile."""
    return engine.prepare_plan(Path(target_db), _dbt_vars(period, None, None), warehouse, seeds_loaded=True)[1]


def _warehouse_for(scratch: Path) -> Path:
    """The warehouse dbt attaches (profiles.yml needs one even though validation never reads it)."""
    env = os.environ.get("IAPT_WAREHOUSE_PATH")
    if env and Path(env).exists():
        return Path(env)
    if paths.DEFAULT_WAREHOUSE.exists():
        return paths.DEFAULT_WAREHOUSE
    return _empty_warehouse(scratch / "empty_warehouse.duckdb")


def run_validation(
    source: Path | None, period: str, report_dir: Path, target_db: Path | None = None, gx: bool = True,
    provider_ods: str | None = None,
) -> ValidationResult:
    try:
        parse_period(period)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    # A fixed scratch folder (env IAPT_VALIDATE_SCRATCH) keeps dbt's partial parsing warm between runs.
    fixed = os.environ.get("IAPT_VALIDATE_SCRATCH")
    scratch = Path(fixed) if fixed else Path(tempfile.mkdtemp(prefix="iapt_validate_"))
    scratch.mkdir(parents=True, exist_ok=True)
    problems: list[StructureProblem] = []
    try:
        if source is None:
            db = Path(target_db or paths.DEFAULT_TARGET_DB)
            if not db.exists():
                raise UserError(f"{db}: no target DB with built marts (run 'iapt-idb build' or give a SOURCE)")
            require_complete_build(db, period)  # marts from one complete build of this period (provenance.py)
            source_text = "marts"
            input_schema = None
            warehouse = _warehouse_for(scratch)
            _log(f"validating the marts in {db}")
        else:
            source = Path(source)
            db = scratch / "validate.duckdb"
            db.unlink(missing_ok=True)
            Path(str(db) + ".wal").unlink(missing_ok=True)
            if source.is_dir():
                _log(f"loading CSV directory {source}")
                problems = load_csv_dir(source, db)
            elif source.suffix.lower() in (".accdb", ".mdb"):
                _log(f"loading {source}")
                problems = load_accdb(source, db)
            elif not source.exists():
                raise UserError(f"{source}: no such file or directory")
            else:
                raise UserError(f"{source}: SOURCE must be a directory of IDB CSV files or an .accdb file")
            source_text = source.name
            input_schema = INPUT_SCHEMA
            warehouse = _warehouse_for(scratch)
        _log("running the TOS rules" + (" with dbt" if use_dbt() else ""))
        data, engine_stats = build_validation_models(db, period, warehouse=warehouse, input_schema=input_schema,
                                                     provider_ods=provider_ods, read=report.read_results_from)
        assert data is not None
        try:
            result = report.write_reports(report_dir, data, problems, period=period, source=source_text,
                                          not_checked=ods.not_checked(provider_ods))
        finally:
            engine.wait_closed()
        gx_timings: dict[str, float] = {}
        if gx:
            from .gx import run_gx

            _log("running Great Expectations")
            result["summary"]["great_expectations"] = run_gx(db, report_dir, period, timings=gx_timings)
            report.write_summary(report_dir, result["summary"])
        return ValidationResult(
            file_rejected=result["summary"]["predicted_outcome"] == "file_rejected",
            summary=result["summary"],
            report_dir=report_dir,
            failures=result["failures"],
            engine_stats=engine_stats,
            gx_timings=gx_timings,
        )
    finally:
        if not fixed:
            shutil.rmtree(scratch, ignore_errors=True)


def export_verdict(target_db: Path, period: str) -> ExportVerdict:
    """Validate the marts in target_db for period (dbt) and say what the platform would keep."""
    try:
        parse_period(period)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    target_db = Path(target_db)
    if not target_db.exists():
        raise UserError(f"{target_db}: no target DB with built marts")
    require_complete_build(target_db, period)  # marts from one complete build of this period (provenance.py)
    with tempfile.TemporaryDirectory(prefix="iapt_verdict_") as tmp:
        engine_stats = build_validation_models(target_db, period, warehouse=_warehouse_for(Path(tmp))).engine_stats
    con = duckdb.connect(str(target_db), read_only=True)
    try:
        rows = con.execute(
            f"select rule_code, min(message), count(*) from {VALIDATION_SCHEMA}.tos_failures "
            "where severity = 'file_reject' group by rule_code order by rule_code"
        ).fetchall()
    finally:
        con.close()
    reasons = [f"{code}: {msg} ({n} record(s))" for code, msg, n in rows]
    return ExportVerdict(file_rejected=bool(rows), reasons=reasons, target_db=target_db, engine_stats=engine_stats)
