select
    cast(clinician_ref as {{ sql_type('string') }}) as staff_id,
    cast(job_title as {{ sql_type('string') }}) as job_role
from {{ source('meridian_epr', 'clinician') }}
