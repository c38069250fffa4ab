"""Run the TOS validation models without dbt on the per-month path: compile once, then plain DuckDB.

    prepare_plan(target_db, dbt_vars, warehouse) -> Plan     cached plan, or `dbt compile` on a cache miss
    compile_plan(target_db, dbt_vars, warehouse) -> Plan     `dbt compile --select path:models/validation`
    run_plan(target_db, plan) -> RunStats                    plain DuckDB, independent tables at the same time,
                                                             the longest first, then read(con) and close

A plan is what dbt compiled for the validation models: per model (in dependency order) its relation,
materialization (table/view) and SQL, plus the stored-failure tables of the data tests configured with
``store_failures`` (the rule codes per table), the reference/tos seeds the models read and the marts they
need. Plans are cached as ``<dbt target path>/validation_plans/<key>.json`` (DBT_TARGET_PATH, else the
project's ``target/``); dbt compiles into ``validation_plans/dbt/`` so the build's own manifest and
run_results stay untouched. The key hashes everything the compiled SQL depends on: the files under models/,
macros/, seeds/reference, seeds/tos, dbt_project.yml and profiles.yml, the dbt vars (period, ODS codes,
input schema), the target DB's catalog name (the file stem, which dbt-duckdb writes into every relation
name), the dbt/DuckDB versions and the dbt target. ``run_plan`` attaches the file under the catalog name the
plan was compiled for, so a plan also runs on a renamed copy.

The one value dbt renders from the clock, the upload time of rule IDS00027 (``run_started_at``), is kept
as a placeholder and filled in when the plan runs. A plan whose SQL still holds the compile date otherwise is
not cached (it is compiled again next time).

The seeds are loaded the way dbt-duckdb loads them (``create table`` with the seed's ``column_types``, then
``COPY ... (FORMAT CSV, HEADER TRUE)``), and only when the table is missing or differs from its CSV file.
Comparing every seed with its file costs ~1 s, so a verified seed is recorded in ``SEED_STAMPS`` (the CSV
file's SHA-256 and the table's row count); the comparison is skipped while file, types and count still match.
The dbt data tests are not evaluated here (``dbt build --select path:models/validation`` still runs them).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping

import duckdb

from ..errors import UserError
from ..dbt_runner import run_dbt
from ..paths import ROOT

log = logging.getLogger(__name__)

PLAN_FORMAT = 2
# Relations (tables) created at the same time, each on its own DuckDB connection: the TOS check groups read
# tables of one or two row groups (~120k rows), which DuckDB scans on one thread each, so running two of
# them at once uses the second core. The longest ready step starts first (by the last run's durations), and
# steps side by side get one DuckDB thread each (``_Threads``). $IAPT_VALIDATE_WORKERS overrides it (1 runs
# the steps one after the other).
DEFAULT_WORKERS = 2
VALIDATION_PATH = "models/validation"
SEED_PATHS = ("seeds/reference", "seeds/tos")
# Seeds verified equal to their CSV file: (seed, csv_sha256, row count) -- a cache, safe to drop.
SEED_STAMPS = ("main_validation", "tos_engine_seed_stamps")
SEED_SELECT = [f"path:{p}" for p in SEED_PATHS]
KEY_PATHS = ("models", "macros", *SEED_PATHS, "dbt_project.yml")
PLAN_DIR_NAME = "validation_plans"
# How long each step took last time (step name -> seconds), for starting the longest ready steps first
# (a subfolder, so that it is never taken for a plan).
STEP_SECONDS_FILE = "runs/step_seconds.json"
KEEP_PLANS = 20
# Placeholders for the time of validation (dbt's run_started_at) in the compiled SQL: (token, utc?, format)
NOW_TOKENS = (
    ("__IAPT_NOW_UTC_T__", True, "%Y-%m-%dT%H:%M:%S"),
    ("__IAPT_NOW_UTC_S__", True, "%Y-%m-%d %H:%M:%S"),
    ("__IAPT_NOW_LOCAL_T__", False, "%Y-%m-%dT%H:%M:%S"),
    ("__IAPT_NOW_LOCAL_S__", False, "%Y-%m-%d %H:%M:%S"),
)
_TIMESTAMP_LITERAL = re.compile(r"'(\d{4}-\d\d-\d\d)([T ])(\d\d:\d\d:\d\d)'")


class EngineUnsupported(RuntimeError):
    """A validation model uses something the engine does not replicate: run the models with dbt instead."""


@dataclass(frozen=True)
class Step:
    """One relation the plan creates: a model (table/view) or a data test's stored failures (table)."""

    name: str
    schema: str
    identifier: str
    materialized: str
    sql: str
    comment: str | None = None
    column_comments: dict[str, str] = field(default_factory=dict)
    depends_on: list[str] = field(default_factory=list)  # names of the steps it reads (run before it)


