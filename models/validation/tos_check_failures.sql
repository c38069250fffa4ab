{{ config(materialized='view', schema='validation') }}

-- Failing rows of every row-level TOS rule in the catalogue (seed tos_rules): the six groups together.
with patient_level as (
    select * from {{ ref('tos_check_failures__patient') }}
),

circumstances_level as (
    select * from {{ ref('tos_check_failures__circumstances') }}
),

employment_level as (
    select * from {{ ref('tos_check_failures__employment') }}
),

referral_level as (
    select * from {{ ref('tos_check_failures__referral') }}
),

contact_level as (
    select * from {{ ref('tos_check_failures__contact') }}
),

activity_level as (
    select * from {{ ref('tos_check_failures__activity') }}
),

unioned as (
    select * from patient_level
    union all
    select * from circumstances_level
    union all
    select * from employment_level
    union all
    select * from referral_level
    union all
    select * from contact_level
    union all
    select * from activity_level
)

select
    {{ tos_failure_columns() }}
from unioned
