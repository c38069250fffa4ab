{{ config(materialized='table', schema='validation') }}

-- Each IDB row's fate on the platform after record/group rejections and the cascade down the table tree.
-- depends_on: {{ ref('tos_rules') }}
-- depends_on: {{ ref('tos_check_failures') }}
{{ tos_norm_refs() }}

{{ tos_cascade_sql() }}
