{% macro tos_submission_expected(name) %}
    {#- The values the upload will declare, as configured for this validation run. -#}
    {%- set bounds = tos_period_bounds() -%}
    {%- set values = {
        'period_start': bounds[0],
        'period_end': bounds[1],
        'provider_ods': build_var('provider_ods_code'),
        'submitter_ods': build_var('submitter_ods_code'),
        'upload_timestamp': run_started_at.strftime('%Y-%m-%dT%H:%M:%S'),
    } -%}
    {{ return(values[name]) }}
{% endmacro %}


{% macro tos_parts_submission_metadata(rule) %}
    {#- Header item vs the submission's metadata: op ne (must equal) or gt (must not be later). An ODS code
        that is not configured (empty var) is not compared: the rule never fires. -#}
    {%- set p = rule['params'] -%}
    {%- set c = tos_col(p['column']) -%}
    {%- set expected = tos_submission_expected(p['expected']) -%}
    {%- if p['op'] == 'gt' -%}
        {%- set msg = tos_lit(p['column'] ~ ' is later than the time of upload (validation)') -%}
        {%- set cond = c ~ ' is not null and ' ~ tos_is_datetime(c) ~ ' and ' ~ c ~ ' > ' ~ tos_lit(expected) -%}
    {%- elif not expected -%}
        {#- The uploading organisation is not configured: not checked (the report says so), never a
            comparison with a made-up code. -#}
        {%- set msg = tos_lit(p['column'] ~ ' not checked: no ODS code configured') -%}
        {%- set cond = 'false' -%}
    {%- else -%}
        {%- set msg = tos_value_text(p['column']) ~ " || " ~ tos_lit(' in ' ~ p['column'] ~ ' differs from the value the upload declares (' ~ expected ~ ')') -%}
        {%- set cond = c ~ ' is not null and ' ~ c ~ ' <> ' ~ tos_lit(expected) -%}
    {%- endif -%}
    {{ return({'cond': cond, 'message': msg}) }}
{% endmacro %}
