{#- Engine-specific expressions, dispatched so providers on SQL Server or PostgreSQL can build. -#}

{% macro bool_to_yn(column) -%}
    {%- if adapter is defined -%}
        {{ return(adapter.dispatch('bool_to_yn')(column)) }}
    {%- else -%}
        {{ return(default__bool_to_yn(column)) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__bool_to_yn(column) -%}
    case when {{ column }} then 'Y' when not {{ column }} then 'N' end
{%- endmacro %}

{% macro sqlserver__bool_to_yn(column) -%}
    case when {{ column }} = 1 then 'Y' when {{ column }} = 0 then 'N' end
{%- endmacro %}

{% macro normalise_postcode(column) -%}
    {%- if adapter is defined -%}
        {{ return(adapter.dispatch('normalise_postcode')(column)) }}
    {%- else -%}
        {{ return(default__normalise_postcode(column)) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__normalise_postcode(column) -%}
    {#- Upper case, inner spaces removed, one space before the 3-character inward code. -#}
    {%- set squeezed = "upper(replace(" ~ column ~ ", ' ', ''))" -%}
    case
        when length({{ squeezed }}) > 3
            then substr({{ squeezed }}, 1, length({{ squeezed }}) - 3) || ' ' || right({{ squeezed }}, 3)
        else {{ squeezed }}
    end
{%- endmacro %}

{% macro sqlserver__normalise_postcode(column) -%}
    {%- set squeezed = "upper(replace(" ~ column ~ ", ' ', ''))" -%}
    case
        when len({{ squeezed }}) > 3
            then left({{ squeezed }}, len({{ squeezed }}) - 3) + ' ' + right({{ squeezed }}, 3)
        else {{ squeezed }}
    end
{%- endmacro %}

{% macro dataset_created_at() -%}
    {#- DATE AND TIME DATA SET CREATED: var dataset_created_at (YYYY-MM-DDTHH:MM:SS, build_var) for
        reproducible output, else the build time truncated to whole seconds. -#}
    {%- set given = build_var('dataset_created_at') -%}
    {%- if given -%}
        {%- set digits = given | replace('-', '') | replace(':', '') | replace('T', '') | replace(' ', '') -%}
        {%- if not (given | length == 19 and given[10] in 'T ' and digits.isdigit() and digits | length == 14)
            and exceptions is defined -%}
            {{ exceptions.raise_compiler_error("var 'dataset_created_at' must be YYYY-MM-DDTHH:MM:SS, got '" ~ given ~ "'") }}
        {%- endif -%}
        {%- set text = given | replace('T', ' ') -%}
    {%- elif modules is defined -%}
        {%- set text = modules.datetime.datetime.now().strftime('%Y-%m-%d %H:%M:%S') -%}
    {%- else -%}
        {#- outside dbt (sqlfluff's templater): any well-formed value -#}
        {%- set text = '2000-01-01 00:00:00' -%}
    {%- endif -%}
    cast('{{ text }}' as {{ sql_type('timestamp') }})
{%- endmacro %}

{% macro sql_type(name) -%}
    {#- A portable SQL type for a staging/mart cast: string, date, time, timestamp, bigint, integer,
        boolean. Resolved through dbt's cross-database type macros; outside dbt (sqlfluff's jinja
        templater) it falls back to the DuckDB spelling. -#}
    {%- if adapter is defined and dbt is defined -%}
        {%- if name == 'string' -%}{{ return(dbt.type_string()) }}
        {%- elif name == 'timestamp' -%}{{ return(dbt.type_timestamp()) }}
        {%- elif name == 'bigint' -%}{{ return(dbt.type_bigint()) }}
        {%- elif name == 'integer' -%}{{ return(dbt.type_int()) }}
        {%- elif name == 'boolean' -%}{{ return(dbt.type_boolean()) }}
        {%- endif -%}
    {%- endif -%}
    {{ return({'string': 'varchar', 'timestamp': 'timestamp', 'bigint': 'bigint', 'integer': 'integer',
               'boolean': 'boolean', 'date': 'date', 'time': 'time'}[name]) }}
{%- endmacro %}

{% macro sql_true() -%}
    {%- if adapter is defined -%}{{ return(adapter.dispatch('sql_true')()) }}{%- endif -%}
    {{ return(default__sql_true()) }}
{%- endmacro %}

{% macro default__sql_true() -%}true{%- endmacro %}

{% macro sqlserver__sql_true() -%}1{%- endmacro %}

{% macro sql_false() -%}
    {%- if adapter is defined -%}{{ return(adapter.dispatch('sql_false')()) }}{%- endif -%}
    {{ return(default__sql_false()) }}
{%- endmacro %}

{% macro default__sql_false() -%}false{%- endmacro %}

{% macro sqlserver__sql_false() -%}0{%- endmacro %}

{% macro timestamp_from_epoch(seconds) -%}
    {#- A timestamp (no time zone) from a column of Unix epoch seconds, through dbt's cross-database
        dateadd; outside dbt (sqlfluff's jinja templater) the DuckDB spelling. -#}
    {%- if adapter is defined and dbt is defined -%}
        {{ return(dbt.dateadd('second', seconds, "cast('1970-01-01 00:00:00' as " ~ dbt.type_timestamp() ~ ")")) }}
    {%- endif -%}
    {{ return("make_timestamp(" ~ seconds ~ " * 1000000)") }}
{%- endmacro %}
