"""Compare what two code versions make of one month: reports, summary.json, marts and the IDB, byte for byte.

Two steps, each with ``--help``:

    # 1. the month's outputs of one work tree (its own .venv/bin/iapt-idb), from a given warehouse
    python -m iapt_idb.tools.compare_outputs run --tree /work/wt/before --warehouse wh.duckdb --out out/before
    python -m iapt_idb.tools.compare_outputs run --tree /work/wt/after  --warehouse wh.duckdb --out out/after
    # 2. compare the two output folders
    python -m iapt_idb.tools.compare_outputs compare out/before out/after

``run`` calls the tree's own CLI (build with a fixed ``--created-at`` and provider, validate, export
``--force``, optionally docs) so both sides differ only by their code, and writes:

    validation/                   validate's report folder (validation_report.csv/.json, summary.json, ...)
    IAPT_IDB_<period>.accdb       the IDB (+ .manifest.json, .excluded.csv beside it)
    marts/<IDB table>.csv         the 21 marts as built, rows in stored order
    site/                         the docs site (with --docs)
    run.json                      the commands, exit codes and seconds (not compared)

``compare`` checks every file byte for byte; where two differ it says how without printing patient data:
summary.json and the manifest field by field (path and both values), any other JSON by path only, a CSV by
row counts (the validation report's rows per rule code), an .accdb table by table and row by row read
back through the national reader replica (Jackcess/UCanAccess; row positions and column names only).
An .accdb is read back even when its bytes are equal. GX Data Docs are left out unless ``--all`` (GX stamps
each run's time and random ids into them). Exit 0 identical, 1 different, 2 unusable input.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ..errors import EXIT_ACCEPTED, EXIT_FILE_REJECTED, EXIT_UNUSABLE, UserError

SKIP = {"run.json", "work"}  # run.json holds times; work/ the build's scratch (target DB, dbt target)
# Great Expectations stamps each run's time into its Data Docs (folder names, a logo URL): never equal twice.
# Its results that matter are in summary.json ("great_expectations"), which is compared.
IGNORED_BY_DEFAULT = ("validation/gx_data_docs/",)
# JSON files whose values hold no record key or patient value: their differing values are printed.
VALUES_SHOWN = ("summary.json", ".manifest.json")
EXIT_DIFFERENT = 1


# ------------------------------------------------------------------------------------------------
# run: one tree's outputs of one month
# ------------------------------------------------------------------------------------------------

def _tree_cli(tree: Path) -> Path:
    cli = tree / ".venv" / "bin" / "iapt-idb"
    if not cli.is_file():
        raise UserError(f"{cli} not found: run 'make setup jars' in {tree} first")
    return cli


def _commit(tree: Path) -> str:
    proc = subprocess.run(["git", "-C", str(tree), "rev-parse", "HEAD"], capture_output=True, text=True)
    return proc.stdout.strip() if proc.returncode == 0 else "unknown"


def _dump_marts(target_db: Path, out: Path) -> dict[str, int]:
    """Each IDB mart as CSV in stored order (as test_marts_determinism compares them)."""
    import duckdb

    from ..spec import table_names

    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    con = duckdb.connect(str(target_db), read_only=True)
    try:
        for name in table_names():
            path = out / f"{name}.csv"
            con.execute(f"copy (select * from main.\"{name}\") to '{path}' (header, delimiter ',')")
            counts[name] = con.execute(f'select count(*) from main."{name}"').fetchone()[0]
    finally:
        con.close()
    return counts


def run_month(tree: Path, warehouse: Path, out: Path, period: str, created_at: str, provider_ods: str,
              gx: bool = True, docs: bool = False, keep_work: bool = False) -> dict[str, Any]:
    """Build, validate and export one month with ``tree``'s own CLI into ``out``; return what ran."""
    tree, warehouse, out = tree.resolve(), warehouse.resolve(), out.resolve()
    cli = _tree_cli(tree)
    if not warehouse.is_file():
        raise UserError(f"warehouse {warehouse} not found: make one with 'iapt-idb generate --out {warehouse}'")
    if out.exists():
        if any(out.iterdir()) and not (out / "run.json").exists():
            raise UserError(f"{out} holds files this tool did not write: give an empty or new folder as --out")
        shutil.rmtree(out)
    work = out / "work"
    work.mkdir(parents=True)
    target_db = work / "iapt_idb.duckdb"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IAPT_", "DBT_"))}
    env.update({
        "IAPT_WAREHOUSE_PATH": str(warehouse), "IAPT_TARGET_DB": str(target_db), "IAPT_SOURCE_SYSTEM": "lumen_cms",
        "IAPT_PROVIDER_ODS": provider_ods, "IAPT_IDB_SUBMISSIONS": str(work / "submissions"),
        "DBT_TARGET_PATH": str(work / "target"), "DBT_LOG_PATH": str(work / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    })
    idb = out / f"IAPT_IDB_{period}.accdb"
    report = out / "validation"
    steps: list[tuple[str, list[str], tuple[int, ...]]] = [
        ("build", ["build", "--period", period, "--warehouse", str(warehouse), "--target-db", str(target_db),
                   "--created-at", created_at, "--provider-ods", provider_ods], (0,)),
        ("validate", ["validate", "--period", period, "--report", str(report), "--target-db", str(target_db),
                      "--provider-ods", provider_ods, *([] if gx else ["--no-gx"])],
         (EXIT_ACCEPTED, EXIT_FILE_REJECTED)),
        ("export", ["export", "--period", period, "--out", str(idb), "--target-db", str(target_db), "--force",
                    "--quiet"], (EXIT_ACCEPTED, EXIT_FILE_REJECTED)),
    ]
    if docs:
        steps.append(("docs", ["docs", "--period", period, "--out", str(out / "site"), "--report", str(report),
                               "--target-db", str(target_db), "--warehouse", str(warehouse)], (0,)))
    record: dict[str, Any] = {"tree": str(tree), "commit": _commit(tree), "warehouse": str(warehouse),
                              "period": period, "created_at": created_at, "provider_ods": provider_ods, "steps": []}
    for name, args, ok in steps:
        t0 = time.monotonic()
        print(f"[{tree.name}] iapt-idb {' '.join(args)}", file=sys.stderr, flush=True)
        proc = subprocess.run([str(cli), *args], cwd=tree, env=env, text=True, capture_output=True)
        (work / f"{name}.stdout").write_text(proc.stdout, encoding="utf-8")
        (work / f"{name}.stderr").write_text(proc.stderr, encoding="utf-8")
        record["steps"].append({"step": name, "args": args, "exit": proc.returncode,
                                "seconds": round(time.monotonic() - t0, 1)})
        if proc.returncode not in ok:
            (out / "run.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
            tail = proc.stderr.strip().splitlines()[-1:] or ["(no message)"]
            raise UserError(f"{tree.name}: 'iapt-idb {name}' exited {proc.returncode}: {tail[0][:300]} "
                            f"(its output: {work}/{name}.stderr)")
    record["mart_rows"] = _dump_marts(target_db, out / "marts")
    (out / "run.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
    if not keep_work:
        shutil.rmtree(work)
    return record


# ------------------------------------------------------------------------------------------------
# compare: two output folders
# ------------------------------------------------------------------------------------------------

@dataclass
class FileResult:
    path: str
    status: str  # identical, different, only_in_a, only_in_b, ignored
    details: list[str] = field(default_factory=list)


def _files(root: Path, ignore: tuple[str, ...]) -> tuple[dict[str, Path], int]:
    """The files under root to compare (relative path -> path), and how many were ignored."""
    found, ignored = {}, 0
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if not p.is_file() or rel.parts[0] in SKIP:
            continue
        if rel.as_posix().startswith(ignore):
            ignored += 1
        else:
            found[rel.as_posix()] = p
    return found, ignored


def _sha(path: Path) -> str:
    from ..accdb.writer import sha256_file

    return sha256_file(path)


def _first_difference(a: Path, b: Path) -> int:
    """Offset of the first differing byte (the shorter file's length if one is a prefix of the other)."""
    with a.open("rb") as fa, b.open("rb") as fb:
        offset = 0
        while True:
            ca, cb = fa.read(1 << 16), fb.read(1 << 16)
            if ca != cb:
                n = min(len(ca), len(cb))
                return offset + next((i for i in range(n) if ca[i] != cb[i]), n)
            if not ca:
                return offset
            offset += len(ca)


def _json_paths(a: Any, b: Any, path: str = "$") -> Iterator[tuple[str, Any, Any]]:
    """(path, value in a, value in b) for every leaf that differs."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a:
                yield f"{path}.{k}", "(absent)", b[k]
            elif k not in b:
                yield f"{path}.{k}", a[k], "(absent)"
            else:
                yield from _json_paths(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            yield f"{path}[len]", len(a), len(b)
        for i, (x, y) in enumerate(zip(a, b)):
            yield from _json_paths(x, y, f"{path}[{i}]")
    elif a != b or type(a) is not type(b):
        yield path, a, b


def _short(v: Any) -> str:
    text = json.dumps(v, sort_keys=True, ensure_ascii=False) if not isinstance(v, str) or v != "(absent)" else v
    return text if len(text) <= 80 else text[:77] + "..."


def _json_details(rel: str, a: Path, b: Path, limit: int = 40) -> list[str]:
    try:
        ja, jb = json.loads(a.read_text(encoding="utf-8")), json.loads(b.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return ["not both JSON"]
    diffs = list(_json_paths(ja, jb))
    if not diffs:
        return ["same content, different bytes (layout or key order)"]
    show_values = rel.endswith(VALUES_SHOWN)
    out = [f"{len(diffs)} field(s) differ"]
    for p, x, y in diffs[:limit]:
        out.append(f"{p}: {_short(x)} -> {_short(y)}" if show_values else p)
    if len(diffs) > limit:
        out.append(f"... and {len(diffs) - limit} more")
    return out


def _csv_rows(path: Path) -> tuple[list[str], list[tuple[str, ...]]]:
    with path.open(newline="", encoding="utf-8") as f:
        rows = [tuple(r) for r in csv.reader(f)]
    return (list(rows[0]) if rows else []), rows[1:]


def _csv_details(a: Path, b: Path) -> list[str]:
    """Row counts and, for a report with a rule_code column, the rows added or removed per rule code."""
    try:
        ha, ra = _csv_rows(a)
        hb, rb = _csv_rows(b)
    except (UnicodeDecodeError, csv.Error):
        return ["not both CSV text"]
    out = []
    if ha != hb:
        out.append(f"header differs: {ha} -> {hb}")
    out.append(f"rows: {len(ra)} -> {len(rb)}")
    ca, cb = Counter(ra), Counter(rb)
    only_a, only_b = ca - cb, cb - ca
    if not only_a and not only_b:
        if ra != rb:
            first = next(i for i, (x, y) in enumerate(zip(ra, rb)) if x != y)
            out.append(f"the same rows in another order (first at data row {first + 1})")
        return out
    out.append(f"{sum(only_a.values())} row(s) only in A, {sum(only_b.values())} only in B")
    if ha == hb and "rule_code" in ha:
        i = ha.index("rule_code")
        per_rule: Counter[str] = Counter()
        for row, n in only_a.items():
            per_rule[row[i] + " only in A"] += n
        for row, n in only_b.items():
            per_rule[row[i] + " only in B"] += n
        out.extend(f"{k}: {n}" for k, n in sorted(per_rule.items()))
    return out


def read_accdb(path: Path, duckdb_path: Path) -> dict[str, list[tuple]]:
    """Every table of an .accdb as the national reader replica returns it, rows in stored order."""
    import duckdb

    from ..accdb.reader import load_accdb_to_duckdb

    counts = load_accdb_to_duckdb(path, duckdb_path, schema="main", progress=False)
    con = duckdb.connect(str(duckdb_path), read_only=True)
    try:
        tables = {}
        for name in sorted(counts):
            cols = [r[0] for r in con.execute(f'describe main."{name}"').fetchall()]
            tables[name] = [tuple(cols)] + [tuple(r) for r in con.execute(f'select * from main."{name}"').fetchall()]
        return tables
    finally:
        con.close()


def accdb_row_details(a: Path, b: Path) -> list[str]:
    """Table by table, row by row: which tables, row positions and columns differ (never the values)."""
    with tempfile.TemporaryDirectory(prefix="iapt-compare-") as tmp:
        ta = read_accdb(a, Path(tmp) / "a.duckdb")
        tb = read_accdb(b, Path(tmp) / "b.duckdb")
    out = []
    for name in sorted(set(ta) | set(tb)):
        if name not in tb or name not in ta:
            out.append(f"table {name}: only in {'A' if name in ta else 'B'}")
            continue
        (cols_a, *rows_a), (cols_b, *rows_b) = ta[name], tb[name]
        if cols_a != cols_b:
            out.append(f"table {name}: columns differ: {list(cols_a)} -> {list(cols_b)}")
            continue
        if rows_a == rows_b:
            continue
        bad = [i for i, (x, y) in enumerate(zip(rows_a, rows_b)) if x != y]
        cols = sorted({cols_a[j] for i in bad for j in range(len(cols_a)) if rows_a[i][j] != rows_b[i][j]})
        text = f"table {name}: rows {len(rows_a)} -> {len(rows_b)}"
        if bad:
            text += f"; {len(bad)} row(s) differ, first at row {bad[0] + 1}, in column(s) {', '.join(cols)}"
        out.append(text)
    summary = f"read back through the replica: {len(ta)} and {len(tb)} tables, {sum(len(t) - 1 for t in ta.values())}" \
              f" and {sum(len(t) - 1 for t in tb.values())} rows"
    return [summary + ("; every table row for row identical" if not out else "")] + out


def compare(a: Path, b: Path, accdb_rows: bool = True,
            ignore: tuple[str, ...] = IGNORED_BY_DEFAULT) -> list[FileResult]:
    for side in (a, b):
        if not side.is_dir():
            raise UserError(f"{side} is not a folder of outputs (make one with 'compare_outputs run')")
    (fa, ia), (fb, ib) = _files(a, ignore), _files(b, ignore)
    results = []
    if ia or ib:
        results.append(FileResult(f"{' '.join(ignore)}*", "ignored", [f"{ia} and {ib} file(s) not compared"]))
    for rel in sorted(set(fa) | set(fb)):
        if rel not in fb:
            results.append(FileResult(rel, "only_in_a"))
            continue
        if rel not in fa:
            results.append(FileResult(rel, "only_in_b"))
            continue
        pa, pb = fa[rel], fb[rel]
        same = pa.stat().st_size == pb.stat().st_size and _sha(pa) == _sha(pb)
        res = FileResult(rel, "identical" if same else "different")
        if not same:
            res.details.append(f"bytes: {pa.stat().st_size} -> {pb.stat().st_size}, first difference at byte "
                               f"{_first_difference(pa, pb)}")
            if rel.endswith(".json"):
                res.details += _json_details(rel, pa, pb)
            elif rel.endswith(".csv"):
                res.details += _csv_details(pa, pb)
        if rel.endswith(".accdb") and accdb_rows:
            rows = accdb_row_details(pa, pb)
            res.details += rows
            if len(rows) > 1:
                res.status = "different"
        results.append(res)
    return results


def format_results(results: list[FileResult], a: Path, b: Path) -> str:
    counts = Counter(r.status for r in results)
    lines = [f"A = {a}", f"B = {b}"]
    same: Counter[str] = Counter()
    for r in results:
        if r.status != "identical" or r.details:
            lines.append(f"{r.status.upper():<10} {r.path}")
            lines.extend(f"           {d}" for d in r.details)
        else:
            same[r.path.split("/")[0] + "/" if "/" in r.path else r.path] += 1
    if same:
        lines.append("IDENTICAL  " + ", ".join(k if not k.endswith("/") else f"{k} ({n} file{'' if n == 1 else 's'})"
                                            for k, n in sorted(same.items())))
    verdict = "IDENTICAL" if set(counts) <= {"identical", "ignored"} else "DIFFERENT"
    lines.append(f"{verdict}: {counts.get('identical', 0)} file(s) identical, {counts.get('different', 0)} different, "
                 f"{counts.get('only_in_a', 0)} only in A, {counts.get('only_in_b', 0)} only in B")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------
# command line
# ------------------------------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m iapt_idb.tools.compare_outputs", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="build, validate and export one month with a work tree's own CLI")
    r.add_argument("--tree", type=Path, required=True, help="a work tree of this project with its .venv set up")
    r.add_argument("--warehouse", type=Path, required=True, help="the DuckDB warehouse (use one for both sides)")
    r.add_argument("--out", type=Path, required=True,
                   help="output folder (new or empty, or an earlier run's, which is replaced)")
    r.add_argument("--period", default="2026-10", help="reporting month (default 2026-10)")
    r.add_argument("--created-at", default="2026-11-05T09:00:00",
                   help="IDS000 DateTimeDatSetCreate, fixed so outputs are byte-comparable (default 2026-11-05T09:00:00)")
    r.add_argument("--provider-ods", default="RZZ", help="provider ODS code (default RZZ, the synthetic provider)")
    r.add_argument("--no-gx", action="store_true", help="validate without Great Expectations (faster at scale)")
    r.add_argument("--docs", action="store_true", help="also build the docs site into OUT/site")
    r.add_argument("--keep-work", action="store_true", help="keep OUT/work (target DB, dbt target, command output)")
    c = sub.add_parser("compare", help="compare two output folders; exit 0 identical, 1 different")
    c.add_argument("a", type=Path)
    c.add_argument("b", type=Path)
    c.add_argument("--no-accdb-rows", action="store_true", help="compare .accdb files by bytes only")
    c.add_argument("--json", action="store_true", help="print the result as JSON")
    c.add_argument("--all", action="store_true",
                   help=f"compare every file (by default {', '.join(IGNORED_BY_DEFAULT)} is left out: GX stamps "
                        "each run's time into its Data Docs)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            record = run_month(args.tree, args.warehouse, args.out, args.period, args.created_at, args.provider_ods,
                               gx=not args.no_gx, docs=args.docs, keep_work=args.keep_work)
            for step in record["steps"]:
                print(f"{step['step']:<9} exit {step['exit']}  {step['seconds']:>7.1f} s")
            return 0
        results = compare(args.a, args.b, accdb_rows=not args.no_accdb_rows,
                          ignore=() if args.all else IGNORED_BY_DEFAULT)
    except UserError as exc:
        print(f"compare_outputs: {exc}", file=sys.stderr)
        return exc.exit_code or EXIT_UNUSABLE
    if args.json:
        print(json.dumps([r.__dict__ for r in results], indent=1))
    else:
        print(format_results(results, args.a, args.b))
    return 0 if all(r.status in ("identical", "ignored") for r in results) else EXIT_DIFFERENT


if __name__ == "__main__":
    sys.exit(main())
