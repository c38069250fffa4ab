select
    cast(problem_key as {{ sql_type('bigint') }}) as problem_id,
    cast(episode_ref as {{ sql_type('string') }}) as referral_id,
    cast(scheme_cd as {{ sql_type('string') }}) as coding_scheme_local,
    cast(problem_code as {{ sql_type('string') }}) as problem_code,
    cast(rank_cd as {{ sql_type('string') }}) as significance_local,
    cast(recorded_dt as {{ sql_type('date') }}) as recorded_on
from {{ source('meridian_epr', 'episode_problem') }}
