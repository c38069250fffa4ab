-- IDS603PresentingComplaints: presenting complaints of in-scope referrals recorded by the period end.
select
    cast(referral_id as {{ sql_type('string') }}) as ServiceRequestId,
    cast({{ national_or_local('coding_scheme') }} as {{ sql_type('string') }}) as FindSchemeInUse,
    cast(problem_code as {{ sql_type('string') }}) as PresComp,
    cast({{ national_or_local('significance') }} as {{ sql_type('string') }}) as PresCompCodSig,
    cast(recorded_on as {{ sql_type('date') }}) as PresCompDate
from {{ ref('stg_presenting_problem') }}
where
    (recorded_on is null or recorded_on <= {{ period_end() }})
    and {{ referral_in_scope_or_orphan('referral_id') }}
{{ order_by_columns(5) }}
