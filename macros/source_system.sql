{#- The chosen source system (var source_system): the interface models read its staging models. -#}

{% macro system_model(entity) -%}
    {#- Name of the chosen system's staging model for a contract entity: stg_<system>__<entity>. -#}
    {{ return('stg_' ~ var('source_system') ~ '__' ~ entity) }}
{%- endmacro %}

{% macro primary_system_in_use() -%}
    {#- IDS000 PrimSystemInUse: var primary_system_in_use when set, else the chosen source system's label
        (meta.system_label of its dbt source in the system's folder), else the system's name. -#}
    {%- set configured = var('primary_system_in_use', '') | string | trim -%}
    {%- if configured -%}{{ return(configured) }}{%- endif -%}
    {%- if execute -%}
        {%- for src in graph.sources.values() -%}
            {%- if src.source_name == var('source_system') -%}
                {%- set meta = src.source_meta or src.meta or {} -%}
                {%- if meta.get('system_label') -%}{{ return(meta.get('system_label')) }}{%- endif -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(var('source_system')) }}
{%- endmacro %}
