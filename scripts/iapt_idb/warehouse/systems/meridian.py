"""The synthetic "Meridian EPR": the Lumen CMS content of a seed, written in another vendor's shape.

Meridian EPR is a second synthetic clinical system with the same patients, pathways and injected
defects as Lumen CMS for the same seed, patient count, period and defect rate, but its own shape
(schema ``epr``):

* patient and referral details merged into one ``episode`` table (one row per referral, the client's
  details repeated on each; a client with no referral has one registration-only episode);
* GP registration and accommodation kept as a current value (``client_gp``, ``client_accommodation``)
  plus a change log of the ended ones (``client_gp_log``, ``client_accommodation_log``);
* questionnaires as a header per completed questionnaire (``assessment``) and one row per item or
  score (``assessment_answer``);
* its own table and column names, its own local codes (numeric, in
  ``source_systems/meridian_epr/mappings/``, mapping to the same national codes as Lumen's), yes/no
  flags as ``Y``/``N`` text, and timestamps as Unix epoch seconds or as a date plus a ``HH:MM:SS`` time.

Every identifier (client, episode, contact, activity, surrogate keys) keeps its Lumen value, so the IDB
built from either system is the same row for row. A local code that Lumen's seed does not map (an
injected ``unmapped_code`` defect) is written unchanged: it is unmapped in Meridian too.

The reshape is DuckDB SQL over the Lumen warehouse attached read-only, so it scales with it.
"""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb

from ...paths import MAPPING_SEEDS_DIR, SOURCE_SYSTEMS_DIR
from .. import schema as lumen

NAME = "meridian_epr"
SCHEMA = "epr"
MERIDIAN_MAPPINGS = SOURCE_SYSTEMS_DIR / NAME / "mappings"


class CodeTranslationError(Exception):
    """Meridian's mapping seeds do not pair with Lumen's (same national codes, same order)."""


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def code_translation(lumen_dir: Path = MAPPING_SEEDS_DIR, meridian_dir: Path = MERIDIAN_MAPPINGS) -> dict[str, dict[str, str]]:
    """Code set -> {Lumen local code: Meridian local code}, pairing the two systems' seeds row by row."""
    out: dict[str, dict[str, str]] = {}
    for code_set in lumen.CODE_SETS:
        name = f"map_{code_set}.csv"
        if not (meridian_dir / name).is_file():
            raise CodeTranslationError(f"Meridian EPR mapping seed {meridian_dir / name} is missing")
        ours, theirs = _read(lumen_dir / name), _read(meridian_dir / name)
        if [r["national_code"] for r in ours] != [r["national_code"] for r in theirs]:
            raise CodeTranslationError(
                f"{meridian_dir / name} does not pair with {lumen_dir / name}: each row must map the same "
                "national code as Lumen's row at the same position")
        out[code_set] = {a["local_code"]: b["local_code"] for a, b in zip(ours, theirs)}
    return out


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class _Recoder:
    def __init__(self, translation: dict[str, dict[str, str]]) -> None:
        self.translation = translation

    def __call__(self, column: str, code_set: str) -> str:
        """SQL: the Meridian code of a Lumen local code; an unmapped (or null) code unchanged."""
        pairs = self.translation[code_set]
        whens = " ".join(f"when {_sql_text(a)} then {_sql_text(b)}" for a, b in pairs.items())
        return f"case {column} {whens} else {column} end"


def _epoch(column: str) -> str:
    return f"cast(epoch({column}) as bigint)"


def _yn(column: str) -> str:
    return f"case when {column} then 'Y' when not {column} then 'N' end"


