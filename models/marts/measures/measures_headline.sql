-- One row per headline NHS Talking Therapies measure for the reporting period:
-- numerator, denominator and value, labelled and sourced from seed measure_definitions.

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
        unit,
        numerator_definition,
        denominator_definition,
        source
    from {{ ref('measure_definitions') }}
),

summary as (
    {{ measures_summary('pathway') }}
),

final as (
    select
        header.period_start_date,
        header.period_end_date,
        summary.measure_id,
        definitions.sort_order,
        definitions.measure_label,
        definitions.unit,
        summary.value_kind,
        summary.numerator,
        summary.denominator,
        {{ measures_value('summary.numerator', 'summary.denominator', 'summary.value_kind') }} as measure_value,
        definitions.numerator_definition,
        definitions.denominator_definition,
        definitions.source
    from summary
    cross join header
    left join definitions
        on summary.measure_id = definitions.measure_id
)

select * from final
