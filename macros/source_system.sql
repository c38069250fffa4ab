{#- The chosen source system (var source_system): the interface models read its staging models. -#}

{% macro system_model(entity) -%}
    {#- Name of the chosen system's staging model for a contract entity: stg_<system>__<entity>. -#}
    {{ return('stg_' ~ var('source_system') ~ '__' ~ entity) }}
{%- endmacro %}