def _statements(r: _Recoder) -> list[tuple[str, str]]:
    """(Meridian table, its SELECT over the attached Lumen warehouse ``lw``), in writing order."""
    cms = "lw.cms"
    return [
        ("episode", f"""
            select p.patient_id as client_id, p.nhs_no as nhs_num,
                {r('p.nhs_no_status', 'nhs_no_status')} as nhs_trace_status_cd,
                p.date_of_birth as birth_dt, {r('p.sex', 'sex')} as sex_cd,
                {r('p.gender_identity', 'gender_identity')} as gender_identity_cd,
                {r('p.gender_same_as_birth', 'gender_same_as_birth')} as gender_as_birth_cd,
                {r('p.ethnicity', 'ethnicity')} as ethnic_cd,
                {r('p.preferred_language', 'language')} as first_language_cd,
                {r('p.ex_forces', 'ex_forces')} as veteran_cd,
                {r('p.education_setting', 'education_setting')} as education_cd,
                p.registered_at_org as id_issuer_ods, {_epoch('p.updated_at')} as client_modified_epoch,
                case when f.rn is null then 'REG' else 'REF' end as episode_kind,
                f.referral_id as episode_ref, f.commissioner_code as commissioner_ods,
                f.received_on as referral_recv_dt, {r('f.referral_source', 'referral_source')} as referrer_cd,
                f.problem_onset as onset_text,
                {r('f.previously_diagnosed', 'yes_no_unknown')} as prior_dx_cd,
                {r('f.discharge_reason', 'discharge_reason')} as closure_cd, f.discharged_on as closure_dt
            from (select rowid as rn, * from {cms}.patient) as p
            left join (select rowid as rn, * from {cms}.referral) as f on f.patient_id = p.patient_id
            order by p.rn, f.rn"""),
        ("client_address", f"""
            select address_id as addr_key, patient_id as client_id, postcode as post_code,
                valid_from as from_dt, valid_to as to_dt
            from {cms}.patient_address order by rowid"""),
        ("client_gp", f"""
            select registration_id as gp_reg_key, patient_id as client_id, practice_code as practice_ods,
                registered_from as since_dt
            from {cms}.gp_registration where registered_to is null order by rowid"""),
        ("client_gp_log", f"""
            select registration_id as gp_reg_key, patient_id as client_id, practice_code as practice_ods,
                registered_from as from_dt, registered_to as to_dt
            from {cms}.gp_registration where registered_to is not null order by rowid"""),
        ("client_accommodation", f"""
            select accommodation_id as accom_key, patient_id as client_id,
                {r('accommodation', 'accommodation')} as accom_cd,
                {r('settled', 'settled_accommodation')} as settled_cd, recorded_on as recorded_dt,
                started_on as since_dt
            from {cms}.accommodation_history where ended_on is null order by rowid"""),
        ("client_accommodation_log", f"""
            select accommodation_id as accom_key, patient_id as client_id,
                {r('accommodation', 'accommodation')} as accom_cd,
                {r('settled', 'settled_accommodation')} as settled_cd, recorded_on as recorded_dt,
                started_on as from_dt, ended_on as to_dt
            from {cms}.accommodation_history where ended_on is not null order by rowid"""),
        ("employment_review", f"""
            select employment_id as review_key, patient_id as client_id,
                {r('status', 'employment_status')} as emp_status_cd, recorded_on as review_dt,
                {r('hours_band', 'hours_band')} as hours_cd,
                {r('self_employed', 'yes_no_unknown')} as self_employed_cd,
                {r('sick_leave', 'yes_no_unknown')} as off_sick_cd,
                {r('statutory_sick_pay', 'yes_no_unknown')} as ssp_cd,
                {r('any_benefit', 'yes_no_unknown')} as any_benefit_cd,
                {r('esa', 'yes_no_unknown')} as esa_cd,
                {r('universal_credit', 'yes_no_unknown')} as uc_cd,
                {r('pip', 'yes_no_unknown')} as pip_cd,
                {r('employment_support_suitable', 'employment_support_suitable')} as ea_suitable_cd,
                employment_support_referred_on as ea_referred_dt,
                employment_support_discharged_on as ea_discharged_dt
            from {cms}.employment_history order by rowid"""),
        ("client_disability", f"""
            select disability_id as disab_key, patient_id as client_id,
                {r('disability', 'disability')} as disab_cd
            from {cms}.patient_disability order by rowid"""),
        ("client_circumstance", f"""
            select circumstance_id as circ_key, patient_id as client_id, snomed_code as sct_concept,
                recorded_on as recorded_dt
            from {cms}.social_circumstance order by rowid"""),
        ("client_ovs", f"""
            select ovs_id as ovs_key, patient_id as client_id,
                {r('charging_category', 'overseas_charging')} as charge_cat_cd, applies_from as from_dt
            from {cms}.overseas_visitor_status order by rowid"""),
        ("client_history_dx", f"""
            select past_diagnosis_id as hist_key, patient_id as client_id,
                {r('coding_scheme', 'diagnosis_scheme')} as scheme_cd, diagnosis_code as dx_code,
                diagnosed_on as dx_dt
            from {cms}.past_diagnosis order by rowid"""),
        ("clock_pause", f"""
            select pause_id as pause_key, referral_id as episode_ref, pause_number as pause_seq,
                paused_from as pause_start_dt, paused_to as pause_end_dt,
                {r('pause_reason', 'pause_reason')} as pause_reason_cd
            from {cms}.waiting_pause order by rowid"""),
        ("onward_ref", f"""
            select onward_referral_id as onward_key, referral_id as episode_ref,
                {_epoch('referred_at')} as referred_epoch,
                {r('reason', 'onward_referral_reason')} as onward_reason_cd, receiving_org as receiver_ods
            from {cms}.onward_referral order by rowid"""),
        ("contact", f"""
            select appointment_id as contact_ref, referral_id as episode_ref,
                cast(starts_at as date) as contact_dt, strftime(starts_at, '%H:%M:%S') as contact_tm,
                commissioner_code as commissioner_ods, {_yn('booked')} as planned_yn,
                {r('outcome', 'attendance')} as attendance_cd, duration_minutes as contact_mins,
                {_yn('ltc_pathway')} as ltc_yn, {r('appointment_type', 'appointment_type')} as contact_type_cd,
                {r('contact_method', 'contact_method')} as medium_cd, digital_programme as digital_product,
                {r('therapy_mode', 'therapy_mode')} as mode_cd, group_size as group_patients,
                group_facilitators as group_staff,
                {r('psychotropic_medication', 'psychotropic_medication')} as psychotropic_cd,
                {r('location_type', 'location_type')} as location_cd, site_code as site_ods,
                {r('treatment_language', 'language')} as therapy_language_cd,
                {r('interpreter', 'interpreter')} as interpreter_cd
            from {cms}.appointment order by rowid"""),
        ("contact_activity", f"""
            select intervention_id as activity_ref, appointment_id as contact_ref, staff_id as clinician_ref,
                duration_minutes as activity_mins, procedure_snomed as procedure_sct,
                {r('finding_scheme', 'finding_scheme')} as finding_scheme_cd, finding_code,
                observation_snomed as observation_sct, observation_value, observation_unit as observation_uom
            from {cms}.appointment_intervention order by rowid"""),
        # one assessment per (referral, intervention, completion time), numbered in order of first answer
        ("assessment", f"""
            select dense_rank() over (order by first_rn) as assessment_key, referral_id as episode_ref,
                intervention_id as activity_ref, {_epoch('completed_at')} as completed_epoch
            from (
                select referral_id, intervention_id, completed_at, min(rowid) as first_rn
                from {cms}.questionnaire_score group by all
            ) as q
            order by first_rn"""),
        ("assessment_answer", f"""
            select s.score_id as answer_key, dense_rank() over (order by s.first_rn) as assessment_key,
                s.tool_snomed as item_sct, s.score as answer_text
            from (
                select rowid as rn, score_id, tool_snomed, score,
                    min(rowid) over (partition by referral_id, intervention_id, completed_at) as first_rn
                from {cms}.questionnaire_score
            ) as s
            order by s.rn"""),
        ("episode_problem", f"""
            select problem_id as problem_key, referral_id as episode_ref,
                {r('coding_scheme', 'finding_scheme')} as scheme_cd, problem_code,
                {r('significance', 'problem_significance')} as rank_cd, recorded_on as recorded_dt
            from {cms}.presenting_problem order by rowid"""),
        ("episode_ltc", f"""
            select ltc_id as ltc_key, referral_id as episode_ref,
                {r('coding_scheme', 'finding_scheme')} as scheme_cd, condition_code
            from {cms}.long_term_condition order by rowid"""),
        ("digital_log", f"""
            select log_id as log_key, referral_id as episode_ref, programme as product_name,
                started_on as from_dt, ended_on as to_dt, minutes as support_mins, staff_id as clinician_ref,
                {_yn('integrated_software')} as integrated_yn
            from {cms}.digital_therapy_log order by rowid"""),
        ("client_cluster", f"""
            select cluster_assignment_id as cluster_key, patient_id as client_id,
                {r('cluster', 'care_cluster')} as cluster_cd, {_epoch('started_at')} as start_epoch,
                {_epoch('ended_at')} as end_epoch
            from {cms}.care_cluster_assignment order by rowid"""),
        ("clinician", f"select staff_id as clinician_ref, role as job_title from {cms}.staff order by rowid"),
        ("clinician_qual", f"""
            select staff_qualification_id as qual_key, staff_id as clinician_ref,
                {r('qualification', 'qualification')} as qual_cd, awarded_on as awarded_dt,
                planned_completion_on as expected_dt
            from {cms}.staff_qualification order by rowid"""),
        # the generator's bookkeeping: record keys are the same in both systems
        (lumen.DEFECT_LOG_TABLE.name, f"select * from {cms}.{lumen.DEFECT_LOG_TABLE.name} order by rowid"),
    ]


