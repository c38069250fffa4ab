-- The headline measures split by the demographics held in IDS001 (ethnic group and category,
-- gender identity, stated gender, age band at referral, ex-British Armed Forces indicator,
-- preferred language): one row per dimension, category and measure.

with

pathway as (
    select * from {{ ref('measures_referral_pathway') }}
),

header as (
    select
        ReportingPeriodStartDate as period_start_date,
        ReportingPeriodEndDate as period_end_date
    from {{ ref('IDS000Header') }}
),

definitions as (
    select
        measure_id,
        sort_order,
        measure_label,
        unit
    from {{ ref('measure_definitions') }}
),

ethnic_labels as (
    select
        code,
        description
    from {{ ref('ref_ethnic_category') }}
),

gender_identity_labels as (
    select
        code,
        description
    from {{ ref('ref_gender_identity_code') }}
),

stated_gender_labels as (
    select
        code,
        description
    from {{ ref('ref_person_stated_gender_code') }}
),

ex_armed_forces_labels as (
    select
        code,
        description
    from {{ ref('ref_ex_british_armed_forces_indicator') }}
),

language_labels as (
    select
        code,
        description
    from {{ ref('ref_language_code') }}
),

-- Ethnic group = the part of the national label before ' - ' (e.g. 'White - British' -> 'White').
ethnic_groups as (
    select
        code,
        description,
        case
            when {{ measures_text_position("' - '", 'description') }} > 0
                then substring(description, 1, {{ measures_text_position("' - '", 'description') }} - 1)
            else description
        end as ethnic_group
    from ethnic_labels
),

-- One row per referral and dimension; unknown or blank codes fall into 'Not recorded'.
referral_dimensions as (
    select
        pathway.*,
        'ethnic_group' as demographic_dimension,
        coalesce(ethnic_groups.ethnic_group, 'Not recorded') as demographic_code,
        coalesce(ethnic_groups.ethnic_group, 'Not recorded') as demographic_label
    from pathway
    left join ethnic_groups
        on pathway.ethnic_category_code = ethnic_groups.code

    union all

    select
        pathway.*,
        'ethnic_category' as demographic_dimension,
        coalesce(pathway.ethnic_category_code, 'Not recorded') as demographic_code,
        coalesce(ethnic_labels.description, pathway.ethnic_category_code, 'Not recorded') as demographic_label
    from pathway
    left join ethnic_labels
        on pathway.ethnic_category_code = ethnic_labels.code

    union all

    select
        pathway.*,
        'gender_identity' as demographic_dimension,
        coalesce(pathway.gender_identity_code, 'Not recorded') as demographic_code,
        coalesce(gender_identity_labels.description, pathway.gender_identity_code, 'Not recorded')
            as demographic_label
    from pathway
    left join gender_identity_labels
        on pathway.gender_identity_code = gender_identity_labels.code

    union all

    select
        pathway.*,
        'stated_gender' as demographic_dimension,
        coalesce(pathway.stated_gender_code, 'Not recorded') as demographic_code,
        coalesce(stated_gender_labels.description, pathway.stated_gender_code, 'Not recorded')
            as demographic_label
    from pathway
    left join stated_gender_labels
        on pathway.stated_gender_code = stated_gender_labels.code

    union all

    select
        pathway.*,
        'age_band' as demographic_dimension,
        coalesce(pathway.age_band, 'Not recorded') as demographic_code,
        coalesce(pathway.age_band, 'Not recorded') as demographic_label
    from pathway

    union all

    select
        pathway.*,
        'ex_armed_forces' as demographic_dimension,
        coalesce(pathway.ex_armed_forces_code, 'Not recorded') as demographic_code,
        coalesce(ex_armed_forces_labels.description, pathway.ex_armed_forces_code, 'Not recorded')
            as demographic_label
    from pathway
    left join ex_armed_forces_labels
        on pathway.ex_armed_forces_code = ex_armed_forces_labels.code

    union all

    select
        pathway.*,
        'preferred_language' as demographic_dimension,
        coalesce(pathway.preferred_language_code, 'Not recorded') as demographic_code,
        coalesce(language_labels.description, pathway.preferred_language_code, 'Not recorded')
            as demographic_label
    from pathway
    left join language_labels
        on pathway.preferred_language_code = language_labels.code
),

summary as (
    {{ measures_summary('referral_dimensions', ['demographic_dimension', 'demographic_code', 'demographic_label']) }}
),

final as (
    select
        header.period_start_date,
        header.period_end_date,
        summary.demographic_dimension,
        summary.demographic_code,
        summary.demographic_label,
        summary.measure_id,
        definitions.sort_order,
        definitions.measure_label,
        definitions.unit,
        summary.value_kind,
        summary.numerator,
        summary.denominator,
        {{ measures_value('summary.numerator', 'summary.denominator', 'summary.value_kind') }} as measure_value
    from summary
    cross join header
    left join definitions
        on summary.measure_id = definitions.measure_id
)

select * from final
