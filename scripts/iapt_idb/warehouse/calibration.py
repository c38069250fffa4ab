"""The synthetic service's headline figures beside the national ones it is calibrated to.

The figures are the dbt measure models' own: ``measures_headline`` (what ``iapt-idb measures`` and
``make demo`` print and the docs site shows) and ``measures_referral_pathway`` in a built target
database, so there is one definition of each measure (seeds/measures, macros/measures). This module
only maps them onto the targets of ``reference/calibration_targets.csv`` (column ``headline``:
``measure_id`` of measures_headline, or ``numerator_id/denominator_id`` for a ratio of two headline
counts), pools several months when the build derived several (dbt var ``measures_months``), and
splits the finished courses by problem descriptor and step of care to show the generator's variation.

``python -m iapt_idb.warehouse.calibration TARGET_DB [--warehouse WH] [--last N]`` prints the
figures of the last month and of the months pooled, beside the targets.
"""

from __future__ import annotations

import argparse
import csv
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ..paths import ROOT
from .gen_reference import PROCEDURES

TARGETS_CSV = ROOT / "reference" / "calibration_targets.csv"

# high-intensity (step 3) therapies among the procedures the generator records; the rest are step 2
HIGH_INTENSITY_PROCEDURES = PROCEDURES[:2] + PROCEDURES[4:7]

MEASURES = ("recovery", "reliable_improvement", "reliable_recovery", "wait_6_weeks", "wait_18_weeks",
            "finishing_share", "dna_rate")


@dataclass(frozen=True)
class Target:
    measure: str
    label: str
    headline: str  # measure_id of measures_headline, or "numerator_id/denominator_id" (two counts)
    target: float  # percent
    tolerance_pp: float
    source: str


def load_targets(path: Path = TARGETS_CSV) -> dict[str, Target]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = [Target(r["measure"], r["label"], r["headline"], float(r["target_percent"]),
                       float(r["tolerance_pp"]), r["source"]) for r in csv.DictReader(fh)]
    return {t.measure: t for t in rows}


def _pct(num: float, den: float) -> float | None:
    return round(100.0 * num / den, 1) if den else None


@dataclass(frozen=True)
class Figures:
    label: str  # the month or the months pooled
    counts: dict[str, int]
    percent: dict[str, float | None]  # target measure -> percent
    by_descriptor: list[dict[str, object]]
    by_step: list[dict[str, object]]


def periods_built(target_db: Path) -> list[str]:
    """The period start dates (ISO) measures_headline holds, oldest first."""
    con = duckdb.connect(str(target_db), read_only=True)
    try:
        rows = con.execute("select distinct cast(period_start_date as varchar) as p from main.measures_headline "
                           "order by p").fetchall()
    finally:
        con.close()
    return [p for (p,) in rows]


def _sums(con: duckdb.DuckDBPyConnection, periods: list[str]) -> dict[str, tuple[int, int]]:
    """measure_id -> (numerator, denominator) summed over the periods (a count's denominator is 0)."""
    rows = con.execute(
        "select measure_id, sum(numerator), coalesce(sum(denominator), 0) from main.measures_headline "
        "where cast(period_start_date as varchar) in (select unnest(?)) group by measure_id", [periods]).fetchall()
    return {m: (int(n), int(d)) for m, n, d in rows}


def _percent(sums: dict[str, tuple[int, int]], headline: str) -> float | None:
    if "/" in headline:  # a ratio of two counts
        num, den = headline.split("/")
        return _pct(sums[num][0], sums[den][0])
    num, den = sums[headline]
    return _pct(num, den)


def _grouped(con: duckdb.DuckDBPyConnection, periods: list[str], group_sql: str, name: str,
             joins: str = "") -> list[dict[str, object]]:
    """Finished courses of the periods by a grouping: count, mean treatment sessions, recovery and
    reliable improvement with the headline's denominators (measures_catalogue)."""
    rows = con.execute(f"""
        select {group_sql} as grp, count(*) as finished, avg(p.treatment_appointment_count) as sessions,
               sum(p.is_recovered) as recovered, sum(1 - p.is_not_at_caseness_start) as at_caseness,
               sum(p.is_reliably_improved) as improved
        from main.measures_referral_pathway as p {joins}
        where p.is_finished_treatment = 1 and cast(p.period_start_date as varchar) in (select unnest(?))
        group by 1 order by 1""", [periods]).fetchall()
    return [{name: g, "finished": n, "mean_sessions": round(float(s), 1), "recovery": _pct(r, c),
             "reliable_improvement": _pct(i, n)} for g, n, s, r, c, i in rows]