def reshape(lumen_warehouse: Path, out: Path, memory_limit: str = "768MB") -> dict[str, int]:
    """Write the Meridian EPR warehouse ``out`` (replaced) from a Lumen CMS warehouse; -> rows per table."""
    recode = _Recoder(code_translation())
    out.parent.mkdir(parents=True, exist_ok=True)
    for p in (out, out.with_name(out.name + ".wal")):
        p.unlink(missing_ok=True)
    con = duckdb.connect(str(out))
    counts: dict[str, int] = {}
    try:
        con.execute(f"SET memory_limit = '{memory_limit}'")
        con.execute("SET preserve_insertion_order = true")
        con.execute(f"ATTACH '{Path(lumen_warehouse).resolve()}' AS lw (READ_ONLY)")
        orphans = con.execute(
            "select count(*) from lw.cms.referral as f "
            "where not exists (select 1 from lw.cms.patient as p where p.patient_id = f.patient_id)"
        ).fetchone()[0]
        if orphans:  # the episode table holds a referral only with its client
            raise ValueError(f"{orphans} Lumen referral(s) have no patient row: the episode shape cannot hold them")
        con.execute(f"CREATE SCHEMA {SCHEMA}")
        for table, select in _statements(recode):
            con.execute(f"CREATE TABLE {SCHEMA}.{table} AS {select}")
            counts[table] = int(con.execute(f"select count(*) from {SCHEMA}.{table}").fetchone()[0])
        con.execute("DETACH lw")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    counts.pop(lumen.DEFECT_LOG_TABLE.name, None)
    return counts
