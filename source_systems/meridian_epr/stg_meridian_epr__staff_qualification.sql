select
    cast(qual_key as {{ sql_type('bigint') }}) as staff_qualification_id,
    cast(clinician_ref as {{ sql_type('string') }}) as staff_id,
    cast(qual_cd as {{ sql_type('string') }}) as qualification_local,
    cast(awarded_dt as {{ sql_type('date') }}) as awarded_on,
    cast(expected_dt as {{ sql_type('date') }}) as planned_completion_on
from {{ source('meridian_epr', 'clinician_qual') }}
