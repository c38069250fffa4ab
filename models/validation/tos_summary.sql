{{ config(materialized='table', schema='validation') }}

-- The predicted verdict for the whole file (one row).
with failures as (
    select
        severity,
        rule_code
    from {{ ref('tos_failures') }}
),

severity_counts as (
    select
        sum(case when severity = 'file_reject' then 1 else 0 end) as file_reject_failures,
        sum(case when severity = 'group_reject' then 1 else 0 end) as group_reject_failures,
        sum(case when severity = 'record_reject' then 1 else 0 end) as record_reject_failures,
        sum(case when severity = 'warning' then 1 else 0 end) as warnings
    from failures
),

file_rules as (
    select {{ dbt.listagg('rule_code', "';'", "order by rule_code") }} as file_reject_rules
    from (
        select distinct rule_code
        from failures
        where severity = 'file_reject'
    ) as distinct_rules
),

rows_total as (
    select
        sum(rows_submitted) as rows_submitted,
        sum(rows_kept) as rows_kept
    from {{ ref('tos_table_summary') }}
)

select
    {{ tos_lit(tos_reporting_period()) }} as reporting_period,
    fr.file_reject_rules,
    rt.rows_submitted,
    rt.rows_kept,
    coalesce(sc.file_reject_failures, 0) > 0 as file_rejected,
    coalesce(sc.file_reject_failures, 0) as file_reject_failures,
    coalesce(sc.group_reject_failures, 0) as group_reject_failures,
    coalesce(sc.record_reject_failures, 0) as record_reject_failures,
    coalesce(sc.warnings, 0) as warnings
from rows_total as rt
cross join severity_counts as sc
cross join file_rules as fr
