"""The check kinds: the one list of generic checks a TOS rule (national or local) can use.

Python (the catalogue, local rules, Great Expectations), Jinja (``tos_check_kinds()`` in
``macros/tos/_tos_generated.sql``, written from this list by ``python -m iapt_idb.validation.catalogue``)
and the tests all read it from here. Adding a check kind: add it here, write its macro (see
``macros/tos/README.md``), add its fix hint in ``hints.py`` and regenerate.

Stages: ``row`` checks run in the per-table passes of the ``tos_check_failures__<group>`` models (macro
``tos_parts_<kind>`` when the check is a condition on one row, else ``tos_check_<kind>``, a query of its own);
``cascade`` checks in the cascade (``tos_rows_removed``); ``file`` checks are macros ``tos_file_<kind>`` run
in ``tos_failures``; ``python`` checks run while the input is loaded (``sources.py``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CheckKind:
    name: str
    stage: str  # row, cascade, file or python
    required: tuple[str, ...]  # params every rule of the kind must give
    optional: tuple[str, ...] = ()
    gx: bool = False  # also checked by a Great Expectations expectation
    meaning: str = ""


CHECK_KINDS: tuple[CheckKind, ...] = (
    CheckKind("not_blank", "row", ("column",), gx=True, meaning="column is null or only spaces"),
    CheckKind("length", "row", ("column", "min", "max"), gx=True, meaning="text length outside min-max"),
    CheckKind("regex", "row", ("column", "pattern"), ("fail_on",), gx=True,
              meaning="populated value does not match pattern (fail_on: no_match, the default, or match)"),
    CheckKind("valid_date", "row", ("column",), ("from",), meaning="not a date YYYY-MM-DD, or before from"),
    CheckKind("valid_datetime", "row", ("column",), meaning="not a timestamp YYYY-MM-DDThh:mm:ss"),
    CheckKind("valid_time", "row", ("column",), meaning="not a time hh:mm:ss"),
    CheckKind("in_code_list", "row", ("column", "code_list"), gx=True,
              meaning="code not in the national list seeds/reference/ref_<code_list>.csv valid in the period"),
    CheckKind("date_compare", "row", ("column", "op", "other"), ("offset", "invalid_fails", "precision"),
              meaning="column op(< or >) other ({column} on the row, {table, column} up the tree or the header)"),
    CheckKind("unique", "row", ("columns",), ("nulls", "only_null", "filter"),
              meaning="more than one row with the same columns"),
    CheckKind("cross_field", "row", ("predicates",), meaning="all predicates [{column, op, values|other}] hold"),
    CheckKind("submission_metadata", "row", ("column", "op", "expected"),
              meaning="header value differs from what the upload declares"),
    CheckKind("nhs_number", "row", ("column",), meaning="not 10 digits with a valid modulus-11 check digit"),
    CheckKind("age_range", "row", ("column", "max_age_years"), meaning="birth date after the period or too old"),
    CheckKind("snomed", "row", ("column", "min", "max"), meaning="not a valid SNOMED CT identifier"),
    CheckKind("scheme_code_format", "row", ("column", "scheme_column", "schemes"),
              meaning="code does not have the shape its scheme requires"),
    CheckKind("assessment_score", "row", ("column", "tool_column", "kind"),
              meaning="score not in the tool's format (kind format) or range (kind range)"),
    CheckKind("consecutive_registration", "row", ("key", "start", "end", "code", "max_gap_days"),
              meaning="a GP registration ends without a next one"),
    CheckKind("discharge_followup", "row", ("column", "follow_up_app_types", "peq_code_list", "peq_description_like"),
              meaning="referral discharged before the period without a follow-up"),
    CheckKind("child_exists", "row", ("child_table", "key"), ("when",), meaning="no child row with the same key"),
    CheckKind("parent_valid", "cascade", ("parent_table", "key"), meaning="parent record missing or rejected"),
    CheckKind("has_valid_child", "cascade", ("child_table", "key"), meaning="no valid child record"),
    CheckKind("table_not_empty", "file", ("table",), meaning="table has no rows"),
    CheckKind("header_single", "file", (), meaning="not exactly one valid header row"),
    CheckKind("period_activity", "file", (), meaning="nothing in the file belongs to the period"),
    CheckKind("nothing_valid", "file", (), ("table",), meaning="every referral rejected"),
    CheckKind("structure", "python", (), meaning="a table or column of the IDB is missing"),
)

BY_NAME: dict[str, CheckKind] = {k.name: k for k in CHECK_KINDS}


def _of(stage: str) -> tuple[str, ...]:
    return tuple(k.name for k in CHECK_KINDS if k.stage == stage)


ROW_CHECKS = _of("row")
CASCADE_CHECKS = _of("cascade")
FILE_CHECKS = _of("file")
PYTHON_CHECKS = _of("python")
ALL_CHECKS = ROW_CHECKS + CASCADE_CHECKS + FILE_CHECKS + PYTHON_CHECKS
GX_CHECKS = tuple(k.name for k in CHECK_KINDS if k.gx)
