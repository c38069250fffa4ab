{% macro tos_parts_valid_datetime(rule) %}
    {#- A populated timestamp must be a real YYYY-MM-DDThh:mm:ss on or after 1890-01-01. -#}
    {%- set c = rule['params']['column'] -%}
    {{ return({
        'cond': tos_col(c) ~ ' is not null and not ' ~ tos_is_valid_datetime(tos_col(c)),
        'message': tos_value_text(c) ~ " || " ~ tos_lit(' in ' ~ c ~ ' is not a valid timestamp (YYYY-MM-DDThh:mm:ss)'),
    }) }}
{% endmacro %}
