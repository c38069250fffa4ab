{#- Row-level rules run as few scans as possible: every row-local rule of a table (a check with a
    tos_parts_<check> macro: condition + message) is evaluated in ONE select over that table. Each row gets a
    bit mask of the rules it fails; only rows with a non-zero mask go on, and are joined to a small inline
    table of the rules (code, severity, columns, bit) to give one failure row per rule and row, with the
    message chosen per rule. Rules needing an ancestor record (date_compare up the tree) join each ancestor
    once per table; the other checks (uniqueness, code schemes, SNOMED, follow-ups) stay one query each. -#}

{% macro tos_pass_bit(n) -%}
    {#- 2^n as an exact integer literal (n < 62). -#}
    cast({{ 2 ** n }} as {{ dbt.type_bigint() }})
{%- endmacro %}


{% macro tos_shared_exprs(table_name, alias, conds, min_uses=2) %}
    {#- The expressions on alias's columns that conds use at least min_uses times (a column's date / time /
        datetime validity test, its value as an integer), as [SQL, column name] pairs (columns
        tos_sh_<alias>_<n>), for the pass to compute once per row (DuckDB does not share repeated
        expressions; the repeated date tests alone were ~8% of the check groups' CPU). -#}
    {%- set meta = tos_tables()[table_name] -%}
    {%- set text = conds | join('\n') -%}
    {%- set tests = {'date': tos_is_date, 'time': tos_is_time, 'datetime': tos_is_datetime} -%}
    {%- set shared = [] -%}
    {%- for c in meta['columns'] -%}
        {%- set kind = meta['types'][loop.index0] -%}
        {%- set candidates = [tos_try_cast(tos_col(c, alias), dbt.type_bigint()) | string] -%}
        {%- if kind in tests -%}
            {%- do candidates.append(tests[kind](tos_col(c, alias)) | string) -%}
        {%- endif -%}
        {%- set column_no = loop.index -%}
        {%- for sql in candidates if text.count(sql) >= min_uses -%}
            {%- do shared.append([sql, 'tos_sh_' ~ alias ~ '_' ~ column_no ~ '_' ~ loop.index]) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(shared) }}
{% endmacro %}


{% macro tos_with_shared_exprs(relation_sql, alias, shared) -%}
    {#- relation_sql aliased alias, with each shared expression as a column of its own (tos_shared_exprs). -#}
    {%- if shared -%}
        (select {{ alias }}.*{% for s in shared %}, {{ s[0] }} as {{ s[1] }}{% endfor %} from {{ relation_sql }} as {{ alias }}) as {{ alias }}
    {%- else -%}
        {{ relation_sql }} as {{ alias }}
    {%- endif -%}
{%- endmacro %}


{% macro tos_table_pass(table_name, items, path=none) %}
    {#- Failure rows of up to 60 rules of one table in one scan. items: [rule, parts] pairs; with path (the
        ancestor chain of tos_path_to), each row is joined up the tree once and parts['path_cond'] is used.
        An expression that several rules repeat on the row is computed once per row, one on the header once. -#}
    {%- set uses_header = items | selectattr('1.header') | list | length > 0 -%}
    {%- set written = [] -%}
    {%- for it in items -%}
        {%- do written.append(it[1]['path_cond'] if path else it[1]['cond']) -%}
    {%- endfor -%}
    {%- set uses = written + (items | map(attribute='1.message') | list) -%}
    {%- set shared = {'t': tos_shared_exprs(table_name, 't', written),
                      'h': tos_shared_exprs('IDS000Header', 'h', written, 1) if uses_header else []} -%}
    {%- set conds = [] -%}
    {%- for cond in written -%}
        {%- set ns = namespace(cond=cond) -%}
        {%- for alias, exprs in shared | dictsort -%}
            {%- for s in exprs -%}
                {%- set ns.cond = ns.cond.replace(s[0], alias ~ '.' ~ s[1]) -%}
            {%- endfor -%}
        {%- endfor -%}
        {%- do conds.append(ns.cond) -%}
    {%- endfor -%}
    select
        r.rule_code,
        r.severity,
        r.table_name,
        {{ tos_record_key_of(table_name) }} as record_key,
        t.tos_row_id as row_id,
        r.columns,
        case r.rule_no
        {%- for it in items %}
            when {{ loop.index }} then {{ it[1]['message'] }}
        {%- endfor %}
        end as message
    from (
        select *
        from (
            select
                t.*,
                cast(0 as {{ dbt.type_bigint() }})
                {%- for it in items %}
                {%- set cond = conds[loop.index0] %}
                + case when {{ '(h.tos_row_id is not null and (' ~ cond ~ '))' if it[1].get('header') else '(' ~ cond ~ ')' }}
                    then {{ tos_pass_bit(loop.index0) }} else 0 end
                {%- endfor %} as tos_mask
            from {{ tos_with_shared_exprs(tos_norm_narrow(table_name, 't', uses) | string, 't', shared['t']) }}
            {%- if uses_header %}
            left join {{ tos_with_shared_exprs('(' ~ tos_header_row() ~ ')', 'h', shared['h']) }} on 1 = 1
            {%- endif %}
            {%- if path %}
            {{ tos_path_join(path, 't', uses) }}
            {%- endif %}
        ) as masked
        where tos_mask <> 0
    ) as t
    inner join (
        values
        {%- for it in items %}
            ({{ loop.index }}, {{ tos_lit(it[0]['rule_code']) }}, {{ tos_lit(it[0]['severity']) }},
                {{ tos_lit(it[0]['table_name']) }}, {{ tos_lit(it[0]['columns']) }}, {{ tos_pass_bit(loop.index0) }})
            {{- ',' if not loop.last }}
        {%- endfor %}
    ) as r (rule_no, rule_code, severity, table_name, columns, bit)
        on t.tos_mask % (2 * r.bit) >= r.bit
{% endmacro %}


{% macro tos_table_checks_sql(table_name, rules) %}
    {#- UNION ALL branches giving the failure rows of `rules` (all on table_name): the row-local ones in one
        pass, the ancestor comparisons in one pass per ancestor, every other rule as its own query. -#}
    {%- set local = [] -%}
    {%- set by_ancestor = {} -%}
    {%- set others = [] -%}
    {%- for rule in rules -%}
        {%- set parts_macro = context.get('tos_parts_' ~ rule['check']) -%}
        {%- if parts_macro -%}
            {%- set parts = parts_macro(rule) -%}
            {%- if parts.get('path') -%}
                {%- set anc = parts['path'][-1][0] -%}
                {%- do by_ancestor.update({anc: by_ancestor.get(anc, []) + [[rule, parts]]}) -%}
            {%- else -%}
                {%- do local.append([rule, parts]) -%}
            {%- endif -%}
        {%- else -%}
            {%- do others.append(rule) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for chunk in local | batch(60) %}
    union all
    select * from (
        {{ tos_table_pass(table_name, chunk) }}
    ) as {{ 'pass_' ~ tos_tables()[table_name]['table_id'] | lower ~ '_' ~ loop.index }}
    {%- endfor %}
    {%- for anc, items in by_ancestor | dictsort %}
    {%- set outer_loop = loop %}
    {%- for chunk in items | batch(60) %}
    {#- a row with several ancestor rows fails once per rule, as with exists #}
    union all
    select distinct * from (
        {{ tos_table_pass(table_name, chunk, chunk[0][1]['path']) }}
    ) as {{ 'anc_' ~ tos_tables()[table_name]['table_id'] | lower ~ '_' ~ outer_loop.index ~ '_' ~ loop.index }}
    {%- endfor %}
    {%- endfor %}
    {%- for rule in others %}
    union all
    select * from (
        {{ context['tos_check_' ~ rule['check']](rule) }}
    ) as {{ 'rule_' ~ tos_tables()[table_name]['table_id'] | lower ~ '_' ~ loop.index }}
    {%- endfor %}
{% endmacro %}
