-- One row per answered item or score (epr.assessment_answer) with its questionnaire's episode, contact
-- activity and completion time (epr.assessment). An answer whose assessment is missing is kept, with
-- no referral, so that validation reports it.
select
    cast(answer.answer_key as {{ sql_type('bigint') }}) as score_id,
    cast(assessment.episode_ref as {{ sql_type('string') }}) as referral_id,
    cast(assessment.activity_ref as {{ sql_type('string') }}) as intervention_id,
    cast(answer.item_sct as {{ sql_type('string') }}) as tool_snomed,
    cast(answer.answer_text as {{ sql_type('string') }}) as score,
    cast({{ timestamp_from_epoch('assessment.completed_epoch') }} as {{ sql_type('timestamp') }}) as completed_at
from {{ source('meridian_epr', 'assessment_answer') }} as answer
left join {{ source('meridian_epr', 'assessment') }} as assessment
    on answer.assessment_key = assessment.assessment_key
