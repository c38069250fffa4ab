{{ config(materialized='table', schema='validation') }}

-- Per IDB table: rows submitted, rows the platform would keep, and why the others would go.
{{ tos_norm_refs() }}

with submitted as (
    {%- for name in tos_tables() | sort %}
        select
            {{ tos_lit(name) }} as table_name,
            count(*) as rows_submitted
        from {{ tos_idb_relation(name) }}
        {{ 'union all' if not loop.last }}
    {%- endfor %}
),

removed as (
    select
        table_name,
        sum(case when fate = 'record_rejected' then 1 else 0 end) as rows_record_rejected,
        sum(case when fate = 'group_rejected' then 1 else 0 end) as rows_group_rejected
    from {{ ref('tos_rows_removed') }}
    group by table_name
),

status as (
    select
        s.table_name,
        s.rows_submitted,
        s.rows_submitted - coalesce(r.rows_record_rejected, 0) - coalesce(r.rows_group_rejected, 0) as rows_kept,
        coalesce(r.rows_record_rejected, 0) as rows_record_rejected,
        coalesce(r.rows_group_rejected, 0) as rows_group_rejected
    from submitted as s
    left join removed as r on s.table_name = r.table_name
),

warnings as (
    select
        table_name,
        count(distinct row_id) as rows_with_warnings
    from {{ ref('tos_failures') }}
    where severity = 'warning'
    group by table_name
),

tables as (
    {%- for name in tos_tables() | sort %}
        select {{ tos_lit(name) }} as table_name{{ ' union all' if not loop.last }}
    {%- endfor %}
)

select
    t.table_name,
    coalesce(s.rows_submitted, 0) as rows_submitted,
    coalesce(s.rows_kept, 0) as rows_kept,
    coalesce(s.rows_record_rejected, 0) as rows_record_rejected,
    coalesce(s.rows_group_rejected, 0) as rows_group_rejected,
    coalesce(w.rows_with_warnings, 0) as rows_with_warnings
from tables as t
left join status as s on t.table_name = s.table_name
left join warnings as w on t.table_name = w.table_name
