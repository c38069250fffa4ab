"""One benchmark phase, run in its own child process by ``iapt_idb.bench``.

    python -m iapt_idb.bench.phases PHASE PARAMS.json RESULT.json

Each phase calls the project's real Python API once, times only that call (``seconds``; the
parent also times the whole child, interpreter start and imports included) and writes a JSON
result: ``seconds``, ``rows`` (rows processed) and ``detail`` (what the API returned, made
JSON-safe). Keeping each phase in its own process gives each one its own peak memory figure
and keeps the DuckDB file locks and the JVM out of the benchmark's own process.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # the phases import the project lazily, in their own child process
    from ..validation.engine import RunStats

Result = dict[str, Any]


def jsonable(value: Any) -> Any:
    """Make an API's return value JSON-safe (dataclasses, paths, dates, sets...)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "__dict__") and not callable(value):
        return {k: jsonable(v) for k, v in vars(value).items() if not k.startswith("_")}
    return str(value)


def call_supported(fn: Callable[..., Any], **kwargs: Any) -> tuple[Any, list[str]]:
    """Call fn with the keyword arguments its signature accepts; say which were dropped."""
    params = inspect.signature(fn).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return fn(**kwargs), []
    dropped = [k for k in kwargs if k not in params]
    return fn(**{k: v for k, v in kwargs.items() if k in params}), dropped


def timed(fn: Callable[..., Any], **kwargs: Any) -> tuple[Any, float, list[str]]:
    start = time.perf_counter()
    value, dropped = call_supported(fn, **kwargs)
    return value, time.perf_counter() - start, dropped


def mart_counts(target_db: str) -> dict[str, int]:
    """Rows per IDB mart (main.IDS...) in the dbt target database."""
    import duckdb

    from ..spec import table_names

    with duckdb.connect(target_db, read_only=True) as con:
        return {t: con.execute(f'SELECT count(*) FROM main."{t}"').fetchone()[0] for t in table_names()}


def dbt_profile(keep_as: Path | None, top: int = 8) -> dict[str, Any]:
    """The last dbt invocation's run_results.json: copied to keep_as, summed by node type, slowest nodes."""
    target = Path(os.environ.get("DBT_TARGET_PATH") or "target")
    results = target / "run_results.json"
    if not results.exists():
        return {}
    if keep_as is not None:
        keep_as.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(results, keep_as)
    doc = json.loads(results.read_text())
    nodes = doc.get("results", [])
    by_type: dict[str, float] = {}
    for n in nodes:
        kind = n["unique_id"].split(".")[0]
        by_type[kind] = round(by_type.get(kind, 0.0) + n.get("execution_time", 0.0), 2)
    slowest = sorted(nodes, key=lambda n: -n.get("execution_time", 0.0))[:top]
    return {
        "elapsed_s": round(doc.get("elapsed_time", 0.0), 2),
        "node_seconds_by_type": by_type,
        "slowest": [[n["unique_id"], round(n.get("execution_time", 0.0), 2)] for n in slowest],
    }


# --------------------------------------------------------------------------- phases


def phase_generate(p: dict[str, Any]) -> Result:
    from ..warehouse import generate

    summary, seconds, dropped = timed(
        generate.generate_warehouse,
        out=Path(p["warehouse"]),
        patients=p["patients"],
        seed=p["seed"],
        defect_rate=p["defect_rate"],
        period=p["period"],
        progress=getattr(generate, "stderr_progress", None),  # to the phase log
    )
    detail = jsonable(summary)
    rows = sum(detail.get("rows", {}).values()) if isinstance(detail, dict) else None
    return {"seconds": seconds, "rows": rows, "detail": detail, "dropped_args": dropped}


