{#- File-level rules (IDSREJ...): each returns at most one failure row, named 'File'. -#}

{% macro tos_file_failure(rule, message_sql) -%}
    select
        {{ tos_lit(rule['rule_code']) }} as rule_code,
        {{ tos_lit(rule['severity']) }} as severity,
        {{ tos_lit(rule['table_name']) }} as table_name,
        'File' as record_key,
        cast(null as {{ dbt.type_bigint() }}) as row_id,
        {{ tos_lit(rule['columns']) }} as columns,
        {{ message_sql }} as message
{%- endmacro %}


{% macro tos_file_table_not_empty(rule) %}
    {#- The table must hold at least one row. -#}
    {%- set t = rule['params']['table'] -%}
    {{ tos_file_failure(rule, tos_lit(t ~ ' has no rows')) }}
    where not exists (select 1 from {{ tos_norm_narrow(t, 'n', '') }} as n)
{% endmacro %}


{% macro tos_file_header_single(rule) %}
    {#- Exactly one header row, and it passes every record-level header rule. The row count is the rule's
        published message ("invalid or duplicated Header Record"); that a header failing a record-level rule
        rejects the file is our reading of "invalid" (the rule's logic is unpublished), and its message says
        so: it starts with "[inferred]", which iapt_idb.validation.report turns into the rule's inferred mark. -#}
    {%- set n_rows = "(select count(*) from " ~ tos_norm_ref('IDS000Header') ~ ")" -%}
    {{ tos_file_failure(rule, "case when " ~ n_rows ~ " = 1 then "
        ~ tos_lit('[inferred] the IDS000Header row fails a record-level header rule; an invalid header is taken '
            ~ 'to reject the file (the logic of ' ~ rule['rule_code'] ~ ' is unpublished)') ~ " else 'IDS000Header has ' || cast(" ~ n_rows ~ " as "
        ~ dbt.type_string() ~ ") || ' row(s); exactly one valid header row is required' end") }}
    where (select count(*) from {{ tos_norm_ref('IDS000Header') }}) <> 1
        or exists (
            select 1 from {{ ref('tos_check_failures') }} as f
            where f.table_name = 'IDS000Header' and f.severity <> 'warning'
        )
{% endmacro %}


{% macro tos_file_period_activity(rule) %}
    {#- Something in the file must belong to the reporting period chosen at upload: a referral open in it, or a
        care contact, an internet-therapy log or a referral-level assessment dated in it. -#}
    {%- set b = tos_period_bounds() -%}
    {%- set s = tos_lit(b[0]) -%}
    {%- set e = tos_lit(b[1]) -%}
    {%- set in_period = {
        'r': tos_is_date('r."ReferralRequestReceivedDate"') ~ ' and r."ReferralRequestReceivedDate" <= ' ~ e
            ~ ' and (r."ServDischDate" is null or r."ServDischDate" >= ' ~ s ~ ')',
        'c': 'c."CareContDate" between ' ~ s ~ ' and ' ~ e,
        'l': 'l."StartDateIntEnabledTherLog" <= ' ~ e ~ ' and l."EndDateIntEnabledTherLog" >= ' ~ s,
        'a': 'a."AssToolCompDate" between ' ~ s ~ ' and ' ~ e,
    } -%}
    {{ tos_file_failure(rule, tos_lit('nothing in the file belongs to the reporting period ' ~ b[0] ~ '..' ~ b[1])) }}
    where not exists (
        select 1 from {{ tos_norm_narrow('IDS101Referral', 'r', in_period['r']) }} as r
        where {{ in_period['r'] }}
    )
    and not exists (
        select 1 from {{ tos_norm_narrow('IDS201CareContact', 'c', in_period['c']) }} as c
        where {{ in_period['c'] }}
    )
    and not exists (
        select 1 from {{ tos_norm_narrow('IDS205InternetTherLog', 'l', in_period['l']) }} as l
        where {{ in_period['l'] }}
    )
    and not exists (
        select 1 from {{ tos_norm_narrow('IDS606CodedScoreAssessmentRefer', 'a', in_period['a']) }} as a
        where {{ in_period['a'] }}
    )
{% endmacro %}


{% macro tos_file_nothing_valid(rule) %}
    {#- After record/group rejections and the cascade, at least one row of the table must be kept. The kept
        rows are the table's rows not in tos_rows_removed: the same definition as view tos_row_status, read
        from the table itself rather than through that view's union of every table. -#}
    {%- set t = rule['params']['table'] -%}
    {{ tos_file_failure(rule, tos_lit('no valid ' ~ t ~ ' row is left after validation')) }}
    where not exists (
        select 1 from {{ tos_norm_narrow(t, 'n', '') }} as n
        where n.tos_row_id not in (
            select s.row_id from {{ ref('tos_rows_removed') }} as s where s.table_name = {{ tos_lit(t) }}
        )
    )
{% endmacro %}
