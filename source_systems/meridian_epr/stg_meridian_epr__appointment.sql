-- Meridian EPR records a contact's date and its start time (text HH:MM:SS) apart, and its flags as Y/N.
select
    cast(contact_ref as {{ sql_type('string') }}) as appointment_id,
    cast(episode_ref as {{ sql_type('string') }}) as referral_id,
    cast(contact_dt + cast(contact_tm as time) as {{ sql_type('timestamp') }}) as starts_at,
    cast(commissioner_ods as {{ sql_type('string') }}) as commissioner_code,
    cast(case planned_yn when 'Y' then true when 'N' then false end as {{ sql_type('boolean') }}) as booked,
    cast(attendance_cd as {{ sql_type('string') }}) as outcome_local,
    cast(contact_mins as {{ sql_type('integer') }}) as duration_minutes,
    cast(case ltc_yn when 'Y' then true when 'N' then false end as {{ sql_type('boolean') }}) as ltc_pathway,
    cast(contact_type_cd as {{ sql_type('string') }}) as appointment_type_local,
    cast(medium_cd as {{ sql_type('string') }}) as contact_method_local,
    cast(digital_product as {{ sql_type('string') }}) as digital_programme,
    cast(mode_cd as {{ sql_type('string') }}) as therapy_mode_local,
    cast(group_patients as {{ sql_type('integer') }}) as group_size,
    cast(group_staff as {{ sql_type('integer') }}) as group_facilitators,
    cast(psychotropic_cd as {{ sql_type('string') }}) as psychotropic_medication_local,
    cast(location_cd as {{ sql_type('string') }}) as location_type_local,
    cast(site_ods as {{ sql_type('string') }}) as site_code,
    cast(therapy_language_cd as {{ sql_type('string') }}) as treatment_language_local,
    cast(interpreter_cd as {{ sql_type('string') }}) as interpreter_local
from {{ source('meridian_epr', 'contact') }}
