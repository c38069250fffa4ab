-- Input: one row per reporting period and referral received by its end, as known at the period end
-- (a discharge after it is still open). From the warehouse history (staging interface) or from the
-- accumulated IDB submissions (IDS101Referral as last submitted), by var measures_input.
-- depends_on: {{ source('idb_submissions', 'IDS101Referral') }}
{% if measures_input() == 'submissions' %}

    with

    submitted as (
        {{ measures_submitted('IDS101Referral', ['ServiceRequestId']) }}
    )

    select
        period_start_date,
        period_end_date,
        ServiceRequestId as service_request_id,
        LocalPatientId as local_patient_id,
        ReferralRequestReceivedDate as referral_received_date,
        SourceOfReferralIAPT as source_of_referral,
        EndCode as end_code,
        ServDischDate as discharge_date
    from submitted

{% else %}

    select
        periods.period_start_date,
        periods.period_end_date,
        referrals.referral_id as service_request_id,
        referrals.patient_id as local_patient_id,
        referrals.received_on as referral_received_date,
        {{ national_or_local('referrals.referral_source') }} as source_of_referral,
        case
            when referrals.discharged_on <= periods.period_end_date
                then {{ national_or_local('referrals.discharge_reason') }}
        end as end_code,
        case when referrals.discharged_on <= periods.period_end_date then referrals.discharged_on end as discharge_date
    from {{ ref('stg_referral') }} as referrals
    inner join {{ ref('int_measures__periods') }} as periods
        on referrals.received_on is null or referrals.received_on <= periods.period_end_date

{% endif %}