def phase_build(p: dict[str, Any]) -> Result:
    from ..commands.build import build_marts

    detail, seconds, dropped = timed(  # the provider code: $IAPT_PROVIDER_ODS (harness.child_environment)
        build_marts,
        period=p["period"],
        warehouse=Path(p["warehouse"]),
        target_db=Path(p["target_db"]),
        created_at=p.get("created_at"),
        measures=p.get("measures", True),
    )
    counts = mart_counts(p["target_db"])
    log_name = p.get("log_name", "build")
    dbt = dbt_profile(Path(p["logs"]) / f"{log_name}.run_results.json" if p.get("logs") else None)
    return {"seconds": seconds, "rows": sum(counts.values()), "counts": counts, "detail": jsonable(detail),
            "dbt": dbt, "dropped_args": dropped}


def phase_pg_load(p: dict[str, Any]) -> Result:
    """`iapt-idb load-warehouse`: the DuckDB warehouse copied into PostgreSQL (schema cms), then analysed."""
    from .. import pg

    loaded, seconds, dropped = timed(pg.load_warehouse, warehouse=Path(p["warehouse"]), settings=pg.Settings.from_env())
    return {"seconds": seconds, "rows": sum(loaded.values()), "counts": loaded, "dropped_args": dropped}


def phase_pg_build(p: dict[str, Any]) -> Result:
    """`iapt-idb build` on the postgres target: dbt builds staging, intermediate and the marts in PostgreSQL."""
    from ..commands.build import build_marts

    detail, seconds, dropped = timed(build_marts, period=p["period"], warehouse=Path(p["warehouse"]),
                                     target_db=Path(p["target_db"]), created_at=p.get("created_at"))
    counts = {name: t["mart"] for name, t in detail.get("tables", {}).items() if t.get("mart") is not None}
    dbt = dbt_profile(Path(p["logs"]) / "pg_build.run_results.json" if p.get("logs") else None)
    return {"seconds": seconds, "rows": sum(counts.values()), "counts": counts, "detail": jsonable(detail),
            "dbt": dbt, "dropped_args": dropped}


def _on_pg_snapshot(p: dict[str, Any], phase: Callable[[dict[str, Any]], Result]) -> Result:
    """A phase as the CLI runs it on the postgres target: the model tables copied from PostgreSQL into a private
    scratch DuckDB (pg.marts_source), then the DuckDB phase on that copy. ``seconds`` counts both."""
    from .. import pg

    start = time.perf_counter()
    with pg.marts_source(Path(p["target_db"])) as snapshot:
        copied = time.perf_counter() - start
        result = phase({**p, "target_db": str(snapshot)})
    result["seconds"] = time.perf_counter() - start
    result["copy_models_s"] = round(copied, 2)
    return result


def phase_pg_validate(p: dict[str, Any]) -> Result:
    """`iapt-idb validate` on the postgres target (snapshot of the model tables, then the rules and GX)."""
    return _on_pg_snapshot(p, phase_validate)


def phase_pg_export(p: dict[str, Any]) -> Result:
    """The export on the postgres target (snapshot of the model tables, then the .accdb writer)."""
    return _on_pg_snapshot(p, phase_export)


def validation_profile(run: RunStats | None, keep_as: Path | None) -> dict[str, Any]:
    """What the engine did (its RunStats: plan compiled or cached, seeds loaded, seconds per model), or dbt's
    run_results when the validation ran through dbt (IAPT_VALIDATE_WITH_DBT=1: ``run`` is None)."""
    if run is None:
        return dbt_profile(keep_as) or {}
    slowest = sorted(run.step_seconds.items(), key=lambda kv: -kv[1])[:8]
    return {"engine": True, "plan_compiled": run.compiled, "compile_s": run.compile_seconds,
            "seeds_loaded": run.seeds_loaded, "elapsed_s": run.seconds,
            "slowest": [[name, s] for name, s in slowest]}


