-- IDS000Header: the one header row, from the run's dbt vars.
select
    cast('{{ var("dataset_version") }}' as {{ sql_type('string') }}) as DatSetVer,
    cast('{{ var("provider_ods_code") }}' as {{ sql_type('string') }}) as OrgIDProv,
    cast('{{ var("submitter_ods_code") }}' as {{ sql_type('string') }}) as OrgIDSubmit,
    cast('{{ var("primary_system_in_use") }}' as {{ sql_type('string') }}) as PrimSystemInUse,
    {{ period_start() }} as ReportingPeriodStartDate,
    {{ period_end() }} as ReportingPeriodEndDate,
    {{ dataset_created_at() }} as DateTimeDatSetCreate
