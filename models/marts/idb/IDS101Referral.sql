-- IDS101Referral: in-scope referrals; a discharge after the period end is submitted as still open.
select
    cast(referral_id as {{ sql_type('string') }}) as ServiceRequestId,
    cast(patient_id as {{ sql_type('string') }}) as LocalPatientId,
    cast(commissioner_code as {{ sql_type('string') }}) as OrgIDComm,
    cast(received_on as {{ sql_type('date') }}) as ReferralRequestReceivedDate,
    cast({{ national_or_local('referral_source') }} as {{ sql_type('string') }}) as SourceOfReferralIAPT,
    cast(problem_onset as {{ sql_type('string') }}) as OnsetDate,
    cast({{ national_or_local('previously_diagnosed') }} as {{ sql_type('string') }}) as PrevDiagCondInd,
    cast(
        case
            when discharged_on is null or discharged_on <= {{ period_end() }}
                then {{ national_or_local('discharge_reason') }}
        end as {{ sql_type('string') }}
    ) as EndCode,
    cast({{ as_at_period_end('discharged_on') }} as {{ sql_type('date') }}) as ServDischDate
from {{ ref('int_referrals__scoped') }}
where is_in_scope = {{ sql_true() }}
{{ order_by_columns(9) }}
