-- The headline measures split by the demographics held in IDS001 (ethnic group and category,
-- gender identity, stated gender, age band at referral, ex-British Armed Forces indicator,
-- preferred language): one row per dimension, category and measure.

{# The demographic dimensions, in output order (see macro measures_dimension_rows): the pathway
   column holding the code, the national code list labelling it, or for ethnic_group the group. #}
{% set dimensions = [
    {'name': 'ethnic_group', 'key': 'ethnic_category_code', 'labels': 'ethnic_groups',
     'code': 'ethnic_group_labels.ethnic_group'},
    {'name': 'ethnic_category', 'key': 'ethnic_category_code', 'labels': ref('ref_ethnic_category')},
    {'name': 'gender_identity', 'key': 'gender_identity_code', 'labels': ref('ref_gender_identity_code')},
    {'name': 'stated_gender', 'key': 'stated_gender_code', 'labels': ref('ref_person_stated_gender_code')},
    {'name': 'age_band', 'key': 'age_band'},
    {'name': 'ex_armed_forces', 'key': 'ex_armed_forces_code', 'labels': ref('ref_ex_british_armed_forces_indicator')},
    {'name': 'preferred_language', 'key': 'preferred_language_code', 'labels': ref('ref_language_code')},
] -%}

with

pathway as (
    select * from {{ ref('measures_referral_pathway') }}
),

-- Ethnic group = the part of the national label before ' - ' (e.g. 'White - British' -> 'White').
ethnic_groups as (
    select
        code,
        case
            when {{ measures_text_position("' - '", 'description') }} > 0
                then substring(description, 1, {{ measures_text_position("' - '", 'description') }} - 1)
            else description
        end as ethnic_group
    from {{ ref('ref_ethnic_category') }}
),

-- One row per referral and dimension; unknown or blank codes fall into 'Not recorded'.
referral_dimensions as (
    {{ measures_dimension_rows('pathway', dimensions) }}
),

summary as (
    {{ measures_summary('referral_dimensions', ['demographic_dimension', 'demographic_code', 'demographic_label']) }}
),

final as (
    {{ measures_labelled('summary', ['demographic_dimension', 'demographic_code', 'demographic_label']) }}
)

select * from final
