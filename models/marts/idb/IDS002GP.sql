-- IDS002GP: GP registrations of in-scope patients overlapping the period; later end dates submitted empty.
with

registrations as (

    select *
    from {{ ref('stg_gp_registration') }}
    where
        {{ overlaps_period('registered_from', 'registered_to') }}
        and {{ patient_in_scope_or_orphan('patient_id') }}

)

select
    cast(patient_id as {{ sql_type('string') }}) as LocalPatientId,
    cast(practice_code as {{ sql_type('string') }}) as GMPCodeReg,
    cast(registered_from as {{ sql_type('date') }}) as StartDateGMPRegistration,
    cast({{ as_at_period_end('registered_to') }} as {{ sql_type('date') }}) as EndDateGMPRegistration
from registrations
{{ order_by_columns(4) }}
