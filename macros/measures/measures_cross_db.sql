{#- Engine-specific SQL for the measures models, dispatched on the adapter (DuckDB is the
    default; PostgreSQL and SQL Server get their own versions where they differ).
    `adapter` is undefined only under sqlfluff's jinja templater (lint), never under dbt; the
    lint render then uses the default implementation. -#}

{#- PERSON SCORE is text in the IDB ('12', '2.3'; PEQ items hold 'Y'/'N'): a decimal(10, 2), or
    null when it is not numeric, without failing the query. -#}
{% macro measures_numeric_score(expression) -%}
    {%- if adapter is defined -%}
        {{ return(adapter.dispatch('measures_numeric_score', 'iapt_idb')(expression)) }}
    {%- endif -%}
    {{ return(default__measures_numeric_score(expression)) }}
{%- endmacro %}

{% macro default__measures_numeric_score(expression) -%}
    try_cast(trim({{ expression }}) as decimal(10, 2))
{%- endmacro %}

{% macro sqlserver__measures_numeric_score(expression) -%}
    try_cast(ltrim(rtrim({{ expression }})) as decimal(10, 2))
{%- endmacro %}

{% macro postgres__measures_numeric_score(expression) -%}
    {#- trim_scale: PostgreSQL's aggregates drop the decimal(10, 2) type, and a bare numeric keeps the
        scale it was cast with (15.00), unlike the value written in a unit test (15). -#}
    case
        when trim({{ expression }}) ~ '^[0-9]+(\.[0-9]+)?$'
            then trim_scale(cast(trim({{ expression }}) as decimal(10, 2)))
    end
{%- endmacro %}


{#- Whole days from start_date to end_date (null when either is null). -#}
{% macro measures_days_between(start_date, end_date) -%}
    {%- if adapter is defined -%}
        {{ return(adapter.dispatch('measures_days_between', 'iapt_idb')(start_date, end_date)) }}
    {%- endif -%}
    {{ return(default__measures_days_between(start_date, end_date)) }}
{%- endmacro %}

{% macro default__measures_days_between(start_date, end_date) -%}
    cast({{ end_date }} - {{ start_date }} as integer)
{%- endmacro %}

{% macro sqlserver__measures_days_between(start_date, end_date) -%}
    datediff(day, {{ start_date }}, {{ end_date }})
{%- endmacro %}


{#- Year, month or day of a date as an integer (SQL Server has no EXTRACT). -#}
{% macro measures_date_part(part, expression) -%}
    {%- if adapter is defined -%}
        {{ return(adapter.dispatch('measures_date_part', 'iapt_idb')(part, expression)) }}
    {%- endif -%}
    {{ return(default__measures_date_part(part, expression)) }}
{%- endmacro %}

{% macro default__measures_date_part(part, expression) -%}
    cast(extract({{ part }} from {{ expression }}) as integer)
{%- endmacro %}

{% macro sqlserver__measures_date_part(part, expression) -%}
    datepart({{ part }}, {{ expression }})
{%- endmacro %}


{#- Number of characters in a string. -#}
{% macro measures_text_length(expression) -%}
    {%- if adapter is defined -%}
        {{ return(adapter.dispatch('measures_text_length', 'iapt_idb')(expression)) }}
    {%- endif -%}
    {{ return(default__measures_text_length(expression)) }}
{%- endmacro %}

{% macro default__measures_text_length(expression) -%}
    length({{ expression }})
{%- endmacro %}

{% macro sqlserver__measures_text_length(expression) -%}
    len({{ expression }})
{%- endmacro %}


{#- 1-based position of `needle` in `haystack`, 0 when absent. -#}
{% macro measures_text_position(needle, haystack) -%}
    {%- if adapter is defined -%}
        {{ return(adapter.dispatch('measures_text_position', 'iapt_idb')(needle, haystack)) }}
    {%- endif -%}
    {{ return(default__measures_text_position(needle, haystack)) }}
{%- endmacro %}

{% macro default__measures_text_position(needle, haystack) -%}
    strpos({{ haystack }}, {{ needle }})
{%- endmacro %}

{% macro sqlserver__measures_text_position(needle, haystack) -%}
    charindex({{ needle }}, {{ haystack }})
{%- endmacro %}
