{% macro tos_parts_valid_date(rule) %}
    {#- A populated date must be a real YYYY-MM-DD date on or after 1890-01-01, without a time part. -#}
    {%- set c = rule['params']['column'] -%}
    {{ return({
        'cond': tos_col(c) ~ ' is not null and not ' ~ tos_is_date(tos_col(c)),
        'message': tos_value_text(c) ~ " || " ~ tos_lit(' in ' ~ c ~ ' is not a valid date (YYYY-MM-DD, from 1890-01-01)'),
    }) }}
{% endmacro %}
