{% macro tos_check_assessment_score(rule) %}
    {#- Person score per assessment tool (seed tos_assessment_scales): kind=format checks the score's shape,
        kind=range checks the numeric range or the allowed answers; a score that is not a number is outside
        any range (NHS England's PersonScoreWithinRangeValidator.validate_person_score in
        src/dsp/validations/iapt/person_score_validators.py returns false when float() fails). Unknown tools
        are left to the code-list rule.
        The (tool, score) pairs are few: they are checked once each, then joined back to the rows. -#}
    {%- set p = rule['params'] -%}
    {%- set tool = tos_col(p['tool_column']) -%}
    {%- set score = tos_col(p['column']) -%}
    {%- set num = tos_try_cast('pr.score', 'double') -%}
    with tos_pairs as (
        select distinct {{ tool }} as tool, {{ score }} as score
        from {{ tos_norm_ref(rule['table_name']) }} as t
        where {{ score }} is not null
    ),
    tos_bad as (
        select pr.tool, pr.score, s.tool_code
        from tos_pairs as pr
        inner join {{ ref('tos_assessment_scales') }} as s on s.tool_code = pr.tool
        {%- if p['kind'] == 'format' %}
        where not regexp_matches(pr.score, s.score_format_regex)
        {%- else %}
        where
            (coalesce(s.allowed_values, '') <> ''
                and {{ dbt.position("',' || pr.score || ','", "',' || s.allowed_values || ','") }} = 0)
            or (coalesce(s.score_min, '') <> ''
                and ({{ num }} is null
                    or {{ num }} < cast(s.score_min as double) or {{ num }} > cast(s.score_max as double)))
        {%- endif %}
    )
    {{ tos_failure(rule, tos_value_text(p['column']) ~ " || " ~ tos_lit((' is not in the format ' if p['kind'] == 'format' else ' is outside the range ') ~ 'of tool ') ~ " || b.tool_code") }}
    from {{ tos_norm_ref(rule['table_name']) }} as t
    inner join tos_bad as b on b.tool = {{ tool }} and b.score = {{ score }}
{% endmacro %}
