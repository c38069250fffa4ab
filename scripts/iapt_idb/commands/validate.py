"""iapt-idb validate: predict the national landing platform's verdict on one month's IDB."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..periods import period_arg

DESCRIPTION = """\
Run every TOS validation rule of the national platform (382 published rule codes plus 30 inferred
checks for v2.1 items and 6 for values the IDB cannot store, shown as UNPUBLISHED(...)) on an IAPT v2.1
IDB, apply the platform's cascade (record rejection, group rejection down the table tree, file
rejection) and predict its verdict.

SOURCE is the built marts in the target DB (default), a directory with one <IDB table>.csv per table
(header = IDB column names, values as text in the data set's formats, empty = null), or an .accdb.
A missing table or column is what the platform rejects the file for (IDSREJ001): it is reported, not
treated as unusable input. An .accdb is rejected for any difference from the official IDB's structure
(the platform compares a hash of every table, column, type and text size): it is compared with the
structure 'iapt-idb export' writes, or with the official empty IDB given by --template.

Writes DIR/validation_report.csv and .json (rule_code, severity, table, record_key, columns, message;
records are named by their local keys, never by NHS number or birth date), DIR/summary.json, and the
Great Expectations data docs in DIR/gx_data_docs/.

The project's local rules (rules/local_rules.yml, codes LOCAL-...) are reported too, their messages
starting [local]; they never change the predicted verdict, the rows kept or the exit status.

The marts are read, never written (a build and a validate of the same target DB exclude each other; two
validates do not). The report folder is locked for the run; its old reports are removed at the start
(INCOMPLETE.txt says a run is in progress or failed) and the new set is put in place when complete,
summary.json last: a summary.json is always a finished run's. The marts are read in place (the TOS rules
and the Great Expectations suites run side by side, in memory); a CSV folder or an .accdb is copied into a
private scratch DuckDB in $TMPDIR, removed at exit (the next run sweeps one a kill left behind);
$IAPT_VALIDATE_SCRATCH names a fixed scratch folder instead, kept between runs: it then holds the last
input's patient data.

Exit status: 0 the platform would accept the file, 1 it would reject the whole file, 2 unusable input or
environment (one line says what and what to do), 3 an internal error (never a verdict).
"""


def add_parser(subparsers: argparse._SubParsersAction, help_text: str) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "validate", help=help_text, description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("source", nargs="?", type=Path, metavar="SOURCE",
                   help="a directory of IDB CSV files or an .accdb; default: the built marts in the target DB")
    p.add_argument("--period", required=True, type=period_arg, metavar="YYYY-MM",
                   help="reporting period the file will be uploaded for (one calendar month)")
    p.add_argument("--report", required=True, type=Path, metavar="DIR",
                   help="folder for validation_report.csv/.json, summary.json and the GX data docs")
    p.add_argument("--target-db", type=Path, metavar="PATH",
                   help="DuckDB file holding the built marts (default: the project's target DB)")
    p.add_argument("--provider-ods", metavar="CODE",
                   help="ODS code of the uploading provider, compared with the header (IDS00030/IDS00033); "
                        "default: $IAPT_PROVIDER_ODS, else the dbt var provider_ods_code; with none configured "
                        "those two rules are reported as not checked")
    p.add_argument("--template", type=Path, metavar="FILE.accdb",
                   help="the official empty IAPT v2.1 IDB (TRUD) to compare an .accdb SOURCE's structure with, "
                        "as the platform does; default: $IAPT_IDB_TEMPLATE, else the structure 'iapt-idb export' "
                        "writes without a template")
    p.add_argument("--no-gx", action="store_true",
                   help="skip the Great Expectations suites and data docs: the verdict and the failure "
                        "reports are the same (they come from the TOS rules), summary.json has no "
                        "great_expectations part, and a national-scale month validates in ~3 s instead of ~12 s")
    p.add_argument("--top", type=int, default=10, metavar="N", help="how many failing rules to print (default 10)")
    return p


def run(args: argparse.Namespace) -> int:
    from .. import pg
    from ..validation.api import run_validation

    with pg.marts_source(args.target_db, needed=args.source is None) as target_db:
        result = run_validation(
            args.source, args.period, args.report, target_db=target_db, gx=not args.no_gx,
            provider_ods=args.provider_ods, template=args.template,
        )
    print(format_outcome(result.summary, top=args.top))
    print(f"Reports: {result.report_dir}")
    return 1 if result.file_rejected else 0


def format_outcome(s: dict, top: int = 10) -> str:
    """The predicted outcome and the top failing rules, as printed by `validate` and the demo."""
    lines = []
    if s["predicted_outcome"] == "file_rejected":
        reasons = ", ".join(f"{_code_text(r)} ({r['failures']})" for r in s["file_reasons"])
        lines.append(f"Predicted outcome: FILE REJECTED - {reasons}")
    else:
        kept = sum(t["rows_kept"] for t in s["tables"])
        sent = sum(t["rows_submitted"] for t in s["tables"])
        lines.append(f"Predicted outcome: accepted - {kept} of {sent} rows kept, {s['warnings']} warning(s)")
    for n in s.get("not_checked", []):
        lines.append(f"Not checked: {n['rule_code']} - {n['reason']}")
    if s.get("local"):
        counts = ", ".join(f"{n} {sev}" for sev, n in s["local"]["failures_by_severity"].items() if n)
        lines.append(f"Local rules ({s['local']['rules']}, not part of the platform's verdict): "
                     f"{counts or 'no findings'}")
    if s["rules"]:
        lines.append(f"Top failing rules (of {len(s['rules'])}):")
        for r in s["rules"][:top]:
            code = _code_text(r)
            lines.append(f"  {code:32} {r['severity']:14} {r['failures']:>8}  {r['description'][:70]}")
    return "\n".join(lines)


def _code_text(rule: dict) -> str:
    """A rule's code as printed: marked [local] for a local rule (summary.json: "local": true), [inferred] when
    the code is ours (UNPUBLISHED) or the finding rests on our reading of a rule whose logic is unpublished
    (summary.json: "inferred": true)."""
    if rule.get("local"):
        return rule["rule_code"] + " [local]"
    return rule["rule_code"] + ("" if rule["published"] and not rule.get("inferred") else " [inferred]")
