{{ config(materialized='table', schema='validation') }}

-- Failing rows of every row-level TOS rule in the catalogue (seed tos_rules): the four groups together.
{%- for group in ['patient', 'referral', 'contact', 'activity'] %}
select
    rule_code,
    severity,
    table_name,
    record_key,
    row_id,
    columns,
    message
from {{ ref('tos_check_failures__' ~ group) }}
{{ 'union all' if not loop.last }}
{%- endfor %}
