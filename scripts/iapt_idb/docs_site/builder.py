"""build_site: gather the month's inputs, write every page, copy the linked docs, scrub identifiers."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import duckdb

from ..periods import parse_period
from ..spec import load_tables
from ..submissions.store import submissions_dir
from . import external, privacy, render
from .inputs import Failure, Report, find_history, load_catalogue, load_manifest, load_report
from .layout import favicon
from .model import ItemSource, SiteData
from .pages_month import write_month
from .pages_reference import write_reference
from .pages_trend import write_submissions
from .render import phrase
from .vodim import measure_all

MARKER = ".iapt-docs-site"


def _user_error(message: str) -> Exception:
    from ..errors import UserError

    return UserError(message)


def _prepare_out(out: Path) -> None:
    """Empty the output folder, but only if it is a site we built (or empty)."""
    if out.exists():
        if not out.is_dir():
            raise _user_error(f"--out {out} is a file, not a folder")
        if any(out.iterdir()) and not (out / MARKER).exists():
            raise _user_error(f"{out} is not empty and was not made by 'iapt-idb docs': choose an empty or new folder")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / MARKER).write_text("Built by iapt-idb docs; the whole folder is replaced on the next build.\n", encoding="utf-8")


def _table_exists(con: duckdb.DuckDBPyConnection, name: str) -> list[str]:
    rows = con.execute(
        "select column_name from information_schema.columns where table_schema = 'main' and table_name = ? order by ordinal_position",
        [name],
    ).fetchall()
    return [r[0] for r in rows]


def _measures(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]] | None:
    cols = _table_exists(con, "measures_headline")
    if not cols:
        return None
    order = "sort_order, measure_id" if "sort_order" in cols else "measure_id"
    cur = con.execute(f"select * from main.measures_headline order by {order}")
    names = [d[0] for d in cur.description]
    out = []
    for row in cur.fetchall():
        rec = dict(zip(names, row))
        rec.setdefault("label", rec.get("measure_label"))
        out.append(rec)
    return out


def _unmapped(con: duckdb.DuckDBPyConnection, sources: dict[tuple[str, str], ItemSource]) -> dict[tuple[str, str], list[tuple[str, int]]]:
    """Local codes with no national code, attached to the IDB items whose source column they sit in."""
    cols = _table_exists(con, "int_unmapped_local_codes")
    if not {"local_code", "table_name", "column_name", "row_count"} <= set(cols):
        return {}
    rows = con.execute(
        "select table_name, column_name, local_code, row_count from main.int_unmapped_local_codes "
        "order by row_count desc, local_code"
    ).fetchall()
    out: dict[tuple[str, str], list[tuple[str, int]]] = {}
    for table, column, code, n in rows:
        suffix = f"{table}.{column}"
        for item, src in sources.items():
            if any(s == suffix or s.endswith("." + suffix) for s in [*src.contract_columns, *src.source_columns]):
                out.setdefault(item, []).append((str(code), int(n)))
    return out


def _system_columns(manifest: dict[str, Any]) -> dict[str, list[str]]:
    """Contract column ``entity.column`` -> the built source system's own columns, as its staging models
    document them (config meta contract_entity, column meta source_columns)."""
    out: dict[str, list[str]] = {}
    for node in manifest.get("nodes", {}).values():
        meta = (node.get("config") or {}).get("meta") or node.get("meta") or {}
        entity = meta.get("contract_entity")
        if node.get("resource_type") != "model" or not entity or not meta.get("source_system"):
            continue
        for col_name, col in (node.get("columns") or {}).items():
            cols = [str(s) for s in (col.get("meta") or {}).get("source_columns") or []]
            if cols:
                name = str(col.get("name") or col_name)
                out[f"{entity}.{name.removesuffix('_local')}"] = cols
    return out


def source_system_label(manifest: dict[str, Any] | None) -> str:
    """The built source system's name, from its dbt source's meta (system_label)."""
    for src in (manifest or {}).get("sources", {}).values():
        meta = src.get("meta") or (src.get("source_meta") or {})
        if meta.get("system_label") or meta.get("source_system"):
            return str(meta.get("system_label") or meta.get("source_system"))
    return ""


def _sources_and_lineage(
    manifest: dict[str, Any] | None, table_names: list[str]
) -> tuple[dict[tuple[str, str], ItemSource], dict[str, dict[str, Any]]]:
    sources: dict[tuple[str, str], ItemSource] = {}
    lineage: dict[str, dict[str, Any]] = {}
    if not manifest:
        return sources, lineage
    nodes: dict[str, Any] = {**manifest.get("nodes", {}), **manifest.get("sources", {})}
    by_name = {n.get("name"): (uid, n) for uid, n in manifest.get("nodes", {}).items() if n.get("resource_type") == "model"}
    system_columns = _system_columns(manifest)
    for name in table_names:
        if name not in by_name:
            continue
        uid, node = by_name[name]
        for col_name, col in (node.get("columns") or {}).items():
            meta = col.get("meta") or {}
            contract_refs = [str(s) for s in meta.get("source_columns") or []]
            resolved = [r for ref in contract_refs for r in system_columns.get(ref, [ref])]
            sources[(name, col.get("name") or col_name)] = ItemSource(
                source_columns=resolved,
                contract_columns=contract_refs,
                mapping_seed=str(meta.get("mapping_seed") or ""),
                transformation=str(meta.get("transformation") or ""),
                known=True,
            )
        seen: set[str] = set()
        stack = list((node.get("depends_on") or {}).get("nodes") or [])
        models, seeds, srcs = set(), set(), set()
        while stack:
            parent = stack.pop()
            if parent in seen:
                continue
            seen.add(parent)
            pnode = nodes.get(parent, {})
            kind = pnode.get("resource_type") or parent.split(".")[0]
            if kind == "source":
                srcs.add(f"{pnode.get('schema') or pnode.get('source_name', '')}.{pnode.get('identifier') or pnode.get('name', '')}")
            elif kind == "seed":
                seeds.add(pnode.get("name") or parent.split(".")[-1])
            else:
                if kind == "model":
                    models.add(pnode.get("name") or parent.split(".")[-1])
                stack.extend((pnode.get("depends_on") or {}).get("nodes") or [])
        lineage[name] = {"models": sorted(models), "seeds": sorted(seeds), "sources": sorted(srcs), "unique_id": uid}
    return sources, lineage


def _normalise_tables(report: Report, names: dict[str, str]) -> None:
    """Failures may name a table by id (IDS101) or by name (IDS101Referral): use names throughout."""
    report.failures = [
        Failure(f.rule_code, f.severity, names.get(f.table, f.table), f.record_key, f.columns, f.message) for f in report.failures
    ]
    for t in report.tables:
        t.table = names.get(t.table, t.table)
    for r in report.rules.values():
        r.table = names.get(r.table, r.table)


def build_site(
    period: str,
    out: Path,
    report_dir: Path,
    target_db: Path,
    history_dir: Path | None = None,
    dbt_docs: bool = True,
    *,
    manifest_path: Path | None = None,
    dbt_static_index: Path | None = None,
    catalogue_path: Path | None = None,
    warehouse: Path | None = None,
    submissions: Path | None = None,
) -> Path:
    """Build the month's data-quality site into out (replaced); returns the path of index.html.

    dbt_docs: run `dbt docs generate --static` (attaching warehouse, default $IAPT_WAREHOUSE_PATH) and
    include it. Without it, an existing static_index.html (dbt_static_index, or the one in dbt's
    target folder) is included if found. manifest_path / catalogue_path default to dbt's target
    folder and seeds/tos/tos_rules.csv. submissions: the submission history folder read by the
    submissions page (default $IAPT_IDB_SUBMISSIONS, else output/submissions).
    """
    try:
        bounds = parse_period(period)
    except ValueError as exc:
        raise _user_error(str(exc)) from None
    out, report_dir, target_db = Path(out), Path(report_dir), Path(target_db)
    if not target_db.exists():
        raise _user_error(f"target DB {target_db} not found: build the marts first (iapt-idb build --period {period})")
    try:
        report = load_report(report_dir, period)
    except FileNotFoundError as exc:
        raise _user_error(str(exc)) from None
    if report.period != period:
        raise _user_error(f"the report in {report_dir} is for {report.period}, not {period}")

    tables = load_tables()
    _normalise_tables(report, {t.table_id: t.name for t in tables})
    catalogue, from_seed = load_catalogue(catalogue_path)

    dbt_note = ""
    static_index = dbt_static_index
    if dbt_docs and static_index is None:
        try:
            static_index = external.generate_dbt_docs(period, target_db, warehouse)
        except RuntimeError as exc:
            lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
            cause = next((ln for ln in lines if "error" in ln.lower() and "failed (exit" not in ln), lines[0] if lines else "")
            dbt_note = phrase("dbt_docs_failed", cause[:300])
            print(f"iapt-idb docs: warning: {dbt_note}", file=sys.stderr)
    if static_index is None and not dbt_note:
        candidate = external.dbt_target_dir() / "static_index.html"
        static_index = candidate if candidate.exists() else None
        if static_index is None:
            dbt_note = phrase("dbt_docs_not_generated")
    manifest = load_manifest(manifest_path or external.dbt_target_dir() / "manifest.json")

    with duckdb.connect(str(target_db), read_only=True) as con:
        existing = {r[0] for r in con.execute("select table_name from information_schema.tables where table_schema = 'main'").fetchall()}
        mart_rows = {
            t.name: int(con.execute(f'select count(*) from main."{t.name}"').fetchone()[0]) for t in tables if t.name in existing
        }
        provider = ""
        if "IDS000Header" in existing and "OrgIDProv" in _table_exists(con, "IDS000Header"):
            row = con.execute('select "OrgIDProv" from main."IDS000Header" limit 1').fetchone()
            provider = str(row[0]) if row and row[0] else ""
        items = measure_all(con, tables, bounds)
        measures = _measures(con)
        sources, lineage = _sources_and_lineage(manifest, [t.name for t in tables])
        unmapped = _unmapped(con, sources)
        identifiers = privacy.collect(con)

    data = SiteData(
        period=period,
        provider=provider,
        report=report,
        catalogue={r.rule_code: r for r in catalogue},
        catalogue_from_seed=from_seed,
        tables=tables,
        items=items,
        mart_rows=mart_rows,
        measures=measures,
        history=find_history(history_dir, report),
        sources=sources,
        lineage=lineage,
        unmapped=unmapped,
        manifest_found=manifest is not None,
        source_system=source_system_label(manifest),
    )

    _prepare_out(out)
    (out / "assets").mkdir()
    shutil.copyfile(render.TEMPLATES / "site.css", out / "assets" / "site.css")
    (out / "favicon.ico").write_bytes(favicon())
    (out / "downloads").mkdir()
    shutil.copyfile(report_dir / "summary.json", out / "downloads" / "summary.json")
    if report.csv_path:
        shutil.copyfile(report.csv_path, out / "downloads" / "validation_report.csv")
    if static_index is not None:
        external.copy_dbt_docs(static_index, out / "dbt-docs")
    else:
        data.dbt_docs_note = dbt_note
    gx_source = report_dir / "gx_data_docs"
    if (gx_source / "index.html").exists():
        external.copy_gx_docs(gx_source, out / "gx")
    else:
        data.gx_note = phrase("gx_docs_not_found", gx_source.name)
    write_month(data, out)
    write_reference(data, out)
    write_submissions(data, out, submissions_dir(submissions))
    privacy.scrub_tree(out, identifiers)
    return out / "index.html"
