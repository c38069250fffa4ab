{% macro tos_check_assessment_score(rule) %}
    {#- Person score per assessment tool (seed tos_assessment_scales): kind=format checks the score's shape,
        kind=range checks the numeric range or the allowed answers. Unknown tools are left to the code-list rule. -#}
    {%- set p = rule['params'] -%}
    {%- set score = tos_col(p['column']) -%}
    {%- set num = tos_try_cast(score, 'double') -%}
    {{ tos_failure(rule, tos_value_text(p['column']) ~ " || " ~ tos_lit((' is not in the format ' if p['kind'] == 'format' else ' is outside the range ') ~ 'of tool ') ~ " || s.tool_code") }}
    from {{ tos_norm_ref(rule['table_name']) }} as t
    inner join {{ ref('tos_assessment_scales') }} as s on s.tool_code = {{ tos_col(p['tool_column']) }}
    where {{ score }} is not null
    {%- if p['kind'] == 'format' %}
        and not regexp_matches({{ score }}, s.score_format_regex)
    {%- else %}
        and (
            (coalesce(s.allowed_values, '') <> ''
                and {{ dbt.position("',' || " ~ score ~ " || ','", "',' || s.allowed_values || ','") }} = 0)
            or (coalesce(s.score_min, '') <> '' and {{ num }} is not null
                and ({{ num }} < cast(s.score_min as double) or {{ num }} > cast(s.score_max as double)))
        )
    {%- endif %}
{% endmacro %}
