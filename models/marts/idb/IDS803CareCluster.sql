-- IDS803CareCluster: care-cluster assignments of in-scope patients overlapping the reporting period.
with

assignments as (

    select
        patient_id,
        care_cluster_local,
        care_cluster_national,
        started_at,
        case when cast(ended_at as date) <= {{ period_end() }} then ended_at end as ended_at
    from {{ ref('stg_care_cluster_assignment') }}
    where
        {{ overlaps_period('cast(started_at as date)', 'cast(ended_at as date)') }}
        and {{ patient_in_scope_or_orphan('patient_id') }}

)

select
    cast(patient_id as {{ sql_type('string') }}) as LocalPatientId,
    cast({{ national_or_local('care_cluster') }} as {{ sql_type('string') }}) as AMHCareClustCodeFin,
    cast(started_at as {{ sql_type('date') }}) as StartDateCareClust,
    cast(started_at as {{ sql_type('time') }}) as StartTimeCareClust,
    cast(ended_at as {{ sql_type('date') }}) as EndDateCareClust,
    cast(ended_at as {{ sql_type('time') }}) as EndTimeCareClust
from assignments
{{ order_by_columns(6) }}
