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

{% macro planner_settings_for_model() -%}
    {{ return(adapter.dispatch('planner_settings_for_model')()) }}
{%- endmacro %}

{% macro default__planner_settings_for_model() -%}
{%- endmacro %}

{% macro postgres__planner_settings_for_model() -%}
    {#- No nested loops while a table is built (SET LOCAL: this model's transaction only). The models join
        whole tables without indexes; where the planner underestimates a join (a CTE read twice is
        materialised and its filters guessed; correlated key columns) it picks a nested loop over
        thousands of rows, quadratic time where a hash join takes milliseconds. A join with no equality
        condition still gets its nested loop. -#}
    {%- if config.get('materialized') in ('table', 'incremental') -%}
        set local enable_nestloop = off
    {%- endif -%}
{%- endmacro %}

{% macro one_reader_materialization() -%}
    {#- sqlfluff renders models without dbt's adapter: the default form then. -#}
    {%- if adapter is defined -%}
        {{ return(adapter.dispatch('one_reader_materialization')()) }}
    {%- endif -%}
    {{ return(default__one_reader_materialization()) }}
{%- endmacro %}

{% macro default__one_reader_materialization() -%}
    {#- A table: PostgreSQL plans a query over nested views from guessed row counts (see
        planner_settings_for_model), and a table gets its statistics (analyze_for_planner). -#}
    {{ return('table') }}
{%- endmacro %}

{% macro duckdb__one_reader_materialization() -%}
    {#- A view: the one model that reads it computes it inside its own query, and no table of the
        whole history is written and read back. -#}
    {{ return('view') }}
{%- endmacro %}
