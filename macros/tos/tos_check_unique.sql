{% macro tos_unique_eligible(p, alias) -%}
    {#- The rows a uniqueness rule looks at. -#}
    1 = 1
    {%- if p.get('nulls', 'distinct') == 'distinct' %}
        {%- for c in p['columns'] %}
        and {{ tos_col(c, alias) }} is not null
        {%- endfor %}
    {%- endif %}
    {%- if p.get('only_null') %}
        and {{ tos_col(p['only_null'], alias) }} is null
    {%- endif %}
    {%- for pred in p.get('filter', []) %}
        and {{ tos_predicate(pred, alias) }}
    {%- endfor %}
{%- endmacro %}


{% macro tos_check_unique(rule) %}
    {#- Uniqueness: every row of a duplicate set fails. nulls=distinct ignores rows with a null key part;
        nulls=equal groups nulls together. only_null restricts to rows where that column is null (one open
        record per key); filter restricts to rows matching the predicates. The duplicated keys are found
        with one aggregation, then joined back to their rows. -#}
    {%- set p = rule['params'] -%}
    {%- set cols = p['columns'] -%}
    {%- set eq = ' is not distinct from ' if p.get('nulls', 'distinct') == 'equal' else ' = ' -%}
    {%- set uses = [tos_unique_eligible(p, 'u')] -%}
    {%- for c in cols -%}
        {%- do uses.append(tos_col(c, 'u')) -%}
    {%- endfor -%}
    with tos_dups as (
        select
            {%- for c in cols %}
            {{ tos_col(c, 'u') }},
            {%- endfor %}
            count(*) as tos_n
        from {{ tos_norm_narrow(rule['table_name'], 'u', uses) }} as u
        where {{ tos_unique_eligible(p, 'u') }}
        group by {% for c in cols %}{{ tos_col(c, 'u') }}{{ ', ' if not loop.last }}{% endfor %}
        having count(*) > 1
    )
    {{ tos_failure(rule, "cast(t.tos_n as " ~ dbt.type_string() ~ ") || " ~ tos_lit(' rows share ' ~ (cols | join(', ')) ~ ((' with ' ~ p['only_null'] ~ ' blank') if p.get('only_null') else ''))) }}
    from (
        select
            u.*,
            d.tos_n
        from {{ tos_norm_narrow(rule['table_name'], 'u', uses) }} as u
        inner join tos_dups as d
            on {% for c in cols %}{{ tos_col(c, 'u') }}{{ eq }}{{ tos_col(c, 'd') }}{{ ' and ' if not loop.last }}{% endfor %}
        where {{ tos_unique_eligible(p, 'u') }}
    ) as t
{% endmacro %}
