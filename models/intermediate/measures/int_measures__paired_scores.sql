-- One row per reporting period, referral and scale (with a row in seed assessment_thresholds): how
-- many numeric scores fall between the referral received date and its discharge (or the period end),
-- and the first and last of them by date, time, then source (care activity before referral level).
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

-- One sort gives both ends: every ordering column is non-null here (dates are inside the referral
-- window, keys come through inner joins, scores are numeric), so the last score in this order is
-- the row whose rank equals its partition's row count (rows tied on every column share the score).
scores_ranked as (
    select
        period_start_date,
        service_request_id,
        tool_code,
        score,
        row_number() over (
            partition by period_start_date, service_request_id, tool_code
            order by score_date, coalesce(score_time, cast('00:00:00' as time)), source_order, score_key, score
        ) as rank_first,
        count(*) over (partition by period_start_date, service_request_id, tool_code) as partition_rows
    from scores_valid
    where score is not null
)

select
    period_start_date,
    service_request_id,
    tool_code,
    count(*) as score_count,
    max(case when rank_first = 1 then score end) as first_score,
    max(case when rank_first = partition_rows then score end) as last_score
from scores_ranked
group by period_start_date, service_request_id, tool_code
