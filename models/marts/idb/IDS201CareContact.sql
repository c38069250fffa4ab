-- IDS201CareContact: appointments dated in the reporting period, attended or not.
select
    cast(contacts.appointment_id as {{ sql_type('string') }}) as CareContactId,
    cast(contacts.referral_id as {{ sql_type('string') }}) as ServiceRequestId,
    cast(contacts.contact_date as {{ sql_type('date') }}) as CareContDate,
    cast(contacts.contact_time as {{ sql_type('time') }}) as CareContTime,
    cast(contacts.commissioner_code as {{ sql_type('string') }}) as OrgIDComm,
    cast({{ bool_to_yn('contacts.booked') }} as {{ sql_type('string') }}) as PlannedCareContIndicator,
    cast({{ national_or_local('contacts.outcome') }} as {{ sql_type('string') }}) as AttendOrDNACode,
    cast(
        case
            when contacts.outcome_national = '2' then short_notice.short_notice_indicator
        end as {{ sql_type('string') }}
    ) as Cancellation,
    cast(contacts.duration_minutes as {{ sql_type('integer') }}) as ClinContDurOfCareCont,
    cast({{ bool_to_yn('contacts.ltc_pathway') }} as {{ sql_type('string') }}) as IAPTLTCServiceInd,
    cast({{ national_or_local('contacts.appointment_type') }} as {{ sql_type('string') }}) as AppType,
    cast({{ national_or_local('contacts.contact_method') }} as {{ sql_type('string') }}) as ConsMechanism,
    cast(contacts.digital_programme as {{ sql_type('string') }}) as IntEnabledTherProg,
    cast({{ national_or_local('contacts.therapy_mode') }} as {{ sql_type('string') }}) as CareContPatientTherMode,
    cast(contacts.group_size as {{ sql_type('integer') }}) as NumGroupTherParticipants,
    cast(contacts.group_facilitators as {{ sql_type('integer') }}) as NumGroupTherFacilitators,
    cast({{ national_or_local('contacts.psychotropic_medication') }} as {{ sql_type('string') }}) as PsychMed,
    cast({{ national_or_local('contacts.location_type') }} as {{ sql_type('string') }}) as ActLocTypeCode,
    cast(contacts.site_code as {{ sql_type('string') }}) as SiteIDOfTreat,
    cast({{ national_or_local('contacts.treatment_language') }} as {{ sql_type('string') }}) as LanguageCodeTreat,
    cast({{ national_or_local('contacts.interpreter') }} as {{ sql_type('string') }}) as InterpreterPresentInd
from {{ ref('int_care_contacts__in_period') }} as contacts
left join {{ ref('attendance_short_notice_cancellation') }} as short_notice
    on contacts.outcome_local = short_notice.local_code
{{ order_by_columns(21) }}
