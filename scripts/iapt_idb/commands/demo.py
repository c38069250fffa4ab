"""iapt-idb demo: the whole monthly job on the synthetic warehouse, end to end.

generate (synthetic Lumen CMS warehouse, or Meridian EPR with --system meridian_epr) -> build (dbt: 21
IDB marts) -> validate (predicted platform verdict, rule codes) -> export (.accdb IDB) -> measures (headline figures) -> docs site.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from ..paths import DEFAULT_TARGET_DB, DEFAULT_WAREHOUSE, OUTPUT_DIR
from ..periods import parse_period, period_arg
from ..warehouse.gen_reference import PROVIDER as SYNTHETIC_PROVIDER


def add_parser(subparsers: argparse._SubParsersAction, help_text: str) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "demo",
        help=help_text,
        description=(
            "Run the whole monthly job on the embedded synthetic warehouse: generate a Lumen CMS "
            "warehouse, build the 21 IDB marts for the period, predict the national platform's "
            "verdict, write the .accdb IDB, print the headline measures and build the docs site. "
            "Re-uses an existing warehouse generated with the same settings by the same generator code. --system meridian_epr runs the "
            "same job on the second synthetic system (same content, another vendor's shape, hand-written staging). "
            "Exit status: 0 when the whole job ran, whatever the predicted verdict (the demo warehouse has defects on "
            "purpose, so the default month is predicted FILE REJECTED: the verdict is printed and the .accdb written "
            "anyway); 2 for unusable input. 'iapt-idb validate' and 'export' are the commands whose exit status is the verdict."
        ),
    )
    p.add_argument("--system", default=None, metavar="NAME",
                   help="synthetic source system: lumen_cms (default) or meridian_epr; also iapt-idb --system NAME")
    p.add_argument("--period", type=period_arg, default="2026-10", help="reporting month YYYY-MM (default 2026-10)")
    p.add_argument("--patients", type=int, default=2000, help="patients in the synthetic warehouse (default 2000)")
    p.add_argument("--seed", type=int, default=42, help="random seed of the generator (default 42)")
    p.add_argument("--defect-rate", type=float, default=0.01, help="share of rows given data-quality defects (default 0.01)")
    p.add_argument("--out", type=Path, default=None, help="output folder (default output/<period>)")
    p.add_argument("--warehouse", type=Path, default=DEFAULT_WAREHOUSE, help="synthetic warehouse file (default data/local_warehouse.duckdb)")
    p.add_argument("--target-db", type=Path, default=DEFAULT_TARGET_DB, help="dbt target DuckDB file (default data/iapt_idb.duckdb)")
    p.add_argument(
        "--created-at",
        default=None,
        help="fix IDS000 DateTimeDatSetCreate (YYYY-MM-DDTHH:MM:SS) for byte-identical output; default: now",
    )
    p.add_argument("--provider-ods", default=SYNTHETIC_PROVIDER, metavar="CODE",
                   help=f"ODS code in the header and the one validated against (default {SYNTHETIC_PROVIDER}, the "
                        "synthetic warehouse's made-up provider; a real provider's build has no default)")
    p.add_argument("--no-docs", action="store_true", help="skip the docs site")
    return p


def _step(n: int, total: int, text: str) -> None:
    print(f"\n==> [{n}/{total}] {text}", file=sys.stderr, flush=True)


def _ensure_warehouse(path: Path, patients: int, seed: int, defect_rate: float, period: str,
                      system: str = "lumen_cms") -> bool:
    """Generate the warehouse unless one made with the same settings and generator is already there."""
    from ..warehouse.generate import generator_fingerprint
    from ..warehouse.systems import generate_system

    stamp = path.with_suffix(".settings.json")
    settings = {"patients": patients, "seed": seed, "defect_rate": defect_rate, "period": period, "system": system,
                "generator": generator_fingerprint()}
    if path.exists() and stamp.exists():
        try:
            if json.loads(stamp.read_text()) == settings:
                print(f"re-using {path} (same settings)", file=sys.stderr)
                return False
        except json.JSONDecodeError:
            pass
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in (path, stamp):
        stale.unlink(missing_ok=True)
    generate_system(system, out=path, patients=patients, seed=seed, defect_rate=defect_rate, period=period)
    stamp.write_text(json.dumps(settings, sort_keys=True))
    return True


def run(args: argparse.Namespace) -> int:
    from ..errors import UserError

    from ..warehouse.systems import synthetic_system

    parse_period(args.period)
    # The demo's warehouse is synthetic: build from that system's folder in the project, whatever else is configured.
    system = synthetic_system(args.system or getattr(args, "global_system", None) or "lumen_cms")
    # Every dbt run below (build, validation, docs) attaches this warehouse and builds into this DB.
    os.environ["IAPT_WAREHOUSE_PATH"] = str(Path(args.warehouse).resolve())
    os.environ["IAPT_TARGET_DB"] = str(Path(args.target_db).resolve())
    os.environ["IAPT_SOURCE_SYSTEM"] = system
    os.environ.pop("IAPT_SOURCE_SYSTEMS_DIR", None)
    out: Path = args.out or OUTPUT_DIR / args.period
    out.mkdir(parents=True, exist_ok=True)
    report_dir = out / "validation"
    idb_path = out / f"IAPT_IDB_{args.period}.accdb"
    site_dir = out / "site"
    total = 5 if args.no_docs else 6
    t0 = time.monotonic()

    _step(1, total, f"synthetic warehouse ({system}): {args.patients} patients, seed {args.seed}, defect rate {args.defect_rate}")
    _ensure_warehouse(args.warehouse, args.patients, args.seed, args.defect_rate, args.period, system)

    _step(2, total, f"dbt build: 21 IDB marts for {args.period}")
    from .build import build_marts, format_summary

    print(format_summary(build_marts(args.period, args.warehouse, args.target_db, created_at=args.created_at,
                                        provider_ods=args.provider_ods)))

    _step(3, total, "validate: the national platform's predicted verdict")
    from ..validation.api import run_validation

    from .validate import format_outcome

    result = run_validation(None, args.period, report_dir, target_db=args.target_db, provider_ods=args.provider_ods)
    print(format_outcome(result.summary))

    _step(4, total, "export: write the IDB (.accdb)")
    from ..accdb.writer import export_idb

    if result.file_rejected:
        print(
            "The platform would reject this whole file (see the predicted outcome above). `iapt-idb export` "
            "refuses such a file unless --force; the demo writes it anyway so you can inspect it.",
            file=sys.stderr,
        )
    manifest = export_idb(args.target_db, idb_path, args.period, skip_unstorable=True)
    recorded = _record(args.target_db, args.period, idb_path, report_dir)

    _step(5, total, "headline NHS Talking Therapies measures (from the warehouse history)")
    from .measures import format_headline, headline_measures

    print(format_headline(headline_measures(args.target_db)))

    index = None
    if not args.no_docs:
        _step(6, total, "docs site")
        from ..docs_site import build_site

        index = build_site(
            args.period, site_dir, report_dir, args.target_db, history_dir=out.parent, warehouse=args.warehouse
        )

    rows = manifest["total_rows"]
    left_out = manifest.get("rows_left_out_unstorable") or {}
    print("\nDone in %.0f s. What was produced:" % (time.monotonic() - t0))
    print(f"  local warehouse     {args.warehouse}")
    print(f"  IDB marts (DuckDB)  {args.target_db}")
    print(f"  validation report   {report_dir}/validation_report.csv, summary.json")
    outcome = "REJECTED (whole file)" if result.file_rejected else "accepted"
    print(f"  predicted outcome   file {outcome}")
    print(f"  IDB for upload      {idb_path}  ({rows:,} rows)")
    if left_out:
        print(f"  left out of the IDB {sum(left_out.values())} record(s) with values the IDB cannot store, listed in "
              f"{idb_path.with_name(manifest['excluded_file'])}")
    print(f"  submission history  {recorded}")
    if index is not None:
        print(f"  docs site           {index}")
        print(f"                      open it with: python3 -m http.server -d {site_dir} 8000  (then http://localhost:8000)")
    if not idb_path.exists():
        raise UserError(f"the IDB was not written: {idb_path}")
    return 0


def _record(target_db: Path, period: str, idb: Path, report_dir: Path) -> str:
    """Record the demo's IDB in the submission history (as `iapt-idb export` does); say where it went."""
    from ..accdb.source import default_rows_sql
    from ..spec import load_tables
    from ..submissions import capture, store

    root = store.submissions_dir()
    sources = {t.name: default_rows_sql(t.name) for t in load_tables()}
    done = store.record_submission(root, period, idb, capture.filler(target_db, period, sources, report_dir),
                                   {"demo": True})
    if done.record is None:
        return f"{root} (the IDB is byte-identical to submission {done.same_as}; not recorded again)"
    return f"{root} (recorded as submission {done.record.label}, {done.record.kind})"
