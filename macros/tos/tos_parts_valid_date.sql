{% macro tos_parts_valid_date(rule) %}
    {#- A populated date must be a real YYYY-MM-DD date, without a time part, on or after params.from
        (default 1890-01-01, the DSP's floor; an IDB storage check uses the earliest date Access holds). -#}
    {%- set c = rule['params']['column'] -%}
    {%- set floor = rule['params'].get('from', '1890-01-01') -%}
    {{ return({
        'cond': tos_col(c) ~ ' is not null and not ' ~ tos_is_valid_date(tos_col(c), floor),
        'message': tos_value_text(c) ~ " || " ~ tos_lit(' in ' ~ c ~ ' is not a valid date (YYYY-MM-DD, from ' ~ floor ~ ')'),
    }) }}
{% endmacro %}
