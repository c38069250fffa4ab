-- Referral episodes of epr.episode. A registration-only episode (episode_kind REG, no episode_ref) holds a
-- client with no referral; every other episode is a referral, kept even when its kind or key is missing.
select
    cast(episode_ref as {{ sql_type('string') }}) as referral_id,
    cast(client_id as {{ sql_type('string') }}) as patient_id,
    cast(commissioner_ods as {{ sql_type('string') }}) as commissioner_code,
    cast(referral_recv_dt as {{ sql_type('date') }}) as received_on,
    cast(referrer_cd as {{ sql_type('string') }}) as referral_source_local,
    cast(onset_text as {{ sql_type('string') }}) as problem_onset,
    cast(prior_dx_cd as {{ sql_type('string') }}) as previously_diagnosed_local,
    cast(closure_cd as {{ sql_type('string') }}) as discharge_reason_local,
    cast(closure_dt as {{ sql_type('date') }}) as discharged_on
from {{ source('meridian_epr', 'episode') }}
where coalesce(episode_kind, '') <> 'REG' or episode_ref is not null