@dataclass(frozen=True)
class Seed:
    name: str
    schema: str
    identifier: str
    path: str  # relative to the project root
    columns: list[tuple[str, str]]  # (name, type) in file order; [] when a type is not configured
    delimiter: str = ","


@dataclass(frozen=True)
class Plan:
    key: str
    catalog: str
    steps: list[Step]
    seeds: list[Seed]
    inputs: list[tuple[str, str]]  # (schema, table) the steps read that are neither steps nor seeds: the marts
    cacheable: bool = True
    format: int = PLAN_FORMAT

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @staticmethod
    def from_json(text: str) -> Plan:
        d = json.loads(text)
        return Plan(
            key=d["key"], catalog=d["catalog"], cacheable=d["cacheable"], format=d["format"],
            steps=[Step(**s) for s in d["steps"]],
            seeds=[Seed(**{**s, "columns": [tuple(c) for c in s["columns"]]}) for s in d["seeds"]],
            inputs=[tuple(i) for i in d["inputs"]],  # type: ignore[misc]
        )


@dataclass
class RunStats:
    """What the last run did (for the benchmark's phase log)."""

    plan_key: str = ""
    compiled: bool = False
    compile_seconds: float = 0.0
    seeds_loaded: list[str] = field(default_factory=list)
    step_seconds: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    read_value: Any = field(default=None, repr=False)  # what run_plan's ``read`` returned


# --------------------------------------------------------------------------- cache


def dbt_target_path() -> Path:
    """dbt's target folder: $DBT_TARGET_PATH (relative to the project) or the project's target/."""
    env = os.environ.get("DBT_TARGET_PATH")
    return (ROOT / env) if env else ROOT / "target"


def plan_dir() -> Path:
    return dbt_target_path() / PLAN_DIR_NAME


def catalog_name(target_db: Path) -> str:
    """The catalog dbt-duckdb names the target DB by (and writes into every compiled relation name)."""
    return Path(target_db).stem


def _versions() -> str:
    parts = []
    for dist in ("dbt-core", "dbt-duckdb", "duckdb"):
        try:
            parts.append(f"{dist}={metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{dist}=?")
    return ";".join(parts)


def _key_files() -> list[Path]:
    files: list[Path] = []
    for rel in KEY_PATHS:
        p = ROOT / rel
        files += [p] if p.is_file() else sorted(f for f in p.rglob("*") if f.is_file() and "__pycache__" not in f.parts)
    profiles = Path(os.environ.get("DBT_PROFILES_DIR") or ROOT) / "profiles.yml"
    if profiles.is_file():
        files.append(profiles)
    return files


def plan_key(target_db: Path, dbt_vars: Mapping[str, Any]) -> str:
    """Hash of everything the compiled validation SQL depends on."""
    h = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        h.update(f"{label}\0{len(data)}\0".encode())
        h.update(data)

    add("format", str(PLAN_FORMAT).encode())
    add("versions", _versions().encode())
    add("dbt_target", os.environ.get("IAPT_DBT_TARGET", "duckdb").encode())
    add("vars", json.dumps(dict(dbt_vars), sort_keys=True).encode())
    add("catalog", catalog_name(target_db).encode())
    for f in _key_files():
        rel = f.relative_to(ROOT).as_posix() if f.is_relative_to(ROOT) else str(f)
        add(rel, f.read_bytes())
    return h.hexdigest()[:32]


def load_plan(key: str) -> Plan | None:
    path = plan_dir() / f"{key}.json"
    try:
        plan = Plan.from_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return plan if plan.format == PLAN_FORMAT and plan.key == key else None


def save_plan(plan: Plan) -> Path:
    folder = plan_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{plan.key}.json"
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(plan.to_json(), encoding="utf-8")
    os.replace(tmp, path)
    for old in sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)[KEEP_PLANS:]:
        old.unlink(missing_ok=True)
    return path


# --------------------------------------------------------------------------- compile


