-- The reporting periods the measures are derived for: one row per calendar month, var
-- measures_months (default 1) months ending with var period.
{% for period in measures_reporting_periods() %}
    select
        cast('{{ period[0] }}' as date) as period_start_date,
        cast('{{ period[1] }}' as date) as period_end_date
    {% if not loop.last %}union all{% endif %}
{%- endfor %}
