{#- The select that ends every measures mart: each row of a measures_summary CTE with the reporting
    period (from the summary), the measure's sort order, label and unit (seed measure_definitions) and its
    value. group_columns (of the summary) go between the period dates and measure_id;
    definition_columns (more columns of measure_definitions) go last. Written to sit inside a CTE. -#}
{% macro measures_labelled(summary, group_columns=[], definition_columns=[]) -%}
    select
        {{ summary }}.period_start_date,
        {{ summary }}.period_end_date,
        {%- for column in group_columns %}
        {{ summary }}.{{ column }},
        {%- endfor %}
        {{ summary }}.measure_id,
        definitions.sort_order,
        definitions.measure_label,
        definitions.unit,
        {{ summary }}.value_kind,
        {{ summary }}.numerator,
        {{ summary }}.denominator,
        {{ measures_value(summary ~ '.numerator', summary ~ '.denominator', summary ~ '.value_kind') }}
            as measure_value
        {%- for column in definition_columns %},
        definitions.{{ column }}
        {%- endfor %}
    from {{ summary }}
    left join {{ ref('measure_definitions') }} as definitions
        on {{ summary }}.measure_id = definitions.measure_id
{%- endmacro %}
