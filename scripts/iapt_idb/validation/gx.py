"""Great Expectations (GX Core 1.x, pandas) suites generated from the TOS catalogue, and their data docs.

Only the column-level checks get an expectation (``catalogue.GX_CHECKS``): not_blank, length, regex and
in_code_list; each expectation carries its rule code in ``meta`` and is built from the same catalogue
params as the SQL check, so no rule's logic is written twice. The data are the normalised (all-text)
views ``tos_norm_*`` read from DuckDB into pandas (GX's SQL path does not work on DuckDB).

Context: an ephemeral context (suites are rebuilt from the catalogue every run, so nothing needs keeping;
a file context was measured ~40% slower), with a filesystem data-docs site in
``<report dir>/gx_data_docs/index.html`` that the docs site links to.
"""

from __future__ import annotations

import csv
import logging
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import duckdb

from ..paths import SEEDS_DIR
from ..periods import parse_period
from .catalogue import GX_CHECKS, load_rules
from .report import SCHEMA
from .tables import meta

SITE = "tos_data_docs"
BLANK = r"^\s*$"


def _codes(stem: str, period: str) -> list[str]:
    """Codes of a national list valid for the period (same filter as the SQL check)."""
    start = parse_period(period)[0].isoformat()
    with (SEEDS_DIR / "reference" / f"ref_{stem}.csv").open(newline="", encoding="utf-8") as fh:
        return sorted(
            r["code"] for r in csv.DictReader(fh)
            if (not r["valid_from"] or r["valid_from"] <= start) and (not r["valid_to"] or r["valid_to"] >= start)
        )


def expectations_for(rule: dict[str, Any], period: str) -> list[Any]:
    """The GX expectations that implement one catalogue rule (empty for non column-level checks)."""
    import great_expectations.expectations as gxe

    p = rule["params"]
    m = {"rule_code": rule["rule_code"], "severity": rule["severity"]}
    check = rule["check_name"]
    if check == "not_blank":
        return [gxe.ExpectColumnValuesToNotBeNull(column=p["column"], meta=m),
                gxe.ExpectColumnValuesToNotMatchRegex(column=p["column"], regex=BLANK, meta=m)]
    if check == "length":
        return [gxe.ExpectColumnValueLengthsToBeBetween(column=p["column"], min_value=p["min"], max_value=p["max"], meta=m)]
    if check == "regex":
        cls = gxe.ExpectColumnValuesToNotMatchRegex if p.get("fail_on") == "match" else gxe.ExpectColumnValuesToMatchRegex
        return [cls(column=p["column"], regex=p["pattern"], meta=m)]
    if check == "in_code_list":
        return [gxe.ExpectColumnValuesToBeInSet(column=p["column"], value_set=_codes(p["code_list"], period), meta=m)]
    return []


def gx_rules() -> list[dict[str, Any]]:
    return [
        r for r in load_rules()
        if r["check_name"] in GX_CHECKS and r["status"] in ("implemented", "not_checkable_before_upload")
    ]


def run_gx(db: Path, report_dir: Path, period: str) -> dict[str, Any]:
    """Validate every IDB table with its generated suite; build the data docs; per-rule failure counts."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    import great_expectations as gx

    report_dir = Path(report_dir).resolve()
    # A fresh context per run: old validation results would otherwise pile up in the data docs.
    for old in (report_dir / "gx", report_dir / "gx_data_docs"):
        shutil.rmtree(old, ignore_errors=True)
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    site_config = {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                          "base_directory": str(report_dir / "gx_data_docs")},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    }
    if SITE in context.list_data_docs_sites():
        context.update_data_docs_site(SITE, site_config)
    else:
        context.add_data_docs_site(SITE, site_config)
    source = context.data_sources.add_or_update_pandas("tos_idb")

    by_table: dict[str, list[dict[str, Any]]] = {}
    for r in gx_rules():
        by_table.setdefault(r["table_name"], []).append(r)

    counts: dict[str, int] = {}
    n_expectations = 0
    success = True
    con = duckdb.connect(str(db), read_only=True)
    try:
        for table in sorted(by_table):
            view = "tos_norm_" + meta(table).table_id.lower()
            cols = ", ".join(f'"{c}"' for c in meta(table).columns)
            df = con.execute(f"select {cols} from {SCHEMA}.{view} order by tos_row_id").df()
            suite = gx.ExpectationSuite(name=f"tos_{table}")
            for r in by_table[table]:
                for e in expectations_for(r, period):
                    suite.add_expectation(e)
                    n_expectations += 1
            suite = context.suites.add_or_update(suite)
            asset_name = f"{table}"
            try:
                asset = source.get_asset(asset_name)
            except LookupError:
                asset = source.add_dataframe_asset(asset_name)
            try:
                batch_def = asset.get_batch_definition("whole")
            except (KeyError, LookupError, ValueError):
                batch_def = asset.add_batch_definition_whole_dataframe("whole")
            vd = context.validation_definitions.add_or_update(
                gx.ValidationDefinition(name=f"tos_{table}", data=batch_def, suite=suite)
            )
            result = vd.run(batch_parameters={"dataframe": df}, result_format="BASIC")
            success = success and bool(result.success)
            for er in result.results:
                code = er.expectation_config.meta["rule_code"]
                counts[code] = counts.get(code, 0) + int(er.result.get("unexpected_count") or 0)
    finally:
        con.close()
    t0 = time.perf_counter()
    context.build_data_docs(site_names=[SITE])
    print(f"validate: GX data docs built in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    return {
        "suites": len(by_table),
        "expectations": n_expectations,
        "success": success,
        "data_docs": "gx_data_docs/index.html",
        "failures_by_rule": dict(sorted((k, v) for k, v in counts.items() if v)),
    }
