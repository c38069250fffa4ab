"""Facts about the 21 IDB tables that the validation needs besides the spec CSV.

- ``RECORD_KEYS``: the local key printed in every failure, so a data-quality lead can find the record
  without an NHS number or a birth date ever appearing in a report.
- ``CODE_LISTS``: which national code-list seed (``seeds/reference/ref_<stem>.csv``) each coded column uses.
- the table tree (parent table and join key) comes from ``idb_schema.csv`` (column ``parent_key``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ..spec import load_tables

HEADER_TABLE = "IDS000Header"

# Columns that make up the record key shown to users (never NHSNumber / PersonBirthDate).
RECORD_KEYS: dict[str, tuple[str, ...]] = {
    "IDS000Header": (),  # the header has no key: it is named by its row number (HeaderRow=n)
    "IDS001MPI": ("LocalPatientId",),
    "IDS002GP": ("LocalPatientId", "GMPCodeReg", "StartDateGMPRegistration"),
    "IDS003AccommStatus": ("LocalPatientId", "AccommodationTypeDate"),
    "IDS004EmpStatus": ("LocalPatientId", "EmployStatusRecDate"),
    "IDS007DisabilityType": ("LocalPatientId", "DisabCode"),
    "IDS011SocPerCircumstances": ("LocalPatientId", "SocPerCircumstance", "SocPerCircumstanceRecDate"),
    "IDS012OverseasVisitorChargCat": ("LocalPatientId", "OvsVisChCat", "OvsVisChCatAppDate"),
    "IDS101Referral": ("ServiceRequestId", "LocalPatientId"),
    "IDS105OnwardReferral": ("ServiceRequestId", "OnwardReferDate", "OnwardReferTime"),
    "IDS108WaitingTimePauses": ("ServiceRequestId", "PauseID"),
    "IDS201CareContact": ("CareContactId", "ServiceRequestId"),
    "IDS202CareActivity": ("CareActId", "CareContactId"),
    "IDS205InternetTherLog": ("ServiceRequestId", "StartDateIntEnabledTherLog", "IntEnabledTherProg"),
    "IDS601MedHistPrevDiag": ("LocalPatientId", "PrevDiag", "DiagDate"),
    "IDS602LongTermCondition": ("ServiceRequestId", "LongTermCondition"),
    "IDS603PresentingComplaints": ("ServiceRequestId", "PresComp", "PresCompDate"),
    "IDS606CodedScoreAssessmentRefer": ("ServiceRequestId", "CodedAssToolType", "AssToolCompDate", "AssToolCompTime"),
    "IDS607CodedScoreAssessmentAct": ("CareActId", "CodedAssToolType"),
    "IDS803CareCluster": ("LocalPatientId", "StartDateCareClust"),
    "IDS902CarePersQual": ("CarePersLocalId", "QualAttainLevelIAPT"),
}

# Coded column -> code-list stem (seed ref_<stem>). Columns shared by several tables use one list.
CODE_LISTS: dict[str, str] = {
    "DatSetVer": "data_set_version_number",
    "NHSNumberStatus": "nhs_number_status_indicator_code",
    "Gender": "person_stated_gender_code",
    "GenderIdentity": "gender_identity_code",
    "GenderIdentitySameAtBirth": "gender_identity_same_at_birth_indicator",
    "EthnicCategory": "ethnic_category",
    "ExBAFIndicator": "ex_british_armed_forces_indicator",
    "LanguageCodePreferred": "language_code",
    "LanguageCodeTreat": "language_code",
    "EduEstabTypeIAPT": "educational_establishment_type_iapt",
    "AccommodationType": "accommodation_type",
    "SettledAccommodationInd": "settled_accommodation_indicator",
    "EmployStatus": "employment_status",
    "WeekHoursWorked": "weekly_hours_worked",
    "SelfEmployInd": "self_employed_indicator",
    "SickAbsenceInd": "sickness_absence_indicator",
    "SSPInd": "benefit_receipt_indicators_yn_u_z",
    "BenefitRecInd": "benefit_receipt_indicators_yn_u_z",
    "ESAInd": "benefit_receipt_indicators_yn_u_z",
    "UCInd": "benefit_receipt_indicators_yn_u_z",
    "PIPInd": "benefit_receipt_indicators_yn_u_z",
    "EmpSupportInd": "employment_support_suitability_indicator",
    "DisabCode": "disability_code",
    "OvsVisChCat": "overseas_visitor_charging_category",
    "SourceOfReferralIAPT": "source_of_referral_iapt",
    "PrevDiagCondInd": "previous_diagnosed_condition_indicator",
    "EndCode": "discharge_reason_iapt_end_code",
    "OnwardReferReason": "onward_referral_reason_iapt",
    "PauseReason": "activity_suspension_reason_iapt",
    "PlannedCareContIndicator": "yes_no_indicator",
    "Cancellation": "yes_no_indicator",
    "IAPTLTCServiceInd": "yes_no_indicator",
    "IntegratedSoftwareInd": "yes_no_indicator",
    "AttendOrDNACode": "attended_or_did_not_attend",
    "AppType": "appointment_type_iapt",
    "ConsMechanism": "consultation_mechanism_mental_health",
    "CareContPatientTherMode": "care_contact_patient_therapy_mode",
    "PsychMed": "psychotropic_medication_usage_indication_code",
    "ActLocTypeCode": "activity_location_type_code",
    "InterpreterPresentInd": "interpreter_present_indication_code",
    "FindSchemeInUse": "finding_scheme_in_use",
    "DiagSchemeInUse": "diagnosis_scheme_in_use",
    "PresCompCodSig": "presenting_complaint_coding_significance",
    "CodedAssToolType": "assessment_tools_snomed",
    "AMHCareClustCodeFin": "adult_mental_health_care_cluster_code",
    "QualAttainLevelIAPT": "qualification_attainment_level_iapt",
}


@dataclass(frozen=True)
class TableMeta:
    table_id: str
    name: str
    columns: tuple[str, ...]
    types: tuple[str, ...]
    record_key: tuple[str, ...]
    parent_table: str | None
    parent_key: str | None


@lru_cache(maxsize=None)
def table_meta() -> tuple[TableMeta, ...]:
    tables = load_tables()
    by_id = {t.table_id: t.name for t in tables}
    out = []
    for t in tables:
        parent = key = None
        for c in t.columns:
            m = re.match(r"FK -> (IDS\d{3})\.(\w+)", c.parent_key)
            if m:
                parent, key = by_id[m.group(1)], m.group(2)
        out.append(
            TableMeta(
                table_id=t.table_id,
                name=t.name,
                columns=tuple(c.name for c in t.columns),
                types=tuple(c.data_type for c in t.columns),
                record_key=RECORD_KEYS[t.name],
                parent_table=parent,
                parent_key=key,
            )
        )
    return tuple(out)


def meta(name_or_id: str) -> TableMeta:
    for m in table_meta():
        if name_or_id in (m.name, m.table_id):
            return m
    raise KeyError(name_or_id)


def table_name(table_id: str) -> str:
    return meta(table_id).name