def _topological(nodes: dict[str, dict[str, Any]]) -> list[str]:
    """Node ids in dependency order (depends_on.nodes within ``nodes``); ties by name, for a stable order."""
    deps = {k: {d for d in v["depends_on"]["nodes"] if d in nodes} for k, v in nodes.items()}
    order: list[str] = []
    ready = sorted(k for k, d in deps.items() if not d)
    while ready:
        k = ready.pop(0)
        order.append(k)
        for other, d in deps.items():
            if k in d:
                d.discard(k)
                if not d and other not in order and other not in ready:
                    ready.append(other)
        ready.sort()
    if len(order) != len(nodes):
        raise RuntimeError(f"dependency cycle among the validation models: {sorted(set(nodes) - set(order))}")
    return order


def _mark_now(sql: str, began: datetime, ended: datetime) -> str:
    """Replace timestamp literals rendered from dbt's clock during the compile with NOW_TOKENS."""
    lo, hi = began - timedelta(seconds=2), ended + timedelta(seconds=2)
    windows = {True: (lo.replace(tzinfo=None), hi.replace(tzinfo=None)),
               False: (lo.astimezone().replace(tzinfo=None), hi.astimezone().replace(tzinfo=None))}

    def sub(m: re.Match[str]) -> str:
        value = datetime.strptime(f"{m.group(1)} {m.group(3)}", "%Y-%m-%d %H:%M:%S")
        for token, utc, fmt in NOW_TOKENS:
            if fmt[8] == m.group(2) and windows[utc][0] <= value <= windows[utc][1]:
                return f"'{token}'"
        return m.group(0)

    return _TIMESTAMP_LITERAL.sub(sub, sql)


def _fill_now(sql: str, now: datetime) -> str:
    for token, utc, fmt in NOW_TOKENS:
        if token in sql:
            sql = sql.replace(token, (now if utc else now.astimezone()).strftime(fmt))
    return sql


def _seed(node: dict[str, Any]) -> Seed:
    path = ROOT / node["original_file_path"]
    with path.open(newline="", encoding="utf-8-sig") as fh:
        header = next(csv.reader(fh, delimiter=node["config"].get("delimiter") or ","), [])
    types = {k.lower(): v for k, v in (node["config"].get("column_types") or {}).items()}
    columns = [(c, types[c.lower()]) for c in header] if all(c.lower() in types for c in header) else []
    return Seed(node["name"], node["schema"], node["alias"], node["original_file_path"], columns,
                node["config"].get("delimiter") or ",")


def _step(node: dict[str, Any], materialized: str, depends_on: list[str]) -> Step:
    docs = node["config"].get("persist_docs") or {}
    comment = (node.get("description") or None) if docs.get("relation") else None
    cols = {
        (json.dumps(c["name"]) if c.get("quote") else c["name"]): c["description"]
        for c in node.get("columns", {}).values() if docs.get("columns") and c.get("description")
    }
    return Step(node["name"], node["schema"], node["alias"], materialized, node["compiled_code"], comment, cols,
                depends_on)


def _step_deps(node: dict[str, Any], models: dict[str, dict[str, Any]]) -> list[str]:
    """The validation models a node reads (by name, sorted)."""
    return sorted({models[d]["name"] for d in node["depends_on"]["nodes"] if d in models})


