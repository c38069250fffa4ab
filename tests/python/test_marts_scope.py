"""Inclusion rules on the built small warehouse: what reaches the month's marts and what does not."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from plain_jinja_macros import macro_module

START, END = "2026-10-01", "2026-10-31"


@pytest.fixture(scope="module")
def con(built_marts) -> Iterator[duckdb.DuckDBPyConnection]:
    c = duckdb.connect(str(built_marts.target_db), read_only=True)
    c.execute(f"attach '{built_marts.warehouse}' as local_warehouse (read_only)")
    yield c
    c.close()


def _one(con: duckdb.DuckDBPyConnection, sql: str):
    return con.sql(sql).fetchone()[0]


def test_every_staged_referral_left_out_of_ids101_has_an_out_of_scope_reason(con) -> None:
    left_out = con.sql(
        'select scope_reason, count(*) from int_referrals__scoped '
        'where referral_id not in (select ServiceRequestId from "IDS101Referral") group by 1'
    ).fetchall()
    assert left_out, "the small warehouse has referrals outside the month"
    assert all(reason.startswith("out_") for reason, _ in left_out), left_out
    assert _one(con, "select count(*) from int_referrals__scoped where is_in_scope") == _one(
        con, 'select count(*) from "IDS101Referral"'
    )
    assert _one(con, "select count(*) from int_referrals__scoped") == _one(con, "select count(*) from local_warehouse.cms.referral")


def test_in_scope_referrals_were_open_in_the_month_or_have_activity_in_it(con) -> None:
    bad = con.sql(
        f"""select referral_id, scope_reason from int_referrals__scoped where is_in_scope and (
                received_on > '{END}'
                or (discharged_on < '{START}' and activity_rows_in_period = 0))"""
    ).fetchall()
    assert bad == []


def test_dates_after_the_period_end_are_never_submitted(con) -> None:
    checks = {
        "IDS002GP": "EndDateGMPRegistration",
        "IDS101Referral": "ServDischDate",
        "IDS108WaitingTimePauses": "PauseEndDate",
        "IDS803CareCluster": "EndDateCareClust",
        "IDS004EmpStatus": "EmpSupportReferral",
        "IDS003AccommStatus": "AccommodationTypeEndDate",
    }
    for table, column in checks.items():
        assert _one(con, f'select count(*) from "{table}" where {column} > \'{END}\'') == 0, table
    # a referral discharged after the period end is submitted as still open, without an end code
    assert _one(con, 'select count(*) from "IDS101Referral" where ServDischDate is null and EndCode is not null') == 0


def test_activity_tables_hold_only_the_months_activity(con) -> None:
    for table, column in {
        "IDS201CareContact": "CareContDate",
        "IDS105OnwardReferral": "OnwardReferDate",
        "IDS606CodedScoreAssessmentRefer": "AssToolCompDate",
    }.items():
        assert _one(con, f"select count(*) from \"{table}\" where {column} not between '{START}' and '{END}'") == 0
    in_month = _one(
        con,
        "select count(*) from local_warehouse.cms.appointment "
        f"where cast(starts_at as date) between '{START}' and '{END}'",
    )
    assert _one(con, 'select count(*) from "IDS201CareContact"') == in_month > 0


def test_defective_rows_are_not_deduplicated_or_dropped(con) -> None:
    """Duplicate rows (generator defects) reach the marts: counts equal the warehouse rows the rules select."""
    in_scope = "select referral_id from int_referrals__scoped where is_in_scope"
    patients = "select patient_id from int_patients__scoped"
    expected = {
        "IDS603PresentingComplaints": f"""select count(*) from local_warehouse.cms.presenting_problem
            where (recorded_on is null or recorded_on <= '{END}')
            and (referral_id in ({in_scope}) or referral_id not in (select referral_id from local_warehouse.cms.referral))""",
        "IDS007DisabilityType": f"""select count(*) from local_warehouse.cms.patient_disability
            where patient_id in ({patients})
            or patient_id not in (select patient_id from local_warehouse.cms.patient)""",
        "IDS001MPI": f"select count(*) from local_warehouse.cms.patient where patient_id in ({patients})",
    }
    duplicated = _one(
        con, "select count(*) from local_warehouse.cms.generator_defects where defect_kind = 'duplicate_row' "
             "and table_name in ('presenting_problem', 'patient_disability')"
    )
    assert duplicated > 0
    for table, sql in expected.items():
        assert _one(con, f'select count(*) from "{table}"') == _one(con, sql), table


def test_unmapped_local_codes_stay_visible_and_are_listed(con) -> None:
    listed = con.sql("select code_set, local_code, table_name, column_name, row_count from int_unmapped_local_codes").fetchall()
    assert listed, "the 2% defect warehouse has unmapped codes"
    outcome_codes = {code for cs, code, table, col, _ in listed if (table, col) == ("appointment", "outcome")}
    submitted = {c for (c,) in con.sql('select distinct AttendOrDNACode from "IDS201CareContact"').fetchall()}
    national = {c for (c,) in con.sql("select code from main_reference.ref_attended_or_did_not_attend").fetchall()}
    month_outcomes = {
        c for (c,) in con.sql(
            "select distinct outcome_local from int_care_contacts__in_period where not is_outcome_mapped"
        ).fetchall()
    }
    assert month_outcomes <= outcome_codes
    # unmapped codes of the month are submitted unchanged; every other value is a national code
    assert month_outcomes <= submitted
    assert submitted - month_outcomes - {None} <= national


def test_gp_registration_rows_overlap_the_period(con) -> None:
    assert _one(
        con, f"""select count(*) from "IDS002GP" where StartDateGMPRegistration > '{END}'
                 or EndDateGMPRegistration < '{START}'"""
    ) == 0


# Child keys against a parent and its in-scope list: A in scope, B out of scope, C an orphan, and a null key.
SCOPE_CASES = {
    "parents with keys": (["A", "B", None], ["A"], {"A", "C"}),
    "parents without a key": ([None], [], {"A", "B", "C", None}),
    "no parents": ([], [], {"A", "B", "C", None}),
}


def test_every_engines_scope_predicate_keeps_in_scope_and_orphan_rows_only() -> None:
    """in_scope_or_orphan's three forms (DuckDB's, the default and PostgreSQL's, which dbt dispatches by
    adapter) keep the same rows: a key whose parent is in scope, a key no parent has, and a null key only
    when no parent has a key. The forms are plain Jinja, rendered here from macros/periods.sql."""
    macros = macro_module("periods.sql")
    forms = ("duckdb__in_scope_or_orphan", "default__in_scope_or_orphan", "postgres__in_scope_or_orphan")
    predicates = {f: str(getattr(macros, f)("child.k", "scoped", "parent", "k", "scoped.ok")) for f in forms}

    con = duckdb.connect()
    con.execute("create table child as select unnest(['A', 'B', 'C', null]) as k")
    for case, (parents, in_scope, expected) in SCOPE_CASES.items():
        con.execute("create or replace table parent as select unnest(?::varchar[]) as k", [parents])
        # the in-scope list also holds a parent that its filter leaves out: scoped_filter must apply
        con.execute("create or replace table scoped as select unnest(?::varchar[]) as k, true as ok "
                    "union all select 'B', false", [in_scope])
        for form, predicate in predicates.items():
            kept = {k for (k,) in con.execute(f"select k from child where {predicate}").fetchall()}
            assert kept == expected, (case, form)