def _run_validation_phase(p: dict[str, Any], gx: bool, log_name: str) -> Result:
    from ..validation.api import run_validation

    result, seconds, dropped = timed(
        run_validation,
        source=None,
        period=p["period"],
        report_dir=Path(p["report_dir"]),
        target_db=Path(p["target_db"]),
        gx=gx,
    )
    # failures: one entry per failing record (large, and in the report already); how the run went: below
    detail = jsonable({k: v for k, v in vars(result).items() if k not in ("failures", "engine_stats", "gx_timings")})
    dbt = validation_profile(result.engine_stats,
                             Path(p["logs"]) / f"{log_name}.run_results.json" if p.get("logs") else None)
    out = {"seconds": seconds, "rows": p["rows"], "detail": detail, "dbt": dbt, "dropped_args": dropped}
    if gx:
        out["gx_timings"] = dict(result.gx_timings)
    return out


def phase_validate(p: dict[str, Any]) -> Result:
    """`iapt-idb validate` on the marts: run_validation with GX, as the CLI runs it."""
    return _run_validation_phase(p, gx=True, log_name="validate")


def phase_validate_dbt(p: dict[str, Any]) -> Result:
    """The TOS rules as validation models (engine, or dbt) + reports: run_validation without GX."""
    return _run_validation_phase(p, gx=False, log_name="validate_dbt")


def phase_validate_gx(p: dict[str, Any]) -> Result:
    """The Great Expectations half of run_validation(gx=True), on the validation models of the marts (built
    first, untimed, in the target DB: run_validation builds them in its private scratch DB, which is gone)."""
    from ..validation import engine, gx
    from ..validation.api import build_validation_models

    build_validation_models(Path(p["target_db"]), p["period"])
    engine.wait_closed()
    timings: dict[str, float] = {}
    result, seconds, dropped = timed(
        gx.run_gx, db=Path(p["target_db"]), report_dir=Path(p["report_dir"]), period=p["period"], timings=timings
    )
    return {"seconds": seconds, "rows": p["rows"], "detail": jsonable(result), "dropped_args": dropped,
            "gx_timings": timings}


def phase_verdict(p: dict[str, Any]) -> Result:
    """What `iapt-idb export` runs before writing: export_verdict (the validation models again)."""
    from ..validation.api import export_verdict

    verdict, seconds, dropped = timed(export_verdict, target_db=Path(p["target_db"]), period=p["period"])
    detail = {"file_rejected": verdict.file_rejected, "reasons": verdict.reasons[:10]}
    dbt = validation_profile(verdict.engine_stats,
                             Path(p["logs"]) / "verdict.run_results.json" if p.get("logs") else None)
    return {"seconds": seconds, "rows": p["rows"], "detail": detail, "dbt": dbt, "dropped_args": dropped}


def kept_rows_sql(p: dict[str, Any]) -> Callable[[str], str] | None:
    """With drop_rejected: a SELECT per table of the rows the platform would keep (from validate_dbt)."""
    if not p.get("drop_rejected"):
        return None
    from ..validation.api import ExportVerdict

    return ExportVerdict(file_rejected=False, reasons=[], target_db=Path(p["target_db"])).kept_rows_sql


def phase_export(p: dict[str, Any]) -> Result:
    from ..accdb.writer import export_idb

    out = Path(p["accdb"])
    out.unlink(missing_ok=True)
    manifest, seconds, dropped = timed(
        export_idb,
        target_db=Path(p["target_db"]),
        out=out,
        period=p["period"],
        rows_sql=kept_rows_sql(p),
        progress=False,
    )
    detail = jsonable(manifest)
    rows = _manifest_rows(detail)
    return {"seconds": seconds, "rows": rows if rows is not None else p["rows"], "detail": detail, "dropped_args": dropped}


def _manifest_rows(manifest: Any) -> int | None:
    if isinstance(manifest, dict) and manifest.get("total_rows") is not None:
        return int(manifest["total_rows"])
    return None


def phase_readback(p: dict[str, Any]) -> Result:
    from ..accdb.reader import load_accdb_to_duckdb

    out = Path(p["readback_db"])
    out.unlink(missing_ok=True)
    counts, seconds, dropped = timed(load_accdb_to_duckdb, accdb=Path(p["accdb"]), duckdb_path=out)
    counts = {str(k): int(v) for k, v in dict(counts).items()}
    return {"seconds": seconds, "rows": sum(counts.values()), "counts": counts, "dropped_args": dropped}


