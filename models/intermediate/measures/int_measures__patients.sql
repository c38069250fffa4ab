-- Input: one row per reporting period and patient with the demographics the measures split by. From
-- the warehouse (staging interface) or from the accumulated submissions (IDS001MPI as last
-- submitted), by var measures_input.
-- depends_on: {{ source('idb_submissions', 'IDS001MPI') }}
-- Read by one model only: a view on DuckDB, computed inside its reader's query (macro
-- one_reader_materialization).
{{ config(materialized=one_reader_materialization()) }}
{% if measures_input() == 'submissions' %}

    with

    submitted as (
        {{ measures_submitted('IDS001MPI', ['LocalPatientId']) }}
    )

    select
        period_start_date,
        LocalPatientId as local_patient_id,
        PersonBirthDate as birth_date,
        Gender as stated_gender_code,
        GenderIdentity as gender_identity_code,
        EthnicCategory as ethnic_category_code,
        ExBAFIndicator as ex_armed_forces_code,
        LanguageCodePreferred as preferred_language_code
    from submitted

{% else %}

    select
        periods.period_start_date,
        patients.patient_id as local_patient_id,
        patients.birth_date,
        {{ national_or_local('patients.sex') }} as stated_gender_code,
        {{ national_or_local('patients.gender_identity') }} as gender_identity_code,
        {{ national_or_local('patients.ethnicity') }} as ethnic_category_code,
        {{ national_or_local('patients.ex_forces') }} as ex_armed_forces_code,
        {{ national_or_local('patients.preferred_language') }} as preferred_language_code
    from {{ ref('stg_patient') }} as patients
    cross join {{ ref('int_measures__periods') }} as periods

{% endif %}
