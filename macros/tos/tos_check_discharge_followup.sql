{% macro tos_check_discharge_followup(rule) %}
    {#- A referral discharged before the period start may only be sent with a follow-up contact
        (AppType in follow_up_app_types) or a PEQ questionnaire (IDS606, or IDS607 via its contact). -#}
    {%- set p = rule['params'] -%}
    {%- set c = tos_col(p['column']) -%}
    {%- set peq -%}
        select code from {{ ref('ref_' ~ p['peq_code_list']) }} where description like {{ tos_lit(p['peq_description_like']) }}
    {%- endset %}
    with {{ tos_header_cte() }}
    {{ tos_failure(rule, tos_lit(p['column'] ~ ' is before the reporting period and the referral has no follow-up contact or PEQ')) }}
    from {{ tos_norm_ref(rule['table_name']) }} as t
    cross join tos_hdr as h
    where {{ tos_is_date(c) }} and {{ tos_is_date(tos_col('ReportingPeriodStartDate', 'h')) }}
        and {{ c }} < {{ tos_col('ReportingPeriodStartDate', 'h') }}
        and not exists (
            select 1 from {{ tos_norm_ref('IDS201CareContact') }} as cc
            where cc."ServiceRequestId" = t."ServiceRequestId" and {{ tos_in_list('cc."AppType"', p['follow_up_app_types']) }}
        )
        and not exists (
            select 1 from {{ tos_norm_ref('IDS606CodedScoreAssessmentRefer') }} as sr
            where sr."ServiceRequestId" = t."ServiceRequestId" and sr."CodedAssToolType" in ({{ peq }})
        )
        and not exists (
            select 1 from {{ tos_norm_ref('IDS607CodedScoreAssessmentAct') }} as sa
            inner join {{ tos_norm_ref('IDS202CareActivity') }} as ca on ca."CareActId" = sa."CareActId"
            inner join {{ tos_norm_ref('IDS201CareContact') }} as cc on cc."CareContactId" = ca."CareContactId"
            where cc."ServiceRequestId" = t."ServiceRequestId" and sa."CodedAssToolType" in ({{ peq }})
        )
{% endmacro %}