def phase_parquet(p: dict[str, Any]) -> Result:
    """Physical baseline: DuckDB copies every mart to Parquet, one scan each."""
    import duckdb

    from ..spec import table_names

    out = Path(p["parquet_dir"])
    out.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(p["target_db"], read_only=True) as con:
        start = time.perf_counter()
        for t in table_names():
            con.execute(f"COPY main.\"{t}\" TO '{out / (t + '.parquet')}' (FORMAT parquet)")
        seconds = time.perf_counter() - start
        rows = sum(con.execute(f'SELECT count(*) FROM main."{t}"').fetchone()[0] for t in table_names())
    size = sum(f.stat().st_size for f in out.glob("*.parquet"))
    return {"seconds": seconds, "rows": rows, "detail": {"bytes": size}}


def phase_onepass(p: dict[str, Any]) -> Result:
    """Physical baseline of the build: DuckDB reads every warehouse table the staging layer reads, once, and
    writes it into a scratch DuckDB file (CREATE TABLE AS, as the build writes its tables), then closes it."""
    import duckdb

    from ..warehouse.schema import SCHEMA, TABLES

    scratch = Path(p["onepass_db"])
    for stale in (scratch, Path(str(scratch) + ".wal")):
        stale.unlink(missing_ok=True)
    rows = 0
    start = time.perf_counter()
    con = duckdb.connect(str(scratch))
    try:
        con.execute(f"ATTACH '{Path(p['warehouse']).resolve()}' AS wh (READ_ONLY)")
        present = {r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'wh' AND schema_name = ?", [SCHEMA]
        ).fetchall()}
        copied = [t.name for t in TABLES if t.name in present]
        for t in copied:
            con.execute(f'CREATE TABLE "{t}" AS SELECT * FROM wh.{SCHEMA}."{t}"')
        con.execute("DETACH wh")
        con.execute("CHECKPOINT")
        rows = sum(con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in copied)
    finally:
        con.close()
    seconds = time.perf_counter() - start
    size = scratch.stat().st_size
    scratch.unlink(missing_ok=True)
    return {"seconds": seconds, "rows": rows, "detail": {"tables": len(copied), "bytes": size}}


def phase_raw_jackcess(p: dict[str, Any]) -> Result:
    """Physical baseline: Jackcess addRows of the same rows, no conversion or checks."""
    from .raw import raw_baseline

    out = Path(p["raw_accdb"])
    out.unlink(missing_ok=True)
    value = raw_baseline(target_db=Path(p["target_db"]), out=out, rows_sql=kept_rows_sql(p))
    detail = {k: v for k, v in value.items() if k not in ("rows", "seconds")}
    return {"seconds": value["seconds"], "rows": value["rows"], "detail": detail}


PHASES: dict[str, Callable[[dict[str, Any]], Result]] = {
    "generate": phase_generate,
    "build": phase_build,
    "prior_build": phase_build,
    "build_idb": phase_build,
    "validate": phase_validate,
    "validate_dbt": phase_validate_dbt,
    "validate_gx": phase_validate_gx,
    "verdict": phase_verdict,
    "export": phase_export,
    "readback": phase_readback,
    "parquet": phase_parquet,
    "raw_jackcess": phase_raw_jackcess,
    "onepass": phase_onepass,
    "pg_load": phase_pg_load,
    "pg_build": phase_pg_build,
    "pg_validate": phase_pg_validate,
    "pg_export": phase_pg_export,
}


def main(argv: list[str]) -> int:
    phase, params_path, result_path = argv
    params = json.loads(Path(params_path).read_text())
    from .. import pg

    # --postgres: the pg_ phases run on the postgres target (IAPT_PG_*), every other phase on DuckDB
    os.environ[pg.TARGET_ENV] = "postgres" if phase.startswith("pg_") else "duckdb"
    result = PHASES[phase](params)
    Path(result_path).write_text(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
