{% macro tos_parts_in_code_list(rule) %}
    {#- Code list: a populated value must be a national code valid for the reporting period. The list is an
        uncorrelated subquery, so a table pass probes it once per row without a scan per rule. -#}
    {%- set p = rule['params'] -%}
    {%- set c = p['column'] -%}
    {{ return({
        'cond': tos_col(c) ~ ' is not null and ' ~ tos_col(c) ~ ' not in (' ~ tos_code_list_sql(p['code_list']) ~ ')',
        'message': tos_value_text(c) ~ " || " ~ tos_lit(' in ' ~ c ~ ' is not in the national list ' ~ p['code_list']),
    }) }}
{% endmacro %}
