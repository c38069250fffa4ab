{{ config(materialized='table', schema='validation') }}

-- The IDB rows the platform would not keep (record or group rejection, or the cascade down the table tree).
-- Only these rows are stored: view tos_row_status adds the kept ones back.
-- depends_on: {{ ref('tos_rules') }}
-- depends_on: {{ ref('tos_check_failures') }}
{{ tos_norm_refs() }}

{{ tos_cascade_sql() }}
