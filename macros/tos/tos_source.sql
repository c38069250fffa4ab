{#- Where the validation reads the IDB from, and how it normalises it to text. -#}

{% macro tos_idb_relation(table_name) %}
    {#- The IDB table to validate: the mart (ref) by default, or a table of the same name in the schema
        named by var tos_input_schema (a CSV directory or an .accdb loaded by `iapt-idb validate`). -#}
    {%- set input_schema = build_var('tos_input_schema') -%}
    {%- if input_schema -%}
        {{ api.Relation.create(database=target.database, schema=input_schema, identifier=table_name) }}
    {%- else -%}
        {{ ref(table_name) }}
    {%- endif -%}
{% endmacro %}


{% macro tos_norm_ref(table_name) %}
    {#- The normalised (all-text) view of one IDB table: model tos_norm_<table id>. -#}
    {{- ref('tos_norm_' ~ tos_tables()[table_name]['table_id'] | lower) -}}
{% endmacro %}


{% macro tos_norm_refs() %}
    {#- Every normalised view and every IDB table (which tos_norm_narrow reads), rendered so dbt records the
        dependencies at parse time. -#}
    {%- for name in tos_tables() | sort %}
    -- depends_on: {{ tos_norm_ref(name) }}
    -- depends_on: {{ tos_idb_relation(name) }}
    {%- endfor %}
{% endmacro %}


{% macro tos_norm_narrow(table_name, alias, uses) %}
    {#- tos_norm_ref(table_name) as a query reading it as `alias` needs it: only the columns that the SQL in
        `uses` (text, or a list of texts) names as alias."Column", plus tos_row_id and the record key's
        columns, each normalised as in the view. The whole view when `uses` reads alias.* or
        alias.tos_record_key, and for the header (its key is a row number). Dispatched: DuckDB binds every
        column of a view each time a query names it, which made planning over a quarter of the check groups' time. -#}
    {{- adapter.dispatch('tos_norm_narrow', 'iapt_idb')(table_name, alias, uses) -}}
{% endmacro %}

{% macro default__tos_norm_narrow(table_name, alias, uses) -%}
    {{ tos_norm_ref(table_name) }}
{%- endmacro %}

{% macro duckdb__tos_norm_narrow(table_name, alias, uses) -%}
    {%- set meta = tos_tables()[table_name] -%}
    {%- set text = uses if uses is string else uses | join('\n') -%}
    {%- if not meta['record_key'] or (alias ~ '.*') in text or (alias ~ '.tos_record_key') in text -%}
        {{ tos_norm_ref(table_name) }}
    {%- else -%}
        {%- set used = modules.re.findall('\\b' ~ modules.re.escape(alias) ~ '\\."([^"]+)"', text) -%}
        ({{ tos_normalised(table_name, used + meta['record_key']) }})
    {%- endif -%}
{%- endmacro %}


{% macro tos_row_id() %}
    {{- adapter.dispatch('tos_row_id', 'iapt_idb')() -}}
{% endmacro %}

{% macro default__tos_row_id() %}row_number() over ()
{%- endmacro %}

{% macro duckdb__tos_row_id() %}rowid
{%- endmacro %}


{% macro tos_text(column, spec_type) %}
    {#- One column as text in the data set's own format, whatever its physical type:
        date YYYY-MM-DD, time HH:MM:SS, datetime YYYY-MM-DDTHH:MM:SS, integer digits, string as the platform's
        cleansing leaves it (tos_cleansed: outer spaces trimmed, empty -> null).
        A value is judged as the .accdb would hold it: a date held as a midnight timestamp becomes a date; a
        time held as an Access time (1899-12-30 hh:mm:ss) becomes the time, and a valid time written without
        seconds or with a one-digit hour (9:05, 10:00, 9:05:30) becomes hh:mm:ss, as Access stores it; a
        date in a datetime item is its midnight. Anything else is kept as written, so that the format rules
        can report it. The LIKE (implied by each pattern) spares most values the regex. -#}
    {%- set v = 'cast(' ~ adapter.quote(column) ~ ' as ' ~ dbt.type_string() ~ ')' -%}
    {%- if spec_type == 'date' -%}
        case when {{ v }} like '% 00:00:00' and {{ tos_regex_match(v, '^[0-9]{4}-[0-9]{2}-[0-9]{2} 00:00:00$') }}
            then substr({{ v }}, 1, 10)
            else {{ v }} end
    {%- elif spec_type == 'time' -%}
        case when {{ v }} like '__:__:__' then {{ v }}
            when {{ v }} like '1899-12-30 %' and {{ tos_regex_match(v, '^1899-12-30 [0-9]{2}:[0-9]{2}:[0-9]{2}$') }}
                then substr({{ v }}, 12, 8)
            when {{ v }} like '%:__' and {{ tos_regex_match(v, '^([01]?[0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$') }}
                then {{ dbt.right("'0' || " ~ dbt.split_part(v, "':'", 1), 2) }}
                    || substr({{ v }} || ':00', {{ dbt.position("':'", v) }}, 6)
            else {{ v }} end
    {%- elif spec_type == 'datetime' -%}
        case when {{ v }} like '____-__-__ __:__:__' and {{ tos_regex_match(v, '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$') }}
            then replace({{ v }}, ' ', 'T')
            when {{ v }} like '____-__-__' and {{ tos_regex_match(v, '^[0-9]{4}-[0-9]{2}-[0-9]{2}$') }}
                then {{ v }} || 'T00:00:00'
            else {{ v }} end
    {%- else -%}
        {{ tos_cleansed(v) }}
    {%- endif -%}
{% endmacro %}


{% macro tos_cleansed(expr) %}
    {#- A text value as the platform validates it: its cleansing stage (CleanseStage.strip_whitespace in
        NHS England's src/dsp/pipelines/common.py) trims leading and trailing spaces (Spark's trim: the
        space character only, not tabs or other white space) from every string column before any rule
        runs, and a value left empty becomes null. -#}
    {{- adapter.dispatch('tos_cleansed', 'iapt_idb')(expr) -}}
{% endmacro %}

{% macro default__tos_cleansed(expr) -%}
    nullif(trim(both ' ' from {{ expr }}), '')
{%- endmacro %}

{% macro duckdb__tos_cleansed(expr) -%}
    {#- Trimmed only when it starts or ends with a space: the same value, and most values are never
        copied (a prefix or suffix test costs a tenth of DuckDB's trim). -#}
    nullif(case when {{ expr }} like ' %' or {{ expr }} like '% ' then trim(both ' ' from {{ expr }})
        else {{ expr }} end, '')
{%- endmacro %}

{% macro sqlserver__tos_cleansed(expr) -%}
    nullif(trim(' ' from {{ expr }}), '')
{%- endmacro %}


{% macro tos_record_key_sql(table_name) %}
    {#- The record's local key as text, e.g. 'CareContactId=CC1;ServiceRequestId=SR1'. Never an NHS number
        or a birth date. The header (no key) is named by its row number. -#}
    {%- set meta = tos_tables()[table_name] -%}
    {%- if not meta['record_key'] -%}
        'HeaderRow=' || cast(row_number() over (order by {{ tos_row_id() }}) as {{ dbt.type_string() }})
    {%- else -%}
        {%- set exprs = [] -%}
        {%- for c in meta['record_key'] -%}
            {%- do exprs.append(tos_text(c, meta['types'][meta['columns'].index(c)])) -%}
        {%- endfor -%}
        {{ tos_key_text(meta['record_key'], exprs) }}
    {%- endif -%}
{% endmacro %}


{% macro tos_key_text(columns, exprs) -%}
    {#- 'Col1=v1;Col2=v2' from the key's column names and an SQL expression of each value. -#}
    {%- set parts = [] -%}
    {%- for c in columns -%}
        {%- do parts.append("'" ~ c ~ "=' || coalesce(" ~ exprs[loop.index0] ~ ", '')") -%}
    {%- endfor -%}
    {{ parts | join(" || ';' || ") }}
{%- endmacro %}


{% macro tos_record_key_of(table_name, alias='t') %}
    {#- The same record key as tos_record_key, built from the normalised columns of a tos_norm row (alias), so
        a query computes it only for the rows it returns. The header's key (a row number) is read as is. -#}
    {%- set meta = tos_tables()[table_name] -%}
    {%- if not meta['record_key'] -%}
        {{ alias }}.tos_record_key
    {%- else -%}
        {%- set exprs = [] -%}
        {%- for c in meta['record_key'] -%}
            {%- do exprs.append(tos_col(c, alias)) -%}
        {%- endfor -%}
        {{ tos_key_text(meta['record_key'], exprs) }}
    {%- endif -%}
{% endmacro %}


{% macro tos_normalised(table_name, columns=none) %}
    {#- Body of model tos_norm_<id>: the IDB table as text, plus its row id and record key. With columns,
        only those (in the table's order) and the row id, no record key: tos_norm_narrow's subquery. -#}
    {%- set meta = tos_tables()[table_name] -%}
    select
        {{ tos_row_id() }} as tos_row_id
        {%- if columns is none %},
        {{ tos_record_key_sql(table_name) }} as tos_record_key
        {%- endif %}
        {%- for c in meta['columns'] if columns is none or c in columns %},
        {{ tos_text(c, meta['types'][meta['columns'].index(c)]) }} as {{ adapter.quote(c) }}
        {%- endfor %}
    from {{ tos_idb_relation(table_name) }}
{% endmacro %}
