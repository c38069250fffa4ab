{% test tos_rules_pass(model, table_name) %}
    {#- Data test on tos_failures: one failing row per TOS rule code that rejects records of table_name, so the
        rule codes show in the stored failures. Configure with severity warn: data-quality defects are
        reported, they do not break the build. -#}
    {{ config(severity='warn', store_failures=true) }}
    select
        rule_code,
        severity,
        count(*) as failures,
        min(record_key) as example_record
    from {{ model }}
    where table_name = {{ tos_lit(table_name) }}
        and severity <> 'warning'
    group by rule_code, severity
{% endtest %}


{% test tos_file_accepted(model) %}
    {#- Data test on tos_summary: fails (warns) when the platform would reject the whole file. -#}
    {{ config(severity='warn', store_failures=true) }}
    select
        reporting_period,
        file_reject_rules
    from {{ model }}
    where file_rejected
{% endtest %}
