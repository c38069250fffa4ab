"""Great Expectations (GX Core 1.x, pandas) suites generated from the TOS catalogue, and their data docs.

Only the column-level checks get an expectation (``catalogue.GX_CHECKS``): not_blank, length, regex and
in_code_list; each expectation carries its rule code in ``meta`` and is built from the same catalogue
params as the SQL check, so no rule's logic is written twice. The data are the normalised (all-text)
views ``tos_norm_*`` read from DuckDB into pandas (GX's SQL path does not work on DuckDB).

Context: an ephemeral context (suites are rebuilt from the catalogue every run, so nothing needs keeping;
a file context was measured ~40% slower), with a filesystem data-docs site in
``<report dir>/gx_data_docs/index.html`` that the docs site links to. The data docs show GX's sample of
unexpected values, except for a table whose suite checks a patient identifier (``result_format``).

Each table is read with only the columns its suite names, through Arrow into pandas' Arrow-backed ``str``
dtype, on a background thread one table ahead of GX (``_TableReader``); each table's suite, asset, batch
definition and validation definition are added to the context once (``_validation_definition``). GX runs
through its public API only: its timing is reported by the benchmark, and no target is set for it (it does
not decide the verdict; the TOS rules do).

GX's work is Python on one core (~10 s at benchmark scale, the import ~3 s of it), the TOS rules' DuckDB work
releases the GIL: on the marts, ``GxBeside`` runs GX on a thread beside the rules, reading the normalised
views through a database of its own (``engine.connect_input_views``); on any other input GX runs after the
rules, from the scratch DB they were made in.
"""

from __future__ import annotations

import csv
import logging
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterator, Mapping

import duckdb

from ..paths import SEEDS_DIR
from ..periods import parse_period
from ..spec import PATIENT_IDENTIFIERS
from .catalogue import GX_CHECKS, load_rules
from .report import SCHEMA
from .sources import attach_linked
from .tables import meta

log = logging.getLogger(__name__)

SITE = "tos_data_docs"
# Python's \s (every character str.isspace() holds for) spelled out as a class: the same matches, but
# pandas' Arrow strings run it in pyarrow (RE2) instead of calling re once per value, which they do for
# \s, whose meaning differs in RE2 (about 7x faster on the month's 75 not_blank expectations).
WHITE_SPACE = ("\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
               "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
# GX's not_blank expectation: only white space, or empty. Control characters escaped (\t, \x1c), the others
# as themselves (pandas sends a pattern with a \u escape back to Python's re).
BLANK = "^[" + "".join({"\t": r"\t", "\n": r"\n", "\v": r"\v", "\f": r"\f", "\r": r"\r"}.get(c) or
                       (f"\\x{ord(c):02x}" if ord(c) < 0x20 or 0x7f <= ord(c) <= 0xff else c)
                       for c in WHITE_SPACE) + "]*$"


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
        and r["rule_type"] != "local"  # the suites check the national rules; local ones run in SQL only
    ]


def _table_sql(table: str, rules: list[dict[str, Any]]) -> str:
    """The query that reads one table for its suite: only the columns the suite's rules name (in the
    table's column order), rows in source order so GX's sample of unexpected values is stable."""
    used = {r["params"]["column"] for r in rules}
    m = meta(table)
    cols = [c for c in m.columns if c in used] or ["tos_row_id"]  # (a rule on a missing column: GX says so)
    return (f"select {', '.join(chr(34) + c + chr(34) for c in cols)} "
            f"from {SCHEMA}.tos_norm_{m.table_id.lower()} order by tos_row_id")


