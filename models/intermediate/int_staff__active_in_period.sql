-- Staff active in the reporting period: named on a care activity or a therapy log of this submission.
with

named as (

    select activity.staff_id
    from {{ ref('int_care_activities__in_period') }} as activity

    union all

    select log.staff_id
    from {{ ref('int_therapy_logs__in_period') }} as log

)

select
    staff_id,
    count(*) as activity_rows_in_period
from named
where staff_id is not null
group by staff_id
