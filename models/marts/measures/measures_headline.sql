-- One row per headline NHS Talking Therapies measure for the reporting period:
-- numerator, denominator and value, labelled and sourced from seed measure_definitions.

with

pathway as (
    select * from {{ ref('measures_referral_pathway') }}
),

summary as (
    {{ measures_summary('pathway') }}
),

final as (
    {{ measures_labelled('summary', definition_columns=['numerator_definition', 'denominator_definition', 'source']) }}
)

select * from final
