-- IDS003AccommStatus: accommodation recorded on or before the period end for in-scope patients.
with

accommodation as (

    select *
    from {{ ref('stg_accommodation_history') }}
    where
        (recorded_on is null or recorded_on <= {{ period_end() }})
        and {{ patient_in_scope_or_orphan('patient_id') }}

)

select
    cast(patient_id as {{ sql_type('string') }}) as LocalPatientId,
    cast({{ national_or_local('accommodation') }} as {{ sql_type('string') }}) as AccommodationType,
    cast({{ national_or_local('settled') }} as {{ sql_type('string') }}) as SettledAccommodationInd,
    cast(recorded_on as {{ sql_type('date') }}) as AccommodationTypeDate,
    cast(started_on as {{ sql_type('date') }}) as AccommodationTypeStartDate,
    cast({{ as_at_period_end('ended_on') }} as {{ sql_type('date') }}) as AccommodationTypeEndDate
from accommodation
{{ order_by_columns(6) }}
