select
    cast(log_key as {{ sql_type('bigint') }}) as log_id,
    cast(episode_ref as {{ sql_type('string') }}) as referral_id,
    cast(product_name as {{ sql_type('string') }}) as programme,
    cast(from_dt as {{ sql_type('date') }}) as started_on,
    cast(to_dt as {{ sql_type('date') }}) as ended_on,
    cast(support_mins as {{ sql_type('integer') }}) as minutes,
    cast(clinician_ref as {{ sql_type('string') }}) as staff_id,
    cast(
        case integrated_yn when 'Y' then true when 'N' then false end as {{ sql_type('boolean') }}
    ) as integrated_software
from {{ source('meridian_epr', 'digital_log') }}
