{% macro tos_cascade_sql() %}
    {#- Body of model tos_rows_removed: the IDB rows the platform would not keep, and why (view
        tos_row_status adds the kept rows back). Every row's fate is decided here:
        1. own errors: any record/group/file-severity failure of the row (warnings never count);
        2. a patient (IDS001) needs a valid row in each has_valid_child table (IDS002 GP, IDS101 referral:
           IDS00145/IDS00146), otherwise the patient's group is rejected;
        3. every child row needs its parent row (parent_valid rules: IDS00220, IDS10101, IDS20142, IDS20224,
           IDS60708, ...) to be kept, walked down the table tree, so a rejected referral removes its contacts,
           activities and scores, and a rejected patient removes everything hanging off them. -#}
    {%- set tables = tos_tables() -%}
    {%- set ri = {} -%}
    {%- set child_rules = [] -%}
    {%- for rule in (tos_load_rules(tos_check_kinds()['cascade']) if execute else []) -%}
        {%- if rule['check'] == 'parent_valid' -%}
            {%- do ri.update({rule['table_name']: rule}) -%}
        {%- else -%}
            {%- do child_rules.append(rule) -%}
        {%- endif -%}
    {%- endfor -%}
    {#- tables in tree order: roots first, then children of already-placed tables -#}
    {%- set ordered = [] -%}
    {%- for _ in range(6) -%}
        {%- for name in tables | sort -%}
            {%- set parent = tables[name]['parent_table'] -%}
            {%- if name not in ordered and (not parent or parent in ordered) -%}
                {%- do ordered.append(name) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor %}
    {#- rows with an error that counts (warnings never do), once per row #}
    with tos_errors as {{ tos_materialized() }} (
        select
            table_name,
            row_id,
            max(case when severity in ('record_reject', 'file_reject') then 1 else 0 end) as has_record_error
        from {{ ref('tos_check_failures') }}
        where severity <> 'warning'
        group by table_name, row_id
    ),
    {%- set parent_keys = tables.values() | map(attribute='parent_key') | select | unique | sort %}
    {%- for name in ordered %}
    {%- set id = tables[name]['table_id'] | lower %}
    {%- set parent = tables[name]['parent_table'] %}
    {%- set key = tables[name]['parent_key'] %}
    {#- checks: [rule code, key column, key set]: the row fails the check when no kept parent row / no valid
        child row has its key. A null key passes, as on the platform: its referential-integrity rules
        (referential_integrity_rule in NHS England's src/dsp/validations/common_validation_functions.py)
        left-join the other table on plain equality, then test each key with Spark's null-safe equality
        (eqNullSafe), and a null key against the unmatched (null) side is true; the row's not-blank rule
        rejects it instead #}
    {%- set checks = [] %}
    {%- if parent and name in ri %}
        {%- do checks.append([ri[name]['rule_code'], key, 'select ' ~ tos_col(key, 'p') ~ ' from fate_' ~ (tables[parent]['table_id'] | lower) ~ ' as p where p.kept and ' ~ tos_col(key, 'p') ~ ' is not null']) %}
    {%- endif %}
    {%- for cr in child_rules | selectattr('table_name', 'equalto', name) %}
        {%- set ck = cr['params']['key'] %}
        {%- set child = cr['params']['child_table'] %}
        {%- do checks.append([cr['rule_code'], ck, 'select ' ~ tos_col(ck, 'c') ~ ' from ' ~ tos_norm_narrow(child, 'c', tos_col(ck, 'c')) ~ ' as c where ' ~ tos_col(ck, 'c') ~ ' is not null and c.tos_row_id not in (select ce.row_id from tos_errors as ce where ce.table_name = ' ~ tos_lit(child) ~ ')']) %}
    {%- endfor %}
    {%- set uses = [] %}
    {%- for col in tables[name]['columns'] if col in parent_keys %}
        {%- do uses.append(tos_col(col, 'n')) %}
    {%- endfor %}
    {%- for chk in checks %}
        {%- do uses.append(tos_col(chk[1], 'n')) %}
    {%- endfor %}
    fate_{{ id }} as {{ tos_materialized() }} (
        select
            s.*,
            {%- for chk in checks %}
            case when not s.has_{{ loop.index }} then {{ tos_lit(chk[0]) }} end as cascade_{{ loop.index }},
            {%- endfor %}
            s.own_ok{% for chk in checks %} and s.has_{{ loop.index }}{% endfor %} as kept
        from (
            select
                n.tos_row_id,
                {%- if not tables[name]['record_key'] %}
                n.tos_record_key,
                {%- endif %}
                {#- the record key is built only for the rows removed (tos_record_key_of), from its columns #}
                {%- for col in tables[name]['columns'] if col in parent_keys or col in (tables[name]['record_key'] or []) %}
                n.{{ adapter.quote(col) }},
                {%- endfor %}
                {%- for chk in checks %}
                ({{ tos_col(chk[1], 'n') }} is null
                    or coalesce({{ tos_col(chk[1], 'n') }} in ({{ chk[2] }}), false)) as has_{{ loop.index }},
                {%- endfor %}
                coalesce(e.has_record_error, 0) = 1 as own_record_error,
                e.row_id is null as own_ok
            from {{ tos_norm_narrow(name, 'n', uses) }} as n
            left join tos_errors as e on e.table_name = {{ tos_lit(name) }} and e.row_id = n.tos_row_id
        ) as s
    ){{ ',' if not loop.last }}
    {%- endfor %}
    {%- for name in ordered %}
    {%- set id = tables[name]['table_id'] | lower %}
    {%- set n_checks = (1 if (tables[name]['parent_table'] and name in ri) else 0) + (child_rules | selectattr('table_name', 'equalto', name) | list | length) %}
    select
        {{ tos_lit(name) }} as table_name,
        f.tos_row_id as row_id,
        {{ tos_record_key_of(name, 'f') }} as record_key,
        case when f.own_record_error then 'record_rejected' else 'group_rejected' end as fate,
        {%- if n_checks == 0 %}
        cast(null as {{ dbt.type_string() }}) as cascade_rules
        {%- else %}
        nullif({% for i in range(1, n_checks + 1) %}coalesce(f.cascade_{{ i }} || ';', ''){{ ' || ' if not loop.last }}{% endfor %}, '') as cascade_rules
        {%- endif %}
    from fate_{{ id }} as f
    where not f.kept
    {{ 'union all' if not loop.last }}
    {%- endfor %}
{% endmacro %}


{% macro tos_materialized() %}
    {#- CTEs read by several later ones are computed once (DuckDB, PostgreSQL); other engines decide. -#}
    {{- 'materialized' if target.type in ('duckdb', 'postgres') else '' -}}
{% endmacro %}


{#- One row per cascade (referential-integrity) rule: code, severity, table, columns and the message a
    user sees on every row the cascade removes. Used by tos_failures to scan tos_rows_removed once. #}
{% macro tos_cascade_rule_table(rules) -%}
    {%- for rule in rules %}
    select
        {{ tos_lit(rule['rule_code']) }} as rule_code,
        {{ tos_lit(rule['severity']) }} as severity,
        {{ tos_lit(rule['table_name']) }} as table_name,
        {{ tos_lit(rule['columns']) }} as columns,
        {%- if rule['check'] == 'parent_valid' %}
        {{ tos_lit('parent ' ~ rule['params']['parent_table'] ~ ' row (' ~ rule['params']['key'] ~ ') is missing or rejected; this row is removed with it') }} as message
        {%- else %}
        {{ tos_lit('no valid ' ~ rule['params']['child_table'] ~ ' row for this patient; the patient and their records are removed') }} as message
        {%- endif %}
    {{ 'union all' if not loop.last }}
    {%- else %}
    select
        cast(null as {{ dbt.type_string() }}) as rule_code,
        cast(null as {{ dbt.type_string() }}) as severity,
        cast(null as {{ dbt.type_string() }}) as table_name,
        cast(null as {{ dbt.type_string() }}) as columns,
        cast(null as {{ dbt.type_string() }}) as message
    where 1 = 0
    {%- endfor %}
{%- endmacro %}
