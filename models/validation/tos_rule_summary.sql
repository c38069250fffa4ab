{{ config(materialized='table', schema='validation') }}

-- One row per rule of the catalogue (local rules included): how often it fired, with what a data-quality
-- lead needs to act on it.
with all_failures as (
    select
        rule_code,
        record_key
    from {{ ref('tos_failures') }}
    union all
    select
        rule_code,
        record_key
    from {{ ref('tos_local_failures') }}
),

counts as (
    select
        rule_code,
        count(*) as failures,
        count(distinct record_key) as records
    from all_failures
    group by rule_code
)

select
    r.rule_code,
    r.published = 'true' as published,
    r.severity,
    r.table_name,
    r.check_name,
    r.status,
    r.description,
    r.fix_hint,
    coalesce(c.failures, 0) as failures,
    coalesce(c.records, 0) as records
from {{ ref('tos_rules') }} as r
left join counts as c on r.rule_code = c.rule_code
