"""Irregular rules: the structured check for rules whose ``condition_plain`` has no regular shape.

Each entry is keyed by the published rule code (or the UNPUBLISHED(...) code) and gives the check
name and its parameters; ``status``/``reason`` are set for rules that cannot be fully checked before
upload (the local approximation is what the check implements). Regular rules are parsed mechanically
by ``catalogue.parse_condition``; anything here wins over the parser.
"""

from __future__ import annotations

from typing import Any

NCB = "not_checkable_before_upload"

# ODS organisation codes: 3-6 upper-case letters/digits; GP practices: letter + 5 digits; sites 5-9.
ODS_ORG = r"^[A-Z0-9]{3,6}$"
ODS_GP = r"^[A-Z][0-9]{5}$"
ODS_SITE = r"^[A-Z0-9]{5,9}$"
# A postcode as held in the national postcode directory: upper case, one space.
PCD_STRICT = r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$"

_ODS_REASON = (
    "needs the ODS organisation reference data at the reporting-period start (national lookup); "
    "local approximation: the code must have the shape of an ODS code"
)


def _ods(column: str, pattern: str = ODS_ORG) -> dict[str, Any]:
    return {
        "check": "regex",
        "params": {"column": column, "pattern": pattern, "fail_on": "no_match"},
        "status": NCB,
        "reason": _ODS_REASON,
    }


def _pred(column: str, op: str, values: list[str] | None = None, other: str | None = None) -> dict[str, Any]:
    p: dict[str, Any] = {"column": column, "op": op}
    if values is not None:
        p["values"] = values
    if other is not None:
        p["other"] = other
    return p


def _scheme(code_col: str, scheme_col: str, icd: str, snomed: str, snomed_check: bool,
            read: tuple[str, ...] = ()) -> dict[str, Any]:
    """A coded entry's shape per scheme, as NHS England's src/dsp/udfs/coded_clinical_entry.py checks it:
    ICD-10 4-6 characters, Read v2/v3 5 or 7 characters (the schemes in ``read``), SNOMED CT 6-18 digits. A
    scheme not listed (or null) passes, as in its _is_a_valid_scheme_code."""
    schemes: dict[str, Any] = {icd: {"pattern": "^.{4,6}$"}}
    schemes.update({code: {"pattern": "^(.{5}|.{7})$"} for code in read})
    schemes[snomed] = {"pattern": "^[0-9]{6,18}$", "snomed": snomed_check}
    return {
        "check": "scheme_code_format",
        "params": {"column": code_col, "scheme_column": scheme_col, "schemes": schemes},
    }


# FINDING SCHEME IN USE as the published IAPT rules check it (is_valid_find_code_rule -> is_valid_find_code,
# _FIND_SCHEME_IN_USE): 01 ICD-10, 02/03 Read v2/v3, 04 SNOMED CT (length and digits only).
_FIND_READ_SCHEMES = ("02", "03")


