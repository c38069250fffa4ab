select
    cast(activity_ref as {{ sql_type('string') }}) as intervention_id,
    cast(contact_ref as {{ sql_type('string') }}) as appointment_id,
    cast(clinician_ref as {{ sql_type('string') }}) as staff_id,
    cast(activity_mins as {{ sql_type('integer') }}) as duration_minutes,
    cast(procedure_sct as {{ sql_type('string') }}) as procedure_snomed,
    cast(finding_scheme_cd as {{ sql_type('string') }}) as finding_scheme_local,
    cast(finding_code as {{ sql_type('string') }}) as finding_code,
    cast(observation_sct as {{ sql_type('string') }}) as observation_snomed,
    cast(observation_value as {{ sql_type('string') }}) as observation_value,
    cast(observation_uom as {{ sql_type('string') }}) as observation_unit
from {{ source('meridian_epr', 'contact_activity') }}
