{{ config(materialized='view', schema='validation') }}

-- Each IDB row's fate on the platform: every row of every table, kept unless tos_rows_removed lists it.
{%- for name in tos_tables() | sort %}
    select
        {{ tos_lit(name) }} as table_name,
        n.tos_row_id as row_id,
        {{ tos_record_key_of(name, 'n') }} as record_key,
        r.row_id is null as kept,
        coalesce(r.fate, 'kept') as fate,
        r.cascade_rules
    from {{ tos_norm_narrow(name, 'n', '') }} as n
    left join {{ ref('tos_rows_removed') }} as r
        on r.table_name = {{ tos_lit(name) }} and n.tos_row_id = r.row_id
    {{ 'union all' if not loop.last }}
{%- endfor %}
