{{ config(materialized='view', schema='validation') }}

-- Failing rows of the local rules (rules/local_rules.yml, codes LOCAL-...), messages marked [local]:
-- reported beside tos_failures, never part of the cascade or the predicted platform verdict. A view: with no
-- local rules it is empty, and it never takes a worker from the national checks' critical path.
-- depends_on: {{ ref('tos_rules') }}
-- depends_on: {{ ref('tos_assessment_scales') }}
{{ tos_norm_refs() }}
{{ tos_code_list_refs() }}

{{ tos_local_check_sql() }}
