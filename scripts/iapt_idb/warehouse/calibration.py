"""Headline figures of one month, computed straight from a synthetic warehouse, to calibrate the generator.

This is a deliberately simple, independent reading of the local tables (local codes turned into
national ones through the system's mapping seeds), not the dbt measure models: it checks that the
synthetic service looks like a real one, and gives the measure models something to be compared with.
The definitions follow NHS Talking Therapies' published ones (annual report, measure metadata):

* finished a course of treatment: a referral that ended (``discharged_on``) in the month having had
  at least two attended treatment appointments (appointment type 02, 03 or 05) between its receipt
  and its end;
* paired scores: a PHQ-9 and a GAD-7 completed at the same moment; the first and last such pair up
  to the referral's end are compared (a course with fewer than two pairs has no change);
* caseness: PHQ-9 >= 10 or GAD-7 >= 8;
* recovery: at caseness at the first pair and not at the last, among courses at caseness at the first;
* reliable improvement: PHQ-9 down by >= 6 or GAD-7 down by >= 4, and neither up by that much,
  among all finished courses;
* reliable recovery: recovered and reliably improved, among courses at caseness at the first pair;
* waits: referral received to first attended treatment appointment, <= 42 and <= 126 days, among
  finished courses;
* finishing share: finished courses among the referrals that ended in the month;
* DNA rate: appointments in the month with outcome "did not attend" among those attended or not
  attended (cancellations excluded).

``python -m iapt_idb.warehouse.calibration WAREHOUSE [--period YYYY-MM | --from DAY --to DAY]`` prints the figures, beside
the targets of ``reference/calibration_targets.csv``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import csv
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ..paths import MAPPING_SEEDS_DIR, ROOT
from ..periods import parse_period
from .gen_reference import PROBLEMS, PROCEDURES

TARGETS_CSV = ROOT / "reference" / "calibration_targets.csv"

PHQ9, GAD7 = "720433000", "445455005"
PHQ9_CASE, GAD7_CASE = 10, 8  # caseness: at or above
PHQ9_RELIABLE, GAD7_RELIABLE = 6, 4  # reliable change: at least this much
TREATMENT_TYPES = ("02", "03", "05")  # appointment types that count as treatment
ATTENDED, DNA = ("5", "6"), "3"
SIX_WEEKS, EIGHTEEN_WEEKS = 42, 126
# high-intensity (step 3) therapies among the procedures the generator records; the rest are step 2
HIGH_INTENSITY_PROCEDURES = PROCEDURES[:2] + PROCEDURES[4:7]
# presenting-problem descriptors by ICD-10 prefix (the first match wins)
DESCRIPTORS: tuple[tuple[str, str], ...] = (
    ("F32", "Depression"), ("F33", "Depression"), ("F41.2", "Mixed anxiety and depression"),
    ("F41.1", "Generalised anxiety"), ("F41.0", "Panic disorder"), ("F40.1", "Social anxiety"),
    ("F43.1", "PTSD"), ("F42", "OCD"), ("F45.2", "Health anxiety"), ("F40", "Phobias"),
    ("F43.2", "Adjustment disorder"),
)

MEASURES = ("recovery", "reliable_improvement", "reliable_recovery", "wait_6_weeks", "wait_18_weeks",
            "finishing_share", "dna_rate")


@dataclass(frozen=True)
class Target:
    measure: str
    label: str
    target: float  # percent
    tolerance_pp: float
    source: str


def load_targets(path: Path = TARGETS_CSV) -> dict[str, Target]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = [Target(r["measure"], r["label"], float(r["target_percent"]), float(r["tolerance_pp"]), r["source"])
                for r in csv.DictReader(fh)]
    return {t.measure: t for t in rows}


def _maps(con: duckdb.DuckDBPyConnection, mapping_dir: Path) -> None:
    for name in ("attendance", "appointment_type", "discharge_reason"):
        con.execute(f"CREATE OR REPLACE TEMP TABLE map_{name} AS SELECT local_code, national_code "
                    f"FROM read_csv(?, all_varchar = true)", [str(mapping_dir / f"map_{name}.csv")])


def _courses_sql(start: str, end: str) -> str:
    """One row per referral that ended in the month: its treatment count, wait and paired-score outcome."""
    types = ", ".join(f"'{t}'" for t in TREATMENT_TYPES)
    attended = ", ".join(f"'{a}'" for a in ATTENDED)
    hi = ", ".join(f"'{p}'" for p in HIGH_INTENSITY_PROCEDURES)
    icd = {prob.snomed: prob.icd10 for prob in PROBLEMS if prob.snomed}  # SNOMED CT-coded problems, read as ICD-10
    as_icd = "CASE p.problem_code " + " ".join(f"WHEN '{s}' THEN '{i}'" for s, i in icd.items()) + " ELSE p.problem_code END"
    descriptor = " ".join(f"WHEN {as_icd} LIKE '{code}%' THEN '{name}'" for code, name in DESCRIPTORS)
    return f"""
    WITH ended AS (
        SELECT referral_id, received_on, discharged_on FROM cms.referral
        WHERE discharged_on BETWEEN DATE '{start}' AND DATE '{end}' AND received_on <= discharged_on
    ), treat AS (
        SELECT a.referral_id, count(*) AS sessions, min(a.starts_at::DATE) AS first_treatment,
               bool_or(a.appointment_id IN (SELECT appointment_id FROM cms.appointment_intervention
                                            WHERE procedure_snomed IN ({hi}))) AS step3
        FROM cms.appointment a
        JOIN ended e USING (referral_id)
        JOIN map_attendance att ON att.local_code = a.outcome
        JOIN map_appointment_type typ ON typ.local_code = a.appointment_type
        WHERE att.national_code IN ({attended}) AND typ.national_code IN ({types})
          AND a.starts_at::DATE BETWEEN e.received_on AND e.discharged_on
        GROUP BY 1
    ), pairs AS (
        SELECT s.referral_id, s.completed_at,
               max(TRY_CAST(s.score AS DOUBLE)) FILTER (WHERE s.tool_snomed = '{PHQ9}') AS phq,
               max(TRY_CAST(s.score AS DOUBLE)) FILTER (WHERE s.tool_snomed = '{GAD7}') AS gad
        FROM cms.questionnaire_score s JOIN ended e USING (referral_id)
        WHERE s.completed_at::DATE <= e.discharged_on
        GROUP BY 1, 2
        HAVING phq IS NOT NULL AND gad IS NOT NULL
    ), ends AS (
        SELECT referral_id, count(*) AS n_pairs,
               arg_min(phq, completed_at) AS phq0, arg_min(gad, completed_at) AS gad0,
               arg_max(phq, completed_at) AS phq1, arg_max(gad, completed_at) AS gad1
        FROM pairs GROUP BY 1
    ), problem AS (
        SELECT referral_id, arg_min(problem_code, problem_id) AS problem_code
        FROM cms.presenting_problem GROUP BY 1
    )
    SELECT e.referral_id, e.received_on, coalesce(t.sessions, 0) AS sessions,
           datediff('day', e.received_on, t.first_treatment) AS wait_days,
           CASE WHEN t.step3 THEN 'step 3' ELSE 'step 2' END AS step,
           coalesce(CASE {descriptor} END, 'Other or not recorded') AS descriptor,
           coalesce(x.n_pairs, 0) >= 2 AS paired,
           (x.phq0 >= {PHQ9_CASE} OR x.gad0 >= {GAD7_CASE}) AS case_start,
           (x.phq1 >= {PHQ9_CASE} OR x.gad1 >= {GAD7_CASE}) AS case_end,
           ((x.phq0 - x.phq1 >= {PHQ9_RELIABLE} OR x.gad0 - x.gad1 >= {GAD7_RELIABLE})
             AND x.phq1 - x.phq0 < {PHQ9_RELIABLE} AND x.gad1 - x.gad0 < {GAD7_RELIABLE}) AS improved
    FROM ended e
    LEFT JOIN treat t USING (referral_id)
    LEFT JOIN ends x USING (referral_id)
    LEFT JOIN problem p USING (referral_id)
    """


def _outcomes_sql(group: str | None) -> str:
    by = f"{group}, " if group else ""
    return f"""
    SELECT {by}
        count(*) AS finished,
        count(*) FILTER (WHERE paired AND case_start) AS at_caseness,
        count(*) FILTER (WHERE paired AND case_start AND NOT case_end) AS recovered,
        count(*) FILTER (WHERE paired AND improved) AS improved,
        count(*) FILTER (WHERE paired AND case_start AND NOT case_end AND improved) AS reliably_recovered,
        count(*) FILTER (WHERE wait_days <= {SIX_WEEKS}) AS six_weeks,
        count(*) FILTER (WHERE wait_days <= {EIGHTEEN_WEEKS}) AS eighteen_weeks,
        avg(sessions) AS mean_sessions
    FROM courses WHERE sessions >= 2
    {"GROUP BY 1 ORDER BY 1" if group else ""}
    """


def _pct(num: float, den: float) -> float | None:
    return round(100.0 * num / den, 1) if den else None


@dataclass(frozen=True)
class Figures:
    label: str  # the month or the window
    counts: dict[str, int]
    percent: dict[str, float | None]  # measure -> percent
    by_descriptor: list[dict[str, object]]
    by_step: list[dict[str, object]]


def _rates(row: dict[str, float]) -> dict[str, float | None]:
    return {
        "recovery": _pct(row["recovered"], row["at_caseness"]),
        "reliable_improvement": _pct(row["improved"], row["finished"]),
        "reliable_recovery": _pct(row["reliably_recovered"], row["at_caseness"]),
        "wait_6_weeks": _pct(row["six_weeks"], row["finished"]),
        "wait_18_weeks": _pct(row["eighteen_weeks"], row["finished"]),
    }


def month_figures(warehouse: Path, period: str, mapping_dir: Path = MAPPING_SEEDS_DIR) -> Figures:
    """The month's headline figures (percentages) from the warehouse's own tables."""
    start, end = parse_period(period)
    return window_figures(warehouse, start.isoformat(), end.isoformat(), period, mapping_dir)


def window_figures(warehouse: Path, start: str, end: str, label: str = "",
                   mapping_dir: Path = MAPPING_SEEDS_DIR) -> Figures:
    """The same figures for referrals ending (and appointments) between two dates, inclusive."""
    start, end = (dt.date.fromisoformat(d).isoformat() for d in (start, end))  # dates only, never other SQL
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        _maps(con, mapping_dir)
        con.execute(f"CREATE TEMP TABLE courses AS {_courses_sql(start, end)}")

        def rows(sql: str) -> list[dict[str, object]]:
            cur = con.execute(sql)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r)) for r in cur.fetchall()]

        total = rows(_outcomes_sql(None))[0]
        ended = con.execute("SELECT count(*) FROM courses").fetchone()[0]
        received = con.execute(f"SELECT count(*) FROM cms.referral WHERE received_on BETWEEN DATE '{start}' AND DATE '{end}'").fetchone()[0]
        dna, seen = con.execute(f"""
            SELECT count(*) FILTER (WHERE m.national_code = '{DNA}'),
                   count(*) FILTER (WHERE m.national_code IN ('{DNA}', {", ".join(f"'{a}'" for a in ATTENDED)}))
            FROM cms.appointment a JOIN map_attendance m ON m.local_code = a.outcome
            WHERE a.starts_at::DATE BETWEEN DATE '{start}' AND DATE '{end}'""").fetchone()
        percent = _rates(total)
        percent["finishing_share"] = _pct(total["finished"], ended)
        percent["dna_rate"] = _pct(dna, seen)
        counts = {"referrals_received": received, "referrals_ended": ended, "finished_course": total["finished"],
                  "at_caseness": total["at_caseness"], "appointments_attended_or_dna": seen}

        def grouped(group: str) -> list[dict[str, object]]:
            return [{group: r[group], "finished": r["finished"], "mean_sessions": round(float(r["mean_sessions"]), 1),
                     **_rates(r)} for r in rows(_outcomes_sql(group))]

        return Figures(label or f"{start}..{end}", counts, percent, grouped("descriptor"), grouped("step"))
    finally:
        con.close()


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
        aim = f"target {t.target:.1f} +/- {t.tolerance_pp:.0f}" if t else ""
        lines.append(f"  {name:<22} {figures.percent.get(name)!s:>6} %   {aim}")
    for title, rows in (("by problem descriptor", figures.by_descriptor), ("by step of care", figures.by_step)):
        lines.append(f"  {title}:")
        for r in rows:
            label = r.get("descriptor", r.get("step"))
            lines.append(f"    {label!s:<30} n={r['finished']:<4} sessions {r['mean_sessions']:<5} recovery "
                         f"{r['recovery']!s:>5} %  reliable improvement {r['reliable_improvement']!s:>5} %")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("warehouse", type=Path)
    ap.add_argument("--period", default="2026-10")
    ap.add_argument("--from", dest="start", help="instead of --period: first day (YYYY-MM-DD) of a longer window")
    ap.add_argument("--to", dest="end", help="last day (YYYY-MM-DD) of that window")
    args = ap.parse_args(argv)
    if args.start and args.end:
        figures = window_figures(args.warehouse, args.start, args.end)
    else:
        figures = month_figures(args.warehouse, args.period)
    targets = load_targets()
    print(report(figures, targets))
    missed = off_target(figures, targets)
    if missed:
        print("off target:\n  " + "\n  ".join(missed))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
