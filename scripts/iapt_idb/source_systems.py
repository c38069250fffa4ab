"""Source systems: scaffold a new system's folder, and check a system against the staging contract.

A source system is a folder ``<systems dir>/<name>/`` (``source_systems/`` or IAPT_SOURCE_SYSTEMS_DIR):

* ``_<name>__sources.yml`` — the dbt source ``<name>``, its warehouse tables (``identifier:`` is the
  table's real name; the scaffold lists one per contract entity, but a model may read several tables, and
  one table may feed several entities, as in ``source_systems/meridian_epr/``);
* ``stg_<name>__<entity>.sql`` — one staging model per entity, delivering the contract's columns;
* ``_<name>__models.yml`` — their documentation (``meta.source_columns``: the warehouse columns each
  contract column comes from, shown on the docs site's lineage pages);
* ``mappings/map_<code_set>.csv`` — one mapping seed per local code set, and the extra seeds of
  ``contract.EXTRA_SEEDS``.

Messages name the system, its table and column, the code set and a local code value; never a row's
other values (a local code is not patient data; an NHS number, birth date or postcode is).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from . import contract
from .errors import UserError
from .paths import SEEDS_DIR, source_systems_dir

NAME = re.compile(r"^[a-z][a-z0-9_]{1,30}$")
TODO_IDENTIFIER = "TODO"


def system_dir(name: str, root: Path | None = None) -> Path:
    return (root or source_systems_dir()) / name


def require_system(name: str, root: Path | None = None) -> Path:
    """The system's folder, or a UserError saying how to create it."""
    folder = system_dir(name, root)
    if not NAME.match(name):
        raise UserError(f"source system name {name!r} must be lower case letters, digits and _ (e.g. my_cms)")
    if not folder.is_dir():
        raise UserError(
            f"source system {name!r} has no folder {folder}: create it with 'iapt-idb source new {name}', "
            "or set IAPT_SOURCE_SYSTEM / --system to an existing one (default lumen_cms)"
        )
    return folder


# ---------------------------------------------------------------------------------------------- scaffold

def _yaml(obj: dict, header: str) -> str:
    return header + yaml.safe_dump(obj, sort_keys=False, width=110, allow_unicode=True, default_flow_style=False)


def _staging_sql(name: str, e: contract.Entity) -> str:
    lines = [
        f"-- {name}: contract entity {e.name} ({e.description}) Key: {', '.join(e.key)}.",
        "-- One row per row of your table; keep every column's cast and name (the staging contract,",
        "-- scripts/iapt_idb/contract.py). Replace each `null` with your column or expression.",
        "select",
    ]
    cols = []
    for c in e.columns:
        note = f"local code, code set {c.code_set} (mappings/map_{c.code_set}.csv)" if c.code_set else c.description
        cols.append(f"    cast(null as {{{{ sql_type('{c.type}') }}}}) as {c.delivered}  -- TODO: {note}")
    # The comma goes before the comment, so that the engineer can edit each line on its own.
    lines += [re.sub(r"(  -- TODO)", r",\1", line, count=1) if i < len(cols) - 1 else line for i, line in enumerate(cols)]
    lines.append(f"from {{{{ source('{name}', '{e.name}') }}}}")
    return "\n".join(lines) + "\n"


def scaffold(name: str, root: Path | None = None) -> list[Path]:
    """Write a new system's folder: sources YAML, one staging model per entity, models YAML, empty seeds."""
    if not NAME.match(name):
        raise UserError(f"source system name {name!r} must be lower case letters, digits and _ (e.g. my_cms)")
    folder = system_dir(name, root)
    if folder.exists():
        raise UserError(f"{folder} already exists: pick another name, or edit the folder you have")
    header = f"# Source system {name}: fill in every TODO, then run 'iapt-idb source check --system {name}'.\n"
    sources = {
        "version": 2,
        "sources": [{
            "name": name,
            "description": f"Source system {name}: TODO describe the clinical system.",
            "database": "{{ var('source_database') }}",
            "schema": "{{ var('source_schema') }}",
            "meta": {"source_system": name, "system_label": name},
            "tables": [
                {"name": e.name, "identifier": TODO_IDENTIFIER,
                 "description": f"TODO: your table for contract entity {e.name} ({e.description})"}
                for e in contract.ENTITIES
            ],
        }],
    }
    models = {
        "version": 2,
        "models": [
            {
                "name": e.system_model(name),
                "description": f"{name} as contract entity `{e.name}`: {e.description}",
                "config": {"meta": {"source_system": name, "contract_entity": e.name}},
                "columns": [
                    {"name": c.delivered, "description": c.description, "meta": {"source_columns": []}}
                    for c in e.columns
                ],
            }
            for e in contract.ENTITIES
        ],
    }
    files: dict[Path, str] = {
        folder / f"_{name}__sources.yml": _yaml(sources, header + "# identifier: your table's real name.\n"),
        folder / f"_{name}__models.yml": _yaml(
            models, header + "# meta.source_columns: the <schema>.<table>.<column> each column comes from (docs lineage).\n"
        ),
    }
    for e in contract.ENTITIES:
        files[folder / f"{e.system_model(name)}.sql"] = _staging_sql(name, e)
    for code_set in contract.CODE_SETS:
        files[folder / "mappings" / f"map_{code_set}.csv"] = "local_code,national_code,local_description\n"
    for seed, (columns, _meaning) in contract.EXTRA_SEEDS.items():
        files[folder / "mappings" / f"{seed}.csv"] = ",".join(columns) + "\n"
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return sorted(files)


