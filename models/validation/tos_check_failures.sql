{{ config(materialized='table', schema='validation') }}

-- Failing rows of every row-level TOS rule in the catalogue (seed tos_rules), one UNION ALL branch per rule.
-- depends_on: {{ ref('tos_rules') }}
-- depends_on: {{ ref('tos_assessment_scales') }}
{{ tos_norm_refs() }}
{{ tos_code_list_refs() }}

{{ tos_row_check_sql() }}
