-- IDS902CarePersQual: qualifications held or in training at the period end, of staff active in it.
select
    cast(qualification.staff_id as {{ sql_type('string') }}) as CarePersLocalId,
    cast({{ national_or_local('qualification.qualification') }} as {{ sql_type('string') }}) as QualAttainLevelIAPT,
    cast(qualification.awarded_on as {{ sql_type('date') }}) as QualAwardedDate,
    cast(
        case
            when qualification.awarded_on is null then qualification.planned_completion_on
        end as {{ sql_type('date') }}
    ) as QualPlannedCompletionDate
from {{ ref('stg_staff_qualification') }} as qualification
where
    qualification.staff_id in (
        select active.staff_id from {{ ref('int_staff__active_in_period') }} as active
    )
    and (qualification.awarded_on is null or qualification.awarded_on <= {{ period_end() }})
{{ order_by_columns(4) }}
