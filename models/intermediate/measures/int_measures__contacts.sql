-- Input: one row per reporting period and care contact dated by its end. From the warehouse history
-- (staging interface; from var measures_history_start when set) or from the accumulated IDB
-- submissions (IDS201CareContact), by var measures_input.
-- depends_on: {{ source('idb_submissions', 'IDS201CareContact') }}
{% if measures_input() == 'submissions' %}

    with

    submitted as (
        {{ measures_submitted('IDS201CareContact', ['CareContactId']) }}
    )

    select
        period_start_date,
        CareContactId as care_contact_id,
        ServiceRequestId as service_request_id,
        CareContDate as contact_date,
        CareContTime as contact_time,
        AttendOrDNACode as attendance_code,
        AppType as appointment_type
    from submitted

{% else %}

    with

    appointments as (
        select
            appointment_id,
            referral_id,
            cast(starts_at as date) as contact_date,
            cast(starts_at as time) as contact_time,
            {{ national_or_local('outcome') }} as attendance_code,
            {{ national_or_local('appointment_type') }} as appointment_type
        from {{ ref('stg_appointment') }}
    )

    select
        periods.period_start_date,
        appointments.appointment_id as care_contact_id,
        appointments.referral_id as service_request_id,
        appointments.contact_date,
        appointments.contact_time,
        appointments.attendance_code,
        appointments.appointment_type
    from appointments
    inner join {{ ref('int_measures__periods') }} as periods
        on appointments.contact_date <= periods.period_end_date
    where {{ measures_in_history('appointments.contact_date') }}

{% endif %}
