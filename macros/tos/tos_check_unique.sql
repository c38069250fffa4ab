{% macro tos_check_unique(rule) %}
    {#- Uniqueness: every row of a duplicate set fails. nulls=distinct ignores rows with a null key part;
        nulls=equal groups nulls together. only_null restricts to rows where that column is null (one open
        record per key); filter restricts to rows matching the predicates. -#}
    {%- set p = rule['params'] -%}
    {%- set cols = p['columns'] -%}
    {{ tos_failure(rule, "cast(t.tos_n as " ~ dbt.type_string() ~ ") || " ~ tos_lit(' rows share ' ~ (cols | join(', ')) ~ ((' with ' ~ p['only_null'] ~ ' blank') if p.get('only_null') else ''))) }}
    from (
        select
            u.*,
            count(*) over (partition by {% for c in cols %}{{ tos_col(c, 'u') }}{{ ', ' if not loop.last }}{% endfor %}) as tos_n
        from {{ tos_norm_ref(rule['table_name']) }} as u
        where 1 = 1
        {%- if p.get('nulls', 'distinct') == 'distinct' %}
            {%- for c in cols %}
            and {{ tos_col(c, 'u') }} is not null
            {%- endfor %}
        {%- endif %}
        {%- if p.get('only_null') %}
            and {{ tos_col(p['only_null'], 'u') }} is null
        {%- endif %}
        {%- for pred in p.get('filter', []) %}
            and {{ tos_predicate(pred, 'u') }}
        {%- endfor %}
    ) as t
    where t.tos_n > 1
{% endmacro %}
