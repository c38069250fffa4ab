select
    cast(addr_key as {{ sql_type('bigint') }}) as address_id,
    cast(client_id as {{ sql_type('string') }}) as patient_id,
    cast(post_code as {{ sql_type('string') }}) as postcode,
    cast(from_dt as {{ sql_type('date') }}) as valid_from,
    cast(to_dt as {{ sql_type('date') }}) as valid_to
from {{ source('meridian_epr', 'client_address') }}
