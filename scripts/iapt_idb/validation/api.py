"""Python API of the validation (stable; used by the CLI, ``iapt-idb export --drop-rejected`` and docs).

    run_validation(source, period, report_dir, target_db=None, gx=True) -> ValidationResult
    export_verdict(target_db, period) -> ExportVerdict

``source`` None validates the built marts in ``target_db`` (default: the project's target DB), read through a
READ_ONLY attach under a shared lock (``runlock``), so validations run side by side and never write the marts
file; a directory is read as one ``<IDB table>.csv`` per table; a ``.accdb``/``.mdb`` file is read with the
project's reader. Every input is validated in schema ``tos_input`` of a scratch DuckDB (dbt var
``tos_input_schema``): the marts as views over the target DB, attached READ_ONLY by every connection that reads
them (``sources.link_marts_on``, on the engine's connection: no copy; dbt's path copies them), the other
sources loaded into tables. Validating the marts, the engine makes its relations in memory and no scratch DB
file is written (nothing reads the results afterwards but the reports; a plan is compiled in the plan folder,
``plans.compile_detached``); GX runs beside the engine on a thread of its own, reading the same normalised
views in a second in-memory database (``gx.GxBeside``, ``engine.connect_input_views``), while the engine keeps
to one DuckDB thread. Any other input is checked by GX after the engine, from the scratch DB. The scratch DB
holds the validation's results, and a loaded input's patient data: it lives in a private folder in $TMPDIR,
removed on every exit that can run code (SIGTERM/SIGHUP included) and swept by the next run when a kill left
it; $IAPT_VALIDATE_SCRATCH names a fixed folder instead, which is kept (a stable path keeps dbt's partial
parsing warm) and therefore holds patient data (the last run's results, which can quote input values, and the
last input it loaded). The report folder is locked for the run, its old reports are withdrawn at the start
(INCOMPLETE.txt says so) and the new set is moved in when it is complete, summary.json last.

``export_verdict`` (re)builds the validation models on the marts of ``target_db`` for ``period`` and returns
the verdict; ``kept_rows_sql(table)`` selects the mart's rows the platform would keep (after the cascade), in
IDB column order, by the marts' DuckDB rowid (valid until the marts are rebuilt).

Both run the validation models through ``engine`` (the SQL dbt compiled once for the same inputs, cached in
``<dbt target path>/validation_plans/``, run in DuckDB with independent tables side by side); $IAPT_VALIDATE_WITH_DBT=1 runs them
with `dbt build` instead, the models' dbt data tests included.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import functools
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, NamedTuple, TypeVar

import duckdb

from .. import ods, paths, runlock
from ..errors import UserError
from ..dbt_runner import run_dbt
from ..periods import parse_period
from ..provenance import require_complete_build
from ..testhooks import pause_at
from . import engine, local_rules, report
from .sources import (
    INPUT_SCHEMA, MARTS_CATALOG, StructureProblem, copy_linked_marts, link_marts_on, load_accdb, load_csv_dir,
)
from .summary_schema import GxSummary

T = TypeVar("T")

VALIDATION_SELECT = ["path:seeds/reference", "path:seeds/tos", "path:models/validation"]
# Tests on the national code-list seeds are the seed owner's; the validation run only needs the data.
EXCLUDE_SEED_TESTS = ["resource_type:test,path:seeds/reference"]
VALIDATION_SCHEMA = "main_validation"


@dataclass
class ValidationResult:
    file_rejected: bool
    summary: dict[str, Any]  # summary.json's content (summary_schema.Summary.to_dict())
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
    read: Callable[[duckdb.DuckDBPyConnection], T] | None = None, linked: dict[str, Path] | None = None,
    inputs: Callable[[duckdb.DuckDBPyConnection], None] | None = None, memory: bool = False,
    on_plan: Callable[[engine.Plan], None] | None = None, threads: int | None = None,
) -> ModelsBuilt[T]:
    """The seeds (reference + tos) and the validation models in target_db; then ``read(connection)``, if
    given, on a connection to target_db (its value is returned, with the engine's RunStats). ``linked``: the
    databases target_db's views read (``sources.link_marts_on``), copied into it when dbt has to run instead.
    ``inputs(con)``: makes those views (``sources.link_marts_on``) on the engine's connection. ``memory``: the
    engine makes every relation in memory and never opens target_db (``engine.run_plan``): for a caller that
    needs nothing but ``read``'s value. ``on_plan(plan)``: called with the engine's plan before it runs (not
    when dbt runs the models). ``threads``: the engine's DuckDB threads (``engine.run_plan``).

    By default through the engine (validation/engine.py: the plan dbt compiled once for these inputs, run in
    DuckDB, each relation in its own transaction; the dbt data tests are not evaluated). The engine calls
    ``read`` on its own connection, then closes it (a checkpoint) in the background: this returns while that
    goes on: call ``engine.wait_closed()`` before target_db is opened again in this process.
    ``with_dbt`` (default: $IAPT_VALIDATE_WITH_DBT) runs `dbt build` instead, tests included.
    """
    dbt_vars = _dbt_vars(period, provider_ods, input_schema)
    if not (use_dbt() if with_dbt is None else with_dbt):
        try:
            stats = engine.build_validation(target_db, dbt_vars, warehouse=warehouse, read=read, linked=linked,
                                            inputs=inputs, memory=memory, on_plan=on_plan, threads=threads)
            value, stats.read_value = stats.read_value, None  # handed over once, not kept with the stats
            return ModelsBuilt(value, stats)
        except engine.EngineUnsupported as exc:
            _log(f"{exc}: running the validation models with dbt")
    if linked:
        copy_linked_marts(target_db, linked)  # dbt opens the scratch DB alone: it needs the marts' rows in it
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


def prepare_validation_plan(target_db: Path, period: str, warehouse: Path | None = None,
                            provider_ods: str | None = None) -> bool:
    """Compile (and cache) the validation plans for period: the one `export` runs on the marts of target_db,
    for the configured provider code (export has no flag), and the one `validate` runs in its scratch DB (over
    the marts, or an input copied into schema tos_input) for ``provider_ods`` (a build's --provider-ods; None:
    the configured one), which `validate --provider-ods` with the same code then finds. -> True when either
    had to compile."""
    _, compiled = engine.prepare_plan(Path(target_db), _dbt_vars(period, None, None), warehouse)
    _, scratch_compiled = engine.prepare_plan(Path(SCRATCH_DB_NAME), _dbt_vars(period, provider_ods, INPUT_SCHEMA))
    return compiled or scratch_compiled


def _warehouse_for(scratch: Path) -> Path:
    """The warehouse dbt attaches (profiles.yml needs one even though validation never reads it)."""
    env = os.environ.get("IAPT_WAREHOUSE_PATH")
    if env and Path(env).exists():
        return Path(env)
    if paths.DEFAULT_WAREHOUSE.exists():
        return paths.DEFAULT_WAREHOUSE
    return _empty_warehouse(scratch / "empty_warehouse.duckdb")


# A prefix only these folders use: the sweep removes every folder it matches that no live run has locked.
SCRATCH_PREFIX = "iapt-validate."
ACCDB_SUFFIXES = (".accdb", ".mdb")  # a SOURCE read as an IDB file
SCRATCH_DB_NAME = "validate.duckdb"
def _scratch_folder(stack: contextlib.ExitStack) -> Path:
    """The folder of the scratch DB, which holds a copy of the input (patient data): a private folder in
    $TMPDIR, removed on exit and swept by the next run when its owner died; or $IAPT_VALIDATE_SCRATCH, a
    fixed folder that is kept (dbt's partial parsing stays warm) and then holds the last input's patient data."""
    fixed = _fixed_scratch()
    try:
        if fixed:
            folder = Path(fixed)
            folder.mkdir(parents=True, exist_ok=True)
            os.chmod(folder, 0o700)
            stack.enter_context(runlock.hold(folder / SCRATCH_DB_NAME, "validating (scratch DB)",
                                             hint="wait for it, or unset IAPT_VALIDATE_SCRATCH"))
            return folder
        return stack.enter_context(runlock.private_scratch(None, SCRATCH_PREFIX))
    except OSError as exc:
        where = fixed or tempfile.gettempdir()
        raise UserError(f"cannot create the scratch folder in {where} ({exc.strerror}); set TMPDIR (or "
                        "IAPT_VALIDATE_SCRATCH) to a writable folder with space") from None


def _fixed_scratch() -> str:
    """$IAPT_VALIDATE_SCRATCH: a fixed scratch folder that is kept ("" when unset)."""
    return os.environ.get("IAPT_VALIDATE_SCRATCH", "")


def _report_folder_ok(report_dir: Path) -> None:
    if report_dir.exists() and not report_dir.is_dir():
        raise UserError(f"{report_dir}: --report must be a folder, and this is a file; give a folder path")


def _environment_error(exc: OSError) -> UserError | None:
    """An OSError that says the disk or its permissions are the problem (exit 2, not a bug), or None."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS):
        where = f" {exc.filename}" if exc.filename else ""
        return UserError(f"cannot write{where} ({exc.strerror}); make the report and scratch folders "
                         "writable, with free space, and run again")
    return None


def run_validation(
    source: Path | None, period: str, report_dir: Path, target_db: Path | None = None, gx: bool = True,
    provider_ods: str | None = None, template: Path | None = None,
) -> ValidationResult:
    """Validate ``source`` (None: the built marts in target_db) for period; write the reports into report_dir.

    Every source is validated in a private scratch DB: the marts read in place from target_db, attached
    read-only under a shared lock (validations run side by side, a build waits for them), a CSV directory or
    an .accdb loaded into it. The report folder is locked for the run; its old reports are withdrawn at the
    start and the new set is written beside it and moved in, summary.json last: a summary.json is always a
    finished run's.

    An .accdb's structure is compared with ``template``'s (the official empty IDB; default
    $IAPT_IDB_TEMPLATE), or else with the spec structure the export writes: each difference is an IDSREJ001
    finding."""
    try:
        parse_period(period)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    accdb = source is not None and Path(source).suffix.lower() in ACCDB_SUFFIXES
    if template is not None and not accdb:
        raise UserError("--template applies to an .accdb SOURCE only (its structure is compared with the "
                        "template's); leave it out for the marts or a CSV folder")
    if template is None and accdb:
        template = paths.idb_template()  # the official IDB configured once, if any
    if template is not None:
        from ..accdb.errors import require_template

        require_template(template)  # before the report folder is touched
    report_dir = Path(report_dir)
    _report_folder_ok(report_dir)
    local_rules.check_current()  # the catalogue seed holds the project's current local rules
    with contextlib.ExitStack() as stack:
        stack.enter_context(runlock.exit_on_signals())
        try:
            return _run_validation(stack, source, period, report_dir, target_db, gx, provider_ods, template)
        except OSError as exc:
            err = _environment_error(exc)
            if err is None:
                raise
            raise err from None


def _run_validation(
    stack: contextlib.ExitStack, source: Path | None, period: str, report_dir: Path, target_db: Path | None,
    gx: bool, provider_ods: str | None, template: Path | None,
) -> ValidationResult:
    stack.enter_context(runlock.hold(report_dir, "validating into this report folder",
                                     hint="wait for it to finish, or use another --report folder", tidy=True))
    report.withdraw_reports(report_dir)
    problems: list[StructureProblem] = []
    if source is None:
        marts = Path(target_db or paths.DEFAULT_TARGET_DB)
        if not marts.exists():
            raise UserError(f"{marts}: no target DB with built marts (run 'iapt-idb build' or give a SOURCE)")
        if not marts.is_file():
            raise UserError(f"{marts}: not a DuckDB file; give the target DB 'iapt-idb build' wrote with --target-db")
        stack.enter_context(runlock.hold(marts, "validating the marts", shared=True,
                                         hint="wait for it, or use --target-db"))
        require_complete_build(marts, period)  # marts from one complete build of this period (provenance.py)
        source_text = "marts"
    else:
        source = Path(source)
        if not source.exists():
            raise UserError(f"{source}: no such file or directory")
        if not (source.is_dir() or source.suffix.lower() in ACCDB_SUFFIXES):
            raise UserError(f"{source}: SOURCE must be a directory of IDB CSV files or an .accdb file")
        source_text = source.name
    # The marts are validated by GX beside the TOS rules, each on its own in-memory DuckDB over them: GX's
    # Python work (~10 s of one core at benchmark scale, GIL held) on one core, the rules' DuckDB work (~6 s of
    # one core) on one thread beside it. Any other input: GX after the rules, from the scratch DB.
    gx_beside = gx and source is None and not _fixed_scratch() and not use_dbt()
    scratch = _scratch_folder(stack)
    stack.callback(_wait_closed_quietly)  # the engine's connection closed before the scratch folder goes
    db = scratch / SCRATCH_DB_NAME
    db.unlink(missing_ok=True)
    Path(str(db) + ".wal").unlink(missing_ok=True)
    linked: dict[str, Path] = {}
    inputs = None
    if source is None:
        _log(f"validating the marts in {marts}")
        # read in place, under the shared lock held above: the views over the marts are made on the engine's
        # connection; without GX nothing reads the scratch DB afterwards, so the engine works in memory
        linked = {MARTS_CATALOG: marts}
        inputs = functools.partial(link_marts_on, target_db=marts)
    elif source.is_dir():
        _log(f"loading CSV directory {source}")
        problems = load_csv_dir(source, db)
    else:
        _log(f"loading {source}")
        problems = load_accdb(source, db, template=template)
    warehouse = _warehouse_for(scratch)
    pause_at("validate-loaded")
    staging = stack.enter_context(report.staging_folder(report_dir))
    beside: list[Any] = []  # GX's run beside the rules, once the plan is known (GxBeside)

    def start_gx(plan: engine.Plan) -> None:
        from .gx import GxBeside

        _log("running Great Expectations beside the TOS rules")
        connect = functools.partial(engine.connect_input_views, plan, linked, scratch, inputs)
        beside.append(GxBeside(connect, staging, period))
        stack.callback(beside[0].cancel)  # a failure stops it before the folders it uses go (no-op once done)

    _log("running the TOS rules" + (" with dbt" if use_dbt() else ""))
    data, engine_stats = build_validation_models(db, period, warehouse=warehouse, input_schema=INPUT_SCHEMA,
                                                 provider_ods=provider_ods, read=report.read_results_from,
                                                 linked=linked, inputs=inputs,
                                                 memory=source is None and (not gx or gx_beside)
                                                 and not _fixed_scratch(),
                                                 on_plan=start_gx if gx_beside else None,
                                                 threads=1 if gx_beside else None)
    assert data is not None
    try:
        result = report.write_reports(staging, data, problems, period=period, source=source_text,
                                      not_checked=ods.not_checked(provider_ods))
    finally:
        engine.wait_closed()
    gx_timings: dict[str, float] = {}
    if gx:
        if beside:
            gx_result = beside[0].result()
            gx_timings = beside[0].timings
        else:  # after the rules, from the scratch DB (dbt ran the rules, or the input was loaded into it)
            from .gx import run_gx

            _log("running Great Expectations")
            gx_result = run_gx(db, staging, period, timings=gx_timings, linked=linked)
        result["summary"] = dataclasses.replace(result["summary"], great_expectations=GxSummary(**gx_result))
        report.write_summary(staging, result["summary"])
    pause_at("validate-staged")
    report.commit_reports(staging, report_dir)
    return ValidationResult(
        file_rejected=result["summary"].file_rejected,
        summary=result["summary"].to_dict(),
        report_dir=report_dir,
        failures=result["failures"],
        engine_stats=engine_stats,
        gx_timings=gx_timings,
    )


def _wait_closed_quietly() -> None:
    with contextlib.suppress(Exception):
        engine.wait_closed()


def export_verdict(target_db: Path, period: str) -> ExportVerdict:
    """Validate the marts in target_db for period (dbt) and say what the platform would keep."""
    try:
        parse_period(period)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    target_db = Path(target_db)
    if not target_db.exists():
        raise UserError(f"{target_db}: no target DB with built marts")
    local_rules.check_current()
    require_complete_build(target_db, period)  # marts from one complete build of this period (provenance.py)
    from ..runlock import private_scratch  # removed on exit, swept by the next run when this one is killed

    with private_scratch(None, "iapt_verdict_") as tmp:
        engine_stats = build_validation_models(target_db, period, warehouse=_warehouse_for(tmp)).engine_stats
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
