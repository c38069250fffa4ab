"""Twelve monthly IDB submissions, accumulated as NHS England accumulates them, give the same
headline measures as the warehouse history, month by month.

The warehouse side and the submissions side are the same dbt models (models/intermediate/measures and
models/marts/measures); only var measures_input differs. The twelve IDBs come from the IDB marts of
the `built_marts` fixture: its last month exported to a real .accdb and read back, the eleven months
before it computed by the same marts' compiled SQL with the period's dates in place of the built
month's (so no twelve full builds). dbt runs in-process on the fixture's manifest (no re-parse).
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import duckdb
import pytest

from iapt_idb.accumulation import MEASURE_TABLES, add_submission

from conftest import BuiltMarts
from measures_fixtures import run_measure_models

MONTHS = 12
# The IDB marts the measures read, after the intermediate models they need, in build order.
IDB_CHAIN = (
    "int_referrals__scoped",
    "int_patients__scoped",
    "int_care_contacts__in_period",
    "int_care_activities__in_period",
    "IDS000Header",
    *MEASURE_TABLES,
)

pytestmark = pytest.mark.slow


def _months(last: str, count: int) -> list[str]:
    year, month = int(last[:4]), int(last[5:7])
    index = year * 12 + month - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - count + 1, index + 1)]


def _bounds(period: str) -> tuple[str, str, str]:
    """First day, last day and the next month's first day of YYYY-MM, as ISO text."""
    import calendar

    year, month = int(period[:4]), int(period[5:7])
    following = _months(f"{year + (month == 12):04d}-{month % 12 + 1:02d}", 1)[0]
    return f"{period}-01", f"{period}-{calendar.monthrange(year, month)[1]:02d}", f"{following}-01"


def _compiled(target_path: Path, model: str) -> str:
    found = [p for p in (target_path / "compiled").rglob(f"{model}.sql") if p.parent.suffix != ".yml"]
    assert len(found) == 1, f"the fixture's compiled SQL of {model}: {found}"
    return found[0].read_text(encoding="utf-8")


def _for_period(sql: str, built: str, period: str) -> str:
    """The built month's compiled SQL for another month: its three period dates (macros/periods.sql
    emits no other) replaced; any other literal of the built month left over fails the test."""
    swap = dict(zip(_bounds(built), _bounds(period)))
    pattern = "'(" + "|".join(map(re.escape, swap)) + ")"
    assert f"'{built}-" not in re.sub(pattern, "", sql), "a period-derived literal this test does not know of"
    return re.sub(pattern, lambda m: "'" + swap[m.group(1)], sql)