class _TableReader:
    """Reads the tables in order on a background thread, one table ahead of the caller (DuckDB and Arrow
    release the GIL, so the reads overlap GX's Python work, and the first one the GX import); at most two
    tables are in memory. Arrow -> pandas keeps the text in pandas' Arrow-backed ``str`` dtype without a
    Python object per value (DuckDB's ``.df()`` was ~3x slower on these all-text tables)."""

    # Rows read through one connection before it is reopened: DuckDB keeps the blocks it read cached while
    # a connection is open (~100 MB at 500k patients); opening one costs ~50 ms, so not once per table.
    REOPEN_AFTER_ROWS = 500_000

    def __init__(self, connect: Callable[[], duckdb.DuckDBPyConnection], queries: list[tuple[str, str]]) -> None:
        self._connect = connect
        self._queries = queries
        self.read_seconds = 0.0
        self._con: Any = None
        self._rows = 0
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gx-read")
        self._next: Future | None = self._submit(0)

    def _read(self, sql: str) -> Any:
        t0 = time.perf_counter()
        if self._con is None:
            self._con = self._connect()
        table = self._con.execute(sql).fetch_arrow_table()
        self._rows += table.num_rows
        if self._rows >= self.REOPEN_AFTER_ROWS:
            self._close_connection()
        df = table.to_pandas()
        del table
        self.read_seconds += time.perf_counter() - t0
        return df

    def _close_connection(self) -> None:
        if self._con is not None:
            self._con.close()
        self._con, self._rows = None, 0

    def _submit(self, i: int) -> Future | None:
        return self._pool.submit(self._read, self._queries[i][1]) if i < len(self._queries) else None

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        for i, (table, _) in enumerate(self._queries):
            assert self._next is not None
            df = self._next.result()
            self._next = self._submit(i + 1)
            yield table, df
            del df

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)  # the last read, if any, has finished
        self._next = None
        self._close_connection()


def _unique(expectations: list[Any], aliases: dict[str, list[str]] | None = None) -> list[Any]:
    """The expectations an ExpectationSuite keeps when they are added one by one (it is a set: a later
    expectation "equalish" to an earlier one, i.e. equal but for id/meta/notes/rendered_content, is
    dropped), without ``add_expectation``'s pairwise pydantic comparisons. Two rules with the same test
    (e.g. a warning and a record-level storage check) share one expectation: ``aliases`` gets, per kept
    rule code, the codes of the dropped ones, whose counts are the same."""
    seen: list[tuple[type, dict[str, Any]]] = []
    kept = []
    for e in expectations:
        key = (type(e), e.dict(exclude={"id", "rendered_content", "notes", "meta"}))
        if key not in seen:
            seen.append(key)
            kept.append(e)
        elif aliases is not None:
            first = kept[seen.index(key)].meta["rule_code"]
            if e.meta["rule_code"] != first:
                aliases.setdefault(first, []).append(e.meta["rule_code"])
    return kept


def result_format(table: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    """BASIC: counts plus GX's sample of up to 20 unexpected values, which the data docs show; no sample at
    all for a table whose suite checks a patient identifier (``spec.PATIENT_IDENTIFIERS``), so that no
    postcode, NHS Number or birth date is ever written into the data docs."""
    identifiers = set(PATIENT_IDENTIFIERS.get(table, ()))
    checks_identifier = any(r["params"]["column"] in identifiers for r in rules)
    return {"result_format": "BASIC", "partial_unexpected_count": 0 if checks_identifier else 20}


def _validation_definition(gx: Any, context: Any, source: Any, table: str, expectations: list[Any],
                           aliases: dict[str, list[str]] | None = None) -> Any:
    """Suite, data asset, whole-dataframe batch definition and validation definition of one table, each
    added once to the fresh ephemeral context of this run (``add_or_update`` would save the suite a second
    time and compare it expectation by expectation with the stored copy)."""
    name = f"tos_{table}"
    suite = context.suites.add(gx.ExpectationSuite(name=name, expectations=_unique(expectations, aliases)))
    batch_def = source.add_dataframe_asset(table).add_batch_definition_whole_dataframe("whole")
    return context.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch_def, suite=suite))


def _add_site_and_source(context: Any, report_dir: Path) -> Any:
    """The filesystem data docs site (``<report dir>/gx_data_docs``) and the pandas data source."""
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
    return context.data_sources.add_or_update_pandas("tos_idb")


def _validate_tables(gx: Any, context: Any, source: Any, reader: _TableReader,
                     by_table: dict[str, list[dict[str, Any]]], period: str,
                     cancel: threading.Event | None = None) -> tuple[dict[str, int], int, bool]:
    """Run each table's suite on its frame: per-rule unexpected counts, number of expectations, success."""
    counts: dict[str, int] = {}
    n_expectations = 0
    success = True
    for table, df in reader:
        if cancel is not None and cancel.is_set():
            raise Cancelled(f"Great Expectations stopped before {table}")
        expectations = [e for r in by_table[table] for e in expectations_for(r, period)]
        n_expectations += len(expectations)
        aliases: dict[str, list[str]] = {}
        vd = _validation_definition(gx, context, source, table, expectations, aliases)
        result = vd.run(batch_parameters={"dataframe": df}, result_format=result_format(table, by_table[table]))
        del df
        success = success and bool(result.success)
        for er in result.results:
            code = er.expectation_config.meta["rule_code"]
            for c in [code, *aliases.get(code, [])]:
                counts[c] = counts.get(c, 0) + int(er.result.get("unexpected_count") or 0)
    return counts, n_expectations, success


