"""Where each IDB column comes from: the one table the generators read.

Lineage is written in terms of the staging contract (scripts/iapt_idb/contract.py), never of one
source system: ``<entity>.<column>`` names a contract column, whichever system delivers it.

* ``COLUMN_LINEAGE`` — IDB ``Table.Column`` -> (contract columns, local code set or None, how).
* ``MART_INCLUSION`` — IDB table -> (contract entities feeding it, inclusion rule in words).

The mart YAML (descriptions, ``meta.source_columns``, ``meta.mapping_seed``), the mapping-seed
YAML and the build summary are all generated from these tables.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Lineage:
    sources: tuple[str, ...]  # contract "entity.column"; empty when nothing local feeds it
    code_set: str | None  # local code set mapped through the system's mappings/map_<code_set>.csv
    how: str  # one line: the transformation, for the column description


def _l(sources: str, code_set: str | None = None, how: str = "copied") -> Lineage:
    return Lineage(tuple(s for s in sources.split() if s), code_set, how)


_MAPPED = "local code mapped to the national code; an unmapped local code is submitted unchanged"
_ASAT = "copied; a date after the reporting period end is submitted empty (not yet happened at period end)"

COLUMN_LINEAGE: dict[str, Lineage] = {
    "IDS000Header.DatSetVer": _l("", how="dbt var dataset_version"),
    "IDS000Header.OrgIDProv": _l("", how="dbt var provider_ods_code"),
    "IDS000Header.OrgIDSubmit": _l("", how="dbt var submitter_ods_code"),
    "IDS000Header.PrimSystemInUse": _l("", how="the source system's label (meta.system_label of its dbt source), or dbt var primary_system_in_use"),
    "IDS000Header.ReportingPeriodStartDate": _l("", how="first day of dbt var period"),
    "IDS000Header.ReportingPeriodEndDate": _l("", how="last day of dbt var period"),
    "IDS000Header.DateTimeDatSetCreate": _l(
        "", how="dbt var dataset_created_at; when empty, the build time truncated to seconds"
    ),
    "IDS001MPI.LocalPatientId": _l("patient.patient_id"),
    "IDS001MPI.OrgIDLocalPatientId": _l("patient.registered_at_org"),
    "IDS001MPI.NHSNumber": _l("patient.nhs_number", how="copied as text (never printed in logs)"),
    "IDS001MPI.NHSNumberStatus": _l("patient.nhs_number_status", "nhs_no_status", _MAPPED),
    "IDS001MPI.PersonBirthDate": _l("patient.birth_date"),
    "IDS001MPI.Postcode": _l(
        "patient_address.postcode patient_address.valid_from patient_address.valid_to",
        how="postcode of the address current at the period end, upper-cased with one space before the inward code",
    ),
    "IDS001MPI.Gender": _l("patient.sex", "sex", _MAPPED),
    "IDS001MPI.GenderIdentity": _l("patient.gender_identity", "gender_identity", _MAPPED),
    "IDS001MPI.GenderIdentitySameAtBirth": _l("patient.gender_same_as_birth", "gender_same_as_birth", _MAPPED),
    "IDS001MPI.EthnicCategory": _l("patient.ethnicity", "ethnicity", _MAPPED),
    "IDS001MPI.EthnicCategory2021": _l("", how="not in the staging contract (pilot item): submitted empty"),
    "IDS001MPI.ExBAFIndicator": _l("patient.ex_forces", "ex_forces", _MAPPED),
    "IDS001MPI.LanguageCodePreferred": _l("patient.preferred_language", "language", _MAPPED),
    "IDS001MPI.EduEstabTypeIAPT": _l("patient.education_setting", "education_setting", _MAPPED),
    "IDS002GP.LocalPatientId": _l("gp_registration.patient_id"),
    "IDS002GP.GMPCodeReg": _l("gp_registration.practice_code"),
    "IDS002GP.StartDateGMPRegistration": _l("gp_registration.registered_from"),
    "IDS002GP.EndDateGMPRegistration": _l("gp_registration.registered_to", how=_ASAT),
    "IDS003AccommStatus.LocalPatientId": _l("accommodation_history.patient_id"),
    "IDS003AccommStatus.AccommodationType": _l("accommodation_history.accommodation", "accommodation", _MAPPED),
    "IDS003AccommStatus.SettledAccommodationInd": _l(
        "accommodation_history.settled", "settled_accommodation", _MAPPED
    ),
    "IDS003AccommStatus.AccommodationTypeDate": _l("accommodation_history.recorded_on"),
    "IDS003AccommStatus.AccommodationTypeStartDate": _l("accommodation_history.started_on"),
    "IDS003AccommStatus.AccommodationTypeEndDate": _l("accommodation_history.ended_on", how=_ASAT),
    "IDS004EmpStatus.LocalPatientId": _l("employment_history.patient_id"),
    "IDS004EmpStatus.EmployStatus": _l("employment_history.status", "employment_status", _MAPPED),
    "IDS004EmpStatus.EmployStatusRecDate": _l("employment_history.recorded_on"),
    "IDS004EmpStatus.WeekHoursWorked": _l("employment_history.hours_band", "hours_band", _MAPPED),
    "IDS004EmpStatus.SelfEmployInd": _l(
        "employment_history.self_employed", "yes_no_unknown", _MAPPED + "; national U (not known) is submitted as X"
    ),
    "IDS004EmpStatus.SickAbsenceInd": _l(
        "employment_history.sick_leave", "yes_no_unknown", _MAPPED + "; national U (not known) is submitted as X"
    ),
    "IDS004EmpStatus.SSPInd": _l("employment_history.statutory_sick_pay", "yes_no_unknown", _MAPPED),
    "IDS004EmpStatus.BenefitRecInd": _l("employment_history.any_benefit", "yes_no_unknown", _MAPPED),
    "IDS004EmpStatus.ESAInd": _l("employment_history.esa", "yes_no_unknown", _MAPPED),
    "IDS004EmpStatus.UCInd": _l("employment_history.universal_credit", "yes_no_unknown", _MAPPED),
    "IDS004EmpStatus.PIPInd": _l("employment_history.pip", "yes_no_unknown", _MAPPED),
    "IDS004EmpStatus.EmpSupportInd": _l(
        "employment_history.employment_support_suitable", "employment_support_suitable", _MAPPED
    ),
    "IDS004EmpStatus.EmpSupportReferral": _l("employment_history.employment_support_referred_on", how=_ASAT),
    "IDS004EmpStatus.EmpSupportDischargeDate": _l("employment_history.employment_support_discharged_on", how=_ASAT),
    "IDS007DisabilityType.LocalPatientId": _l("patient_disability.patient_id"),
    "IDS007DisabilityType.DisabCode": _l("patient_disability.disability", "disability", _MAPPED),
    "IDS011SocPerCircumstances.LocalPatientId": _l("social_circumstance.patient_id"),
    "IDS011SocPerCircumstances.SocPerCircumstance": _l("social_circumstance.snomed_code"),
    "IDS011SocPerCircumstances.SocPerCircumstanceRecDate": _l("social_circumstance.recorded_on"),
    "IDS012OverseasVisitorChargCat.LocalPatientId": _l("overseas_visitor_status.patient_id"),
    "IDS012OverseasVisitorChargCat.OvsVisChCat": _l(
        "overseas_visitor_status.charging_category", "overseas_charging", _MAPPED
    ),
    "IDS012OverseasVisitorChargCat.OvsVisChCatAppDate": _l("overseas_visitor_status.applies_from"),
    "IDS101Referral.ServiceRequestId": _l("referral.referral_id"),
    "IDS101Referral.LocalPatientId": _l("referral.patient_id"),
    "IDS101Referral.OrgIDComm": _l("referral.commissioner_code"),
    "IDS101Referral.ReferralRequestReceivedDate": _l("referral.received_on"),
    "IDS101Referral.SourceOfReferralIAPT": _l("referral.referral_source", "referral_source", _MAPPED),
    "IDS101Referral.OnsetDate": _l("referral.problem_onset", how="copied as typed (YYYY-MM text)"),
    "IDS101Referral.PrevDiagCondInd": _l("referral.previously_diagnosed", "yes_no_unknown", _MAPPED),
    "IDS101Referral.EndCode": _l(
        "referral.discharge_reason referral.discharged_on",
        "discharge_reason",
        _MAPPED + "; empty while the referral was still open at the period end",
    ),
    "IDS101Referral.ServDischDate": _l("referral.discharged_on", how=_ASAT),
    "IDS105OnwardReferral.ServiceRequestId": _l("onward_referral.referral_id"),
    "IDS105OnwardReferral.OnwardReferDate": _l("onward_referral.referred_at", how="date part"),
    "IDS105OnwardReferral.OnwardReferTime": _l("onward_referral.referred_at", how="time part"),
    "IDS105OnwardReferral.OnwardReferReason": _l("onward_referral.reason", "onward_referral_reason", _MAPPED),
    "IDS105OnwardReferral.OrgIDReceiving": _l("onward_referral.receiving_org"),
    "IDS108WaitingTimePauses.PauseID": _l("waiting_pause.pause_number", how="pause number within the referral, as text"),
    "IDS108WaitingTimePauses.ServiceRequestId": _l("waiting_pause.referral_id"),
    "IDS108WaitingTimePauses.PauseStartDate": _l("waiting_pause.paused_from"),
    "IDS108WaitingTimePauses.PauseEndDate": _l("waiting_pause.paused_to", how=_ASAT),
    "IDS108WaitingTimePauses.PauseReason": _l("waiting_pause.pause_reason", "pause_reason", _MAPPED),
    "IDS201CareContact.CareContactId": _l("appointment.appointment_id"),
    "IDS201CareContact.ServiceRequestId": _l("appointment.referral_id"),
    "IDS201CareContact.CareContDate": _l("appointment.starts_at", how="date part"),
    "IDS201CareContact.CareContTime": _l("appointment.starts_at", how="time part"),
    "IDS201CareContact.OrgIDComm": _l("appointment.commissioner_code"),
    "IDS201CareContact.PlannedCareContIndicator": _l("appointment.booked", how="true -> Y, false -> N"),
    "IDS201CareContact.AttendOrDNACode": _l("appointment.outcome", "attendance", _MAPPED),
    "IDS201CareContact.Cancellation": _l(
        "appointment.outcome",
        how=(
            "for patient cancellations (AttendOrDNACode 2) Y or N from seed attendance_short_notice_cancellation; "
            "empty for every other outcome"
        ),
    ),
    "IDS201CareContact.ClinContDurOfCareCont": _l("appointment.duration_minutes"),
    "IDS201CareContact.IAPTLTCServiceInd": _l("appointment.ltc_pathway", how="true -> Y, false -> N"),
    "IDS201CareContact.AppType": _l("appointment.appointment_type", "appointment_type", _MAPPED),
    "IDS201CareContact.ConsMechanism": _l("appointment.contact_method", "contact_method", _MAPPED),
    "IDS201CareContact.IntEnabledTherProg": _l("appointment.digital_programme"),
    "IDS201CareContact.CareContPatientTherMode": _l("appointment.therapy_mode", "therapy_mode", _MAPPED),
    "IDS201CareContact.NumGroupTherParticipants": _l("appointment.group_size"),
    "IDS201CareContact.NumGroupTherFacilitators": _l("appointment.group_facilitators"),
    "IDS201CareContact.PsychMed": _l("appointment.psychotropic_medication", "psychotropic_medication", _MAPPED),
    "IDS201CareContact.ActLocTypeCode": _l("appointment.location_type", "location_type", _MAPPED),
    "IDS201CareContact.SiteIDOfTreat": _l("appointment.site_code"),
    "IDS201CareContact.LanguageCodeTreat": _l("appointment.treatment_language", "language", _MAPPED),
    "IDS201CareContact.InterpreterPresentInd": _l("appointment.interpreter", "interpreter", _MAPPED),
    "IDS202CareActivity.CareActId": _l("appointment_intervention.intervention_id"),
    "IDS202CareActivity.CareContactId": _l("appointment_intervention.appointment_id"),
    "IDS202CareActivity.CarePersLocalId": _l("appointment_intervention.staff_id"),
    "IDS202CareActivity.ClinContactDurOfCareAct": _l("appointment_intervention.duration_minutes"),
    "IDS202CareActivity.CodeProcAndProcStatus": _l("appointment_intervention.procedure_snomed"),
    "IDS202CareActivity.FindSchemeInUse": _l("appointment_intervention.finding_scheme", "finding_scheme", _MAPPED),
    "IDS202CareActivity.CodeFind": _l("appointment_intervention.finding_code"),
    "IDS202CareActivity.CodeObs": _l("appointment_intervention.observation_snomed"),
    "IDS202CareActivity.ObsValue": _l("appointment_intervention.observation_value"),
    "IDS202CareActivity.UnitMeasure": _l("appointment_intervention.observation_unit"),
    "IDS205InternetTherLog.ServiceRequestId": _l("digital_therapy_log.referral_id"),
    "IDS205InternetTherLog.StartDateIntEnabledTherLog": _l("digital_therapy_log.started_on"),
    "IDS205InternetTherLog.EndDateIntEnabledTherLog": _l("digital_therapy_log.ended_on"),
    "IDS205InternetTherLog.IntEnabledTherProg": _l("digital_therapy_log.programme"),
    "IDS205InternetTherLog.DurationIntEnabledTher": _l("digital_therapy_log.minutes"),
    "IDS205InternetTherLog.CarePersLocalId": _l("digital_therapy_log.staff_id"),
    "IDS205InternetTherLog.IntegratedSoftwareInd": _l(
        "digital_therapy_log.integrated_software", how="true -> Y, false -> N"
    ),
    "IDS601MedHistPrevDiag.LocalPatientId": _l("past_diagnosis.patient_id"),
    "IDS601MedHistPrevDiag.DiagSchemeInUse": _l("past_diagnosis.coding_scheme", "diagnosis_scheme", _MAPPED),
    "IDS601MedHistPrevDiag.PrevDiag": _l("past_diagnosis.diagnosis_code"),
    "IDS601MedHistPrevDiag.DiagDate": _l("past_diagnosis.diagnosed_on"),
    "IDS602LongTermCondition.ServiceRequestId": _l("long_term_condition.referral_id"),
    "IDS602LongTermCondition.FindSchemeInUse": _l("long_term_condition.coding_scheme", "finding_scheme", _MAPPED),
    "IDS602LongTermCondition.LongTermCondition": _l("long_term_condition.condition_code"),
    "IDS603PresentingComplaints.ServiceRequestId": _l("presenting_problem.referral_id"),
    "IDS603PresentingComplaints.FindSchemeInUse": _l("presenting_problem.coding_scheme", "finding_scheme", _MAPPED),
    "IDS603PresentingComplaints.PresComp": _l("presenting_problem.problem_code"),
    "IDS603PresentingComplaints.PresCompCodSig": _l(
        "presenting_problem.significance", "problem_significance", _MAPPED
    ),
    "IDS603PresentingComplaints.PresCompDate": _l("presenting_problem.recorded_on"),
    "IDS606CodedScoreAssessmentRefer.ServiceRequestId": _l("questionnaire_score.referral_id"),
    "IDS606CodedScoreAssessmentRefer.CodedAssToolType": _l("questionnaire_score.tool_snomed"),
    "IDS606CodedScoreAssessmentRefer.PersScore": _l("questionnaire_score.score"),
    "IDS606CodedScoreAssessmentRefer.AssToolCompDate": _l("questionnaire_score.completed_at", how="date part"),
    "IDS606CodedScoreAssessmentRefer.AssToolCompTime": _l("questionnaire_score.completed_at", how="time part"),
    "IDS607CodedScoreAssessmentAct.CareActId": _l("questionnaire_score.intervention_id"),
    "IDS607CodedScoreAssessmentAct.CodedAssToolType": _l("questionnaire_score.tool_snomed"),
    "IDS607CodedScoreAssessmentAct.PersScore": _l("questionnaire_score.score"),
    "IDS803CareCluster.LocalPatientId": _l("care_cluster_assignment.patient_id"),
    "IDS803CareCluster.AMHCareClustCodeFin": _l("care_cluster_assignment.care_cluster", "care_cluster", _MAPPED),
    "IDS803CareCluster.StartDateCareClust": _l("care_cluster_assignment.started_at", how="date part"),
    "IDS803CareCluster.StartTimeCareClust": _l("care_cluster_assignment.started_at", how="time part"),
    "IDS803CareCluster.EndDateCareClust": _l("care_cluster_assignment.ended_at", how="date part; " + _ASAT),
    "IDS803CareCluster.EndTimeCareClust": _l("care_cluster_assignment.ended_at", how="time part; empty with the end date"),
    "IDS902CarePersQual.CarePersLocalId": _l("staff_qualification.staff_id"),
    "IDS902CarePersQual.QualAttainLevelIAPT": _l("staff_qualification.qualification", "qualification", _MAPPED),
    "IDS902CarePersQual.QualAwardedDate": _l("staff_qualification.awarded_on"),
    "IDS902CarePersQual.QualPlannedCompletionDate": _l(
        "staff_qualification.planned_completion_on",
        how="copied while the qualification is in training; empty once it has been awarded by the period end",
    ),
}


@dataclass(frozen=True)
class MartInclusion:
    staging: tuple[str, ...]  # contract entities (interface models stg_<entity>) whose rows feed the mart
    staging_filter: str  # SQL predicate on the staging model selecting the rows that could feed it ('' = all)
    rule: str  # inclusion rule, in words


_ORPHANS = (
    "Rows whose parent is missing from the warehouse are kept (orphans), so validation reports them."
)

MART_INCLUSION: dict[str, MartInclusion] = {
    "IDS000Header": MartInclusion((), "", "Exactly one row, built from the dbt vars of the run."),
    "IDS001MPI": MartInclusion(
        ("patient",), "",
        "Patients with at least one in-scope referral (int_referrals__scoped). Duplicate patient rows are kept.",
    ),
    "IDS002GP": MartInclusion(
        ("gp_registration",), "",
        "GP registrations of in-scope patients that overlap the reporting period (start on or before the period "
        "end, end empty or on/after the period start). An end date after the period end is submitted empty "
        "(rule IDS00215). " + _ORPHANS,
    ),
    "IDS003AccommStatus": MartInclusion(
        ("accommodation_history",), "",
        "Accommodation recorded on or before the period end for in-scope patients (the history as known at the "
        "period end; an end date after the period end is submitted empty). " + _ORPHANS,
    ),
    "IDS004EmpStatus": MartInclusion(
        ("employment_history",), "",
        "Employment statuses recorded on or before the period end (rule IDS00436) for in-scope patients. "
        "Employment-support referral and discharge dates after the period end are submitted empty (IDS00437). "
        + _ORPHANS,
    ),
    "IDS007DisabilityType": MartInclusion(
        ("patient_disability",), "", "All disabilities of in-scope patients (undated). " + _ORPHANS
    ),
    "IDS011SocPerCircumstances": MartInclusion(
        ("social_circumstance",), "",
        "Circumstances recorded on or before the period end (IDS01107) for in-scope patients; rows with no "
        "recorded date are kept. " + _ORPHANS,
    ),
    "IDS012OverseasVisitorChargCat": MartInclusion(
        ("overseas_visitor_status",), "",
        "Charging categories applicable from on or before the period end (IDS01209) for in-scope patients; rows "
        "with no date are kept. " + _ORPHANS,
    ),
    "IDS101Referral": MartInclusion(
        ("referral",), "",
        "In-scope referrals (int_referrals__scoped): received on or before the period end and not discharged "
        "before the period start; or discharged before the period start with activity dated in the period "
        "(rule IDS10129 then checks it is follow-up activity). A discharge after the period end is submitted as "
        "still open (empty ServDischDate and EndCode, rule IDS10139).",
    ),
    "IDS105OnwardReferral": MartInclusion(
        ("onward_referral",), "",
        "Onward referrals made in the reporting period (IDS10505, IDS10522), whatever their referral's scope, so "
        "an onward referral whose referral is missing reaches validation as an orphan.",
    ),
    "IDS108WaitingTimePauses": MartInclusion(
        ("waiting_pause",), "",
        "Pauses overlapping the reporting period (start on or before the period end, end empty or on/after the "
        "period start); an end after the period end is submitted empty (IDS10812).",
    ),
    "IDS201CareContact": MartInclusion(
        ("appointment",), "",
        "Appointments dated in the reporting period (IDS20108, IDS20170), attended or not. Their referrals are "
        "in scope by construction; an appointment whose referral is missing reaches validation as an orphan.",
    ),
    "IDS202CareActivity": MartInclusion(
        ("appointment_intervention",), "",
        "Interventions of the period's care contacts (IDS201). " + _ORPHANS,
    ),
    "IDS205InternetTherLog": MartInclusion(
        ("digital_therapy_log",), "",
        "Internet-enabled therapy logs whose logged period ends in the reporting period (start and end may not "
        "be after the period end, end not before its start: IDS20506, IDS20509, IDS20510), so each log is "
        "submitted once, in the month it closes. Logs with no end date are kept once started.",
    ),
    "IDS601MedHistPrevDiag": MartInclusion(
        ("past_diagnosis",), "",
        "Previous diagnoses of in-scope patients made on or before the period end; undated rows are kept. "
        + _ORPHANS,
    ),
    "IDS602LongTermCondition": MartInclusion(
        ("long_term_condition",), "", "Long-term conditions of in-scope referrals (undated). " + _ORPHANS
    ),
    "IDS603PresentingComplaints": MartInclusion(
        ("presenting_problem",), "",
        "Presenting complaints of in-scope referrals recorded on or before the period end (IDS60314); undated "
        "rows are kept. " + _ORPHANS,
    ),
    "IDS606CodedScoreAssessmentRefer": MartInclusion(
        ("questionnaire_score",), "intervention_id is null",
        "Referral-level scores (no intervention) completed in the reporting period (IDS60610, IDS60618).",
    ),
    "IDS607CodedScoreAssessmentAct": MartInclusion(
        ("questionnaire_score",), "intervention_id is not null",
        "Scores taken in an intervention of the period's care activities (IDS202). " + _ORPHANS,
    ),
    "IDS803CareCluster": MartInclusion(
        ("care_cluster_assignment",), "",
        "Care-cluster assignments of in-scope patients overlapping the reporting period; an end after the period "
        "end is submitted empty, end time included (IDS80316). " + _ORPHANS,
    ),
    "IDS902CarePersQual": MartInclusion(
        ("staff_qualification",), "",
        "Qualifications of staff active in the period (named on a care activity IDS202 or therapy log IDS205 of "
        "this submission), awarded on or before the period end or still in training (IDS90207). The planned "
        "completion date is submitted only while the qualification is in training (IDS90209).",
    ),
}
