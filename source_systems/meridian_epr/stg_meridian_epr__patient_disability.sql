select
    cast(disab_key as {{ sql_type('bigint') }}) as disability_id,
    cast(client_id as {{ sql_type('string') }}) as patient_id,
    cast(disab_cd as {{ sql_type('string') }}) as disability_local
from {{ source('meridian_epr', 'client_disability') }}