OVERRIDES: dict[str, dict[str, Any]] = {
    # ---- file level ------------------------------------------------------------------------
    "IDSREJ001": {
        "check": "structure",
        "params": {},
        "implemented_by": "python: iapt_idb.validation.sources (a CSV directory's tables and columns; an .accdb's "
                          "tables, columns, types and text sizes: iapt_idb.accdb.physical.schema_differences)",
    },
    "IDSREJ006": {"check": "nhs_number", "params": {"column": "NHSNumber"}},
    "IDSREJ008": {
        "check": "age_range",
        "params": {"column": "PersonBirthDate", "max_age_years": 120},
    },
    "IDSREJ012": {
        "check": "period_activity",
        "params": {},
        "reason": "pipeline rule (logic not published): implemented as 'no referral open in the period "
        "and no care contact, activity or assessment dated in it'",
    },
    "IDSREJ015": {
        "check": "header_single",
        "params": {},
        "reason": "pipeline rule (logic not published): fails when IDS000 does not hold exactly one row "
        "or that row fails a record-level header rule",
    },
    "IDSREJ101": {
        "check": "nothing_valid",
        "params": {"table": "IDS101Referral"},
        "reason": "pipeline rule (logic not published): fails when no IDS101 referral survives the "
        "record/group rejections and the cascade",
    },
    # ---- header ----------------------------------------------------------------------------
    "IDS00003": {"check": "in_code_list", "params": {"column": "DatSetVer", "code_list": "data_set_version_number"}},
    "IDS00016": {
        "check": "submission_metadata",
        "params": {"column": "ReportingPeriodStartDate", "op": "ne", "expected": "period_start"},
        "status": NCB,
        "reason": "compares with the reporting period chosen at upload; local approximation: the --period given "
        "to iapt-idb validate",
    },
    "IDS00019": {
        "check": "submission_metadata",
        "params": {"column": "ReportingPeriodEndDate", "op": "ne", "expected": "period_end"},
        "status": NCB,
        "reason": "compares with the reporting period chosen at upload; local approximation: the --period given "
        "to iapt-idb validate",
    },
    "IDS00030": {
        "check": "submission_metadata",
        "params": {"column": "OrgIDProv", "op": "ne", "expected": "provider_ods"},
        "status": NCB,
        "reason": "compares with the organisation that uploads the file; local approximation: the configured "
        "provider ODS code (--provider-ods / $IAPT_PROVIDER_ODS / var provider_ods_code); reported as not checked "
        "when none is configured",
    },
    "IDS00033": {
        "check": "submission_metadata",
        "params": {"column": "OrgIDSubmit", "op": "ne", "expected": "submitter_ods"},
        "status": NCB,
        "reason": "compares with the uploading sender; local approximation: the configured submitter ODS code "
        "(var submitter_ods_code, else the provider's); reported as not checked when none is configured",
    },
    "IDS00027": {
        "check": "submission_metadata",
        "params": {"column": "DateTimeDatSetCreate", "op": "gt", "expected": "upload_timestamp"},
        "status": NCB,
        "reason": "compares with the upload time; local approximation: the time the validation runs",
    },
    "IDS00034": _ods("OrgIDSubmit"),
    "IDS00154": _ods("OrgIDLocalPatientId"),
    "IDS10110": _ods("OrgIDComm"),
    "IDS10519": _ods("OrgIDReceiving"),
    "IDS20147": _ods("OrgIDComm"),
    "IDS00206": {
        **_ods("GMPCodeReg", ODS_GP),
        "reason": "needs the ODS GP practice reference data at the reporting-period start; local approximation: "
        "a GP practice code is a letter and five digits",
    },
    "IDS20149": {
        **_ods("SiteIDOfTreat", ODS_SITE),
        "reason": "needs the ODS site reference data at the reporting-period start; local approximation: "
        "5-9 upper-case letters/digits",
    },
    "IDS00125": {
        "check": "regex",
        "params": {"column": "Postcode", "pattern": PCD_STRICT, "fail_on": "no_match"},
        "status": NCB,
        "reason": "needs the national postcode directory (ONSPD) at the reporting period; local approximation: "
        "the postcode is written as the directory holds it (upper case, one space)",
    },
    # ---- IDS001 ----------------------------------------------------------------------------
    "IDS00153": {
        "check": "cross_field",
        "params": {"predicates": [_pred("OrgIDLocalPatientId", "ne_header", other="OrgIDProv")]},
    },
    "IDS00117": {
        "check": "cross_field",
        "params": {"predicates": [_pred("NHSNumber", "not_null"), _pred("NHSNumberStatus", "in", ["07"])]},
    },
    "IDS00118": {
        "check": "cross_field",
        "params": {"predicates": [_pred("NHSNumber", "null"), _pred("NHSNumberStatus", "null")]},
    },
    "IDS00161": {
        "check": "cross_field",
        "params": {"predicates": [_pred("NHSNumber", "null"), _pred("NHSNumberStatus", "in", ["01", "02"])]},
    },
    "UNPUBLISHED(IDS001-EC21)": {
        "check": "length",
        "params": {"column": "EthnicCategory2021", "min": 0, "max": 3},
        "status": NCB,
        "reason": "the ETHNIC CATEGORY 2021 code list is not published; local approximation: at most 3 "
        "characters (the item's size)",
    },
    # ---- IDS002 ----------------------------------------------------------------------------
    "IDS00222": {
        "check": "unique",
        "params": {"columns": ["LocalPatientId"], "only_null": "EndDateGMPRegistration", "nulls": "equal"},
    },
    "IDS00223": {
        "check": "consecutive_registration",
        "params": {
            "key": "LocalPatientId",
            "start": "StartDateGMPRegistration",
            "end": "EndDateGMPRegistration",
            "code": "GMPCodeReg",
            "max_gap_days": 1,
        },
        "reason": "pipeline rule (day arithmetic not published): a next registration must start on the end "
        "date or the day after",
    },
    # ---- IDS003 / IDS004 -------------------------------------------------------------------
    "IDS00440": {
        "check": "unique",
        "params": {"columns": ["LocalPatientId"], "only_null": "EmployStatusRecDate", "nulls": "equal"},
    },
    "UNPUBLISHED(IDS003-UNQ-2)": {
        "check": "unique",
        "params": {"columns": ["LocalPatientId"], "only_null": "AccommodationTypeDate", "nulls": "equal"},
    },
    "IDS00433": {
        "check": "cross_field",
        "params": {"predicates": [_pred("EmpSupportReferral", "not_null"), _pred("EmpSupportInd", "null")]},
    },
    "IDS00435": {
        "check": "cross_field",
        "params": {"predicates": [_pred("EmpSupportInd", "in", ["Y"]), _pred("EmpSupportReferral", "null")]},
    },
    # ---- SNOMED CT -------------------------------------------------------------------------
    "IDS01109": {"check": "snomed", "params": {"column": "SocPerCircumstance", "min": 6, "max": 18}},
    "IDS20230": {"check": "snomed", "params": {"column": "CodeProcAndProcStatus", "min": 6, "max": 56}},
    "IDS20231": {"check": "snomed", "params": {"column": "CodeObs", "min": 6, "max": 56}},
    # ---- IDS101 ----------------------------------------------------------------------------
    "IDS10142": {
        "check": "regex",
        "params": {"column": "OnsetDate", "pattern": "^[0-9]{4}/(0[1-9]|1[0-2])$", "fail_on": "match"},
    },
    "IDS10141": {
        "check": "date_compare",
        "params": {
            "column": "OnsetDate",
            "op": "<",
            "other": {"table": "IDS001MPI", "column": "PersonBirthDate"},
            "precision": "month",
        },
    },
    "IDS10137": {
        "check": "cross_field",
        "params": {"predicates": [_pred("ServDischDate", "not_null"), _pred("EndCode", "null")]},
    },
    "IDS10138": {
        "check": "cross_field",
        "params": {"predicates": [_pred("EndCode", "not_null"), _pred("ServDischDate", "null")]},
    },
    "IDS10129": {
        "check": "discharge_followup",
        "params": {
            "column": "ServDischDate",
            "follow_up_app_types": ["06"],
            "peq_code_list": "assessment_tools_snomed",
            "peq_description_like": "%Patient Experience Questionnaire%",
        },
        "reason": "pipeline rule (logic not published): a referral discharged before the period is only "
        "submitted for its follow-up (AppType 06 contact) or a PEQ questionnaire",
    },
    # ---- IDS201 / IDS202 -------------------------------------------------------------------
    "IDS20168": {
        "check": "unique",
        "params": {
            "columns": ["ServiceRequestId", "CareContDate", "CareContTime"],
            "nulls": "equal",
            "filter": [_pred("AttendOrDNACode", "in", ["5", "6"])],
        },
    },
    "IDS20169": {
        "check": "child_exists",
        "params": {
            "child_table": "IDS202CareActivity",
            "key": "CareContactId",
            "when": [_pred("AttendOrDNACode", "in", ["5", "6"])],
        },
        "reason": "pipeline rule (logic not published): an attended contact should have a care activity",
    },
    "IDS20166": {
        "check": "cross_field",
        "params": {"predicates": [_pred("AttendOrDNACode", "in", ["2"]), _pred("Cancellation", "null")]},
    },
    "IDS20167": {
        "check": "cross_field",
        "params": {
            "predicates": [_pred("Cancellation", "not_null"), _pred("AttendOrDNACode", "not_in", ["2"])]
        },
    },
    "IDS20214": {
        "check": "cross_field",
        "params": {
            "predicates": [_pred("CodeFind", "not_null"), _pred("FindSchemeInUse", "null_or_not_in", ["01", "04"])]
        },
    },
    "IDS20216": {
        "check": "cross_field",
        "params": {"predicates": [_pred("FindSchemeInUse", "not_null"), _pred("CodeFind", "null")]},
    },
    "IDS20226": {
        "check": "cross_field",
        "params": {"predicates": [_pred("ObsValue", "not_null"), _pred("UnitMeasure", "null")]},
    },
    "IDS20228": _scheme("CodeFind", "FindSchemeInUse", "01", "04", False, _FIND_READ_SCHEMES),
    "IDS60209": _scheme("LongTermCondition", "FindSchemeInUse", "01", "04", False, _FIND_READ_SCHEMES),
    "IDS60310": _scheme("PresComp", "FindSchemeInUse", "01", "04", False, _FIND_READ_SCHEMES),
    "UNPUBLISHED(IDS601-PD-2)": _scheme("PrevDiag", "DiagSchemeInUse", "02", "06", True),
    # ---- scores ----------------------------------------------------------------------------
    "IDS60613": {"check": "in_code_list", "params": {"column": "CodedAssToolType", "code_list": "assessment_tools_snomed"}},
    "IDS60710": {"check": "in_code_list", "params": {"column": "CodedAssToolType", "code_list": "assessment_tools_snomed"}},
    "IDS60607": {"check": "assessment_score", "params": {"tool_column": "CodedAssToolType", "column": "PersScore", "kind": "range"}},
    "IDS60707": {"check": "assessment_score", "params": {"tool_column": "CodedAssToolType", "column": "PersScore", "kind": "range"}},
    "IDS60615": {"check": "assessment_score", "params": {"tool_column": "CodedAssToolType", "column": "PersScore", "kind": "format"}},
    "IDS60711": {"check": "assessment_score", "params": {"tool_column": "CodedAssToolType", "column": "PersScore", "kind": "format"}},
    # ---- IDS803 / IDS902 -------------------------------------------------------------------
    "IDS80319": {
        "check": "unique",
        "params": {"columns": ["LocalPatientId"], "only_null": "EndDateCareClust", "nulls": "equal"},
    },
    "IDS90212": {
        "check": "date_compare",
        "params": {"column": "QualAwardedDate", "op": "<", "other": {"literal": "2005-01-01"}},
    },
    "IDS90213": {
        "check": "date_compare",
        "params": {"column": "QualAwardedDate", "op": "<", "other": {"column": "QualPlannedCompletionDate"}},
    },
    "IDS90214": {
        "check": "cross_field",
        "params": {"predicates": [_pred("QualPlannedCompletionDate", "null"), _pred("QualAwardedDate", "null")]},
    },
    # ---- v2.1 items with two conditions in one inferred rule ---------------------------------
    "UNPUBLISHED(IDS003-ATD-2)": {"check": "valid_date", "params": {"column": "AccommodationTypeDate"}},
}