def plan_from_manifest(manifest: dict[str, Any], key: str, began: datetime, ended: datetime) -> Plan:
    """The plan for the validation models in a manifest written by `dbt compile`."""
    nodes = manifest["nodes"]
    models = {k: v for k, v in nodes.items()
              if v["resource_type"] == "model" and v["original_file_path"].startswith(VALIDATION_PATH + "/")}
    if not models:
        raise RuntimeError(f"no models under {VALIDATION_PATH} in dbt's manifest")
    steps: list[Step] = []
    for uid in _topological(models):
        node = models[uid]
        mat = node["config"]["materialized"]
        contract = (node["config"].get("contract") or {}).get("enforced")
        hooks = node["config"].get("pre-hook") or node["config"].get("post-hook")
        if mat not in ("table", "view") or contract or hooks or node.get("compiled_code") is None:
            raise EngineUnsupported(f"{node['name']}: materialization {mat!r}, contract or hooks are not supported "
                                    "by the validation engine")
        steps.append(_step(node, mat, _step_deps(node, models)))
    catalogs = {v["database"] for v in models.values()}
    if len(catalogs) != 1:
        raise EngineUnsupported(f"validation models span several catalogs: {sorted(catalogs)}")
    # The data tests that store their failures (the rule codes per table): dbt creates them as tables.
    for uid, node in sorted(nodes.items()):
        if (node["resource_type"] == "test" and node["config"].get("store_failures")
                and node["config"].get("store_failures_as", "table") in (None, "table")
                and node.get("compiled_code") is not None and node["depends_on"]["nodes"]
                and all(d in models for d in node["depends_on"]["nodes"])):
            steps.append(Step(node["name"], node["schema"], node["alias"], "table", node["compiled_code"],
                              depends_on=_step_deps(node, models)))
    steps = [Step(**{**asdict(s), "sql": _mark_now(s.sql, began, ended)}) for s in steps]
    needed = {d for v in models.values() for d in v["depends_on"]["nodes"]}
    seeds = [_seed(v) for k, v in sorted(nodes.items()) if v["resource_type"] == "seed"
             and (k in needed or v["original_file_path"].startswith(tuple(p + "/" for p in SEED_PATHS)))]
    inputs = sorted({(nodes[d]["schema"], nodes[d]["alias"]) for d in needed
                     if d in nodes and d not in models and nodes[d]["resource_type"] == "model"})
    today = {began.strftime("%Y-%m-%d"), began.astimezone().strftime("%Y-%m-%d")}
    cacheable = not any(day in s.sql for s in steps for day in today)
    if not cacheable:
        log.debug("the compiled validation SQL holds today's date: plan not cached")
    return Plan(key=key, catalog=catalogs.pop(), steps=steps, seeds=seeds, inputs=inputs, cacheable=cacheable)


def compile_plan(target_db: Path, dbt_vars: Mapping[str, Any], warehouse: Path | None = None) -> Plan:
    """`dbt compile` the validation models against target_db (its tos seeds must be loaded) and cache the plan."""
    key = plan_key(target_db, dbt_vars)
    target = plan_dir() / "dbt"
    began = datetime.now(timezone.utc)
    proc = run_dbt(["compile", "--select", f"path:{VALIDATION_PATH}", "--target-path", str(target), "--quiet"],
                   vars=dbt_vars, warehouse=warehouse, target_db=target_db, quiet=True, check=False)
    ended = datetime.now(timezone.utc)
    if proc.returncode != 0:
        raise RuntimeError(f"dbt compile of the validation models failed (exit {proc.returncode}):\n"
                           f"{(proc.stdout or '')[-6000:]}")
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    plan = plan_from_manifest(manifest, key, began, ended)
    if plan.cacheable and plan_key(target_db, dbt_vars) == key:  # no project file changed while dbt compiled
        save_plan(plan)
    log.debug("compiled validation plan %s (%d steps) in %.1fs", key, len(plan.steps), (ended - began).total_seconds())
    return plan


def prepare_plan(target_db: Path, dbt_vars: Mapping[str, Any], warehouse: Path | None = None,
                 seeds_loaded: bool = False) -> tuple[Plan, bool]:
    """The cached plan for these inputs, or a fresh compile (loading the seeds with dbt first unless
    ``seeds_loaded``: dbt reads the rules catalogue from the target DB while compiling). -> (plan, compiled)"""
    plan = load_plan(plan_key(target_db, dbt_vars))
    if plan is not None:
        return plan, False
    if not dbt_vars.get("tos_input_schema"):
        _require_marts(target_db)  # before a dbt compile is spent on them
    if not seeds_loaded:
        _dbt_seed(target_db, dbt_vars, warehouse)
    return compile_plan(target_db, dbt_vars, warehouse), True


def _require_marts(target_db: Path) -> None:
    """The UserError naming the IDB marts missing from schema main of target_db, if any."""
    from ..spec import table_names

    con = duckdb.connect(str(target_db), read_only=True)
    try:
        present = {n for n, in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'main' "
            "union all select view_name from duckdb_views() where schema_name = 'main'").fetchall()}
    finally:
        con.close()
    missing = [t for t in table_names() if t not in present]
    if missing:
        raise missing_marts_error(target_db, missing)


def _dbt_seed(target_db: Path, dbt_vars: Mapping[str, Any], warehouse: Path | None) -> None:
    proc = run_dbt(["seed", "--select", *SEED_SELECT, "--quiet"], vars=dbt_vars, warehouse=warehouse,
                   target_db=target_db, quiet=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"dbt seed failed (exit {proc.returncode}):\n{(proc.stdout or '')[-6000:]}")


