-- IDS105OnwardReferral: onward referrals made in the reporting period.
select
    cast(referral_id as {{ sql_type('string') }}) as ServiceRequestId,
    cast(referred_at as {{ sql_type('date') }}) as OnwardReferDate,
    cast(referred_at as {{ sql_type('time') }}) as OnwardReferTime,
    cast({{ national_or_local('reason') }} as {{ sql_type('string') }}) as OnwardReferReason,
    cast(receiving_org as {{ sql_type('string') }}) as OrgIDReceiving
from {{ ref('stg_onward_referral') }}
where {{ timestamp_in_period('referred_at') }}
{{ order_by_columns(5) }}
