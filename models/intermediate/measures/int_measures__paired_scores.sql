-- One row per reporting period, referral and scale (with a row in seed assessment_thresholds): how
-- many numeric scores fall between the referral received date and its discharge (or the period end),
-- and the first and last of them by date, time, then source (care activity before referral level).
-- A table although one model reads it: inside its reader's query, its aggregate over every score of
-- the history would share DuckDB's memory ceiling with the rest of the measures (slower at
-- 1,000,000 patients; docs/decisions.md, "Build speed").
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

scores_valid as (
    select
        scores.period_start_date,
        scores.service_request_id,
        scores.tool_code,
        scores.score_date,
        scores.score_time,
        scores.source_order,
        scores.score_key,
        {{ measures_numeric_score('scores.person_score') }} as score
    from {{ ref('int_measures__scores') }} as scores
    inner join {{ ref('assessment_thresholds') }} as thresholds
        on scores.tool_code = thresholds.tool_code
    inner join referrals
        on
            scores.period_start_date = referrals.period_start_date
            and scores.service_request_id = referrals.service_request_id
    where
        scores.score_date >= referrals.referral_received_date
        and scores.score_date <= coalesce(referrals.discharge_date, referrals.period_end_date)
),

-- First and last score in one pass (measures_first_last): every ordering column is non-null here (dates
-- are inside the referral window, keys come through inner joins, scores are numeric), and rows tied on
-- every column share the score.
paired as (
    {{ measures_first_last(
        'scores_valid',
        ['period_start_date', 'service_request_id', 'tool_code'],
        ['score_date', "coalesce(score_time, cast('00:00:00' as time))", 'source_order', 'score_key', 'score'],
        'score'
    ) }}
)

select
    period_start_date,
    service_request_id,
    tool_code,
    n_rows as score_count,
    value_first as first_score,
    value_last as last_score
from paired
