-- One row per reporting period, referral and candidate anxiety measure of its problem descriptor:
-- the primary presenting complaint (coding significance 1, else any; the most recently recorded one
-- wins) matched to seed problem_descriptor_measures (the longest matching code), with the
-- descriptor's anxiety disorder specific measures (ADSM) in order of preference.
with

complaints as (
    select
        period_start_date,
        service_request_id,
        find_scheme,
        upper(replace(trim(problem_code), '.', '')) as problem_code,
        case when significance = '1' then 0 else 1 end as significance_order,
        recorded_date
    from {{ ref('int_measures__complaints') }}
),

complaints_ranked as (
    select
        period_start_date,
        service_request_id,
        find_scheme,
        problem_code,
        row_number() over (
            partition by period_start_date, service_request_id
            order by significance_order asc, recorded_date desc, problem_code asc
        ) as complaint_rank
    from complaints
),

descriptor_matches as (
    select
        complaints_ranked.period_start_date,
        complaints_ranked.service_request_id,
        descriptors.problem_descriptor,
        descriptors.anxiety_tool_code,
        descriptors.preference,
        {{ measures_text_length('descriptors.problem_code') }} as match_length
    from complaints_ranked
    inner join {{ ref('problem_descriptor_measures') }} as descriptors
        on
            complaints_ranked.find_scheme = descriptors.find_scheme
            and (
                (
                    descriptors.match_type = 'exact'
                    and complaints_ranked.problem_code = descriptors.problem_code
                )
                or (
                    descriptors.match_type = 'prefix'
                    and complaints_ranked.problem_code like concat(descriptors.problem_code, '%')
                )
            )
    where complaints_ranked.complaint_rank = 1
),

best_match as (
    select
        period_start_date,
        service_request_id,
        max(match_length) as match_length
    from descriptor_matches
    group by period_start_date, service_request_id
)

select
    descriptor_matches.period_start_date,
    descriptor_matches.service_request_id,
    descriptor_matches.problem_descriptor,
    descriptor_matches.anxiety_tool_code,
    descriptor_matches.preference
from descriptor_matches
inner join best_match
    on
        descriptor_matches.period_start_date = best_match.period_start_date
        and descriptor_matches.service_request_id = best_match.service_request_id
        and descriptor_matches.match_length = best_match.match_length
