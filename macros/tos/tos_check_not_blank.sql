{% macro tos_check_not_blank(rule) %}
    {#- Mandatory item: fails when the value is missing or only white space ("must be supplied"). -#}
    {%- set c = rule['params']['column'] -%}
    {{ tos_failure(rule, tos_lit(c ~ ' is blank; it must be supplied')) }}
    from {{ tos_norm_ref(rule['table_name']) }} as t
    where {{ tos_col(c) }} is null or {{ tos_regex_match(tos_col(c), '^\\s*$') }}
{% endmacro %}
