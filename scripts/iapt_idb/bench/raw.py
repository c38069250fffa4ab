"""The raw Jackcess baseline of ``iapt_idb.bench``: the same rows, ``Table.addRows`` and nothing else.

Runs inside a benchmark phase child (which then hosts the writer's JVM). It reuses the writer's own
pieces (``accdb.source`` for the rows the export writes, already converted by DuckDB SQL;
``accdb.jackcess_ops`` for the JVM, the classes and the V2010 database with the spec's structure),
so the values handed to Jackcess are exactly the export's. For every batch of 10,000 rows it builds
the Python rows and the Java ``Object[][]`` *outside* the clock and times only ``addRows``; the final
``flush``/``close`` is timed too. No row checks, no pre-flight, no re-count. The JVM's start and the
file's creation with its 21 tables, which every export pays, are outside the clock too, and recorded
beside it (``jvm_start_s``, ``create_s``) for the benchmark's note on them.
"""

from __future__ import annotations

import time
from pathlib import Path
from collections.abc import Callable
from typing import Any

from ..accdb import jackcess_ops, source
from ..accdb.physical import spec_structure
from ..spec import load_tables


def raw_baseline(target_db: Path, out: Path, rows_sql: Callable[[str], str] | None = None) -> dict[str, Any]:
    """Append every mart's rows (or rows_sql's, as for export_idb) to a new .accdb with bare addRows."""
    select = rows_sql or source.default_rows_sql
    t0 = time.perf_counter()
    j = jackcess_ops._java()  # the writer's JVM and classes (Jackcess 4.0.10)
    jvm_start = time.perf_counter() - t0
    structure = spec_structure()
    con = source.connect(Path(target_db))
    t0 = time.perf_counter()
    db = jackcess_ops.create_db(str(out), structure)
    timings = {"add_rows_s": 0.0, "java_arrays_s": 0.0, "python_rows_s": 0.0, "flush_close_s": 0.0,
               "jvm_start_s": jvm_start, "create_s": time.perf_counter() - t0}
    counts: dict[str, int] = {}
    try:
        for spec, phys in zip(load_tables(), structure):
            plan = source.plan_table(con, spec, phys, select(spec.name))
            counts[spec.name] = _append_table(j, db.getTable(phys.name), con, plan.write_sql(), timings)
    finally:
        t0 = time.perf_counter()
        db.flush()
        db.close()
        timings["flush_close_s"] = time.perf_counter() - t0
        con.close()
    seconds = timings["add_rows_s"] + timings["flush_close_s"]
    return {"rows": sum(counts.values()), "seconds": seconds, "tables": counts, "timings": timings}


def _append_table(j: dict[str, Any], table: Any, con: Any, sql: str, timings: dict[str, float]) -> int:
    done = 0
    for batch in source.batches(con, sql):
        t0 = time.perf_counter()
        rows = [list(r) for r in zip(*(c.to_pylist() for c in batch.columns))]
        t1 = time.perf_counter()
        java_rows = j["Arrays"].asList(j["Rows"](rows))
        t2 = time.perf_counter()
        table.addRows(java_rows)
        t3 = time.perf_counter()
        timings["python_rows_s"] += t1 - t0
        timings["java_arrays_s"] += t2 - t1
        timings["add_rows_s"] += t3 - t2
        done += batch.num_rows
    return done
