{#- The reporting period: var('period') = 'YYYY-MM', one calendar month (build_var). Dates are computed
    in Jinja and emitted as portable date literals (cast('YYYY-MM-DD' as date)). -#}

{% macro build_var(name) -%}
    {#- A var that changes from one dbt run to the next (dbt_runner.BUILD_VARS: the month, the ODS codes, the
        validation's input schema): --vars or dbt_project.yml when either gives one, else $IAPT_DBT_<NAME>, the
        way iapt-idb passes them. A changed --vars value makes dbt parse the whole project again; a changed
        environment variable, only the files that read it while dbt parsed them, which is why the environment
        is read then only for build_vars_read_while_parsing. -#}
    {%- set given = var(name, '') | string -%}
    {%- if given or env_var is not defined -%}
        {#- env_var is undefined only under sqlfluff's templater -#}
        {{ return(given) }}
    {%- endif -%}
    {%- if not execute and name not in build_vars_read_while_parsing() -%}
        {#- While dbt parses, a var that only shapes the SQL's text is not read: dbt parses again every file
            that read an environment variable whose value has changed since, and the month changes every run. -#}
        {{ return('') }}
    {%- endif -%}
    {{ return(env_var('IAPT_DBT_' ~ name | upper, '')) }}
{%- endmacro %}

{% macro build_vars_read_while_parsing() -%}
    {#- The build_var names whose value decides a model's refs, sources or config, which dbt records while it
        parses: build_var reads only these then. Every other build var changes only the SQL a node runs. -#}
    {{ return(['tos_input_schema']) }}
{%- endmacro %}

{% macro period_bounds() -%}
    {#- [first day, last day] of the period (build_var) as ISO strings; plain Jinja (no Python modules),
        so sqlfluff's templater renders it too. -#}
    {%- set text = build_var('period') -%}
    {%- set valid = text | length == 7 and text[4] == '-' and text[0:4].isdigit() and text[5:7].isdigit()
        and 1 <= text[5:7] | int <= 12 -%}
    {%- if not valid and execute -%}
        {{ exceptions.raise_compiler_error("var 'period' must be YYYY-MM (for example 2026-10), got '" ~ text
            ~ "': pass --vars '{period: YYYY-MM}' (iapt-idb build --period passes it)") }}
    {%- elif not valid -%}
        {#- while dbt parses (no period needed yet), or outside dbt (sqlfluff's templater renders var() as
            a placeholder) -#}
        {%- set text = '2000-01' -%}
    {%- endif -%}
    {%- set year = text[0:4] | int -%}
    {%- set month = text[5:7] | int -%}
    {%- set leap = (year % 4 == 0 and year % 100 != 0) or year % 400 == 0 -%}
    {%- set days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] -%}
    {%- set next_year = year + 1 if month == 12 else year -%}
    {%- set next_month = 1 if month == 12 else month + 1 -%}
    {%- set next_start = '%04d-%02d-01' | format(next_year, next_month) -%}
    {#- [first day, last day, first day of the next month] -#}
    {{ return([text ~ '-01', text ~ '-' ~ days, next_start]) }}
{%- endmacro %}

{% macro period_start() -%}
    cast('{{ period_bounds()[0] }}' as date)
{%- endmacro %}

{% macro period_end() -%}
    cast('{{ period_bounds()[1] }}' as date)
{%- endmacro %}

{% macro as_at_period_end(date_column) -%}
    {#- A date that had not happened yet at the period end is submitted empty. -#}
    case when {{ date_column }} <= {{ period_end() }} then {{ date_column }} end
{%- endmacro %}

{% macro dated_in_period(date_column) -%}
    {{ date_column }} between {{ period_start() }} and {{ period_end() }}
{%- endmacro %}

{% macro timestamp_in_period(timestamp_column) -%}
    {#- A timestamp on a day of the period: the rows of dated_in_period('cast(x as date)'), written as
        a half-open range on the column itself so that the engine can push it down to the table scan
        (DuckDB does not push a filter on a cast through the staging views' mapping joins). -#}
    (
        {{ timestamp_column }} >= cast('{{ period_bounds()[0] }} 00:00:00' as {{ sql_type('timestamp') }})
        and {{ timestamp_column }} < cast('{{ period_bounds()[2] }} 00:00:00' as {{ sql_type('timestamp') }})
    )
{%- endmacro %}

{% macro overlaps_period(start_column, end_column) -%}
    {#- An empty start counts as open-ended (the row is kept so validation sees the gap). -#}
    (
        ({{ start_column }} is null or {{ start_column }} <= {{ period_end() }})
        and ({{ end_column }} is null or {{ end_column }} >= {{ period_start() }})
    )
{%- endmacro %}

{% macro in_scope_or_orphan(fk_column, scoped_model, parent_model, key, scoped_filter='1 = 1') -%}
    {#- sqlfluff renders models without dbt's adapter: the default form then. -#}
    {%- if adapter is defined -%}
        {{ return(adapter.dispatch('in_scope_or_orphan')(fk_column, scoped_model, parent_model, key, scoped_filter)) }}
    {%- endif -%}
    {{ return(default__in_scope_or_orphan(fk_column, scoped_model, parent_model, key, scoped_filter)) }}
{%- endmacro %}

{% macro default__in_scope_or_orphan(fk_column, scoped_model, parent_model, key, scoped_filter) -%}
    {#- Keep a child row when its parent is in scope, or when its parent is missing from the
        warehouse altogether (an orphan: kept so validation reports it, never hidden). A null key is
        kept only when the parent table has no keys at all (what NOT IN would give). Written with NOT
        EXISTS so every engine plans an anti-join: PostgreSQL runs NOT IN over a subquery larger than
        work_mem once per row. The parent's key is renamed inside the subquery so that an unqualified
        fk_column still names the child's column. -#}
    ({{ fk_column }} in (select scoped.{{ key }} from {{ scoped_model }} as scoped where {{ scoped_filter }})
        or ({{ fk_column }} is not null and not exists (
            select 1
            from (select parent.{{ key }} as iapt_parent_key from {{ parent_model }} as parent) as parent_keys
            where parent_keys.iapt_parent_key = {{ fk_column }}
        ))
        or not exists (select 1 from {{ parent_model }} as parent where parent.{{ key }} is not null))
{%- endmacro %}

{% macro duckdb__in_scope_or_orphan(fk_column, scoped_model, parent_model, key, scoped_filter) -%}
    {#- The same rows as the default, with the orphan test as NOT IN over the parent's non-null keys:
        DuckDB plans the correlated NOT EXISTS as a delim join on IS NOT DISTINCT FROM over every
        child row, the uncorrelated NOT IN as one mark join. With no null in the list, a non-null key
        is NOT IN exactly when no parent has it, and a null key is never (the default's "is not null"). -#}
    ({{ fk_column }} in (select scoped.{{ key }} from {{ scoped_model }} as scoped where {{ scoped_filter }})
        or {{ fk_column }} not in (
            select parent.{{ key }} from {{ parent_model }} as parent where parent.{{ key }} is not null
        )
        or not exists (select 1 from {{ parent_model }} as parent where parent.{{ key }} is not null))
{%- endmacro %}

{% macro postgres__in_scope_or_orphan(fk_column, scoped_model, parent_model, key, scoped_filter) -%}
    {#- The same rows as the default, in a form PostgreSQL plans as hash anti-joins: it cannot pull a
        sublink out of an OR, and runs each one as a SubPlan, once per row when its hash table would not
        fit in work_mem. A non-null key is kept unless its parent is in the warehouse and out of scope:
        one NOT EXISTS over the parents minus the scoped keys. A null key is kept only when the parent
        table has no keys at all (an uncorrelated test, run once). -#}
    (not exists (
        select 1
        from (select parent.{{ key }} as iapt_parent_key from {{ parent_model }} as parent) as parent_keys
        where parent_keys.iapt_parent_key = {{ fk_column }}
            and not exists (
                select 1 from {{ scoped_model }} as scoped
                where scoped.{{ key }} = parent_keys.iapt_parent_key and {{ scoped_filter }}
            )
    )
    and ({{ fk_column }} is not null
        or not exists (select 1 from {{ parent_model }} as parent where parent.{{ key }} is not null)))
{%- endmacro %}

{% macro follow_up_appointment_types() -%}
    {#- National APPOINTMENT TYPE (IAPT) codes that are follow-up appointments after discharge
        (ref_appointment_type_iapt: 06). Used for rule IDS10129. -#}
    ('06')
{%- endmacro %}

{% macro order_by_columns(count) -%}
    {#- Deterministic row order: every column, in IDB order (the key columns lead). -#}
    {%- if adapter is defined -%}{{ return(adapter.dispatch('order_by_columns')(count)) }}{%- endif -%}
    {{ return(default__order_by_columns(count)) }}
{%- endmacro %}

{% macro default__order_by_columns(count) -%}
    order by {% for i in range(1, count + 1) %}{{ i }}{% if not loop.last %}, {% endif %}{% endfor %}
{%- endmacro %}

{% macro sqlserver__order_by_columns(count) -%}
    {#- SQL Server refuses ORDER BY inside the table-creating subquery: readers order on export. -#}
{%- endmacro %}

{% macro patient_in_scope_or_orphan(column) -%}
    {{ in_scope_or_orphan(column, ref('int_patients__scoped'), ref('stg_patient'), 'patient_id') }}
{%- endmacro %}

{% macro referral_in_scope_or_orphan(column) -%}
    {{ in_scope_or_orphan(
        column, ref('int_referrals__scoped'), ref('stg_referral'), 'referral_id', 'scoped.is_in_scope = ' ~ sql_true()
    ) }}
{%- endmacro %}
