-- Input: one row per reporting period and questionnaire score dated by its end, on the scales the
-- outcome measures pair (seed assessment_thresholds). Care-activity scores (IDS607) take the date,
-- time and referral of their care contact (through IDS202 -> IDS201); referral-level scores (IDS606)
-- their completion date and time. From the warehouse history (staging interface; from var
-- measures_history_start when set) or from the accumulated IDB submissions, by var measures_input.
-- The score stays text here (measures_numeric_score reads it later). Other scales are left out as
-- the scores are read, before the joins that date them: DuckDB does not push its reader's join with
-- the seed into this view.
-- depends_on: {{ source('idb_submissions', 'IDS202CareActivity') }}
-- depends_on: {{ source('idb_submissions', 'IDS606CodedScoreAssessmentRefer') }}
-- depends_on: {{ source('idb_submissions', 'IDS607CodedScoreAssessmentAct') }}
-- A view: its one reader (int_measures__paired_scores) reduces it to one row per referral and scale,
-- so a table of every paired score in the history would be written only to be read once.
{{ config(materialized='view') }}
{% if measures_input() == 'submissions' %}

    with

    paired_scales as (
        select thresholds.tool_code from {{ ref('assessment_thresholds') }} as thresholds
    ),

    activity_scores as (
        {{ measures_submitted('IDS607CodedScoreAssessmentAct', ['CareActId']) }}
    ),

    activities as (
        {{ measures_submitted('IDS202CareActivity', ['CareActId']) }}
    ),

    referral_scores as (
        {{ measures_submitted('IDS606CodedScoreAssessmentRefer') }}
    ),

    scores as (
        select
            activity_scores.period_start_date,
            contacts.service_request_id,
            activity_scores.CodedAssToolType as tool_code,
            activity_scores.PersScore as person_score,
            contacts.contact_date as score_date,
            contacts.contact_time as score_time,
            1 as source_order,
            activity_scores.CareActId as score_key
        from activity_scores
        inner join activities
            on
                activity_scores.period_start_date = activities.period_start_date
                and activity_scores.CareActId = activities.CareActId
        inner join {{ ref('int_measures__contacts') }} as contacts
            on
                activities.period_start_date = contacts.period_start_date
                and activities.CareContactId = contacts.care_contact_id
        where activity_scores.CodedAssToolType in (select paired_scales.tool_code from paired_scales)

        union all

        select
            period_start_date,
            ServiceRequestId as service_request_id,
            CodedAssToolType as tool_code,
            PersScore as person_score,
            AssToolCompDate as score_date,
            AssToolCompTime as score_time,
            2 as source_order,
            ServiceRequestId as score_key
        from referral_scores
        where CodedAssToolType in (select paired_scales.tool_code from paired_scales)
    )

    select * from scores

{% else %}

    with

    paired_scales as (
        select thresholds.tool_code from {{ ref('assessment_thresholds') }} as thresholds
    ),

    scores as (
        select
            score.intervention_id,
            score.referral_id,
            score.tool_snomed as tool_code,
            score.score as person_score,
            cast(score.completed_at as date) as completed_date,
            cast(score.completed_at as time) as completed_time
        from {{ ref('stg_questionnaire_score') }} as score
        where score.tool_snomed in (select paired_scales.tool_code from paired_scales)
    ),

    dated as (
        select
            activities.intervention_id as score_key,
            contacts.period_start_date,
            contacts.service_request_id,
            contacts.contact_date as score_date,
            contacts.contact_time as score_time
        from {{ ref('stg_appointment_intervention') }} as activities
        inner join {{ ref('int_measures__contacts') }} as contacts
            on activities.appointment_id = contacts.care_contact_id
    ),

    unioned as (
        select
            dated.period_start_date,
            dated.service_request_id,
            scores.tool_code,
            scores.person_score,
            dated.score_date,
            dated.score_time,
            1 as source_order,
            dated.score_key
        from scores
        inner join dated
            on scores.intervention_id = dated.score_key

        union all

        select
            periods.period_start_date,
            scores.referral_id as service_request_id,
            scores.tool_code,
            scores.person_score,
            scores.completed_date as score_date,
            scores.completed_time as score_time,
            2 as source_order,
            scores.referral_id as score_key
        from scores
        inner join {{ ref('int_measures__periods') }} as periods
            on scores.completed_date <= periods.period_end_date
        where
            scores.intervention_id is null
            and {{ measures_in_history('scores.completed_date') }}
    )

    select * from unioned

{% endif %}