# --------------------------------------------------------------------------- run


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _relations(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[tuple[str, str], str]:
    """(schema, name) -> 'table' | 'view' for every relation of the catalog."""
    rows = con.execute(
        f"select schema_name, table_name, 'table' from duckdb_tables() where database_name = {_lit(catalog)} "
        f"union all select schema_name, view_name, 'view' from duckdb_views() where database_name = {_lit(catalog)} "
        "and not internal"
    ).fetchall()
    return {(s, n): k for s, n, k in rows}


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[str, str]]:
    """(name, type) of a relation's columns (the catalog functions are much slower per call)."""
    return [(d[0], str(d[1])) for d in con.execute(f"select * from {relation} limit 0").description]


def seeds_needing_dbt(plan: Plan) -> list[str]:
    """Seeds whose column types are not all configured: only `dbt seed` knows how it would type them."""
    return [s.name for s in plan.seeds if not s.columns]


def _read_csv(seed: Seed) -> str:
    cols = ", ".join(f"{_lit(c)}: {_lit(t)}" for c, t in seed.columns)
    return (f"read_csv({_lit(str(ROOT / seed.path))}, header = true, delim = {_lit(seed.delimiter)}, "
            f"columns = {{{cols}}})")


def _stale_seeds(con: duckdb.DuckDBPyConnection, plan: Plan,
                 existing: dict[tuple[str, str], str]) -> tuple[list[Seed], bool]:
    """The seeds whose table is missing, typed differently or holds other rows than its CSV file (one query),
    and whether every seed was vouched for by its stamp (then the stamps need no refresh)."""
    seeds = [s for s in plan.seeds if s.columns]
    if not seeds:
        return [], True
    types = con.execute("select " + ", ".join(f"typeof(cast(null as {t}))" for s in seeds for _, t in s.columns)).fetchone()
    expected: dict[str, list[tuple[str, str]]] = {}
    i = 0
    for s in seeds:
        expected[s.name] = [(c, str(types[i + j])) for j, (c, _) in enumerate(s.columns)]  # type: ignore[index]
        i += len(s.columns)
    rows = con.execute(
        "select schema_name, table_name, column_name, data_type from duckdb_columns() "
        f"where database_name = {_lit(plan.catalog)} order by schema_name, table_name, column_index").fetchall()
    actual: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema, table, col, typ in rows:
        actual.setdefault((schema, table), []).append((col, typ))
    stale = [s for s in seeds if existing.get((s.schema, s.identifier)) != "table"
             or actual.get((s.schema, s.identifier)) != expected[s.name]]
    stamps = _read_stamps(con, plan, existing)
    counts = _row_counts(con, plan, [s for s in seeds if s not in stale])
    check = [s for s in seeds if s not in stale and stamps.get(s.name) != (_file_sha256(s), counts.get(s.name))]
    if check:
        diffs = " union all ".join(
            f"select {_lit(s.name)} as seed, (select count(*) from (select * from {_read_csv(s)} except all "
            f"select * from {_q(plan.catalog)}.{_q(s.schema)}.{_q(s.identifier)})) + (select count(*) from (select * "
            f"from {_q(plan.catalog)}.{_q(s.schema)}.{_q(s.identifier)} except all select * from {_read_csv(s)})) as n"
            for s in check)
        differ = {name for name, n in con.execute(diffs).fetchall() if n}
        return stale + [s for s in check if s.name in differ], False
    return stale, not stale


def _file_sha256(seed: Seed) -> str:
    return hashlib.sha256((ROOT / seed.path).read_bytes()).hexdigest()


def _stamps_relation(plan: Plan) -> str:
    return f"{_q(plan.catalog)}.{_q(SEED_STAMPS[0])}.{_q(SEED_STAMPS[1])}"


def _read_stamps(con: duckdb.DuckDBPyConnection, plan: Plan,
                 existing: dict[tuple[str, str], str]) -> dict[str, tuple[str, int]]:
    if existing.get(SEED_STAMPS) != "table":
        return {}
    rows = con.execute(f"select seed, csv_sha256, row_count from {_stamps_relation(plan)}").fetchall()
    return {name: (sha, int(n)) for name, sha, n in rows}


def _row_counts(con: duckdb.DuckDBPyConnection, plan: Plan, seeds: list[Seed]) -> dict[str, int]:
    if not seeds:
        return {}
    sql = " union all ".join(
        f"select {_lit(s.name)}, count(*) from {_q(plan.catalog)}.{_q(s.schema)}.{_q(s.identifier)}" for s in seeds)
    return {name: int(n) for name, n in con.execute(sql).fetchall()}


