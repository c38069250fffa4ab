"""iapt-idb measures: print the month's headline NHS Talking Therapies measures.

Reads the dbt model ``measures_headline`` (models/marts/measures) from the built target DuckDB:
one row per measure with numerator, denominator and value. ``headline_measures`` and
``format_headline`` are also used by the demo and the docs site.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..paths import DEFAULT_TARGET_DB
from ..periods import parse_period, period_arg

HEADLINE_MODEL = "measures_headline"

COLUMNS: tuple[str, ...] = (
    "period_start_date",
    "period_end_date",
    "measure_id",
    "sort_order",
    "measure_label",
    "unit",
    "value_kind",
    "numerator",
    "denominator",
    "measure_value",
    "numerator_definition",
    "denominator_definition",
    "source",
)

CAVEAT = (
    "Derived from the provider's whole history (first treatment, sessions, paired scores), as NHS\n"
    "England derives them from all of a provider's submissions; records the platform would reject\n"
    "are still counted. Definitions, thresholds and sources: seeds/measures; the caseness and\n"
    "reliable-change thresholds of the anxiety-disorder-specific measures (SPIN, PDSS, OCI, PCL-5, HAI,\n"
    "MI) are not yet checked against NHS England's published table."
)

DESCRIPTION = """\
Print the month's headline NHS Talking Therapies measures (referrals, self-referrals, first
assessments, entering treatment, finishing a course of treatment, caseness, recovery, reliable
improvement, reliable recovery, reliable deterioration, waits to first treatment within 6 and 18
weeks, waits to first assessment, DNA rate) from the dbt model measures_headline in the built
target database. Build it first with 'iapt-idb build --period YYYY-MM'. The measures are derived
from the provider's whole history (models/intermediate/measures), as NHS England derives them
from all of a provider's submissions, not from the month's IDB alone.

The split by ethnicity, gender identity, age band and other IDS001 demographics is in the table
measures_by_demographic of the same database.
"""


def add_parser(subparsers: argparse._SubParsersAction, help_text: str) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "measures", help=help_text, description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--period", required=True, type=period_arg, metavar="YYYY-MM",
                   help="reporting period the target DB was built for; refused if the DB holds another month")
    p.add_argument("--target-db", type=Path, metavar="PATH",
                   help=f"DuckDB file holding the built marts (default: {DEFAULT_TARGET_DB})")
    p.add_argument("--json", action="store_true",
                   help="print the rows as a JSON list (one object per measure) instead of a table")
    return p


def _plain(value: Any) -> Any:
    """DuckDB values as JSON-friendly Python values."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def headline_measures(target_db: Path, period: str | None = None) -> list[dict[str, Any]]:
    """Rows of measures_headline in display order, as plain dicts (dates ISO text, values float);
    with ``period``, that month's rows.

    Raises UserError when the database or the table is missing, or when ``period`` (YYYY-MM) is
    given and the table was built for another month.
    """
    import duckdb

    target_db = Path(target_db)
    if not target_db.exists():
        raise UserError(f"no target database at {target_db}: run 'iapt-idb build --period YYYY-MM' first")
    con = duckdb.connect(str(target_db), read_only=True)
    try:
        schemas = [
            r[0]
            for r in con.execute(
                "select table_schema from information_schema.tables where table_name = ? "
                "order by case when table_schema = 'main' then 0 else 1 end, table_schema",
                [HEADLINE_MODEL],
            ).fetchall()
        ]
        if not schemas:
            raise UserError(
                f"{target_db} has no table {HEADLINE_MODEL}: build the measures with 'iapt-idb build' "
                "without --no-measures (dbt models/marts/measures)"
            )
        cursor = con.execute(
            f'select {", ".join(COLUMNS)} from "{schemas[0]}".{HEADLINE_MODEL} '
            "order by period_start_date, sort_order, measure_id"
        )
        rows = [dict(zip(COLUMNS, (_plain(v) for v in r))) for r in cursor.fetchall()]
    finally:
        con.close()
    if period is not None:
        start, _ = parse_period(period)
        built = {r["period_start_date"] for r in rows}
        if start.isoformat() in built:  # a build of several months (dbt var measures_months) holds each
            rows = [r for r in rows if r["period_start_date"] == start.isoformat()]
        elif built:
            raise UserError(
                f"{target_db} holds measures for {', '.join(sorted(str(b) for b in built))}, not {period}: "
                f"rebuild with 'iapt-idb build --period {period}'"
            )
    return rows


def _value_text(row: dict[str, Any]) -> str:
    value = row.get("measure_value")
    if value is None:
        return "-"
    unit = row.get("unit")
    if unit == "percent":
        return f"{value:.1f}%"
    if unit == "days":
        return f"{value:.1f} days"
    return f"{value:,.0f}"


def format_headline(rows: list[dict[str, Any]]) -> str:
    """The headline rows as a plain-text table with a title and the preview caveat."""
    if not rows:
        return "No headline measures: measures_headline is empty (is IDS000Header empty?)."
    start = rows[0].get("period_start_date")
    end = rows[0].get("period_end_date")
    title = "NHS Talking Therapies headline measures"
    if start:
        month = dt.date.fromisoformat(str(start)).strftime("%B %Y")
        title += f", {month} ({start} to {end})"
    labels = [str(r.get("measure_label") or r["measure_id"]) for r in rows]
    values = [_value_text(r) for r in rows]
    label_width = max(len("measure"), *(len(s) for s in labels))
    value_width = max(len("value"), *(len(s) for s in values))
    lines = [title, "", f"{'measure':<{label_width}}  {'value':>{value_width}}  numerator / denominator"]
    lines.append("-" * len(lines[-1]))
    for row, label, value in zip(rows, labels, values):
        ratio = ""
        if row.get("denominator") is not None:
            ratio = f"{row['numerator']:,} / {row['denominator']:,}"
        lines.append(f"{label:<{label_width}}  {value:>{value_width}}  {ratio}")
    lines += ["", CAVEAT]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from .. import pg

    with pg.marts_source(args.target_db or DEFAULT_TARGET_DB, dbt_on_snapshot=False) as target_db:
        rows = headline_measures(target_db, period=args.period)
    print(json.dumps(rows, indent=2) if args.json else format_headline(rows))
    return 0