def connect_read_only(db: Path, linked: Mapping[str, Path] | None = None) -> Callable[[], duckdb.DuckDBPyConnection]:
    """How run_gx connects to a finished validation DB: ``db`` READ_ONLY, with ``linked`` (the databases its
    views read, ``sources.link_marts_on``) attached READ_ONLY beside it."""
    def connect() -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(str(db), read_only=True)
        try:
            attach_linked(con, linked)
        except BaseException:
            con.close()
            raise
        return con

    return connect


class Cancelled(Exception):
    """run_gx stopped before its next table because its caller asked it to (``GxBeside.cancel``)."""


def run_gx(db: Path | None, report_dir: Path, period: str, timings: dict[str, float] | None = None,
           linked: Mapping[str, Path] | None = None, connect: Callable[[], duckdb.DuckDBPyConnection] | None = None,
           cancel: threading.Event | None = None) -> dict[str, Any]:
    """Validate every IDB table with its generated suite; build the data docs; per-rule failure counts.
    The normalised tables ``tos_norm_*`` are read from ``db`` (READ_ONLY; ``linked``: the databases its views
    read, attached READ_ONLY), or through new connections ``connect()`` makes. ``cancel``: when set, the run
    raises Cancelled before its next table. ``timings``, if given, gets the seconds of GX's import, the suites
    and the data docs (for the benchmark; they are never in the result, which goes into summary.json and stays
    the same from run to run)."""
    if connect is None:
        assert db is not None
        connect = connect_read_only(Path(db), linked)
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    t_start = time.perf_counter()
    by_table: dict[str, list[dict[str, Any]]] = {}
    for r in gx_rules():
        by_table.setdefault(r["table_name"], []).append(r)
    # Start reading the first table before the (slow) GX import; pandas and pyarrow are imported here
    # first so that the two threads never import the same modules at the same time.
    import pandas  # noqa: F401
    import pyarrow  # noqa: F401

    reader = _TableReader(connect, [(t, _table_sql(t, by_table[t])) for t in sorted(by_table)])
    try:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        t_import = time.perf_counter()
        report_dir = Path(report_dir).resolve()
        # A fresh context per run: old validation results would otherwise pile up in the data docs.
        for old in (report_dir / "gx", report_dir / "gx_data_docs"):
            shutil.rmtree(old, ignore_errors=True)

        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
        source = _add_site_and_source(context, report_dir)
        counts, n_expectations, success = _validate_tables(gx, context, source, reader, by_table, period, cancel)
    finally:
        reader.close()
    t_validate = time.perf_counter()
    context.build_data_docs(site_names=[SITE])
    t_docs = time.perf_counter()
    if timings is not None:
        timings.update(import_s=round(t_import - t_start, 3), suites_s=round(t_validate - t_import, 3),
                       data_docs_s=round(t_docs - t_validate, 3))
    print(f"validate: GX import {t_import - t_start:.1f}s, suites+validation {t_validate - t_import:.1f}s "
          f"(overlapped: DuckDB reads {reader.read_seconds:.1f}s), data docs {t_docs - t_validate:.1f}s",
          file=sys.stderr)
    return {
        "suites": len(by_table),
        "expectations": n_expectations,
        "success": success,
        "data_docs": "gx_data_docs/index.html",
        "failures_by_rule": dict(sorted((k, v) for k, v in counts.items() if v)),
    }


class GxBeside:
    """run_gx on a background thread, beside other work (the TOS rules: their DuckDB work releases the GIL,
    GX's Python work holds it), reading through ``connect()``. ``result()`` waits for it and returns run_gx's
    value (or raises its error); ``cancel()`` stops it before its next table and waits, for a caller that
    failed (its folders are about to go)."""

    def __init__(self, connect: Callable[[], duckdb.DuckDBPyConnection], report_dir: Path, period: str) -> None:
        self.timings: dict[str, float] = {}
        self._cancel = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gx")
        self._future = self._pool.submit(run_gx, None, report_dir, period, timings=self.timings, connect=connect,
                                         cancel=self._cancel)
        self._pool.shutdown(wait=False)

    def result(self) -> dict[str, Any]:
        return self._future.result()

    def cancel(self) -> None:
        self._cancel.set()
        try:
            self._future.result()
        except Exception:  # noqa: BLE001 - the caller is failing already; its own error is the one to show
            log.debug("Great Expectations stopped", exc_info=True)