def _refresh_stamps(con: duckdb.DuckDBPyConnection, plan: Plan) -> None:
    """Record every typed seed as verified (called once they all equal their CSV files), when that changed."""
    seeds = [s for s in plan.seeds if s.columns]
    counts = _row_counts(con, plan, seeds)
    stamps = {s.name: (_file_sha256(s), counts[s.name]) for s in seeds}
    if _read_stamps(con, plan, _relations(con, plan.catalog)) == stamps:
        return
    con.execute(f"create schema if not exists {_q(plan.catalog)}.{_q(SEED_STAMPS[0])}")
    con.execute(f"create or replace table {_stamps_relation(plan)} "
                "(seed varchar, csv_sha256 varchar, row_count bigint)")
    if stamps:
        con.execute(f"insert into {_stamps_relation(plan)} values "
                    + ", ".join(f"({_lit(name)}, {_lit(sha)}, {int(n)})" for name, (sha, n) in sorted(stamps.items())))


def ensure_seeds(con: duckdb.DuckDBPyConnection, plan: Plan, existing: dict[tuple[str, str], str]) -> list[str]:
    """(Re)load each seed that is missing or differs from its CSV file, as dbt-duckdb loads it: create table with
    the seed's column_types, then COPY FROM the file. -> the names of the seeds loaded"""
    loaded = []
    stale, stamped = _stale_seeds(con, plan, existing)
    for s in stale:
        target = f"{_q(plan.catalog)}.{_q(s.schema)}.{_q(s.identifier)}"
        con.execute(f"create schema if not exists {_q(plan.catalog)}.{_q(s.schema)}")
        kind = existing.get((s.schema, s.identifier))
        if kind:
            con.execute(f"drop {kind} {target}")
        con.execute(f"create table {target} ({', '.join(f'{_q(c)} {t}' for c, t in s.columns)})")
        con.execute(f"copy {target} from {_lit(str(ROOT / s.path))} "
                    f"(FORMAT CSV, HEADER TRUE, DELIMITER {_lit(s.delimiter)})")
        loaded.append(s.name)
    if not stamped:
        _refresh_stamps(con, plan)
    if loaded:
        log.debug("validation: seeds loaded: %s", ", ".join(loaded))
    return loaded


def missing_inputs(plan: Plan, existing: dict[tuple[str, str], str]) -> list[str]:
    return [f"{s}.{t}" for s, t in plan.inputs if (s, t) not in existing]


def missing_marts_error(target_db: Path, missing: list[str]) -> UserError:
    """What to say when the IDB marts a validation reads are not in the target DB."""
    return UserError(
        f"{target_db}: the IDB marts are missing ({', '.join(missing[:4])}{' ...' if len(missing) > 4 else ''}): "
        "build them first with 'iapt-idb build --period YYYY-MM', or validate an .accdb/CSV SOURCE"
    )


def _create(con: duckdb.DuckDBPyConnection, plan: Plan, step: Step, existing: dict[tuple[str, str], str],
            now: datetime) -> None:
    rel = f"{_q(plan.catalog)}.{_q(step.schema)}.{_q(step.identifier)}"
    # What dbt drops: a relation of the other kind in the way, and its own leftover __dbt_tmp/__dbt_backup.
    for name in (step.identifier, f"{step.identifier}__dbt_tmp", f"{step.identifier}__dbt_backup"):
        kind = existing.get((step.schema, name))
        if kind and (name != step.identifier or kind != step.materialized):
            con.execute(f"drop {kind} {_q(plan.catalog)}.{_q(step.schema)}.{_q(name)}")
    con.execute(f"create or replace {step.materialized} {rel} as (\n{_fill_now(step.sql, now)}\n)")
    if step.comment:
        con.execute(f"comment on {step.materialized} {rel} is {_lit(step.comment)}")
    if step.column_comments:
        present = {c for c, _ in _columns(con, rel)}
        for col, text in step.column_comments.items():
            if col.strip('"') in present:
                con.execute(f"comment on column {rel}.{col} is {_lit(text)}")


