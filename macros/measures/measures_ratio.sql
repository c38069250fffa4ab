{#- numerator / denominator x scale as a decimal; null when the denominator is zero or null
    (an empty cohort has no rate, not a rate of 0). -#}
{% macro measures_ratio(numerator, denominator, scale=1) -%}
    case
        when coalesce({{ denominator }}, 0) = 0 then null
        else {{ scale }} * cast({{ numerator }} as decimal(24, 6)) / {{ denominator }}
    end
{%- endmacro %}
