-- IDS606CodedScoreAssessmentRefer: referral-level scores completed in the reporting period.
select
    cast(referral_id as {{ sql_type('string') }}) as ServiceRequestId,
    cast(tool_snomed as {{ sql_type('string') }}) as CodedAssToolType,
    cast(score as {{ sql_type('string') }}) as PersScore,
    cast(completed_at as {{ sql_type('date') }}) as AssToolCompDate,
    cast(completed_at as {{ sql_type('time') }}) as AssToolCompTime
from {{ ref('stg_questionnaire_score') }}
where
    intervention_id is null
    and {{ timestamp_in_period('completed_at') }}
{{ order_by_columns(5) }}