# ---------------------------------------------------------------------------------------------- check

@dataclass(frozen=True)
class Finding:
    item: str  # what is wrong, naming system, model/table, column, code set
    fix: str  # what to do

    def __str__(self) -> str:
        return f"[ ] {self.item}: {self.fix}"


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def source_tables(name: str, folder: Path) -> dict[str, str]:
    """Source table name -> the warehouse table (identifier) the system's sources YAML names for it."""
    out: dict[str, str] = {}
    for path in sorted(folder.glob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for src in doc.get("sources") or []:
            if src.get("name") != name:
                continue
            for t in src.get("tables") or []:
                out[str(t["name"])] = str(t.get("identifier") or t["name"])
    return out


_SOURCE_CALL = re.compile(r"""source\(\s*['"](\w+)['"]\s*,\s*['"](\w+)['"]\s*\)""")


def model_sources(name: str, folder: Path, e: contract.Entity) -> list[str]:
    """The source tables (names in the sources YAML) the system's staging model of ``e`` reads, in order."""
    model = folder / f"{e.system_model(name)}.sql"
    if not model.is_file():
        return []
    found = [t for s, t in _SOURCE_CALL.findall(model.read_text(encoding="utf-8")) if s == name]
    return list(dict.fromkeys(found))


def model_tables(name: str, folder: Path, e: contract.Entity) -> str:
    """The warehouse tables the staging model of ``e`` reads, for messages (e.g. ``episode``)."""
    tables = source_tables(name, folder)
    return ", ".join(tables.get(t, t) for t in model_sources(name, folder, e)) or e.name


def source_relations(name: str, folder: Path, default_schema: str) -> list[tuple[str, str]]:
    """(schema, table) of every table the system's sources YAML names, in order: its ``identifier``
    in its source's ``schema`` (``default_schema``, the var source_schema, where the YAML leaves it to a var)."""
    out: list[tuple[str, str]] = []
    for path in sorted(folder.glob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for src in doc.get("sources") or []:
            if src.get("name") != name:
                continue
            schema = str(src.get("schema") or default_schema)
            if "{{" in schema:
                schema = default_schema
            for t in src.get("tables") or []:
                out.append((schema, str(t.get("identifier") or t["name"])))
    return out


_TODO_COLUMN = re.compile(r"cast\(null as .*\) as (\w+),?\s+-- TODO")


def static_findings(name: str, folder: Path) -> list[Finding]:
    """What can be checked without the warehouse: files, identifiers, seeds."""
    found: list[Finding] = []
    tables = source_tables(name, folder)
    for e in contract.ENTITIES:
        model = folder / f"{e.system_model(name)}.sql"
        if not model.is_file():
            found.append(Finding(f"system {name}: staging model {model.name} is missing (entity {e.name})",
                                 "create it ('iapt-idb source new' writes a template)"))
        else:
            for line in model.read_text(encoding="utf-8").splitlines():
                todo = _TODO_COLUMN.search(line)
                if todo:
                    found.append(Finding(f"system {name}: model {model.stem} column {todo.group(1)} is still TODO",
                                         "replace its null with your column or expression"))
        for t in model_sources(name, folder, e):
            if t not in tables:
                found.append(Finding(f"system {name}: model {e.system_model(name)} reads source table {t}, which the "
                                     "sources YAML does not declare",
                                     f"add a table entry named {t} with identifier: <your table>"))
    if not tables:
        found.append(Finding(f"system {name}: the sources YAML declares no table of source {name}",
                             f"add _{name}__sources.yml with one table entry per warehouse table"))
    for t, identifier in tables.items():
        if identifier == TODO_IDENTIFIER:
            found.append(Finding(f"system {name}: table {t} has identifier TODO",
                                 "set identifier: to the warehouse table that holds it"))
    for code_set, ref in contract.CODE_SETS.items():
        seed = folder / "mappings" / f"map_{code_set}.csv"
        if not seed.is_file():
            found.append(Finding(f"system {name}: mapping seed mappings/{seed.name} is missing (code set {code_set})",
                                 "create it with the header local_code,national_code,local_description"))
            continue
        reference = {r["code"] for r in _read_csv(SEEDS_DIR / "reference" / f"ref_{ref}.csv")}
        for row in _read_csv(seed):
            if row.get("national_code") not in reference:
                found.append(Finding(
                    f"system {name}: mappings/{seed.name} maps local code {row.get('local_code')!r} to "
                    f"{row.get('national_code')!r}, not a code of ref_{ref} (code set {code_set})",
                    f"use a code of seeds/reference/ref_{ref}.csv"))
    for seed, (columns, _meaning) in contract.EXTRA_SEEDS.items():
        if not (folder / "mappings" / f"{seed}.csv").is_file():
            found.append(Finding(f"system {name}: seed mappings/{seed}.csv is missing",
                                 f"create it with the header {','.join(columns)}"))
    return found


def documented_sources(folder: Path) -> dict[tuple[str, str], list[str]]:
    """(system model, column) -> the warehouse columns its models YAML says it comes from."""
    out: dict[tuple[str, str], list[str]] = {}
    for path in sorted(folder.glob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for m in doc.get("models") or []:
            for c in m.get("columns") or []:
                cols = (c.get("meta") or {}).get("source_columns") or []
                if cols:
                    out[(str(m["name"]), str(c["name"]))] = [str(x) for x in cols]
    return out


_SAFE_ERRORS = ("CatalogException", "BinderException", "ParserException")
_MISSING_TABLE = re.compile(r"Table with name (\w+) does not exist")


def _describe(con, sql: str) -> dict[str, str]:  # noqa: ANN001 - duckdb connection
    rows = con.execute(f"describe ({sql})").fetchall()
    return {str(r[0]): str(r[1]).lower() for r in rows}


def live_findings(name: str, folder: Path, compiled: dict[str, str], con) -> list[Finding]:  # noqa: ANN001
    """Check the system's compiled staging SQL (entity -> SQL) against the warehouse on ``con``:
    missing tables, missing/mistyped/extra columns, duplicate keys, unmapped local codes."""
    import duckdb

    found: list[Finding] = []
    tables = source_tables(name, folder)
    documented = documented_sources(folder)
    for e in contract.ENTITIES:
        model = e.system_model(name)
        table = model_tables(name, folder, e)
        sql = compiled.get(e.name)
        if sql is None:
            continue
        try:
            cols = _describe(con, sql)
        except duckdb.Error as exc:
            kind = type(exc).__name__
            if kind == "CatalogException" and "does not exist" in str(exc):
                missing = _MISSING_TABLE.search(str(exc))
                table = missing.group(1) if missing else table
                found.append(Finding(f"system {name}: warehouse table {table} (entity {e.name}) does not exist",
                                     "fix identifier: in the sources YAML, or var source_database/source_schema"))
            else:
                # Only errors that cannot hold a row's values are quoted.
                detail = str(exc).splitlines()[0] if kind in _SAFE_ERRORS else f"{kind} (message withheld: it may quote data)"
                found.append(Finding(f"system {name}: model {model} (table {table}) does not run: {detail}",
                                     "fix the model's SQL"))
            continue
        for c in e.columns:
            want = contract.TYPES[c.type]
            got = cols.get(c.delivered)
            if got is None:
                found.append(Finding(f"system {name}: model {model} has no column {c.delivered} ({c.type})",
                                     f"add it: cast(<your column> as {{{{ sql_type('{c.type}') }}}}) as {c.delivered}"))
            elif got != want:
                found.append(Finding(f"system {name}: model {model} column {c.delivered} is {got}, the contract says {want}",
                                     f"cast it: cast(... as {{{{ sql_type('{c.type}') }}}})"))
        for extra in sorted(set(cols) - {c.delivered for c in e.columns}):
            found.append(Finding(f"system {name}: model {model} has column {extra}, which is not in the contract",
                                 "remove it (the interface model's contract would fail)"))
        if any(k not in cols for k in e.key) or any(c.delivered not in cols for c in e.columns if c.code_set):
            continue
        keys = ", ".join(e.key)
        dup = con.execute(
            f"select count(*) from (select {keys} from ({sql}) as s where {' and '.join(f'{k} is not null' for k in e.key)} "
            f"group by {keys} having count(*) > 1) as d"
        ).fetchone()[0]
        if dup:
            found.append(Finding(
                f"system {name}: table {table} (entity {e.name}) has {dup} duplicated value(s) of key {keys}",
                "warning: each duplicate is submitted and validation reports it; fix it in the source if it is not intended"))
        for c in e.code_columns():
            seed = folder / "mappings" / f"map_{c.code_set}.csv"
            mapped = {r["local_code"] for r in _read_csv(seed)} if seed.is_file() else set()
            rows = con.execute(
                f"select {c.delivered}, count(*) from ({sql}) as s where {c.delivered} is not null "
                f"group by 1 order by 2 desc, 1"
            ).fetchall()
            where = ", ".join(documented.get((model, c.delivered), [])) or f"table {table} column {c.delivered}"
            for code, n in rows:
                if str(code) not in mapped:
                    found.append(Finding(
                        f"system {name}: {where} (model {model}, code set {c.code_set}): local code "
                        f"{str(code)!r} on {n} row(s) has no mapping row",
                        f"add it to mappings/map_{c.code_set}.csv with its national code "
                        f"(ref_{contract.CODE_SETS[c.code_set]}); unmapped, it is submitted unchanged and rejected"))
    return found