def workers() -> int:
    """How many relations run_plan creates at the same time ($IAPT_VALIDATE_WORKERS, default DEFAULT_WORKERS)."""
    text = os.environ.get("IAPT_VALIDATE_WORKERS", "").strip()
    try:
        n = int(text) if text else DEFAULT_WORKERS
    except ValueError:
        raise UserError(f"IAPT_VALIDATE_WORKERS={text!r}: give a whole number of workers (1 or more)") from None
    return max(1, n)


def _connect(target_db: Path, plan: Plan) -> duckdb.DuckDBPyConnection:
    wait_closed()
    con = duckdb.connect()
    con.execute("set enable_progress_bar = false")
    # Attach under the catalog name the SQL was compiled with (the file stem, unless the file was renamed).
    con.execute(f"attach {_lit(str(Path(target_db).resolve()))} as {_q(plan.catalog)}")
    con.execute(f"use {_q(plan.catalog)}")
    return con


def _prepare(con: duckdb.DuckDBPyConnection, target_db: Path, plan: Plan, stats: RunStats) -> None:
    """Seeds loaded and verified, marts present, schemas created: one transaction."""
    con.execute("begin")
    t = time.perf_counter()
    try:
        existing = _relations(con, plan.catalog)
        missing = missing_inputs(plan, existing)
        if missing:
            raise missing_marts_error(target_db, missing)
        stats.seeds_loaded = ensure_seeds(con, plan, existing)
        stats.step_seconds["(seeds)"] = round(time.perf_counter() - t, 3)
        for schema in sorted({s.schema for s in plan.steps}):
            con.execute(f"create schema if not exists {_q(plan.catalog)}.{_q(schema)}")
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")


def _run_step(con: duckdb.DuckDBPyConnection, target_db: Path, plan: Plan, step: Step,
              existing: dict[tuple[str, str], str], now: datetime, stats: RunStats) -> None:
    t = time.perf_counter()
    con.execute("begin")
    try:
        _create(con, plan, step, existing, now)
    except duckdb.Error as exc:
        con.execute("rollback")
        raise RuntimeError(
            f"validation model {step.name} failed on {target_db}: {exc}\n"
            "(re-run with IAPT_VALIDATE_WITH_DBT=1 to run the validation models through dbt)"
        ) from exc
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")
    stats.step_seconds[step.name] = round(time.perf_counter() - t, 3)
    log.debug("validation: %s.%s (%s) in %.2fs", step.schema, step.identifier, step.materialized,
              stats.step_seconds[step.name])


