-- IDS011SocPerCircumstances: circumstances recorded on or before the period end for in-scope patients.
select
    cast(patient_id as {{ sql_type('string') }}) as LocalPatientId,
    cast(snomed_code as {{ sql_type('string') }}) as SocPerCircumstance,
    cast(recorded_on as {{ sql_type('date') }}) as SocPerCircumstanceRecDate
from {{ ref('stg_social_circumstance') }}
where
    (recorded_on is null or recorded_on <= {{ period_end() }})
    and {{ patient_in_scope_or_orphan('patient_id') }}
{{ order_by_columns(3) }}
