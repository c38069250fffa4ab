{#- The catalogue of headline measures, one per line: id ; kind ; numerator ; denominator.
    Numerator and denominator are sums over the referral rows of measures_referral_pathway (whose
    flags are 1/0 integers); an empty denominator means a plain count. Kinds:
      count   value = numerator
      percent value = 100 x numerator / denominator
      mean    value = numerator / denominator
    Labels, display units, definitions and sources live in seed measure_definitions.
    (Plain text rather than a returned list, so that sqlfluff's templater renders it too.) -#}
{% macro measures_catalogue() -%}
referrals_received ; count ; is_referred_in_period ;
self_referrals ; percent ; is_referred_in_period * is_self_referral ; is_referred_in_period
first_assessments ; count ; is_first_assessed_in_period ;
entered_treatment ; count ; is_entered_treatment_in_period ;
ended_referrals ; count ; is_ended_in_period ;
finished_treatment ; count ; is_finished_treatment ;
finished_with_paired_scores ; percent ; is_finished_treatment * has_paired_scores ; is_finished_treatment
finished_at_caseness ; percent ; is_finished_treatment * is_at_caseness_start ; is_finished_treatment
finished_not_at_caseness ; percent ; is_finished_treatment * is_not_at_caseness_start ; is_finished_treatment
recovery_rate ; percent ; is_finished_treatment * is_recovered ; is_finished_treatment * (1 - is_not_at_caseness_start)
reliable_improvement_rate ; percent ; is_finished_treatment * is_reliably_improved ; is_finished_treatment
reliable_recovery_rate ; percent ; is_finished_treatment * is_reliably_recovered ; is_finished_treatment * (1 - is_not_at_caseness_start)
reliable_deterioration_rate ; percent ; is_finished_treatment * is_reliably_deteriorated ; is_finished_treatment
finished_waited_6_weeks ; percent ; is_finished_treatment * is_treated_within_6_weeks ; is_finished_treatment
finished_waited_18_weeks ; percent ; is_finished_treatment * is_treated_within_18_weeks ; is_finished_treatment
entered_waited_6_weeks ; percent ; is_entered_treatment_in_period * is_treated_within_6_weeks ; is_entered_treatment_in_period
entered_waited_18_weeks ; percent ; is_entered_treatment_in_period * is_treated_within_18_weeks ; is_entered_treatment_in_period
mean_days_to_first_treatment ; mean ; is_entered_treatment_in_period * coalesce(days_to_first_treatment, 0) ; is_entered_treatment_in_period
first_assessment_within_28_days ; percent ; is_first_assessed_in_period * is_assessed_within_28_days ; is_first_assessed_in_period
mean_days_to_first_assessment ; mean ; is_first_assessed_in_period * coalesce(days_to_first_assessment, 0) ; is_first_assessed_in_period
dna_rate ; percent ; dna_contacts_in_period ; due_contacts_in_period
{%- endmacro %}


{#- One row per reporting period and measure (and per group when group_columns is given):
    period_start_date, period_end_date, measure_id, value_kind, numerator, denominator. `relation` is a
    model or CTE with the columns of measures_referral_pathway. Every period of
    int_measures__periods yields every measure, with zero counts when it has no referrals (groups
    only where there are rows). The relation is read once: one aggregate computes every numerator and
    denominator (per period and group), then each row of totals is paired with the catalogue's
    measures (a VALUES list) and a CASE picks that measure's sums. -#}
{% macro measures_summary(relation, group_columns=[]) -%}
    {%- set measures = [] -%}
    {%- for line in (measures_catalogue() | string).split('\n') if line.strip() -%}
        {%- set parts = line.split(';') -%}
        {%- do measures.append({
            'id': parts[0].strip(), 'kind': parts[1].strip(),
            'numerator': parts[2].strip(), 'denominator': parts[3].strip() if parts | length > 3 else ''}) -%}
    {%- endfor %}
    select
        periods.period_start_date,
        periods.period_end_date,
        {%- for column in group_columns %}
        totals.{{ column }},
        {%- endfor %}
        catalogue.measure_id,
        catalogue.value_kind,
        case catalogue.measure_id
            {%- for measure in measures %}
            when '{{ measure.id }}' then coalesce(totals.numerator_{{ loop.index }}, 0)
            {%- endfor %}
        end as numerator,
        {%- if measures | selectattr('denominator') | list %}
        case catalogue.measure_id
            {%- for measure in measures %}
            {%- if measure.denominator %}
            when '{{ measure.id }}' then coalesce(totals.denominator_{{ loop.index }}, 0)
            {%- endif %}
            {%- endfor %}
        end as denominator
        {%- else %}
        cast(null as bigint) as denominator
        {%- endif %}
    from {{ ref('int_measures__periods') }} as periods
    {{ 'inner' if group_columns else 'left' }} join (
        select
            period_start_date,
            {%- for column in group_columns %}
            {{ column }},
            {%- endfor %}
            {%- for measure in measures %}
            cast(coalesce(sum({{ measure.numerator }}), 0) as bigint) as numerator_{{ loop.index }},
            {%- if measure.denominator %}
            cast(coalesce(sum({{ measure.denominator }}), 0) as bigint) as denominator_{{ loop.index }}
            {%- else %}
            cast(null as bigint) as denominator_{{ loop.index }}
            {%- endif %}
            {%- if not loop.last %},{% endif %}
            {%- endfor %}
        from {{ relation }}
        group by period_start_date{% for column in group_columns %}, {{ column }}{% endfor %}
    ) as totals
        on periods.period_start_date = totals.period_start_date
    cross join (
        values
        {%- for measure in measures %}
        ('{{ measure.id }}', '{{ measure.kind }}'){% if not loop.last %},{% endif %}
        {%- endfor %}
    ) as catalogue (measure_id, value_kind)
{%- endmacro %}


{#- measure_value from numerator, denominator and kind (see measures_catalogue), rounded to
    4 decimal places as decimal(18, 4) (PostgreSQL rounds only numerics, so round a decimal). -#}
{% macro measures_value(numerator, denominator, value_kind) -%}
    cast(round(cast(
        case {{ value_kind }}
            when 'count' then {{ numerator }}
            when 'percent' then {{ measures_ratio(numerator, denominator, 100) }}
            when 'mean' then {{ measures_ratio(numerator, denominator) }}
        end
        as decimal(24, 6)), 4) as decimal(18, 4))
{%- endmacro %}