def read_step_seconds() -> dict[str, float]:
    """The step durations the last run recorded ({} when there is none or it cannot be read: a cache)."""
    try:
        data = json.loads((plan_dir() / STEP_SECONDS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: float(v) for k, v in data.items() if isinstance(k, str) and isinstance(v, (int, float))}


def write_step_seconds(seconds: Mapping[str, float]) -> None:
    """Record step durations (best effort: they only order later runs)."""
    path = plan_dir() / STEP_SECONDS_FILE
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(dict(sorted(seconds.items())), indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        log.debug("validation: step durations not recorded: %s", exc)


def longest_first(steps: list[Step], seconds: Mapping[str, float]) -> list[Step]:
    """The ready steps in the order to start them: the longest last time first (so the longest check group
    does not start last and leave one core idle at the end), then in plan order."""
    return sorted(steps, key=lambda s: -seconds.get(s.name, 0.0))  # (stable: ties keep the plan order)


class _Threads:
    """DuckDB's thread count for the steps running at once. Side by side, each query gets one thread (the
    cores are already shared out between them; extra threads only add scheduling work: 15% more CPU for the
    check groups of the benchmark month); a step running alone (the cascade, the summaries) gets them all."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self._all = int(con.execute("select current_setting('threads')").fetchone()[0])
        self._now = self._all

    def share(self, steps_at_once: int) -> None:
        n = self._all if steps_at_once <= 1 else max(1, self._all // steps_at_once)
        if n != self._now:
            self._con.execute(f"set threads = {n}")
            self._now = n


class Closing:
    """The engine's connection, closed on a background thread: closing checkpoints the new relations into
    the file (0.2-0.3 s at benchmark scale), which can overlap the caller's report writing. ``wait()`` before
    the file is opened again in this process (another attach of it would fail on the file lock)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._close, args=(con,), name="tos-close", daemon=False)
        self._thread.start()

    def _close(self, con: duckdb.DuckDBPyConnection) -> None:
        try:
            con.close()
        except BaseException as exc:  # noqa: BLE001 - re-raised by wait()
            self._error = exc

    def wait(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error


_closing: list[Closing] = []  # connections of run_plan(read=...) still closing


def wait_closed() -> None:
    """Wait until every connection run_plan left closing in the background is closed (and checkpointed)."""
    while _closing:
        _closing.pop().wait()


def run_plan(target_db: Path, plan: Plan, stats: RunStats | None = None,
             read: Callable[[duckdb.DuckDBPyConnection], Any] | None = None) -> RunStats:
    """Load the seeds if needed, then create every relation of the plan in target_db, each once the relations
    it reads exist. Views (instant) are created on the main connection; tables go to ``workers()`` threads,
    each with its own connection, so independent tables are computed at the same time, the longest (by the
    last run's durations, ``STEP_SECONDS_FILE``) first. Each relation is created in its own transaction (as
    `dbt build` does): if a step fails, the relations before it are new, the others as they were, and the
    error names the step.

    With ``read``, ``read(con)`` runs on the engine's connection once every relation exists (its value is
    ``stats.read_value``), and the connection is then closed in the background: ``wait_closed()`` before
    the file is opened again in this process."""
    stats = stats or RunStats(plan_key=plan.key)
    began = time.perf_counter()
    last_seconds = read_step_seconds()
    con = _connect(target_db, plan)
    closed_later = False
    try:
        _prepare(con, target_db, plan, stats)
        existing = _relations(con, plan.catalog)
        now = datetime.now(timezone.utc)
        names = {s.name for s in plan.steps}
        pending = list(plan.steps)  # in dependency order
        done: set[str] = set()
        cursors: list[duckdb.DuckDBPyConnection] = []

        def on_worker(step: Step) -> None:
            cur = con.cursor()
            cursors.append(cur)
            try:
                cur.execute("set enable_progress_bar = false")
                _run_step(cur, target_db, plan, step, existing, now, stats)
            finally:
                cur.close()

        n_workers = workers()
        threads = _Threads(con)
        with ThreadPoolExecutor(max_workers=n_workers, thread_name_prefix="tos-step") as pool:
            running: dict[Future[None], Step] = {}
            try:
                while pending or running:
                    started = True
                    while started:  # views run at once, which can make more steps ready
                        started = False
                        ready = [s for s in pending if all(d in done or d not in names for d in s.depends_on)]
                        tables = [s for s in ready if s.materialized != "view"]
                        if n_workers > 1:
                            threads.share(min(n_workers, len(running) + len(tables)))
                        for step in longest_first(ready, last_seconds):
                            pending.remove(step)
                            if step.materialized == "view" or n_workers == 1:
                                _run_step(con, target_db, plan, step, existing, now, stats)
                                done.add(step.name)
                                started = True
                            else:
                                running[pool.submit(on_worker, step)] = step
                    if not running:
                        if pending:
                            raise RuntimeError(f"validation plan {plan.key}: steps wait on each other: "
                                               f"{sorted(s.name for s in pending)}")
                        break
                    finished, _ = wait(running, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        step = running.pop(fut)
                        fut.result()
                        done.add(step.name)
            except BaseException:
                for fut in running:
                    fut.cancel()
                for cur in list(cursors):
                    with contextlib.suppress(duckdb.Error):
                        cur.interrupt()
                raise
        if read is not None:
            stats.read_value = read(con)
            _closing.append(Closing(con))
            closed_later = True
    finally:
        if not closed_later:
            con.close()
    write_step_seconds({**last_seconds, **stats.step_seconds})  # steps of other plans keep their durations
    stats.seconds = round(time.perf_counter() - began, 3)
    return stats


def build_validation(target_db: Path, dbt_vars: Mapping[str, Any], warehouse: Path | None = None,
                     read: Callable[[duckdb.DuckDBPyConnection], Any] | None = None) -> RunStats:
    """The validation models for dbt_vars in target_db: the cached plan (compiled on a miss), then run_plan
    (``read``: see there)."""
    began = time.perf_counter()
    plan, compiled = prepare_plan(target_db, dbt_vars, warehouse)
    stats = RunStats(plan_key=plan.key, compiled=compiled)
    if stats.compiled:
        stats.compile_seconds = round(time.perf_counter() - began, 3)
    elif seeds_needing_dbt(plan):
        _dbt_seed(target_db, dbt_vars, warehouse)
    run_plan(target_db, plan, stats, read=read)
    stats.seconds = round(time.perf_counter() - began, 3)
    return stats
