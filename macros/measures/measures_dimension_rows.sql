{#- One row per row of `relation` (shaped like measures_referral_pathway) and demographic dimension:
    the relation's columns plus demographic_dimension, demographic_code and demographic_label; an
    unknown or blank code falls into 'Not recorded'. `dimensions` is a list of dicts, in output order:
      name    the demographic_dimension
      key     the relation's column holding the code
      labels  (optional) relation with columns code, description, joined on the code; without it the
              code is its own label
      code    (optional) SQL for the category code instead of the key, over the labels relation
              (aliased <name>_labels); it is then the label too (ethnic_group: the group label)
    Written to sit inside a CTE. -#}
{% macro measures_dimension_rows(relation, dimensions) -%}
    {%- for dimension in dimensions %}
    {%- set labels = dimension.name ~ '_labels' %}
    {%- set code = dimension.code or relation ~ '.' ~ dimension.key %}
    {%- set label_parts = ([labels ~ '.description'] if dimension.labels and not dimension.code else [])
        + [code, "'Not recorded'"] %}
    select
        {{ relation }}.*,
        '{{ dimension.name }}' as demographic_dimension,
        coalesce({{ code }}, 'Not recorded') as demographic_code,
        coalesce({{ label_parts | join(', ') }})
            as demographic_label
    from {{ relation }}
    {%- if dimension.labels %}
    left join {{ dimension.labels }} as {{ labels }}
        on {{ relation }}.{{ dimension.key }} = {{ labels }}.code
    {%- endif %}
    {%- if not loop.last %}

    union all
    {% endif %}
    {%- endfor %}
{%- endmacro %}
