{#- Per group of a relation: how many rows have a value, and the value of the first and of the last of them
    in the order of order_columns (a full order: the keys are never null, and rows equal on every key
    hold the same value). Columns: the group columns, n_rows, value_first, value_last. -#}
{% macro measures_first_last(relation, group_columns, order_columns, value) -%}
    {%- if adapter is defined -%}
        {{ return(adapter.dispatch('measures_first_last', 'iapt_idb')(relation, group_columns, order_columns, value)) }}
    {%- endif -%}
    {{ return(default__measures_first_last(relation, group_columns, order_columns, value)) }}
{%- endmacro %}

{% macro default__measures_first_last(relation, group_columns, order_columns, value) -%}
    {#- Any engine: rank the rows of each group, then keep the first and the last. -#}
    select
        {{ group_columns | join(', ') }},
        count(*) as n_rows,
        max(case when rank_first = 1 then {{ value }} end) as value_first,
        max(case when rank_first = group_rows then {{ value }} end) as value_last
    from (
        select
            {{ group_columns | join(', ') }},
            {{ value }},
            row_number() over (
                partition by {{ group_columns | join(', ') }} order by {{ order_columns | join(', ') }}
            ) as rank_first,
            count(*) over (partition by {{ group_columns | join(', ') }}) as group_rows
        from {{ relation }}
        where {{ value }} is not null
    ) as ranked
    group by {{ group_columns | join(', ') }}
{%- endmacro %}

{% macro duckdb__measures_first_last(relation, group_columns, order_columns, value) -%}
    {#- DuckDB: arg_min/arg_max over a struct of the order keys (compared key by key) in one hash
        aggregate, instead of sorting every row of every group. -#}
    {%- set keys -%}
        struct_pack({% for column in order_columns %}k{{ loop.index }} := {{ column }}{{ ', ' if not loop.last }}{% endfor %})
    {%- endset -%}
    select
        {{ group_columns | join(', ') }},
        count(*) as n_rows,
        arg_min({{ value }}, {{ keys }}) as value_first,
        arg_max({{ value }}, {{ keys }}) as value_last
    from {{ relation }}
    where {{ value }} is not null
    group by {{ group_columns | join(', ') }}
{%- endmacro %}
