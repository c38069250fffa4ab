-- IDS001MPI: patients with an in-scope referral; postcode of the address current at the period end.
with

patients as (

    select *
    from {{ ref('stg_patient') }}
    where patient_id in (select scoped.patient_id from {{ ref('int_patients__scoped') }} as scoped)

),

addresses_at_period_end as (

    select
        patient_id,
        postcode,
        row_number() over (
            partition by patient_id
            order by valid_from desc, address_id desc
        ) as address_rank
    from {{ ref('stg_patient_address') }}
    where
        (valid_from is null or valid_from <= {{ period_end() }})
        and (valid_to is null or valid_to >= {{ period_end() }})

)

select
    cast(patients.patient_id as {{ sql_type('string') }}) as LocalPatientId,
    cast(patients.registered_at_org as {{ sql_type('string') }}) as OrgIDLocalPatientId,
    cast(patients.nhs_number as {{ sql_type('string') }}) as NHSNumber,
    cast({{ national_or_local('patients.nhs_number_status') }} as {{ sql_type('string') }}) as NHSNumberStatus,
    cast(patients.birth_date as {{ sql_type('date') }}) as PersonBirthDate,
    cast({{ normalise_postcode('addresses.postcode') }} as {{ sql_type('string') }}) as Postcode,
    cast({{ national_or_local('patients.sex') }} as {{ sql_type('string') }}) as Gender,
    cast({{ national_or_local('patients.gender_identity') }} as {{ sql_type('string') }}) as GenderIdentity,
    cast(
        {{ national_or_local('patients.gender_same_as_birth') }} as {{ sql_type('string') }}
    ) as GenderIdentitySameAtBirth,
    cast({{ national_or_local('patients.ethnicity') }} as {{ sql_type('string') }}) as EthnicCategory,
    cast(null as {{ sql_type('string') }}) as EthnicCategory2021,
    cast({{ national_or_local('patients.ex_forces') }} as {{ sql_type('string') }}) as ExBAFIndicator,
    cast({{ national_or_local('patients.preferred_language') }} as {{ sql_type('string') }}) as LanguageCodePreferred,
    cast({{ national_or_local('patients.education_setting') }} as {{ sql_type('string') }}) as EduEstabTypeIAPT
from patients
left join addresses_at_period_end as addresses
    on
        patients.patient_id = addresses.patient_id
        and addresses.address_rank = 1
{{ order_by_columns(14) }}