def figures(target_db: Path, periods: list[str] | None = None, warehouse: Path | None = None,
            label: str = "") -> Figures:
    """The target measures from a built target DB, summed over ``periods`` (period start dates, ISO;
    default: every period it holds). By step of care only with the ``warehouse`` the DB was built from
    (the therapies recorded there say which courses were high intensity)."""
    periods = periods or periods_built(target_db)
    con = duckdb.connect(str(target_db), read_only=True)
    try:
        sums = _sums(con, periods)
        targets = load_targets()
        percent = {name: _percent(sums, targets[name].headline) for name in MEASURES}
        counts = {"referrals_received": sums["referrals_received"][0], "referrals_ended": sums["ended_referrals"][0],
                  "finished_course": sums["finished_treatment"][0], "at_caseness": sums["recovery_rate"][1],
                  "appointments_attended_or_dna": sums["dna_rate"][1]}
        descriptor = _grouped(con, periods, "coalesce(p.problem_descriptor, 'Other or not recorded')", "descriptor")
        step: list[dict[str, object]] = []
        if warehouse is not None:
            quoted = str(warehouse).replace("'", "''")  # ATTACH takes no parameters
            con.execute(f"attach '{quoted}' as calibration_warehouse (read_only)")
            hi = ", ".join(f"'{code}'" for code in HIGH_INTENSITY_PROCEDURES)
            step = _grouped(con, periods, "case when s.referral_id is null then 'step 2' else 'step 3' end", "step",
                            f"""left join (select distinct a.referral_id
                                          from calibration_warehouse.cms.appointment as a
                                          inner join calibration_warehouse.cms.appointment_intervention as i
                                              on a.appointment_id = i.appointment_id
                                          where i.procedure_snomed in ({hi})) as s
                                    on p.service_request_id = s.referral_id""")
    finally:
        con.close()
    span = periods[0][:7] if len(periods) == 1 else f"{periods[0][:7]}..{periods[-1][:7]}"
    return Figures(label or span, counts, percent, descriptor, step)


def off_target(figures: Figures, targets: dict[str, Target]) -> list[str]:
    """One line per measure further from its target than its tolerance (or not computable)."""
    out = []
    for name, t in targets.items():
        got = figures.percent.get(name)
        if got is None or abs(got - t.target) > t.tolerance_pp:
            out.append(f"{name}: {got} % (target {t.target} % +/- {t.tolerance_pp} pp)")
    return out


def report(figures: Figures, targets: dict[str, Target]) -> str:
    lines = [f"{figures.label}: " + ", ".join(f"{k} {v:,}" for k, v in figures.counts.items())]
    for name in MEASURES:
        t = targets.get(name)
        aim = f"target {t.target:.1f} +/- {t.tolerance_pp:.0f}  ({t.headline})" if t else ""
        lines.append(f"  {name:<22} {figures.percent.get(name)!s:>6} %   {aim}")
    for title, rows in (("by problem descriptor", figures.by_descriptor), ("by step of care", figures.by_step)):
        if not rows:
            continue
        lines.append(f"  {title}:")
        for r in rows:
            label = r.get("descriptor", r.get("step"))
            lines.append(f"    {label!s:<42} n={r['finished']:<5} sessions {r['mean_sessions']:<5} recovery "
                         f"{r['recovery']!s:>5} %  reliable improvement {r['reliable_improvement']!s:>5} %")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("target_db", type=Path, help="DuckDB file built by `iapt-idb build` (measures_headline)")
    ap.add_argument("--warehouse", type=Path, help="the warehouse it was built from (adds the split by step of care)")
    ap.add_argument("--last", type=int, default=12, help="months to pool, ending with the last one built (default 12)")
    args = ap.parse_args(argv)
    targets = load_targets()
    try:
        built = periods_built(args.target_db) if args.target_db.is_file() else []
    except duckdb.CatalogException:  # no measures_headline table
        built = []
    if not built:
        print(f"{args.target_db} holds no measures_headline rows: build it first (iapt-idb build).", file=sys.stderr)
        return 2
    month = figures(args.target_db, built[-1:], args.warehouse)
    print(report(month, targets))
    if len(built) > 1:
        print(report(figures(args.target_db, built[-args.last:], args.warehouse), targets))
    missed = off_target(month, targets)
    if missed:
        print("off target:\n  " + "\n  ".join(missed))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
