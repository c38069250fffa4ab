"""The synthetic local clinical system ("Lumen CMS"): the embedded default source.

This module describes the synthetic warehouse the generator writes; the Lumen CMS
staging models (source_systems/lumen_cms/) are generated from it and from the
staging contract (scripts/iapt_idb/contract.py). It is shaped like a
real IAPT case-management system: its own table names, its own column names
and its own *local* code sets, none of them the IDB's.

Every column whose values come from a local code set names that set in
``code_set``. The valid local codes of a set, and the national code each maps
to, live in the mapping seed ``source_systems/lumen_cms/mappings/map_<code_set>.csv``
(columns ``local_code,national_code,local_description``). The generator picks
valid local codes from those seeds; a local code missing from its seed is an
unmapped code, which staging keeps visible (never defaulted).
"""

from __future__ import annotations

from dataclasses import dataclass, field

SCHEMA = "cms"  # schema inside the warehouse DuckDB file


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # DuckDB type
    description: str
    code_set: str | None = None


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    key: tuple[str, ...]
    columns: tuple[Column, ...] = field(default_factory=tuple)


def _c(name: str, type_: str, description: str, code_set: str | None = None) -> Column:
    return Column(name, type_, description, code_set)


TABLES: tuple[Table, ...] = (
    Table("patient", "One row per person known to the service.", ("patient_id",), (
        _c("patient_id", "VARCHAR", "Local patient identifier, e.g. LP00000042."),
        _c("nhs_no", "VARCHAR", "NHS number as held locally (10 digits; may be blank or wrong)."),
        _c("nhs_no_status", "VARCHAR", "Local NHS number trace status.", "nhs_no_status"),
        _c("date_of_birth", "DATE", "Date of birth."),
        _c("sex", "VARCHAR", "Stated sex/gender (local code).", "sex"),
        _c("gender_identity", "VARCHAR", "Gender identity (local code).", "gender_identity"),
        _c("gender_same_as_birth", "VARCHAR", "Is gender identity the same as at birth (local code).", "gender_same_as_birth"),
        _c("ethnicity", "VARCHAR", "Ethnicity (local code).", "ethnicity"),
        _c("preferred_language", "VARCHAR", "Preferred spoken language (local 3-letter code).", "language"),
        _c("ex_forces", "VARCHAR", "Ex-British armed forces status (local code).", "ex_forces"),
        _c("education_setting", "VARCHAR", "Educational establishment type if a student (local code).", "education_setting"),
        _c("registered_at_org", "VARCHAR", "ODS code of the organisation that issued the local patient id."),
        _c("updated_at", "TIMESTAMP", "When the row last changed in the CMS."),
    )),
    Table("patient_address", "Address history; one row per address period.", ("address_id",), (
        _c("address_id", "BIGINT", "Surrogate key."),
        _c("patient_id", "VARCHAR", "Patient."),
        _c("postcode", "VARCHAR", "Postcode as typed by admin staff (case and spacing vary)."),
        _c("valid_from", "DATE", "First day the address applied."),
        _c("valid_to", "DATE", "Last day the address applied; null while current."),
    )),
    Table("gp_registration", "GP practice registrations.", ("registration_id",), (
        _c("registration_id", "BIGINT", "Surrogate key."),
        _c("patient_id", "VARCHAR", "Patient."),
        _c("practice_code", "VARCHAR", "ODS code of the GP practice."),
        _c("registered_from", "DATE", "Registration start."),
        _c("registered_to", "DATE", "Registration end; null while registered."),
    )),
    Table("accommodation_history", "Accommodation recorded for a patient.", ("accommodation_id",), (
        _c("accommodation_id", "BIGINT", "Surrogate key."),
        _c("patient_id", "VARCHAR", "Patient."),
        _c("accommodation", "VARCHAR", "Accommodation type (local code).", "accommodation"),
        _c("settled", "VARCHAR", "Is the accommodation settled (local code).", "settled_accommodation"),
        _c("recorded_on", "DATE", "Date recorded."),
        _c("started_on", "DATE", "Date this accommodation started."),
        _c("ended_on", "DATE", "Date this accommodation ended."),
    )),
    Table("employment_history", "Employment status assessments, including employment-adviser items.", ("employment_id",), (
        _c("employment_id", "BIGINT", "Surrogate key."),
        _c("patient_id", "VARCHAR", "Patient."),
        _c("status", "VARCHAR", "Employment status (local code).", "employment_status"),
        _c("recorded_on", "DATE", "Date the status was recorded."),
        _c("hours_band", "VARCHAR", "Weekly hours worked band (local code).", "hours_band"),
        _c("self_employed", "VARCHAR", "Self employed (local yes/no).", "yes_no_unknown"),
        _c("sick_leave", "VARCHAR", "Off sick from work (local yes/no).", "yes_no_unknown"),
        _c("statutory_sick_pay", "VARCHAR", "Receiving statutory sick pay (local yes/no).", "yes_no_unknown"),
        _c("any_benefit", "VARCHAR", "Receiving any benefit (local yes/no).", "yes_no_unknown"),
        _c("esa", "VARCHAR", "Receiving ESA (local yes/no).", "yes_no_unknown"),
        _c("universal_credit", "VARCHAR", "Receiving Universal Credit (local yes/no).", "yes_no_unknown"),
        _c("pip", "VARCHAR", "Receiving PIP (local yes/no).", "yes_no_unknown"),
        _c("employment_support_suitable", "VARCHAR", "Suitable for employment support (local code).", "employment_support_suitable"),
        _c("employment_support_referred_on", "DATE", "Date referred to employment support."),
        _c("employment_support_discharged_on", "DATE", "Date discharged from employment support."),
    )),
    Table("patient_disability", "Disabilities a patient reports.", ("disability_id",), (
        _c("disability_id", "BIGINT", "Surrogate key."),
        _c("patient_id", "VARCHAR", "Patient."),
        _c("disability", "VARCHAR", "Disability (local code).", "disability"),
    )),
    Table("social_circumstance", "Social and personal circumstances (sexual orientation, religion, ...) as SNOMED CT concepts.", ("circumstance_id",), (
        _c("circumstance_id", "BIGINT", "Surrogate key."),
        _c("patient_id", "VARCHAR", "Patient."),
        _c("snomed_code", "VARCHAR", "SNOMED CT concept id."),
        _c("recorded_on", "DATE", "Date recorded."),
    )),
    Table("overseas_visitor_status", "Overseas visitor charging categories.", ("ovs_id",), (
        _c("ovs_id", "BIGINT", "Surrogate key."),
        _c("patient_id", "VARCHAR", "Patient."),
        _c("charging_category", "VARCHAR", "Charging category (local code).", "overseas_charging"),
        _c("applies_from", "DATE", "Date the category applies from."),
    )),
    Table("past_diagnosis", "Diagnoses made before the referral (medical history).", ("past_diagnosis_id",), (
        _c("past_diagnosis_id", "BIGINT", "Surrogate key."),
        _c("patient_id", "VARCHAR", "Patient."),
        _c("coding_scheme", "VARCHAR", "Coding scheme (local code).", "diagnosis_scheme"),
        _c("diagnosis_code", "VARCHAR", "Diagnosis code in that scheme."),
        _c("diagnosed_on", "DATE", "Date of diagnosis."),
    )),
    Table("referral", "Referrals to the talking-therapies service.", ("referral_id",), (
        _c("referral_id", "VARCHAR", "Local referral identifier, e.g. RF0000000042."),
        _c("patient_id", "VARCHAR", "Patient."),
        _c("commissioner_code", "VARCHAR", "ODS code of the commissioner (sub-ICB)."),
        _c("received_on", "DATE", "Date the referral was received."),
        _c("referral_source", "VARCHAR", "Source of referral (local code).", "referral_source"),
        _c("problem_onset", "VARCHAR", "Month the problem began, as typed (YYYY-MM)."),
        _c("previously_diagnosed", "VARCHAR", "Condition previously diagnosed (local yes/no).", "yes_no_unknown"),
        _c("discharge_reason", "VARCHAR", "Reason the referral ended (local code).", "discharge_reason"),
        _c("discharged_on", "DATE", "Discharge date; null while open."),
    )),
    Table("waiting_pause", "Pauses in the waiting-time clock.", ("pause_id",), (
        _c("pause_id", "BIGINT", "Surrogate key (unique across referrals)."),
        _c("referral_id", "VARCHAR", "Referral."),
        _c("pause_number", "INTEGER", "1, 2, ... within the referral."),
        _c("paused_from", "DATE", "Pause start."),
        _c("paused_to", "DATE", "Pause end; null while paused."),
        _c("pause_reason", "VARCHAR", "Reason (local code).", "pause_reason"),
    )),
    Table("onward_referral", "Referrals on to other services.", ("onward_referral_id",), (
        _c("onward_referral_id", "BIGINT", "Surrogate key."),
        _c("referral_id", "VARCHAR", "Referral."),
        _c("referred_at", "TIMESTAMP", "When the onward referral was made."),
        _c("reason", "VARCHAR", "Reason (local code).", "onward_referral_reason"),
        _c("receiving_org", "VARCHAR", "ODS code of the receiving organisation."),
    )),
    Table("appointment", "Appointments (care contacts), attended or not.", ("appointment_id",), (
        _c("appointment_id", "VARCHAR", "Local appointment identifier, e.g. AP000000000042."),
        _c("referral_id", "VARCHAR", "Referral."),
        _c("starts_at", "TIMESTAMP", "Scheduled start."),
        _c("commissioner_code", "VARCHAR", "ODS code of the commissioner."),
        _c("booked", "BOOLEAN", "Was the appointment planned in advance."),
        _c("outcome", "VARCHAR", "Attendance outcome (local code).", "attendance"),
        _c("duration_minutes", "INTEGER", "Clinical contact duration in minutes."),
        _c("ltc_pathway", "BOOLEAN", "Delivered by the integrated long-term-conditions pathway."),
        _c("appointment_type", "VARCHAR", "Appointment purpose (local code).", "appointment_type"),
        _c("contact_method", "VARCHAR", "How the contact took place (local code).", "contact_method"),
        _c("digital_programme", "VARCHAR", "Internet-enabled therapy programme used, free text."),
        _c("therapy_mode", "VARCHAR", "Individual, couple or group (local code).", "therapy_mode"),
        _c("group_size", "INTEGER", "Patients in the group session."),
        _c("group_facilitators", "INTEGER", "Facilitators in the group session."),
        _c("psychotropic_medication", "VARCHAR", "Psychotropic medication status (local code).", "psychotropic_medication"),
        _c("location_type", "VARCHAR", "Type of location (local code).", "location_type"),
        _c("site_code", "VARCHAR", "ODS site code of the treatment site."),
        _c("treatment_language", "VARCHAR", "Language therapy was delivered in (local code).", "language"),
        _c("interpreter", "VARCHAR", "Interpreter present (local code).", "interpreter"),
    )),
    Table("appointment_intervention", "Interventions (care activities) within an appointment.", ("intervention_id",), (
        _c("intervention_id", "VARCHAR", "Local intervention identifier, e.g. IV000000000042."),
        _c("appointment_id", "VARCHAR", "Appointment."),
        _c("staff_id", "VARCHAR", "Clinician who delivered it."),
        _c("duration_minutes", "INTEGER", "Minutes."),
        _c("procedure_snomed", "VARCHAR", "Therapy procedure, SNOMED CT concept id."),
        _c("finding_scheme", "VARCHAR", "Coding scheme of finding_code (local code).", "finding_scheme"),
        _c("finding_code", "VARCHAR", "Coded finding."),
        _c("observation_snomed", "VARCHAR", "Observation SNOMED CT concept id."),
        _c("observation_value", "VARCHAR", "Observation value."),
        _c("observation_unit", "VARCHAR", "Unit of measure of the observation."),
    )),
    Table("questionnaire_score", "Questionnaire scores (PHQ-9, GAD-7, WSAS, ADSMs, PEQ ...). Scores with an intervention_id were taken in an appointment (IDS607); others at referral level (IDS606).", ("score_id",), (
        _c("score_id", "BIGINT", "Surrogate key."),
        _c("referral_id", "VARCHAR", "Referral."),
        _c("intervention_id", "VARCHAR", "Intervention the score was taken in, if any."),
        _c("tool_snomed", "VARCHAR", "SNOMED CT code of the tool or item."),
        _c("score", "VARCHAR", "Score as recorded (text)."),
        _c("completed_at", "TIMESTAMP", "When the questionnaire was completed."),
    )),
    Table("presenting_problem", "Presenting complaints of a referral.", ("problem_id",), (
        _c("problem_id", "BIGINT", "Surrogate key."),
        _c("referral_id", "VARCHAR", "Referral."),
        _c("coding_scheme", "VARCHAR", "Coding scheme (local code).", "finding_scheme"),
        _c("problem_code", "VARCHAR", "Problem code in that scheme."),
        _c("significance", "VARCHAR", "Primary or secondary (local code).", "problem_significance"),
        _c("recorded_on", "DATE", "Date recorded."),
    )),
    Table("long_term_condition", "Long-term physical health conditions of a referral.", ("ltc_id",), (
        _c("ltc_id", "BIGINT", "Surrogate key."),
        _c("referral_id", "VARCHAR", "Referral."),
        _c("coding_scheme", "VARCHAR", "Coding scheme (local code).", "finding_scheme"),
        _c("condition_code", "VARCHAR", "Condition code."),
    )),
    Table("digital_therapy_log", "Use of internet-enabled therapy programmes.", ("log_id",), (
        _c("log_id", "BIGINT", "Surrogate key."),
        _c("referral_id", "VARCHAR", "Referral."),
        _c("programme", "VARCHAR", "Programme name."),
        _c("started_on", "DATE", "First day of the logged period."),
        _c("ended_on", "DATE", "Last day of the logged period."),
        _c("minutes", "INTEGER", "Clinician minutes spent supporting the programme."),
        _c("staff_id", "VARCHAR", "Supporting clinician."),
        _c("integrated_software", "BOOLEAN", "Programme integrated with the CMS."),
    )),
    Table("care_cluster_assignment", "Adult mental health care cluster assignments.", ("cluster_assignment_id",), (
        _c("cluster_assignment_id", "BIGINT", "Surrogate key."),
        _c("patient_id", "VARCHAR", "Patient."),
        _c("cluster", "VARCHAR", "Care cluster (local code).", "care_cluster"),
        _c("started_at", "TIMESTAMP", "Start."),
        _c("ended_at", "TIMESTAMP", "End; null while current."),
    )),
    Table("staff", "Clinical staff.", ("staff_id",), (
        _c("staff_id", "VARCHAR", "Local staff identifier, e.g. ST00042."),
        _c("role", "VARCHAR", "Job role, free text."),
    )),
    Table("staff_qualification", "Qualifications of clinical staff.", ("staff_qualification_id",), (
        _c("staff_qualification_id", "BIGINT", "Surrogate key."),
        _c("staff_id", "VARCHAR", "Staff member."),
        _c("qualification", "VARCHAR", "Qualification (local code).", "qualification"),
        _c("awarded_on", "DATE", "Date awarded."),
        _c("planned_completion_on", "DATE", "Planned completion date if in training."),
    )),
)

