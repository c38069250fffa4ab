{% macro tos_parts_not_blank(rule) %}
    {#- Mandatory item: fails when the value is missing or only white space ("must be supplied"). -#}
    {%- set c = rule['params']['column'] -%}
    {{ return({
        'cond': tos_col(c) ~ ' is null or ' ~ tos_is_blank(tos_col(c)),
        'message': tos_lit(c ~ ' is blank; it must be supplied'),
    }) }}
{% endmacro %}
