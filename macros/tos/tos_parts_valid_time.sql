{% macro tos_parts_valid_time(rule) %}
    {#- A populated time must parse as hh:mm:ss. -#}
    {%- set c = rule['params']['column'] -%}
    {{ return({
        'cond': tos_col(c) ~ ' is not null and not ' ~ tos_is_time(tos_col(c)),
        'message': tos_value_text(c) ~ " || " ~ tos_lit(' in ' ~ c ~ ' is not a valid time (hh:mm:ss)'),
    }) }}
{% endmacro %}
