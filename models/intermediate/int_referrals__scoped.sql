-- One row per staged referral with the reason it is in or out of the month's submission.
with

referrals as (

    select * from {{ ref('stg_referral') }}

),

experience_questionnaires as (

    select peq.code
    from {{ ref('ref_assessment_tools_snomed') }} as peq
    where peq.description like '%Patient Experience Questionnaire%'

),

activity_in_period as (

    select
        appointment.referral_id,
        case
            when appointment.appointment_type_national in {{ follow_up_appointment_types() }} then 1 else 0
        end as is_follow_up
    from {{ ref('stg_appointment') }} as appointment
    where {{ timestamp_in_period('appointment.starts_at') }}

    union all

    select
        score.referral_id,
        case when peq.code is not null then 1 else 0 end as is_follow_up
    from {{ ref('stg_questionnaire_score') }} as score
    left join experience_questionnaires as peq
        on score.tool_snomed = peq.code
    where {{ timestamp_in_period('score.completed_at') }}

    union all

    select
        onward.referral_id,
        0 as is_follow_up
    from {{ ref('stg_onward_referral') }} as onward
    where {{ timestamp_in_period('onward.referred_at') }}

    union all

    select
        log.referral_id,
        0 as is_follow_up
    from {{ ref('stg_digital_therapy_log') }} as log
    where {{ dated_in_period('log.ended_on') }}

),

activity_by_referral as (

    select
        referral_id,
        count(*) as activity_rows_in_period,
        max(is_follow_up) as has_follow_up
    from activity_in_period
    group by referral_id

),

scoped as (

    select
        referrals.referral_id,
        referrals.patient_id,
        referrals.commissioner_code,
        referrals.received_on,
        referrals.referral_source_local,
        referrals.referral_source_national,
        referrals.is_referral_source_mapped,
        referrals.problem_onset,
        referrals.previously_diagnosed_local,
        referrals.previously_diagnosed_national,
        referrals.is_previously_diagnosed_mapped,
        referrals.discharge_reason_local,
        referrals.discharge_reason_national,
        referrals.is_discharge_reason_mapped,
        referrals.discharged_on,
        coalesce(activity.activity_rows_in_period, 0) as activity_rows_in_period,
        -- a CASE, not a boolean expression: SQL Server has no boolean type (sql_true/sql_false)
        case
            when activity.has_follow_up = 1 then {{ sql_true() }} else {{ sql_false() }}  -- noqa: ST02
        end as has_follow_up_activity_in_period,
        case
            when referrals.received_on > {{ period_end() }} then 'out_received_after_period'
            when referrals.discharged_on is null or referrals.discharged_on >= {{ period_start() }}
                then case
                    when referrals.received_on is null then 'in_scope_received_date_missing'
                    else 'in_scope_open_in_period'
                end
            when activity.has_follow_up = 1 then 'in_scope_follow_up_after_discharge'
            when activity.activity_rows_in_period > 0 then 'in_scope_activity_after_discharge'
            else 'out_discharged_before_period_no_activity'
        end as scope_reason
    from referrals
    left join activity_by_referral as activity
        on referrals.referral_id = activity.referral_id

)

select
    scoped.*,
    case
        when scoped.scope_reason like 'in_scope%' then {{ sql_true() }} else {{ sql_false() }}  -- noqa: ST02
    end as is_in_scope
from scoped
