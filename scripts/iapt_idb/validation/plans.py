"""Validation plans: what dbt compiled for the validation models, cached by everything the SQL depends on.

    plan_key(target_db, dbt_vars) -> str          hash of models/, macros/, seeds/reference, seeds/tos, vars, ...
    prepare_plan(target_db, dbt_vars, warehouse)  the cached plan, or `dbt compile` on a miss (compile_plan),
                                                  with the reporting period filled in

A plan holds per model (in dependency order) its relation, materialization and SQL, the stored-failure tables
of the data tests configured with ``store_failures``, the seeds the models read and the marts they need.
Plans are cached as ``<dbt target path>/validation_plans/<key>.json``, or in ``$IAPT_VALIDATION_PLANS`` when
set (one cache for several target paths: the key holds everything a plan depends on). The one value dbt renders from the
clock (``run_started_at``) is kept as a placeholder (``NOW_TOKENS``) and filled in when the plan runs.

The reporting period is a placeholder too: dbt compiles the plan with ``tos_period_tokens`` on (macros
``tos_period_bounds``, ``tos_reporting_period``), the key leaves the period out, and ``Plan.for_period`` fills in
the month a run validates, so one compile serves every month. When the compiled SQL still holds a month near the
period (a validation model that reads ``var('period')`` some other way), the plan is kept for that period only.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping

import duckdb

from .. import runlock
from ..dbt_runner import run_dbt, share_parse_state
from ..errors import UserError
from ..paths import ROOT
from ..periods import months_written_near, parse_period

log = logging.getLogger(__name__)

PLAN_FORMAT = 4
VALIDATION_PATH = "models/validation"
SEED_PATHS = ("seeds/reference", "seeds/tos")
# Seeds verified equal to their CSV file: (seed, csv_sha256, row count) -- a cache, safe to drop.
SEED_STAMPS = ("main_validation", "tos_engine_seed_stamps")
SEED_SELECT = [f"path:{p}" for p in SEED_PATHS]
KEY_PATHS = ("models", "macros", *SEED_PATHS, "dbt_project.yml")
PLAN_DIR_NAME = "validation_plans"
PLAN_DIR_ENV = "IAPT_VALIDATION_PLANS"
KEEP_PLANS = 20
# Placeholders for the time of validation (dbt's run_started_at) in the compiled SQL: (token, utc?, format)
NOW_TOKENS = (
    ("__IAPT_NOW_UTC_T__", True, "%Y-%m-%dT%H:%M:%S"),
    ("__IAPT_NOW_UTC_S__", True, "%Y-%m-%d %H:%M:%S"),
    ("__IAPT_NOW_LOCAL_T__", False, "%Y-%m-%dT%H:%M:%S"),
    ("__IAPT_NOW_LOCAL_S__", False, "%Y-%m-%d %H:%M:%S"),
)
# The reporting period in plans compiled with PERIOD_TOKENS_VAR on: (token, what fills it in). The var goes to dbt
# in the environment (dbt_runner.BUILD_VARS), so that the compile re-uses the parse of the build before it.
PERIOD_TOKENS_VAR = "tos_period_tokens"
PERIOD_TOKENS: tuple[tuple[str, Callable[[str], str]], ...] = (
    ("__IAPT_PERIOD_START__", lambda p: parse_period(p)[0].isoformat()),
    ("__IAPT_PERIOD_END__", lambda p: parse_period(p)[1].isoformat()),
    ("__IAPT_PERIOD__", lambda p: p),
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
    test_failures: bool = False  # a data test's stored failures: read by people afterwards, never by a step


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
    period: str = ""  # the one period the plan serves; "" = every period (PERIOD_TOKENS still in the SQL)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @staticmethod
    def from_json(text: str) -> Plan:
        d = json.loads(text)
        return Plan(
            key=d["key"], catalog=d["catalog"], cacheable=d["cacheable"], format=d["format"], period=d["period"],
            steps=[Step(**s) for s in d["steps"]],
            seeds=[Seed(**{**s, "columns": [tuple(c) for c in s["columns"]]}) for s in d["seeds"]],
            inputs=[tuple(i) for i in d["inputs"]],  # type: ignore[misc]
        )

    def for_period(self, period: str) -> Plan:
        """The plan with PERIOD_TOKENS filled in for ``period`` (YYYY-MM), ready to run."""
        if self.period and self.period != period:
            raise ValueError(f"validation plan {self.key} was compiled for {self.period}, not {period}")
        values = [(token, fill(period)) for token, fill in PERIOD_TOKENS]

        def filled(sql: str) -> str:
            for token, value in values:
                sql = sql.replace(token, value)
            return sql

        return replace(self, period=period, steps=[replace(s, sql=filled(s.sql)) for s in self.steps])




# --------------------------------------------------------------------------- cache


def dbt_target_path() -> Path:
    """dbt's target folder: $DBT_TARGET_PATH (relative to the project) or the project's target/."""
    env = os.environ.get("DBT_TARGET_PATH")
    return (ROOT / env) if env else ROOT / "target"


def plan_dir() -> Path:
    """Where compiled plans are cached: ``$IAPT_VALIDATION_PLANS``, else the dbt target path's validation_plans/."""
    shared = os.environ.get(PLAN_DIR_ENV)
    return Path(shared) if shared else dbt_target_path() / PLAN_DIR_NAME


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


