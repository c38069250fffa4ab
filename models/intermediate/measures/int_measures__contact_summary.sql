-- One row per reporting period and referral with care contacts: the first attended assessment and
-- treatment dates, treatment and attended counts within the referral, follow-ups after discharge
-- and the period's DNA-rate counts. Contacts are classified by seed measure_code_groups.
-- Read by one model only: a view on DuckDB, computed inside its reader's query (macro
-- one_reader_materialization).
{{ config(materialized=one_reader_materialization()) }}
with

referrals as (
    select
        period_start_date,
        period_end_date,
        service_request_id,
        referral_received_date,
        discharge_date
    from {{ ref('int_measures__referrals') }}
),

contacts as (
    select
        period_start_date,
        service_request_id,
        contact_date,
        attendance_code,
        appointment_type
    from {{ ref('int_measures__contacts') }}
),

code_groups as (
    select
        data_item,
        code,
        code_group
    from {{ ref('measure_code_groups') }}
),

appointment_types as (
    select
        code as appointment_type,
        max(case when code_group = 'treatment' then 1 else 0 end) as is_treatment_type,
        max(case when code_group = 'assessment' then 1 else 0 end) as is_assessment_type,
        max(case when code_group = 'follow_up' then 1 else 0 end) as is_follow_up_type
    from code_groups
    where data_item = 'AppType'
    group by code
),

attendance_types as (
    select
        code as attendance_code,
        max(case when code_group = 'attended' then 1 else 0 end) as is_attended,
        max(case when code_group = 'dna' then 1 else 0 end) as is_dna,
        max(case when code_group in ('attended', 'dna', 'late_not_seen') then 1 else 0 end) as is_due
    from code_groups
    where data_item = 'AttendOrDNACode'
    group by code
),

-- A contact counts towards the pathway when it is dated between the referral and its discharge
-- (or the period end for open referrals). Follow-ups (06) count only after discharge, and never
-- as treatment.
classified as (
    select
        contacts.period_start_date,
        contacts.service_request_id,
        contacts.contact_date,
        case
            when
                contacts.contact_date >= referrals.referral_received_date
                and contacts.contact_date <= coalesce(referrals.discharge_date, referrals.period_end_date)
                then 1
            else 0
        end as is_within_referral,
        case
            when referrals.discharge_date is not null and contacts.contact_date > referrals.discharge_date
                then 1
            else 0
        end as is_after_discharge,
        case
            when contacts.contact_date >= referrals.period_start_date then 1 else 0
        end as is_in_period,
        coalesce(attendance_types.is_attended, 0) as is_attended,
        coalesce(attendance_types.is_dna, 0) as is_dna,
        coalesce(attendance_types.is_due, 0) as is_due,
        coalesce(appointment_types.is_treatment_type, 0) as is_treatment_type,
        coalesce(appointment_types.is_assessment_type, 0) as is_assessment_type,
        coalesce(appointment_types.is_follow_up_type, 0) as is_follow_up_type
    from contacts
    inner join referrals
        on
            contacts.period_start_date = referrals.period_start_date
            and contacts.service_request_id = referrals.service_request_id
    left join attendance_types
        on contacts.attendance_code = attendance_types.attendance_code
    left join appointment_types
        on contacts.appointment_type = appointment_types.appointment_type
)

select
    period_start_date,
    service_request_id,
    min(case
        when is_within_referral = 1 and is_attended = 1 and is_assessment_type = 1 then contact_date
    end) as first_assessment_date,
    min(case
        when is_within_referral = 1 and is_attended = 1 and is_treatment_type = 1 then contact_date
    end) as first_treatment_date,
    sum(case
        when is_within_referral = 1 and is_attended = 1 and is_treatment_type = 1 then 1 else 0
    end) as treatment_appointment_count,
    sum(case when is_within_referral = 1 and is_attended = 1 then 1 else 0 end) as attended_contact_count,
    sum(case
        when is_after_discharge = 1 and is_attended = 1 and is_follow_up_type = 1 then 1 else 0
    end) as follow_up_after_discharge_count,
    sum(is_in_period * is_dna) as dna_contacts_in_period,
    sum(is_in_period * is_due) as due_contacts_in_period
from classified
group by period_start_date, service_request_id
