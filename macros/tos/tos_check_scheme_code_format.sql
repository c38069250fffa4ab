{% macro tos_check_scheme_code_format(rule) %}
    {#- Coded clinical entry: a populated code must have the shape its scheme requires (e.g. ICD-10 4-6
        characters, SNOMED CT 6-18 digits, optionally with a valid check digit). A scheme the rule does not
        list, or a null scheme, passes: NHS England's _is_a_valid_scheme_code (src/dsp/udfs/
        coded_clinical_entry.py) returns true when it has no validator for the scheme; the scheme's code-list
        rule reports it instead. -#}
    {%- set p = rule['params'] -%}
    {%- set c = tos_col(p['column']) -%}
    {%- set s = tos_col(p['scheme_column']) -%}
    {%- set uses_snomed = p['schemes'].values() | selectattr('snomed') | list | length > 0 -%}
    {%- if uses_snomed %}
    with recursive {{ tos_snomed_ctes('select ' ~ tos_col(p['column'], 's') ~ ' as v from ' ~ tos_norm_ref(rule['table_name']) ~ ' as s') }}
    {%- endif %}
    {{ tos_failure(rule, tos_value_text(p['column']) ~ " || " ~ tos_lit(' in ' ~ p['column'] ~ ' does not have the shape required by ' ~ p['scheme_column'] ~ ' ') ~ " || coalesce(" ~ s ~ ", 'blank')") }}
    from {{ tos_norm_ref(rule['table_name']) }} as t
    where {{ c }} is not null
        and {{ tos_in_list(s, p['schemes'] | sort) }}
        and not coalesce(
        {%- for code, spec in p['schemes'] | dictsort %}
            ({{ s }} = {{ tos_lit(code) }} and {{ tos_regex_match(c, spec['pattern']) }}
            {%- if spec.get('snomed') %} and {{ c }} in (select sct_id from tos_sct_valid){% endif %})
            {{- ' or' if not loop.last }}
        {%- endfor %}, false)
{% endmacro %}
