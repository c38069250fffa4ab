-- Meridian EPR keeps the client's details on every episode (epr.episode): one patient row per distinct
-- set of client details. Episodes that disagree about a client give two rows with one patient_id, which
-- validation reports as a duplicate key (nothing is dropped).
select distinct
    cast(client_id as {{ sql_type('string') }}) as patient_id,
    cast(nhs_num as {{ sql_type('string') }}) as nhs_number,
    cast(nhs_trace_status_cd as {{ sql_type('string') }}) as nhs_number_status_local,
    cast(birth_dt as {{ sql_type('date') }}) as birth_date,
    cast(sex_cd as {{ sql_type('string') }}) as sex_local,
    cast(gender_identity_cd as {{ sql_type('string') }}) as gender_identity_local,
    cast(gender_as_birth_cd as {{ sql_type('string') }}) as gender_same_as_birth_local,
    cast(ethnic_cd as {{ sql_type('string') }}) as ethnicity_local,
    cast(first_language_cd as {{ sql_type('string') }}) as preferred_language_local,
    cast(veteran_cd as {{ sql_type('string') }}) as ex_forces_local,
    cast(education_cd as {{ sql_type('string') }}) as education_setting_local,
    cast(id_issuer_ods as {{ sql_type('string') }}) as registered_at_org,
    cast({{ timestamp_from_epoch('client_modified_epoch') }} as {{ sql_type('timestamp') }}) as updated_at
from {{ source('meridian_epr', 'episode') }}
