select
    cast(pause_key as {{ sql_type('bigint') }}) as pause_id,
    cast(episode_ref as {{ sql_type('string') }}) as referral_id,
    cast(pause_seq as {{ sql_type('integer') }}) as pause_number,
    cast(pause_start_dt as {{ sql_type('date') }}) as paused_from,
    cast(pause_end_dt as {{ sql_type('date') }}) as paused_to,
    cast(pause_reason_cd as {{ sql_type('string') }}) as pause_reason_local
from {{ source('meridian_epr', 'clock_pause') }}
