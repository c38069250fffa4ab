select
    cast(ltc_key as {{ sql_type('bigint') }}) as ltc_id,
    cast(episode_ref as {{ sql_type('string') }}) as referral_id,
    cast(scheme_cd as {{ sql_type('string') }}) as coding_scheme_local,
    cast(condition_code as {{ sql_type('string') }}) as condition_code
from {{ source('meridian_epr', 'episode_ltc') }}