def _headline(db: Path) -> dict[tuple[str, str], tuple[int, int | None]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(
            "select cast(period_start_date as varchar), measure_id, numerator, denominator from main.measures_headline"
        ).fetchall()
    finally:
        con.close()
    return {(p, m): (n, d) for p, m, n, d in rows}


def _dbt_measures(built: BuiltMarts, work: Path, db: Path, extra_vars: dict[str, object]) -> None:
    run_measure_models(built, db, built.warehouse, work,
                       {"period": built.period, "provider_ods_code": "RZZ", "measures_months": MONTHS, **extra_vars})


def test_twelve_monthly_submissions_give_the_measures_of_the_warehouse_history(
    built_marts: BuiltMarts, tmp_path: Path
) -> None:
    from iapt_idb.accdb.reader import load_accdb_to_duckdb
    from iapt_idb.accdb.writer import export_idb

    began = time.perf_counter()
    periods = _months(built_marts.period, MONTHS)
    db = tmp_path / built_marts.target_db.name  # the same file name: the staging views name its catalog
    shutil.copy(built_marts.target_db, db)

    # The last month through the real file: the marts exported to .accdb and read back.
    accdb = tmp_path / "out" / f"IDB_{built_marts.period}.accdb"
    accdb.parent.mkdir()
    export_idb(built_marts.target_db, accdb, built_marts.period, progress=False, skip_unstorable=True)
    load_accdb_to_duckdb(accdb, db, schema="read_back", progress=False)

    con = duckdb.connect(str(db))
    try:
        con.execute(f"attach '{built_marts.warehouse}' as local_warehouse (read_only)")
        compiled = {model: _compiled(built_marts.target_path, model) for model in IDB_CHAIN}
        for period in periods[:-1]:
            for model in IDB_CHAIN:
                con.execute(f"create or replace table main.{model} as "
                            f"{_for_period(compiled[model], built_marts.period, period)}")
            add_submission(con, "main")
        add_submission(con, "read_back")
        submitted = con.execute(
            "select strftime(ReportingPeriodStartDate, '%Y-%m') from idb_submissions.submissions order by SubmissionId"
        ).fetchall()
        contacts = con.execute("select count(*) from idb_submissions.IDS201CareContact").fetchone()[0]
    finally:
        con.close()
    assert [p for (p,) in submitted] == periods
    assert contacts > 0

    _dbt_measures(built_marts, tmp_path, db, {"measures_history_start": f"{periods[0]}-01"})
    con = duckdb.connect(str(db))
    try:  # keep the history's pathway beside the submissions' one
        con.execute("create table main.history_pathway as select * from main.measures_referral_pathway")
    finally:
        con.close()
    from_history = _headline(db)
    _dbt_measures(built_marts, tmp_path, db, {"measures_input": "submissions"})
    from_submissions = _headline(db)

    assert {p for p, _ in from_history} == {f"{p}-01" for p in periods}
    finished = sum(from_history[(f"{p}-01", "finished_treatment")][0] for p in periods)
    assert finished > 0, "the synthetic year should have finished courses of treatment"

    explained = _explained_by_inclusion_rules(db, built_marts.target_db, accdb, periods)
    unexplained = _pathway_differences(db) - set(explained)
    assert not unexplained, (
        f"pathways differ between the history and the submissions, with no inclusion rule to explain it: "
        f"{sorted(unexplained)[:20]}")
    # the headline of every month none of whose pathways is explained away is equal measure by measure
    touched = {period for period, _ in _pathway_differences(db)}
    differences = {
        key: (value, from_submissions.get(key)) for key, value in from_history.items()
        if key[0] not in touched and from_submissions.get(key) != value
    }
    assert not differences, f"measures differ (history, submissions): {dict(sorted(differences.items()))}"
    assert len(touched) < MONTHS, "at least one month must reconcile exactly"
    print(f"reconciliation of {MONTHS} months: {time.perf_counter() - began:.1f}s; "
          f"explained by inclusion rules: {sorted(explained.items())}")


# Pathway columns that feed the headline (measures_catalogue) and the pathway dates and scores behind them.
COMPARED = (
    "referral_received_date", "discharge_date", "first_assessment_date", "first_treatment_date",
    "treatment_appointment_count", "dna_contacts_in_period", "due_contacts_in_period", "phq9_first_score",
    "phq9_last_score", "anxiety_tool_code", "anxiety_first_score", "anxiety_last_score", "has_paired_scores",
    "is_at_caseness_start", "is_recovered", "is_reliably_improved", "is_reliably_deteriorated",
    "is_reliably_recovered", "is_self_referral", "is_referred_in_period", "is_first_assessed_in_period",
    "is_entered_treatment_in_period", "is_ended_in_period", "is_finished_treatment",
)
COUNTED = ("is_referred_in_period", "is_first_assessed_in_period", "is_entered_treatment_in_period",
           "is_ended_in_period", "due_contacts_in_period")


def _pathway_differences(db: Path) -> set[tuple[str, str]]:
    """(period, referral) whose pathway differs between the history and the submissions, among the
    pathways that count towards a headline measure on either side."""
    counted = " or ".join(f"coalesce({c}, 0) > 0" for c in COUNTED)
    columns = ", ".join(("cast(period_start_date as varchar)", "service_request_id", *COMPARED))
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(
            f"(select {columns} from main.history_pathway where {counted} "
            f"except select {columns} from main.measures_referral_pathway) "
            f"union (select {columns} from main.measures_referral_pathway where {counted} "
            f"except select {columns} from main.history_pathway)"
        ).fetchall()
    finally:
        con.close()
    return {(r[0], r[1]) for r in rows}


def _explained_by_inclusion_rules(db: Path, built_db: Path, accdb: Path,
                                  periods: list[str]) -> dict[tuple[str, str], str]:
    """(period, referral) pathways that the data set's inclusion rules make differ, with the rule:

    * a referral discharged before it was received is out of scope (int_referrals__scoped: discharged
      before the month, no activity in it) until a month in which it has activity, so the months
      before that have no record of it (the platform rejects such a referral too: IDS10128);
    * a care contact the .accdb cannot store (text longer than its column) is left out of that
      month's file and listed in the excluded file with the platform rule that rejects it.
    """
    import csv

    explained: dict[tuple[str, str], str] = {}
    con = duckdb.connect(str(db), read_only=True)
    try:
        for period, referral in con.execute(
            "select cast(history.period_start_date as varchar), history.service_request_id "
            "from main.history_pathway as history "
            "where history.discharge_date < history.referral_received_date and not exists ("
            "select 1 from idb_submissions.IDS101Referral as referral "
            "inner join idb_submissions.submissions as submission using (SubmissionId) "
            "where referral.ServiceRequestId = history.service_request_id "
            "and submission.ReportingPeriodEndDate <= history.period_end_date)"
        ).fetchall():
            explained[(period, referral)] = "IDS10128 (discharged before received: not yet in any month's scope)"
        excluded = accdb.with_name(accdb.stem + ".excluded.csv")
        left_out = []
        if excluded.exists():
            with excluded.open(encoding="utf-8", newline="") as f:
                left_out = [r for r in csv.DictReader(f) if r["table"] == "IDS201CareContact"]
    finally:
        con.close()
    built = duckdb.connect(str(built_db), read_only=True)
    try:
        for row in left_out:
            contact = row["record_key"].split("=", 1)[1]
            for (referral,) in built.execute(
                "select distinct ServiceRequestId from main.IDS201CareContact where CareContactId = ?", [contact]
            ).fetchall():
                explained[(f"{periods[-1]}-01", referral)] = f"{row['rule_code']} (contact not storable in the .accdb)"
    finally:
        built.close()
    return explained
