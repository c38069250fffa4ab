{% macro analyze_for_planner() -%}
    {{ return(adapter.dispatch('analyze_for_planner')()) }}
{%- endmacro %}

{% macro default__analyze_for_planner() -%}
    {#- DuckDB keeps its statistics as it writes a table: nothing to run (an empty hook is skipped). -#}
{%- endmacro %}

{% macro postgres__analyze_for_planner() -%}
    {#- A table made by CREATE TABLE AS (or a seed's INSERTs) has no statistics until autovacuum reaches it,
        minutes later: the planner then guesses its size and join selectivity, and the next model's plan
        is built on those guesses (nested loops over the mapping seeds). ANALYZE right after it is written. -#}
    {%- if config.get('materialized') in ('table', 'incremental', 'seed') -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}