# Bookkeeping written by the generator, not part of the clinical system.
DEFECT_LOG_TABLE = Table(
    "generator_defects",
    "Every defect the generator injected: which row, which column, what kind.",
    ("table_name", "record_key", "defect_kind"),
    (
        _c("table_name", "VARCHAR", "Warehouse table."),
        _c("record_key", "VARCHAR", "Primary key value of the spoiled row (as text)."),
        _c("column_name", "VARCHAR", "Column spoiled (null for whole-row defects such as duplicates)."),
        _c("defect_kind", "VARCHAR", "invalid_nhs_number, missing_mandatory, unmapped_code, dates_out_of_order, duplicate_row, orphan_row, over_long_text, ..."),
        _c("detail", "VARCHAR", "Human-readable detail (never a patient identifier)."),
    ),
)

CODE_SETS: tuple[str, ...] = tuple(sorted({c.code_set for t in TABLES for c in t.columns if c.code_set}))


def table(name: str) -> Table:
    for t in TABLES:
        if t.name == name:
            return t
    raise KeyError(f"no table {name!r} in the local CMS schema")


def ddl(t: Table, schema: str = SCHEMA) -> str:
    cols = ",\n    ".join(f"{c.name} {c.type}" for c in t.columns)
    return f"CREATE TABLE {schema}.{t.name} (\n    {cols}\n)"
