{% macro tos_check_in_code_list(rule) %}
    {#- Code list: a populated value must be a national code valid for the reporting period. -#}
    {%- set p = rule['params'] -%}
    {%- set c = p['column'] -%}
    {{ tos_failure(rule, tos_value_text(c) ~ " || " ~ tos_lit(' in ' ~ c ~ ' is not in the national list ' ~ p['code_list'])) }}
    from {{ tos_norm_ref(rule['table_name']) }} as t
    where {{ tos_col(c) }} is not null
        and {{ tos_col(c) }} not in ({{ tos_code_list_sql(p['code_list']) }})
{% endmacro %}
