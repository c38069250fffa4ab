{#- Completed years of age on a date: the year difference, less one when the birthday has not
    yet come round that year. Portable through measures_date_part. -#}
{% macro measures_age_in_years(birth_date, on_date) -%}
    (
        {{ measures_date_part('year', on_date) }} - {{ measures_date_part('year', birth_date) }}
        - case
            when {{ measures_date_part('month', on_date) }} < {{ measures_date_part('month', birth_date) }}
                then 1
            when {{ measures_date_part('month', on_date) }} = {{ measures_date_part('month', birth_date) }}
                and {{ measures_date_part('day', on_date) }} < {{ measures_date_part('day', birth_date) }}
                then 1
            else 0
        end
    )
{%- endmacro %}
