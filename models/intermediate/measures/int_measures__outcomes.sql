-- One row per reporting period and referral: the paired PHQ-9 and anxiety-measure scores and the
-- outcome flags (caseness at the start, below caseness at the end, reliable decrease and increase)
-- before any restriction to those finishing treatment. The anxiety measure is the problem
-- descriptor's ADSM in order of preference, else the default anxiety measure (GAD-7): the first
-- candidate with paired scores (two or more) is used (Clark et al. 2018 Table 2).
-- Read by one model only: a view on DuckDB, computed inside its reader's query (macro
-- one_reader_materialization).
{{ config(materialized=one_reader_materialization()) }}
with

referrals as (
    select
        period_start_date,
        service_request_id
    from {{ ref('int_measures__referrals') }}
),

thresholds as (
    select
        tool_code,
        measure_domain,
        is_default_anxiety_measure,
        caseness_threshold,
        reliable_change
    from {{ ref('assessment_thresholds') }}
),

tool_pairs as (
    select * from {{ ref('int_measures__paired_scores') }}
),

anxiety_candidates as (
    select
        period_start_date,
        service_request_id,
        anxiety_tool_code,
        preference
    from {{ ref('int_measures__problem_descriptor') }}

    union all

    select
        referrals.period_start_date,
        referrals.service_request_id,
        thresholds.tool_code as anxiety_tool_code,
        999 as preference
    from referrals
    cross join thresholds
    where thresholds.is_default_anxiety_measure = 1
),

anxiety_chosen as (
    select
        anxiety_candidates.period_start_date,
        anxiety_candidates.service_request_id,
        anxiety_candidates.anxiety_tool_code,
        row_number() over (
            partition by anxiety_candidates.period_start_date, anxiety_candidates.service_request_id
            order by anxiety_candidates.preference, anxiety_candidates.anxiety_tool_code
        ) as choice_rank
    from anxiety_candidates
    inner join tool_pairs
        on
            anxiety_candidates.period_start_date = tool_pairs.period_start_date
            and anxiety_candidates.service_request_id = tool_pairs.service_request_id
            and anxiety_candidates.anxiety_tool_code = tool_pairs.tool_code
    where tool_pairs.score_count >= 2
),

depression_scores as (
    select
        tool_pairs.period_start_date,
        tool_pairs.service_request_id,
        tool_pairs.score_count,
        tool_pairs.first_score,
        tool_pairs.last_score,
        thresholds.caseness_threshold,
        thresholds.reliable_change
    from tool_pairs
    inner join thresholds
        on tool_pairs.tool_code = thresholds.tool_code
    where thresholds.measure_domain = 'depression'
),

anxiety_scores as (
    select
        anxiety_chosen.period_start_date,
        anxiety_chosen.service_request_id,
        anxiety_chosen.anxiety_tool_code,
        tool_pairs.score_count,
        tool_pairs.first_score,
        tool_pairs.last_score,
        thresholds.caseness_threshold,
        thresholds.reliable_change
    from anxiety_chosen
    inner join tool_pairs
        on
            anxiety_chosen.period_start_date = tool_pairs.period_start_date
            and anxiety_chosen.service_request_id = tool_pairs.service_request_id
            and anxiety_chosen.anxiety_tool_code = tool_pairs.tool_code
    inner join thresholds
        on anxiety_chosen.anxiety_tool_code = thresholds.tool_code
    where anxiety_chosen.choice_rank = 1
)

select
    referrals.period_start_date,
    referrals.service_request_id,
    depression_scores.first_score as phq9_first_score,
    depression_scores.last_score as phq9_last_score,
    anxiety_scores.anxiety_tool_code,
    anxiety_scores.first_score as anxiety_first_score,
    anxiety_scores.last_score as anxiety_last_score,
    case
        when depression_scores.score_count >= 2 and anxiety_scores.score_count >= 2 then 1 else 0
    end as has_paired_scores,
    case
        when
            depression_scores.first_score >= depression_scores.caseness_threshold
            or anxiety_scores.first_score >= anxiety_scores.caseness_threshold
            then 1
        else 0
    end as is_case_at_start,
    case
        when
            depression_scores.last_score < depression_scores.caseness_threshold
            and anxiety_scores.last_score < anxiety_scores.caseness_threshold
            then 1
        else 0
    end as is_below_caseness_at_end,
    case
        when
            depression_scores.first_score - depression_scores.last_score >= depression_scores.reliable_change
            or anxiety_scores.first_score - anxiety_scores.last_score >= anxiety_scores.reliable_change
            then 1
        else 0
    end as has_reliable_decrease,
    case
        when
            depression_scores.last_score - depression_scores.first_score >= depression_scores.reliable_change
            or anxiety_scores.last_score - anxiety_scores.first_score >= anxiety_scores.reliable_change
            then 1
        else 0
    end as has_reliable_increase
from referrals
left join depression_scores
    on
        referrals.period_start_date = depression_scores.period_start_date
        and referrals.service_request_id = depression_scores.service_request_id
left join anxiety_scores
    on
        referrals.period_start_date = anxiety_scores.period_start_date
        and referrals.service_request_id = anxiety_scores.service_request_id
