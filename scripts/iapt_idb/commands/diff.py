"""iapt-idb diff: what changed between two recorded submissions (e.g. a month's primary and its refresh).

Rows added, removed and changed per IDB table by record key, rule failures fixed and newly introduced, and the
change in each headline measure; text on stdout, or --json. Records are named by their local key only.
"""

from __future__ import annotations

import argparse
import json

from pathlib import Path

from ..errors import EXIT_ACCEPTED

DESCRIPTION = """\
Compare two submissions recorded in the submission history by 'iapt-idb export': for each IDB table the
records added, removed and changed (by record key: local identifiers, never a patient's NHS number, birth
date or postcode), the rule failures fixed and newly introduced (rule code, table, record key), and the
change in each headline measure.

A and B name a submission: 2026-10 is the month's primary submission, 2026-10#1 its first refresh,
2026-10#latest its latest; or give the folder of a record. Typically A and B are the same month (primary and
refresh) or consecutive months.
"""


def add_parser(subparsers: argparse._SubParsersAction, help_text: str) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "diff", help=help_text, description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=("exit status: 0 the comparison was made (whatever it found: a diff is not a verdict); 2 unusable "
                "input: an unknown submission or a damaged record (the message says what to do); 3 internal error."),
    )
    p.add_argument("a", metavar="A", help="the earlier submission: 2026-10, 2026-10#1, 2026-10#latest or a record folder")
    p.add_argument("b", metavar="B", help="the later submission, named the same way")
    p.add_argument("--submissions", type=Path, default=None, metavar="DIR",
                   help="the submission history folder (default $IAPT_IDB_SUBMISSIONS, else output/submissions)")
    p.add_argument("--json", action="store_true", help="print the differences as JSON")
    p.add_argument("--limit", type=int, default=20, metavar="N",
                   help="record keys listed per table and per kind of change in the text (default 20; 0 = all)")
    return p


def run(args: argparse.Namespace) -> int:
    from ..submissions import compare, store

    root = store.submissions_dir(args.submissions)
    a = store.resolve(args.a, root)
    b = store.resolve(args.b, root)
    d = compare.compare(a, b)
    print(json.dumps(d, indent=2, sort_keys=True) if args.json else compare.format_diff(d, args.limit))
    return EXIT_ACCEPTED
