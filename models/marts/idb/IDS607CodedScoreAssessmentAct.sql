-- IDS607CodedScoreAssessmentAct: scores taken in the period's care activities (and orphans).
select
    cast(intervention_id as {{ sql_type('string') }}) as CareActId,
    cast(tool_snomed as {{ sql_type('string') }}) as CodedAssToolType,
    cast(score as {{ sql_type('string') }}) as PersScore
from {{ ref('stg_questionnaire_score') }}
where
    intervention_id is not null
    and {{ in_scope_or_orphan(
        'intervention_id',
        ref('int_care_activities__in_period'),
        ref('stg_appointment_intervention'),
        'intervention_id'
    ) }}
{{ order_by_columns(3) }}
