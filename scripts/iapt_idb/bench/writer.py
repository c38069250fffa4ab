"""Benchmark of the IDB writer: ``python -m iapt_idb.bench.writer [--rows N]``.

Builds an IDB-shaped DuckDB (all 21 marts, N rows in total, synthetic values of the right types and
sizes), exports it with ``export_idb`` end to end (spawn, row checks, JVM start, writing, re-count,
fsync, manifest) and prints rows/s. Then measures the raw Jackcess baseline: ``Table.addRows`` for
the same tables and row counts, in batches of 10,000 already converted to Java, in a fresh child.
Target: >= 30,000 rows/s end to end. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from ..periods import parse_period
from ..spec import IdbColumn, load_tables

SHARE = {"IDS201CareContact": 0.30, "IDS202CareActivity": 0.20, "IDS606CodedScoreAssessmentRefer": 0.15,
         "IDS607CodedScoreAssessmentAct": 0.10, "IDS101Referral": 0.08, "IDS001MPI": 0.05}


def _expr(c: IdbColumn, period_start: str) -> str:
    n = c.max_length or 10
    if c.order == 1 and c.data_type == "string":
        return f"substr(printf('%020d', i), {21 - min(n, 20)})"  # the last n digits of the row number
    if c.data_type == "string":
        value = f"substr(md5(CAST(i AS VARCHAR) || '{c.name}'), 1, {min(n, 16)})"
    elif c.data_type == "date":
        value = f"DATE '{period_start}' + CAST(i % 31 AS INTEGER)"
    elif c.data_type == "time":
        value = "TIME '00:00:00' + to_seconds(i % 86400)"
    elif c.data_type == "datetime":
        value = f"TIMESTAMP '{period_start} 00:00:00' + to_seconds(i % 2678400)"
    else:
        value = "CAST(i % 120 AS INTEGER)"
    return f"CASE WHEN i % 7 = 3 THEN NULL ELSE {value} END"


def build_marts(path: Path, rows: int, period: str) -> dict[str, int]:
    start, end = parse_period(period)
    tables = load_tables()
    rest = [t.name for t in tables if t.name not in SHARE and t.name != "IDS000Header"]
    left = 1.0 - sum(SHARE.values())
    counts = {"IDS000Header": 1}
    for t in tables[1:]:
        counts[t.name] = int(rows * (SHARE.get(t.name) or left / len(rest)))
    counts["IDS201CareContact"] += rows - sum(counts.values())
    con = duckdb.connect(str(path))
    try:
        for t in tables:
            if t.name == "IDS000Header":
                con.execute(
                    "CREATE TABLE main.IDS000Header AS SELECT '2.1' AS DatSetVer, 'RXX' AS OrgIDProv, "
                    "'RXX' AS OrgIDSubmit, 'Bench CMS' AS PrimSystemInUse, "
                    f"DATE '{start}' AS ReportingPeriodStartDate, DATE '{end}' AS ReportingPeriodEndDate, "
                    f"TIMESTAMP '{end} 23:59:59' AS DateTimeDatSetCreate")
                continue
            cols = ", ".join(f'{_expr(c, start.isoformat())} AS "{c.name}"' for c in t.columns)
            con.execute(f'CREATE TABLE main."{t.name}" AS SELECT {cols} FROM range({counts[t.name]}) r(i)')
    finally:
        con.close()
    return counts


def _baseline_child(counts_file: str, out: str) -> None:
    """In a spawned child: raw Jackcess addRows, the same tables and row counts as the export, with rows
    already converted to Java (10,000 per batch), so only Jackcess's own work is timed."""
    from ..accdb import jackcess_ops
    from ..accdb.physical import spec_structure

    counts = json.loads(Path(counts_file).read_text())
    tables = spec_structure()
    db = jackcess_ops.create_db(out, tables)
    j = jackcess_ops._java()
    elapsed = cpu = 0.0
    done = 0
    try:
        for table in tables:
            rows = []
            for i in range(min(10_000, counts[table.name])):
                r: list = []
                for c in table.columns:
                    if c.access_type == "TEXT":
                        r.append(f"{i:08d}"[-min(c.length or 1, 8):])
                    elif c.access_type == "LONG":
                        r.append(i % 120)
                    else:
                        r.append(1790812800000 + i * 1000)
                rows.append(r)
            if not rows:
                continue
            java_rows = j["Arrays"].asList(j["Rows"](rows))
            t = db.getTable(table.name)
            t0, c0 = time.perf_counter(), time.process_time()
            left = counts[table.name]
            while left > 0:
                t.addRows(java_rows if left >= len(rows) else java_rows.subList(0, left))
                left -= min(left, len(rows))
            db.flush()
            elapsed += time.perf_counter() - t0
            cpu += time.process_time() - c0
            done += counts[table.name]
    finally:
        db.close()
    print(json.dumps({"rows": done, "seconds": elapsed, "cpu": cpu}))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m iapt_idb.bench.writer", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows in total across the 21 marts (default 1,000,000)")
    ap.add_argument("--period", default="2026-10", help="reporting period of the synthetic header (default 2026-10)")
    ap.add_argument("--workdir", type=Path, default=None, help="where to put the files (default: a temp folder, removed)")
    ap.add_argument("--_baseline", nargs=2, metavar=("COUNTS_JSON", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._baseline:
        _baseline_child(args._baseline[0], args._baseline[1])
        return 0

    from ..accdb.writer import export_idb

    with tempfile.TemporaryDirectory(prefix="iapt-idb-bench-") as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        marts = work / "bench_marts.duckdb"
        marts.unlink(missing_ok=True)
        t0 = time.perf_counter()
        counts = build_marts(marts, args.rows, args.period)
        t_build = time.perf_counter() - t0
        out = work / "bench.accdb"
        t0, ru0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
        manifest = export_idb(marts, out, args.period, progress=False)
        t_export = time.perf_counter() - t0
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_export = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        total = manifest["total_rows"]
        assert total == sum(counts.values())
        size = out.stat().st_size

        base_out = work / "baseline.accdb"
        base_out.unlink(missing_ok=True)
        counts_file = work / "bench_counts.json"
        counts_file.write_text(json.dumps(counts))
        res = subprocess.run([sys.executable, "-m", "iapt_idb.bench.writer", "--_baseline", str(counts_file),
                              str(base_out)], capture_output=True, text=True, check=True)
        base = json.loads(res.stdout.strip().splitlines()[-1])

    load = os.getloadavg()[0]
    print(f"IDB writer benchmark ({args.period}; synthetic marts built in {t_build:.1f} s; "
          f"{os.cpu_count()} CPUs, load average {load:.1f} at the end)")
    print(f"  export_idb end to end   {total:>10,} rows  {t_export:7.1f} s  {total / t_export:>9,.0f} rows/s"
          f"  ({size / 1e6:.0f} MB .accdb; includes child spawn, JVM start, checks of every row, re-count)")
    print(f"    CPU time of the export child: {cpu_export:.1f} s = {total / cpu_export:,.0f} rows per CPU-second"
          " (all threads; less sensitive to other load on the machine)")
    print(f"    peak memory of the largest child process so far: {ru1.ru_maxrss / 1024:,.0f} MB"
          " (bounded: rows stream in batches of 10,000)")
    print(f"  raw Jackcess addRows    {base['rows']:>10,} rows  {base['seconds']:7.1f} s"
          f"  {base['rows'] / base['seconds']:>9,.0f} rows/s  (same tables and counts; rows pre-converted to Java,"
          " batches of 10,000; Jackcess work only)")
    print(f"    CPU time {base['cpu']:.1f} s = {base['rows'] / base['cpu']:,.0f} rows per CPU-second")
    print(f"  target                  {'':>10}       {'':>7}     30,000 rows/s end to end:"
          f" {'MET' if total / t_export >= 30_000 else 'NOT MET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
