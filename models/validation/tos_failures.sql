{{ config(materialized='table', schema='validation') }}

-- Every predicted failure: row-level rules, the cascade (referential-integrity rules on the removed rows)
-- and the file-level rules. One row per rule and record; never an NHS number or a birth date.
-- depends_on: {{ ref('tos_rules') }}
-- depends_on: {{ ref('tos_check_failures') }}
-- depends_on: {{ ref('tos_rows_removed') }}
{{ tos_norm_refs() }}

{%- set cascade_rules = tos_load_rules(tos_check_kinds()['cascade']) if execute else [] %}
{%- set file_rules = tos_load_rules(tos_check_kinds()['file']) if execute else [] %}

with

-- The cascade rules as a small inline table, so tos_rows_removed is scanned once, not once per rule.
cascade_rules as (
    {{ tos_cascade_rule_table(cascade_rules) }}
),

cascaded as (
    select
        r.rule_code,
        r.severity,
        s.table_name,
        s.record_key,
        s.row_id,
        r.columns,
        r.message
    from {{ ref('tos_rows_removed') }} as s
    inner join cascade_rules as r
        on
            s.table_name = r.table_name
            and s.cascade_rules like '%' || r.rule_code || ';%'
    where s.cascade_rules is not null
)

select
    {{ tos_failure_columns() }}
from {{ ref('tos_check_failures') }}
union all
select
    {{ tos_failure_columns() }}
from cascaded
{%- for rule in file_rules %}
union all
select * from (
    {{ context['tos_file_' ~ rule['check']](rule) }}
) as {{ 'file_' ~ loop.index }}
{%- endfor %}
