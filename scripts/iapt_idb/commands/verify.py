"""iapt-idb verify: check an exported .accdb (and its excluded list) against the manifest beside it.

Exit 0 when the manifest is there and matches (size, SHA-256 of the file and of <name>.excluded.csv);
exit 2 when it is missing (the export did not finish, or was stopped while it replaced the files), cannot
be read, or does not match (e.g. a truncated or changed file): export again.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import EXIT_ACCEPTED, UserError


def add_parser(subparsers: argparse._SubParsersAction, help_text: str) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "verify",
        help=help_text,
        description=(
            "Check that FILE.accdb is the complete output of one 'iapt-idb export': the manifest beside it "
            "(<name>.manifest.json, written last by the export) names it, and its size and SHA-256, and "
            "those of <name>.excluded.csv when records were left out, match."
        ),
        epilog="exit status: 0 manifest OK; 2 manifest missing, unreadable or not matching: export again.",
    )
    p.add_argument("file", type=Path, metavar="FILE.accdb", help="the exported .accdb file")
    return p


def run(args: argparse.Namespace) -> int:
    from ..accdb.writer import verify_export

    ok, line = verify_export(args.file)
    if not ok:
        raise UserError(line)
    print(line)
    return EXIT_ACCEPTED
