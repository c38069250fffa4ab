{{ config(materialized='table', schema='validation') }}

-- The predicted verdict for the whole file (one row).
with failures as (
    select
        severity,
        rule_code
    from {{ ref('tos_failures') }}
),

file_rules as (
    select distinct rule_code from failures where severity = 'file_reject'
),

rows_total as (
    select
        sum(rows_submitted) as rows_submitted,
        sum(rows_kept) as rows_kept
    from {{ ref('tos_table_summary') }}
)

select
    {{ tos_lit(var('period')) }} as reporting_period,
    (select count(*) from file_rules) > 0 as file_rejected,
    (select {{ dbt.listagg('rule_code', "';'", "order by rule_code") }} from file_rules) as file_reject_rules,
    (select count(*) from failures where severity = 'file_reject') as file_reject_failures,
    (select count(*) from failures where severity = 'group_reject') as group_reject_failures,
    (select count(*) from failures where severity = 'record_reject') as record_reject_failures,
    (select count(*) from failures where severity = 'warning') as warnings,
    rt.rows_submitted,
    rt.rows_kept
from rows_total as rt
