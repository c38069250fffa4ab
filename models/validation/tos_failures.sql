{{ config(materialized='table', schema='validation') }}

-- Every predicted failure: row-level rules, the cascade (referential-integrity rules on the removed rows)
-- and the file-level rules. One row per rule and record; never an NHS number or a birth date.
-- depends_on: {{ ref('tos_rules') }}
-- depends_on: {{ ref('tos_check_failures') }}
-- depends_on: {{ ref('tos_row_status') }}
{{ tos_norm_refs() }}

{%- set cascade_rules = tos_load_rules(['parent_valid', 'has_valid_child']) if execute else [] %}
{%- set file_checks = ['table_not_empty', 'header_single', 'period_activity', 'nothing_valid'] %}
{%- set file_rules = tos_load_rules(file_checks) if execute else [] %}

select
    rule_code,
    severity,
    table_name,
    record_key,
    row_id,
    columns,
    message
from {{ ref('tos_check_failures') }}
{%- for rule in cascade_rules %}
union all
select
    {{ tos_lit(rule['rule_code']) }} as rule_code,
    {{ tos_lit(rule['severity']) }} as severity,
    s.table_name,
    s.record_key,
    s.row_id,
    {{ tos_lit(rule['columns']) }} as columns,
    {%- if rule['check'] == 'parent_valid' %}
    {{ tos_lit('parent ' ~ rule['params']['parent_table'] ~ ' row (' ~ rule['params']['key'] ~ ') is missing or rejected; this row is removed with it') }} as message
    {%- else %}
    {{ tos_lit('no valid ' ~ rule['params']['child_table'] ~ ' row for this patient; the patient and their records are removed') }} as message
    {%- endif %}
from {{ ref('tos_row_status') }} as s
where s.table_name = {{ tos_lit(rule['table_name']) }}
    and s.cascade_rules like {{ tos_lit('%' ~ rule['rule_code'] ~ ';%') }}
{%- endfor %}
{%- for rule in file_rules %}
union all
select * from (
    {{ context['tos_file_' ~ rule['check']](rule) }}
) as {{ 'file_' ~ loop.index }}
{%- endfor %}
