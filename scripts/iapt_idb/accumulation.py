"""An accumulation of a provider's IDB submissions, as NHS England keeps it, for the measures.

NHS England derives first treatment, finished courses and paired scores from all of a provider's
submissions (the latest submission of each month). ``add_submission`` appends one submission's
tables (the IDB tables the measures read, plus its IDS000Header period) to the schema that dbt source
``idb_submissions`` names; building the measures with ``--vars '{measures_input: submissions}'``
then derives them from that accumulation with the same models as from the warehouse history
(models/intermediate/measures, macro measures_submitted).
"""

from __future__ import annotations

from typing import Any

SCHEMA = "idb_submissions"
REGISTER = "submissions"

# The IDB tables the measures read (models/intermediate/measures).
MEASURE_TABLES: tuple[str, ...] = (
    "IDS001MPI",
    "IDS101Referral",
    "IDS201CareContact",
    "IDS202CareActivity",
    "IDS603PresentingComplaints",
    "IDS606CodedScoreAssessmentRefer",
    "IDS607CodedScoreAssessmentAct",
)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def add_submission(con: Any, source_schema: str, schema: str = SCHEMA, source_catalog: str | None = None) -> int:
    """Append the IDB in ``source_schema`` (tables named as in the IDB) as the next submission.

    ``con`` is a DuckDB connection to the database holding ``schema``; the IDB may be in another
    attached catalog (``source_catalog``). Values are cast to the types of the accumulated tables
    (created from the first submission), so a submission read back from an .accdb or CSV folder as
    text joins one read from the marts. Returns the new SubmissionId (1, 2, ... in the order added:
    a later one for the same month replaces the earlier, as a resubmission does).
    """
    src = (f"{_q(source_catalog)}." if source_catalog else "") + _q(source_schema)
    header = con.execute(
        f"select cast(ReportingPeriodStartDate as date), cast(ReportingPeriodEndDate as date) "
        f"from {src}.IDS000Header"
    ).fetchall()
    if len(header) != 1:
        raise ValueError(f"the submission in {source_schema} has {len(header)} IDS000Header rows, not 1")
    start, end = header[0]
    con.execute(f"create schema if not exists {_q(schema)}")
    con.execute(
        f"create table if not exists {_q(schema)}.{REGISTER} "
        "(SubmissionId bigint, ReportingPeriodStartDate date, ReportingPeriodEndDate date)"
    )
    submission_id = int(
        con.execute(f"select coalesce(max(SubmissionId), 0) + 1 from {_q(schema)}.{REGISTER}").fetchone()[0]
    )
    for table in MEASURE_TABLES:
        target = f"{_q(schema)}.{_q(table)}"
        exists = con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchone()[0]
        if not exists:
            con.execute(f"create table {target} as select cast(0 as bigint) as SubmissionId, * "
                        f"from {src}.{_q(table)} limit 0")
        columns = [
            (name, kind)
            for name, kind in con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ? and column_name <> 'SubmissionId' order by ordinal_position",
                [schema, table],
            ).fetchall()
        ]
        casts = ", ".join(f"cast({_q(name)} as {kind}) as {_q(name)}" for name, kind in columns)
        con.execute(f"insert into {target} by name select {submission_id} as SubmissionId, {casts} "
                    f"from {src}.{_q(table)}")
    con.execute(f"insert into {_q(schema)}.{REGISTER} values (?, ?, ?)", [submission_id, start, end])
    return submission_id
