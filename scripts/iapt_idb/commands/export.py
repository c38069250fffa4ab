"""iapt-idb export: write the period's 21 IDB marts into an IAPT v2.1 IDB (.accdb).

Asks the validation layer for the predicted national verdict first and refuses a file the platform
would reject outright, unless --force. --drop-rejected leaves out the rows the platform would reject.
Records holding a value the IDB cannot store (text longer than its column, an integer out of range, a year
Access cannot hold) are left out and listed in <name>.excluded.csv with the rule code the validator reports
them under, unless --strict, which refuses instead. One export writes to an --out at a time.
Each written IDB is recorded in the submission history (submissions/store.py) unless --no-record.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from .. import runlock
from ..errors import EXIT_ACCEPTED, EXIT_FILE_REJECTED, UserError
from ..paths import DEFAULT_TARGET_DB, idb_template
from ..periods import period_arg
from ..provenance import require_complete_build


def add_parser(subparsers: argparse._SubParsersAction, help_text: str) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "export",
        help=help_text,
        description=(
            "Write the 21 IDB marts of the target DB into an IAPT v2.1 Intermediate Database (.accdb, "
            "Access 2010 format), ready to submit. Before writing, the predicted national verdict is "
            "checked: a file the platform would reject outright is refused unless --force. Every row is "
            "checked (text sizes, integer ranges, dates) before the file is created; the file appears "
            "atomically, with <name>.manifest.json beside it (row counts, SHA-256, template, versions). "
            "With --template the official empty IDB from TRUD is copied and filled, keeping its column "
            "types and sizes; without it the structure is built from reference/spec/idb_schema.csv. "
            "Check a file against its manifest with 'iapt-idb verify FILE.accdb'. "
            "The file is then recorded in the submission history (--submissions): the month's first export "
            "is its primary submission, each later one whose IDB differs is a refresh (an identical IDB is not "
            "recorded again); compare two with 'iapt-idb diff'."
        ),
        epilog=(
            "exit status: 0 written, and the platform is predicted to accept it; 1 the platform is predicted "
            "to reject the whole file: not written, or written anyway under --force; 2 not written, unusable "
            "input or environment (the message says what to do: e.g. --out is a folder, its folder is "
            "missing, read-only or full, another export is writing the same --out, the submission history "
            "folder cannot be written; the history is checked before the IDB is written, so only a failure "
            "while recording, e.g. a disk filling up, leaves the IDB written, and the message says so); "
            "3 internal error (a bug, not a verdict); 130, 143 or 129: stopped by Ctrl-C, "
            "SIGTERM or SIGHUP. A stopped export leaves the previous file and manifest as they were (a SIGKILL "
            "in the instant the files are replaced leaves no manifest, and 'iapt-idb verify' says so)."
        ),
    )
    p.add_argument("--period", type=period_arg, required=True,
                   help="reporting month YYYY-MM; must equal IDS000Header.ReportingPeriodStartDate's month")
    p.add_argument("--out", type=Path, required=True, help="the .accdb file to write (replaced if it exists)")
    p.add_argument("--template", type=Path, default=None,
                   help="the official empty IAPT v2.1 IDB (.accdb) to copy and fill; its types and sizes rule "
                        "(default: $IAPT_IDB_TEMPLATE, else the structure the spec gives)")
    p.add_argument("--target-db", type=Path, default=DEFAULT_TARGET_DB,
                   help=f"DuckDB file holding the marts as main.<IDB table> (default {DEFAULT_TARGET_DB})")
    p.add_argument("--force", action="store_true",
                   help="write the file even when the platform is predicted to reject it as a whole")
    p.add_argument("--drop-rejected", action="store_true",
                   help="leave out the records (and their children) the platform is predicted to reject")
    p.add_argument("--strict", action="store_true",
                   help="refuse to write when any value cannot be stored in its IDB column (text too long, integer "
                        "out of range, a year Access cannot hold); by default such records are left out and listed in <name>.excluded.csv")
    p.add_argument("--quiet", action="store_true", help="no per-table progress on stderr")
    p.add_argument("--submissions", type=Path, default=None, metavar="DIR",
                   help="the submission history folder to record the IDB in (default $IAPT_IDB_SUBMISSIONS, "
                        "else output/submissions in the project)")
    p.add_argument("--no-record", action="store_true",
                   help="do not record this IDB in the submission history (e.g. a trial export)")
    return p


def run(args: argparse.Namespace) -> int:
    from ..accdb.writer import check_output, export_lock

    check_output(args.out)  # before anything runs: exit 2 saying what to do
    args.template = args.template or idb_template()
    with runlock.exit_on_signals(), export_lock(args.out):  # a second export to the same --out is refused
        return _export(args)


def _export(args: argparse.Namespace) -> int:
    try:
        from ..validation.api import export_verdict
    except ModuleNotFoundError as exc:
        raise UserError(f"the validation layer is not available ({exc}); cannot predict the national verdict") from None
    from ..accdb.writer import check_header_period, export_idb

    from .. import pg

    with pg.marts_source(args.target_db) as target_db, runlock.hold(
            target_db, "exporting the IDB (its verdict writes validation tables into the target DB)",
            hint="wait for it to finish, or use another --target-db"):
        check_header_period(target_db, args.period)
        require_complete_build(target_db, args.period)  # one complete build of this period (provenance.py)
        verdict = export_verdict(target_db, args.period)
        if verdict.file_rejected:
            reasons = "\n".join(f"  {r}" for r in verdict.reasons) or "  (no reason given)"
            if not args.force:
                raise UserError(
                    f"the national platform is predicted to reject the whole file for {args.period}:\n{reasons}\n"
                    "Fix these in the source data and rebuild, or pass --force to write the file anyway.",
                    exit_code=1,
                )
            print(f"export: --force: writing although the platform is predicted to reject the file:\n{reasons}",
                  file=sys.stderr, flush=True)
        if not args.no_record:
            from ..submissions import store

            store.check_writable(store.submissions_dir(args.submissions))  # before the IDB is written
        rows_sql = verdict.kept_rows_sql if args.drop_rejected else None
        manifest = export_idb(target_db, args.out, args.period, template=args.template, rows_sql=rows_sql,
                              progress=not args.quiet, skip_unstorable=not args.strict, locked=True)
        if not args.no_record:
            _record(args, target_db, rows_sql)
    print(f"{args.out}\t{manifest['total_rows']} rows\tsha256 {manifest['sha256']}")
    left_out = manifest.get("rows_left_out_unstorable") or {}
    if left_out:
        print(f"export: {sum(left_out.values())} record(s) left out because a value cannot be stored in the IDB "
              f"(the platform would reject them too); listed in {manifest['excluded_file']}", file=sys.stderr)
    if args.template is None:
        print("export: written with the structure the spec gives (the official IDB's column types and text sizes "
              "are not public); the platform rejects a file whose structure is not the official IDB's (IDSREJ001): "
              "export with --template <the official empty IDB from TRUD> (or set IAPT_IDB_TEMPLATE) to be sure",
              file=sys.stderr)
    if verdict.file_rejected:  # written under --force: the verdict stays what it is
        print(f"export: written under --force; the platform is predicted to reject the whole file (exit "
              f"{EXIT_FILE_REJECTED})", file=sys.stderr)
        return EXIT_FILE_REJECTED
    return EXIT_ACCEPTED


def _record(args: argparse.Namespace, target_db: Path, rows_sql: Callable[[str], str] | None) -> None:
    """Record the IDB just written in the submission history (its verdict, measures and row digests too)."""
    from ..accdb.source import default_rows_sql
    from ..spec import load_tables
    from ..submissions import capture, store

    select = rows_sql or default_rows_sql
    sources = {t.name: select(t.name) for t in load_tables()}
    root = store.submissions_dir(args.submissions)
    options = {"drop_rejected": bool(args.drop_rejected), "forced": bool(args.force), "strict": bool(args.strict)}
    try:
        done = store.record_submission(root, args.period, args.out, capture.filler(target_db, args.period, sources),
                                       options)
    except UserError as exc:
        raise UserError(f"{args.out} was written, but {exc}") from None
    except OSError as exc:
        raise UserError(f"{args.out} was written, but not recorded in the submission history {root} "
                        f"({exc.strerror}): free space or choose another --submissions, then export again") from None
    if done.record is None:
        print(f"export: the IDB is byte-identical to submission {done.same_as}; not recorded again in {root}",
              file=sys.stderr)
    else:
        print(f"export: recorded as submission {done.record.label} ({done.record.kind}) in {root}", file=sys.stderr)
