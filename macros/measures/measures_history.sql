{#- The reporting periods the measures are derived for: var('measures_months') consecutive calendar
    months ending with the period (build_var) (default 1: the period alone), as [first day, last day] ISO
    strings, oldest first. Plain Jinja, like period_bounds. -#}
{% macro measures_reporting_periods() -%}
    {%- set end_year = period_bounds()[0][0:4] | int -%}
    {%- set end_month = period_bounds()[0][5:7] | int -%}
    {%- set months = var('measures_months', 1) | int -%}
    {%- if months < 1 and exceptions is defined -%}
        {{ exceptions.raise_compiler_error("var 'measures_months' must be 1 or more, got " ~ months) }}
    {%- endif -%}
    {%- set periods = [] -%}
    {%- for back in range(months - 1, -1, -1) -%}
        {%- set index = end_year * 12 + end_month - 1 - back -%}
        {%- set year = index // 12 -%}
        {%- set month = index % 12 + 1 -%}
        {%- set leap = (year % 4 == 0 and year % 100 != 0) or year % 400 == 0 -%}
        {%- set days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] -%}
        {%- do periods.append(['%04d-%02d-01' | format(year, month), '%04d-%02d-%02d' | format(year, month, days)]) -%}
    {%- endfor -%}
    {{ return(periods) }}
{%- endmacro %}


{#- Which input the measures read: 'warehouse' (the provider's whole history, through the staging
    interface) or 'submissions' (an accumulation of IDB submissions, source idb_submissions). -#}
{% macro measures_input() -%}
    {%- set chosen = var('measures_input', 'warehouse') -%}
    {%- if chosen not in ['warehouse', 'submissions'] and exceptions is defined -%}
        {{ exceptions.raise_compiler_error("var 'measures_input' must be warehouse or submissions, got '" ~ chosen ~ "'") }}
    {%- endif -%}
    {{ return(chosen) }}
{%- endmacro %}


{#- A date on or after the start of the history the warehouse input reads (var
    measures_history_start, YYYY-MM-DD; empty = all of it). The reconciliation with twelve
    submissions sets it to the first submission's first day. -#}
{% macro measures_in_history(date_column) -%}
    {%- set start = var('measures_history_start', '') -%}
    {%- if start -%}
        {{ date_column }} >= cast('{{ start }}' as date)
    {%- else -%}
        1 = 1
    {%- endif -%}
{%- endmacro %}


{#- The rows of IDB table `table` as NHS England accumulates a provider's submissions, for each
    reporting period of int_measures__periods: the latest submission of each month up to the period
    (source idb_submissions.submissions, highest SubmissionId), and of those, for each value of
    key_columns, the rows of the latest month that holds it (a referral or patient is as last
    submitted). With no key_columns every row of every month is kept (dated records submitted once,
    in their month). Adds period_start_date and period_end_date (the measures' period). -#}
{% macro measures_submitted(table, key_columns=[]) -%}
    {%- set keys = ['periods.period_start_date'] -%}
    {%- for column in key_columns -%}
        {%- do keys.append('submitted.' ~ column) -%}
    {%- endfor -%}
    select ranked.*
    from (
        select
            periods.period_start_date,
            periods.period_end_date,
            latest.ReportingPeriodStartDate as submission_period_start_date,
            {%- if key_columns %}
            max(latest.ReportingPeriodStartDate) over (partition by {{ keys | join(', ') }})
                as latest_submission_period_start_date,
            {%- else %}
            latest.ReportingPeriodStartDate as latest_submission_period_start_date,
            {%- endif %}
            submitted.*
        from {{ source('idb_submissions', table) }} as submitted
        inner join (
            select
                ReportingPeriodStartDate,
                ReportingPeriodEndDate,
                max(SubmissionId) as SubmissionId
            from {{ source('idb_submissions', 'submissions') }}
            group by ReportingPeriodStartDate, ReportingPeriodEndDate
        ) as latest
            on submitted.SubmissionId = latest.SubmissionId
        inner join {{ ref('int_measures__periods') }} as periods
            on latest.ReportingPeriodEndDate <= periods.period_end_date
    ) as ranked
    where ranked.submission_period_start_date = ranked.latest_submission_period_start_date
{%- endmacro %}