def plan_key(target_db: Path, dbt_vars: Mapping[str, Any], per_period: bool = False) -> str:
    """Hash of everything the compiled validation SQL depends on: the period only when ``per_period`` (a plan
    that could not leave it to PERIOD_TOKENS)."""
    h = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        h.update(f"{label}\0{len(data)}\0".encode())
        h.update(data)

    add("format", str(PLAN_FORMAT).encode())
    add("versions", _versions().encode())
    add("dbt_target", os.environ.get("IAPT_DBT_TARGET", "duckdb").encode())
    key_vars = {k: v for k, v in dbt_vars.items() if per_period or k != "period"}
    add("vars", json.dumps(key_vars, sort_keys=True).encode())
    add("catalog", catalog_name(target_db).encode())
    for f in _key_files():
        rel = f.relative_to(ROOT).as_posix() if f.is_relative_to(ROOT) else str(f)
        add(rel, f.read_bytes())
    return h.hexdigest()[:32]


def find_plan(target_db: Path, dbt_vars: Mapping[str, Any]) -> Plan | None:
    """The cached plan for these inputs, filled in for dbt_vars' period: the plan of every period, else the
    period's own."""
    for per_period in (False, True):
        plan = load_plan(plan_key(target_db, dbt_vars, per_period))
        if plan is not None and plan.period in ("", str(dbt_vars["period"])):
            return plan.for_period(str(dbt_vars["period"]))
    return None


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
                              depends_on=_step_deps(node, models), test_failures=True))
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


def period_leaks(plan: Plan, period: str) -> list[str]:
    """The months near ``period`` (periods.NEAR_MONTHS) written in the plan's SQL: what a plan compiled with
    PERIOD_TOKENS should not hold, as it would then serve only the period it was compiled for."""
    return months_written_near(period, (s.sql for s in plan.steps))


def compile_plan(target_db: Path, dbt_vars: Mapping[str, Any], warehouse: Path | None = None,
                 period_tokens: bool = True, dbt_target: Path | None = None) -> Plan:
    """`dbt compile` the validation models against target_db and cache the plan (dbt reads nothing from the
    database: the rules catalogue comes from its seed file, macro tos_rules_catalogue). The plan keeps
    PERIOD_TOKENS (``Plan.for_period`` fills them in) unless the SQL depends on the period some other way
    (``period_leaks``); period_tokens=False compiles the period's literal SQL, as dbt runs it. ``dbt_target``:
    dbt's target path for the compile, else this run's own (validation_plans/dbt in the dbt target path),
    which starts from the parse of the build before it."""
    target = dbt_target or dbt_target_path() / PLAN_DIR_NAME / "dbt"
    period = str(dbt_vars["period"])
    compile_vars = {**dbt_vars, PERIOD_TOKENS_VAR: True} if period_tokens else dict(dbt_vars)
    keys = {per_period: plan_key(target_db, dbt_vars, per_period) for per_period in (False, True)}
    if dbt_target is None:
        # the build that comes just before (same project, vars and target DB) saved its parse: dbt reuses it
        share_parse_state(dbt_target_path(), target)
    began = datetime.now(timezone.utc)
    proc = run_dbt(["compile", "--select", f"path:{VALIDATION_PATH}", "--target-path", str(target), "--quiet"],
                   vars=compile_vars, warehouse=warehouse, target_db=target_db, quiet=True, check=False)
    ended = datetime.now(timezone.utc)
    if proc.returncode != 0:
        raise RuntimeError(f"dbt compile of the validation models failed (exit {proc.returncode}):\n"
                           f"{(proc.stdout or '')[-6000:]}")
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    plan = plan_from_manifest(manifest, "", began, ended)
    leaks = period_leaks(plan, period) if period_tokens else [period]
    if leaks:
        log.debug("the compiled validation SQL holds %s: plan kept for %s only", ", ".join(leaks), period)
    key = keys[bool(leaks)]
    plan = replace(plan, key=key, period=period if leaks else "")
    # cached unless a project file changed while dbt compiled
    if plan.cacheable and period_tokens and plan_key(target_db, dbt_vars, bool(leaks)) == key:
        save_plan(plan)
    log.debug("compiled validation plan %s (%d steps) in %.1fs", key, len(plan.steps), (ended - began).total_seconds())
    return plan


