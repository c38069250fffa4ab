select
    cast(ovs_key as {{ sql_type('bigint') }}) as ovs_id,
    cast(client_id as {{ sql_type('string') }}) as patient_id,
    cast(charge_cat_cd as {{ sql_type('string') }}) as charging_category_local,
    cast(from_dt as {{ sql_type('date') }}) as applies_from
from {{ source('meridian_epr', 'client_ovs') }}
