select
    cast(circ_key as {{ sql_type('bigint') }}) as circumstance_id,
    cast(client_id as {{ sql_type('string') }}) as patient_id,
    cast(sct_concept as {{ sql_type('string') }}) as snomed_code,
    cast(recorded_dt as {{ sql_type('date') }}) as recorded_on
from {{ source('meridian_epr', 'client_circumstance') }}
