"""The staging interface: what every provider's clinical system delivers to the rest of the project.

This file is the contract between a source system (a folder ``source_systems/<system>/``) and
everything after staging (intermediate models, the 21 IDB marts, validation, measures). It is read
by the generators (``python -m iapt_idb.dbtgen``: the interface models and their enforced dbt
contracts), by ``iapt-idb source new`` (the scaffold of a new system) and ``iapt-idb source check``
(the checklist), and by the docs site.

For every ENTITY, the system's folder holds one staging model ``stg_<system>__<entity>`` whose
columns are exactly the entity's columns, named and typed as below, one row per source row
(duplicates and defects kept: validation reports them). A column with a ``code_set`` holds a
*local* code: the system delivers it as ``<column>_local`` (the code exactly as recorded), and its
seed ``mappings/map_<code_set>.csv`` (``local_code,national_code,local_description``) maps it to
the national code list CODE_SETS names. The interface model ``stg_<entity>`` (models/staging/)
adds ``<column>_national`` and ``is_<column>_mapped`` and carries the enforced dbt contract.

Types are the portable names of macro ``sql_type()``: string, date, timestamp, bigint, integer,
boolean.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TYPES: dict[str, str] = {
    # contract type -> the data_type dbt's contract compares on DuckDB (the default engine)
    "string": "varchar",
    "date": "date",
    "timestamp": "timestamp",
    "bigint": "bigint",
    "integer": "integer",
    "boolean": "boolean",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # a key of TYPES
    description: str
    code_set: str | None = None  # local code set (a key of CODE_SETS), or None

    @property
    def delivered(self) -> str:
        """The column's name in the system's staging model."""
        return f"{self.name}_local" if self.code_set else self.name


@dataclass(frozen=True)
class Entity:
    name: str
    description: str
    key: tuple[str, ...]
    columns: tuple[Column, ...] = field(default_factory=tuple)

    @property
    def interface_model(self) -> str:
        return f"stg_{self.name}"

    def system_model(self, system: str) -> str:
        return f"stg_{system}__{self.name}"

    def code_columns(self) -> list[Column]:
        return [c for c in self.columns if c.code_set]


def _c(name: str, type_: str, description: str, code_set: str | None = None) -> Column:
    return Column(name, type_, description, code_set)


ENTITIES: tuple[Entity, ...] = (
    Entity("patient", "One row per person known to the service.", ("patient_id",), (
        _c("patient_id", "string", "Local patient identifier, e.g. LP00000042."),
        _c("nhs_number", "string", "NHS number as held locally (10 digits; may be blank or wrong)."),
        _c("nhs_number_status", "string", "Local NHS number trace status.", "nhs_no_status"),
        _c("birth_date", "date", "Date of birth."),
        _c("sex", "string", "Stated sex/gender (local code).", "sex"),
        _c("gender_identity", "string", "Gender identity (local code).", "gender_identity"),
        _c("gender_same_as_birth", "string", "Is gender identity the same as at birth (local code).", "gender_same_as_birth"),
        _c("ethnicity", "string", "Ethnicity (local code).", "ethnicity"),
        _c("preferred_language", "string", "Preferred spoken language (local 3-letter code).", "language"),
        _c("ex_forces", "string", "Ex-British armed forces status (local code).", "ex_forces"),
        _c("education_setting", "string", "Educational establishment type if a student (local code).", "education_setting"),
        _c("registered_at_org", "string", "ODS code of the organisation that issued the local patient id."),
        _c("updated_at", "timestamp", "When the row last changed in the clinical system."),
    )),
    Entity("patient_address", "Address history; one row per address period.", ("address_id",), (
        _c("address_id", "bigint", "Surrogate key."),
        _c("patient_id", "string", "Patient."),
        _c("postcode", "string", "Postcode as typed by admin staff (case and spacing vary)."),
        _c("valid_from", "date", "First day the address applied."),
        _c("valid_to", "date", "Last day the address applied; null while current."),
    )),
    Entity("gp_registration", "GP practice registrations.", ("registration_id",), (
        _c("registration_id", "bigint", "Surrogate key."),
        _c("patient_id", "string", "Patient."),
        _c("practice_code", "string", "ODS code of the GP practice."),
        _c("registered_from", "date", "Registration start."),
        _c("registered_to", "date", "Registration end; null while registered."),
    )),
    Entity("accommodation_history", "Accommodation recorded for a patient.", ("accommodation_id",), (
        _c("accommodation_id", "bigint", "Surrogate key."),
        _c("patient_id", "string", "Patient."),
        _c("accommodation", "string", "Accommodation type (local code).", "accommodation"),
        _c("settled", "string", "Is the accommodation settled (local code).", "settled_accommodation"),
        _c("recorded_on", "date", "Date recorded."),
        _c("started_on", "date", "Date this accommodation started."),
        _c("ended_on", "date", "Date this accommodation ended."),
    )),
    Entity("employment_history", "Employment status assessments, including employment-adviser items.", ("employment_id",), (
        _c("employment_id", "bigint", "Surrogate key."),
        _c("patient_id", "string", "Patient."),
        _c("status", "string", "Employment status (local code).", "employment_status"),
        _c("recorded_on", "date", "Date the status was recorded."),
        _c("hours_band", "string", "Weekly hours worked band (local code).", "hours_band"),
        _c("self_employed", "string", "Self employed (local yes/no).", "yes_no_unknown"),
        _c("sick_leave", "string", "Off sick from work (local yes/no).", "yes_no_unknown"),
        _c("statutory_sick_pay", "string", "Receiving statutory sick pay (local yes/no).", "yes_no_unknown"),
        _c("any_benefit", "string", "Receiving any benefit (local yes/no).", "yes_no_unknown"),
        _c("esa", "string", "Receiving ESA (local yes/no).", "yes_no_unknown"),
        _c("universal_credit", "string", "Receiving Universal Credit (local yes/no).", "yes_no_unknown"),
        _c("pip", "string", "Receiving PIP (local yes/no).", "yes_no_unknown"),
        _c("employment_support_suitable", "string", "Suitable for employment support (local code).", "employment_support_suitable"),
        _c("employment_support_referred_on", "date", "Date referred to employment support."),
        _c("employment_support_discharged_on", "date", "Date discharged from employment support."),
    )),
    Entity("patient_disability", "Disabilities a patient reports.", ("disability_id",), (
        _c("disability_id", "bigint", "Surrogate key."),
        _c("patient_id", "string", "Patient."),
        _c("disability", "string", "Disability (local code).", "disability"),
    )),
    Entity("social_circumstance", "Social and personal circumstances (sexual orientation, religion, ...) as SNOMED CT concepts.", ("circumstance_id",), (
        _c("circumstance_id", "bigint", "Surrogate key."),
        _c("patient_id", "string", "Patient."),
        _c("snomed_code", "string", "SNOMED CT concept id."),
        _c("recorded_on", "date", "Date recorded."),
    )),
    Entity("overseas_visitor_status", "Overseas visitor charging categories.", ("ovs_id",), (
        _c("ovs_id", "bigint", "Surrogate key."),
        _c("patient_id", "string", "Patient."),
        _c("charging_category", "string", "Charging category (local code).", "overseas_charging"),
        _c("applies_from", "date", "Date the category applies from."),
    )),
    Entity("past_diagnosis", "Diagnoses made before the referral (medical history).", ("past_diagnosis_id",), (
        _c("past_diagnosis_id", "bigint", "Surrogate key."),
        _c("patient_id", "string", "Patient."),
        _c("coding_scheme", "string", "Coding scheme (local code).", "diagnosis_scheme"),
        _c("diagnosis_code", "string", "Diagnosis code in that scheme."),
        _c("diagnosed_on", "date", "Date of diagnosis."),
    )),
    Entity("referral", "Referrals to the talking-therapies service.", ("referral_id",), (
        _c("referral_id", "string", "Local referral identifier, e.g. RF0000000042."),
        _c("patient_id", "string", "Patient."),
        _c("commissioner_code", "string", "ODS code of the commissioner (sub-ICB)."),
        _c("received_on", "date", "Date the referral was received."),
        _c("referral_source", "string", "Source of referral (local code).", "referral_source"),
        _c("problem_onset", "string", "Month the problem began, as typed (YYYY-MM)."),
        _c("previously_diagnosed", "string", "Condition previously diagnosed (local yes/no).", "yes_no_unknown"),
        _c("discharge_reason", "string", "Reason the referral ended (local code).", "discharge_reason"),
        _c("discharged_on", "date", "Discharge date; null while open."),
    )),
    Entity("waiting_pause", "Pauses in the waiting-time clock.", ("pause_id",), (
        _c("pause_id", "bigint", "Surrogate key (unique across referrals)."),
        _c("referral_id", "string", "Referral."),
        _c("pause_number", "integer", "1, 2, ... within the referral."),
        _c("paused_from", "date", "Pause start."),
        _c("paused_to", "date", "Pause end; null while paused."),
        _c("pause_reason", "string", "Reason (local code).", "pause_reason"),
    )),
    Entity("onward_referral", "Referrals on to other services.", ("onward_referral_id",), (
        _c("onward_referral_id", "bigint", "Surrogate key."),
        _c("referral_id", "string", "Referral."),
        _c("referred_at", "timestamp", "When the onward referral was made."),
        _c("reason", "string", "Reason (local code).", "onward_referral_reason"),
        _c("receiving_org", "string", "ODS code of the receiving organisation."),
    )),
    Entity("appointment", "Appointments (care contacts), attended or not.", ("appointment_id",), (
        _c("appointment_id", "string", "Local appointment identifier, e.g. AP000000000042."),
        _c("referral_id", "string", "Referral."),
        _c("starts_at", "timestamp", "Scheduled start."),
        _c("commissioner_code", "string", "ODS code of the commissioner."),
        _c("booked", "boolean", "Was the appointment planned in advance."),
        _c("outcome", "string", "Attendance outcome (local code).", "attendance"),
        _c("duration_minutes", "integer", "Clinical contact duration in minutes."),
        _c("ltc_pathway", "boolean", "Delivered by the integrated long-term-conditions pathway."),
        _c("appointment_type", "string", "Appointment purpose (local code).", "appointment_type"),
        _c("contact_method", "string", "How the contact took place (local code).", "contact_method"),
        _c("digital_programme", "string", "Internet-enabled therapy programme used, free text."),
        _c("therapy_mode", "string", "Individual, couple or group (local code).", "therapy_mode"),
        _c("group_size", "integer", "Patients in the group session."),
        _c("group_facilitators", "integer", "Facilitators in the group session."),
        _c("psychotropic_medication", "string", "Psychotropic medication status (local code).", "psychotropic_medication"),
        _c("location_type", "string", "Type of location (local code).", "location_type"),
        _c("site_code", "string", "ODS site code of the treatment site."),
        _c("treatment_language", "string", "Language therapy was delivered in (local code).", "language"),
        _c("interpreter", "string", "Interpreter present (local code).", "interpreter"),
    )),
    Entity("appointment_intervention", "Interventions (care activities) within an appointment.", ("intervention_id",), (
        _c("intervention_id", "string", "Local intervention identifier, e.g. IV000000000042."),
        _c("appointment_id", "string", "Appointment."),
        _c("staff_id", "string", "Clinician who delivered it."),
        _c("duration_minutes", "integer", "Minutes."),
        _c("procedure_snomed", "string", "Therapy procedure, SNOMED CT concept id."),
        _c("finding_scheme", "string", "Coding scheme of finding_code (local code).", "finding_scheme"),
        _c("finding_code", "string", "Coded finding."),
        _c("observation_snomed", "string", "Observation SNOMED CT concept id."),
        _c("observation_value", "string", "Observation value."),
        _c("observation_unit", "string", "Unit of measure of the observation."),
    )),
    Entity("questionnaire_score", "Questionnaire scores (PHQ-9, GAD-7, WSAS, ADSMs, PEQ ...). Scores with an intervention_id were taken in an appointment (IDS607); others at referral level (IDS606).", ("score_id",), (
        _c("score_id", "bigint", "Surrogate key."),
        _c("referral_id", "string", "Referral."),
        _c("intervention_id", "string", "Intervention the score was taken in, if any."),
        _c("tool_snomed", "string", "SNOMED CT code of the tool or item."),
        _c("score", "string", "Score as recorded (text)."),
        _c("completed_at", "timestamp", "When the questionnaire was completed."),
    )),
    Entity("presenting_problem", "Presenting complaints of a referral.", ("problem_id",), (
        _c("problem_id", "bigint", "Surrogate key."),
        _c("referral_id", "string", "Referral."),
        _c("coding_scheme", "string", "Coding scheme (local code).", "finding_scheme"),
        _c("problem_code", "string", "Problem code in that scheme."),
        _c("significance", "string", "Primary or secondary (local code).", "problem_significance"),
        _c("recorded_on", "date", "Date recorded."),
    )),
    Entity("long_term_condition", "Long-term physical health conditions of a referral.", ("ltc_id",), (
        _c("ltc_id", "bigint", "Surrogate key."),
        _c("referral_id", "string", "Referral."),
        _c("coding_scheme", "string", "Coding scheme (local code).", "finding_scheme"),
        _c("condition_code", "string", "Condition code."),
    )),
    Entity("digital_therapy_log", "Use of internet-enabled therapy programmes.", ("log_id",), (
        _c("log_id", "bigint", "Surrogate key."),
        _c("referral_id", "string", "Referral."),
        _c("programme", "string", "Programme name."),
        _c("started_on", "date", "First day of the logged period."),
        _c("ended_on", "date", "Last day of the logged period."),
        _c("minutes", "integer", "Clinician minutes spent supporting the programme."),
        _c("staff_id", "string", "Supporting clinician."),
        _c("integrated_software", "boolean", "Programme integrated with the clinical system."),
    )),
    Entity("care_cluster_assignment", "Adult mental health care cluster assignments.", ("cluster_assignment_id",), (
        _c("cluster_assignment_id", "bigint", "Surrogate key."),
        _c("patient_id", "string", "Patient."),
        _c("care_cluster", "string", "Care cluster (local code).", "care_cluster"),
        _c("started_at", "timestamp", "Start."),
        _c("ended_at", "timestamp", "End; null while current."),
    )),
    Entity("staff", "Clinical staff.", ("staff_id",), (
        _c("staff_id", "string", "Local staff identifier, e.g. ST00042."),
        _c("job_role", "string", "Job role, free text."),
    )),
    Entity("staff_qualification", "Qualifications of clinical staff.", ("staff_qualification_id",), (
        _c("staff_qualification_id", "bigint", "Surrogate key."),
        _c("staff_id", "string", "Staff member."),
        _c("qualification", "string", "Qualification (local code).", "qualification"),
        _c("awarded_on", "date", "Date awarded."),
        _c("planned_completion_on", "date", "Planned completion date if in training."),
    )),
)

# Local code set -> the national code list (reference/spec/codelists/<list>.csv, seed ref_<list>)
# that its mapping seed map_<code_set> maps into.
CODE_SETS: dict[str, str] = {
    "accommodation": "accommodation_type",
    "appointment_type": "appointment_type_iapt",
    "attendance": "attended_or_did_not_attend",
    "care_cluster": "adult_mental_health_care_cluster_code",
    "contact_method": "consultation_mechanism_mental_health",
    "diagnosis_scheme": "diagnosis_scheme_in_use",
    "disability": "disability_code",
    "discharge_reason": "discharge_reason_iapt_end_code",
    "education_setting": "educational_establishment_type_iapt",
    "employment_status": "employment_status",
    "employment_support_suitable": "employment_support_suitability_indicator",
    "ethnicity": "ethnic_category",
    "ex_forces": "ex_british_armed_forces_indicator",
    "finding_scheme": "finding_scheme_in_use",
    "gender_identity": "gender_identity_code",
    "gender_same_as_birth": "gender_identity_same_at_birth_indicator",
    "hours_band": "weekly_hours_worked",
    "interpreter": "interpreter_present_indication_code",
    "language": "language_code",
    "location_type": "activity_location_type_code",
    "nhs_no_status": "nhs_number_status_indicator_code",
    "onward_referral_reason": "onward_referral_reason_iapt",
    "overseas_charging": "overseas_visitor_charging_category",
    "pause_reason": "activity_suspension_reason_iapt",
    "problem_significance": "presenting_complaint_coding_significance",
    "psychotropic_medication": "psychotropic_medication_usage_indication_code",
    "qualification": "qualification_attainment_level_iapt",
    "referral_source": "source_of_referral_iapt",
    "settled_accommodation": "settled_accommodation_indicator",
    "sex": "person_stated_gender_code",
    "therapy_mode": "care_contact_patient_therapy_mode",
    # One yes/no set feeds eight IDB indicators. It maps into the Y/N/U/Z list they mostly share;
    # SelfEmployInd and SickAbsenceInd spell "not known" X, so the IDS004 mart recodes U -> X for
    # those two (macro not_known_as_x).
    "yes_no_unknown": "benefit_receipt_indicators_yn_u_z",
}

# Seeds every system provides besides map_<code_set>: name -> (columns, meaning).
EXTRA_SEEDS: dict[str, tuple[tuple[str, ...], str]] = {
    "attendance_short_notice_cancellation": (
        ("local_code", "short_notice_indicator", "local_description"),
        "the local attendance outcomes (code set attendance) that map to AttendOrDNACode 2 (cancelled by "
        "the patient), each with Y for a short-notice cancellation or N",
    ),
}

DEFAULT_SYSTEM = "lumen_cms"


def entity(name: str) -> Entity:
    for e in ENTITIES:
        if e.name == name:
            return e
    raise KeyError(f"no entity {name!r} in the staging contract (scripts/iapt_idb/contract.py)")


def code_set_columns() -> dict[str, list[tuple[Entity, Column]]]:
    """Code set -> the contract columns that hold its local codes."""
    out: dict[str, list[tuple[Entity, Column]]] = {s: [] for s in CODE_SETS}
    for e in ENTITIES:
        for c in e.code_columns():
            out[c.code_set].append((e, c))  # type: ignore[index]
    return out
