-- IDS602LongTermCondition: long-term physical health conditions of in-scope referrals.
select
    cast(referral_id as {{ sql_type('string') }}) as ServiceRequestId,
    cast({{ national_or_local('coding_scheme') }} as {{ sql_type('string') }}) as FindSchemeInUse,
    cast(condition_code as {{ sql_type('string') }}) as LongTermCondition
from {{ ref('stg_long_term_condition') }}
where {{ referral_in_scope_or_orphan('referral_id') }}
{{ order_by_columns(3) }}
