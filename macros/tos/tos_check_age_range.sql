{% macro tos_check_age_range(rule) %}
    {#- Birth date after the header's period end, or an age above max_age_years at the period start. -#}
    {%- set p = rule['params'] -%}
    {%- set c = tos_col(p['column']) -%}
    {%- set start_date = tos_try_cast('h."ReportingPeriodStartDate"', 'date') -%}
    with {{ tos_header_cte() }}
    {{ tos_failure(rule, tos_lit('Birth date is after the reporting period end or implies an age over ' ~ p['max_age_years'])) }}
    from {{ tos_norm_ref(rule['table_name']) }} as t
    cross join tos_hdr as h
    where {{ tos_is_date(c) }}
        and (
            ({{ tos_is_date('h."ReportingPeriodEndDate"') }} and {{ c }} > h."ReportingPeriodEndDate")
            or ({{ tos_is_date('h."ReportingPeriodStartDate"') }}
                and {{ tos_try_cast(c, 'date') }} <= {{ dbt.dateadd('year', -(p['max_age_years'] + 1), start_date) }})
        )
{% endmacro %}
