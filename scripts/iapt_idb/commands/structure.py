"""iapt-idb structure: an .accdb's tables, columns, Access types and sizes, fingerprint and its
differences from the IAPT v2.1 IDB spec. Exit 0 when it matches the spec structure, 1 when not."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..accdb.structure import inspect_structure


def add_parser(subparsers: argparse._SubParsersAction, help_text: str) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "structure",
        help=help_text,
        description=(
            "Print the structure of an Access IDB file: its engine version (as mdb-ver names it: ACE12, "
            "ACE14 ...), every table with its columns, Access types and text sizes (read with Jackcess), "
            "the structure fingerprint computed the way the national platform does it (MD5 of the sorted "
            "UCanAccess 4.0.4 information_schema rows), and its differences from the structure in "
            "reference/spec/idb_schema.csv. Exit status 0 when it matches the spec, 1 when it differs."
        ),
    )
    p.add_argument("file", type=Path, metavar="FILE.accdb", help="the .accdb file to inspect")
    p.add_argument("--json", action="store_true", help="print the full report as JSON instead of text")
    p.add_argument("--no-replica", action="store_true",
                   help="skip the national reader replica (no fingerprint); Jackcess listing only")
    return p


def _text(report: dict) -> str:
    lines = [
        f"file            {report['file']}",
        f"format          {report['access_version']} (Jackcess {report['jackcess_file_format']})"
        + ("" if report["platform_readable_format"] else "  NOT readable by the national platform"),
        f"fingerprint     {report.get('fingerprint') or '-'}  (platform style, MD5 of information_schema rows)",
        f"spec            {report['spec_fingerprint']}  (the same, for reference/spec/idb_schema.csv)",
        "",
    ]
    for t in report["tables"]:
        lines.append(f"{t['name']}  ({t['rows']} rows)")
        for c in t["columns"]:
            lines.append(f"    {c['name']:<34} {c['access_type']}")
    lines.append("")
    if report.get("replica_error"):
        lines.append(f"national reader replica: {report['replica_error']}")
    diffs = report["differences_from_spec"]
    if report["matches_spec"]:
        lines.append("matches the IDB v2.1 spec structure")
    else:
        lines.append(f"DIFFERS from the IDB v2.1 spec structure ({len(diffs)} difference(s)):")
        lines += [f"  {d}" for d in diffs]
        fdiff = report.get("fingerprint_differences") or []
        if fdiff:
            lines.append("information_schema rows (what the platform fingerprints):")
            lines += [f"  {d}" for d in fdiff]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    report = inspect_structure(args.file, replica=not args.no_replica)
    print(json.dumps(report, indent=2) if args.json else _text(report))
    return 0 if report["matches_spec"] else 1
