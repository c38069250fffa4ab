{% macro tos_check_child_exists(rule) %}
    {#- A row matching the `when` predicates should have at least one child row (same key) in child_table. -#}
    {%- set p = rule['params'] -%}
    {{ tos_failure(rule, tos_lit('no ' ~ tos_tables()[p['child_table']]['table_id'] ~ ' row for this ' ~ p['key'])) }}
    from {{ tos_norm_ref(rule['table_name']) }} as t
    where {% for pred in p.get('when', []) %}{{ tos_predicate(pred) }} and {% endfor %}not exists (
        select 1 from {{ tos_norm_narrow(p['child_table'], 'ch', tos_col(p['key'], 'ch')) }} as ch
        where {{ tos_col(p['key'], 'ch') }} = {{ tos_col(p['key']) }}
    )
{% endmacro %}
