select
    cast(onward_key as {{ sql_type('bigint') }}) as onward_referral_id,
    cast(episode_ref as {{ sql_type('string') }}) as referral_id,
    cast({{ timestamp_from_epoch('referred_epoch') }} as {{ sql_type('timestamp') }}) as referred_at,
    cast(onward_reason_cd as {{ sql_type('string') }}) as reason_local,
    cast(receiver_ods as {{ sql_type('string') }}) as receiving_org
from {{ source('meridian_epr', 'onward_ref') }}
