{{ config(materialized='table', schema='validation') }}

-- Failing rows of the row-level TOS rules on IDS004 employment status (macro tos_check_groups), one pass for
-- the row-local rules.
-- depends_on: {{ ref('tos_rules') }}
-- depends_on: {{ ref('tos_assessment_scales') }}
{{ tos_norm_refs() }}
{{ tos_code_list_refs() }}

{{ tos_row_check_sql('employment') }}
