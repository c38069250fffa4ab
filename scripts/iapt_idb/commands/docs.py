"""iapt-idb docs: build the month's offline data-quality docs site."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..paths import DEFAULT_TARGET_DB, OUTPUT_DIR
from ..periods import period_arg


def add_parser(subparsers: argparse._SubParsersAction, help_text: str) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "docs",
        help=help_text,
        description=(
            "Build a static website (a plain folder of HTML files that works offline, opened from disk or "
            "served by any web server) for the people who fix the data: the month's predicted outcome "
            "and the failing rules ranked by records affected, one page per rule listing the records by local "
            "key, charts, a checklist of all 140 IDB items with their source and completeness/validity "
            "(valid / other / default / invalid / missing), every validation rule with its status, and "
            "copies of the dbt docs and the Great Expectations Data Docs. The site never contains an NHS "
            "Number or a date of birth."
        ),
    )
    p.add_argument("--period", type=period_arg, required=True, metavar="YYYY-MM", help="reporting month YYYY-MM")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder to write the site into (created; replaced if it holds an earlier site)")
    p.add_argument(
        "--report",
        type=Path,
        metavar="DIR",
        default=None,
        help="validation report folder written by 'iapt-idb validate --report' (default output/<period>/validation)",
    )
    p.add_argument(
        "--target-db",
        type=Path,
        metavar="PATH",
        default=DEFAULT_TARGET_DB,
        help=f"DuckDB file holding the built IDB marts (default {DEFAULT_TARGET_DB.relative_to(DEFAULT_TARGET_DB.parents[1])})",
    )
    p.add_argument(
        "--history",
        type=Path,
        metavar="DIR",
        default=None,
        help="folder of earlier months (e.g. output/) searched for */validation/summary.json to draw the trend chart",
    )
    p.add_argument(
        "--submissions",
        type=Path,
        metavar="DIR",
        default=None,
        help="the submission history folder whose months the submissions page shows (default "
             "$IAPT_IDB_SUBMISSIONS, else output/submissions)",
    )
    p.add_argument(
        "--warehouse",
        type=Path,
        metavar="PATH",
        default=None,
        help="local warehouse DuckDB file dbt attaches while generating its docs (default: $IAPT_WAREHOUSE_PATH, else data/local_warehouse.duckdb)",
    )
    p.add_argument(
        "--no-dbt-docs",
        action="store_true",
        help="do not run 'dbt docs generate'; include an existing target/static_index.html if there is one",
    )
    return p


def run(args: argparse.Namespace) -> int:
    from ..errors import UserError
    from ..docs_site import build_site

    report = args.report or OUTPUT_DIR / args.period / "validation"
    if not report.is_dir():
        raise UserError(f"validation report folder {report} not found: run 'iapt-idb validate --period {args.period} --report {report}' first")
    if args.history is not None and not args.history.is_dir():
        raise UserError(f"--history {args.history} is not a folder")
    if args.submissions is not None and not args.submissions.is_dir():
        raise UserError(f"--submissions {args.submissions} is not a folder (iapt-idb export records submissions there)")
    from .. import pg

    # With the postgres target, dbt's own docs describe the PostgreSQL relations; the site reads a snapshot.
    with pg.marts_source(args.target_db, dbt_on_snapshot=False) as target_db:
        index = build_site(
            args.period, args.out, report, target_db, history_dir=args.history, dbt_docs=not args.no_dbt_docs,
            warehouse=args.warehouse, submissions=args.submissions,
        )
    print(f"docs site written: {index}")
    print(f"open it in a browser, or serve it: python3 -m http.server -d {args.out} 8000")
    return 0
