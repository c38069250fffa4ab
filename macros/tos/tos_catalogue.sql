{% macro tos_load_rules(checks, local=false) %}
    {#- The implemented rules of the catalogue (seed tos_rules) whose check is one of `checks`, read at
        execution time, params decoded: the national rules, or with local=true the local rules (codes
        LOCAL-..., from rules/local_rules.yml). Returns [] at parse time. -#}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set sql -%}
        select rule_code, severity, table_name, columns, check_name, params
        from {{ tos_rules_catalogue() }}
        where status in ('implemented', 'not_checkable_before_upload')
            and check_name in ({% for c in checks %}'{{ c }}'{{ ', ' if not loop.last }}{% endfor %})
            and rule_code {{ '' if local else 'not ' }}like 'LOCAL-%'
        order by rule_code
    {%- endset -%}
    {%- set rows = run_query(sql) -%}
    {%- set rules = [] -%}
    {%- for r in rows -%}
        {%- do rules.append({
            'rule_code': r['rule_code'], 'severity': r['severity'], 'table_name': r['table_name'] or '',
            'columns': r['columns'] or '', 'check': r['check_name'], 'params': fromjson(r['params'] or '{}'),
        }) -%}
    {%- endfor -%}
    {{ return(rules) }}
{% endmacro %}


{% macro tos_rules_catalogue() %}
    {#- The relation tos_load_rules reads the catalogue from while dbt compiles: the seed tos_rules. DuckDB reads
        the seed's own CSV file, as `dbt seed` loads it (header, delimiter, the configured column types), so a
        compile of the validation plan needs no seed loaded in the database it compiles against. -#}
    {{ return(adapter.dispatch('tos_rules_catalogue', 'iapt_idb')()) }}
{% endmacro %}


{% macro default__tos_rules_catalogue() %}
    {{ return(ref('tos_rules')) }}
{% endmacro %}


{% macro duckdb__tos_rules_catalogue() %}
    {%- set seed = graph.nodes['seed.' ~ project_name ~ '.tos_rules'] -%}
    {%- set types = [] -%}
    {%- for column, type in (seed.config.column_types or {}).items() -%}
        {%- do types.append("'" ~ column ~ "': '" ~ type ~ "'") -%}
    {%- endfor -%}
    {%- set path = (seed.root_path ~ '/' ~ seed.original_file_path) | replace("'", "''") -%}
    {{ return("read_csv('" ~ path ~ "', header = true, auto_detect = true, delim = '"
              ~ (seed.config.delimiter or ',') ~ "', types = {" ~ types | join(', ') ~ "})") }}
{% endmacro %}


{% macro tos_code_list_refs() %}
    {#- The code-list seeds the checks read, rendered so dbt records the dependencies at parse time. -#}
    {%- for seed in tos_code_list_seeds() %}
    -- depends_on: {{ ref(seed) }}
    {%- endfor %}
{% endmacro %}


{% macro tos_empty_failures() %}
    {#- The failure columns with no rows (parse time, or no rule of a kind). -#}
    select
        cast(null as {{ dbt.type_string() }}) as rule_code,
        cast(null as {{ dbt.type_string() }}) as severity,
        cast(null as {{ dbt.type_string() }}) as table_name,
        cast(null as {{ dbt.type_string() }}) as record_key,
        cast(null as {{ dbt.type_bigint() }}) as row_id,
        cast(null as {{ dbt.type_string() }}) as columns,
        cast(null as {{ dbt.type_string() }}) as message
    where 1 = 0
{% endmacro %}


{% macro tos_check_groups() %}
    {#- The row-level rules run in a few models (tos_check_failures__<group>) so that dbt (and the validation
        engine) runs them in parallel and each query stays small; every IDB table belongs to exactly one group.
        The groups are sized so that none dominates (at benchmark scale each takes 0.3-0.6 CPU-s) and two
        workers finish together: the patient-level tables are split in three for that (IDS004, 40 rules on
        the largest patient-level table, is a group of its own). -#}
    {{ return({
        'patient': ['IDS000Header', 'IDS001MPI', 'IDS002GP', 'IDS012OverseasVisitorChargCat', 'IDS902CarePersQual'],
        'circumstances': ['IDS003AccommStatus', 'IDS007DisabilityType', 'IDS011SocPerCircumstances',
                          'IDS601MedHistPrevDiag', 'IDS803CareCluster'],
        'employment': ['IDS004EmpStatus'],
        'referral': ['IDS101Referral', 'IDS105OnwardReferral', 'IDS108WaitingTimePauses', 'IDS205InternetTherLog',
                     'IDS602LongTermCondition', 'IDS603PresentingComplaints', 'IDS606CodedScoreAssessmentRefer'],
        'contact': ['IDS201CareContact'],
        'activity': ['IDS202CareActivity', 'IDS607CodedScoreAssessmentAct'],
    }) }}
{% endmacro %}


{% macro tos_row_check_sql(group) %}
    {#- The row-level rules of the catalogue on the tables of one group (macro tos_table_checks_sql per table):
        each rule's failing rows, from the macro (tos_parts_<check> or tos_check_<check>) named in the catalogue. -#}
    {%- set tables = tos_check_groups()[group] if execute else [] -%}
    {%- set rules = tos_load_rules(tos_check_kinds()['row']) if execute else [] -%}
    {{ tos_empty_failures() }}
    {%- for name in tables %}
    {%- set table_rules = rules | selectattr('table_name', 'equalto', name) | list %}
    {{- tos_table_checks_sql(name, table_rules) if table_rules }}
    {%- endfor %}
{% endmacro %}


{% macro tos_local_check_sql() %}
    {#- The local rules (rules/local_rules.yml, codes LOCAL-...) on every table, as the national row checks run
        (macro tos_table_checks_sql per table), each message prefixed with the local marker [local]. Kept
        apart from tos_check_failures, so a local rule never reaches the cascade or the file verdict. -#}
    {%- set rules = tos_load_rules(tos_check_kinds()['row'], local=true) if execute else [] %}
    select
        rule_code,
        severity,
        table_name,
        record_key,
        row_id,
        columns,
        {{ tos_lit('[local] ') }} || message as message
    from (
        {{ tos_empty_failures() }}
        {%- for name in tos_tables() | sort %}
        {%- set table_rules = rules | selectattr('table_name', 'equalto', name) | list %}
        {{- tos_table_checks_sql(name, table_rules) if table_rules }}
        {%- endfor %}
    ) as local_failures
{% endmacro %}