def prepare_plan(target_db: Path, dbt_vars: Mapping[str, Any], warehouse: Path | None = None) -> tuple[Plan, bool]:
    """The cached plan for these inputs, or a fresh compile, filled in for the period of dbt_vars. A plan for a
    scratch DB (var tos_input_schema: the input is made there when the plan runs) is compiled in the plan folder
    (``compile_detached``), one for the marts against target_db. -> (plan, compiled)"""
    plan = find_plan(target_db, dbt_vars)
    if plan is not None:
        return plan, False
    if dbt_vars.get("tos_input_schema"):
        return compile_detached(catalog_name(target_db), dbt_vars).for_period(str(dbt_vars["period"])), True
    _require_marts(target_db)  # before a dbt compile is spent on them
    return compile_plan(target_db, dbt_vars, warehouse).for_period(str(dbt_vars["period"])), True


# Beside the plans: an empty DuckDB file per catalog name, an empty warehouse and dbt's target path, for the
# compiles of plans that run in a scratch DB; one such folder per project folder (a plan folder may serve
# several checkouts, and dbt's saved parse holds the project's path).
COMPILE_DIR_NAME = "compile"


def compile_dir() -> Path:
    """The plan folder's compile folder for this project folder."""
    return plan_dir() / COMPILE_DIR_NAME / hashlib.sha256(str(ROOT.resolve()).encode()).hexdigest()[:12]


def compile_detached(catalog: str, dbt_vars: Mapping[str, Any]) -> Plan:
    """Compile (and cache) the plan for a scratch DB of this catalog name against an empty DuckDB file of the same
    name in ``compile_dir()``, with an empty warehouse, one compile at a time. The compile reads no table, so the
    plan is the one the scratch DB would give; and as these paths stay the same from run to run, so does dbt's
    profile, and dbt re-uses the parse it saved in the folder's target path (in a new scratch folder each run,
    every compile parsed the whole project)."""
    folder = compile_dir()
    folder.mkdir(parents=True, exist_ok=True)
    with runlock.waiting(folder):
        db, warehouse = folder / f"{catalog}.duckdb", folder / "empty_warehouse.duckdb"
        for path in (db, warehouse):
            _empty_duckdb(path)
        return compile_plan(db, dbt_vars, warehouse, dbt_target=folder / "dbt")


def _empty_duckdb(path: Path) -> None:
    """A DuckDB file at path, made (whole, or not at all) when there is none."""
    if path.is_file():
        return
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.unlink(missing_ok=True)
    duckdb.connect(str(partial)).close()
    os.replace(partial, path)


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
    """`dbt seed` of the seeds the validation models read. --no-write-json: nothing reads this run's
    manifest.json or run_results.json (writing them is ~1 s of the run), and the build's stay in place."""
    proc = run_dbt(["seed", "--select", *SEED_SELECT, "--quiet", "--no-write-json"], vars=dbt_vars,
                   warehouse=warehouse, target_db=target_db, quiet=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"dbt seed failed (exit {proc.returncode}):\n{(proc.stdout or '')[-6000:]}")


def missing_marts_error(target_db: Path, missing: list[str]) -> UserError:
    """What to say when the IDB marts a validation reads are not in the target DB."""
    return UserError(
        f"{target_db}: the IDB marts are missing ({', '.join(missing[:4])}{' ...' if len(missing) > 4 else ''}): "
        "build them first with 'iapt-idb build --period YYYY-MM', or validate an .accdb/CSV SOURCE"
    )
