{#- Local -> national code mapping helpers (see seeds/mappings/). -#}

{% macro is_code_mapped(local_code, mapping_alias) -%}
    {#- Three-valued: null when no local code was recorded, true when the code is in the mapping
        seed joined as mapping_alias, false for an unmapped local code. -#}
    case
        when {{ local_code }} is null then null
        when {{ mapping_alias }}.local_code is not null then {{ sql_true() }}
        else {{ sql_false() }}
    end
{%- endmacro %}

{% macro reference_code_valid(code, reference_alias) -%}
    {#- Join condition: code is a code of the national code list seed joined as reference_alias that is still
        valid in the reporting period (no valid_to, or valid_to on or after the period's first day). -#}
    {{ code }} = {{ reference_alias }}.code
    and ({{ reference_alias }}.valid_to is null or {{ reference_alias }}.valid_to >= '{{ period_bounds()[0] }}')
{%- endmacro %}

{% macro national_or_local(column) -%}
    {#- The IDB value of a mapped code column of a staging model: the national code, or the local
        code unchanged when it is unmapped (never defaulted), so validation reports it. -#}
    coalesce({{ column }}_national, {{ column }}_local)
{%- endmacro %}

{% macro not_known_as_x(column) -%}
    {#- For SELF EMPLOYED and SICKNESS ABSENCE indicators, whose national "not known" code is X
        where the shared yes/no mapping gives U. -#}
    case
        when {{ column }}_national = 'U' then 'X'
        else {{ national_or_local(column) }}
    end
{%- endmacro %}


{% macro unmapped_local_codes_sql(mapped_columns) %}
    {#- Body of int_unmapped_local_codes. mapped_columns: one dict per mapped code column (table, model,
        column, code_set, staged). Each staging relation is read once (not once per code column): its rows
        with at least one unmapped code are paired with the table's code columns (a VALUES list, portable
        to PostgreSQL and SQL Server) and a CASE picks that column's local code and is_X_mapped flag, so
        the rows out are those one UNION ALL branch per code column would give. -#}
    {%- set staged_tables = mapped_columns | map(attribute='table') | unique | list %}
    with

    code_columns as (
        select
            listed.table_name,
            listed.column_name,
            listed.code_set
        from (
            values
            {%- for c in mapped_columns %}
            ('{{ c.table }}', '{{ c.column }}', '{{ c.code_set }}'){{ ',' if not loop.last }}
            {%- endfor %}
        ) as listed (table_name, column_name, code_set)
    ),
    {%- for t in staged_tables %}
    {%- set cols = mapped_columns | selectattr('table', 'equalto', t) | list %}

    unmapped_{{ t }} as (
        select
            code_columns.code_set,
            case code_columns.column_name
                {%- for c in cols %}
                when '{{ c.column }}' then staged.{{ c.staged }}_local
                {%- endfor %}
            end as local_code,
            code_columns.table_name,
            code_columns.column_name,
            case code_columns.column_name
                {%- for c in cols %}
                when '{{ c.column }}' then staged.is_{{ c.staged }}_mapped
                {%- endfor %}
            end as is_mapped
        from {{ ref(cols[0].model) }} as staged
        inner join code_columns
            on code_columns.table_name = '{{ t }}'
        where
            {%- for c in cols %}
            {{ 'or ' if not loop.first }}staged.is_{{ c.staged }}_mapped = {{ sql_false() }}
            {%- endfor %}
    ),
    {%- endfor %}

    unmapped as (
        {%- for t in staged_tables %}
        select code_set, local_code, table_name, column_name
        from unmapped_{{ t }}
        where is_mapped = {{ sql_false() }}
        {{ 'union all' if not loop.last }}
        {%- endfor %}
    )

    select
        code_set,
        local_code,
        table_name,
        column_name,
        count(*) as row_count
    from unmapped
    group by code_set, local_code, table_name, column_name
{% endmacro %}
