{% macro tos_cascade_sql() %}
    {#- Body of model tos_row_status: each IDB row's fate on the platform.
        1. own errors: any record/group/file-severity failure of the row (warnings never count);
        2. a patient (IDS001) needs a valid row in each has_valid_child table (IDS002 GP, IDS101 referral:
           IDS00145/IDS00146), otherwise the patient's group is rejected;
        3. every child row needs its parent row (parent_valid rules: IDS00220, IDS10101, IDS20142, IDS20224,
           IDS60708, ...) to be kept, walked down the table tree, so a rejected referral removes its contacts,
           activities and scores, and a rejected patient removes everything hanging off them. -#}
    {%- set tables = tos_tables() -%}
    {%- set ri = {} -%}
    {%- set child_rules = [] -%}
    {%- for rule in (tos_load_rules(['parent_valid', 'has_valid_child']) if execute else []) -%}
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
    with tos_errors as (
        select
            table_name,
            row_id,
            max(case when severity in ('record_reject', 'file_reject') then 1 else 0 end) as has_record_error,
            max(case when severity = 'group_reject' then 1 else 0 end) as has_group_error
        from {{ ref('tos_check_failures') }}
        group by table_name, row_id
    ),
    {%- for name in ordered %}
    {%- set id = tables[name]['table_id'] | lower %}
    own_{{ id }} as (
        select
            n.*,
            coalesce(e.has_record_error, 0) = 1 as own_record_error,
            coalesce(e.has_group_error, 0) = 1 as own_group_error,
            coalesce(e.has_record_error, 0) + coalesce(e.has_group_error, 0) = 0 as own_ok
        from {{ tos_norm_ref(name) }} as n
        left join tos_errors as e on e.table_name = {{ tos_lit(name) }} and e.row_id = n.tos_row_id
    ),
    {%- endfor %}
    {%- for name in ordered %}
    {%- set id = tables[name]['table_id'] | lower %}
    {%- set parent = tables[name]['parent_table'] %}
    {%- set key = tables[name]['parent_key'] %}
    {%- set my_child_rules = child_rules | selectattr('table_name', 'equalto', name) | list %}
    fate_{{ id }} as (
        select
            o.tos_row_id,
            o.tos_record_key,
            o.own_record_error,
            o.own_group_error,
            {%- for pk in tables.values() | map(attribute='parent_key') | unique | sort if pk and pk in tables[name]['columns'] %}
            o.{{ adapter.quote(pk) }},
            {%- endfor %}
            {%- set checks = [] %}
            {%- if parent and name in ri %}
                {%- do checks.append([ri[name]['rule_code'], 'not exists (select 1 from fate_' ~ (tables[parent]['table_id'] | lower) ~ ' as p where p.kept and ' ~ tos_col(key, 'p') ~ ' = ' ~ tos_col(key, 'o') ~ ')']) %}
            {%- endif %}
            {%- for cr in my_child_rules %}
                {%- set ck = cr['params']['key'] %}
                {%- do checks.append([cr['rule_code'], 'not exists (select 1 from own_' ~ (tables[cr['params']['child_table']]['table_id'] | lower) ~ ' as c where c.own_ok and ' ~ tos_col(ck, 'c') ~ ' = ' ~ tos_col(ck, 'o') ~ ')']) %}
            {%- endfor %}
            {%- if checks %}
            {%- for chk in checks %}
            case when {{ chk[1] }} then {{ tos_lit(chk[0]) }} end as cascade_{{ loop.index }},
            {%- endfor %}
            o.own_ok {% for chk in checks %}and not {{ chk[1] }} {% endfor %}as kept
            {%- else %}
            o.own_ok as kept
            {%- endif %}
        from own_{{ id }} as o
    ){{ ',' if not loop.last }}
    {%- endfor %}
    {%- for name in ordered %}
    {%- set id = tables[name]['table_id'] | lower %}
    {%- set n_checks = (1 if (tables[name]['parent_table'] and name in ri) else 0) + (child_rules | selectattr('table_name', 'equalto', name) | list | length) %}
    select
        {{ tos_lit(name) }} as table_name,
        f.tos_row_id as row_id,
        f.tos_record_key as record_key,
        f.kept,
        case
            when f.kept then 'kept'
            when f.own_record_error then 'record_rejected'
            else 'group_rejected'
        end as fate,
        {%- if n_checks == 0 %}
        cast(null as {{ dbt.type_string() }}) as cascade_rules
        {%- else %}
        nullif({% for i in range(1, n_checks + 1) %}coalesce(f.cascade_{{ i }} || ';', ''){{ ' || ' if not loop.last }}{% endfor %}, '') as cascade_rules
        {%- endif %}
    from fate_{{ id }} as f
    {{ 'union all' if not loop.last }}
    {%- endfor %}
{% endmacro %}


{#- One row per cascade (referential-integrity) rule: code, severity, table, columns and the message a
    user sees on every row the cascade removes. Used by tos_failures to scan tos_row_status once. #}
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
