{#- Local -> national code mapping helpers (see seeds/mappings/). -#}

{% macro is_code_mapped(local_code, mapping_alias) -%}
    {#- Three-valued: null when no local code was recorded, true when the code is in the mapping
        seed joined as mapping_alias, false for an unmapped local code. -#}
    case
        when {{ local_code }} is null then null
        when {{ mapping_alias }}.local_code is not null then {{ sql_true() }}
        else {{ sql_false() }}
    end
{%- endmacro %}

{% macro national_or_local(column) -%}
    {#- The IDB value of a mapped code column of a staging model: the national code, or the local
        code unchanged when it is unmapped (never defaulted), so validation reports it. -#}
    coalesce({{ column }}_national, {{ column }}_local)
{%- endmacro %}

{% macro not_known_as_x(column) -%}
    {#- For SELF EMPLOYED and SICKNESS ABSENCE indicators, whose national "not known" code is X
        where the shared yes/no mapping gives U. -#}
    case
        when {{ column }}_national = 'U' then 'X'
        else {{ national_or_local(column) }}
    end
{%- endmacro %}
