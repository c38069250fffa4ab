{% macro tos_parts_age_range(rule) %}
    {#- Birth date after the header's period end, or an age above max_age_years at the period start. -#}
    {%- set p = rule['params'] -%}
    {%- set c = tos_col(p['column']) -%}
    {%- set start_date = tos_try_cast('h."ReportingPeriodStartDate"', 'date') -%}
    {%- set cond -%}
        {{ tos_is_date(c) }}
        and (
            ({{ tos_is_date('h."ReportingPeriodEndDate"') }} and {{ c }} > h."ReportingPeriodEndDate")
            or ({{ tos_is_date('h."ReportingPeriodStartDate"') }}
                and {{ tos_try_cast(c, 'date') }} <= {{ dbt.dateadd('year', -(p['max_age_years'] + 1), start_date) }})
        )
    {%- endset -%}
    {{ return({
        'cond': cond,
        'message': tos_lit('Birth date is after the reporting period end or implies an age over ' ~ p['max_age_years']),
        'header': true,
    }) }}
{% endmacro %}
