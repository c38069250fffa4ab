{% macro tos_check_valid_time(rule) %}
    {#- A populated time must parse as hh:mm:ss. -#}
    {%- set c = rule['params']['column'] -%}
    {{ tos_failure(rule, tos_value_text(c) ~ " || " ~ tos_lit(' in ' ~ c ~ ' is not a valid time (hh:mm:ss)')) }}
    from {{ tos_norm_ref(rule['table_name']) }} as t
    where {{ tos_col(c) }} is not null and not {{ tos_is_time(tos_col(c)) }}
{% endmacro %}
